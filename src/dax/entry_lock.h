/* SPDX-License-Identifier: MIT */
/*
 * Entry locking over the mapping index: fs/dax.c's grab_mapping_entry(),
 * dax_lock_entry()/dax_unlock_entry(), __dax_invalidate_entry(),
 * dax_delete_mapping_range() and the layout-breaking scan, with its marks.
 *
 * Rules (each function below follows them; docs/dax-index.md has the why):
 *  - An entry is locked by setting DAX_LOCKED in its stored word, under the
 *    mapping lock. Returned entries are always the unlocked value.
 *  - A thread that finds an entry locked queues itself for the key (mapping,
 *    entry's first index) while still holding the mapping lock, drops it,
 *    sleeps, and looks the index up again when woken.
 *  - Unlocking wakes one waiter (DAX_WAKE_NEXT); deleting, replacing or
 *    downgrading wakes all (DAX_WAKE_ALL). A thread woken that takes no lock
 *    passes its wake on when the entry is still there.
 *  - A PMD request never waits on PTE entries: it returns DAX_FALLBACK.
 * None of these functions allocates memory or uses stdio; all may run in a
 * SIGSEGV handler.
 */
#ifndef UDAX_DAX_ENTRY_LOCK_H
#define UDAX_DAX_ENTRY_LOCK_H

#include "dax/arena.h"
#include "dax/entry.h"

/* dax_grab_entry() result when a PMD entry is impossible here (VM_FAULT_FALLBACK). */
#define DAX_FALLBACK 1

/*
 * Called (mapping lock dropped, the zero PMD entry locked) to unmap every user
 * mapping of [index, index + nr) before a zero PMD entry is downgraded, as
 * unmap_mapping_pages() in grab_mapping_entry().
 */
struct dax_unmap_hook {
	void (*unmap)(void *arg, uint64_t index, uint64_t nr);
	void *arg;
};

/*
 * grab_mapping_entry: returns 0 with *entryp the entry now locked for us at
 * @index (a PMD entry may answer a PTE request; an empty entry of @order is
 * inserted if there was none), DAX_FALLBACK for a PMD request over PTE entries,
 * -ENOMEM, or -EINVAL for an index not below DAX_INDEX_LIMIT. @unmap may be NULL.
 */
int dax_grab_entry(struct dax_arena *a, struct dax_mapping *m, uint64_t index, unsigned int order,
		   const struct dax_unmap_hook *unmap, dax_entry_t *entryp);
/* dax_lock_entry on an existing entry (waits for it): 0, or -ENOENT if none. */
int dax_lock_entry_at(struct dax_arena *a, struct dax_mapping *m, uint64_t index,
		      dax_entry_t *entryp);
/* dax_unlock_entry: unlocks the entry @entry we hold at @index, waking one waiter. */
void dax_unlock_entry(struct dax_arena *a, struct dax_mapping *m, uint64_t index,
		      dax_entry_t entry);
/*
 * The locked entry @old at @index becomes @new (same order), keeping its marks:
 * dax_insert_entry() filling an empty or zero entry. If @keep_locked is false
 * the new entry is stored unlocked and every waiter is woken (it changed
 * identity: waiters must look again, not inherit the lock one by one).
 */
void dax_replace_entry(struct dax_arena *a, struct dax_mapping *m, uint64_t index, dax_entry_t old,
		       dax_entry_t new, bool keep_locked);
/*
 * __dax_invalidate_entry: waits for the entry at @index, removes it (unless
 * @only_clean and it is DIRTY or TOWRITE) and wakes all. Returns 1 if removed.
 */
int dax_delete_entry(struct dax_arena *a, struct dax_mapping *m, uint64_t index, bool only_clean);

/* Scan callback: runs under the mapping lock on an unlocked entry; must not sleep. */
enum dax_scan_action {
	DAX_SCAN_KEEP,
	DAX_SCAN_DELETE,
	DAX_SCAN_STOP,
};
typedef enum dax_scan_action (*dax_scan_fn)(void *arg, uint64_t index, dax_entry_t entry);

/*
 * The layout-breaking scan (dax_layout_busy_page_range, dax_delete_mapping_range):
 * visits every entry in [first, last] once; a locked entry is waited for
 * exclusively and then examined again at the same index, never skipped.
 * Deleted entries wake all waiters, kept ones pass the wake on.
 */
void dax_scan_range(struct dax_arena *a, struct dax_mapping *m, uint64_t first, uint64_t last,
		    dax_scan_fn fn, void *arg);
/* dax_delete_mapping_range: removes every entry in [first, last]. */
void dax_delete_range(struct dax_arena *a, struct dax_mapping *m, uint64_t first, uint64_t last);

/* Marks (take the mapping lock themselves). */
bool dax_test_mark(struct dax_arena *a, struct dax_mapping *m, uint64_t index, enum dax_mark mark);
void dax_set_mark(struct dax_arena *a, struct dax_mapping *m, uint64_t index, enum dax_mark mark);
void dax_clear_mark(struct dax_arena *a, struct dax_mapping *m, uint64_t index, enum dax_mark mark);
/* tag_pages_for_writeback: TOWRITE on every DIRTY entry in [first, last]. */
void dax_tag_towrite(struct dax_arena *a, struct dax_mapping *m, uint64_t first, uint64_t last);
/* Next entry in [*index, last] carrying @mark: its first index in *index, or 0. */
dax_entry_t dax_find_marked(struct dax_arena *a, struct dax_mapping *m, uint64_t *index,
			    uint64_t last, enum dax_mark mark);

/* Indices covered by entries (mapping->nrpages). */
uint64_t dax_mapping_nrpages(struct dax_mapping *m);

#endif
