/* SPDX-License-Identifier: MIT */
/*
 * The mapping index: a radix tree of 512-byte arena nodes mapping a page index
 * to a DAX entry (what the xarray is for fs/dax.c). Shaped like the page tables
 * it shadows: a level-2 slot covers one 2 MiB range and holds either a PMD entry
 * or a reference to the PTE level below it (level 1: 8 slots, level 0: 64 PTE
 * entries). Levels above 2 are added as the file grows.
 *
 *   level:  7    6    5    4    3    2     1    0
 *   shift: 39   33   27   21   15    9     6    0     (index bits below the level)
 *   slots: 64   64   64   64   64   64     8   64
 *
 * Every function here must be called with m->lock held; none sleeps, none
 * allocates: insertions take nodes from a struct dax_preload.
 */
#ifndef UDAX_DAX_INDEX_H
#define UDAX_DAX_INDEX_H

#include "dax/arena.h"
#include "dax/entry.h"

/* Indices must be below this (file offsets below 2^57 bytes). */
#define DAX_INDEX_LIMIT (1ull << 45)

/*
 * The entry a request of @order at @index conflicts with (xas_find_conflict):
 * order 0 - the entry covering @index (PTE or PMD), 0 if none;
 * PMD order - the PMD entry of the range, else its first PTE entry, else 0.
 * Marks are stripped from the returned value.
 */
dax_entry_t dax_index_lookup(struct dax_arena *a, struct dax_mapping *m, uint64_t index,
			     unsigned int order);
/* The stored word of the entry covering @index, or NULL: for in-place changes
 * (lock bit, replacement) that keep the tree's shape and the marks. */
_Atomic uint64_t *dax_index_slot(struct dax_arena *a, struct dax_mapping *m, uint64_t index);
/* Nodes dax_index_insert() needs to place an @order entry at @index. */
uint32_t dax_index_nodes_needed(struct dax_arena *a, struct dax_mapping *m, uint64_t index,
				unsigned int order);
/* Stores @entry (no marks) where no entry covers [index, index + (1 << order)). */
void dax_index_insert(struct dax_arena *a, struct dax_mapping *m, uint64_t index,
		      unsigned int order, dax_entry_t entry, struct dax_preload *pl);
/* Removes the entry covering @index with its marks; frees emptied nodes. */
void dax_index_erase(struct dax_arena *a, struct dax_mapping *m, uint64_t index);
/*
 * The first entry covering an index in [*index, last] that has every mark in
 * @marks (a DAX_MARK_BIT() mask; 0 = any entry); *index is set to its first
 * index (below the start for a PMD entry straddling it). 0 if none.
 */
dax_entry_t dax_index_find(struct dax_arena *a, struct dax_mapping *m, uint64_t *index,
			   uint64_t last, uint64_t marks);
/* Marks of the entry covering @index (xa_get_mark), set and clear. */
bool dax_index_get_mark(struct dax_arena *a, struct dax_mapping *m, uint64_t index,
			enum dax_mark mark);
void dax_index_set_mark(struct dax_arena *a, struct dax_mapping *m, uint64_t index,
			enum dax_mark mark);
void dax_index_clear_mark(struct dax_arena *a, struct dax_mapping *m, uint64_t index,
			  enum dax_mark mark);

#endif
