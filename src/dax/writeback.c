// SPDX-License-Identifier: MIT
/* Writeback of dirty entries: see writeback.h for the protocol. */
#include "dax/entry_lock.h"
#include "dax/fault.h"
#include "dax/writeback.h"

/*
 * dax_writeback_one for the entry covering @index: returns the first index
 * after it (after @index if the entry went away meanwhile).
 */
static uint64_t writeback_one(struct dax_arena *a, struct dax_mapping *m, const struct pmem *pm,
			      const char *base, uint64_t index, const struct dax_writeback_ops *ops,
			      struct dax_writeback_stats *st)
{
	uint64_t start, nr;
	dax_entry_t e;

	if (dax_lock_entry_at(a, m, index, &e))
		return index + 1;
	start = dax_entry_start(index, e);
	nr = 1ull << dax_entry_order(e);
	/* Someone wrote it back while we waited for the lock: it is clean and durable. */
	if (dax_test_mark(a, m, start, DAX_TOWRITE)) {
		if (!dax_is_zero_entry(e) && !dax_is_empty_entry(e)) {
			ops->wrprotect(ops->arg, m, start, nr);
			pmem_flush(pm, base + (dax_to_pfn(e) << DAX_PAGE_SHIFT),
				   nr << DAX_PAGE_SHIFT);
			pmem_drain(pm);
			if (st) {
				st->entries++;
				st->bytes += nr << DAX_PAGE_SHIFT;
			}
		}
		dax_clear_mark(a, m, start, DAX_DIRTY);
		dax_clear_mark(a, m, start, DAX_TOWRITE);
	}
	dax_unlock_entry(a, m, start, e);
	return start + nr;
}

void dax_writeback_range(struct dax_arena *a, struct dax_mapping *m, const struct pmem *pm,
			 const char *base, uint64_t first, uint64_t last,
			 const struct dax_writeback_ops *ops, struct dax_writeback_stats *st)
{
	uint64_t index = first;

	dax_tag_towrite(a, m, first, last);
	while (index <= last && dax_find_marked(a, m, &index, last, DAX_TOWRITE))
		index = writeback_one(a, m, pm, base, index, ops, st);
}
