// SPDX-License-Identifier: MIT
/*
 * Linear objects (vm/linear.h): device-DAX mappings in the user-space MMU.
 *
 * A linear area is an ordinary registry slot whose object has no file index
 * (file.mapping is NULL) and points at a struct vm_linear. The handler sends
 * its faults here after the permission check. A fault maps one window of the
 * media from the faulting unit forward, up to the end of the area, the end
 * of the region, or the run bound, whichever comes first: a user-space fault
 * costs microseconds, while the kernel maps the window's pages natively
 * (with PMDs or PUDs where the backing allows), so one fault per area is the
 * fast choice (docs/devdax.md has the measurements).
 *
 * Faults against revocation and shrinking: a fault counts itself in
 * @faulting before it reads @alive and @size, and uncounts itself after the
 * window is installed. A revoker or shrinker publishes the new state first,
 * then waits for @faulting to drain: a fault either saw the new state or is
 * waited for (both sides use sequentially consistent atomics). Only then does
 * it turn the affected windows back into reservations, under the registry's
 * write lock so no munmap or mmap changes the areas meanwhile.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/err.h"
#include "vm/install.h"
#include "vm/linear.h"
#include "vm/signal.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ  22
#define MADV_POPULATE_WRITE 23
#endif

/*
 * What MAP_SHARED_VALIDATE accepts: dax_mmap's supported MAP_SYNC and the
 * legacy flags udax can honour or, as the kernel does, ignore. Plain
 * MAP_SHARED ignores unknown flags, as the kernel does.
 */
#define LINEAR_MAP_FLAGS                                                                           \
	(MAP_SHARED | MAP_SHARED_VALIDATE | MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_POPULATE |       \
	 MAP_NORESERVE | MAP_SYNC | MAP_NONBLOCK | MAP_STACK | MAP_DENYWRITE | MAP_EXECUTABLE)

struct vm_linear {
	struct pmem *pm;
	uint64_t base, align, run;
	bool rdonly;
	_Atomic uint64_t size;
	_Atomic bool alive;
	_Atomic uint64_t faulting; /* faults between their state check and their install */
	_Atomic uint64_t refs;
	pthread_mutex_t resize_lock;
};

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

int vm_linear_create(struct pmem *pm, const struct vm_linear_params *p, struct vm_linear **out)
{
	const struct pmem_info *in = pmem_get_info(pm);
	struct vm_linear *l;

	if (!is_pow2(p->align) || p->align < DAX_PAGE_SIZE || p->base % p->align ||
	    p->size % p->align || (p->run && (!is_pow2(p->run) || p->run < p->align)) ||
	    p->base > in->size || p->size > in->size - p->base)
		return udax_err(EINVAL,
				"linear object: base %llu size %llu align %llu run %llu do not fit "
				"%llu bytes of media",
				(unsigned long long)p->base, (unsigned long long)p->size,
				(unsigned long long)p->align, (unsigned long long)p->run,
				(unsigned long long)in->size);
	l = calloc(1, sizeof(*l));
	if (!l)
		return udax_err(ENOMEM, "linear object: no memory");
	l->pm = pm;
	l->base = p->base;
	l->align = p->align;
	l->run = p->run;
	l->rdonly = p->rdonly;
	l->size = p->size;
	l->alive = true;
	l->refs = 1;
	pthread_mutex_init(&l->resize_lock, NULL);
	*out = l;
	return 0;
}

void vm_linear_get(struct vm_linear *l)
{
	atomic_fetch_add(&l->refs, 1);
}

