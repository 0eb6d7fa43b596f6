// SPDX-License-Identifier: MIT
/* The invalidate lock and the busy-page wait of layout breaking (layout.h). */
#include <limits.h>
#include <time.h>

#include "dax/futex.h"
#include "dax/index.h"
#include "dax/layout.h"
#include "pmem/pmem.h"

#define INV_WRITER (1u << 31)

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

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What is left of @timeout_ms, counted from @start (never below 0 for a bounded wait). */
static int time_left(int timeout_ms, int64_t start)
{
	int64_t left = timeout_ms - (now_ms() - start);

	return timeout_ms < 0 ? -1 : left > 0 ? (int)left : 0;
}

int dax_layout_wait_idle(const struct dax_fault_file *f, uint64_t first, uint64_t last,
			 int timeout_ms, const _Atomic uint32_t *cancel, uint32_t cancel_seen)
{
	uint64_t pos = first << DAX_PAGE_SHIFT, end, len;
	int64_t start = now_ms();
	struct iomap map;
	int ret = 0;

	if (last >= DAX_INDEX_LIMIT)
		last = DAX_INDEX_LIMIT - 1;
	end = (last + 1) << DAX_PAGE_SHIFT;
	while (pos < end && !ret) {
		ret = f->ops->iomap_begin(f->host, pos, end - pos, IOMAP_REPORT, &map);
		if (ret)
			break;
		len = map.offset + map.length > pos ? map.offset + map.length - pos : 0;
		len = len < end - pos ? len : end - pos;
		if (map.type == IOMAP_MAPPED && len)
			ret = pmem_pages_wait_idle(map.pm,
						   (map.addr + (pos - map.offset)) >> DAX_PAGE_SHIFT,
						   (len + DAX_PAGE_SIZE - 1) >> DAX_PAGE_SHIFT,
						   time_left(timeout_ms, start), cancel,
						   cancel_seen);
		f->ops->iomap_end(f->host, pos, end - pos, 0, IOMAP_REPORT, &map);
		if (!len)
			break; /* a provider that reports nothing at pos: nothing more is mapped */
		pos += len;
	}
	return ret;
}
