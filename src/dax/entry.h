/* SPDX-License-Identifier: MIT */
/*
 * DAX entries: the values stored in a mapping index (fs/dax.c's xarray value
 * entries). One 64-bit word per entry:
 *
 *   bit 0      DAX_LOCKED   entry lock (only the stored copy ever has it set)
 *   bit 1      DAX_PMD      order 9: one entry for 512 aligned indices (2 MiB)
 *   bit 2      DAX_ZERO     hole mapped to the zero window
 *   bit 3      DAX_EMPTY    lock-only placeholder, block not known yet
 *   bit 4      DAX_VALUE    the word holds an entry (a normal entry may have pfn 0)
 *   bit 5      (index-internal: the word is a node reference)
 *   bits 6-7   marks DIRTY, TOWRITE (kept in the stored word, never in returned values)
 *   bits 8-63  pfn: media page number of a normal entry (0 for empty/zero)
 *
 * docs/dax-index.md compares this with the kernel's encoding.
 */
#ifndef UDAX_DAX_ENTRY_H
#define UDAX_DAX_ENTRY_H

#include <stdbool.h>
#include <stdint.h>

typedef uint64_t dax_entry_t;

#define DAX_LOCKED     (1ull << 0)
#define DAX_PMD	       (1ull << 1)
#define DAX_ZERO       (1ull << 2)
#define DAX_EMPTY      (1ull << 3)
#define DAX_VALUE      (1ull << 4)
#define DAX_MARK_SHIFT 6
#define DAX_PFN_SHIFT  8

#define DAX_PMD_ORDER  9
#define DAX_PMD_NR     (1ull << DAX_PMD_ORDER)
#define DAX_PMD_COLOUR (DAX_PMD_NR - 1)

/* Marks, as PAGECACHE_TAG_DIRTY / PAGECACHE_TAG_TOWRITE. */
enum dax_mark {
	DAX_DIRTY = 0,
	DAX_TOWRITE = 1,
};

#define DAX_MARK_BIT(mark) (1ull << (DAX_MARK_SHIFT + (mark)))
#define DAX_MARKS	   (DAX_MARK_BIT(DAX_DIRTY) | DAX_MARK_BIT(DAX_TOWRITE))

/*
 * Returned by lookups instead of an entry when a PMD-order request finds
 * smaller entries in its range (the kernel's XA_RETRY_ENTRY); never stored.
 */
#define DAX_CONFLICT (~0ull)

static inline dax_entry_t dax_make_entry(uint64_t pfn, uint64_t flags)
{
	return DAX_VALUE | flags | (pfn << DAX_PFN_SHIFT);
}

static inline uint64_t dax_to_pfn(dax_entry_t e)
{
	return e >> DAX_PFN_SHIFT;
}

static inline bool dax_is_locked(dax_entry_t e)
{
	return e & DAX_LOCKED;
}

static inline bool dax_is_pmd_entry(dax_entry_t e)
{
	return e & DAX_PMD;
}

static inline bool dax_is_pte_entry(dax_entry_t e)
{
	return !(e & DAX_PMD);
}

static inline bool dax_is_zero_entry(dax_entry_t e)
{
	return e & DAX_ZERO;
}

static inline bool dax_is_empty_entry(dax_entry_t e)
{
	return e & DAX_EMPTY;
}

static inline unsigned int dax_entry_order(dax_entry_t e)
{
	return dax_is_pmd_entry(e) ? DAX_PMD_ORDER : 0;
}

/* First index covered by the entry @e found at @index. */
static inline uint64_t dax_entry_start(uint64_t index, dax_entry_t e)
{
	return dax_is_pmd_entry(e) ? index & ~DAX_PMD_COLOUR : index;
}

#endif
