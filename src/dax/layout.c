// SPDX-License-Identifier: MIT
/* The invalidate lock and the busy-page wait of layout breaking (layout.h). */
#include <errno.h>
#include <limits.h>
#include <time.h>

#include "dax/entry_lock.h"
#include "dax/futex.h"
#include "dax/index.h"
#include "dax/layout.h"
#include "pmem/pmem.h"

#define INV_WRITER (1u << 31)
/* Longest sleep between two rounds of dax_break_layout. */
#define WAIT_SLICE_MS 20

void dax_invalidate_lock_shared(struct dax_mapping *m)
{
	uint32_t v = atomic_load(&m->invalidate);

	for (;;) {
		if (v & INV_WRITER) {
			dax_futex_wait(&m->invalidate, v);
			v = atomic_load(&m->invalidate);
		} else if (atomic_compare_exchange_weak(&m->invalidate, &v, v + 1)) {
			return;
		}
	}
}

void dax_invalidate_unlock_shared(struct dax_mapping *m)
{
	/* the last reader out lets a waiting writer in */
	if (atomic_fetch_sub(&m->invalidate, 1) == (INV_WRITER | 1))
		dax_futex_wake(&m->invalidate, INT_MAX);
}

void dax_invalidate_lock(struct dax_mapping *m)
{
	uint32_t v;

	dax_mutex_lock(&m->inv_writers);
	v = atomic_fetch_or(&m->invalidate, INV_WRITER) | INV_WRITER;
	while (v != INV_WRITER) {
		dax_futex_wait(&m->invalidate, v);
		v = atomic_load(&m->invalidate);
	}
}

void dax_invalidate_unlock(struct dax_mapping *m)
{
	atomic_fetch_and(&m->invalidate, ~INV_WRITER);
	dax_futex_wake(&m->invalidate, INT_MAX);
	dax_mutex_unlock(&m->inv_writers);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * What is left of @timeout_ms since @start (ns), rounded up so a bounded
 * wait never ends early; never below 0 for a bounded wait.
 */
static int time_left(int timeout_ms, int64_t start)
{
	int64_t left = (int64_t)timeout_ms * 1000000 - (now_ns() - start);

	return timeout_ms < 0 ? -1 : left > 0 ? (int)((left + 999999) / 1000000) : 0;
}

/*
 * The first media page of [first, last] that has references: 1 with it in
 * *pm and *pfn, 0 if every page is idle, or an iomap error.
 */
static int find_busy(const struct dax_fault_file *f, uint64_t first, uint64_t last,
		     struct pmem **pm, uint64_t *pfn)
{
	uint64_t pos = first << DAX_PAGE_SHIFT, end = (last + 1) << DAX_PAGE_SHIFT, len, p;
	uint64_t size = f->i_size(f->host);
	struct iomap map;
	int ret = 0;

	/* No page past EOF can be mapped or pinned (truncate waited for them). */
	end = end < size ? end : size;

	while (pos < end && !ret) {
		ret = f->ops->iomap_begin(f->host, pos, end - pos, IOMAP_REPORT, &map);
		if (ret)
			break;
		len = map.offset + map.length > pos ? map.offset + map.length - pos : 0;
		len = len < end - pos ? len : end - pos;
		for (p = 0; map.type == IOMAP_MAPPED && p < len && !ret; p += DAX_PAGE_SIZE) {
			*pfn = (map.addr + (pos + p - map.offset)) >> DAX_PAGE_SHIFT;
			if (pmem_page_refs(map.pm, *pfn)) {
				*pm = map.pm;
				ret = 1;
			}
		}
		f->ops->iomap_end(f->host, pos, end - pos, 0, IOMAP_REPORT, &map);
		if (!len)
			break; /* the provider reports nothing at pos: nothing more is mapped */
		pos += len;
	}
	return ret;
}

void dax_layout_pin_gate(struct dax_mapping *m)
{
	uint32_t b;

	while ((b = atomic_load(&m->breakers)))
		dax_futex_wait(&m->breakers, b);
}

static int break_layout(const struct dax_fault_file *f, uint64_t first, uint64_t last,
			dax_unmap_fn unmap, const struct dax_layout_wait *w);

int dax_break_layout(const struct dax_fault_file *f, uint64_t first, uint64_t last,
		     dax_unmap_fn unmap, const struct dax_layout_wait *w)
{
	struct dax_mapping *m = f->mapping;
	int ret;

	atomic_fetch_add(&m->breakers, 1);
	ret = break_layout(f, first, last, unmap, w);
	if (atomic_fetch_sub(&m->breakers, 1) == 1)
		dax_futex_wake(&m->breakers, INT_MAX);
	return ret;
}

static int break_layout(const struct dax_fault_file *f, uint64_t first, uint64_t last,
			dax_unmap_fn unmap, const struct dax_layout_wait *w)
{
	struct dax_mapping *m = f->mapping;
	int64_t start = now_ns();
	struct pmem *pm = NULL;
	uint64_t pfn = 0;
	int ret, left;

	if (last >= DAX_INDEX_LIMIT)
		last = DAX_INDEX_LIMIT - 1;
	for (;;) {
		dax_invalidate_lock(m);
		unmap(m, first, last - first + 1);
		ret = find_busy(f, first, last, &pm, &pfn);
		if (!ret) {
			dax_delete_range(f->arena, m, first, last);
			return 0;
		}
		dax_invalidate_unlock(m);
		if (ret < 0)
			return ret;
		/*
		 * Without the lock a fault may map the page again: its reference
		 * is a mapping's, not a pin's, so the wait is a slice, and the
		 * next round unmaps again.
		 */
		left = time_left(w->timeout_ms, start);
		ret = pmem_pages_wait_idle(pm, pfn, 1, left >= 0 && left < WAIT_SLICE_MS ? left
							  : WAIT_SLICE_MS,
					   w->cancel, w->cancel_seen);
		if (ret == -ETIMEDOUT && (left < 0 || left > WAIT_SLICE_MS))
			ret = 0;
		if (ret)
			return ret;
	}
}
