// SPDX-License-Identifier: MIT
/*
 * The DAX fault core: which entry a faulting address gets, and what it maps.
 *
 * It follows fs/dax.c (inventory section 2):
 *  - a PTE fault beyond EOF is SIGBUS; a PMD fault whose aligned index is
 *    beyond EOF is SIGBUS, and one that merely crosses EOF falls back;
 *  - a PMD fault falls back unless the VA and file offset are congruent mod
 *    2 MiB, the write is not a private one, the 2 MiB lies in the mapping, no
 *    PTE entry exists in the range, the extent covers the 2 MiB and its media
 *    offset is 2 MiB-aligned;
 *  - a read of a hole inserts a zero entry and maps the zero window; a write
 *    allocates through iomap_begin(IOMAP_WRITE) and replaces a zero entry
 *    after unmapping it from every mapping;
 *  - a private write copies (no entry is filled, the empty one stays);
 *  - every iomap_begin is paired with an iomap_end.
 * One difference in order: udax calls iomap_begin before grabbing entries
 * (the kernel grabs first, under the invalidate lock that udax has no
 * analogue of). Providers hold no lock between begin and end, so either order
 * is deadlock-free, and begin-first lets the fast path reuse one iomap for
 * every entry of the extent.
 *
 * Synchronous faults (MAP_SYNC; dax_fault_is_synchronous and
 * dax_finish_sync_fault): a write fault whose extent iomap reports
 * IOMAP_F_DIRTY fills the entry clean and maps nothing; after iomap_end the
 * file's fsync_range makes the metadata durable, and only then is the entry
 * locked again, marked dirty and mapped writable. A crash in between loses
 * nothing the application could have stored. Fault-around does not run for
 * such a fault: it would map blocks writable before their commit.
 *
 * Write-protecting clean pages (udax only): a read fault maps media
 * read-only so that the first write faults and marks the entry dirty for
 * fsync, as the kernel does, except in a shared writable mapping of media
 * that nothing can make persistent (pmem method NONE: tmpfs, memfd, ...).
 * There the entries are marked dirty and the window mapped writable at once:
 * dirtiness buys nothing there, and the write-protect fault the kernel then
 * takes per 4 KiB page made first writes 20 times slower (docs/vm.md).
 *
 * The fast path (udax only): after a fault served from a MAPPED extent, the
 * rest of that extent inside the mapping and below EOF is mapped at once:
 * runs of whole 2 MiB blocks where the PMD rules allow with one window per
 * run (up to AROUND_BATCH blocks), else runs of up to 512 pages. Every unit
 * so mapped gets its index entry exactly as if it had faulted (grabbed,
 * filled, marked dirty for a write, unlocked), so the index stays the
 * complete list of what any mapping shows: writeback, truncate and layout
 * breaking see these pages like any other. The entries of a window (PMD
 * entries of a run of blocks, or PTE entries inside one 2 MiB block) are
 * locked in ascending index order while it is installed; every path that
 * holds more than one entry lock takes them in that order, so it cannot
 * deadlock.
 */
#include <errno.h>
#include <string.h>

#include "dax/entry_lock.h"
#include "dax/fault.h"
#include "dax/layout.h"
#include "pmem/pmem.h"

#define PMD_PAGES DAX_PMD_NR

struct fault_ctx {
	struct dax_vm_fault *vmf;
	struct dax_arena *a;
	struct dax_mapping *m;
	struct iomap map;
	unsigned flags; /* IOMAP_* passed to begin/end */
	bool write_on_read;
	bool sync;	   /* MAP_SYNC write over IOMAP_F_DIRTY metadata */
	uint64_t sync_pfn; /* the media page the sync fault's unit starts at */
	uint64_t fault_block; /* index of the 2 MiB block that faulted, >> DAX_PMD_ORDER */
	uint64_t max_pgoff;
};

static uintptr_t index_addr(const struct dax_vm_fault *vmf, uint64_t index)
{
	return vmf->vm_start + ((index - vmf->vm_pgoff) << DAX_PAGE_SHIFT);
}

static uint64_t vma_last_index(const struct dax_vm_fault *vmf)
{
	return vmf->vm_pgoff + ((vmf->vm_end - vmf->vm_start) >> DAX_PAGE_SHIFT);
}

