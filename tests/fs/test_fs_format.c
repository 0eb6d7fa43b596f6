// SPDX-License-Identifier: MIT
/*
 * On-media format: crc32c, mkfs arguments, exclusive mount, superblock backup,
 * and corrupt images, which must give -EUCLEAN (never a crash) and be found by fsck.
 */
#include <sys/wait.h>

#include "fs/crc32c.h"
#include "fs/format.h"
#include "fstest.h"

/* crc32c one bit at a time, the definition itself. */
static uint32_t crc32c_bitwise(uint32_t crc, const uint8_t *p, size_t len)
{
	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc & 1) ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
	}
	return ~crc;
}

static void test_crc32c(void)
{
	static uint8_t buf[5000 + 2];

	CHECK_EQ(crc32c(0, "123456789", 9), 0xe3069283);
	CHECK_EQ(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xe3069283);
	CHECK_EQ(crc32c(0, "", 0), 0);
	/* every length and alignment through the interleaved streams and the tail */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + (i >> 7));
	for (size_t len = 0; len <= 5000; len++)
		for (size_t off = 0; off < 3 && off + len <= sizeof(buf); off++)
			CHECK_EQ(crc32c(7, buf + off, len), crc32c_bitwise(7, buf + off, len));
}

static void test_mkfs_args(void)
{
	char path[512];
	struct udax_fs *fs;

	snprintf(path, sizeof(path), "%s/args.pool", test_tmpdir());
	CHECK_ERR(udax_mkfs(path, 16 * MIB + 1, NULL), EINVAL);
	CHECK_ERR(udax_mkfs(path, 4 * MIB, NULL), EINVAL);
	CHECK_ERR(udax_mkfs(NULL, 16 * MIB, NULL), EFAULT);
	CHECK_ERR(udax_mkfs(path, 16 * MIB, &(struct udax_mkfs_opts){.ninodes = 1ull << 40}),
		  EINVAL);
	CHECK_OK(udax_mkfs(path, 16 * MIB, &(struct udax_mkfs_opts){.ninodes = 100}));
	CHECK_ERR(udax_mount(path, 0x4, &fs), EINVAL);
	fs = fstest_mount(path);
	{
		struct udax_statfs st;

		CHECK_OK(udax_statfs(fs, &st));
		CHECK_EQ(st.inodes, 112 - 1); /* 100 rounded up to whole inode blocks */
		CHECK_EQ(st.inodes_free, st.inodes - 1);
		CHECK_EQ(st.block_size, 4096);
		CHECK_EQ(st.blocks, 16 * MIB / 4096 - 512);
		CHECK_EQ(st.blocks_free, st.blocks);
		CHECK_EQ(st.pmd_free, 7);
		CHECK_EQ(st.name_max, 255);
	}
	CHECK_OK(udax_unmount(fs));
}

static void test_exclusive(const char *pool)
{
	struct udax_fs *fs = fstest_mount(pool), *fs2;
	pid_t pid;
	int status;

	CHECK_ERR(udax_mount(pool, 0, &fs2), EBUSY);
	CHECK(strstr(test_errormsg(), "already mounted"));
	CHECK_ERR(udax_mkfs(pool, 0, NULL), EBUSY);
	CHECK_ERR(udax_fsck(pool, 0, NULL), EBUSY);
	pid = fork();
	if (pid == 0)
		_exit(udax_mount(pool, 0, &fs2) == -EBUSY ? 0 : 1);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_EQ(read_super(pool, 0).state, UDAXFS_STATE_MOUNTED);
	CHECK_OK(udax_unmount(fs));
	CHECK_EQ(read_super(pool, 0).state, UDAXFS_STATE_CLEAN);
	fs = fstest_mount(pool);
	CHECK_OK(udax_unmount(fs));
}

