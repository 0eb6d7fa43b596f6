// SPDX-License-Identifier: MIT
/*
 * mmap, munmap, mprotect and mremap of udax mappings.
 *
 * Each changes the registry first (so that no fault is still being served in
 * a range when it changes under it: vma_write_end waits for them) and the
 * address space second. Windows are never changed in place: a range whose
 * permissions change goes back to reservation and faults again, so a zero
 * window can never become writable and a read-only window is never made
 * writable without the write fault that marks its entry dirty. Private
 * copies are the exception: they are the mapping's only copy of their data,
 * so they are moved (mremap) and re-protected (mprotect), never dropped.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/err.h"
#include "vm/install.h"
#include "vm/vma.h"

#define PAGE_MASK_ (DAX_PAGE_SIZE - 1)

static uint64_t page_align(uint64_t len)
{
	return (len + PAGE_MASK_) & ~PAGE_MASK_;
}

static uint64_t pgoff_at(const struct vm_vma *v, uintptr_t addr)
{
	return v->pgoff + ((addr - v->start) >> DAX_PAGE_SHIFT);
}

static int add_piece(const struct vm_vma *v, uintptr_t start, uintptr_t end, int prot,
		     bool *slot_used)
{
	if (!*slot_used) {
		*slot_used = true;
		vma_set(v->slot, start, end, pgoff_at(v, start), prot);
		return 0;
	}
	struct vm_vma piece = *v;

	piece.start = start;
	piece.end = end;
	piece.pgoff = pgoff_at(v, start);
	piece.prot = prot;
	return vma_insert(&piece) ? 0 : -ENOMEM;
}

/*
 * Inside a write section: @v keeps its parts outside [lo, hi); its part
 * inside is removed (prot < 0) or gets @prot. The slot is reused for the
 * first piece.
 */
static int carve(const struct vm_vma *v, uintptr_t lo, uintptr_t hi, int prot)
{
	uintptr_t mlo = v->start > lo ? v->start : lo, mhi = v->end < hi ? v->end : hi;
	bool slot_used = false;
	int ret = 0;

	if (mlo > v->start)
		ret = add_piece(v, v->start, mlo, v->prot, &slot_used);
	if (!ret && prot >= 0)
		ret = add_piece(v, mlo, mhi, prot, &slot_used);
	if (!ret && mhi < v->end)
		ret = add_piece(v, mhi, v->end, v->prot, &slot_used);
	if (!slot_used)
		vma_remove(v->slot);
	return ret;
}

/*
 * Carves every area overlapping [lo, hi); fills @hit (up to @max) with what
 * they were. Removed parts drop the page references of what they showed.
 */
static int carve_range(uintptr_t lo, uintptr_t hi, int prot, struct vm_vma *hit, int max,
		       int *nr_hit)
{
	struct vm_vma v[VM_MAX_AREAS];
	uintptr_t s, e;
	int n, ret = 0;

	vma_write_begin();
	n = vma_find_range(lo, hi, v, VM_MAX_AREAS);
	for (int i = 0; i < n; i++) {
		vm_object_get(v[i].obj);
		if (!ret)
			ret = carve(&v[i], lo, hi, prot);
	}
	vma_write_end();
	for (int i = 0; i < n; i++) {
		s = v[i].start > lo ? v[i].start : lo;
		e = v[i].end < hi ? v[i].end : hi;
		if (prot < 0)
			vm_release_pages(&v[i], s, e - s);
		if (i < max)
			hit[i] = v[i];
		vm_object_put(v[i].obj);
	}
	*nr_hit = n;
	return ret;
}

int vm_publish(const struct vm_vma *v)
{
	struct vm_area *a;

	vma_write_begin();
	a = vma_insert(v);
	vma_write_end();
	return a ? 0 : udax_err(ENOMEM, "udax mappings: all %d slots in use", VM_MAX_AREAS);
}

int vm_publish_new(struct vm_vma *v, uintptr_t addr, uint64_t len)
{
	int ret;

	v->start = addr;
	v->end = addr + len;
	ret = vm_publish(v);
	if (ret)
		munmap((void *)addr, len);
	return ret;
}