void vm_linear_put(struct vm_linear *l)
{
	if (atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	pmem_close(l->pm);
	pthread_mutex_destroy(&l->resize_lock);
	free(l);
}

uint64_t vm_linear_size(const struct vm_linear *l)
{
	return atomic_load(&l->size);
}

uint64_t vm_linear_align(const struct vm_linear *l)
{
	return l->align;
}

struct pmem *vm_linear_pmem(const struct vm_linear *l)
{
	return l->pm;
}

bool vm_linear_alive(const struct vm_linear *l)
{
	return atomic_load(&l->alive);
}

static uint64_t page_align(uint64_t len)
{
	return (len + DAX_PAGE_SIZE - 1) & ~(DAX_PAGE_SIZE - 1);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Region offset shown at the start of @v. */
static uint64_t area_off(const struct vm_vma *v)
{
	return v->pgoff << DAX_PAGE_SHIFT;
}

/*
 * [signal-safe] The window a fault at @addr of the pinned @v maps: from the
 * faulting unit up to the area end, the region end and the run bound.
 * -EFAULT where the kernel's device-DAX fault gives SIGBUS: revoked, an area
 * whose bounds are not multiples of the alignment (check_vma), or a unit
 * that is not wholly inside the region (dax_pgoff_to_phys).
 */
static int fault_window(const struct vm_vma *v, const struct vm_linear *l, uintptr_t addr,
			uintptr_t *start, uint64_t *len)
{
	uint64_t a = l->align, size = atomic_load(&l->size), vo = area_off(v);
	uint64_t unit = (vo + (addr - v->start)) & ~(a - 1), end;

	if (!atomic_load(&l->alive) || v->start % a || v->end % a || vo % a || unit + a > size)
		return -EFAULT;
	end = min_u64(vo + (v->end - v->start), size);
	if (l->run)
		end = min_u64(end, (unit & ~(l->run - 1)) + l->run);
	*start = v->start + (unit - vo);
	*len = end - unit;
	return 0;
}

/* [signal-safe] Maps the window of a fault at @addr of the pinned @v; counted. */
static int map_fault_window(const struct vm_vma *v, struct vm_linear *l, uintptr_t addr,
			    uint64_t *len)
{
	uintptr_t start;
	int ret;

	atomic_fetch_add(&l->faulting, 1);
	ret = fault_window(v, l, addr, &start, len);
	if (!ret)
		ret = pmem_map_fixed(l->pm, (void *)start,
				     l->base + area_off(v) + (start - v->start), *len, v->prot);
	atomic_fetch_sub(&l->faulting, 1);
	return ret;
}

void vm_linear_serve(struct vm_vma *v, siginfo_t *si, void *uc)
{
	struct vm_object *o = v->obj;
	struct vm_linear *l = o->linear;
	unsigned order = l && l->align >= DAX_PMD_SIZE ? VM_ORDER_PMD : VM_ORDER_PTE;
	uint64_t len = 0;
	/* no object state: made by vm_mremap, which knows nothing of linear objects */
	int ret = l ? map_fault_window(v, l, (uintptr_t)si->si_addr, &len) : -EFAULT;

	vm_count_fault(o, order, ret ? DAX_EV_SIGBUS : DAX_EV_MAPPED,
		       ret ? 0 : (len - l->align) >> DAX_PAGE_SHIFT);
	vma_put(v);
	if (ret)
		vm_deliver_sigbus(si->si_addr, uc);
}

/* Waits until no fault that may have seen the old state is still installing. */
static void wait_faults(struct vm_linear *l)
{
	while (atomic_load(&l->faulting))
		sched_yield();
}

/* Every window of @l at region offsets >= @from becomes reservation again. */
static void reset_from(struct vm_linear *l, uint64_t from)
{
	static struct vm_vma v[VM_MAX_AREAS]; /* used under the registry's write lock only */
	uint64_t vo, skip;
	int n;

	vma_write_begin();
	n = vma_find_range(0, UINTPTR_MAX, v, VM_MAX_AREAS);
	for (int i = 0; i < n; i++) {
		if (v[i].obj->linear != l)
			continue;
		vo = area_off(&v[i]);
		skip = from > vo ? from - vo : 0;
		if (skip < v[i].end - v[i].start)
			vm_reserve_again(v[i].start + skip, v[i].end - v[i].start - skip);
	}
	vma_write_end();
}

void vm_linear_revoke(struct vm_linear *l)
{
	pthread_mutex_lock(&l->resize_lock);
	atomic_store(&l->alive, false);
	wait_faults(l);
	reset_from(l, 0);
	pthread_mutex_unlock(&l->resize_lock);
}

int vm_linear_resize(struct vm_linear *l, uint64_t size)
{
	const struct pmem_info *in = pmem_get_info(l->pm);
	uint64_t old;
	int ret = 0;

	pthread_mutex_lock(&l->resize_lock);
	old = atomic_load(&l->size);
	if (!atomic_load(&l->alive))
		ret = udax_err(ENXIO, "resize: the region is disabled");
	else if (size % l->align)
		ret = udax_err(EINVAL, "resize: %llu is not a multiple of the alignment %llu",
			       (unsigned long long)size, (unsigned long long)l->align);
	else if (size > in->size - l->base)
		ret = udax_err(ENOSPC, "resize: %llu bytes asked, the media holds %llu",
			       (unsigned long long)size, (unsigned long long)(in->size - l->base));
	if (!ret) {
		atomic_store(&l->size, size);
		if (size < old) {
			wait_faults(l);
			reset_from(l, size);
		}
	}
	pthread_mutex_unlock(&l->resize_lock);
	return ret;
}

static void linear_release(struct vm_object *o)
{
	vm_linear_put(o->linear);
}

/*
 * Linear areas overlapping [lo, hi) that would be split at an address that is
 * not a multiple of their alignment (the kernel's dev_dax_may_split): -EINVAL.
 */
static int check_split(uintptr_t lo, uintptr_t hi)
{
	static struct vm_vma v[VM_MAX_AREAS]; /* under the registry's write lock only */
	uintptr_t bad = 0;
	int n;

	vma_write_begin();
	n = vma_find_range(lo, hi, v, VM_MAX_AREAS);
	for (int i = 0; i < n && !bad; i++) {
		uint64_t a;

		if (!vm_object_is_linear(v[i].obj) || !v[i].obj->linear)
			continue;
		a = v[i].obj->linear->align;
		if (lo > v[i].start && lo % a)
			bad = lo;
		else if (hi < v[i].end && hi % a)
			bad = hi;
	}
	vma_write_end();
	if (bad)
		return udax_err(EINVAL, "device-DAX mapping cannot be split at %p: not aligned",
				(void *)bad);
	return 0;
}

int vm_linear_munmap(void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr;
	int ret;

	if (a % DAX_PAGE_SIZE || !len || a + page_align(len) < a)
		return udax_err(EINVAL, "munmap(%p, %zu): bad range", addr, len);
	ret = check_split(a, a + page_align(len));
	return ret ? ret : vm_munmap(addr, len);
}

int vm_linear_mprotect(void *addr, size_t len, int prot)
{
	uintptr_t a = (uintptr_t)addr;
	int ret;

	if (a % DAX_PAGE_SIZE || a + page_align(len) < a)
		return udax_err(EINVAL, "mprotect(%p, %zu): bad range", addr, len);
	ret = check_split(a, a + page_align(len));
	return ret ? ret : vm_mprotect(addr, len, prot);
}

/* The address range of a new linear mapping, reserved; the kernel's dax_get_unmapped_area. */
static int place(const struct vm_linear *l, void *hint, uint64_t len, int flags, uint64_t off,
		 uintptr_t *addrp)
{
	uint64_t a = l->align > DAX_PMD_SIZE ? l->align : DAX_PMD_SIZE;
	uintptr_t addr = (uintptr_t)hint;
	int ret;

	if (!(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)))
		return vm_reserve_aligned(len, a, off, addr, addrp);
	if (addr % l->align)
		return udax_err(EINVAL, "mmap: fixed address %p is not a multiple of the alignment",
				hint);
	if (flags & MAP_FIXED_NOREPLACE) {
		ret = vm_reserve_fixed(addr, len, true);
	} else {
		ret = check_split(addr, addr + len);
		if (!ret && vm_munmap(hint, len) == -EINVAL) /* no udax mapping there */
			ret = 0;
		if (!ret)
			ret = vm_reserve_fixed(addr, len, false);
	}
	if (ret)
		return udax_err(-ret, "mmap: fixed range %p: %s", hint, strerror(-ret));
	*addrp = addr;
	return 0;
}

static int check_mmap_args(const struct vm_linear *l, size_t len, int prot, int flags, uint64_t off)
{
	int type = flags & MAP_TYPE;

	if (type == MAP_SHARED_VALIDATE && (flags & ~LINEAR_MAP_FLAGS))
		return udax_err(EOPNOTSUPP, "mmap: unknown flags 0x%x", flags & ~LINEAR_MAP_FLAGS);
	if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE)
		return udax_err(EINVAL, "mmap: needs MAP_SHARED");
	if (!len || off + len < off)
		return udax_err(EINVAL, "mmap: bad length %zu", len);
	if (!atomic_load(&l->alive))
		return udax_err(ENXIO, "mmap: the region is disabled");
	if (type == MAP_PRIVATE)
		return udax_err(EINVAL, "mmap: device-DAX mappings are shared only (MAP_PRIVATE)");
	if (prot & ~(PROT_READ | PROT_WRITE))
		return udax_err(EINVAL, "mmap: prot 0x%x (udax maps no PROT_EXEC)", prot);
	if (len % l->align || off % l->align)
		return udax_err(EINVAL,
				"mmap: offset %llu and length %zu must be multiples of the "
				"alignment %llu",
				(unsigned long long)off, len, (unsigned long long)l->align);
	if ((prot & PROT_WRITE) && l->rdonly)
		return udax_err(EACCES, "mmap: writable mapping of a read-only region");
	return 0;
}

