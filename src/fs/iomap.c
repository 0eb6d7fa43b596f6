// SPDX-License-Identifier: MIT
/*
 * udaxfs's answer to the DAX core: which media extent backs a file range.
 *
 * begin() with IOMAP_WRITE allocates the hole at pos (zeroed blocks, 2 MiB
 * extents per the huge policy) and commits the allocation before returning,
 * so the extent is reported IOMAP_F_NEW and never IOMAP_F_DIRTY: the metadata
 * to reach any extent udaxfs reports is always durable. end() has nothing to
 * undo: blocks allocated beyond the bytes written stay allocated and zeroed,
 * like preallocation.
 */
#include <errno.h>
#include <string.h>

#include "fs/fs.h"
#include "fs/udaxfs.h"

/* Blocks one begin() allocates at most for a small-block write. */
#define ALLOC_CHUNK (16u * UDAXFS_PMD_BLOCKS)

/* Reports extent @e clipped to file blocks [lo, hi). */
static void iomap_from_extent(const struct udaxfs_extent *e, uint64_t lo, uint64_t hi,
			      struct iomap *iomap)
{
	uint64_t start = e->lblk > lo ? e->lblk : lo, end = (uint64_t)e->lblk + e->len;

	end = end < hi ? end : hi;
	iomap->offset = blk_off(start);
	iomap->length = blk_off(end - start);
	iomap->addr = blk_off(e->pblk + (start - e->lblk));
	iomap->type = IOMAP_MAPPED;
}

/*
 * Allocates the hole at @pos (a write) and reports the new extent, clipped to
 * the hole. Works on a copy of the node's map (loaded and checked already)
 * and leaves the new map in the node, valid once the caller's commit is: the
 * caller drops it if the commit fails (udaxfs_iomap_begin).
 */
static int iomap_alloc(struct udaxfs *fs, struct udaxfs_node *node, uint64_t pos, uint64_t len,
		       struct iomap *iomap)
{
	uint64_t lblk = pos >> UDAXFS_BLOCK_SHIFT, last, hole, lo, ino = node->ino;
	struct udaxfs_inode di;
	struct extmap m;
	uint32_t i;
	int ret = inode_read(fs, ino, &di);

	if (!ret)
		ret = extmap_copy(&m, &node->map);
	if (ret)
		return ret;
	/* NEW covers only what this call allocated: the hole around pos. */
	hole = extmap_hole_len(&m, lblk, UINT32_MAX);
	i = extmap_find(&m, lblk);
	lo = i ? (uint64_t)m.e[i - 1].lblk + m.e[i - 1].len : 0;
	last = (pos + (len ? len : 1) + UDAXFS_BLOCK - 1) >> UDAXFS_BLOCK_SHIFT;
	if (last - lblk > ALLOC_CHUNK)
		last = lblk + ALLOC_CHUNK;
	if (last - lblk > hole)
		last = lblk + hole;
	ret = file_alloc_range(fs, &m, lblk, last - lblk, file_huge_policy(&di, pos + len));
	/* Out of space part way: keep what maps pos; the write comes up short. */
	if (ret == -ENOSPC && !extmap_hole_len(&m, lblk, 1))
		ret = 0;
	if (!ret)
		ret = extmap_store(fs, ino, &di, &m);
	if (!ret)
		ret = inode_write(fs, ino, &di);
	if (ret) {
		extmap_free(&m);
		return ret;
	}
	iomap_from_extent(&m.e[extmap_find(&m, lblk)], lo, lblk + hole, iomap);
	iomap->flags = IOMAP_F_NEW;
	extmap_free(&node->map); /* extmap_store marked it stale: @m replaces it */
	node->map = m;
	node->map_valid = true;
	return 0;
}

/*
 * The committed extent map of @node, loaded at its first use and kept until
 * extmap_store changes it. Called at the start of an operation, when the open
 * transaction has no changes, so the map loaded is the media's.
 */
int node_map(struct udaxfs *fs, struct udaxfs_node *node)
{
	struct udaxfs_inode di;
	int ret;

	if (node->map_valid)
		return 0;
	extmap_free(&node->map);
	ret = inode_read(fs, node->ino, &di);
	if (!ret)
		ret = extmap_load(fs, node->ino, &di, &node->map);
	node->map_valid = !ret;
	return ret;
}

static int iomap_map(struct udaxfs *fs, struct udaxfs_node *node, uint64_t pos, uint64_t len,
		     unsigned flags, struct iomap *iomap)
{
	uint64_t lblk = pos >> UDAXFS_BLOCK_SHIFT, hole;
	const struct extmap *m = &node->map;
	int ret = node_map(fs, node);

	if (ret)
		return ret;
	memset(iomap, 0, sizeof(*iomap));
	iomap->pm = fs->pm;
	iomap->base = fs->base;
	hole = extmap_hole_len(m, lblk, UINT32_MAX);
	if (hole && (flags & IOMAP_WRITE))
		return iomap_alloc(fs, node, pos, len, iomap);
	if (hole) {
		iomap->offset = blk_off(lblk);
		iomap->length = blk_off(hole);
		iomap->type = IOMAP_HOLE;
	} else {
		uint32_t i = extmap_find(m, lblk);

		iomap_from_extent(&m->e[i], 0, UINT64_MAX, iomap);
		if (!(flags & IOMAP_WRITE))
			rc_fill(node, i); /* so that the next reads here need no lock */
	}
	if (!(flags & IOMAP_WRITE)) { /* the node map is loaded: the inode is sound */
		iomap->size = inode_size(fs, node->ino);
		iomap->flags |= IOMAP_F_SIZE;
	}
	return 0;
}

static int udaxfs_iomap_begin(void *host, uint64_t pos, uint64_t len, unsigned flags,
			      struct iomap *iomap)
{
	struct udaxfs_node *node = host;
	struct udaxfs *fs = node->fs;
	int ret;

	fs_enter(fs);
	ret = tx_end(fs, iomap_map(fs, node, pos, len, flags, iomap));
	if (ret)
		node->map_valid = false; /* an allocation's map that did not commit */
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

static int udaxfs_iomap_end(void *host, uint64_t pos, uint64_t len, uint64_t written,
			    unsigned flags, struct iomap *iomap)
{
	(void)host;
	(void)pos;
	(void)len;
	(void)written;
	(void)flags;
	(void)iomap;
	return 0;
}

const struct iomap_ops udaxfs_iomap_ops = {
	.iomap_begin = udaxfs_iomap_begin,
	.iomap_end = udaxfs_iomap_end,
};
