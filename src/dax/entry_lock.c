// SPDX-License-Identifier: MIT
#include <errno.h>
#include <sched.h>
#include <stdlib.h>

#include "dax/entry_lock.h"
#include "dax/index.h"
#include "dax/waitq.h"

/*
 * Deliberately broken variants, built only for the regression tests
 * (cmake -DUDAX_BROKEN=...; docs/dax-index.md lists them).
 */
#ifdef UDAX_BROKEN_PMD_WAIT_ON_PTE
#define PMD_WAITS_ON_PTE 1 /* before 23c84eb78375: wait, keyed by the PMD index */
#else
#define PMD_WAITS_ON_PTE 0
#endif
#ifdef UDAX_BROKEN_WAKE_ONE_ON_DELETE
#define DELETE_WAKE DAX_WAKE_NEXT /* before "Wake up all waiters after invalidating" */
#else
#define DELETE_WAKE DAX_WAKE_ALL
#endif
#ifdef UDAX_BROKEN_WAKE_ONE_ON_REPLACE
#define REPLACE_WAKE DAX_WAKE_NEXT /* before "dax: fix deadlock with DAX 4k holes" */
#else
#define REPLACE_WAKE DAX_WAKE_ALL
#endif
#ifdef UDAX_BROKEN_SCAN_SKIPS_WAITED
#define SCAN_SKIPS_WAITED 1 /* xas_pause() instead of xas_reset() after the wait */
#else
#define SCAN_SKIPS_WAITED 0
#endif

static void dax_bug_on(bool cond)
{
	if (cond)
		abort();
}

static uint64_t entry_nr(dax_entry_t e)
{
	return 1ull << dax_entry_order(e);
}

static void account(struct dax_mapping *m, dax_entry_t e, bool add)
{
	uint64_t nr = entry_nr(e);

	atomic_fetch_add_explicit(&m->nrpages, add ? nr : -nr, memory_order_relaxed);
}

/* dax_entry_waitqueue: the key of entry @e as found at @index. */
static struct dax_wait_key entry_key(struct dax_arena *a, struct dax_mapping *m, uint64_t index,
				     dax_entry_t e)
{
	return (struct dax_wait_key){.mapping = dax_mapping_nr(a, m),
				     .start = dax_entry_start(index, e)};
}

static void wake_entry(struct dax_arena *a, struct dax_mapping *m, uint64_t index, dax_entry_t e,
		       enum dax_wake_mode mode)
{
	dax_wake(a, entry_key(a, m, index, e), mode);
}

/* dax_lock_entry: sets the lock bit of the stored entry covering @index. */
static void lock_entry(struct dax_arena *a, struct dax_mapping *m, uint64_t index)
{
	atomic_fetch_or_explicit(dax_index_slot(a, m, index), DAX_LOCKED, memory_order_relaxed);
}

/*
 * Sleeps until the entry @e, found locked at @index, is unlocked or gone.
 * Called with m->lock held; drops it while asleep and holds it again on return.
 * The queueing happens before the lock is dropped: an unlocker, which must take
 * m->lock to clear the bit, then always finds us queued. With every waiter
 * record in use it polls instead (the waiter count bounds the sleepers).
 */
static void wait_entry_unlocked(struct dax_arena *a, struct dax_mapping *m, uint64_t index,
				dax_entry_t e)
{
	uint32_t waiter;
	int queued = dax_wait_enqueue(a, entry_key(a, m, index, e), &waiter);

	dax_mutex_unlock(&m->lock);
	if (queued == 0)
		dax_wait_sleep(a, waiter);
	else
		sched_yield();
	dax_mutex_lock(&m->lock);
}

/*
 * get_next_unlocked_entry: the unlocked entry a request of @order at @index
 * finds, 0 if none, DAX_CONFLICT if smaller entries are in the way. The order
 * test comes before the lock test: a PMD request never waits on a PTE entry,
 * whose unlock would wake the PTE's key, not the PMD range's.
 */
static dax_entry_t get_next_unlocked_entry(struct dax_arena *a, struct dax_mapping *m,
					   uint64_t index, unsigned int order)
{
	for (;;) {
		dax_entry_t e = dax_index_lookup(a, m, index, order);

		if (!e)
			return 0;
		if (dax_entry_order(e) < order && (!PMD_WAITS_ON_PTE || !dax_is_locked(e)))
			return DAX_CONFLICT;
		if (!dax_is_locked(e))
			return e;
		wait_entry_unlocked(a, m, index, e);
	}
}

/*
 * A PTE request found the empty or zero PMD entry @e: lock it, unmap the zero
 * window (lock dropped, entry locked so nobody else touches it), remove it and
 * wake all its waiters, who must look again and now find PTE-sized holes.
 */