static void test_superblocks(const char *pool)
{
	struct udaxfs_super sb = read_super(pool, 0);
	struct udax_fs *fs;

	/* a bad primary: the backup mounts, fsck reports it and repairs it */
	flip_byte(pool, offsetof(struct udaxfs_super, nblocks));
	fs = fstest_mount(pool);
	CHECK_OK(udax_unmount(fs));
	/* the mount rewrote the primary from the backup */
	CHECK_EQ(read_super(pool, 0).nblocks, sb.nblocks);
	flip_byte(pool, UDAXFS_BLOCK + offsetof(struct udaxfs_super, ninodes));
	CHECK_EQ(fsck_count(pool, 0), 1);
	CHECK_EQ(fsck_count(pool, UDAX_FSCK_REPAIR), 1);
	CHECK_EQ(fsck_count(pool, 0), 0);
	/* both bad */
	flip_byte(pool, 0);
	flip_byte(pool, UDAXFS_BLOCK);
	CHECK_ERR(udax_mount(pool, 0, &fs), EUCLEAN);
	CHECK(strstr(test_errormsg(), "bad magic"));
	CHECK_ERR(udax_fsck(pool, 0, NULL), EUCLEAN);
	flip_byte(pool, 0);
	flip_byte(pool, UDAXFS_BLOCK);
	/* a newer format version, with a valid checksum */
	sb = read_super(pool, 0);
	sb.version = UDAXFS_VERSION + 1;
	sb.crc = crc32c_skip(&sb, sizeof(sb), offsetof(struct udaxfs_super, crc));
	pool_rw(pool, true, 0, &sb, sizeof(sb));
	pool_rw(pool, true, UDAXFS_BLOCK, &sb, sizeof(sb));
	CHECK_ERR(udax_mount(pool, 0, &fs), EUCLEAN);
	CHECK(strstr(test_errormsg(), "version"));
	/* geometry that does not fit the media */
	sb.version = UDAXFS_VERSION;
	sb.nblocks *= 2;
	sb.crc = crc32c_skip(&sb, sizeof(sb), offsetof(struct udaxfs_super, crc));
	pool_rw(pool, true, 0, &sb, sizeof(sb));
	pool_rw(pool, true, UDAXFS_BLOCK, &sb, sizeof(sb));
	CHECK_ERR(udax_mount(pool, 0, &fs), EUCLEAN);
	sb.nblocks /= 2;
	sb.crc = crc32c_skip(&sb, sizeof(sb), offsetof(struct udaxfs_super, crc));
	pool_rw(pool, true, 0, &sb, sizeof(sb));
	pool_rw(pool, true, UDAXFS_BLOCK, &sb, sizeof(sb));
	CHECK_EQ(fsck_count(pool, 0), 0);
}

static void test_not_a_pool(void)
{
	char path[512];
	struct udax_fs *fs;
	int fd;

	snprintf(path, sizeof(path), "%s/zero.pool", test_tmpdir());
	fd = open(path, O_CREAT | O_RDWR, 0600);
	CHECK(fd >= 0 && ftruncate(fd, 16 * MIB) == 0);
	close(fd);
	CHECK_ERR(udax_mount(path, 0, &fs), EUCLEAN);
	CHECK(strstr(test_errormsg(), "not a udaxfs pool"));
	snprintf(path, sizeof(path), "%s/missing.pool", test_tmpdir());
	CHECK_ERR(udax_mount(path, 0, &fs), ENOENT);
}

