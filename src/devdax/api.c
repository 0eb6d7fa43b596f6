// SPDX-License-Identifier: MIT
/*
 * Device-DAX regions (include/udax_devdax.h): handles, the registry that
 * gives a second open of one backing the same region, and the mapping calls,
 * which are the vm layer's linear objects (vm/linear.h).
 *
 * A region holds one reference on its linear object; every mapping holds
 * another, so the media outlives the handles as long as it is mapped.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "devdax/media.h"
#include "udax_devdax.h"
#include "vm/linear.h"

_Static_assert(UDAX_DEVDAX_CREATE == DEVDAX_M_CREATE && UDAX_DEVDAX_RDONLY == DEVDAX_M_RDONLY &&
		       UDAX_DEVDAX_EXACT_PAGES == DEVDAX_M_EXACT_PAGES,
	       "public and media flags agree");

struct region {
	dev_t dev;
	ino_t ino;
	struct vm_linear *lin;
	uint64_t capacity, page_size;
	bool real, rdonly;
	char kind[16];
	pthread_mutex_t lock; /* resize against resize and disable */
	int handles;	      /* under regions_lock */
	bool listed;	      /* in the registry (alive and open) */
	struct region *next;
};

struct udax_devdax {
	struct region *r;
};

static pthread_mutex_t regions_lock = PTHREAD_MUTEX_INITIALIZER;
static struct region *regions;

static void unlist(struct region *r)
{
	struct region **p;

	for (p = &regions; *p && *p != r; p = &(*p)->next)
		;
	if (*p)
		*p = r->next;
	r->listed = false;
}

/* The listed, alive region of the file @st; NULL if none. Under regions_lock. */
static struct region *lookup(const struct stat *st)
{
	struct region *r;

	for (r = regions; r; r = r->next)
		if (r->dev == st->st_dev && r->ino == st->st_ino)
			return r;
	return NULL;
}

static int check_shared_open(const char *path, struct region *r, const struct udax_devdax_opts *o)
{
	if (o->align && o->align != vm_linear_align(r->lin))
		return udax_err(EINVAL, "%s: open already with alignment %llu", path,
				(unsigned long long)vm_linear_align(r->lin));
	if (o->size && o->size != vm_linear_size(r->lin))
		return udax_err(EINVAL, "%s: open already with size %llu", path,
				(unsigned long long)vm_linear_size(r->lin));
	if (r->rdonly && !(o->flags & UDAX_DEVDAX_RDONLY))
		return udax_err(EACCES, "%s: open already read-only", path);
	return 0;
}

static int region_new(const char *path, const struct udax_devdax_opts *o, struct region **out)
{
	struct devdax_media_opts mo = {o->align, o->size, o->capacity, o->flags};
	struct devdax_media m;
	struct vm_linear_params lp;
	struct region *r;
	struct stat st;
	int ret = devdax_media_open(path, &mo, &m);

	if (ret)
		return ret;
	lp = (struct vm_linear_params){.size = m.size,
				       .align = m.align,
				       .run = o->map_run,
				       .rdonly = o->flags & UDAX_DEVDAX_RDONLY};
	r = calloc(1, sizeof(*r));
	if (!r || fstat(pmem_fd(m.pm), &st)) {
		ret = r ? udax_err(errno, "%s: fstat: %m", path) : udax_err(ENOMEM, "no memory");
		free(r);
		pmem_close(m.pm);
		return ret;
	}
	ret = vm_linear_create(m.pm, &lp, &r->lin);
	if (ret) {
		free(r);
		pmem_close(m.pm);
		return udax_err_prefix(-ret, "%s", path);
	}
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	r->capacity = m.capacity;
	r->page_size = m.page_size;
	r->real = m.real;
	r->rdonly = lp.rdonly;
	snprintf(r->kind, sizeof(r->kind), "%s", pmem_kind_name(pmem_get_info(m.pm)->kind));
	pthread_mutex_init(&r->lock, NULL);
	*out = r;
	return 0;
}

int udax_devdax_open(const char *path, const struct udax_devdax_opts *opts,
		     struct udax_devdax **out)
{
	static const struct udax_devdax_opts defaults;
	const struct udax_devdax_opts *o = opts ? opts : &defaults;
	struct udax_devdax *dd;
	struct region *r = NULL;
	struct stat st;
	int ret = 0;

