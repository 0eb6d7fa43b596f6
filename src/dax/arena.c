// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "dax/arena.h"

#define DAX_ARENA_MAGIC 0x7564617864617831ull /* "udaxdax1" */

/*
 * Free lists are lock-free stacks (no lock a signal could interrupt): the head
 * word is tag << 32 | (number + 1), the tag defeating ABA; the link lives in the
 * free object (a node's slot 0, a waiter's next).
 */
typedef _Atomic uint64_t *(*link_fn)(struct dax_arena *a, uint32_t nr);

static _Atomic uint64_t *node_link(struct dax_arena *a, uint32_t nr)
{
	return &dax_node(a, nr)->slot[0];
}

static _Atomic uint64_t *waiter_link(struct dax_arena *a, uint32_t nr)
{
	return &dax_waiter(a, nr)->next;
}

static void stack_push(struct dax_arena *a, _Atomic uint64_t *head, link_fn link, uint32_t nr)
{
	uint64_t old = atomic_load_explicit(head, memory_order_relaxed), new;

	do {
		atomic_store_explicit(link(a, nr), (uint32_t)old, memory_order_relaxed);
		new = ((old >> 32) + 1) << 32 | (nr + 1);
	} while (!atomic_compare_exchange_weak_explicit(head, &old, new, memory_order_release,
							memory_order_relaxed));
}

static int stack_pop(struct dax_arena *a, _Atomic uint64_t *head, link_fn link, uint32_t *nr)
{
	uint64_t old = atomic_load_explicit(head, memory_order_acquire), new;

	do {
		if ((uint32_t)old == 0)
			return -ENOMEM;
		*nr = (uint32_t)old - 1;
		new = ((old >> 32) + 1) << 32 |
		      (uint32_t)atomic_load_explicit(link(a, *nr), memory_order_relaxed);
	} while (!atomic_compare_exchange_weak_explicit(head, &old, new, memory_order_acquire,
							memory_order_acquire));
	atomic_store_explicit(link(a, *nr), 0, memory_order_relaxed);
	return 0;
}

static size_t header_size(uint32_t nr_waiters)
{
	size_t bytes = sizeof(struct dax_arena) + (size_t)nr_waiters * sizeof(struct dax_waiter);

	return (bytes + DAX_NODE_SIZE - 1) & ~(size_t)(DAX_NODE_SIZE - 1);
}

size_t dax_arena_size(uint32_t nr_nodes, uint32_t nr_waiters)
{
	return header_size(nr_waiters) + (size_t)nr_nodes * DAX_NODE_SIZE;
}

int dax_arena_format(void *mem, size_t size, uint32_t nr_waiters, struct dax_arena **out)
{
	struct dax_arena *a = mem;
	size_t hdr = header_size(nr_waiters);
	uint64_t nodes;

	if ((uintptr_t)mem % 64 || size < hdr + DAX_NODE_SIZE || nr_waiters == 0)
		return -EINVAL;
	nodes = (size - hdr) / DAX_NODE_SIZE;
	if (nodes > UINT32_MAX - 1)
		nodes = UINT32_MAX - 1;
	memset(mem, 0, hdr); /* nodes are zeroed as node_alloc first hands them out */
	a->size = size;
	a->nr_nodes = (uint32_t)nodes;
	a->nr_waiters = nr_waiters;
	a->waiters_off = sizeof(*a);
	a->nodes_off = hdr;
	for (uint32_t i = a->nr_waiters; i-- > 0;)
		stack_push(a, &a->waiter_free, waiter_link, i);
	atomic_thread_fence(memory_order_release);
	a->magic = DAX_ARENA_MAGIC;
	*out = a;
	return 0;
}

int dax_arena_attach(void *mem, size_t size, struct dax_arena **out)
{
	struct dax_arena *a = mem;

	if ((uintptr_t)mem % 64 || size < sizeof(*a) || a->magic != DAX_ARENA_MAGIC ||
	    a->size != size)
		return -EINVAL;
	*out = a;
	return 0;
}

uint32_t dax_arena_nodes_in_use(const struct dax_arena *a)
{
	return atomic_load_explicit(&a->nodes_in_use, memory_order_relaxed);
}

/*
 * A node freed before, or else the next one never used. The free list holds
 * only nodes that were used: formatting touches the header alone, and the
 * arena's memory (64 MiB reserved by the file API) is touched as the index
 * grows, not at the first mapping of every process. A node handed out is all
 * zero: a freed one was emptied before dax_node_free (slot 0, its link, is
 * cleared by stack_pop), a fresh one is cleared here.
 */
static int node_alloc(struct dax_arena *a, uint32_t *nr)
{
	uint32_t fresh;

	if (stack_pop(a, &a->node_free, node_link, nr)) {
		fresh = atomic_load_explicit(&a->nodes_fresh, memory_order_relaxed);
		do {
			if (fresh >= a->nr_nodes)
				return -ENOMEM;
		} while (!atomic_compare_exchange_weak_explicit(&a->nodes_fresh, &fresh, fresh + 1,
								memory_order_relaxed,
								memory_order_relaxed));
		*nr = fresh;
		memset(dax_node(a, fresh), 0, DAX_NODE_SIZE);
	}
	atomic_fetch_add_explicit(&a->nodes_in_use, 1, memory_order_relaxed);
	return 0;
}

void dax_node_free(struct dax_arena *a, uint32_t nr)
{
	atomic_fetch_sub_explicit(&a->nodes_in_use, 1, memory_order_relaxed);
	stack_push(a, &a->node_free, node_link, nr);
}

int dax_preload(struct dax_arena *a, struct dax_preload *pl, uint32_t nr)
{
	uint32_t had = pl->nr;

	if (nr > DAX_PRELOAD_MAX)
		return -EINVAL;
	while (pl->nr < nr) {
		if (node_alloc(a, &pl->node[pl->nr])) {
			while (pl->nr > had)
				dax_node_free(a, pl->node[--pl->nr]);
			return -ENOMEM;
		}
		pl->nr++;
	}
	return 0;
}

void dax_preload_release(struct dax_arena *a, struct dax_preload *pl)
{
	while (pl->nr)
		dax_node_free(a, pl->node[--pl->nr]);
}

uint32_t dax_preload_take(struct dax_preload *pl)
{
	return pl->node[--pl->nr];
}

struct dax_mapping *dax_mapping_create(struct dax_arena *a)
{
	uint32_t nr;

	if (node_alloc(a, &nr))
		return NULL;
	return (struct dax_mapping *)dax_node(a, nr);
}

uint32_t dax_mapping_nr(struct dax_arena *a, const struct dax_mapping *m)
{
	return (uint32_t)(((const char *)m - (const char *)a - a->nodes_off) / DAX_NODE_SIZE);
}

struct dax_mapping *dax_mapping_at(struct dax_arena *a, uint32_t nr)
{
	return (struct dax_mapping *)dax_node(a, nr);
}

void dax_mapping_destroy(struct dax_arena *a, struct dax_mapping *m)
{
	memset(m, 0, sizeof(*m));
	dax_node_free(a, dax_mapping_nr(a, m));
}

int dax_waiter_alloc(struct dax_arena *a, uint32_t *nr)
{
	return stack_pop(a, &a->waiter_free, waiter_link, nr) ? -EAGAIN : 0;
}

void dax_waiter_free(struct dax_arena *a, uint32_t nr)
{
	stack_push(a, &a->waiter_free, waiter_link, nr);
}
