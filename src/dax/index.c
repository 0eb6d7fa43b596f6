// SPDX-License-Identifier: MIT
#include "dax/index.h"

/* A slot word that refers to a child node (entries have DAX_VALUE instead). */
#define NODE_REF  (1ull << 5)
#define LEVELS	  8
#define PMD_LEVEL 2

static const uint8_t level_shift[LEVELS] = {0, 6, 9, 15, 21, 27, 33, 39};
static const uint8_t level_bits[LEVELS] = {6, 3, 6, 6, 6, 6, 6, 6};

_Static_assert(DAX_PRELOAD_MAX >= 2 * LEVELS - 2, "the most nodes one insertion needs");
_Static_assert(sizeof(struct dax_mapping) <= DAX_NODE_SIZE, "a mapping is a node");

/*
 * Each slot word also carries the marks: on an entry its own DIRTY/TOWRITE, on
 * a node reference (and the root) the union of the marks below it, so that a
 * marked search skips unmarked subtrees (the xarray's per-node mark bitmaps).
 */

/* struct path - the slot words from the root down to where a walk stopped. */
struct path {
	int top;
	_Atomic uint64_t *word[LEVELS + 1];
};

static uint64_t load(_Atomic uint64_t *w)
{
	return atomic_load_explicit(w, memory_order_relaxed);
}

static void store(_Atomic uint64_t *w, uint64_t v)
{
	atomic_store_explicit(w, v, memory_order_relaxed);
}

static int top_level(struct dax_mapping *m)
{
	return (int)atomic_load_explicit(&m->top, memory_order_relaxed);
}

static void set_top_level(struct dax_mapping *m, int top)
{
	atomic_store_explicit(&m->top, (uint32_t)top, memory_order_relaxed);
}

/* Index bits resolved by a node at @level and the levels below it. */
static unsigned int span_shift(int level)
{
	return level_shift[level] + level_bits[level];
}

static unsigned int slot_no(int level, uint64_t index)
{
	return (index >> level_shift[level]) & ((1u << level_bits[level]) - 1);
}

static int target_level(unsigned int order)
{
	return order ? PMD_LEVEL : 0;
}

/* The lowest level >= @min whose node covers @index from index 0. */
static int covering_level(uint64_t index, int min)
{
	while (index >> span_shift(min))
		min++;
	return min;
}

static uint64_t node_ref(uint32_t nr)
{
	return NODE_REF | (uint64_t)nr << DAX_PFN_SHIFT;
}

static struct dax_node *ref_node(struct dax_arena *a, uint64_t ref)
{
	return dax_node(a, (uint32_t)(ref >> DAX_PFN_SHIFT));
}

static void count_nodes(struct dax_mapping *m, int64_t delta)
{
	atomic_fetch_add_explicit(&m->nr_nodes, (uint64_t)delta, memory_order_relaxed);
}

/*
 * Descends towards @index and returns the level whose word p->word[level]
 * stopped the walk: an entry, an empty slot, or (level p->top + 1) the root
 * when the tree is empty or does not reach @index.
 */
static int walk(struct dax_arena *a, struct dax_mapping *m, uint64_t index, struct path *p)
{
	int level = top_level(m);
	uint64_t w = load(&m->root);

	p->top = level;
	p->word[level + 1] = &m->root;
	if (!w || index >> span_shift(level))
		return level + 1;
	for (;; level--) {
		p->word[level] = &ref_node(a, w)->slot[slot_no(level, index)];
		w = load(p->word[level]);
		if (!(w & NODE_REF))
			return level;
	}
}

/* The stored word of the entry where a walk stopped, or NULL. */
static _Atomic uint64_t *walk_entry(struct dax_arena *a, struct dax_mapping *m, uint64_t index,
				    struct path *p, int *level)
{
	*level = walk(a, m, index, p);
	if (*level > p->top || !(load(p->word[*level]) & DAX_VALUE))
		return NULL;
	return p->word[*level];
}

_Atomic uint64_t *dax_index_slot(struct dax_arena *a, struct dax_mapping *m, uint64_t index)
{
	struct path p;
	int level;

	return walk_entry(a, m, index, &p, &level);
}

dax_entry_t dax_index_lookup(struct dax_arena *a, struct dax_mapping *m, uint64_t index,
			     unsigned int order)
{
	uint64_t start = index & ~DAX_PMD_COLOUR;
	struct path p;
	int level;

	if (order == 0) {
		_Atomic uint64_t *slot = dax_index_slot(a, m, index);

		return slot ? load(slot) & ~DAX_MARKS : 0;
	}
	level = walk(a, m, start, &p);
	if (level > p.top)
		return 0;
	if (level >= PMD_LEVEL)
		return load(p.word[level]) & ~DAX_MARKS;
	return dax_index_find(a, m, &start, start + DAX_PMD_COLOUR, 0);
}

uint32_t dax_index_nodes_needed(struct dax_arena *a, struct dax_mapping *m, uint64_t index,
				unsigned int order)
{
	int target = target_level(order), level, cover;
	struct path p;

	level = walk(a, m, index, &p);
	if (!load(&m->root))
		return (uint32_t)(covering_level(index, target) - target + 1);
	if (level <= p.top)
		return level > target ? (uint32_t)(level - target) : 0;
	/* Out of reach: new levels on top, then a full path below the new top. */
	cover = covering_level(index, p.top);
	return (uint32_t)((cover - p.top) + (cover - target));
}