	if (!path || !out)
		return udax_err(EFAULT, "devdax open: NULL argument");
	dd = malloc(sizeof(*dd));
	if (!dd)
		return udax_err(ENOMEM, "devdax open: no memory");
	pthread_mutex_lock(&regions_lock);
	if (!stat(path, &st))
		r = lookup(&st);
	if (r)
		ret = check_shared_open(path, r, o);
	else if (!(ret = region_new(path, o, &r))) {
		r->listed = true;
		r->next = regions;
		regions = r;
	}
	if (!ret)
		r->handles++;
	pthread_mutex_unlock(&regions_lock);
	if (ret) {
		free(dd);
		return ret;
	}
	dd->r = r;
	*out = dd;
	return 0;
}

int udax_devdax_close(struct udax_devdax *dd)
{
	struct region *r;
	bool last;

	if (!dd)
		return 0;
	r = dd->r;
	free(dd);
	pthread_mutex_lock(&regions_lock);
	last = --r->handles == 0;
	if (last && r->listed)
		unlist(r);
	pthread_mutex_unlock(&regions_lock);
	if (last) {
		vm_linear_put(r->lin);
		pthread_mutex_destroy(&r->lock);
		free(r);
	}
	return 0;
}

int udax_devdax_get_info(struct udax_devdax *dd, struct udax_devdax_info *info)
{
	if (!dd || !info)
		return udax_err(EFAULT, "devdax info: NULL argument");
	memset(info, 0, sizeof(*info));
	info->size = vm_linear_size(dd->r->lin);
	info->align = vm_linear_align(dd->r->lin);
	info->capacity = dd->r->capacity;
	info->page_size = dd->r->page_size;
	info->real = dd->r->real;
	info->enabled = vm_linear_alive(dd->r->lin);
	snprintf(info->kind, sizeof(info->kind), "%s", dd->r->kind);
	return 0;
}

static int check_alive(struct udax_devdax *dd, const char *what)
{
	if (!dd)
		return udax_err(EFAULT, "devdax %s: NULL handle", what);
	if (!vm_linear_alive(dd->r->lin))
		return udax_err(ENXIO, "devdax %s: the region is disabled", what);
	return 0;
}

int udax_devdax_mmap(struct udax_devdax *dd, void *addr, size_t len, int prot, int flags, off_t off,
		     void **out)
{
	int ret = check_alive(dd, "mmap");

	if (ret)
		return ret;
	if (!out)
		return udax_err(EFAULT, "devdax mmap: NULL argument");
	if (off < 0)
		return udax_err(EINVAL, "devdax mmap: negative offset");
	return vm_linear_mmap(dd->r->lin, addr, len, prot, flags, (uint64_t)off, out);
}

int udax_devdax_munmap(void *addr, size_t len)
{
	return vm_linear_munmap(addr, len);
}

int udax_devdax_mprotect(void *addr, size_t len, int prot)
{
	return vm_linear_mprotect(addr, len, prot);
}

int udax_devdax_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr,
		       void **out)
{
	if (!out)
		return udax_err(EFAULT, "devdax mremap: NULL argument");
	return vm_linear_mremap(old, old_len, new_len, flags, new_addr, out);
}

int udax_devdax_msync(void *addr, size_t len, int flags)
{
	return vm_linear_msync(addr, len, flags);
}

int udax_devdax_fsync(struct udax_devdax *dd)
{
	return check_alive(dd, "fsync");
}

void udax_devdax_persist(struct udax_devdax *dd, const void *addr, size_t len)
{
	if (dd && len)
		pmem_persist(vm_linear_pmem(dd->r->lin), addr, len);
}

int udax_devdax_disable(struct udax_devdax *dd)
{
	struct region *r;

	if (!dd)
		return udax_err(EFAULT, "devdax disable: NULL handle");
	r = dd->r;
	pthread_mutex_lock(&r->lock);
	vm_linear_revoke(r->lin);
	pthread_mutex_unlock(&r->lock);
	pthread_mutex_lock(&regions_lock);
	if (r->listed)
		unlist(r);
	pthread_mutex_unlock(&regions_lock);
	return 0;
}

int udax_devdax_resize(struct udax_devdax *dd, uint64_t size)
{
	struct region *r;
	uint64_t old;
	int ret = check_alive(dd, "resize");

	if (ret)
		return ret;
	r = dd->r;
	if (r->real)
		return udax_err(EOPNOTSUPP, "devdax resize: a real device is resized with daxctl");
	pthread_mutex_lock(&r->lock);
	old = vm_linear_size(r->lin);
	ret = vm_linear_resize(r->lin, size);
	if (!ret && size < old) /* nothing maps it any more: free it */
		devdax_media_release(vm_linear_pmem(r->lin), size, old - size);
	pthread_mutex_unlock(&r->lock);
	return ret;
}
