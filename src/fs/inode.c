// SPDX-License-Identifier: MIT
/* Inodes: the inode table on the media, and the open-node list in memory. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "pmem/pmem.h"
#include "fs/crc32c.h"
#include "fs/fs.h"

static uint64_t inode_blk(const struct udaxfs *fs, uint64_t ino)
{
	return fs->sb.itable_start + ino / UDAXFS_INODES_PER_BLOCK;
}

static size_t inode_off(uint64_t ino)
{
	return (ino % UDAXFS_INODES_PER_BLOCK) * sizeof(struct udaxfs_inode);
}

bool inode_valid_ino(const struct udaxfs *fs, uint64_t ino)
{
	return ino >= UDAXFS_ROOT_INO && ino < fs->sb.ninodes;
}

uint32_t udaxfs_inode_crc(const struct udaxfs_inode *di)
{
	struct udaxfs_inode c = *di;

	c.size = 0;
	c.mtime_ns = 0;
	c.ctime_ns = 0;
	c.zero_from = 0;
	c.crc = 0; /* what crc32c_skip does, in one pass over the copy */
	return crc32c(0, &c, sizeof(c));
}

int inode_check(const struct udaxfs *fs, uint64_t ino, const struct udaxfs_inode *di)
{
	const char *why = NULL;

	if (di->crc != udaxfs_inode_crc(di))
		why = "checksum mismatch";
	else if (!S_ISREG(di->mode) && !S_ISDIR(di->mode))
		why = "bad file type";
	else if (di->flags & ~UDAXFS_INODE_ORPHAN)
		why = "unknown flags";
	else if (di->nextents > UDAXFS_INLINE_EXTENTS && !di->ext_block)
		why = "extents overflow with no extent block";
	else if (di->ext_block &&
		 (di->ext_block < fs->sb.data_start || di->ext_block >= fs->sb.nblocks))
		why = "extent block outside the data area";
	else if (S_ISDIR(di->mode) && (di->size % UDAXFS_BLOCK || !inode_valid_ino(fs, di->parent)))
		why = "bad directory size or parent";
	else if (di->size > ((uint64_t)UINT32_MAX << UDAXFS_BLOCK_SHIFT))
		why = "size too large";
	if (why)
		return udax_err(EUCLEAN, "inode %llu: %s", (unsigned long long)ino, why);
	return 0;
}

int inode_read(struct udaxfs *fs, uint64_t ino, struct udaxfs_inode *di)
{
	if (!inode_valid_ino(fs, ino))
		return udax_err(EUCLEAN, "inode number %llu out of range", (unsigned long long)ino);
	memcpy(di, (const uint8_t *)tx_read(fs, inode_blk(fs, ino)) + inode_off(ino), sizeof(*di));
	if (!di->mode)
		return udax_err(EUCLEAN, "inode %llu is free", (unsigned long long)ino);
	return inode_check(fs, ino, di);
}

int inode_write(struct udaxfs *fs, uint64_t ino, struct udaxfs_inode *di)
{
	uint8_t *b;
	int ret = tx_write(fs, inode_blk(fs, ino), (void **)&b);

	if (ret)
		return ret;
	di->crc = udaxfs_inode_crc(di);
	memcpy(b + inode_off(ino), di, sizeof(*di));
	return 0;
}

/*
 * Stores @di's size, mtime and ctime into inode @ino in place, with no
 * transaction: one aligned 8-byte store each, then one persist of their cache
 * line (bytes 16..47 of the 256-byte-aligned inode). Each field is atomic on
 * its own, the crc does not cover them, and a crash between the stores leaves
 * a new size with an old mtime, which is harmless. Inside a transaction that
 * already changed blocks, the inode goes through it instead, so a commit can
 * never write an older image over the stores.
 */
static struct udaxfs_inode *inode_home(const struct udaxfs *fs, uint64_t ino)
{
	return (struct udaxfs_inode *)(fs->base + blk_off(inode_blk(fs, ino)) + inode_off(ino));
}

/* Where the size of @ino lives on the media; the lockless read loads it from there. */
const uint64_t *inode_size_home(const struct udaxfs *fs, uint64_t ino)
{
	return &inode_home(fs, ino)->size;
}

