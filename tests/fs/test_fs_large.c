// SPDX-License-Identifier: MIT
/*
 * Freeing a file whose blocks span more bitmap blocks than one journal
 * transaction holds (a 40 GiB sparse pool, a file with one block in each of
 * 300 128 MiB regions, built directly on the media): unlink and truncate must
 * succeed, free everything, and leave fsck clean.
 */
#include "fstest.h"

#define NEXT	  300u
#define REGION	  (UDAXFS_BLOCK * 8ull) /* blocks one bitmap block covers */
#define POOL_SIZE (40ull << 30)

static const char *pool;

static void set_bits(const struct udaxfs_super *sb, uint64_t blk)
{
	uint64_t off = sb->bitmap_start * UDAXFS_BLOCK + blk / 8;
	uint8_t b;

	pool_rw(pool, false, off, &b, 1);
	b |= (uint8_t)(1u << blk % 8);
	pool_rw(pool, true, off, &b, 1);
}

/* Gives empty file @ino NEXT one-block extents, each in its own bitmap region. */
static void scatter(uint64_t ino)
{
	struct udaxfs_super sb = read_super(pool, 0);
	struct udaxfs_inode di = read_inode(pool, ino);
	struct udaxfs_extent ext[NEXT];
	uint64_t chain[2] = {sb.data_start + 50, sb.data_start + 51};
	unsigned done = UDAXFS_INLINE_EXTENTS;

	CHECK_EQ(di.nextents, 0);
	set_zero_mark(pool, sb.nblocks); /* as allocating the blocks would have raised it */
	for (unsigned i = 0; i < NEXT; i++) {
		ext[i] = (struct udaxfs_extent){
			.pblk = sb.data_start + 100 + i * REGION, .lblk = i, .len = 1};
		set_bits(&sb, ext[i].pblk);
	}
	memcpy(di.ext, ext, sizeof(di.ext));
	for (unsigned c = 0; c < 2; c++) {
		struct udaxfs_extblock b = {.magic = UDAXFS_EXTB_MAGIC, .owner = ino};

		b.next = c ? 0 : chain[1];
		b.count = c ? NEXT - done : UDAXFS_EXTB_EXTENTS;
		memcpy(b.ext, ext + done, b.count * sizeof(ext[0]));
		done += b.count;
		b.crc = crc32c_skip(&b, sizeof(b), offsetof(struct udaxfs_extblock, crc));
		pool_rw(pool, true, chain[c] * UDAXFS_BLOCK, &b, sizeof(b));
		set_bits(&sb, chain[c]);
	}
	di.nextents = NEXT;
	di.ext_block = chain[0];
	di.size = NEXT * UDAXFS_BLOCK;
	write_inode(pool, ino, &di);
}

static uint64_t create(struct udax_fs *fs, const char *path)
{
	struct udax_file *f;
	struct udax_stat st;

	CHECK_OK(udax_open(fs, path, O_CREAT | O_RDWR, 0644, &f));
	CHECK_OK(udax_fstat(f, &st));
	CHECK_OK(udax_close(f));
	return st.ino;
}

int main(void)
{
	struct udax_statfs st;
	struct udax_fs *fs;
	struct udax_file *f;
	uint64_t ino;
	char path[512];

	test_watchdog(60);
	snprintf(path, sizeof(path), "%s/large.pool", test_tmpdir());
	if (udax_mkfs(path, POOL_SIZE, &(struct udax_mkfs_opts){.ninodes = 64}) == -ENOSPC)
		test_skip("no room for a %llu-byte sparse file", POOL_SIZE);
	pool = path;
	CHECK_EQ(read_super(pool, 0).bitmap_blocks, 320);

	fs = fstest_mount(pool);
	ino = create(fs, "/f");
	CHECK_OK(udax_unmount(fs));
	scatter(ino);
	CHECK_EQ(fsck_count(pool, 0), 0);
	fs = fstest_mount(pool);
	CHECK_OK(udax_stat(fs, "/f", &(struct udax_stat){0}));
	CHECK_OK(udax_unlink(fs, "/f"));
	CHECK_OK(udax_statfs(fs, &st));
	CHECK_EQ(st.blocks_free, st.blocks - 1); /* the root directory's block */
	ino = create(fs, "/g");
	CHECK_OK(udax_unmount(fs));
	CHECK_EQ(fsck_count(pool, 0), 0);

	scatter(ino);
	fs = fstest_mount(pool);
	CHECK_OK(udax_open(fs, "/g", O_RDWR, 0, &f));
	CHECK_OK(udax_ftruncate(f, UDAXFS_BLOCK));
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_statfs(fs, &st));
	CHECK_EQ(st.blocks_free, st.blocks - 2);
	CHECK_OK(udax_unmount(fs));
	CHECK_EQ(fsck_count(pool, 0), 0);
	return 0;
}
