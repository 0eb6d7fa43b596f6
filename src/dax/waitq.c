// SPDX-License-Identifier: MIT
#include <errno.h>

#include "dax/waitq.h"

static struct dax_bucket *bucket_of(struct dax_arena *a, struct dax_wait_key key)
{
	uint64_t h = ((uint64_t)key.mapping << 40 ^ key.start >> 9) * 0x9e3779b97f4a7c15ull;

	return &a->wait_table[h >> (64 - DAX_WAIT_TABLE_BITS)];
}

static uint32_t link_of(struct dax_waiter *w)
{
	return (uint32_t)atomic_load_explicit(&w->next, memory_order_relaxed);
}

static void set_link(struct dax_waiter *w, uint32_t link)
{
	atomic_store_explicit(&w->next, link, memory_order_relaxed);
}

int dax_wait_enqueue(struct dax_arena *a, struct dax_wait_key key, uint32_t *waiter)
{
	struct dax_bucket *b = bucket_of(a, key);
	struct dax_waiter *w;

	if (dax_waiter_alloc(a, waiter))
		return -EAGAIN;
	w = dax_waiter(a, *waiter);
	w->mapping = key.mapping;
	w->start = key.start;
	atomic_store_explicit(&w->woken, 0, memory_order_relaxed);
	set_link(w, 0);
	dax_mutex_lock(&b->lock);
	if (b->tail)
		set_link(dax_waiter(a, b->tail - 1), *waiter + 1);
	else
		b->head = *waiter + 1;
	b->tail = *waiter + 1;
	atomic_fetch_add_explicit(&b->nr_waiters, 1, memory_order_relaxed);
	dax_mutex_unlock(&b->lock);
	return 0;
}

void dax_wait_sleep(struct dax_arena *a, uint32_t waiter)
{
	struct dax_waiter *w = dax_waiter(a, waiter);

	while (!atomic_load_explicit(&w->woken, memory_order_acquire))
		dax_futex_wait(&w->woken, 0);
	dax_waiter_free(a, waiter);
}

/* Moves the waiters to wake from the bucket to a private list; returns its head. */
static uint32_t dequeue_matching(struct dax_arena *a, struct dax_bucket *b, struct dax_wait_key key,
				 enum dax_wake_mode mode)
{
	uint32_t prev = 0, cur = b->head, woken = 0, woken_tail = 0;

	while (cur) {
		struct dax_waiter *w = dax_waiter(a, cur - 1);
		uint32_t next = link_of(w);

		if (w->mapping != key.mapping || w->start != key.start) {
			prev = cur;
			cur = next;
			continue;
		}
		if (prev)
			set_link(dax_waiter(a, prev - 1), next);
		else
			b->head = next;
		if (b->tail == cur)
			b->tail = prev;
		atomic_fetch_sub_explicit(&b->nr_waiters, 1, memory_order_relaxed);
		set_link(w, 0);
		if (woken_tail)
			set_link(dax_waiter(a, woken_tail - 1), cur);
		else
			woken = cur;
		woken_tail = cur;
		if (mode == DAX_WAKE_NEXT)
			break;
		cur = next;
	}
	return woken;
}

void dax_wake(struct dax_arena *a, struct dax_wait_key key, enum dax_wake_mode mode)
{
	struct dax_bucket *b = bucket_of(a, key);
	uint32_t cur;

	if (!atomic_load_explicit(&b->nr_waiters, memory_order_relaxed))
		return;
	dax_mutex_lock(&b->lock);
	cur = dequeue_matching(a, b, key, mode);
	dax_mutex_unlock(&b->lock);
	while (cur) {
		struct dax_waiter *w = dax_waiter(a, cur - 1);

		/* Once woken is set the owner may free and reuse the record. */
		cur = link_of(w);
		atomic_store_explicit(&w->woken, 1, memory_order_release);
		dax_futex_wake(&w->woken, 1);
	}
}
