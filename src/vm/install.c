// SPDX-License-Identifier: MIT
/*
 * What an address shows: media windows, the zero windows and private
 * copies: the struct dax_vm_ops the fault core drives.
 *
 * Everything called from the fault core runs in the SIGSEGV handler and uses
 * raw system calls only (no libc wrappers that sanitizers intercept, no
 * allocation). A private mapping never shows its own copy of a page and a
 * window at once: every install skips the pages it has copied (the kernel's
 * "even_cows = false"), so neither fault-around nor a zero-to-block
 * replacement destroys private data.
 *
 * Each mapping object keeps, per page, the media page it shows (the "shown"
 * table: what the kernel keeps in page tables). It gives the device page
 * references (one per page shown, through the file's page_ref hook), and
 * lets an install that finds the window already in place skip it, or only
 * make it writable (mprotect keeps the kernel's page tables, so upgrading a
 * read-mapped extent for writing costs no kernel faults). Entries are
 * updated with atomic exchanges, so references stay balanced whatever the
 * order of installs and unmaps; should the table ever claim a page that the
 * hardware just faulted on, the handler forgets that page first
 * (vm_forget_faulting_page), so a stale claim costs a remap, never a loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/err.h"
#include "dax/entry_lock.h"
#include "pmem/pmem.h"
#include "vm/install.h"

static int zero_fd = -1, zero_err;
static pthread_once_t zero_once = PTHREAD_ONCE_INIT;

static int sys_mmap_fixed(uintptr_t addr, uint64_t len, int prot, int flags, int fd, uint64_t off)
{
	long r = syscall(SYS_mmap, addr, len, prot, flags | MAP_FIXED, fd, off);

	return r == -1 ? -errno : 0;
}

static void zero_create(void)
{
	int fd = memfd_create("udax-zero", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, DAX_PMD_SIZE) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)) {
		zero_err = errno;
		if (fd >= 0)
			close(fd);
		return;
	}
	zero_fd = fd;
}

int vm_zero_init(void)
{
	pthread_once(&zero_once, zero_create);
	if (zero_fd < 0)
		return udax_err(zero_err, "zero window: create and seal a 2 MiB memfd: %s",
				strerror(zero_err));
	return 0;
}

static uint64_t index_of(const struct vm_vma *v, uintptr_t addr)
{
	return v->pgoff + ((addr - v->start) >> DAX_PAGE_SHIFT);
}

#define UNIT_PAGES DAX_PMD_NR

static uint64_t pfn1_of(uint64_t shown)
{
	return shown & ~VM_SHOWN_WRITABLE;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static bool in_object(const struct vm_object *o, uint64_t index)
{
	return index >= o->pgoff && index - o->pgoff < o->npages;
}

static struct vm_unit *unit_of(const struct vm_object *o, uint64_t index)
{
	return &o->units[index / UNIT_PAGES - o->unit0];
}

static _Atomic uint64_t *page_word(const struct vm_object *o, uint64_t index)
{
	return &o->shown[index - o->pgoff];
}

/*
 * The unit locks. Every writer of a unit's words (its own, its pages' and
 * @used) holds the unit's lock, so under it the page words are read and
 * stored plainly (relaxed atomics, for the lock-free readers) instead of
 * exchanged. A holder makes no access to a udax mapping and holds it for at
 * most 512 words, a page_ref call or an mprotect, so a fault on the holding
 * thread cannot want it again and waiters spin briefly, then yield.
 */
static void unit_lock(struct vm_unit *u)
{
	for (unsigned spins = 0;; spins++) {
		uint32_t free = 0;

		if (atomic_compare_exchange_weak_explicit(&u->lock, &free, 1, memory_order_acquire,
							  memory_order_relaxed))
			return;
		if (spins >= 64)
			syscall(SYS_sched_yield);
	}
}

static void unit_unlock(struct vm_unit *u)
{
	atomic_store_explicit(&u->lock, 0, memory_order_release);
}

/*
 * [signal-safe, lock-free] What page @index of @o shows: its unit's word if
 * the unit is shown whole, else its own. A writer fills the page words
 * before it clears a unit word and sets a unit word before it drops the
 * page words' references, so a reader sees the old or the new state of a
 * page, never a gap.
 */