/*
 * MAP_SYNC is checked only with MAP_SHARED_VALIDATE, and granted only where
 * flushed CPU stores persist (dax_supported / daxdev_mapping_supported).
 */
static int check_mmap_args(const struct dax_fault_file *file, size_t len, int prot, int flags,
			   uint64_t off)
{
	int type = flags & MAP_TYPE;

	if (type == MAP_SHARED_VALIDATE && (flags & MAP_SYNC) && !file->map_sync)
		return udax_err(EOPNOTSUPP,
				"mmap: MAP_SYNC needs media that persists flushed CPU stores");
	if (type == MAP_SHARED_VALIDATE && (flags & ~(VM_MAP_FLAGS | MAP_SYNC)))
		return udax_err(EOPNOTSUPP, "mmap: unknown flags 0x%x", flags);
	if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE)
		return udax_err(EINVAL, "mmap: needs MAP_SHARED or MAP_PRIVATE");
	if (!len || off % DAX_PAGE_SIZE || off + len < off)
		return udax_err(EINVAL, "mmap: bad length %zu or offset %llu", len,
				(unsigned long long)off);
	if (prot & ~(PROT_READ | PROT_WRITE))
		return udax_err(EINVAL, "mmap: prot 0x%x (udax maps no PROT_EXEC)", prot);
	return 0;
}

/* The kernel's mm_populate: read every page, or write it in a private writable mapping. */
static void populate(const struct vm_vma *v)
{
	const struct dax_fault_file *f = &v->obj->file;
	uint64_t size = f->i_size(f->host), pos = v->pgoff << DAX_PAGE_SHIFT;
	uint64_t len = v->end - v->start;

	if (pos >= size || v->prot == PROT_NONE)
		return;
	if (size - pos < len)
		len = page_align(size - pos);
	vm_fault_in((void *)v->start, len, !v->shared && (v->prot & PROT_WRITE));
}

/* The address range of a new mapping: reserved, nothing udax's left in it. */
static int place(void *hint, uint64_t len, int flags, uint64_t off, uintptr_t *addrp)
{
	uintptr_t addr = (uintptr_t)hint;
	struct vm_vma old;
	int n, ret;

	if (!(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)))
		return vm_reserve(len, off, addr, addrp);
	if (addr % DAX_PAGE_SIZE)
		return udax_err(EINVAL, "mmap: fixed address %p not page-aligned", hint);
	if (flags & MAP_FIXED_NOREPLACE)
		ret = vm_reserve_fixed(addr, len, true);
	else if (!(ret = carve_range(addr, addr + len, -1, &old, 0, &n)))
		ret = vm_reserve_fixed(addr, len, false);
	if (ret)
		return udax_err(-ret, "mmap: fixed range %p: %s", hint, strerror(-ret));
	*addrp = addr;
	return 0;
}

int vm_mmap(const struct dax_fault_file *file, void *hint, size_t len, int prot, int flags,
	    uint64_t off, void **addrp)
{
	bool shared = (flags & MAP_TYPE) != MAP_PRIVATE;
	struct vm_vma v = {.prot = prot, .shared = shared, .pgoff = off >> DAX_PAGE_SHIFT};
	uintptr_t addr;
	int ret = check_mmap_args(file, len, prot, flags, off);

	if (!ret)
		ret = vm_install_handler();
	if (ret)
		return ret;
	len = page_align(len);
	v.obj = vm_object_new(file, v.pgoff, len >> DAX_PAGE_SHIFT, !shared);
	if (!v.obj)
		return udax_err(ENOMEM, "mmap: no memory");
	v.obj->sync = (flags & MAP_TYPE) == MAP_SHARED_VALIDATE && (flags & MAP_SYNC);
	ret = place(hint, len, flags, off, &addr);
	if (!ret)
		ret = vm_publish_new(&v, addr, len);
	vm_object_put(v.obj);
	if (ret)
		return ret;
	if (flags & MAP_POPULATE)
		populate(&v);
	*addrp = (void *)addr;
	return 0;
}