/*
 * MAP_POPULATE: map every window of the area at @addr now and fill the page
 * tables. The area is pinned, so a racing munmap cannot make this install
 * over a range that is no longer ours.
 */
static void populate(struct vm_object *o, uintptr_t addr)
{
	struct vm_vma v;
	uint64_t len;

	if (!vma_get(addr, &v))
		return;
	for (uintptr_t p = v.start; v.obj == o && p < v.end; p += len)
		if (map_fault_window(&v, o->linear, p, &len) ||
		    syscall(SYS_madvise, p, len,
			    v.prot & PROT_WRITE ? MADV_POPULATE_WRITE : MADV_POPULATE_READ))
			break;
	vma_put(&v);
}

static struct vm_object *linear_object(struct vm_linear *l)
{
	struct vm_object *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->refs = 1;
	vm_linear_get(l);
	o->linear = l;
	o->release = linear_release;
	return o;
}

int vm_linear_mmap(struct vm_linear *l, void *hint, size_t len, int prot, int flags, uint64_t off,
		   void **addrp)
{
	struct vm_vma v = {.prot = prot, .shared = true, .pgoff = off >> DAX_PAGE_SHIFT};
	uintptr_t addr;
	int ret;

	len = page_align(len); /* as mmap(2) does before the device sees the length */
	ret = check_mmap_args(l, len, prot, flags, off);

	if (!ret)
		ret = vm_install_handler();
	if (ret)
		return ret;
	v.obj = linear_object(l);
	if (!v.obj)
		return udax_err(ENOMEM, "mmap: no memory");
	ret = place(l, hint, len, flags, off, &addr);
	if (!ret)
		ret = vm_publish_new(&v, addr, len);
	if (!ret && (flags & MAP_POPULATE) && prot != PROT_NONE)
		populate(v.obj, addr);
	vm_object_put(v.obj);
	if (!ret)
		*addrp = (void *)addr;
	return ret;
}

