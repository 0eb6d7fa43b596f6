// SPDX-License-Identifier: MIT
/*
 * Lockless reads: a read that lies inside the file's mapped extents and below
 * EOF copies straight from the media without node->rw or fs->lock. With the
 * pool mapped in 2 MiB pages, two lock round trips and a map lookup cost
 * about as much as the 4 KiB copy itself.
 *
 * The protocol is a sequence count that allows overlapping writers:
 *  - node->rc holds a window of the committed extent map, filled by a locked
 *    lookup (rc_fill, from udaxfs_iomap_begin under fs->lock) and emptied
 *    whenever the map changes (rc_drop, from extmap_store under fs->lock);
 *  - a writer is every holder of node->rw exclusive (a write, truncate,
 *    fallocate, last close) and every fill or drop: it counts itself in
 *    rc.seq's low bits for its whole duration and, as it leaves, moves that
 *    count into the high bits in one step, so rc.seq never returns to a value
 *    it had (writers overlap: fills and drops run under fs->lock, the others
 *    under node->rw);
 *  - a reader samples rc.seq, gives up if a writer is inside, finds its range
 *    in the window, loads the size from the inode in place, copies, and keeps
 *    the copy only if rc.seq has not changed.
 * A copy that raced a writer may have read a block while it was rewritten or
 * freed. It is zeroed and the caller takes the locked path, so what reaches
 * the caller is what a locked read before or after that writer returns.
 * Copies run against blocks of this process's own pool mapping, which stays
 * mapped while the node is open, so reading a block being freed is harmless.
 */
#include <errno.h>
#include <string.h>

#include "pmem/pmem.h"
#include "fs/fs.h"
#include "fs/udaxfs.h"

/*
 * The size load and the copy race writers by design and are thrown away when
 * they did. ThreadSanitizer cannot know that: in its builds they are done by
 * code it does not watch (a plain loop, since it intercepts memcpy).
 */
#if defined(__SANITIZE_THREAD__)
#define RACY __attribute__((no_sanitize("thread"), noinline))
static RACY uint64_t racy_load(const uint64_t *p)
{
	return *(const volatile uint64_t *)p;
}

static RACY void racy_copy(void *dst, const void *src, size_t len)
{
	volatile uint8_t *d = dst;
	const volatile uint8_t *s = src;

	while (len--)
		*d++ = *s++;
}
#else
#define racy_load(p)	     __atomic_load_n(p, __ATOMIC_RELAXED)
#define racy_copy(d, s, len) memcpy(d, s, len)
#endif

void rc_init(struct udaxfs *fs, struct udaxfs_node *node)
{
	node->rc.size = inode_size_home(fs, node->ino);
}

#define RC_WRITER 1ull
#define RC_INSIDE 0xffffull

void rc_write_begin(struct udaxfs_node *node)
{
	atomic_fetch_add(&node->rc.seq, RC_WRITER);
}

/* One step moves the writer from inside to gone: any change of the word is seen. */
void rc_write_end(struct udaxfs_node *node)
{
	atomic_fetch_add_explicit(&node->rc.seq, (RC_INSIDE + 1) - RC_WRITER, memory_order_release);
}

/* Caller holds fs->lock; node->map is the committed map and @i one of its extents. */
void rc_fill(struct udaxfs_node *node, uint32_t i)
{
	const struct extmap *m = &node->map;
	struct read_cache *rc = &node->rc;
	uint32_t first = i >= RC_EXTENTS / 2 ? i - RC_EXTENTS / 2 : 0, n = m->n - first;

	n = n < RC_EXTENTS ? n : RC_EXTENTS;
	if (atomic_load_explicit(&rc->n, memory_order_relaxed) &&
	    atomic_load_explicit(&rc->e[0].lblk, memory_order_relaxed) == m->e[first].lblk &&
	    atomic_load_explicit(&rc->e[0].pblk, memory_order_relaxed) == m->e[first].pblk)
		return; /* the window is there already: leave concurrent readers alone */
	rc_write_begin(node);
	for (uint32_t k = 0; k < n; k++) {
		atomic_store_explicit(&rc->e[k].lblk, m->e[first + k].lblk, memory_order_relaxed);
		atomic_store_explicit(&rc->e[k].len, m->e[first + k].len, memory_order_relaxed);
		atomic_store_explicit(&rc->e[k].pblk, m->e[first + k].pblk, memory_order_relaxed);
	}
	atomic_store_explicit(&rc->n, n, memory_order_relaxed);
	rc_write_end(node);
}

/* Caller holds fs->lock; the map is about to change. */
void rc_drop(struct udaxfs_node *node)
{
	rc_write_begin(node);
	atomic_store_explicit(&node->rc.n, 0, memory_order_relaxed);
	rc_write_end(node);
}

/* The media offset of file bytes [pos, pos + len) if one cached extent holds them all. */
static bool rc_lookup(struct read_cache *rc, uint64_t pos, uint64_t len, uint64_t *off)
{
	uint64_t lblk = pos >> UDAXFS_BLOCK_SHIFT, last = (pos + len - 1) >> UDAXFS_BLOCK_SHIFT;
	uint32_t n = atomic_load_explicit(&rc->n, memory_order_relaxed);

	for (uint32_t k = 0; k < n && k < RC_EXTENTS; k++) {
		uint64_t first = atomic_load_explicit(&rc->e[k].lblk, memory_order_relaxed);
		uint64_t count = atomic_load_explicit(&rc->e[k].len, memory_order_relaxed);

		if (lblk < first || last >= first + count)
			continue;
		*off = blk_off(atomic_load_explicit(&rc->e[k].pblk, memory_order_relaxed) +
			       (lblk - first)) +
		       (pos & (UDAXFS_BLOCK - 1));
		return true;
	}
	return false;
}

ssize_t udaxfs_read_fast(struct udaxfs_node *node, void *buf, size_t len, uint64_t pos)
{
	struct read_cache *rc = &node->rc;
	struct udaxfs *fs = node->fs;
	uint64_t seq, size, off;

	seq = atomic_load_explicit(&rc->seq, memory_order_acquire);
	if (seq & RC_INSIDE)
		return -EAGAIN;
	size = racy_load(rc->size);
	if (pos >= size || !len)
		return -EAGAIN;
	if (len > size - pos)
		len = (size_t)(size - pos);
	if (!rc_lookup(rc, pos, len, &off) || off + len > fs->size ||
	    pmem_badblock_check(fs->pm, off, len))
		return -EAGAIN;
	racy_copy(buf, fs->base + off, len);
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&rc->seq, memory_order_relaxed) != seq) {
		memset(buf, 0, len);
		return -EAGAIN;
	}
	return (ssize_t)len;
}