static uint64_t shown_load(const struct vm_object *o, uint64_t index)
{
	uint64_t u;

	if (!in_object(o, index))
		return 0;
	u = atomic_load(&unit_of(o, index)->shown);
	if (u)
		return u + index % UNIT_PAGES;
	return atomic_load_explicit(page_word(o, index), memory_order_relaxed);
}

bool vm_shown_get(const struct vm_vma *v, uintptr_t addr, uint64_t *shown)
{
	uint64_t index = index_of(v, addr);

	*shown = shown_load(v->obj, index);
	return in_object(v->obj, index);
}

/* Under the unit's lock: page @index's own word becomes @val; returns the old word. */
static uint64_t page_store(const struct vm_object *o, struct vm_unit *u, uint64_t index,
			   uint64_t val)
{
	_Atomic uint64_t *w = page_word(o, index);
	uint64_t old = atomic_load_explicit(w, memory_order_relaxed);

	if (old != val) {
		atomic_store_explicit(w, val, memory_order_relaxed);
		u->used += (val != 0) - (old != 0);
	}
	return old;
}

/*
 * Under the lock: a unit shown whole is written out page by page, the page
 * words first, then the unit word cleared. References do not move: each
 * page shown keeps the one it held through the unit.
 */
static void unit_split(const struct vm_object *o, struct vm_unit *u, uint64_t index)
{
	uint64_t s = atomic_load_explicit(&u->shown, memory_order_relaxed);
	uint64_t first = index & ~(uint64_t)(UNIT_PAGES - 1);

	if (!s)
		return;
	for (uint64_t i = 0; i < UNIT_PAGES; i++)
		page_store(o, u, first + i, s + i);
	atomic_store(&u->shown, 0);
}

/* References to drop, gathered in runs of consecutive media pages (pfn + 1 from @first1). */
struct put_run {
	const struct dax_fault_file *f;
	uint64_t first1, nr;
};

static void put_flush(struct put_run *r)
{
	if (r->nr && r->f->page_ref)
		r->f->page_ref(r->f->host, r->first1 - 1, r->nr, -1);
	r->nr = 0;
}

/* @nr pages of media from the word @old on lose a mapping. */
static void put_add(struct put_run *r, uint64_t old, uint64_t nr)
{
	old = pfn1_of(old);
	if (!old)
		return;
	if (r->nr && old == r->first1 + r->nr) {
		r->nr += nr;
		return;
	}
	put_flush(r);
	r->first1 = old;
	r->nr = nr;
}

/*
 * Pages [lo, hi) of one unit, all in @o, now show @shown on (0: nothing).
 * A whole unit shown from media takes the unit word (the page words keep
 * stale values but no references: the unit word hides them); anything else
 * goes page by page. The old references join @put.
 */
static void show_in_unit(const struct vm_object *o, uint64_t lo, uint64_t hi, uint64_t shown,
			 struct put_run *put)
{
	struct vm_unit *u = unit_of(o, lo);
	bool whole = hi - lo == UNIT_PAGES;
	uint64_t old;

	unit_lock(u);
	old = atomic_load_explicit(&u->shown, memory_order_relaxed);
	if (whole && shown) {
		atomic_store(&u->shown, shown);
		if (old)
			put_add(put, old, UNIT_PAGES);
		for (uint64_t i = lo; !old && u->used && i < hi; i++)
			put_add(put, atomic_load_explicit(page_word(o, i), memory_order_relaxed),
				1);
	} else if (whole && old) {
		for (uint64_t i = lo; u->used && i < hi; i++)
			page_store(o, u, i, 0); /* stale words: they hold no references */
		atomic_store(&u->shown, 0);
		put_add(put, old, UNIT_PAGES);
	} else if (shown || old || u->used) {
		unit_split(o, u, lo);
		for (uint64_t i = lo; i < hi; i++)
			put_add(put, page_store(o, u, i, shown ? shown + (i - lo) : 0), 1);
	}
	unit_unlock(u);
}