/* The linear area holding @addr, as a snapshot (not pinned); false if none. */
static bool linear_area_at(uintptr_t addr, struct vm_vma *out)
{
	bool found;

	if (!vma_get(addr, out))
		return false;
	found = vm_object_is_linear(out->obj) && out->obj->linear;
	vma_put(out);
	return found;
}

bool vm_linear_is_mapped_at(const void *addr, const struct vm_linear *l)
{
	struct vm_vma v;

	return linear_area_at((uintptr_t)addr, &v) && (!l || v.obj->linear == l);
}

/* A new area [start, +len) showing region offset @off of @v's object. */
static int add_area(const struct vm_vma *v, uintptr_t start, uint64_t len, uint64_t off)
{
	struct vm_vma nv = *v;

	nv.start = start;
	nv.end = start + len;
	nv.pgoff = off >> DAX_PAGE_SHIFT;
	return vm_publish(&nv);
}

static int grow_in_place(const struct vm_vma *v, uint64_t more)
{
	int ret = add_area(v, v->end, more, area_off(v) + (v->end - v->start));

	if (ret)
		munmap((void *)v->end, more);
	return ret;
}

/* mremap by mapping anew: a linear area keeps no per-page state to move. */
static int move_linear(const struct vm_vma *v, uintptr_t o, uint64_t old_len, uint64_t new_len,
		       int flags, uintptr_t n, void **addrp)
{
	const struct vm_linear *l = v->obj->linear;
	uint64_t off = area_off(v) + (o - v->start);
	int ret;

	if (flags & MREMAP_FIXED) {
		if (n % l->align)
			return udax_err(EINVAL, "mremap: new address %p is not aligned", (void *)n);
		if (n < o + old_len && o < n + new_len)
			return udax_err(EINVAL, "mremap(%p): new range overlaps the old one",
					(void *)o);
		ret = place(l, (void *)n, new_len, MAP_FIXED, off, &n);
	} else {
		ret = place(l, NULL, new_len, 0, off, &n);
	}
	if (!ret) {
		ret = add_area(v, n, new_len, off);
		if (ret)
			munmap((void *)n, new_len);
	}
	if (!ret)
		ret = vm_munmap((void *)o, old_len);
	if (!ret)
		*addrp = (void *)n;
	return ret;
}

