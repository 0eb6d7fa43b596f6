// SPDX-License-Identifier: MIT
/* The 2 MiB-aware allocator, fiemap, and the iomap interface of udaxfs. */
#include "fs/fs.h"
#include "fs/udaxfs.h"
#include "fstest.h"

#define PMD (2 * MIB)

static struct udax_fs *fs;

static struct udax_file *write_file(const char *path, uint64_t off, uint64_t len)
{
	static uint8_t buf[8 * MIB];
	struct udax_file *f;

	CHECK(len <= sizeof(buf));
	CHECK_OK(udax_open(fs, path, O_CREAT | O_RDWR, 0644, &f));
	fill_pattern(buf, len, off, 3);
	CHECK_EQ(udax_pwrite(f, buf, len, (off_t)off), len);
	return f;
}

/* Bytes of the file in PMD-mappable 2 MiB ranges, checking each extent's claim. */
static uint64_t pmd_bytes(struct udax_file *f)
{
	struct udax_extent ext[64];
	uint64_t total = 0;
	int n = udax_fiemap(f, ext, 64);

	CHECK(n >= 0 && n <= 64);
	CHECK_EQ(udax_fiemap(f, NULL, 0), n);
	for (int i = 0; i < n; i++) {
		if (ext[i].flags & UDAX_EXTENT_PMD)
			CHECK_EQ((ext[i].logical - ext[i].physical) % PMD, 0);
		total += ext[i].pmd_bytes;
	}
	return total;
}

static void test_large_file(void)
{
	struct udax_file *f = write_file("/big", 0, 4 * MIB + 100);
	struct udax_extent ext[4];

	CHECK_EQ(pmd_bytes(f), 6 * MIB); /* the tail range was allocated whole too */
	CHECK_EQ(udax_fiemap(f, ext, 4), 1);
	CHECK_EQ(ext[0].physical % PMD, 0);
	CHECK_EQ(ext[0].length, 6 * MIB);
	CHECK_OK(udax_close(f));
}

static void test_growing_file(void)
{
	/* small first: 4 KiB blocks; then it grows past 2 MiB: the next range is huge */
	struct udax_file *f = write_file("/grow", 0, 8192);

	CHECK_EQ(pmd_bytes(f), 0);
	CHECK_EQ(udax_pwrite(f, "x", 1, (off_t)(3 * MIB)), 1);
	CHECK_EQ(pmd_bytes(f), 2 * MIB);
	/* fallocate over a whole aligned range of a file gets a huge extent */
	CHECK_OK(udax_fallocate(f, UDAX_FALLOC_KEEP_SIZE, 6 * MIB, 2 * MIB));
	CHECK_EQ(pmd_bytes(f), 4 * MIB);
	CHECK_OK(udax_close(f));
}

static void test_aging(void)
{
	struct udax_statfs before, after;
	struct udax_file *f;
	char path[32];

	CHECK_OK(udax_statfs(fs, &before));
	for (int i = 0; i < 300; i++) {
		snprintf(path, sizeof(path), "/s%d", i);
		f = write_file(path, 0, 100 + (uint64_t)i * 13);
		CHECK_OK(udax_close(f));
		if (i % 2) {
			snprintf(path, sizeof(path), "/s%d", i - 1);
			CHECK_OK(udax_unlink(fs, path));
		}
	}
	CHECK_OK(udax_statfs(fs, &after));
	/* 150 small files and the directory fill the group /grow's small blocks opened */
	CHECK_EQ(after.pmd_free, before.pmd_free);
	f = write_file("/big2", 0, 8 * MIB);
	CHECK_EQ(pmd_bytes(f), 8 * MIB);
	CHECK_OK(udax_close(f));
}