static void store_size_times(struct udaxfs *fs, uint64_t ino, const struct udaxfs_inode *di)
{
	struct udaxfs_inode *home = inode_home(fs, ino);

	__atomic_store_n(&home->size, di->size, __ATOMIC_RELAXED);
	__atomic_store_n(&home->mtime_ns, di->mtime_ns, __ATOMIC_RELAXED);
	__atomic_store_n(&home->ctime_ns, di->ctime_ns, __ATOMIC_RELAXED);
	pmem_flush(fs->pm, &home->size,
		   offsetof(struct udaxfs_inode, generation) - offsetof(struct udaxfs_inode, size));
}

/*
 * The size of open inode @ino as the transaction sees it, read alone: the crc
 * does not cover it, and the inode was checked when the file was opened, so
 * the I/O path skips inode_read's copy and verification of the whole inode.
 */
uint64_t inode_size(struct udaxfs *fs, uint64_t ino)
{
	const struct udaxfs_inode *di =
		(const struct udaxfs_inode *)((const uint8_t *)tx_read(fs, inode_blk(fs, ino)) +
					      inode_off(ino));

	return __atomic_load_n(&di->size, __ATOMIC_RELAXED);
}

/* Where @di's bytes are known to be zero from (format.h, zero_from). */
static uint64_t zero_from(const struct udaxfs_inode *di, uint64_t size)
{
	uint64_t z = __atomic_load_n(&di->zero_from, __ATOMIC_RELAXED);

	return z > blk_round_up(size) ? z : blk_round_up(size);
}

/* zero_from lies past the last block: only a crash during an append leaves that open. */
static bool zero_from_past_eof(const struct udaxfs_inode *di)
{
	return S_ISREG(di->mode) && di->zero_from > blk_round_up(di->size);
}

static void store_zero_from(struct udaxfs *fs, uint64_t ino, uint64_t z)
{
	struct udaxfs_inode *home = inode_home(fs, ino);

	__atomic_store_n(&home->zero_from, z, __ATOMIC_RELAXED);
	pmem_flush(fs->pm, &home->zero_from, sizeof(home->zero_from));
}

/*
 * An append's size (SIZE_APPEND: data goes only past the old size) shares the
 * epoch of its data: the fence of the data's copy covers both, and a crash
 * may keep either without the other. Bytes that reach the media past the
 * durable size stay out of the file because zero_from is raised first, in
 * 2 MiB steps once the file is 2 MiB long (to the end of the block before),
 * and fenced (once per 2 MiB of appends): the first open after
 * a crash zeroes [size, zero_from) (inode_zero_past_eof). An append that only
 * fills holes (SIZE_ALLOC) needs neither: the commit of its blocks, before
 * any byte is stored in them, fences the size too. Any other new size
 * (SIZE_FIRST: a write that also overwrites, a shrink) is durable before the
 * data. New times alone need no order: the fence of the write's own copy
 * covers them before it returns, and a crash before it may keep the old ones.
 */
int inode_set_size(struct udaxfs *fs, uint64_t ino, uint64_t size, enum size_order order)
{
	struct udaxfs_inode di;
	uint64_t old;
	int ret;

	if (fs->tx.n) {
		ret = inode_read(fs, ino, &di);
		if (ret)
			return ret;
		di.size = size;
		inode_touch(&di, true);
		return inode_write(fs, ino, &di);
	}
	old = inode_size(fs, ino);
	di.size = size; /* the only fields store_size_times reads */
	inode_touch(&di, true);
	journal_settle(fs);
	if (order == SIZE_APPEND && size > old && size > zero_from(inode_home(fs, ino), old)) {
		/* small files stop at their last block: their last close lowers nothing */
		store_zero_from(fs, ino,
				size < PMD_BYTES ? blk_round_up(size) : pmd_round_up(size));
#ifndef UDAX_BROKEN_ZERO_FROM_UNFENCED
		pmem_drain(fs->pm);
#endif
	}
	store_size_times(fs, ino, &di);
	if (size != old && (order == SIZE_FIRST || size < old))
		pmem_drain(fs->pm);
	return 0;
}

/*
 * Lowers zero_from to the end of the last block, where nothing past EOF is
 * left to zero (after inode_zero_past_eof, or at the last close, when no write
 * is under way). Not fenced: a crash that loses it leaves the higher value,
 * which only claims less; the same holds for a replay of an older inode.
 */
