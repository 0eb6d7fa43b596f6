// SPDX-License-Identifier: MIT
/*
 * Device-DAX regions (include/udax_devdax.h): handles, the registry that
 * gives a second open of one backing the same region, and the mapping calls,
 * which are the vm layer's linear objects (vm/linear.h).
 *
 * A region holds one reference on its linear object; every mapping holds
 * another, so the media outlives the handles as long as it is mapped.
 *
 * A region is a part of its backing, [base, base + capacity): all of it, an
 * offset given by the caller, or the raw region of a udax pool, found in the
 * pool's superblock (UDAX_DEVDAX_POOL). Regions of one file may not overlap.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "devdax/media.h"
#include "fs/udaxfs.h"
#include "udax_devdax.h"
#include "vm/linear.h"

_Static_assert(UDAX_DEVDAX_CREATE == DEVDAX_M_CREATE && UDAX_DEVDAX_RDONLY == DEVDAX_M_RDONLY &&
		       UDAX_DEVDAX_EXACT_PAGES == DEVDAX_M_EXACT_PAGES,
	       "public and media flags agree");

#define OPEN_FLAGS (DEVDAX_M_ALL | UDAX_DEVDAX_POOL)

struct region {
	dev_t dev;
	ino_t ino;
	struct vm_linear *lin;
	uint64_t base, capacity, page_size;
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

/* The listed, alive region at @base of the file @st; NULL if none. Under regions_lock. */
static struct region *lookup(const struct stat *st, uint64_t base)
{
	struct region *r;

	for (r = regions; r; r = r->next)
		if (r->dev == st->st_dev && r->ino == st->st_ino && r->base == base)
			return r;
	return NULL;
}

/* A listed region of @n's file whose bytes overlap @n's; NULL if none. Under regions_lock. */
static struct region *overlapping(const struct region *n)
{
	struct region *r;

	for (r = regions; r; r = r->next)
		if (r->dev == n->dev && r->ino == n->ino && r->base < n->base + n->capacity &&
		    n->base < r->base + r->capacity)
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

static int region_new(const char *path, const struct devdax_media_opts *mo, uint64_t run,
		      struct region **out)
{
	struct devdax_media m;
	struct vm_linear_params lp;
	struct region *r;
	struct stat st;
	int ret = devdax_media_open(path, mo, &m);

	if (ret)
		return ret;
	lp = (struct vm_linear_params){.base = m.base,
				       .size = m.size,
				       .align = m.align,
				       .run = run,
				       .rdonly = mo->flags & DEVDAX_M_RDONLY};
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
	r->base = m.base;
	r->capacity = m.capacity;
	r->page_size = m.page_size;
	r->real = m.real;
	r->rdonly = lp.rdonly;
	snprintf(r->kind, sizeof(r->kind), "%s", pmem_kind_name(pmem_get_info(m.pm)->kind));
	pthread_mutex_init(&r->lock, NULL);
	*out = r;
	return 0;
}

/*
 * The media options of @o; with UDAX_DEVDAX_POOL, the part of the pool's
 * raw region asked for, which can never reach the file system's blocks.
 */
static int media_opts(const char *path, const struct udax_devdax_opts *o,
		      struct devdax_media_opts *mo)
{
	uint64_t off, len;
	int ret;

	*mo = (struct devdax_media_opts){.align = o->align,
					 .size = o->size,
					 .capacity = o->capacity,
					 .offset = o->offset,
					 .flags = o->flags & DEVDAX_M_ALL};
	if (o->flags & ~OPEN_FLAGS)
		return udax_err(EINVAL, "%s: unknown flags 0x%x", path, o->flags);
	if (!(o->flags & UDAX_DEVDAX_POOL))
		return 0;
	if (o->flags & UDAX_DEVDAX_CREATE)
		return udax_err(EINVAL, "%s: a pool's raw region is made by mkfs, not created",
				path);
	ret = udaxfs_raw_region(path, &off, &len);
	if (ret)
		return ret;
	if (o->offset && o->offset != off)
		return udax_err(EINVAL, "%s: the pool's raw region starts at %llu, not %llu", path,
				(unsigned long long)off, (unsigned long long)o->offset);
	if (o->size > len)
		return udax_err(EINVAL, "%s: region size %llu exceeds the %llu-byte raw region",
				path, (unsigned long long)o->size, (unsigned long long)len);
	mo->offset = off;
	mo->limit = len;
	return 0;
}

/* Lists the new region @r unless it overlaps one of its file already open. */
static int region_list(const char *path, struct region *r)
{
	struct region *o = overlapping(r);

	if (o)
		return udax_err(EBUSY,
				"%s: bytes [%llu, +%llu) overlap a region already open at %llu",
				path, (unsigned long long)r->base, (unsigned long long)r->capacity,
				(unsigned long long)o->base);
	r->listed = true;
	r->next = regions;
	regions = r;
	return 0;
}

static void region_free(struct region *r)
{
	vm_linear_put(r->lin);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int udax_devdax_open(const char *path, const struct udax_devdax_opts *opts,
		     struct udax_devdax **out)
{
	static const struct udax_devdax_opts defaults;
	const struct udax_devdax_opts *o = opts ? opts : &defaults;
	struct devdax_media_opts mo;
	struct udax_devdax *dd;
	struct region *r = NULL;
	struct stat st;
	int ret;

	if (!path || !out)
		return udax_err(EFAULT, "devdax open: NULL argument");
	ret = media_opts(path, o, &mo);
	if (ret)
		return ret;
	dd = malloc(sizeof(*dd));
	if (!dd)
		return udax_err(ENOMEM, "devdax open: no memory");
	pthread_mutex_lock(&regions_lock);
	if (!stat(path, &st))
		r = lookup(&st, mo.offset);
	if (r)
		ret = check_shared_open(path, r, o);
	else if (!(ret = region_new(path, &mo, o->map_run, &r)) && (ret = region_list(path, r))) {
		region_free(r);
		r = NULL;
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
	if (last)
		region_free(r);
	return 0;
}

int udax_devdax_get_info(struct udax_devdax *dd, struct udax_devdax_info *info)
{
	if (!dd || !info)
		return udax_err(EFAULT, "devdax info: NULL argument");
	memset(info, 0, sizeof(*info));
	info->size = vm_linear_size(dd->r->lin);
	info->align = vm_linear_align(dd->r->lin);
	info->offset = dd->r->base;
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
	/* the backing may go on past the region: a pool's file system does */
	if (size > r->capacity && !(size % vm_linear_align(r->lin)))
		return udax_err(ENOSPC, "devdax resize: %llu bytes asked, the region holds %llu",
				(unsigned long long)size, (unsigned long long)r->capacity);
	pthread_mutex_lock(&r->lock);
	old = vm_linear_size(r->lin);
	ret = vm_linear_resize(r->lin, size);
	if (!ret && size < old) /* nothing maps it any more: free it */
		devdax_media_release(vm_linear_pmem(r->lin), r->base + size, old - size);
	pthread_mutex_unlock(&r->lock);
	return ret;
}
