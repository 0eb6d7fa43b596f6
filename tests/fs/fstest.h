/* SPDX-License-Identifier: MIT */
/* Helpers shared by the udaxfs tests. */
#ifndef UDAX_TESTS_FS_FSTEST_H
#define UDAX_TESTS_FS_FSTEST_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "udax.h"
#include "fs/crc32c.h"
#include "fs/format.h"
#include "testlib.h"

#define MIB (1ull << 20)

/* A fresh pool file of @size bytes in the test directory, made by udax_mkfs. */
static inline const char *fstest_pool(const char *name, uint64_t size)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	unlink(path);
	CHECK_OK(udax_mkfs(path, size, NULL));
	return path;
}

static inline struct udax_fs *fstest_mount(const char *path)
{
	struct udax_fs *fs = NULL;

	CHECK_OK(udax_mount(path, 0, &fs));
	return fs;
}

/* Writes @len bytes of pattern @seed at @off through a fresh handle. */
static inline void fill_pattern(uint8_t *buf, size_t len, uint64_t off, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)((off + i) * 2654435761u >> 13 ^ seed);
}

/* fsck must find the pool consistent. */
static inline void fstest_fsck_clean(const char *path)
{
	char *report = NULL;
	int ret = udax_fsck(path, 0, &report);

	if (ret != 0)
		test_fail(__FILE__, __LINE__, "fsck found %d problems: %s (%s)", ret,
			  report ? report : "", test_errormsg());
	free(report);
}

/* Raw access to an unmounted pool file, to build corrupt images. */
static inline void pool_rw(const char *pool, bool write, uint64_t off, void *buf, size_t len)
{
	int fd = open(pool, O_RDWR);

	CHECK(fd >= 0);
	if (write)
		CHECK_EQ(pwrite(fd, buf, len, (off_t)off), len);
	else
		CHECK_EQ(pread(fd, buf, len, (off_t)off), len);
	close(fd);
}

static inline struct udaxfs_super read_super(const char *pool, unsigned which)
{
	struct udaxfs_super sb;

	pool_rw(pool, false, which * UDAXFS_BLOCK, &sb, sizeof(sb));
	return sb;
}

/* Writes @sb, with its checksum, as both superblocks. */
static inline void write_supers(const char *pool, struct udaxfs_super *sb)
{
	sb->crc = crc32c_skip(sb, sizeof(*sb), offsetof(struct udaxfs_super, crc));
	pool_rw(pool, true, 0, sb, sizeof(*sb));
	pool_rw(pool, true, UDAXFS_BLOCK, sb, sizeof(*sb));
}

/*
 * Sets the zero mark of both superblocks. Tests that build images by hand use
 * blocks anywhere, so they first set it to nblocks (nothing known to be zero),
 * as an allocation of those blocks would have raised it.
 */
static inline void set_zero_mark(const char *pool, uint64_t mark)
{
	struct udaxfs_super sb = read_super(pool, 0);

	sb.zero_start = mark;
	write_supers(pool, &sb);
}

static inline void flip_byte(const char *pool, uint64_t off)
{
	uint8_t b;

	pool_rw(pool, false, off, &b, 1);
	b ^= 0x5a;
	pool_rw(pool, true, off, &b, 1);
}

static inline uint64_t inode_off(const struct udaxfs_super *sb, uint64_t ino)
{
	return sb->itable_start * UDAXFS_BLOCK + ino * sizeof(struct udaxfs_inode);
}

static inline int fsck_count(const char *pool, unsigned flags)
{
	char *report = NULL;
	int ret = udax_fsck(pool, flags, &report);

	fprintf(stderr, "fsck%s: %d: %s%s\n", flags ? " --repair" : "", ret, report ? report : "",
		ret < 0 ? test_errormsg() : "");
	free(report);
	return ret;
}

static inline struct udaxfs_inode read_inode(const char *pool, uint64_t ino)
{
	struct udaxfs_super sb = read_super(pool, 0);
	struct udaxfs_inode di;

	pool_rw(pool, false, inode_off(&sb, ino), &di, sizeof(di));
	return di;
}

static inline void write_inode(const char *pool, uint64_t ino, struct udaxfs_inode *di)
{
	struct udaxfs_super sb = read_super(pool, 0);

	di->crc = udaxfs_inode_crc(di);
	pool_rw(pool, true, inode_off(&sb, ino), di, sizeof(*di));
}

#endif
