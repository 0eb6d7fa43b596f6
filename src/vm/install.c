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

static _Atomic uint64_t *shown_slot(const struct vm_vma *v, uint64_t index)
{
	const struct vm_object *o = v->obj;

	return index >= o->pgoff && index - o->pgoff < o->npages ? &o->shown[index - o->pgoff]
								 : NULL;
}

_Atomic uint64_t *vm_shown_at(const struct vm_vma *v, uintptr_t addr)
{
	return shown_slot(v, index_of(v, addr));
}

/* Page @index of @v now shows @val (media pfn + 1 | writable bit, or 0). */
/*
 * Page @index of @v now shows @val. The reference on the new page is taken
 * before the slot changes and the old one dropped after, so a count never
 * goes below the mappings that show the page, whatever runs concurrently.
 */
static void show(const struct vm_vma *v, uint64_t index, uint64_t val)
{
	const struct dax_fault_file *f = &v->obj->file;
	_Atomic uint64_t *slot = shown_slot(v, index);
	uint64_t old, pfn1 = val & ~VM_SHOWN_WRITABLE;

	if (!slot)
		return;
	if (pfn1 && f->page_ref)
		f->page_ref(f->host, pfn1 - 1, 1, 1);
	old = atomic_exchange(slot, val) & ~VM_SHOWN_WRITABLE;
	if (old && f->page_ref)
		f->page_ref(f->host, old - 1, 1, -1);
}

/*
 * show() for pages [first, first + nr) showing consecutive media from
 * @shown on (0: nothing): the new references are taken with one call
 * before the slots change (a window of 2 MiB costs one page_ref call, not
 * 512), the old ones dropped after, in runs of consecutive pages.
 */
static void show_run(const struct vm_vma *v, uint64_t first, uint64_t nr, uint64_t shown)
{
	const struct dax_fault_file *f = &v->obj->file;
	uint64_t i, old, run_first = 0, run = 0;
	_Atomic uint64_t *slot;

	if (!shown || !f->page_ref || !shown_slot(v, first) || !shown_slot(v, first + nr - 1)) {
		for (i = 0; i < nr; i++)
			show(v, first + i, shown ? shown + i : 0);
		return;
	}
	f->page_ref(f->host, (shown & ~VM_SHOWN_WRITABLE) - 1, nr, 1);
	for (i = 0; i <= nr; i++) {
		slot = i < nr ? shown_slot(v, first + i) : NULL;
		old = slot ? atomic_exchange(slot, shown + i) & ~VM_SHOWN_WRITABLE : 0;
		if (old && run && old == run_first + run) {
			run++;
			continue;
		}
		if (run)
			f->page_ref(f->host, run_first - 1, run, -1);
		run_first = old;
		run = old ? 1 : 0;
	}
}

void vm_release_pages(const struct vm_vma *v, uintptr_t addr, uint64_t len)
{
	for (uint64_t d = 0; d < len; d += DAX_PAGE_SIZE)
		show(v, index_of(v, addr + d), 0);
}

void vm_forget_faulting_page(const struct vm_vma *v, uintptr_t addr, bool write)
{
	_Atomic uint64_t *slot = vm_shown_at(v, addr);
	uint64_t s = slot ? atomic_load(slot) : 0;

	if (s && (!write || (s & VM_SHOWN_WRITABLE)))
		show(v, index_of(v, addr), 0);
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
	if (w->pm) /* read: a writable shared window gets writable, clean PTEs anyway */
		populate(addr, len, false);
	if (w->pm)
		shown = ((off >> DAX_PAGE_SHIFT) + 1) |
			(w->prot & PROT_WRITE ? VM_SHOWN_WRITABLE : 0);
	show_run(v, first, len >> DAX_PAGE_SHIFT, shown);
	return 0;
}

/*
 * How [addr, +len) already shows media pages from @pfn on (copied pages
 * aside): 2 all writable, 1 all at least read-only, 0 not all.
 */
static int shown_state(const struct vm_vma *v, uintptr_t addr, uint64_t len, uint64_t pfn)
{
	uint64_t first = index_of(v, addr), s;
	_Atomic uint64_t *slot;
	int state = 2;

	for (uint64_t i = 0; i < len >> DAX_PAGE_SHIFT; i++) {
		if (!v->shared && vm_object_is_cow(v->obj, first + i))
			continue;
		slot = shown_slot(v, first + i);
		s = slot ? atomic_load(slot) : 0;
		if ((s & ~VM_SHOWN_WRITABLE) != pfn + i + 1)
			return 0;
		if (!(s & VM_SHOWN_WRITABLE))
			state = 1;
	}
	return state;
}

/* A shared window already in place becomes writable. */
static int make_writable(const struct vm_vma *v, uintptr_t addr, uint64_t len)
{
	uint64_t first = index_of(v, addr);

	if (syscall(SYS_mprotect, addr, len, PROT_READ | PROT_WRITE))
		return -errno;
	populate(addr, len, true);
	for (uint64_t i = 0; i < len >> DAX_PAGE_SHIFT; i++)
		atomic_fetch_or(shown_slot(v, first + i), VM_SHOWN_WRITABLE);
	return 0;
}

static int insert_pfn(void *vma, uintptr_t addr, struct pmem *pm, uint64_t media_off, size_t len,
		      bool writable)
{
	const struct vm_vma *v = vma;
	int state = shown_state(v, addr, len, media_off >> DAX_PAGE_SHIFT);
	struct window w = {.pm = pm,
			   .fd = pmem_fd(pm),
			   .off = media_off,
			   .prot = PROT_READ | (writable ? PROT_WRITE : 0)};

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
	show(v, index_of(v, addr), 0); /* the copy is anonymous memory, not media */
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

/* Write-protects the pages of [addr, +len) that @v shows writable, run by run. */
static void wrprotect_shown(const struct vm_vma *v, uintptr_t addr, uint64_t len, void *arg)
{
	uint64_t first = index_of(v, addr), nr = len >> DAX_PAGE_SHIFT, i, run = 0;
	_Atomic uint64_t *slot;

	(void)arg;
	if (!v->shared)
		return; /* private windows are never writable */
	for (i = 0; i <= nr; i++) {
		slot = i < nr ? shown_slot(v, first + i) : NULL;
		if (slot && (atomic_load(slot) & VM_SHOWN_WRITABLE)) {
			run++;
			continue;
		}
		if (run) {
			uintptr_t start = addr + ((i - run) << DAX_PAGE_SHIFT);

			syscall(SYS_mprotect, start, run << DAX_PAGE_SHIFT, PROT_READ);
			for (uint64_t j = i - run; j < i; j++)
				atomic_fetch_and(shown_slot(v, first + j), ~VM_SHOWN_WRITABLE);
		}
		run = 0;
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
	_Atomic uint64_t *slot;
	uint64_t s;

	for (; addr < end; addr = next) {
		next = (addr | (DAX_PAGE_SIZE - 1)) + 1;
		next = next < end ? next : end;
		slot = vm_shown_at(v, addr);
		s = slot ? atomic_load(slot) & ~VM_SHOWN_WRITABLE : 0;
		if (s && f->media)
			pmem_flush(f->pm, f->media + ((s - 1) << DAX_PAGE_SHIFT) +
						  addr % DAX_PAGE_SIZE,
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
