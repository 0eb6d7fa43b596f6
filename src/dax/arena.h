/* SPDX-License-Identifier: MIT */
/*
 * The DAX runtime arena: one contiguous region, provided by the caller, that
 * holds every mapping index, every entry lock wait queue and the node pool they
 * allocate from. Inside the arena everything refers to everything else by
 * 32-bit node or waiter numbers, never by pointers, so the region may be
 * mapped at different addresses by several processes (MAP_SHARED) and all of
 * them see one index. Nothing in the arena code calls malloc, stdio or pthread
 * locks: it may run in a SIGSEGV handler.
 *
 * Layout: [struct dax_arena | waiter records | nodes...]. Nodes are 512 bytes;
 * index nodes, and the mapping objects themselves, are nodes.
 */
#ifndef UDAX_DAX_ARENA_H
#define UDAX_DAX_ARENA_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "dax/futex.h"

#define DAX_NODE_SLOTS	    64
#define DAX_NODE_SIZE	    (DAX_NODE_SLOTS * 8)
#define DAX_WAIT_TABLE_BITS 12
#define DAX_WAIT_TABLE_SIZE (1u << DAX_WAIT_TABLE_BITS)
/*
 * Most nodes one insertion can need (see index.c): growing a tree from one
 * level to all 8 adds 7 levels on top, then a path of 7 below the new top.
 */
#define DAX_PRELOAD_MAX 14

struct dax_node {
	_Atomic uint64_t slot[DAX_NODE_SLOTS];
};

/* One sleeping thread (the kernel's wait_exceptional_entry_queue). */
struct dax_waiter {
	_Atomic uint32_t woken; /* futex word: 0 asleep, 1 woken */
	uint32_t mapping;	/* key: mapping number */
	uint64_t start;		/* key: first index of the entry waited on */
	_Atomic uint64_t next;	/* bucket list or free list link, waiter number + 1 */
};

/* One wait table slot (the kernel's wait_table[] wait_queue_head_t). */
struct dax_bucket {
	struct dax_mutex lock;
	_Atomic uint32_t nr_waiters; /* read without the lock: waitqueue_active() */
	uint32_t head, tail;	     /* FIFO of waiters, waiter number + 1 */
};

/* The per-file index root (struct address_space's i_pages + nrpages); a node. */
struct dax_mapping {
	struct dax_mutex lock;	      /* xa_lock: guards the tree and every entry in it */
	_Atomic uint32_t top;	      /* level of the top node */
	_Atomic uint64_t root;	      /* node reference of the top node, 0 when empty */
	_Atomic uint64_t nrpages;     /* indices covered by entries */
	_Atomic uint64_t nr_nodes;    /* index nodes in use (memory accounting) */
	_Atomic uint32_t invalidate;  /* invalidate lock: readers, | writer bit (layout.h) */
	struct dax_mutex inv_writers; /* serialises writers of the invalidate lock */
	_Atomic uint32_t breakers;    /* layout changes in progress (new pins wait) */
};

struct dax_arena {
	uint64_t magic;
	uint64_t size;
	uint32_t nr_nodes, nr_waiters;
	uint64_t nodes_off, waiters_off;
	_Atomic uint64_t node_free;   /* free list head: tag << 32 | node number + 1 */
	_Atomic uint64_t waiter_free; /* same for waiter records */
	_Atomic uint32_t nodes_in_use;
	_Atomic uint32_t nodes_fresh; /* nodes from here on were never used (node_alloc) */
	struct dax_bucket wait_table[DAX_WAIT_TABLE_SIZE];
};

/*
 * struct dax_preload - nodes taken from the pool before the mapping lock, so
 * that an insertion under the lock never fails half way (radix_tree_preload).
 * Lives on the caller's stack.
 */
struct dax_preload {
	uint32_t nr;
	uint32_t node[DAX_PRELOAD_MAX];
};

/* Bytes an arena with @nr_nodes nodes and @nr_waiters waiter records needs. */
size_t dax_arena_size(uint32_t nr_nodes, uint32_t nr_waiters);
/* Lays out a new arena over [mem, mem + size); every byte not needed by the
 * header and waiters becomes nodes. Only the header is written: each node is
 * zeroed when it is first allocated, so untouched memory stays untouched.
 * -EINVAL if too small or misaligned. */
int dax_arena_format(void *mem, size_t size, uint32_t nr_waiters, struct dax_arena **out);
/* Checks an arena formatted by another process (or earlier) and returns it. */
int dax_arena_attach(void *mem, size_t size, struct dax_arena **out);
/* Nodes currently allocated (index nodes, mapping objects, preloads). */
uint32_t dax_arena_nodes_in_use(const struct dax_arena *a);

/* Tops @pl up to @nr nodes; -ENOMEM (or -EINVAL above DAX_PRELOAD_MAX) leaves @pl as it was. */
int dax_preload(struct dax_arena *a, struct dax_preload *pl, uint32_t nr);
/* Returns the nodes left in @pl to the pool. */
void dax_preload_release(struct dax_arena *a, struct dax_preload *pl);
/* Takes one node out of @pl (it must hold one); the node is all zero. */
uint32_t dax_preload_take(struct dax_preload *pl);
/* Returns one all-zero node to the pool. */
void dax_node_free(struct dax_arena *a, uint32_t nr);

static inline struct dax_node *dax_node(struct dax_arena *a, uint32_t nr)
{
	return (struct dax_node *)((char *)a + a->nodes_off + (uint64_t)nr * DAX_NODE_SIZE);
}

/* A new empty mapping index, or NULL when the arena is full. */
struct dax_mapping *dax_mapping_create(struct dax_arena *a);
/* Frees an index that no longer holds entries (dax_delete_range() first). */
void dax_mapping_destroy(struct dax_arena *a, struct dax_mapping *m);
/* The mapping's number: its identity in wait keys, valid in every process. */
uint32_t dax_mapping_nr(struct dax_arena *a, const struct dax_mapping *m);
struct dax_mapping *dax_mapping_at(struct dax_arena *a, uint32_t nr);

/* Waiter records (waitq.c): -EAGAIN when all are in use. */
int dax_waiter_alloc(struct dax_arena *a, uint32_t *nr);
void dax_waiter_free(struct dax_arena *a, uint32_t nr);

static inline struct dax_waiter *dax_waiter(struct dax_arena *a, uint32_t nr)
{
	return (struct dax_waiter *)((char *)a + a->waiters_off) + nr;
}

#endif