/* Corrupt inodes, extents and directories: errors, no crash, fsck finds them. */
static void test_corrupt_metadata(const char *pool)
{
	struct udaxfs_super sb = read_super(pool, 0);
	struct udaxfs_inode di, saved;
	struct udax_fs *fs = fstest_mount(pool);
	struct udax_file *f;
	struct udax_stat st;
	char buf[64];

	CHECK_OK(udax_open(fs, "/victim", O_CREAT | O_RDWR, 0644, &f));
	CHECK_EQ(udax_pwrite(f, "precious", 8, 0), 8);
	CHECK_OK(udax_fstat(f, &st));
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));

	/* an extent pointing past the device, with a valid checksum */
	saved = di = read_inode(pool, st.ino);
	di.ext[0].pblk = sb.nblocks - 1;
	di.ext[0].len = 2;
	write_inode(pool, st.ino, &di);
	fs = fstest_mount(pool);
	CHECK_ERR(udax_open(fs, "/victim", O_RDONLY, 0, &f), EUCLEAN);
	CHECK(strstr(test_errormsg(), "leaves the device"));
	CHECK_OK(udax_unmount(fs));
	CHECK(fsck_count(pool, 0) >= 1);
	write_inode(pool, st.ino, &saved);

	/* a flipped bit in the inode: its checksum catches it */
	flip_byte(pool, inode_off(&sb, st.ino) + offsetof(struct udaxfs_inode, uid));
	fs = fstest_mount(pool);
	CHECK_ERR(udax_stat(fs, "/victim", &st), EUCLEAN);
	CHECK(strstr(test_errormsg(), "checksum"));
	CHECK_OK(udax_unmount(fs));
	CHECK(fsck_count(pool, 0) >= 1);
	flip_byte(pool, inode_off(&sb, st.ino) + offsetof(struct udaxfs_inode, uid));

	/* a corrupt directory block */
	di = read_inode(pool, UDAXFS_ROOT_INO);
	flip_byte(pool, di.ext[0].pblk * UDAXFS_BLOCK + 16 + 20);
	fs = fstest_mount(pool);
	CHECK_ERR(udax_stat(fs, "/victim", &st), EUCLEAN);
	CHECK_OK(udax_unmount(fs));
	CHECK(fsck_count(pool, 0) >= 1);
	flip_byte(pool, di.ext[0].pblk * UDAXFS_BLOCK + 16 + 20);

	/* a named inode whose link count says 0: unlink refuses instead of wrapping */
	saved = di = read_inode(pool, st.ino);
	di.nlink = 0;
	write_inode(pool, st.ino, &di);
	CHECK_EQ(fsck_count(pool, 0), 1);
	fs = fstest_mount(pool); /* not an orphan: it has a name */
	CHECK_ERR(udax_unlink(fs, "/victim"), EUCLEAN);
	CHECK(strstr(test_errormsg(), "link count is 0"));
	CHECK_OK(udax_unmount(fs));
	write_inode(pool, st.ino, &saved);

	/* a directory size that points into its own blocks: growing it refuses */
	saved = di = read_inode(pool, UDAXFS_ROOT_INO);
	di.size = 0;
	write_inode(pool, UDAXFS_ROOT_INO, &di);
	fs = fstest_mount(pool);
	for (int i = 0; i < 14; i++) {
		snprintf(buf, sizeof(buf), "/fill%d", i);
		CHECK_OK(udax_mkdir(fs, buf, 0755));
	}
	CHECK_ERR(udax_mkdir(fs, "/one-too-many", 0755), EUCLEAN);
	CHECK(strstr(test_errormsg(), "disagrees with its blocks"));
	for (int i = 0; i < 14; i++) {
		snprintf(buf, sizeof(buf), "/fill%d", i);
		CHECK_OK(udax_rmdir(fs, buf));
	}
	CHECK_OK(udax_unmount(fs));
	di = read_inode(pool, UDAXFS_ROOT_INO);
	di.size = saved.size;
	write_inode(pool, UDAXFS_ROOT_INO, &di);

	/* the journal header */
	flip_byte(pool, sb.journal_start * UDAXFS_BLOCK);
	CHECK_ERR(udax_mount(pool, 0, &fs), EUCLEAN);
	CHECK(strstr(test_errormsg(), "journal"));
	CHECK_EQ(fsck_count(pool, 0), 1);
	CHECK_EQ(fsck_count(pool, UDAX_FSCK_REPAIR), 1);

	/* after all that, nothing was lost */
	CHECK_EQ(fsck_count(pool, 0), 0);
	fs = fstest_mount(pool);
	CHECK_OK(udax_open(fs, "/victim", O_RDONLY, 0, &f));
	CHECK_EQ(udax_pread(f, buf, sizeof(buf), 0), 8);
	CHECK(!memcmp(buf, "precious", 8));
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));
}

int main(void)
{
	const char *pool;

	test_watchdog(60);
	test_crc32c();
	test_mkfs_args();
	test_not_a_pool();
	pool = fstest_pool("format.pool", 32 * MIB);
	test_exclusive(pool);
	test_superblocks(pool);
	test_corrupt_metadata(pool);
	return 0;
}
