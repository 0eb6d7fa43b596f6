// SPDX-License-Identifier: MIT
/*
 * Poisoned media ranges and the read/write paths that honour them. Readers
 * (pmem_badblock_check may run in a SIGSEGV/SIGBUS handler) use the seqlock
 * protocol: no lock, no allocation; writers build the new list aside and
 * publish it with signals blocked.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "common/err.h"
#include "pmem/pmem_internal.h"

struct bb_list {
	int count;
	uint64_t off[PMEM_BADBLOCK_MAX], end[PMEM_BADBLOCK_MAX];
};

void pmem_badblocks_init(struct pmem_badblocks *bb)
{
	memset(bb, 0, sizeof(*bb));
	pthread_mutex_init(&bb->lock, NULL);
}

void pmem_badblocks_destroy(struct pmem_badblocks *bb)
{
	pthread_mutex_destroy(&bb->lock);
}

/* A consistent copy of the published list. [signal-safe] */
static void bb_snapshot(const struct pmem_badblocks *bb, struct bb_list *l)
{
	unsigned s1, s2;

	do {
		s1 = atomic_load_explicit(&bb->seq, memory_order_acquire);
		l->count = atomic_load_explicit(&bb->count, memory_order_relaxed);
		if (l->count > PMEM_BADBLOCK_MAX)
			l->count = PMEM_BADBLOCK_MAX;
		for (int i = 0; i < l->count; i++) {
			l->off[i] = atomic_load_explicit(&bb->off[i], memory_order_relaxed);
			l->end[i] =
				l->off[i] + atomic_load_explicit(&bb->len[i], memory_order_relaxed);
		}
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&bb->seq, memory_order_relaxed);
	} while ((s1 & 1) || s1 != s2);
}

