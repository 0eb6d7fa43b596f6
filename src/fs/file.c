// SPDX-License-Identifier: MIT
/* Regular files: block allocation, truncate, fallocate, extents report. */
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "pmem/pmem.h"
#include "fs/fs.h"
#include "fs/udaxfs.h"

static uint64_t blocks_up(uint64_t bytes)
{
	return (bytes + UDAXFS_BLOCK - 1) >> UDAXFS_BLOCK_SHIFT;
}

/*
 * Zeroes the blocks of the new run [pblk, pblk+len) that lie below @mark, the
 * zero mark before the allocation: they may hold a former owner's data. The
 * rest is known to read as zero (format.h) and is not written at all, so a
 * crash before the allocation commits leaves it free and zero.
 */
static void zero_stale(struct udaxfs *fs, uint64_t pblk, uint64_t len, uint64_t mark)
{
	uint64_t end = pblk + len < mark ? pblk + len : mark;

	if (pblk < end)
		pmem_memset_nodrain(fs->pm, fs->base + blk_off(pblk), 0, blk_off(end - pblk));
}

/* Maps the hole at @lblk with a whole free 2 MiB group if the hole covers its range. */
static int alloc_huge_at(struct udaxfs *fs, struct extmap *m, uint64_t lblk, uint64_t *next)
{
	uint64_t start = lblk & ~(uint64_t)(UDAXFS_PMD_BLOCKS - 1), pblk, mark = fs->zero_mark;
	bool zero;
	int ret;

	if (extmap_hole_len(m, start, UDAXFS_PMD_BLOCKS) != UDAXFS_PMD_BLOCKS)
		return -ENOSPC;
	ret = alloc_huge(fs, &pblk, &zero);
	if (ret)
		return ret;
	if (!zero)
		zero_stale(fs, pblk, UDAXFS_PMD_BLOCKS, mark);
	*next = start + UDAXFS_PMD_BLOCKS;
	return extmap_insert(m, start, pblk, UDAXFS_PMD_BLOCKS);
}

/*
 * Fills the holes of [lblk, lblk+nblk) with zeroed blocks: whole 2 MiB groups
 * where @huge_ok and the hole spans the group's aligned file range, small runs
 * elsewhere. Blocks from below the zero mark are zeroed here, and the zeroing
 * is drained by the commit, before the extents it makes reachable become
 * durable, so stale data is never exposed; blocks from above it already read
 * as zero.
 */
int file_alloc_range(struct udaxfs *fs, struct extmap *m, uint64_t lblk, uint64_t nblk,
		     bool huge_ok)
{
	uint64_t end = lblk + nblk, cur = lblk;

	while (cur < end) {
		uint64_t hole = extmap_hole_len(m, cur, end - cur), pblk, got, mark;
		int ret;

		if (!hole) {
			uint32_t i = extmap_find(m, cur);

			cur = (uint64_t)m->e[i].lblk + m->e[i].len;
			continue;
		}
		if (huge_ok) {
			ret = alloc_huge_at(fs, m, cur, &cur);
			if (ret != -ENOSPC)
				goto next;
		}
		mark = fs->zero_mark;
		ret = alloc_small(fs, hole, &pblk, &got);
		if (!ret) {
			zero_stale(fs, pblk, got, mark);
			ret = extmap_insert(m, cur, pblk, got);
			cur += got;
		}
	next:
		if (ret)
			return ret;
	}
	return 0;
}

/* Files that are or become 2 MiB long get 2 MiB extents (docs/udaxfs.md). */
bool file_huge_policy(const struct udaxfs_inode *di, uint64_t end)
{
	return (di->size > end ? di->size : end) >= PMD_BYTES;
}

/* Zeroes the mapped bytes of [off, off+len) (holes already read as zeros). */
void zero_mapped_bytes(struct udaxfs *fs, const struct extmap *m, uint64_t off, uint64_t len)
{
	uint64_t end = off + len;

	for (uint32_t i = extmap_find(m, off >> UDAXFS_BLOCK_SHIFT); i < m->n; i++) {
		uint64_t s = blk_off(m->e[i].lblk), e = s + blk_off(m->e[i].len);
		uint64_t a = s > off ? s : off, b = e < end ? e : end;

		if (a >= b)
			break;
		pmem_memset_nodrain(fs->pm, fs->base + blk_off(m->e[i].pblk) + (a - s), 0, b - a);
	}
	pmem_drain(fs->pm);
}

/*
 * Zeroes the mapped bytes of [off, off+len), a few partial blocks, through the
 * transaction: the zeros become durable atomically with the operation that
 * needs them (truncate, punch), so a crash never shows them without it.
 */
