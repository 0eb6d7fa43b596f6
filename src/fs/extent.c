// SPDX-License-Identifier: MIT
/*
 * Per-file extent maps. The first UDAXFS_INLINE_EXTENTS extents live in the
 * inode, the rest in a chain of extent blocks; extents are sorted by file
 * block and never overlap. An operation loads the whole map, edits it in
 * memory and stores it back through the transaction.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "fs/crc32c.h"
#include "fs/fs.h"

#define LBLK_LIMIT (1ull << 32)

static bool extent_in_data(const struct udaxfs *fs, const struct udaxfs_extent *e)
{
	return e->len && e->pblk >= fs->sb.data_start && e->pblk + e->len <= fs->sb.nblocks &&
	       e->pblk + e->len > e->pblk && (uint64_t)e->lblk + e->len <= LBLK_LIMIT;
}

static unsigned chain_needed(uint32_t n)
{
	return n <= UDAXFS_INLINE_EXTENTS ? 0
					  : (n - UDAXFS_INLINE_EXTENTS + UDAXFS_EXTB_EXTENTS - 1) /
						    UDAXFS_EXTB_EXTENTS;
}

static int extb_check(const struct udaxfs *fs, uint64_t ino, uint64_t blk,
		      const struct udaxfs_extblock *b)
{
	if (b->magic != UDAXFS_EXTB_MAGIC ||
	    b->crc != crc32c_skip(b, sizeof(*b), offsetof(struct udaxfs_extblock, crc)) ||
	    b->owner != ino || b->count > UDAXFS_EXTB_EXTENTS ||
	    (b->next && (b->next < fs->sb.data_start || b->next >= fs->sb.nblocks)))
		return udax_err(EUCLEAN, "inode %llu: extent block %llu is corrupt",
				(unsigned long long)ino, (unsigned long long)blk);
	return 0;
}

int extmap_chain_blocks(struct udaxfs *fs, uint64_t ino, const struct udaxfs_inode *di,
			uint64_t *blks, unsigned max)
{
	unsigned want = chain_needed(di->nextents), n = 0;
	uint64_t blk = di->ext_block;

	if (want > UDAXFS_EXT_CHAIN_MAX)
		return udax_err(EUCLEAN, "inode %llu: %u extents is too many",
				(unsigned long long)ino, di->nextents);
	while (blk) {
		const struct udaxfs_extblock *b = tx_read(fs, blk);
		int ret = extb_check(fs, ino, blk, b);

		if (ret)
			return ret;
		if (n == want || n == max)
			return udax_err(EUCLEAN, "inode %llu: extent chain longer than %u blocks",
					(unsigned long long)ino, want);
		blks[n++] = blk;
		blk = b->next;
	}
	if (n != want)
		return udax_err(EUCLEAN, "inode %llu: extent chain has %u blocks, expected %u",
				(unsigned long long)ino, n, want);
	return (int)n;
}

static int extmap_reserve(struct extmap *m, uint32_t cap)
{
	struct udaxfs_extent *e;

	if (cap <= m->cap && m->e)
		return 0;
	cap = cap < 16 ? 16 : cap * 2;
	e = realloc(m->e, cap * sizeof(*e));
	if (!e)
		return udax_err(ENOMEM, "extent map of %u extents", cap);
	m->e = e;
	m->cap = cap;
	return 0;
}

static int extmap_validate(const struct udaxfs *fs, uint64_t ino, const struct extmap *m)
{
	for (uint32_t i = 0; i < m->n; i++) {
		const struct udaxfs_extent *e = &m->e[i];

		if (!extent_in_data(fs, e))
			return udax_err(
				EUCLEAN, "inode %llu: extent %u (%llu+%u) leaves the device",
				(unsigned long long)ino, i, (unsigned long long)e->pblk, e->len);
		if (i && (uint64_t)m->e[i - 1].lblk + m->e[i - 1].len > e->lblk)
			return udax_err(EUCLEAN,
					"inode %llu: extents %u and %u overlap or unsorted",
					(unsigned long long)ino, i - 1, i);
	}
	return 0;
}

int extmap_load(struct udaxfs *fs, uint64_t ino, const struct udaxfs_inode *di, struct extmap *m)
{
	uint64_t blks[UDAXFS_EXT_CHAIN_MAX];
	uint32_t n = di->nextents, got;
	int nchain, ret;

	m->e = NULL;
	m->n = m->cap = 0;
	nchain = extmap_chain_blocks(fs, ino, di, blks, UDAXFS_EXT_CHAIN_MAX);
	if (nchain < 0)
		return nchain;
	ret = extmap_reserve(m, n);
	if (ret)
		return ret;
	got = n < UDAXFS_INLINE_EXTENTS ? n : UDAXFS_INLINE_EXTENTS;
	memcpy(m->e, di->ext, got * sizeof(*m->e));
	for (int i = 0; i < nchain; i++) {
		const struct udaxfs_extblock *b = tx_read(fs, blks[i]);

		if (b->count > n - got || (b->count != UDAXFS_EXTB_EXTENTS && i != nchain - 1)) {
			extmap_free(m);
			return udax_err(EUCLEAN, "inode %llu: extent block %llu has count %u",
					(unsigned long long)ino, (unsigned long long)blks[i],
					b->count);
		}
		memcpy(m->e + got, b->ext, b->count * sizeof(*m->e));
		got += b->count;
	}
	m->n = got;
	ret = got != n ? udax_err(EUCLEAN, "inode %llu: %u extents found, %u expected",
				  (unsigned long long)ino, got, n)
		       : extmap_validate(fs, ino, m);
	if (ret)
		extmap_free(m);
	return ret;
}

int extmap_copy(struct extmap *dst, const struct extmap *src)
{
	int ret;

	dst->e = NULL;
	dst->n = dst->cap = 0;
	ret = extmap_reserve(dst, src->n);
	if (ret)
		return ret;
	memcpy(dst->e, src->e, src->n * sizeof(*src->e));
	dst->n = src->n;
	return 0;
}

void extmap_free(struct extmap *m)
{
	free(m->e);
	m->e = NULL;
	m->n = m->cap = 0;
}

/* Grows or shrinks the chain to @want blocks. */
static int chain_resize(struct udaxfs *fs, uint64_t *blks, int have, unsigned want)
{
	uint64_t got;
	int ret;

	for (; (unsigned)have < want; have++) {
		ret = alloc_small(fs, 1, &blks[have], &got);
		if (ret)
			return ret;
	}
	for (; (unsigned)have > want; have--) {
		ret = alloc_set(fs, blks[have - 1], 1, false);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * True if extent block @blk already holds exactly what extmap_store would
 * write there: then it is left alone, so a change near the end of a long map
 * rewrites, checksums and journals only the blocks it reaches.
 */
static bool extb_holds(struct udaxfs *fs, uint64_t blk, uint64_t ino, uint64_t next,
		       const struct udaxfs_extent *e, uint32_t cnt)
{
	const struct udaxfs_extblock *b = tx_read(fs, blk);

	return b->magic == UDAXFS_EXTB_MAGIC && b->owner == ino && b->next == next &&
	       b->count == cnt && !memcmp(b->ext, e, cnt * sizeof(*e));
}

int extmap_store(struct udaxfs *fs, uint64_t ino, struct udaxfs_inode *di, struct extmap *m)
{
	uint64_t blks[UDAXFS_EXT_CHAIN_MAX];
	unsigned want = chain_needed(m->n);
	uint32_t done;
	int have, ret;

	node_map_drop(fs, ino);
	if (want > UDAXFS_EXT_CHAIN_MAX)
		return udax_err(EFBIG, "inode %llu: more than %u extents", (unsigned long long)ino,
				UDAXFS_INLINE_EXTENTS + UDAXFS_EXT_CHAIN_MAX * UDAXFS_EXTB_EXTENTS);
	have = extmap_chain_blocks(fs, ino, di, blks, UDAXFS_EXT_CHAIN_MAX);
	if (have < 0)
		return have;
	ret = chain_resize(fs, blks, have, want);
	if (ret)
		return ret;
	done = m->n < UDAXFS_INLINE_EXTENTS ? m->n : UDAXFS_INLINE_EXTENTS;
	memset(di->ext, 0, sizeof(di->ext));
	memcpy(di->ext, m->e, done * sizeof(*m->e));
	for (unsigned i = 0; i < want; i++) {
		struct udaxfs_extblock *b;
		uint32_t cnt = m->n - done;
		uint64_t next = i + 1 < want ? blks[i + 1] : 0;

		if (cnt > UDAXFS_EXTB_EXTENTS)
			cnt = UDAXFS_EXTB_EXTENTS;
		/* checked by extmap_chain_blocks above, so its checksum is sound */
		if (i < (unsigned)have && extb_holds(fs, blks[i], ino, next, m->e + done, cnt)) {
			done += cnt;
			continue;
		}
		ret = tx_write(fs, blks[i], (void **)&b);
		if (ret)
			return ret;
		memset(b, 0, sizeof(*b));
		b->magic = UDAXFS_EXTB_MAGIC;
		b->owner = ino;
		b->next = next;
		b->count = cnt;
		memcpy(b->ext, m->e + done, cnt * sizeof(*m->e));
		b->crc = crc32c_skip(b, sizeof(*b), offsetof(struct udaxfs_extblock, crc));
		done += cnt;
	}
	di->nextents = m->n;
	di->ext_block = want ? blks[0] : 0;
	return 0;
}

uint32_t extmap_find(const struct extmap *m, uint64_t lblk)
{
	uint32_t lo = 0, hi = m->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if ((uint64_t)m->e[mid].lblk + m->e[mid].len <= lblk)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint64_t extmap_hole_len(const struct extmap *m, uint64_t lblk, uint64_t max)
{
	uint32_t i = extmap_find(m, lblk);
	uint64_t next = i < m->n ? m->e[i].lblk : LBLK_LIMIT;

	if (next <= lblk)
		return 0;
	return next - lblk < max ? next - lblk : max;
}

static bool mergeable(const struct udaxfs_extent *a, const struct udaxfs_extent *b)
{
	return (uint64_t)a->lblk + a->len == b->lblk && a->pblk + a->len == b->pblk &&
	       (uint64_t)a->len + b->len <= UINT32_MAX;
}

static int extmap_insert_at(struct extmap *m, uint32_t i, const struct udaxfs_extent *e)
{
	int ret = extmap_reserve(m, m->n + 1);

	if (ret)
		return ret;
	memmove(m->e + i + 1, m->e + i, (m->n - i) * sizeof(*e));
	m->e[i] = *e;
	m->n++;
	return 0;
}

static void extmap_delete_at(struct extmap *m, uint32_t i)
{
	memmove(m->e + i, m->e + i + 1, (m->n - i - 1) * sizeof(*m->e));
	m->n--;
}

/* Maps [lblk, lblk+len) to [pblk, ...); the caller guarantees it was a hole. */
int extmap_insert(struct extmap *m, uint64_t lblk, uint64_t pblk, uint64_t len)
{
	struct udaxfs_extent e = {.pblk = pblk, .lblk = (uint32_t)lblk, .len = (uint32_t)len};
	uint32_t i = extmap_find(m, lblk);

	if (i > 0 && mergeable(&m->e[i - 1], &e)) {
		m->e[i - 1].len += e.len;
		if (i < m->n && mergeable(&m->e[i - 1], &m->e[i])) {
			m->e[i - 1].len += m->e[i].len;
			extmap_delete_at(m, i);
		}
		return 0;
	}
	if (i < m->n && mergeable(&e, &m->e[i])) {
		m->e[i].lblk = e.lblk;
		m->e[i].pblk = e.pblk;
		m->e[i].len += e.len;
		return 0;
	}
	return extmap_insert_at(m, i, &e);
}

/* Splits the extent that strictly contains @lblk so that one starts there. */
static int extmap_split(struct extmap *m, uint64_t lblk)
{
	uint32_t i = extmap_find(m, lblk);
	struct udaxfs_extent tail;

	if (i == m->n || m->e[i].lblk >= lblk)
		return 0;
	tail = m->e[i];
	tail.lblk = (uint32_t)lblk;
	tail.pblk += lblk - m->e[i].lblk;
	tail.len -= (uint32_t)(lblk - m->e[i].lblk);
	m->e[i].len -= tail.len;
	return extmap_insert_at(m, i + 1, &tail);
}

int extmap_remove(struct udaxfs *fs, struct extmap *m, uint64_t lblk, uint64_t len)
{
	uint64_t end = lblk + len > LBLK_LIMIT ? LBLK_LIMIT : lblk + len;
	uint32_t i;
	int ret;

	if (lblk >= end)
		return 0;
	ret = extmap_split(m, lblk);
	if (!ret)
		ret = extmap_split(m, end);
	if (ret)
		return ret;
	i = extmap_find(m, lblk);
	while (i < m->n && m->e[i].lblk < end) {
		ret = alloc_set(fs, m->e[i].pblk, m->e[i].len, false);
		if (ret)
			return ret;
		extmap_delete_at(m, i);
	}
	return 0;
}

/*
 * Pieces of at most FREE_PIECE blocks touch at most 17 bitmap blocks; the
 * transaction is checkpointed when fewer than TX_RESERVE blocks are left, which
 * covers a piece, a whole extent chain, the inode and the caller's last changes.
 */
#define FREE_PIECE (16u * UDAXFS_BLOCK * 8)
#define TX_RESERVE (UDAXFS_EXT_CHAIN_MAX + 32u)

static int checkpoint(struct udaxfs *fs, uint64_t ino, struct udaxfs_inode *di, struct extmap *m)
{
	int ret = extmap_store(fs, ino, di, m);

	if (!ret)
		ret = inode_write(fs, ino, di);
	if (!ret)
		ret = tx_commit(fs);
	tx_begin(fs);
	return ret;
}

int extmap_truncate(struct udaxfs *fs, uint64_t ino, struct udaxfs_inode *di, struct extmap *m,
		    uint64_t lblk)
{
	while (m->n) {
		struct udaxfs_extent *last = &m->e[m->n - 1];
		uint64_t end = (uint64_t)last->lblk + last->len, start = last->lblk;
		int ret;

		if (end <= lblk)
			break;
		start = start > lblk ? start : lblk;
		if (end - start > FREE_PIECE)
			start = end - FREE_PIECE;
		ret = extmap_remove(fs, m, start, end - start);
		if (!ret && fs->tx.n > UDAXFS_TX_MAX - TX_RESERVE)
			ret = checkpoint(fs, ino, di, m);
		if (ret)
			return ret;
	}
	return 0;
}

int extmap_shift(struct extmap *m, uint64_t from, uint64_t delta, bool down)
{
	uint32_t i;
	int ret;

	if (!down && m->n &&
	    (uint64_t)m->e[m->n - 1].lblk + m->e[m->n - 1].len + delta > LBLK_LIMIT)
		return udax_err(EFBIG, "shift by %llu blocks exceeds the file size limit",
				(unsigned long long)delta);
	ret = extmap_split(m, from);
	if (ret)
		return ret;
	for (i = extmap_find(m, from); i < m->n; i++)
		m->e[i].lblk = (uint32_t)(down ? m->e[i].lblk - delta : m->e[i].lblk + delta);
	return 0;
}