/* Caller holds bb->lock. Signals are blocked so no handler on this thread sees an odd seq. */
static void bb_publish(struct pmem_badblocks *bb, const struct bb_list *l)
{
	unsigned s = atomic_load_explicit(&bb->seq, memory_order_relaxed);
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	atomic_store_explicit(&bb->seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (int i = 0; i < l->count; i++) {
		atomic_store_explicit(&bb->off[i], l->off[i], memory_order_relaxed);
		atomic_store_explicit(&bb->len[i], l->end[i] - l->off[i], memory_order_relaxed);
	}
	atomic_store_explicit(&bb->count, l->count, memory_order_relaxed);
	atomic_store_explicit(&bb->seq, s + 2, memory_order_release);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static int bb_append(struct bb_list *l, uint64_t off, uint64_t end)
{
	if (l->count == PMEM_BADBLOCK_MAX)
		return -ENOSPC;
	l->off[l->count] = off;
	l->end[l->count] = end;
	l->count++;
	return 0;
}

/* Add [off, end), merging every range it overlaps or touches. */
static int bb_add(struct bb_list *l, uint64_t off, uint64_t end)
{
	struct bb_list in = *l;

	l->count = 0;
	for (int i = 0; i < in.count; i++) {
		if (in.end[i] < off || in.off[i] > end) {
			bb_append(l, in.off[i], in.end[i]);
			continue;
		}
		off = in.off[i] < off ? in.off[i] : off;
		end = in.end[i] > end ? in.end[i] : end;
	}
	return bb_append(l, off, end);
}

/* Remove [off, end); a range straddling it leaves up to two pieces. */
static int bb_remove(struct bb_list *l, uint64_t off, uint64_t end)
{
	struct bb_list in = *l;
	int ret = 0;

	l->count = 0;
	for (int i = 0; i < in.count && !ret; i++) {
		if (in.end[i] <= off || in.off[i] >= end) {
			ret = bb_append(l, in.off[i], in.end[i]);
			continue;
		}
		if (in.off[i] < off)
			ret = bb_append(l, in.off[i], off);
		if (!ret && in.end[i] > end)
			ret = bb_append(l, end, in.end[i]);
	}
	return ret;
}

static bool bb_overlaps(const struct bb_list *l, uint64_t off, uint64_t end)
{
	for (int i = 0; i < l->count; i++)
		if (l->off[i] < end && off < l->end[i])
			return true;
	return false;
}

static int check_range(const struct pmem *pm, const char *what, uint64_t off, uint64_t len)
{
	if (off > pm->info.size || len > pm->info.size - off)
		return udax_err(EINVAL, "%s: %s [%llu, +%llu) is outside the media (%llu bytes)",
				pm->path, what, (unsigned long long)off, (unsigned long long)len,
				(unsigned long long)pm->info.size);
	return 0;
}

int pmem_badblock_inject(struct pmem *pm, uint64_t off, uint64_t len)
{
	struct bb_list l;
	int ret = check_range(pm, "bad block", off, len);

	if (ret)
		return ret;
	if (!len)
		return udax_err(EINVAL, "%s: empty bad block", pm->path);
	pthread_mutex_lock(&pm->bb.lock);
	bb_snapshot(&pm->bb, &l);
	ret = bb_add(&l, off, off + len);
	if (!ret)
		bb_publish(&pm->bb, &l);
	pthread_mutex_unlock(&pm->bb.lock);
	if (ret)
		return udax_err(ENOSPC, "%s: more than %d bad block ranges", pm->path,
				PMEM_BADBLOCK_MAX);
	return 0;
}

int pmem_badblock_check(const struct pmem *pm, uint64_t off, uint64_t len)
{
	struct bb_list l;

	if (!len)
		return 0;
	bb_snapshot(&pm->bb, &l);
	return bb_overlaps(&l, off, off + len) ? -EIO : 0;
}

int pmem_badblock_list(const struct pmem *pm, uint64_t *offs, uint64_t *lens, int max)
{
	struct bb_list l;

	bb_snapshot(&pm->bb, &l);
	for (int i = 0; i < l.count && i < max; i++) {
		offs[i] = l.off[i];
		lens[i] = l.end[i] - l.off[i];
	}
	return l.count;
}

/*
 * sysfs badblocks: "sector count" lines in 512-byte sectors relative to the
 * region; @media_start is where this device begins inside the region.
 */
int pmem_badblocks_load_sysfs(struct pmem *pm, const char *region_dir, uint64_t media_start)
{
	char path[PATH_MAX + 16];
	unsigned long long sector, count;
	struct bb_list l = {0};
	FILE *f;

	snprintf(path, sizeof(path), "%s/badblocks", region_dir);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fscanf(f, "%llu %llu", &sector, &count) == 2) {
		uint64_t off = sector * 512, end = off + count * 512;

		if (end <= media_start || off - media_start >= pm->info.size)
			continue;
		off = off < media_start ? 0 : off - media_start;
		end -= media_start;
		if (bb_add(&l, off, end < pm->info.size ? end : pm->info.size)) {
			fclose(f);
			return udax_err(ENOSPC, "%s: more than %d bad block ranges in %s", pm->path,
					PMEM_BADBLOCK_MAX, path);
		}
	}
	fclose(f);
	pthread_mutex_lock(&pm->bb.lock);
	bb_publish(&pm->bb, &l);
	pthread_mutex_unlock(&pm->bb.lock);
	return 0;
}

/* The whole media, mapped once for pmem_read/pmem_write. */
static int rw_window(struct pmem *pm, char **base)
{
	int prot = PROT_READ | ((pm->flags & PMEM_O_RDONLY) ? 0 : PROT_WRITE);
	int ret = 0;

	pthread_mutex_lock(&pm->rw_lock);
	if (!pm->rw_base) {
		ret = pmem_map(pm, 0, pm->info.size, prot, &pm->rw_base);
		pm->rw_len = ret ? 0 : pm->info.size;
	}
	*base = pm->rw_base;
	pthread_mutex_unlock(&pm->rw_lock);
	return ret;
}

ssize_t pmem_read(struct pmem *pm, uint64_t off, void *buf, size_t len)
{
	char *base;
	int ret = check_range(pm, "read", off, len);

	if (ret || !len)
		return ret;
	if (pmem_badblock_check(pm, off, len))
		return udax_err(EIO, "%s: read [%llu, +%zu) touches poisoned media", pm->path,
				(unsigned long long)off, len);
	ret = rw_window(pm, &base);
	if (ret)
		return ret;
	memcpy(buf, base + off, len);
	return (ssize_t)len;
}

/*
 * The kernel's recovery-write rule: poison can be cleared only by rewriting
 * whole pages, so a write over poison must start and end on page boundaries.
 * The new data lands first, then the poison record goes.
 */
static ssize_t recovery_write(struct pmem *pm, char *base, uint64_t off, const void *buf,
			      size_t len)
{
	struct bb_list l;
	int ret = 0;

	if (off % PMEM_PAGE_SIZE || len % PMEM_PAGE_SIZE)
		return udax_err(EIO,
				"%s: write [%llu, +%zu) covers poisoned media only partially; "
				"rewrite whole 4 KiB pages to clear it",
				pm->path, (unsigned long long)off, len);
	pthread_mutex_lock(&pm->bb.lock);
	bb_snapshot(&pm->bb, &l);
	if (bb_remove(&l, off, off + len))
		ret = udax_err(ENOSPC,
			       "%s: clearing poison would split it into more than %d ranges",
			       pm->path, PMEM_BADBLOCK_MAX);
	if (!ret) {
		pmem_memcpy_persist(pm, base + off, buf, len);
		bb_publish(&pm->bb, &l);
	}
	pthread_mutex_unlock(&pm->bb.lock);
	return ret ? ret : (ssize_t)len;
}

ssize_t pmem_write(struct pmem *pm, uint64_t off, const void *buf, size_t len)
{
	char *base;
	int ret = check_range(pm, "write", off, len);

	if (ret || !len)
		return ret;
	if (pm->flags & PMEM_O_RDONLY)
		return udax_err(EACCES, "%s: write to media opened read-only", pm->path);
	ret = rw_window(pm, &base);
	if (ret)
		return ret;
	if (pmem_badblock_check(pm, off, len))
		return recovery_write(pm, base, off, buf, len);
	pmem_memcpy_persist(pm, base + off, buf, len);
	return (ssize_t)len;
}