static int lower_zero_from(struct udaxfs *fs, uint64_t ino, struct udaxfs_inode *di)
{
	di->zero_from = blk_round_up(di->size);
	if (fs->tx.n)
		return inode_write(fs, ino, di);
	store_zero_from(fs, ino, di->zero_from);
	return 0;
}

int inode_zero_past_eof(struct udaxfs *fs, uint64_t ino)
{
	struct udaxfs_inode di;
	struct extmap m;
	int ret = inode_read(fs, ino, &di);

	if (ret || !zero_from_past_eof(&di))
		return ret;
#ifdef UDAX_BROKEN_ZERO_FROM_NO_REPAIR
	return 0; /* the bug: bytes past EOF stay, for a later growth to show */
#endif
	ret = extmap_load(fs, ino, &di, &m);
	if (ret)
		return ret;
	zero_mapped_bytes(fs, &m, di.size, di.zero_from - di.size);
	extmap_free(&m);
	return lower_zero_from(fs, ino, &di);
}

/* Equal but for mtime, ctime and crc. */
static bool same_but_times(const struct udaxfs_inode *a, const struct udaxfs_inode *b)
{
	struct udaxfs_inode x = *a, y = *b;

	x.mtime_ns = y.mtime_ns = x.ctime_ns = y.ctime_ns = 0;
	x.crc = y.crc = 0;
	return !memcmp(&x, &y, sizeof(x));
}

/*
 * Writes @di like inode_write, except when it differs from the inode as the
 * transaction sees it only in mtime and ctime and the inode's block is not in
 * the transaction: then the times wait and are stored in place right after
 * the commit (inode_touch_commit), so the block is not journaled for them.
 * Both are durable when the operation returns; a crash between the commit and
 * the stores leaves the committed change with the old times.
 */
int inode_write_lazy(struct udaxfs *fs, uint64_t ino, struct udaxfs_inode *di)
{
	struct udaxfs_inode cur;
	struct tx_touch *t = fs->tx.touch;
	unsigned i;

	if (tx_has(fs, inode_blk(fs, ino)) || inode_read(fs, ino, &cur) ||
	    !same_but_times(&cur, di))
		return inode_write(fs, ino, di);
	for (i = 0; i < fs->tx.ntouch && t[i].ino != ino; i++)
		;
	if (i == TX_TOUCH_MAX)
		return inode_write(fs, ino, di);
	fs->tx.ntouch += i == fs->tx.ntouch;
	t[i].ino = ino;
	t[i].mtime_ns = di->mtime_ns;
	t[i].ctime_ns = di->ctime_ns;
	return 0;
}

/*
 * After a commit (no changes open): stores the times inode_write_lazy kept
 * back, as inode_set_size does, with one fence for all of them. No
 * journal_settle: the lines stored are not in the transaction's log, or (the
 * operation wrote the inode after all) hold there the values a replay would
 * bring back anyway.
 */
void inode_touch_commit(struct udaxfs *fs)
{
	struct udaxfs_inode di;

	for (unsigned i = 0; i < fs->tx.ntouch; i++) {
		const struct tx_touch *t = &fs->tx.touch[i];

		/* the operation may have freed the inode since */
		if (inode_read(fs, t->ino, &di))
			continue;
		di.mtime_ns = t->mtime_ns;
		di.ctime_ns = t->ctime_ns;
		store_size_times(fs, t->ino, &di);
	}
	if (fs->tx.ntouch)
		pmem_drain(fs->pm);
}

int64_t udaxfs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void inode_touch(struct udaxfs_inode *di, bool mtime)
{
	di->ctime_ns = udaxfs_now_ns();
	if (mtime)
		di->mtime_ns = di->ctime_ns;
}

static bool inode_is_free(struct udaxfs *fs, uint64_t ino)
{
	const uint8_t *b = tx_read(fs, inode_blk(fs, ino));

	return ((const struct udaxfs_inode *)(b + inode_off(ino)))->mode == 0;
}