/* The iomap ops as the DAX core sees them, on a pool mounted below the API. */
static void test_iomap(const char *pool)
{
	struct udaxfs_node *node;
	struct udax_extent ext;
	struct udax_file *f;
	uint64_t dirty_addr;
	struct udaxfs *ufs;
	struct iomap m;

	/* leave a freed block full of 0xff where the next small allocation goes */
	fs = fstest_mount(pool);
	CHECK_OK(udax_open(fs, "/io", O_CREAT | O_RDWR, 0644, &f));
	CHECK_OK(udax_fallocate(f, 0, 0, 4096));
	CHECK_OK(udax_close(f));
	f = write_file("/dirty", 0, 4096);
	CHECK_EQ(udax_fiemap(f, &ext, 1), 1);
	dirty_addr = ext.physical;
	memset(&ext, 0xff, sizeof(ext));
	CHECK_EQ(udax_pwrite(f, &ext, sizeof(ext), 0), sizeof(ext));
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unlink(fs, "/dirty"));
	CHECK_OK(udax_unmount(fs));

	CHECK_OK(udaxfs_mount(pool, &ufs));
	CHECK_OK(udaxfs_open(ufs, "/io", O_RDWR, 0, &node));
	CHECK_OK(udaxfs_iomap_ops.iomap_begin(node, 100, 10, IOMAP_REPORT, &m));
	CHECK_EQ(m.type, IOMAP_MAPPED);
	CHECK_EQ(m.offset, 0);
	CHECK_EQ(m.length, 4096);
	/* a lookup reports the size with the extent (reads stop at it) */
	CHECK_EQ(m.flags, IOMAP_F_SIZE);
	CHECK_EQ(m.size, 4096);
	CHECK_OK(udaxfs_iomap_ops.iomap_end(node, 100, 10, 0, IOMAP_REPORT, &m));
	CHECK_OK(udaxfs_iomap_ops.iomap_begin(node, 5 * 4096 + 1, 10, IOMAP_REPORT, &m));
	CHECK_EQ(m.type, IOMAP_HOLE);
	CHECK_EQ(m.offset, 5 * 4096);
	CHECK_OK(udaxfs_iomap_ops.iomap_end(node, 5 * 4096 + 1, 10, 0, IOMAP_REPORT, &m));
	/* a write into the hole allocates zeroed, durable blocks: NEW, never DIRTY */
	CHECK_OK(udaxfs_iomap_ops.iomap_begin(node, 5 * 4096 + 1, 10, IOMAP_WRITE, &m));
	CHECK_EQ(m.type, IOMAP_MAPPED);
	CHECK_EQ(m.flags, IOMAP_F_NEW);
	CHECK_EQ(m.offset, 5 * 4096);
	CHECK_EQ(m.length, 4096);
	/* the block is one /dirty had: allocation zeroed it */
	CHECK_EQ(m.addr, dirty_addr);
	for (int i = 0; i < 4096; i++)
		CHECK_EQ(((uint8_t *)m.base)[m.addr + (uint64_t)i], 0);
	CHECK_OK(udaxfs_iomap_ops.iomap_end(node, 5 * 4096 + 1, 10, 10, IOMAP_WRITE, &m));
	CHECK_OK(udaxfs_iomap_ops.iomap_begin(node, 5 * 4096 + 1, 10, IOMAP_WRITE, &m));
	CHECK_EQ(m.flags, 0);
	CHECK_OK(udaxfs_iomap_ops.iomap_end(node, 5 * 4096 + 1, 10, 0, IOMAP_WRITE, &m));
	/* the next block merges into that extent, but NEW reports only the new block */
	CHECK_OK(udaxfs_iomap_ops.iomap_begin(node, 6 * 4096, 4096, IOMAP_WRITE, &m));
	CHECK_EQ(m.flags, IOMAP_F_NEW);
	CHECK_EQ(m.offset, 6 * 4096);
	CHECK_EQ(m.length, 4096);
	CHECK_EQ(m.addr, dirty_addr + 4096);
	CHECK_OK(udaxfs_iomap_ops.iomap_end(node, 6 * 4096, 4096, 0, IOMAP_WRITE, &m));
	CHECK_OK(udaxfs_iomap_ops.iomap_begin(node, 5 * 4096, 10, IOMAP_REPORT, &m));
	CHECK_EQ(m.offset, 5 * 4096);
	CHECK_EQ(m.length, 2 * 4096);
	CHECK_OK(udaxfs_iomap_ops.iomap_end(node, 5 * 4096, 10, 0, IOMAP_REPORT, &m));
	CHECK_OK(udaxfs_close(node));
	CHECK_OK(udaxfs_unmount(ufs));
}

/* A transaction with blocks [base + 61, base + 131) in use: ragged ends in two words. */
static void set_ragged(struct udaxfs *ufs, uint64_t base)
{
	tx_abort(ufs); /* a failed alloc_set leaves its transaction to be aborted */
	tx_begin(ufs);
	CHECK_OK(alloc_set(ufs, base + 61, 70, true)); /* bits 61-63, a whole word, 0-2 */
}

static void check_clash(const char *want_fmt, uint64_t blk)
{
	char want[64];

	snprintf(want, sizeof(want), want_fmt, (unsigned long long)blk);
	CHECK(strstr(test_errormsg(), want));
}