static uint64_t pages_up(uint64_t bytes)
{
	return (bytes + DAX_PAGE_SIZE - 1) >> DAX_PAGE_SHIFT;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Unmaps zero pages of the downgraded PMD entry (grab_mapping_entry step 4). */
static void unmap_hook(void *arg, uint64_t index, uint64_t nr)
{
	struct fault_ctx *c = arg;

	c->vmf->vm->unmap_mapping_range(c->vmf->vma, c->m, index, nr);
}

static int grab(struct fault_ctx *c, uint64_t index, unsigned int order, dax_entry_t *e)
{
	struct dax_unmap_hook hook = {.unmap = unmap_hook, .arg = c};

	return dax_grab_entry(c->a, c->m, index, order, &hook, e);
}

/* iomap_iter's begin, checking that the extent covers @pos. */
static int iter_begin(struct fault_ctx *c, uint64_t pos, uint64_t len)
{
	const struct dax_fault_file *f = c->vmf->file;
	int ret;

	memset(&c->map, 0, sizeof(c->map));
	ret = f->ops->iomap_begin(f->host, pos, len, c->flags, &c->map);
	if (ret)
		return ret;
	if (c->map.offset > pos || c->map.offset + c->map.length <= pos) {
		f->ops->iomap_end(f->host, pos, len, 0, c->flags, &c->map);
		return -EIO;
	}
	c->sync = c->vmf->sync && (c->flags & IOMAP_WRITE) && (c->map.flags & IOMAP_F_DIRTY);
	return 0;
}

static void iter_end(struct fault_ctx *c, uint64_t pos, uint64_t len, uint64_t written)
{
	const struct dax_fault_file *f = c->vmf->file;

	f->ops->iomap_end(f->host, pos, len, written, c->flags, &c->map);
}

/* Bytes of the extent from @pos on. */
static uint64_t extent_left(const struct iomap *map, uint64_t pos)
{
	return map->offset + map->length - pos;
}

static uint64_t media_of(const struct iomap *map, uint64_t index)
{
	return map->addr + (index << DAX_PAGE_SHIFT) - map->offset;
}

static bool is_hole(const struct iomap *map)
{
	return map->type == IOMAP_HOLE || map->type == IOMAP_UNWRITTEN;
}

/* True if the MAPPED extent c->map is to be mapped writable and its entries dirtied. */
static bool map_writable(const struct fault_ctx *c)
{
	if (c->sync)
		return false; /* writable only after the commit */
	return (c->flags & IOMAP_WRITE) ||
	       (c->write_on_read && pmem_get_info(c->map.pm)->method == PMEM_METHOD_NONE);
}

/*
 * How a fault shows its window. A write fault in a MAP_SYNC mapping leaves
 * the window to fill page by page, as the kernel's own faults map one page
 * each: such stores are made durable one by one and are typically small
 * records at scattered places, where prefilling 512 page-table entries for
 * one store costs more than the store (a quarter of such a store in the
 * kvm-dax guest). Other faults prefill: a first read or a fill usually goes
 * on to the next page.
 */
static unsigned insert_flags(const struct fault_ctx *c, bool writable)
{
	return (writable ? DAX_INSERT_WRITABLE : 0) |
	       (c->vmf->write && c->vmf->sync ? DAX_INSERT_LAZY : 0);
}

static void note_mapped(struct fault_ctx *c)
{
	c->vmf->events |= DAX_EV_MAPPED | (c->map.flags & IOMAP_F_NEW ? DAX_EV_ALLOC : 0);
}

static bool is_normal(dax_entry_t e)
{
	return !dax_is_zero_entry(e) && !dax_is_empty_entry(e);
}

/*
 * dax_insert_entry for a real block: the locked entry @e (found at @index for
 * a request of @order) is made to point at media page @pfn. A zero entry is
 * first unmapped from every mapping, so no mapping keeps showing zeros over
 * the new block. An existing normal entry keeps its block (a PMD entry may
 * answer a PTE request). Returns the entry now locked; *pfnp is the media
 * page that @index shows. @unmap_zero is false when the caller has unmapped
 * the zero pages already.
 */
static dax_entry_t fill_entry(struct fault_ctx *c, uint64_t index, unsigned int order,
			      dax_entry_t e, bool unmap_zero, uint64_t *pfnp)
{
	uint64_t start = dax_entry_start(index, e);
	dax_entry_t new;

	if (is_normal(e)) {
		*pfnp = dax_to_pfn(e) + (index - start);
		new = e;
	} else {
		if (dax_is_zero_entry(e) && unmap_zero)
			c->vmf->vm->unmap_mapping_range(c->vmf->vma, c->m, start,
							1ull << dax_entry_order(e));
		new = dax_make_entry(*pfnp, order ? DAX_PMD : 0);
		dax_replace_entry(c->a, c->m, start, e, new, true);
	}
	if (map_writable(c))
		dax_set_mark(c->a, c->m, start, DAX_DIRTY);
	return new;
}

/*
 * dax_load_hole / dax_pmd_load_hole for the locked entry *ep at @index: it
 * becomes a zero entry and the zero window is mapped. If it is a normal
 * entry, a write allocated the block after iomap_begin reported the hole
 * (udax begins before it grabs): the entry wins and its block is mapped.
 * Returns NOPAGE or @fail.
 */
static enum dax_fault_ret load_hole(struct fault_ctx *c, uint64_t index, unsigned int order,
				    dax_entry_t *ep, enum dax_fault_ret fail)
{
	uintptr_t addr = index_addr(c->vmf, index);
	size_t len = order ? DAX_PMD_SIZE : DAX_PAGE_SIZE;
	dax_entry_t e = *ep;
	uint64_t pfn;

	if (is_normal(e)) {
		pfn = dax_to_pfn(e) + (index - dax_entry_start(index, e));
		if (c->vmf->vm->insert_pfn(c->vmf->vma, addr, c->map.pm, pfn << DAX_PAGE_SHIFT, len,
					   insert_flags(c, false)))
			return fail;
		note_mapped(c);
		return DAX_FAULT_NOPAGE;
	}
	if (dax_is_empty_entry(e)) {
		*ep = dax_make_entry(0, DAX_ZERO | (order ? DAX_PMD : 0));
		dax_replace_entry(c->a, c->m, dax_entry_start(index, e), e, *ep, true);
	}
	if (c->vmf->vm->insert_zero(c->vmf->vma, addr, len))
		return fail;
	c->vmf->events |= DAX_EV_ZERO;
	return DAX_FAULT_NOPAGE;
}

/* ------------------------------------------------------------------------- */
/* PMD units */

/* dax_fault_check_fallback: true if no PMD may map @index's 2 MiB here. */
static bool pmd_check_fallback(const struct dax_vm_fault *vmf, uint64_t index, uint64_t max_pgoff)
{
	uintptr_t pmd_addr = index_addr(vmf, index);

	if (((vmf->vm_start >> DAX_PAGE_SHIFT) - vmf->vm_pgoff) & DAX_PMD_COLOUR)
		return true; /* VA and file offset not congruent mod 2 MiB */
	if (vmf->write && !vmf->shared)
		return true; /* copy-on-write goes through PTEs */
	if (index < vmf->vm_pgoff || pmd_addr + DAX_PMD_SIZE > vmf->vm_end)
		return true;			      /* the 2 MiB is not all inside the mapping */
	return (index | DAX_PMD_COLOUR) >= max_pgoff; /* it would cross EOF */
}

/*
 * dax_fault_iter for a PMD: with the PMD entry @e locked at @index and c->map
 * from begin, map 2 MiB. Returns the result; *ep is the entry to unlock.
 */
static enum dax_fault_ret pmd_actor(struct fault_ctx *c, uint64_t index, dax_entry_t *ep)
{
	uint64_t pos = index << DAX_PAGE_SHIFT, pfn;
	uintptr_t addr = index_addr(c->vmf, index);
	const struct iomap *map = &c->map;

	if (extent_left(map, pos) < DAX_PMD_SIZE)
		return DAX_FAULT_FALLBACK; /* extent too short */
	if (is_hole(map))
		return c->flags & IOMAP_WRITE
			       ? DAX_FAULT_FALLBACK
			       : load_hole(c, index, DAX_PMD_ORDER, ep, DAX_FAULT_FALLBACK);
	if (map->type != IOMAP_MAPPED || media_of(map, index) % DAX_PMD_SIZE)
		return DAX_FAULT_FALLBACK; /* media not 2 MiB-aligned */
	pfn = media_of(map, index) >> DAX_PAGE_SHIFT;
	*ep = fill_entry(c, index, DAX_PMD_ORDER, *ep, true, &pfn);
	if (c->sync) {
		c->sync_pfn = pfn;
		return DAX_FAULT_NEEDDSYNC;
	}
	if (c->vmf->vm->insert_pfn(c->vmf->vma, addr, map->pm, pfn << DAX_PAGE_SHIFT, DAX_PMD_SIZE,
				   insert_flags(c, map_writable(c))))
		return DAX_FAULT_FALLBACK;
	note_mapped(c);
	return DAX_FAULT_NOPAGE;
}

/* Grab, act, unlock one PMD unit whose iomap is already in c->map. */
static enum dax_fault_ret pmd_unit(struct fault_ctx *c, uint64_t index)
{
	enum dax_fault_ret ret;
	dax_entry_t e;

	if (grab(c, index, DAX_PMD_ORDER, &e))
		return DAX_FAULT_FALLBACK; /* PTE entries in the range, or no memory */
	ret = pmd_actor(c, index, &e);
	dax_unlock_entry(c->a, c->m, index, e);
	return ret;
}

/* ------------------------------------------------------------------------- */
/* PTE runs */

/*
 * Maps pages [first, first + nr) (nr <= 512, inside one 2 MiB block, inside
 * the MAPPED extent c->map) with one window: locks their entries in ascending
 * order, unmaps the zero pages among them from every mapping, fills the
 * entries, installs, unlocks. A normal PMD entry found at @first covers the
 * whole run by itself.
 */
static enum dax_fault_ret pte_run(struct fault_ctx *c, uint64_t first, uint64_t nr)
{
	uint64_t i, locked, zero_lo = nr, zero_hi = 0, pfn, first_pfn = 0;
	enum dax_fault_ret ret = DAX_FAULT_NOPAGE;
	dax_entry_t e[PMD_PAGES];

	for (locked = 0; locked < nr; locked++) {
		if (grab(c, first + locked, 0, &e[locked])) {
			ret = DAX_FAULT_OOM;
			break;
		}
		if (dax_is_zero_entry(e[locked])) {
			zero_lo = min_u64(zero_lo, locked);
			zero_hi = locked + 1;
		}
		if (dax_is_pmd_entry(e[locked])) {
			/* Only possible at @first: we hold PTE entries in the block. */
			locked++;
			break;
		}
	}
	if (ret == DAX_FAULT_NOPAGE) {
		if (zero_hi)
			c->vmf->vm->unmap_mapping_range(c->vmf->vma, c->m, first + zero_lo,
							zero_hi - zero_lo);
		for (i = 0; i < locked; i++) {
			pfn = media_of(&c->map, first + i) >> DAX_PAGE_SHIFT;
			e[i] = fill_entry(c, first + i, 0, e[i], false, &pfn);
			if (i == 0)
				first_pfn = pfn;
		}
		if (c->sync) {
			c->sync_pfn = first_pfn; /* a sync fault is one page, never around */
			ret = DAX_FAULT_NEEDDSYNC;
		} else if (c->vmf->vm->insert_pfn(c->vmf->vma, index_addr(c->vmf, first),
						  c->map.pm, first_pfn << DAX_PAGE_SHIFT,
						  nr << DAX_PAGE_SHIFT,
						  insert_flags(c, map_writable(c)))) {
			ret = DAX_FAULT_SIGBUS;
		} else {
			note_mapped(c);
		}
	}
	for (i = 0; i < locked; i++)
		dax_unlock_entry(c->a, c->m, first + i, e[i]);
	return ret;
}

/* dax_load_hole for one page. */
static enum dax_fault_ret pte_hole(struct fault_ctx *c, uint64_t index)
{
	enum dax_fault_ret ret;
	dax_entry_t e;

	if (grab(c, index, 0, &e))
		return DAX_FAULT_OOM;
	ret = load_hole(c, index, 0, &e, DAX_FAULT_SIGBUS);
	dax_unlock_entry(c->a, c->m, index, e);
	return ret;
}

/*
 * dax_fault_cow_page: a private write gets its own copy of the page (of
 * zeros for a hole). The entry is only held for exclusion against truncate;
 * it is left empty, as the kernel leaves it.
 */
static enum dax_fault_ret pte_cow(struct fault_ctx *c, uint64_t index)
{
	const struct iomap *map = &c->map;
	enum dax_fault_ret ret = DAX_FAULT_NOPAGE;
	struct pmem *pm = is_hole(map) ? NULL : map->pm;
	dax_entry_t e;

	if (!is_hole(map) && map->type != IOMAP_MAPPED)
		return DAX_FAULT_SIGBUS;
	if (grab(c, index, 0, &e))
		return DAX_FAULT_OOM;
	if (c->vmf->vm->insert_cow(c->vmf->vma, index_addr(c->vmf, index), pm,
				   pm ? media_of(map, index) : 0))
		ret = DAX_FAULT_SIGBUS;
	else
		c->vmf->events |= DAX_EV_COW;
	dax_unlock_entry(c->a, c->m, index, e);
	return ret;
}

/* ------------------------------------------------------------------------- */
/* The fast path */

/* True if the 2 MiB block at @index may be mapped by one PMD from c->map. */
static bool around_pmd_ok(struct fault_ctx *c, uint64_t index, uint64_t hi)
{
	return !(index & DAX_PMD_COLOUR) && index + PMD_PAGES <= hi &&
	       !pmd_check_fallback(c->vmf, index, c->max_pgoff) &&
	       !(media_of(&c->map, index) % DAX_PMD_SIZE);
}

/* PMD entries one fault-around window may hold locked (its entries live on the signal stack). */
#define AROUND_BATCH 64

/*
 * True if [lo, hi), a piece of one 2 MiB block of the MAPPED extent c->map,
 * already shows it: what lies beyond was mapped by an earlier fault and
 * fault-around stops there, so filling a file costs O(n), not O(n^2). A
 * write fault maps writable (and dirties) pages that showed nothing, and
 * upgrades read-only ones only inside its own 2 MiB block: dirtiness is
 * tracked per 2 MiB, so one store after an fsync (or after a read fault
 * mapped the extent) dirties 2 MiB, not the extent.
 */
static bool block_shown(struct fault_ctx *c, uint64_t lo, uint64_t hi)
{
	struct dax_vm_fault *vmf = c->vmf;
	bool own = (lo >> DAX_PMD_ORDER) == c->fault_block;

	return vmf->vm->is_shown(vmf->vma, index_addr(vmf, lo), media_of(&c->map, lo),
				 (hi - lo) << DAX_PAGE_SHIFT, vmf->write ? own : map_writable(c));
}

/*
 * Maps up to @n whole blocks from @lo (each one may take a PMD) with ONE
 * window: their PMD entries are grabbed in ascending order and filled, the
 * window installed, the entries unlocked. A grab that fails (PTE entries in
 * the block) or an entry holding another block ends the run early. One
 * window per run instead of one per 2 MiB saves the mmap, huge-page advice
 * and populate calls of every block (3 system calls per 2 MiB). Locking
 * several PMD entries is deadlock-free: every path that holds more than one
 * entry lock takes them in ascending index order (pte_run does too).
 * Returns the blocks mapped.
 */
static uint64_t pmd_batch(struct fault_ctx *c, uint64_t lo, uint64_t n)
{
	struct dax_vm_fault *vmf = c->vmf;
	dax_entry_t e[AROUND_BATCH];
	uint64_t locked, index, pfn, want;
	bool ok = false;

	n = min_u64(n, AROUND_BATCH);
	for (locked = 0; locked < n; locked++) {
		index = lo + locked * PMD_PAGES;
		if (grab(c, index, DAX_PMD_ORDER, &e[locked]))
			break;
		want = pfn = media_of(&c->map, index) >> DAX_PAGE_SHIFT;
		e[locked] = fill_entry(c, index, DAX_PMD_ORDER, e[locked], true, &pfn);
		if (pfn != want) { /* the entry keeps another block: not this window's */
			dax_unlock_entry(c->a, c->m, index, e[locked]);
			break;
		}
	}
	if (locked)
		ok = !vmf->vm->insert_pfn(vmf->vma, index_addr(vmf, lo), c->map.pm,
					  media_of(&c->map, lo), locked * DAX_PMD_SIZE,
					  insert_flags(c, map_writable(c)));
	if (ok)
		note_mapped(c);
	for (uint64_t i = 0; i < locked; i++)
		dax_unlock_entry(c->a, c->m, lo + i * PMD_PAGES, e[i]);
	return ok ? locked : 0;
}

/*
 * Maps the blocks of [b, end) of the MAPPED extent in ascending order: runs
 * of whole blocks that may take PMDs with one window each (pmd_batch), the
 * others as PTE runs. @stop: stop at the first block already shown. False
 * if a block could not be mapped.
 */
static bool around_range(struct fault_ctx *c, uint64_t b, uint64_t end, bool stop)
{
	uint64_t next, n, got;

	for (; b < end; b = next) {
		next = min_u64((b | DAX_PMD_COLOUR) + 1, end);
		if (stop && block_shown(c, b, next))
			return true;
		for (n = 0; n < AROUND_BATCH; n++) {
			uint64_t blk = b + n * PMD_PAGES;

			if (blk >= end || !around_pmd_ok(c, blk, min_u64(blk + PMD_PAGES, end)) ||
			    (n && stop && block_shown(c, blk, blk + PMD_PAGES)))
				break;
		}
		got = n ? pmd_batch(c, b, n) : 0;
		if (got) {
			c->vmf->around_pages += got * PMD_PAGES;
			next = b + got * PMD_PAGES;
			continue;
		}
		if (pte_run(c, b, next - b) != DAX_FAULT_NOPAGE)
			return false;
		c->vmf->around_pages += next - b;
	}
	return true;
}

/*
 * After the unit [done, done + nr) was mapped from the MAPPED extent c->map,
 * map the rest of the extent that lies in the mapping and below EOF: forward
 * from the unit up to the first block already shown, and backward down to
 * the first block already shown below it (found first, then mapped in
 * ascending order, as pmd_batch locks).
 */
static void fault_around(struct fault_ctx *c, uint64_t done, uint64_t nr)
{
	const struct dax_vm_fault *vmf = c->vmf;
	uint64_t lo, hi, b, next;

	if (!vmf->fault_around || c->map.type != IOMAP_MAPPED || (vmf->write && !vmf->shared))
		return;
	c->fault_block = done >> DAX_PMD_ORDER;
	lo = max_u64(pages_up(c->map.offset), vmf->vm_pgoff);
	hi = min_u64((c->map.offset + c->map.length) >> DAX_PAGE_SHIFT, vma_last_index(vmf));
	hi = min_u64(hi, c->max_pgoff);
	if (!around_range(c, done + nr, hi, true))
		return;
	for (b = min_u64(done, hi); b > lo; b = next) {
		next = max_u64((b - 1) & ~DAX_PMD_COLOUR, lo);
		if (block_shown(c, next, b))
			break;
	}
	around_range(c, b, min_u64(done, hi), false);
}

/* ------------------------------------------------------------------------- */
/* The two fault paths */

static void ctx_init(struct fault_ctx *c, struct dax_vm_fault *vmf, bool write)
{
	const struct dax_fault_file *f = vmf->file;

	c->vmf = vmf;
	c->a = f->arena;
	c->m = f->mapping;
	c->flags = IOMAP_FAULT | (write ? IOMAP_WRITE : 0);
	c->write_on_read = vmf->write_on_read && vmf->shared;
	c->max_pgoff = pages_up(f->i_size(f->host));
}

static uint64_t done_bytes(enum dax_fault_ret ret, uint64_t size)
{
	return ret == DAX_FAULT_NOPAGE || ret == DAX_FAULT_NEEDDSYNC ? size : 0;
}

/*
 * dax_finish_sync_fault: the unit at @index (of @order) was filled clean by a
 * MAP_SYNC write over IOMAP_F_DIRTY metadata. Commit, then
 * dax_insert_pfn_mkwrite: if the entry still holds the block, it is marked
 * dirty and mapped writable; if it changed meanwhile (truncated, punched),
 * the access simply faults again.
 */
static enum dax_fault_ret finish_sync_fault(struct fault_ctx *c, uint64_t index,
					    unsigned int order)
{
	const struct dax_fault_file *f = c->vmf->file;
	uint64_t size = order ? DAX_PMD_SIZE : DAX_PAGE_SIZE, pfn;
	enum dax_fault_ret ret = DAX_FAULT_NOPAGE;
	dax_entry_t e;

	if (!f->fsync_range || f->fsync_range(f->host, index << DAX_PAGE_SHIFT, size))
		return DAX_FAULT_SIGBUS;
	c->vmf->events |= DAX_EV_SYNC;
	if (dax_lock_entry_at(c->a, c->m, index, &e))
		return DAX_FAULT_NOPAGE;
	pfn = is_normal(e) ? dax_to_pfn(e) + (index - dax_entry_start(index, e)) : 0;
	if (pfn == c->sync_pfn && dax_entry_order(e) == order) {
		dax_set_mark(c->a, c->m, index, DAX_DIRTY);
		if (c->vmf->vm->insert_pfn(c->vmf->vma, index_addr(c->vmf, index), c->map.pm,
					   pfn << DAX_PAGE_SHIFT, size, insert_flags(c, true)))
			ret = DAX_FAULT_SIGBUS;
		else
			note_mapped(c);
	}
	dax_unlock_entry(c->a, c->m, index, e);
	return ret;
}

static enum dax_fault_ret pmd_fault(struct dax_vm_fault *vmf)
{
	uint64_t index = dax_fault_pgoff(vmf) & ~DAX_PMD_COLOUR, pos = index << DAX_PAGE_SHIFT;
	enum dax_fault_ret ret;
	struct fault_ctx c;

	ctx_init(&c, vmf, vmf->write);
	if (index >= c.max_pgoff)
		return DAX_FAULT_SIGBUS;
	if (pmd_check_fallback(vmf, index, c.max_pgoff))
		return DAX_FAULT_FALLBACK;
	if (iter_begin(&c, pos, DAX_PMD_SIZE))
		return DAX_FAULT_FALLBACK;
	ret = pmd_unit(&c, index);
	if (ret == DAX_FAULT_NOPAGE)
		fault_around(&c, index, PMD_PAGES);
	iter_end(&c, pos, DAX_PMD_SIZE, done_bytes(ret, DAX_PMD_SIZE));
	return ret == DAX_FAULT_NEEDDSYNC ? finish_sync_fault(&c, index, DAX_PMD_ORDER) : ret;
}

static enum dax_fault_ret pte_actor(struct fault_ctx *c, uint64_t index)
{
	const struct dax_vm_fault *vmf = c->vmf;

	if (extent_left(&c->map, index << DAX_PAGE_SHIFT) < DAX_PAGE_SIZE)
		return DAX_FAULT_SIGBUS;
	if (vmf->write && !vmf->shared)
		return pte_cow(c, index);
	if (is_hole(&c->map))
		return vmf->write ? DAX_FAULT_SIGBUS : pte_hole(c, index);
	if (c->map.type != IOMAP_MAPPED)
		return DAX_FAULT_SIGBUS;
	return pte_run(c, index, 1);
}

static enum dax_fault_ret pte_fault(struct dax_vm_fault *vmf)
{
	uint64_t index = dax_fault_pgoff(vmf), pos = index << DAX_PAGE_SHIFT;
	bool write = vmf->write && vmf->shared; /* a private write must not allocate */
	enum dax_fault_ret ret;
	struct fault_ctx c;

	ctx_init(&c, vmf, write);
	if (index >= c.max_pgoff)
		return DAX_FAULT_SIGBUS;
	if (iter_begin(&c, pos, DAX_PAGE_SIZE))
		return DAX_FAULT_SIGBUS;
	ret = pte_actor(&c, index);
	if (ret == DAX_FAULT_NOPAGE)
		fault_around(&c, index, 1);
	iter_end(&c, pos, DAX_PAGE_SIZE, done_bytes(ret, DAX_PAGE_SIZE));
	return ret == DAX_FAULT_NEEDDSYNC ? finish_sync_fault(&c, index, 0) : ret;
}

enum dax_fault_ret dax_iomap_fault(struct dax_vm_fault *vmf, unsigned int order)
{
	struct dax_mapping *m = vmf->file->mapping;
	enum dax_fault_ret ret;

	dax_invalidate_lock_shared(m); /* no layout change while we map (layout.h) */
	if (order == 0)
		ret = pte_fault(vmf);
	else if (order == DAX_PMD_ORDER)
		ret = pmd_fault(vmf);
	else
		ret = DAX_FAULT_FALLBACK;
	dax_invalidate_unlock_shared(m);
	if (ret == DAX_FAULT_FALLBACK)
		vmf->events |= DAX_EV_FALLBACK;
	else if (ret != DAX_FAULT_NOPAGE)
		vmf->events |= DAX_EV_SIGBUS;
	return ret;
}