int inode_alloc(struct udaxfs *fs, uint32_t mode, uint64_t *ino, struct udaxfs_inode *di)
{
	uint64_t n = fs->sb.ninodes - UDAXFS_ROOT_INO;

	for (uint64_t i = 0; i < n; i++) {
		uint64_t cand = UDAXFS_ROOT_INO + (fs->ino_hint + i) % n;

		if (!inode_is_free(fs, cand))
			continue;
		memset(di, 0, sizeof(*di));
		di->mode = mode;
		/* the kernel's current_fsuid(): the effective ids, not the real ones */
		di->uid = (uint32_t)geteuid();
		di->gid = (uint32_t)getegid();
		di->atime_ns = di->mtime_ns = di->ctime_ns = udaxfs_now_ns();
		di->generation = fs->sb.mount_count;
		fs->ino_hint = cand - UDAXFS_ROOT_INO + 1;
		*ino = cand;
		return inode_write(fs, cand, di);
	}
	return udax_err(ENOSPC, "no free inodes");
}

bool inode_is_orphan(const struct udaxfs_inode *di)
{
	return !di->nlink && (di->flags & UDAXFS_INODE_ORPHAN);
}

/* Frees an inode and its blocks; it has no name left (an orphan). */
int inode_release(struct udaxfs *fs, uint64_t ino)
{
	struct udaxfs_inode di;
	struct extmap m;
	uint8_t *b;
	int ret;

	ret = inode_read(fs, ino, &di);
	if (!ret)
		ret = extmap_load(fs, ino, &di, &m);
	if (ret)
		return ret;
	dcache_forget(fs, ino);
	ret = extmap_truncate(fs, ino, &di, &m, 0);
	if (!ret)
		ret = extmap_store(fs, ino, &di, &m);
	extmap_free(&m);
	if (!ret)
		ret = tx_write(fs, inode_blk(fs, ino), (void **)&b);
	if (!ret)
		memset(b + inode_off(ino), 0, sizeof(di));
	return ret;
}

struct udaxfs_node *node_get(struct udaxfs *fs, uint64_t ino)
{
	struct udaxfs_node *node;

	for (node = fs->nodes; node; node = node->next) {
		if (node->ino == ino) {
			node->refs++;
			return node;
		}
	}
	node = calloc(1, sizeof(*node));
	if (!node) {
		udax_err(ENOMEM, "open inode %llu", (unsigned long long)ino);
		return NULL;
	}
	node->fs = fs;
	node->ino = ino;
	node->refs = 1;
	pthread_rwlock_init(&node->rw, NULL);
	rc_init(fs, node);
	node->next = fs->nodes;
	fs->nodes = node;
	return node;
}

bool node_is_open(struct udaxfs *fs, uint64_t ino)
{
	for (struct udaxfs_node *node = fs->nodes; node; node = node->next)
		if (node->ino == ino)
			return true;
	return false;
}

void node_map_drop(struct udaxfs *fs, uint64_t ino)
{
	for (struct udaxfs_node *node = fs->nodes; node; node = node->next)
		if (node->ino == ino) {
			node->map_valid = false;
			rc_drop(node);
		}
}

/* Drops a reference; the last one frees an unlinked inode (POSIX: usable until close). */
int node_put(struct udaxfs_node *node)
{
	struct udaxfs *fs = node->fs;
	struct udaxfs_node **pp;
	struct udaxfs_inode di;
	int ret = 0;

	if (--node->refs)
		return 0;
	for (pp = &fs->nodes; *pp != node; pp = &(*pp)->next)
		;
	*pp = node->next;
	tx_begin(fs);
	ret = inode_read(fs, node->ino, &di);
	if (!ret && inode_is_orphan(&di))
		ret = inode_release(fs, node->ino);
	else if (!ret && zero_from_past_eof(&di))
		ret = lower_zero_from(fs, node->ino, &di);
	ret = tx_end(fs, ret);
	pthread_rwlock_destroy(&node->rw);
	extmap_free(&node->map);
	free(node);
	return ret;
}

/* Frees inodes left with no name by a crash between unlink and last close. */
int orphans_release(struct udaxfs *fs, unsigned *count)
{
	struct udaxfs_inode di;
	int ret;

	*count = 0;
	for (uint64_t ino = UDAXFS_ROOT_INO + 1; ino < fs->sb.ninodes; ino++) {
		if (inode_is_free(fs, ino))
			continue;
		/* A corrupt inode is fsck's business; mount frees only sound orphans. */
		if (inode_read(fs, ino, &di) || !inode_is_orphan(&di))
			continue;
		tx_begin(fs);
		ret = tx_end(fs, inode_release(fs, ino));
		if (ret)
			return ret;
		++*count;
	}
	return 0;
}