int vm_linear_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr,
		     void **addrp)
{
	uintptr_t o = (uintptr_t)old, n = (uintptr_t)new_addr;
	struct vm_vma v;
	uint64_t a;

	if (!linear_area_at(o, &v))
		return vm_mremap(old, old_len, new_len, flags, new_addr, addrp);
	a = v.obj->linear->align;
	if (o % a || old_len % a || new_len % a || !new_len ||
	    flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED) ||
	    ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE)))
		return udax_err(EINVAL, "mremap(%p): bad arguments for a device-DAX mapping", old);
	if (v.end < o + old_len || o + old_len < o)
		return udax_err(EFAULT, "mremap(%p, %zu): not inside one udax mapping", old,
				old_len);
	*addrp = old;
	if (!(flags & MREMAP_FIXED) && new_len <= old_len)
		return new_len == old_len
			       ? 0
			       : vm_linear_munmap((char *)old + new_len, old_len - new_len);
	if (!(flags & MREMAP_FIXED) && o + old_len == v.end &&
	    !vm_reserve_fixed(v.end, new_len - old_len, true))
		return grow_in_place(&v, new_len - old_len);
	if (!(flags & MREMAP_MAYMOVE))
		return udax_err(ENOMEM, "mremap(%p): cannot grow in place", old);
	return move_linear(&v, o, old_len, new_len, flags, n, addrp);
}

int vm_linear_msync(void *addr, size_t len, int flags)
{
	uintptr_t p = (uintptr_t)addr, end = p + page_align(len);
	struct vm_vma v;

	if (p % DAX_PAGE_SIZE || flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE) ||
	    ((flags & MS_ASYNC) && (flags & MS_SYNC)) || end < p)
		return udax_err(EINVAL, "msync(%p, 0x%x): bad address or flags", addr, flags);
	for (; p < end; p = v.end)
		if (!linear_area_at(p, &v))
			return udax_err(ENOMEM, "msync(%p, %zu): %p is not in a device-DAX mapping",
					addr, len, (void *)p);
	return 0;
}