/* Adds levels above the top node until the tree reaches @index. */
static void grow(struct dax_arena *a, struct dax_mapping *m, uint64_t index, struct dax_preload *pl)
{
	int top = top_level(m);

	while (index >> span_shift(top)) {
		uint32_t nr = dax_preload_take(pl);
		uint64_t root = load(&m->root);

		store(&dax_node(a, nr)->slot[0], root);
		store(&m->root, node_ref(nr) | (root & DAX_MARKS));
		set_top_level(m, ++top);
		count_nodes(m, 1);
	}
}

void dax_index_insert(struct dax_arena *a, struct dax_mapping *m, uint64_t index,
		      unsigned int order, dax_entry_t entry, struct dax_preload *pl)
{
	int target = target_level(order), level;
	struct path p;

	if (!load(&m->root))
		set_top_level(m, covering_level(index, target));
	else
		grow(a, m, index, pl);
	for (level = walk(a, m, index, &p); level > target; level--) {
		uint32_t nr = dax_preload_take(pl);

		store(p.word[level], node_ref(nr));
		p.word[level - 1] = &dax_node(a, nr)->slot[slot_no(level - 1, index)];
		count_nodes(m, 1);
	}
	store(p.word[target], entry);
}

/*
 * After the word p->word[level] lost its entry or a mark: frees the nodes left
 * empty and recomputes the mark summaries of the words above.
 */
static void refresh_path(struct dax_arena *a, struct dax_mapping *m, struct path *p, int level)
{
	for (; level <= p->top; level++) {
		_Atomic uint64_t *parent = p->word[level + 1];
		uint64_t ref = load(parent), any = 0;
		struct dax_node *n = ref_node(a, ref);

		for (int i = 0; i < DAX_NODE_SLOTS; i++)
			any |= load(&n->slot[i]);
		if (any) {
			store(parent, (ref & ~DAX_MARKS) | (any & DAX_MARKS));
			continue;
		}
		store(parent, 0);
		dax_node_free(a, (uint32_t)(ref >> DAX_PFN_SHIFT));
		count_nodes(m, -1);
	}
	if (!load(&m->root))
		set_top_level(m, 0);
}

void dax_index_erase(struct dax_arena *a, struct dax_mapping *m, uint64_t index)
{
	struct path p;
	int level;
	_Atomic uint64_t *slot = walk_entry(a, m, index, &p, &level);

	if (!slot)
		return;
	store(slot, 0);
	refresh_path(a, m, &p, level);
}

static dax_entry_t find_in(struct dax_arena *a, uint64_t ref, int level, uint64_t *index,
			   uint64_t last, uint64_t marks)
{
	struct dax_node *n = ref_node(a, ref);
	uint64_t base = *index >> span_shift(level) << span_shift(level);

	for (unsigned int s = slot_no(level, *index); s < 1u << level_bits[level]; s++) {
		uint64_t start = base + ((uint64_t)s << level_shift[level]);
		uint64_t w = load(&n->slot[s]), sub;
		dax_entry_t e;

		if (start > last)
			break;
		if (!w || (w & marks) != marks)
			continue;
		if (w & DAX_VALUE) {
			*index = start;
			return w & ~DAX_MARKS;
		}
		sub = start > *index ? start : *index;
		e = find_in(a, w, level - 1, &sub, last, marks);
		if (e) {
			*index = sub;
			return e;
		}
	}
	return 0;
}

dax_entry_t dax_index_find(struct dax_arena *a, struct dax_mapping *m, uint64_t *index,
			   uint64_t last, uint64_t marks)
{
	uint64_t root = load(&m->root);
	int top = top_level(m);

	if (!root || *index > last || *index >> span_shift(top) || (root & marks) != marks)
		return 0;
	return find_in(a, root, top, index, last, marks);
}

bool dax_index_get_mark(struct dax_arena *a, struct dax_mapping *m, uint64_t index,
			enum dax_mark mark)
{
	_Atomic uint64_t *slot = dax_index_slot(a, m, index);

	return slot && (load(slot) & DAX_MARK_BIT(mark));
}

void dax_index_set_mark(struct dax_arena *a, struct dax_mapping *m, uint64_t index,
			enum dax_mark mark)
{
	struct path p;
	int level;

	if (!walk_entry(a, m, index, &p, &level))
		return;
	for (; level <= p.top + 1; level++)
		atomic_fetch_or_explicit(p.word[level], DAX_MARK_BIT(mark), memory_order_relaxed);
}

void dax_index_clear_mark(struct dax_arena *a, struct dax_mapping *m, uint64_t index,
			  enum dax_mark mark)
{
	struct path p;
	int level;
	_Atomic uint64_t *slot = walk_entry(a, m, index, &p, &level);

	if (slot && (atomic_fetch_and_explicit(slot, ~DAX_MARK_BIT(mark), memory_order_relaxed) &
		     DAX_MARK_BIT(mark)))
		refresh_path(a, m, &p, level);
}