/*
 * Pages [first, first + nr) of @v now show consecutive media from @shown
 * on (media pfn + 1 | VM_SHOWN_WRITABLE, or 0: nothing). The references on
 * the new pages are taken with one page_ref call before any word changes,
 * the old ones dropped after, in runs: a count never goes below the
 * mappings that show a page, whatever runs concurrently.
 */
static void show_pages(const struct vm_vma *v, uint64_t first, uint64_t nr, uint64_t shown)
{
	const struct vm_object *o = v->obj;
	struct put_run put = {.f = &o->file};
	uint64_t lo = first > o->pgoff ? first : o->pgoff, hi;
	uint64_t end = min_u64(first + nr, o->pgoff + o->npages);

	if (lo >= end)
		return;
	if (shown)
		shown += lo - first;
	if (shown && put.f->page_ref)
		put.f->page_ref(put.f->host, pfn1_of(shown) - 1, end - lo, 1);
	for (; lo < end; lo = hi) {
		hi = min_u64((lo | (UNIT_PAGES - 1)) + 1, end);
		show_in_unit(o, lo, hi, shown, &put);
		if (shown)
			shown += hi - lo;
	}
	put_flush(&put);
}

void vm_release_pages(const struct vm_vma *v, uintptr_t addr, uint64_t len)
{
	show_pages(v, index_of(v, addr), len >> DAX_PAGE_SHIFT, 0);
}

void vm_forget_faulting_page(const struct vm_vma *v, uintptr_t addr, bool write)
{
	uint64_t s = shown_load(v->obj, index_of(v, addr));

	if (s && (!write || (s & VM_SHOWN_WRITABLE)))
		show_pages(v, index_of(v, addr), 1, 0);
}

int vm_for_each_uncopied(const struct vm_vma *v, uintptr_t addr, uint64_t len, vm_run_fn fn,
			 void *arg)
{
	uintptr_t end = addr + len, run = addr, p;
	int ret = 0;

	if (v->shared || !v->obj->cow)
		return fn(v, addr, len, 0, arg);
	for (p = addr; p <= end && !ret; p += DAX_PAGE_SIZE) {
		if (p < end && !vm_object_is_cow(v->obj, index_of(v, p)))
			continue;
		if (p > run)
			ret = fn(v, run, p - run, run - addr, arg);
		run = p + DAX_PAGE_SIZE;
	}
	return ret;
}

struct window {
	struct pmem *pm; /* media, or NULL for the zero window */
	int fd;
	uint64_t off; /* of the run's first byte, before @delta */
	int prot;
	bool lazy; /* DAX_INSERT_LAZY: no populate */
};

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ  22
#define MADV_POPULATE_WRITE 23
#endif

/*
 * Fills the kernel's page tables for a new media window at once: one system
 * call instead of a kernel fault per page (per 4 KiB on 4 KiB backings).
 * Best effort: kernels before 5.14 refuse, and the pages then fault lazily.
 */