static int zero_bytes_tx(struct udaxfs *fs, const struct extmap *m, uint64_t off, uint64_t len)
{
	for (uint64_t end = off + len, next; off < end; off = next) {
		uint64_t lblk = off >> UDAXFS_BLOCK_SHIFT;
		uint32_t i = extmap_find(m, lblk);
		uint8_t *b;
		int ret;

		next = blk_off(lblk + 1) < end ? blk_off(lblk + 1) : end;
		if (i == m->n || m->e[i].lblk > lblk)
			continue; /* a hole reads as zeros */
		ret = tx_write(fs, m->e[i].pblk + (lblk - m->e[i].lblk), (void **)&b);
		if (ret)
			return ret;
		memset(b + (off & (UDAXFS_BLOCK - 1)), 0, next - off);
	}
	return 0;
}

/*
 * The file grows from @old to at least @to: the bytes of its last block past
 * @old may hold stores that a mapping made past EOF (a mapping's last page
 * reaches to the end of the block; the fault path maps it whole), and they
 * must read as zeros once they are inside the file (the kernel's
 * dax_truncate_page of the old EOF block). Zeroed in place and drained before
 * the new size is stored: only bytes past EOF are written, so a store that a
 * mapping makes before EOF in the same line at the same time is not lost.
 */
static void zero_eof_tail(struct udaxfs *fs, const struct extmap *m, uint64_t old, uint64_t to)
{
	uint64_t end = blk_round_up(old);

	if (to > old && end != old)
		zero_mapped_bytes(fs, m, old, (to < end ? to : end) - old);
}

/* Loads the regular file @ino; fails with EISDIR for a directory. */
static int file_load(struct udaxfs *fs, uint64_t ino, struct udaxfs_inode *di, struct extmap *m)
{
	int ret = inode_read(fs, ino, di);

	if (!ret && !S_ISREG(di->mode))
		ret = udax_err(EISDIR, "inode %llu is not a regular file", (unsigned long long)ino);
	return ret ? ret : extmap_load(fs, ino, di, m);
}

static int file_store(struct udaxfs *fs, uint64_t ino, struct udaxfs_inode *di, struct extmap *m,
		      int ret)
{
	if (!ret)
		ret = extmap_store(fs, ino, di, m);
	if (!ret) {
		inode_touch(di, true);
		ret = inode_write(fs, ino, di);
	}
	extmap_free(m);
	return ret;
}

static int file_truncate(struct udaxfs *fs, uint64_t ino, uint64_t size)
{
	struct udaxfs_inode di;
	struct extmap m;
	bool shrink;
	int ret = file_load(fs, ino, &di, &m);

	if (ret)
		return ret;
	shrink = size < di.size;
	/* Bytes past EOF in a kept block must read as zeros if the file grows again. */
	if (shrink)
		ret = zero_bytes_tx(fs, &m, size, blk_round_up(size) - size);
	else
		zero_eof_tail(fs, &m, di.size, size);
	di.size = size;
	if (shrink && !ret)
		ret = extmap_truncate(fs, ino, &di, &m, blocks_up(size));
	return file_store(fs, ino, &di, &m, ret);
}

/*
 * The size change of a write at @pos: grow to @size, or with @shrink set it;
 * *old = prior size. A write that starts past EOF first zeroes the old last
 * block's tail (zero_eof_tail).
 */
static int write_size(struct udaxfs *fs, uint64_t ino, uint64_t pos, uint64_t size, bool shrink,
		      enum size_order order, uint64_t *old)
{
	struct udaxfs_inode di;
	struct extmap m;
	int ret;

	*old = inode_size(fs, ino);
	if (!shrink && pos > *old && *old % UDAXFS_BLOCK) {
		ret = file_load(fs, ino, &di, &m);
		if (ret)
			return ret;
		zero_eof_tail(fs, &m, *old, pos);
		extmap_free(&m);
	}
	return inode_set_size(fs, ino, shrink || size > *old ? size : *old,
			      pos >= *old ? order : SIZE_FIRST);
}

static int punch(struct udaxfs *fs, struct extmap *m, uint64_t off, uint64_t len)
{
	uint64_t first = blocks_up(off), last = (off + len) >> UDAXFS_BLOCK_SHIFT;
	int ret;

	if (first >= last) /* no whole block inside */
		return zero_bytes_tx(fs, m, off, len);
	ret = zero_bytes_tx(fs, m, off, blk_off(first) - off);
	if (!ret)
		ret = zero_bytes_tx(fs, m, blk_off(last), off + len - blk_off(last));
	return ret ? ret : extmap_remove(fs, m, first, last - first);
}

