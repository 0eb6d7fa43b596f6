/* SPDX-License-Identifier: MIT */
/*
 * Breaking layouts against mappings and pins (fs/dax.c's
 * dax_break_layout, dax_layout_busy_page_range; the filesystems'
 * invalidate lock; inventory sections 5 and 9).
 *
 * A change that frees or moves the blocks of a file range (truncate down,
 * hole punch, zero, collapse, insert, the eviction of an unlinked file)
 * calls dax_break_layout, which loops:
 *   1. dax_invalidate_lock: new faults on the file wait (every fault holds
 *      the lock shared for its whole duration, src/dax/fault.c);
 *   2. the range is unmapped from every mapping (their page references go);
 *   3. if a media page of the range still has references (pins: DMA,
 *      io_uring buffers, long copies), the lock is dropped, the page waited
 *      for (bounded by a timeout, cancellable) and the loop starts again: a
 *      pinning thread may need a fault to finish pinning, as in
 *      xfs_break_dax_layouts;
 *   4. otherwise the index entries of the range are deleted and it returns
 *      with the lock held: the caller changes the layout, then calls
 *      dax_invalidate_unlock.
 * New pins of the file wait while a change is in progress (the pin gate),
 * so that a stream of short pins cannot starve it; pins already under way
 * finish (they may need faults, which run between rounds).
 * On failure (-ETIMEDOUT, -EINTR, iomap errors) the lock is not held and
 * nothing changed. After the unlock, no mapping shows and no pin holds the
 * freed blocks: an old mapping refaults and gets SIGBUS beyond EOF, zeros
 * or the new data.
 *
 * The lock is a futex word in the arena: readers count in the low bits; a
 * writer sets the top bit (new readers then wait) and waits for the count to
 * drain. Readers may be SIGSEGV handlers: a handler never finds its own
 * thread holding the lock, because no thread touches a udax mapping between
 * steps 1 and 4.
 */
#ifndef UDAX_DAX_LAYOUT_H
#define UDAX_DAX_LAYOUT_H

#include <stdatomic.h>
#include <stdint.h>

#include "dax/fault.h"

void dax_invalidate_lock_shared(struct dax_mapping *m);
void dax_invalidate_unlock_shared(struct dax_mapping *m);
void dax_invalidate_lock(struct dax_mapping *m);
void dax_invalidate_unlock(struct dax_mapping *m);

/* How long dax_break_layout waits for busy pages (see pmem_pages_wait_idle). */
struct dax_layout_wait {
	int timeout_ms; /* < 0: no limit */
	const _Atomic uint32_t *cancel;
	uint32_t cancel_seen;
};

/* Unmaps file pages [index, +nr) of @m from every mapping (vm_unmap_mapping_range). */
typedef void (*dax_unmap_fn)(struct dax_mapping *m, uint64_t index, uint64_t nr);

/* The protocol above for file pages [first, last] of @f. 0: the lock is held. */
int dax_break_layout(const struct dax_fault_file *f, uint64_t first, uint64_t last,
		     dax_unmap_fn unmap, const struct dax_layout_wait *w);

/*
 * A new pin waits here while a layout change of @m is in progress, so that
 * pins taken one after another cannot starve it. Only a pinner that holds
 * no page reference yet may wait (the change may be waiting for those).
 */
void dax_layout_pin_gate(struct dax_mapping *m);

#endif