static void downgrade_pmd_entry(struct dax_arena *a, struct dax_mapping *m, uint64_t index,
				dax_entry_t e, const struct dax_unmap_hook *unmap)
{
	uint64_t start = index & ~DAX_PMD_COLOUR;

	lock_entry(a, m, start);
	if (dax_is_zero_entry(e) && unmap && unmap->unmap) {
		dax_mutex_unlock(&m->lock);
		unmap->unmap(unmap->arg, start, DAX_PMD_NR);
		dax_mutex_lock(&m->lock);
	}
	dax_index_erase(a, m, start);
	account(m, e, false);
	wake_entry(a, m, start, e, REPLACE_WAKE);
}

static bool can_downgrade(dax_entry_t e, unsigned int order)
{
	return order == 0 && e && dax_is_pmd_entry(e) &&
	       (dax_is_zero_entry(e) || dax_is_empty_entry(e));
}

int dax_grab_entry(struct dax_arena *a, struct dax_mapping *m, uint64_t index, unsigned int order,
		   const struct dax_unmap_hook *unmap, dax_entry_t *entryp)
{
	struct dax_preload pl = {0};
	dax_entry_t e;
	uint32_t need;
	int ret = 0;

	*entryp = 0;
	if (index >= DAX_INDEX_LIMIT)
		return -EINVAL;
	if (order)
		index &= ~DAX_PMD_COLOUR;
	dax_mutex_lock(&m->lock);
	for (;;) {
		e = get_next_unlocked_entry(a, m, index, order);
		if (e == DAX_CONFLICT) {
			e = 0;
			ret = DAX_FALLBACK;
			break;
		}
		if (can_downgrade(e, order)) {
			downgrade_pmd_entry(a, m, index, e, unmap);
			continue;
		}
		if (e) {
			lock_entry(a, m, index);
			break;
		}
		need = dax_index_nodes_needed(a, m, index, order);
		if (pl.nr < need) {
			/* Allocate outside the lock, then look again (xas_nomem). */
			dax_mutex_unlock(&m->lock);
			ret = dax_preload(a, &pl, need);
			dax_mutex_lock(&m->lock);
			if (ret)
				break;
			continue;
		}
		e = dax_make_entry(0, DAX_EMPTY | (order ? DAX_PMD : 0));
		dax_index_insert(a, m, index, order, e | DAX_LOCKED, &pl);
		account(m, e, true);
		break;
	}
	dax_mutex_unlock(&m->lock);
	dax_preload_release(a, &pl);
	*entryp = e;
	return ret;
}

int dax_lock_entry_at(struct dax_arena *a, struct dax_mapping *m, uint64_t index,
		      dax_entry_t *entryp)
{
	dax_entry_t e;

	dax_mutex_lock(&m->lock);
	e = get_next_unlocked_entry(a, m, index, 0);
	if (e)
		lock_entry(a, m, index);
	dax_mutex_unlock(&m->lock);
	*entryp = e;
	return e ? 0 : -ENOENT;
}

void dax_unlock_entry(struct dax_arena *a, struct dax_mapping *m, uint64_t index, dax_entry_t entry)
{
	_Atomic uint64_t *slot;

	dax_mutex_lock(&m->lock);
	slot = dax_index_slot(a, m, index);
	dax_bug_on(!slot || !(atomic_fetch_and_explicit(slot, ~DAX_LOCKED, memory_order_relaxed) &
			      DAX_LOCKED));
	dax_mutex_unlock(&m->lock);
	wake_entry(a, m, index, entry, DAX_WAKE_NEXT);
}

void dax_replace_entry(struct dax_arena *a, struct dax_mapping *m, uint64_t index, dax_entry_t old,
		       dax_entry_t new, bool keep_locked)
{
	_Atomic uint64_t *slot;
	uint64_t w;

	dax_mutex_lock(&m->lock);
	slot = dax_index_slot(a, m, index);
	w = slot ? atomic_load_explicit(slot, memory_order_relaxed) : 0;
	dax_bug_on((w & ~DAX_MARKS) != (old | DAX_LOCKED) ||
		   dax_entry_order(new) != dax_entry_order(old));
	atomic_store_explicit(slot, new | (keep_locked ? DAX_LOCKED : 0) | (w & DAX_MARKS),
			      memory_order_relaxed);
	if (!keep_locked)
		wake_entry(a, m, index, old, REPLACE_WAKE);
	dax_mutex_unlock(&m->lock);
}