static void populate(uintptr_t addr, uint64_t len, bool write)
{
	syscall(SYS_madvise, addr, len, write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
}

/*
 * True if the access that retries after the fault maps all of [addr, +len)
 * by itself: a shared window of exactly one 2 MiB unit of media that the
 * kernel surely maps with a PMD. Populating it would be one more system call
 * for the same single PMD fault (an allocating fault then costs mmap and
 * nothing else). Everything else is populated: there the retried access
 * maps one page and each further page would be a kernel fault. That includes
 * a file on a DAX file system: the kernel maps a PMD there only if the file
 * system placed the 2 MiB on aligned device blocks, which udax cannot see
 * (ext4 -o dax in the kvm-dax guest does not: 512 kernel faults a window).
 */
static bool kernel_maps_whole(const struct vm_vma *v, struct pmem *pm, uintptr_t addr, uint64_t off,
			      uint64_t len)
{
	const struct pmem_info *in = pmem_get_info(pm);
	bool sure = in->kind == PMEM_KIND_DEVDAX || in->kind == PMEM_KIND_HUGE_TMPFS ||
		    in->kind == PMEM_KIND_HUGETLBFS;

	return v->shared && len == DAX_PMD_SIZE && !(addr % DAX_PMD_SIZE) &&
	       !(off % DAX_PMD_SIZE) && in->pmd_capable && sure;
}

/*
 * Whether to populate a window writable: only a writable shared window of
 * volatile huge-page media. There the first store after a read populate cost
 * as much as the kernel's own first write (vm_bench "then write" on huge
 * tmpfs: 18 ms per GiB for both), and populating writable removes it (4.6
 * ms); nothing on volatile media is written back, so dirtying the pages at
 * once costs nothing. Not on 4 KiB pages, where a read populate already
 * leaves the pages writable and a write populate dirties 262,144 of them per
 * GiB (first read 42 -> 78 ms); never on media that is written back (msync,
 * flush), where the first store must stay a fault: the kernel tracks
 * page-cache dirtiness by it, and udax's own dirty tracking needs a write
 * fault per 2 MiB block.
 */
static bool populate_writable(const struct vm_vma *v, const struct window *w)
{
	const struct pmem_info *in = pmem_get_info(w->pm);

	return v->shared && (w->prot & PROT_WRITE) && in->is_volatile && in->pmd_capable;
}

/* Maps one run of a window and records what its pages show. */
static int map_window(const struct vm_vma *v, uintptr_t addr, uint64_t len, uint64_t delta,
		      void *arg)
{
	const struct window *w = arg;
	uint64_t off = w->off + delta, first = index_of(v, addr), shown = 0;
	int ret;

	if (w->pm && v->shared) /* pmem_map_fixed knows the backing's flags and huge advice */
		ret = pmem_map_fixed(w->pm, (void *)addr, off, len, w->prot);
	else
		ret = sys_mmap_fixed(addr, len, w->prot, v->shared ? MAP_SHARED : MAP_PRIVATE,
				     w->fd, off);
	if (ret)
		return ret;
	if (w->pm && !w->lazy && !kernel_maps_whole(v, w->pm, addr, off, len))
		populate(addr, len, populate_writable(v, w));
	if (w->pm)
		shown = ((off >> DAX_PAGE_SHIFT) + 1) |
			(w->prot & PROT_WRITE ? VM_SHOWN_WRITABLE : 0);
	show_pages(v, first, len >> DAX_PAGE_SHIFT, shown);
	return 0;
}

/*
 * How [addr, +len) already shows media pages from @pfn on (copied pages
 * aside): 2 all writable, 1 all at least read-only, 0 not all. A unit shown
 * whole is checked with its one word (it holds no copied page: a copy first
 * stops its page from showing media, which splits the unit).
 */
static int shown_state(const struct vm_vma *v, uintptr_t addr, uint64_t len, uint64_t pfn)
{
	const struct vm_object *o = v->obj;
	uint64_t first = index_of(v, addr), nr = len >> DAX_PAGE_SHIFT, i, s, step;
	int state = 2;

	for (i = 0; i < nr; i += step) {
		step = 1;
		if (!((first + i) % UNIT_PAGES) && nr - i >= UNIT_PAGES &&
		    in_object(o, first + i) && in_object(o, first + i + UNIT_PAGES - 1) &&
		    (s = atomic_load(&unit_of(o, first + i)->shown))) {
			step = UNIT_PAGES;
		} else if (!v->shared && vm_object_is_cow(o, first + i)) {
			continue;
		} else {
			s = shown_load(o, first + i);
		}
		if (pfn1_of(s) != pfn + i + 1)
			return 0;
		if (!(s & VM_SHOWN_WRITABLE))
			state = 1;
	}
	return state;
}

/*
 * A shared window already in place becomes writable; its words get the
 * writable bit under their units' locks.
 */
static int make_writable(const struct vm_vma *v, uintptr_t addr, uint64_t len)
{
	const struct vm_object *o = v->obj;
	uint64_t lo = index_of(v, addr), end = lo + (len >> DAX_PAGE_SHIFT), hi;
	struct vm_unit *u;

	if (syscall(SYS_mprotect, addr, len, PROT_READ | PROT_WRITE))
		return -errno;
	populate(addr, len, true);
	for (; lo < end; lo = hi) {
		hi = min_u64((lo | (UNIT_PAGES - 1)) + 1, end);
		if (!in_object(o, lo))
			continue;
		u = unit_of(o, lo);
		unit_lock(u);
		if (hi - lo < UNIT_PAGES)
			unit_split(o, u, lo);
		if (atomic_load_explicit(&u->shown, memory_order_relaxed))
			atomic_fetch_or(&u->shown, VM_SHOWN_WRITABLE);
		else
			for (uint64_t i = lo; i < hi && in_object(o, i); i++)
				page_store(o, u, i,
					   atomic_load_explicit(page_word(o, i),
								memory_order_relaxed) |
						   VM_SHOWN_WRITABLE);
		unit_unlock(u);
	}
	return 0;
}

static int insert_pfn(void *vma, uintptr_t addr, struct pmem *pm, uint64_t media_off, size_t len,
		      unsigned flags)
{
	const struct vm_vma *v = vma;
	int state = shown_state(v, addr, len, media_off >> DAX_PAGE_SHIFT);
	bool writable = flags & DAX_INSERT_WRITABLE;
	struct window w = {.pm = pm,
			   .fd = pmem_fd(pm),
			   .off = media_off,
			   .prot = PROT_READ | (writable ? PROT_WRITE : 0),
			   .lazy = flags & DAX_INSERT_LAZY};

	if (state == 2 || (state == 1 && !writable))
		return 0;
	if (state == 1)
		return make_writable(v, addr, len); /* private windows are never writable */
	return vm_for_each_uncopied(v, addr, len, map_window, &w);
}

static bool is_shown(void *vma, uintptr_t addr, uint64_t media_off, size_t len, bool writable)
{
	return shown_state(vma, addr, len, media_off >> DAX_PAGE_SHIFT) >= (writable ? 2 : 1);
}

static int insert_zero(void *vma, uintptr_t addr, size_t len)
{
	struct window w = {.pm = NULL, .fd = zero_fd, .off = 0, .prot = PROT_READ};
	int ret = vm_for_each_uncopied(vma, addr, len, map_window, &w);

	if (!ret && len == DAX_PMD_SIZE)
		syscall(SYS_madvise, addr, len, MADV_HUGEPAGE);
	return ret;
}

static int insert_cow(void *vma, uintptr_t addr, struct pmem *pm, uint64_t media_off)
{
	const struct vm_vma *v = vma;
	int ret = sys_mmap_fixed(addr, DAX_PAGE_SIZE, v->prot, MAP_PRIVATE,
				 pm ? pmem_fd(pm) : zero_fd, pm ? media_off : 0);

	if (ret)
		return ret;
	show_pages(v, index_of(v, addr), 1, 0); /* the copy is anonymous memory, not media */
	vm_object_set_cow(v->obj, index_of(v, addr));
	return 0;
}

int vm_reset_run(const struct vm_vma *v, uintptr_t addr, uint64_t len, uint64_t delta, void *arg)
{
	(void)delta;
	(void)arg;
	vm_release_pages(v, addr, len);
	return vm_reserve_again(addr, len);
}

static void reset_uncopied(const struct vm_vma *v, uintptr_t addr, uint64_t len, void *arg)
{
	vm_for_each_uncopied(v, addr, len, vm_reset_run, arg);
}

void vm_unmap_mapping_range(struct dax_mapping *m, uint64_t index, uint64_t nr)
{
	vma_rmap_walk(m, index, nr, reset_uncopied, NULL);
}

/*
 * Under the lock of the unit holding [lo, hi): the pages shown writable are
 * write-protected, run by run (@va: the address of @lo), and lose the bit.
 */
static void wrprotect_in_unit(const struct vm_object *o, struct vm_unit *u, uint64_t lo,
			      uint64_t hi, uintptr_t va)
{
	uint64_t i, run = 0, s;

	if (hi - lo == UNIT_PAGES && (s = atomic_load_explicit(&u->shown, memory_order_relaxed))) {
		if (s & VM_SHOWN_WRITABLE) {
			syscall(SYS_mprotect, va, DAX_PMD_SIZE, PROT_READ);
			atomic_store(&u->shown, s & ~VM_SHOWN_WRITABLE);
		}
		return;
	}
	if (atomic_load_explicit(&u->shown, memory_order_relaxed) & VM_SHOWN_WRITABLE)
		unit_split(o, u, lo); /* only part of it turns read-only */
	for (i = lo; i <= hi; i++) {
		s = i < hi ? shown_load(o, i) : 0;
		if (s & VM_SHOWN_WRITABLE) {
			run++;
			continue;
		}
		if (run) {
			syscall(SYS_mprotect, va + ((i - run - lo) << DAX_PAGE_SHIFT),
				run << DAX_PAGE_SHIFT, PROT_READ);
			for (uint64_t j = i - run; j < i; j++)
				page_store(o, u, j, shown_load(o, j) & ~VM_SHOWN_WRITABLE);
		}
		run = 0;
	}
}

/* Write-protects the pages of [addr, +len) that @v shows writable, unit by unit. */
static void wrprotect_shown(const struct vm_vma *v, uintptr_t addr, uint64_t len, void *arg)
{
	const struct vm_object *o = v->obj;
	uint64_t lo = index_of(v, addr), end = lo + (len >> DAX_PAGE_SHIFT), hi;
	struct vm_unit *u;

	(void)arg;
	if (!v->shared)
		return; /* private windows are never writable */
	for (; lo < end; lo = hi) {
		hi = min_u64((lo | (UNIT_PAGES - 1)) + 1, end);
		if (!in_object(o, lo) || !in_object(o, hi - 1))
			continue; /* the rmap walk gives only pages of the object */
		u = unit_of(o, lo);
		unit_lock(u);
		wrprotect_in_unit(o, u, lo, hi,
				  addr + ((lo - index_of(v, addr)) << DAX_PAGE_SHIFT));
		unit_unlock(u);
	}
}

void vm_wrprotect_mapping_range(struct dax_mapping *m, uint64_t index, uint64_t nr)
{
	vma_rmap_walk(m, index, nr, wrprotect_shown, NULL);
}

/* Flushes the media that [addr, +len) of the pinned @v shows, page by page. */
static void persist_area(const struct vm_vma *v, uintptr_t addr, uintptr_t end)
{
	const struct dax_fault_file *f = &v->obj->file;
	uintptr_t next;
	uint64_t s;

	for (; addr < end; addr = next) {
		next = (addr | (DAX_PAGE_SIZE - 1)) + 1;
		next = next < end ? next : end;
		s = pfn1_of(shown_load(v->obj, index_of(v, addr)));
		if (s && f->media)
			pmem_flush(f->pm,
				   f->media + ((s - 1) << DAX_PAGE_SHIFT) + addr % DAX_PAGE_SIZE,
				   next - addr);
	}
}

void vm_persist(const void *addr, size_t len)
{
	uintptr_t p = (uintptr_t)addr, end = p + len;
	const struct pmem *pm = NULL;
	struct vm_vma v;

	while (p < end) {
		if (!vma_get(p, &v)) {
			p = (p | (DAX_PAGE_SIZE - 1)) + 1;
			continue;
		}
		persist_area(&v, p, end < v.end ? end : v.end);
		pm = v.obj->file.pm;
		p = v.end;
		vma_put(&v);
	}
	if (pm)
		pmem_drain(pm);
}

static enum dax_scan_action drop_holes(void *arg, uint64_t index, dax_entry_t e)
{
	(void)arg;
	(void)index;
	return dax_is_zero_entry(e) || dax_is_empty_entry(e) ? DAX_SCAN_DELETE : DAX_SCAN_KEEP;
}

void vm_invalidate_range(const struct dax_fault_file *f, uint64_t index, uint64_t nr)
{
	vm_unmap_mapping_range(f->mapping, index, nr);
	dax_scan_range(f->arena, f->mapping, index, index + nr - 1, drop_holes, NULL);
}

static void unmap_mapping_range(void *vma, struct dax_mapping *m, uint64_t index, uint64_t nr)
{
	(void)vma;
	vm_unmap_mapping_range(m, index, nr);
}

const struct dax_vm_ops vm_dax_ops = {
	.insert_pfn = insert_pfn,
	.insert_zero = insert_zero,
	.insert_cow = insert_cow,
	.unmap_mapping_range = unmap_mapping_range,
	.is_shown = is_shown,
};