int vm_munmap(void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr;
	struct vm_vma hit;
	int n, ret;

	if (a % DAX_PAGE_SIZE || !len)
		return udax_err(EINVAL, "munmap(%p, %zu): bad range", addr, len);
	len = page_align(len);
	ret = carve_range(a, a + len, -1, &hit, 0, &n);
	if (!n)
		return udax_err(EINVAL, "munmap(%p, %zu): no udax mapping there", addr, len);
	munmap(addr, len);
	return ret;
}

static int protect_copied(const struct vm_vma *v, uintptr_t lo, uintptr_t hi, int prot)
{
	int ret = 0;

	for (uintptr_t p = lo; p < hi && !ret; p += DAX_PAGE_SIZE)
		if (vm_object_is_cow(v->obj, pgoff_at(v, p)))
			ret = mprotect((void *)p, DAX_PAGE_SIZE, prot) ? -errno : 0;
	return ret;
}

int vm_mprotect(void *addr, size_t len, int prot)
{
	uintptr_t a = (uintptr_t)addr, lo, hi;
	struct vm_vma hit[VM_MAX_AREAS];
	int n, ret;

	if (a % DAX_PAGE_SIZE || prot & ~(PROT_READ | PROT_WRITE))
		return udax_err(EINVAL, "mprotect(%p, 0x%x): bad address or prot", addr, prot);
	len = page_align(len);
	ret = carve_range(a, a + len, prot, hit, VM_MAX_AREAS, &n);
	if (!n)
		return udax_err(EINVAL, "mprotect(%p, %zu): no udax mapping there", addr, len);
	for (int i = 0; i < n && !ret; i++) {
		lo = hit[i].start > a ? hit[i].start : a;
		hi = hit[i].end < a + len ? hit[i].end : a + len;
		ret = vm_for_each_uncopied(&hit[i], lo, hi - lo, vm_reset_run, NULL);
		if (!ret && !hit[i].shared)
			ret = protect_copied(&hit[i], lo, hi, prot);
	}
	return ret ? udax_err(-ret, "mprotect(%p): %s", addr, strerror(-ret)) : 0;
}

/* Moves the private copies of [old, +len) of @v to @new (the rest faults again). */
static int move_copied(const struct vm_vma *v, struct vm_object *obj, uintptr_t old, uintptr_t new,
		       uint64_t len)
{
	for (uint64_t d = 0; d < len; d += DAX_PAGE_SIZE) {
		uint64_t index = pgoff_at(v, old + d);

		if (!vm_object_is_cow(v->obj, index))
			continue;
		if (old !=
		    new &&mremap((void *)(old + d), DAX_PAGE_SIZE, DAX_PAGE_SIZE,
				 MREMAP_MAYMOVE | MREMAP_FIXED, (void *)(new + d)) == MAP_FAILED)
			return -errno;
		vm_object_set_cow(obj, index);
	}
	return 0;
}

static void copy_counters(struct vm_object *to, struct vm_object *from)
{
	for (int r = 0; r < VM_NR_ORDERS; r++) {
		to->faults[r] = atomic_load(&from->faults[r]);
		for (int e = 0; e < VM_FAULT_NR_EVENTS; e++)
			to->events[r][e] = atomic_load(&from->events[r][e]);
	}
	to->around_pages = atomic_load(&from->around_pages);
	to->segv = atomic_load(&from->segv);
}

