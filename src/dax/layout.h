/* SPDX-License-Identifier: MIT */
/*
 * Breaking layouts against mappings and pins (fs/dax.c's
 * dax_break_layout, dax_layout_busy_page_range; the filesystems'
 * invalidate lock; inventory sections 5 and 9).
 *
 * A change that frees or moves the blocks of a file range (truncate down,
 * hole punch, zero, collapse, insert, the eviction of an unlinked file)
 * runs, in this order:
 *   1. dax_invalidate_lock: new faults on the file wait (every fault holds
 *      the lock shared for its whole duration, src/dax/fault.c);
 *   2. the caller unmaps the range from every mapping (their page
 *      references go);
 *   3. dax_layout_wait_idle: waits until no media page of the range has a
 *      reference left (pins: DMA, io_uring buffers, long copies), bounded by
 *      a timeout and cancellable; on failure the caller unlocks and changes
 *      nothing;
 *   4. dax_delete_range, the file system's change, dax_invalidate_unlock.
 * After 4, no mapping shows and no pin holds the freed blocks: an old
 * mapping refaults and gets SIGBUS beyond EOF, zeros or the new data.
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

/*
 * Step 3 for file pages [first, last] of @f: the media pages its iomap
 * reports there must have no references. 0, -ETIMEDOUT, -EINTR (see
 * pmem_pages_wait_idle for @timeout_ms and @cancel), or an iomap error.
 */
int dax_layout_wait_idle(const struct dax_fault_file *f, uint64_t first, uint64_t last,
			 int timeout_ms, const _Atomic uint32_t *cancel, uint32_t cancel_seen);

#endif