static int check_fallocate(const struct udaxfs_inode *di, int mode, uint64_t off, uint64_t len)
{
	int shift = mode & (UDAX_FALLOC_COLLAPSE_RANGE | UDAX_FALLOC_INSERT_RANGE);

	if (shift && ((off | len) % UDAXFS_BLOCK))
		return udax_err(EINVAL, "fallocate: collapse/insert range not 4 KiB aligned");
	if ((mode & UDAX_FALLOC_COLLAPSE_RANGE) && off + len >= di->size)
		return udax_err(EINVAL, "fallocate: collapse range reaches end of file");
	if ((mode & UDAX_FALLOC_INSERT_RANGE) && off >= di->size)
		return udax_err(EINVAL, "fallocate: insert offset at or past end of file");
	if ((mode & UDAX_FALLOC_INSERT_RANGE) && di->size + len > UDAXFS_MAX_FILE_SIZE)
		return udax_err(EFBIG, "fallocate: insert range makes the file too large");
	return 0;
}

static int file_fallocate(struct udaxfs *fs, uint64_t ino, int mode, uint64_t off, uint64_t len)
{
	uint64_t end = off + len, nblk = blocks_up(end) - (off >> UDAXFS_BLOCK_SHIFT);
	struct udaxfs_inode di;
	struct extmap m;
	int ret = file_load(fs, ino, &di, &m);

	if (ret)
		return ret;
	ret = check_fallocate(&di, mode, off, len);
	if (ret)
		goto out;
	if (mode & UDAX_FALLOC_PUNCH_HOLE) {
		ret = punch(fs, &m, off, len);
	} else if (mode & UDAX_FALLOC_COLLAPSE_RANGE) {
		ret = extmap_remove(fs, &m, off >> UDAXFS_BLOCK_SHIFT, len >> UDAXFS_BLOCK_SHIFT);
		if (!ret)
			ret = extmap_shift(&m, end >> UDAXFS_BLOCK_SHIFT, len >> UDAXFS_BLOCK_SHIFT,
					   true);
		di.size -= len;
	} else if (mode & UDAX_FALLOC_INSERT_RANGE) {
		ret = extmap_shift(&m, off >> UDAXFS_BLOCK_SHIFT, len >> UDAXFS_BLOCK_SHIFT, false);
		di.size += len;
	} else {
		ret = file_alloc_range(fs, &m, off >> UDAXFS_BLOCK_SHIFT, nblk,
				       file_huge_policy(&di, end));
		if (!ret && (mode & UDAX_FALLOC_ZERO_RANGE))
			zero_mapped_bytes(fs, &m, off, len);
		if (!ret && !(mode & UDAX_FALLOC_KEEP_SIZE) && end > di.size) {
			zero_eof_tail(fs, &m, di.size, end);
			di.size = end;
		}
	}
out:
	return file_store(fs, ino, &di, &m, ret);
}

int udaxfs_truncate(struct udaxfs_node *node, uint64_t size)
{
	if (size > UDAXFS_MAX_FILE_SIZE)
		return udax_err(EFBIG, "truncate to %llu: file too large",
				(unsigned long long)size);
	fs_enter(node->fs);
	return fs_leave(node->fs, file_truncate(node->fs, node->ino, size));
}

#define FALLOC_KNOWN                                                                               \
	(UDAX_FALLOC_KEEP_SIZE | UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_COLLAPSE_RANGE |             \
	 UDAX_FALLOC_ZERO_RANGE | UDAX_FALLOC_INSERT_RANGE)

/* The mode checks of vfs_fallocate, in its order. */
static int check_falloc_mode(int mode)
{
	int shift = mode & (UDAX_FALLOC_COLLAPSE_RANGE | UDAX_FALLOC_INSERT_RANGE);

	if (mode & ~FALLOC_KNOWN)
		return udax_err(EOPNOTSUPP, "fallocate: unsupported mode 0x%x", mode);
	if ((mode & UDAX_FALLOC_PUNCH_HOLE) && (mode & UDAX_FALLOC_ZERO_RANGE))
		return udax_err(EINVAL, "fallocate: PUNCH_HOLE with ZERO_RANGE");
	if ((mode & UDAX_FALLOC_PUNCH_HOLE) && !(mode & UDAX_FALLOC_KEEP_SIZE))
		return udax_err(EOPNOTSUPP, "fallocate: PUNCH_HOLE needs KEEP_SIZE");
	if (shift && mode != shift)
		return udax_err(EINVAL, "fallocate: COLLAPSE/INSERT_RANGE must be used alone");
	return 0;
}