static bool entry_is_marked(struct dax_arena *a, struct dax_mapping *m, uint64_t index)
{
	return dax_index_get_mark(a, m, index, DAX_DIRTY) ||
	       dax_index_get_mark(a, m, index, DAX_TOWRITE);
}

/* Removes the unlocked entry @e at @index and wakes all its waiters. */
static void delete_entry(struct dax_arena *a, struct dax_mapping *m, uint64_t index, dax_entry_t e)
{
	dax_index_erase(a, m, index);
	account(m, e, false);
	wake_entry(a, m, index, e, DELETE_WAKE);
}

int dax_delete_entry(struct dax_arena *a, struct dax_mapping *m, uint64_t index, bool only_clean)
{
	dax_entry_t e;
	int removed = 0;

	dax_mutex_lock(&m->lock);
	e = get_next_unlocked_entry(a, m, index, 0);
	if (e && !(only_clean && entry_is_marked(a, m, index))) {
		delete_entry(a, m, index, e);
		removed = 1;
	} else if (e) {
		wake_entry(a, m, index, e, DAX_WAKE_NEXT);
	}
	dax_mutex_unlock(&m->lock);
	return removed;
}

void dax_scan_range(struct dax_arena *a, struct dax_mapping *m, uint64_t first, uint64_t last,
		    dax_scan_fn fn, void *arg)
{
	uint64_t index = first, at;
	enum dax_scan_action action;
	dax_entry_t e;

	dax_mutex_lock(&m->lock);
	while (index <= last) {
		at = index;
		e = dax_index_find(a, m, &at, last, 0);
		if (!e)
			break;
		if (dax_is_locked(e)) {
			/* wait_entry_unlocked_exclusive: then look at @index again. */
			wait_entry_unlocked(a, m, at, e);
			if (SCAN_SKIPS_WAITED)
				index = at + entry_nr(e);
			continue;
		}
		action = fn(arg, at, e);
		if (action == DAX_SCAN_DELETE)
			delete_entry(a, m, at, e);
		else
			wake_entry(a, m, at, e, DAX_WAKE_NEXT);
		if (action == DAX_SCAN_STOP || at + entry_nr(e) < at)
			break;
		index = at + entry_nr(e);
	}
	dax_mutex_unlock(&m->lock);
}

static enum dax_scan_action delete_all(void *arg, uint64_t index, dax_entry_t entry)
{
	(void)arg;
	(void)index;
	(void)entry;
	return DAX_SCAN_DELETE;
}

void dax_delete_range(struct dax_arena *a, struct dax_mapping *m, uint64_t first, uint64_t last)
{
	dax_scan_range(a, m, first, last, delete_all, NULL);
}

bool dax_test_mark(struct dax_arena *a, struct dax_mapping *m, uint64_t index, enum dax_mark mark)
{
	bool marked;

	dax_mutex_lock(&m->lock);
	marked = dax_index_get_mark(a, m, index, mark);
	dax_mutex_unlock(&m->lock);
	return marked;
}

void dax_set_mark(struct dax_arena *a, struct dax_mapping *m, uint64_t index, enum dax_mark mark)
{
	dax_mutex_lock(&m->lock);
	dax_index_set_mark(a, m, index, mark);
	dax_mutex_unlock(&m->lock);
}

void dax_clear_mark(struct dax_arena *a, struct dax_mapping *m, uint64_t index, enum dax_mark mark)
{
	dax_mutex_lock(&m->lock);
	dax_index_clear_mark(a, m, index, mark);
	dax_mutex_unlock(&m->lock);
}

void dax_tag_towrite(struct dax_arena *a, struct dax_mapping *m, uint64_t first, uint64_t last)
{
	uint64_t index = first;
	dax_entry_t e;

	dax_mutex_lock(&m->lock);
	while (index <= last &&
	       (e = dax_index_find(a, m, &index, last, DAX_MARK_BIT(DAX_DIRTY))) != 0) {
		dax_index_set_mark(a, m, index, DAX_TOWRITE);
		if (index + entry_nr(e) < index)
			break;
		index += entry_nr(e);
	}
	dax_mutex_unlock(&m->lock);
}

dax_entry_t dax_find_marked(struct dax_arena *a, struct dax_mapping *m, uint64_t *index,
			    uint64_t last, enum dax_mark mark)
{
	dax_entry_t e;

	dax_mutex_lock(&m->lock);
	e = dax_index_find(a, m, index, last, DAX_MARK_BIT(mark));
	dax_mutex_unlock(&m->lock);
	return e;
}

uint64_t dax_mapping_nrpages(struct dax_mapping *m)
{
	return atomic_load_explicit(&m->nrpages, memory_order_relaxed);
}