/* The area [old, +old_len) of @v becomes [new, +new_len) (reserved already). */
static int move_area(const struct vm_vma *v, uintptr_t old, uint64_t old_len, uintptr_t new,
		     uint64_t new_len)
{
	struct vm_vma nv = *v, hit;
	uint64_t keep = old_len < new_len ? old_len : new_len;
	int n, ret;

	nv.start = new;
	nv.end = new + new_len;
	nv.pgoff = pgoff_at(v, old);
	nv.obj = vm_object_new(&v->obj->file, nv.pgoff, new_len >> DAX_PAGE_SHIFT, !v->shared);
	if (!nv.obj)
		return udax_err(ENOMEM, "mremap: no memory");
	copy_counters(nv.obj, v->obj);
	nv.obj->sync = v->obj->sync;
	vm_object_get(v->obj); /* @v stays readable while its slot goes */
	ret = carve_range(old, old + old_len, -1, &hit, 0, &n);
	if (!ret && !v->shared)
		ret = move_copied(v, nv.obj, old, new, keep);
	if (!ret && old == new) /* windows left in place would escape the new shown table */
		ret = vm_for_each_uncopied(v, old, old_len, vm_reset_run, NULL);
	if (!ret)
		ret = vm_publish(&nv);
	if (old != new)
		munmap((void *)old, old_len);
	vm_object_put(v->obj);
	vm_object_put(nv.obj);
	return ret;
}

int vm_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr, void **addrp)
{
	uintptr_t o = (uintptr_t)old, n = (uintptr_t)new_addr;
	struct vm_vma v;
	int ret, nr;

	old_len = page_align(old_len);
	new_len = page_align(new_len);
	if (o % DAX_PAGE_SIZE || !new_len || flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED) ||
	    ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE)))
		return udax_err(EINVAL, "mremap(%p): bad arguments", old);
	vma_write_begin();
	nr = vma_find_range(o, o + old_len, &v, 1);
	vma_write_end();
	if (nr != 1 || v.start > o || v.end < o + old_len)
		return udax_err(EFAULT, "mremap(%p, %zu): not inside one udax mapping", old,
				old_len);
	*addrp = old;
	if (!(flags & MREMAP_FIXED) && new_len <= old_len)
		return new_len == old_len ? 0 : vm_munmap((char *)old + new_len, old_len - new_len);
	if (!(flags & MREMAP_FIXED) && o + old_len == v.end &&
	    !vm_reserve_fixed(o + old_len, new_len - old_len, true))
		return move_area(&v, o, old_len, o, new_len);
	if (!(flags & MREMAP_MAYMOVE))
		return udax_err(ENOMEM, "mremap(%p): cannot grow in place", old);
	if ((flags & MREMAP_FIXED) && n < o + old_len && o < n + new_len)
		return udax_err(EINVAL, "mremap(%p): new range overlaps the old one", old);
	if (flags & MREMAP_FIXED)
		ret = place(new_addr, new_len, MAP_FIXED, 0, &n);
	else
		ret = vm_reserve(new_len, pgoff_at(&v, o) << DAX_PAGE_SHIFT, 0, &n);
	if (!ret)
		ret = move_area(&v, o, old_len, n, new_len);
	if (!ret)
		*addrp = (void *)n;
	return ret;
}

/* Syncs the file range [p, end) of the pinned @v shows. */
static int msync_area(const struct vm_vma *v, uintptr_t p, uintptr_t end)
{
	const struct dax_fault_file *f = &v->obj->file;

	if (!v->shared || !f->fsync_range)
		return 0;
	return f->fsync_range(f->host, pgoff_at(v, p) << DAX_PAGE_SHIFT, end - p);
}

int vm_msync(void *addr, size_t len, int flags)
{
	uintptr_t p = (uintptr_t)addr, end;
	bool hole = false;
	struct vm_vma v;
	int ret = 0;

	if (p % DAX_PAGE_SIZE || flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE) ||
	    (flags & MS_ASYNC && flags & MS_SYNC))
		return udax_err(EINVAL, "msync(%p, 0x%x): bad address or flags", addr, flags);
	end = p + page_align(len);
	while (p < end && !ret) {
		if (!vma_get(p, &v)) {
			hole = true;
			p += DAX_PAGE_SIZE;
			continue;
		}
		if (flags & MS_SYNC)
			ret = msync_area(&v, p, end < v.end ? end : v.end);
		p = v.end;
		vma_put(&v);
	}
	if (ret)
		return udax_err(-ret, "msync(%p): %s", addr, strerror(-ret));
	return hole ? udax_err(ENOMEM, "msync(%p, %zu): not all mapped by udax", addr, len) : 0;
}
