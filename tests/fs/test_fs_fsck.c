// SPDX-License-Identifier: MIT
/* fsck on deliberately damaged pools: each problem reported, repaired, data kept. */
#include "fstest.h"

static const char *pool;
static struct udaxfs_super sb;

static uint64_t make_file(const char *path, const char *content)
{
	struct udax_fs *fs = fstest_mount(pool);
	struct udax_file *f;
	struct udax_stat st;

	CHECK_OK(udax_open(fs, path, O_CREAT | O_RDWR, 0644, &f));
	CHECK_EQ(udax_pwrite(f, content, strlen(content), 0), strlen(content));
	CHECK_OK(udax_fstat(f, &st));
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));
	return st.ino;
}

static void expect_content(const char *path, const char *content)
{
	struct udax_fs *fs = fstest_mount(pool);
	struct udax_file *f;
	char buf[64] = {0};

	CHECK_OK(udax_open(fs, path, O_RDONLY, 0, &f));
	CHECK_EQ(udax_pread(f, buf, sizeof(buf), 0), strlen(content));
	CHECK(!strcmp(buf, content));
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));
}

/* fsck finds exactly @n problems, repair fixes them all. */
static void expect_repaired(int n)
{
	CHECK_EQ(fsck_count(pool, 0), n);
	CHECK_EQ(fsck_count(pool, 0), n); /* checking alone changes nothing */
	CHECK_EQ(fsck_count(pool, UDAX_FSCK_REPAIR), n);
	CHECK_EQ(fsck_count(pool, 0), 0);
}

static void set_bit(uint64_t blk, bool on)
{
	uint64_t off = sb.bitmap_start * UDAXFS_BLOCK + blk / 8;
	uint8_t b;

	pool_rw(pool, false, off, &b, 1);
	b = on ? b | (uint8_t)(1u << blk % 8) : b & (uint8_t) ~(1u << blk % 8);
	pool_rw(pool, true, off, &b, 1);
}

/* Removes the entry naming @ino from directory block @blk, behind the fs's back. */
static void unname(uint64_t blk, uint64_t ino)
{
	struct udaxfs_dirblock d;

	pool_rw(pool, false, blk * UDAXFS_BLOCK, &d, sizeof(d));
	for (unsigned i = 0; i < UDAXFS_DIRB_ENTRIES; i++)
		if (d.ent[i].ino == ino)
			d.ent[i].ino = 0;
	d.crc = crc32c_skip(&d, sizeof(d), offsetof(struct udaxfs_dirblock, crc));
	pool_rw(pool, true, blk * UDAXFS_BLOCK, &d, sizeof(d));
}

int main(void)
{
	struct udaxfs_inode di, root;
	uint64_t a, b, c;

	test_watchdog(60);
	pool = fstest_pool("fsck.pool", 16 * MIB);
	sb = read_super(pool, 0);
	set_zero_mark(pool, sb.nblocks); /* the images below are made by hand */
	sb = read_super(pool, 0);
	a = make_file("/a", "alpha");
	b = make_file("/b", "bravo");
	c = make_file("/c", "charlie");
	CHECK_EQ(fsck_count(pool, 0), 0);

	/* leaked blocks: marked in use, owned by nothing (one range) */
	set_bit(sb.nblocks - 3, true);
	set_bit(sb.nblocks - 2, true);
	expect_repaired(1);

	/* a file's block marked free: the allocator could hand it out again */
	di = read_inode(pool, a);
	set_bit(di.ext[0].pblk, false);
	expect_repaired(1);
	expect_content("/a", "alpha");

	/* a wrong link count */
	di = read_inode(pool, b);
	di.nlink = 5;
	write_inode(pool, b, &di);
	expect_repaired(1);
	CHECK_EQ(read_inode(pool, b).nlink, 1);

	/* an entry naming a free inode (its blocks leak too) */
	di = read_inode(pool, c);
	memset(&di, 0, sizeof(di));
	pool_rw(pool, true, inode_off(&sb, c), &di, sizeof(di));
	expect_repaired(2);

	/* an inode no entry names: linked back as /#ino, content intact */
	root = read_inode(pool, UDAXFS_ROOT_INO);
	unname(root.ext[0].pblk, b);
	expect_repaired(1);
	{
		char path[32];

		snprintf(path, sizeof(path), "/#%llu", (unsigned long long)b);
		expect_content(path, "bravo");
	}

	/* a directory nobody names: reconnected with its contents */
	{
		struct udax_fs *fs = fstest_mount(pool);
		struct udax_file *f;
		struct udax_stat st;
		char path[32];

		CHECK_OK(udax_mkdir(fs, "/sub", 0755));
		CHECK_OK(udax_open(fs, "/sub/x", O_CREAT | O_RDWR, 0644, &f));
		CHECK_EQ(udax_pwrite(f, "xray", 4, 0), 4);
		CHECK_OK(udax_close(f));
		CHECK_OK(udax_stat(fs, "/sub", &st));
		CHECK_OK(udax_unmount(fs));
		root = read_inode(pool, UDAXFS_ROOT_INO);
		unname(root.ext[0].pblk, st.ino);
		expect_repaired(1);
		snprintf(path, sizeof(path), "/#%llu/x", (unsigned long long)st.ino);
		expect_content(path, "xray");
		CHECK_EQ(read_inode(pool, UDAXFS_ROOT_INO).nlink, 3);
	}

	/* no name and nlink 0 but not marked orphan: repair marks it, mount frees it */
	{
		uint64_t e = make_file("/e", "echo");
		struct udax_statfs before, after;
		struct udax_fs *fs;

		fs = fstest_mount(pool);
		CHECK_OK(udax_statfs(fs, &before));
		CHECK_OK(udax_unmount(fs));
		di = read_inode(pool, e);
		di.nlink = 0;
		write_inode(pool, e, &di);
		root = read_inode(pool, UDAXFS_ROOT_INO);
		unname(root.ext[0].pblk, e);
		expect_repaired(1);
		CHECK_EQ(read_inode(pool, e).flags, UDAXFS_INODE_ORPHAN);
		fs = fstest_mount(pool);
		CHECK_OK(udax_statfs(fs, &after));
		CHECK_EQ(after.inodes_free, before.inodes_free + 1);
		CHECK_EQ(after.blocks_free, before.blocks_free + 1);
		CHECK_OK(udax_unmount(fs));
		CHECK_EQ(read_inode(pool, e).mode, 0);
	}

	/* two files claiming one block cannot be repaired, only reported */
	make_file("/d", "delta");
	di = read_inode(pool, a);
	{
		struct udaxfs_inode d2;
		struct udax_fs *fs = fstest_mount(pool);
		struct udax_stat st;

		CHECK_OK(udax_stat(fs, "/d", &st));
		CHECK_OK(udax_unmount(fs));
		d2 = read_inode(pool, st.ino);
		set_bit(d2.ext[0].pblk, false);
		d2.ext[0].pblk = di.ext[0].pblk;
		write_inode(pool, st.ino, &d2);
	}
	CHECK_EQ(fsck_count(pool, 0), 1);
	CHECK(fsck_count(pool, UDAX_FSCK_REPAIR) == 1);
	CHECK_EQ(fsck_count(pool, 0), 1);
	return 0;
}