/* The bitmap's word-at-a-time updates: ragged runs across words, and the exact block of a clash. */
static void test_alloc_set(const char *pool)
{
	struct udaxfs *ufs;
	uint64_t free_before, pmd, base;

	CHECK_OK(udaxfs_mount(pool, &ufs));
	base = ufs->sb.nblocks - 4 * UDAXFS_PMD_BLOCKS; /* free space at the end of the pool */
	tx_begin(ufs);
	free_before = alloc_count_free(ufs, &pmd);
	set_ragged(ufs, base);
	for (uint64_t b = base + 55; b < base + 140; b++)
		CHECK_EQ(alloc_test(ufs, b), b >= base + 61 && b < base + 131);
	CHECK_EQ(alloc_count_free(ufs, &pmd), free_before - 70);
	/* a clash names its first block */
	CHECK_ERR(alloc_set(ufs, base + 40, 30, true), EUCLEAN);
	check_clash("block %llu is already in use", base + 61);
	set_ragged(ufs, base);
	CHECK_ERR(alloc_set(ufs, base + 120, 20, false), EUCLEAN);
	check_clash("block %llu is already free", base + 131);
	set_ragged(ufs, base);
	CHECK_OK(alloc_set(ufs, base + 61, 70, false));
	CHECK_EQ(alloc_count_free(ufs, &pmd), free_before);
	CHECK_OK(alloc_set(ufs, base, 3 * UDAXFS_PMD_BLOCKS, true)); /* whole words only */
	CHECK_EQ(alloc_count_free(ufs, &pmd), free_before - 3 * UDAXFS_PMD_BLOCKS);
	CHECK(alloc_test(ufs, base) && alloc_test(ufs, base + 3 * UDAXFS_PMD_BLOCKS - 1));
	CHECK(!alloc_test(ufs, base + 3 * UDAXFS_PMD_BLOCKS));
	tx_abort(ufs);

	/* small allocations take the first free run of a partly used group, scanned by words */
	tx_begin(ufs);
	base &= ~(uint64_t)(UDAXFS_PMD_BLOCKS - 1);
	CHECK_OK(alloc_set(ufs, base, 61, true));
	CHECK_OK(alloc_set(ufs, base + 65, 135, true)); /* free: 61-64, then 200 on */
	ufs->small_hint = base / UDAXFS_PMD_BLOCKS;
	{
		uint64_t blk, got;

		CHECK_OK(alloc_small(ufs, 10, &blk, &got));
		CHECK_EQ(blk, base + 61);
		CHECK_EQ(got, 4); /* the run ends at the next used block */
		CHECK_OK(alloc_small(ufs, 2, &blk, &got));
		CHECK_EQ(blk, base + 200);
		CHECK_EQ(got, 2);
		CHECK_OK(alloc_small(ufs, 1000, &blk, &got));
		CHECK_EQ(blk, base + 202);
		CHECK_EQ(got, UDAXFS_PMD_BLOCKS - 202); /* up to the group's end */
	}
	tx_abort(ufs); /* nothing of it reaches the media */
	CHECK_EQ(alloc_count_free(ufs, &pmd), free_before);
	CHECK_OK(udaxfs_unmount(ufs));
}

/*
 * extmap_store rewrites only the extent blocks whose contents change: a map of
 * three chain blocks stored again unchanged touches none, a change in the last
 * block touches that one alone.
 */
static void test_extmap_store_skips(const char *pool)
{
	uint64_t blks[UDAXFS_EXT_CHAIN_MAX];
	struct udaxfs_node *node;
	struct udaxfs_inode di;
	struct udax_file *f;
	struct udaxfs *ufs;
	struct extmap m;
	int nchain;

	/* 6 MiB allocated, then every other 4 KiB punched: 768 extents */
	fs = fstest_mount(pool);
	CHECK_OK(udax_open(fs, "/frag", O_CREAT | O_RDWR, 0644, &f));
	CHECK_OK(udax_fallocate(f, 0, 0, 6 * MIB));
	for (uint64_t off = 4096; off < 6 * MIB; off += 8192)
		CHECK_OK(udax_fallocate(f, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
					(off_t)off, 4096));
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));

	CHECK_OK(udaxfs_mount(pool, &ufs));
	CHECK_OK(udaxfs_open(ufs, "/frag", O_RDWR, 0, &node));
	tx_begin(ufs);
	CHECK_OK(inode_read(ufs, node->ino, &di));
	CHECK_EQ(di.nextents, 768);
	nchain = extmap_chain_blocks(ufs, node->ino, &di, blks, UDAXFS_EXT_CHAIN_MAX);
	CHECK_EQ(nchain, 3);
	CHECK_OK(extmap_load(ufs, node->ino, &di, &m));
	CHECK_OK(extmap_store(ufs, node->ino, &di, &m));
	for (int i = 0; i < nchain; i++)
		CHECK(!tx_has(ufs, blks[i]));
	m.n--; /* without the last extent only the last block's contents change */
	CHECK_OK(extmap_store(ufs, node->ino, &di, &m));
	CHECK(!tx_has(ufs, blks[0]));
	CHECK(!tx_has(ufs, blks[1]));
	CHECK(tx_has(ufs, blks[2]));
	tx_abort(ufs);
	extmap_free(&m);
	CHECK_OK(udaxfs_close(node));
	CHECK_OK(udaxfs_unmount(ufs));
}

int main(void)
{
	const char *pool;

	test_watchdog(60);
	pool = fstest_pool("alloc.pool", 64 * MIB);
	fs = fstest_mount(pool);
	test_large_file();
	test_growing_file();
	test_aging();
	CHECK_OK(udax_unmount(fs));
	test_iomap(pool);
	test_alloc_set(pool);
	test_extmap_store_skips(pool);
	fstest_fsck_clean(pool);
	return 0;
}
