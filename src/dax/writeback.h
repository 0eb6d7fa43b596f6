/* SPDX-License-Identifier: MIT */
/*
 * Writeback of stores made through mappings (fs/dax.c's
 * dax_writeback_mapping_range and dax_writeback_one).
 *
 * Write faults mark entries DAX_DIRTY (src/dax/fault.c). Writeback tags the
 * dirty entries of a range DAX_TOWRITE, then for each one, with the entry
 * locked: has every mapping write-protect it (so the next store faults and
 * marks it dirty again), flushes its media (a whole 2 MiB for a PMD entry),
 * fences, and clears both marks. Two writebacks of one range neither skip
 * nor repeat an entry: one finding an entry tagged waits for its lock; the
 * holder clears the marks only after the fence, so the waiter then finds it
 * clean and durable. Nothing runs in the background.
 */
#ifndef UDAX_DAX_WRITEBACK_H
#define UDAX_DAX_WRITEBACK_H

#include <stdint.h>

#include "dax/arena.h"
#include "pmem/pmem.h"

struct dax_writeback_ops {
	/* dax_entry_mkclean: no mapping lets file pages [index, +nr) be stored to without a fault. */
	void (*wrprotect)(void *arg, struct dax_mapping *m, uint64_t index, uint64_t nr);
	void *arg;
};

struct dax_writeback_stats {
	uint64_t entries; /* entries written back */
	uint64_t bytes;	  /* bytes flushed */
};

/*
 * dax_writeback_range - write back the dirty entries of file pages [first,
 * last] of @m. @base maps all of @pm (flushes go through it). @st may be NULL;
 * otherwise the counts are added to it. Never fails: flushes cannot.
 */
void dax_writeback_range(struct dax_arena *a, struct dax_mapping *m, const struct pmem *pm,
			 const char *base, uint64_t first, uint64_t last,
			 const struct dax_writeback_ops *ops, struct dax_writeback_stats *st);

#endif