int udaxfs_fallocate(struct udaxfs_node *node, int mode, uint64_t off, uint64_t len)
{
	int ret = check_falloc_mode(mode);

	if (ret)
		return ret;
	if ((int64_t)off < 0 || (int64_t)len <= 0)
		return udax_err(EINVAL, "fallocate: bad offset %lld or length %lld", (long long)off,
				(long long)len);
	if (off + len > UDAXFS_MAX_FILE_SIZE || off + len < off)
		return udax_err(EFBIG, "fallocate: range past the maximum file size");
	fs_enter(node->fs);
	return fs_leave(node->fs, file_fallocate(node->fs, node->ino, mode, off, len));
}

static int file_size(struct udaxfs *fs, uint64_t ino, uint64_t *size)
{
	struct udaxfs_inode di;
	int ret = inode_read(fs, ino, &di);

	*size = ret ? 0 : di.size;
	return ret;
}

int udaxfs_size(struct udaxfs_node *node, uint64_t *size)
{
	fs_enter(node->fs);
	return fs_leave(node->fs, file_size(node->fs, node->ino, size));
}

/* SIZE_ALLOC if every block of [pos, end) is a hole the write will allocate. */
static enum size_order append_order(struct udaxfs *fs, struct udaxfs_node *node, uint64_t pos,
				    uint64_t end)
{
	uint64_t first = pos >> UDAXFS_BLOCK_SHIFT, n = blocks_up(end) - first;

	if (node_map(fs, node) || extmap_hole_len(&node->map, first, n) != n)
		return SIZE_APPEND;
	return SIZE_ALLOC;
}

static int write_prepare(struct udaxfs *fs, struct udaxfs_node *node, bool append, uint64_t *pos,
			 uint64_t *len, uint64_t *old_size)
{
	if (append)
		*pos = inode_size(fs, node->ino);
	if (*pos >= UDAXFS_MAX_FILE_SIZE)
		return udax_err(EFBIG, "write at %llu: past the maximum file size",
				(unsigned long long)*pos);
	if (*len > UDAXFS_MAX_FILE_SIZE - *pos)
		*len = UDAXFS_MAX_FILE_SIZE - *pos;
	return write_size(fs, node->ino, *pos, *pos + *len, false,
			  append_order(fs, node, *pos, *pos + *len), old_size);
}

int udaxfs_write_prepare(struct udaxfs_node *node, bool append, uint64_t *pos, uint64_t *len,
			 uint64_t *old_size)
{
	fs_enter(node->fs);
	return fs_leave(node->fs, write_prepare(node->fs, node, append, pos, len, old_size));
}

int udaxfs_write_short(struct udaxfs_node *node, uint64_t old_size, uint64_t end)
{
	uint64_t prepared;

	fs_enter(node->fs);
	end = end > old_size ? end : old_size;
	return fs_leave(node->fs,
			write_size(node->fs, node->ino, end, end, true, SIZE_FIRST, &prepared));
}

static void fiemap_fill(const struct udaxfs_extent *e, struct udax_extent *out)
{
	uint64_t lo = blk_off(e->lblk), hi = lo + blk_off(e->len);
	uint64_t first = pmd_round_up(lo), last = hi & ~(PMD_BYTES - 1);

	memset(out, 0, sizeof(*out));
	out->logical = lo;
	out->physical = blk_off(e->pblk);
	out->length = hi - lo;
	if ((out->logical - out->physical) % PMD_BYTES == 0) {
		out->flags = UDAX_EXTENT_PMD;
		out->pmd_bytes = last > first ? last - first : 0;
	}
}

static int fiemap(struct udaxfs *fs, uint64_t ino, struct udax_extent *ext, unsigned max)
{
	struct udaxfs_inode di;
	struct extmap m;
	int ret = file_load(fs, ino, &di, &m);

	if (ret)
		return ret;
	for (uint32_t i = 0; i < m.n && i < max; i++)
		fiemap_fill(&m.e[i], &ext[i]);
	ret = (int)m.n;
	extmap_free(&m);
	return ret;
}

int udaxfs_fiemap(struct udaxfs_node *node, struct udax_extent *ext, unsigned max)
{
	fs_enter(node->fs);
	return fs_leave(node->fs, fiemap(node->fs, node->ino, ext, max));
}

void udaxfs_sync(struct udaxfs_node *node)
{
	pmem_drain(node->fs->pm);
}

void udaxfs_wake_layout_waiters(struct udaxfs *fs)
{
	pmem_pages_wake_waiters(fs->pm);
}

void udaxfs_media(struct udaxfs_node *node, struct pmem **pm, void **base)
{
	*pm = node->fs->pm;
	*base = node->fs->base;
}
