// SPDX-License-Identifier: MIT
/* truncate and every fallocate mode, checked byte for byte against a shadow. */
#include "fstest.h"

#define SPAN (1u << 20)

static struct udax_fs *fs;
static uint8_t shadow[SPAN], buf[SPAN];
static uint64_t shadow_size;

static void check_file(struct udax_file *f)
{
	struct udax_stat st;

	CHECK_OK(udax_fstat(f, &st));
	CHECK_EQ(st.size, shadow_size);
	CHECK_EQ(udax_pread(f, buf, SPAN, 0), shadow_size);
	for (uint64_t i = 0; i < shadow_size; i++)
		if (buf[i] != shadow[i])
			test_fail(__FILE__, __LINE__, "byte %llu: %u != %u", (unsigned long long)i,
				  buf[i], shadow[i]);
}

static uint64_t blocks(struct udax_file *f)
{
	struct udax_stat st;

	CHECK_OK(udax_fstat(f, &st));
	return st.blocks;
}

static struct udax_file *fresh(const char *path, uint64_t size)
{
	struct udax_file *f;

	CHECK_OK(udax_open(fs, path, O_CREAT | O_RDWR | O_TRUNC, 0644, &f));
	fill_pattern(shadow, size, 0, 7);
	memset(shadow + size, 0, SPAN - size);
	CHECK_EQ(udax_pwrite(f, shadow, size, 0), size);
	shadow_size = size;
	return f;
}

static void test_truncate(void)
{
	struct udax_file *f = fresh("/t", 40000);

	CHECK_OK(udax_ftruncate(f, 10001));
	memset(shadow + 10001, 0, SPAN - 10001);
	shadow_size = 10001;
	check_file(f);
	CHECK_EQ(blocks(f), 3);
	/* growing again must not expose the old bytes past 10001 */
	CHECK_OK(udax_ftruncate(f, 30000));
	shadow_size = 30000;
	check_file(f);
	CHECK_EQ(blocks(f), 3);
	CHECK_OK(udax_ftruncate(f, 0));
	shadow_size = 0;
	check_file(f);
	CHECK_EQ(blocks(f), 0);
	CHECK_ERR(udax_ftruncate(f, -1), EINVAL);
	CHECK_ERR(udax_ftruncate(f, (off_t)UDAX_FILE_SIZE_MAX + 1), EFBIG);
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_open(fs, "/t", O_RDONLY, 0, &f));
	CHECK_ERR(udax_ftruncate(f, 0), EINVAL);
	CHECK_ERR(udax_fallocate(f, 0, 0, 4096), EBADF);
	CHECK_OK(udax_close(f));
}

static void test_allocate(void)
{
	struct udax_file *f = fresh("/a", 5000);

	CHECK_OK(udax_fallocate(f, 0, 100000, 5000));
	shadow_size = 105000;
	check_file(f);
	CHECK_EQ(blocks(f), 2 + 2);
	CHECK_OK(udax_fallocate(f, UDAX_FALLOC_KEEP_SIZE, 200000, 8192));
	check_file(f);
	CHECK_EQ(blocks(f), 2 + 2 + 3);
	/* the preallocated blocks past EOF read as zeros once the file grows */
	CHECK_OK(udax_ftruncate(f, 300000));
	shadow_size = 300000;
	check_file(f);
	CHECK_OK(udax_close(f));
}

static void test_punch_zero(void)
{
	struct udax_file *f = fresh("/p", 10 * 4096);

	CHECK_OK(udax_fallocate(f, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE, 1000, 3 * 4096));
	memset(shadow + 1000, 0, 3 * 4096);
	check_file(f);
	CHECK_EQ(blocks(f), 10 - 2); /* blocks 1 and 2 were whole inside */
	CHECK_OK(udax_fallocate(f, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE, 20000, 10));
	memset(shadow + 20000, 0, 10);
	check_file(f);
	CHECK_OK(udax_fallocate(f, UDAX_FALLOC_ZERO_RANGE, 30000, 20000));
	memset(shadow + 30000, 0, 20000);
	shadow_size = 50000;
	check_file(f);
	CHECK_EQ(blocks(f), 8 + 3);
	CHECK_OK(udax_fallocate(f, UDAX_FALLOC_ZERO_RANGE | UDAX_FALLOC_KEEP_SIZE, 4096, 4096));
	check_file(f);
	CHECK_EQ(blocks(f), 8 + 3 + 1);
	CHECK_OK(udax_close(f));
}

static void test_collapse_insert(void)
{
	struct udax_file *f = fresh("/c", 16 * 4096);

	CHECK_OK(udax_fallocate(f, UDAX_FALLOC_COLLAPSE_RANGE, 4096, 3 * 4096));
	memmove(shadow + 4096, shadow + 4 * 4096, 12 * 4096);
	memset(shadow + 13 * 4096, 0, 3 * 4096);
	shadow_size = 13 * 4096;
	check_file(f);
	CHECK_EQ(blocks(f), 13);
	CHECK_OK(udax_fallocate(f, UDAX_FALLOC_INSERT_RANGE, 2 * 4096, 2 * 4096));
	memmove(shadow + 4 * 4096, shadow + 2 * 4096, 11 * 4096);
	memset(shadow + 2 * 4096, 0, 2 * 4096);
	shadow_size = 15 * 4096;
	check_file(f);
	CHECK_EQ(blocks(f), 13);
	/* the errors of fallocate(2) */
	CHECK_ERR(udax_fallocate(f, UDAX_FALLOC_COLLAPSE_RANGE, 100, 4096), EINVAL);
	CHECK_ERR(udax_fallocate(f, UDAX_FALLOC_COLLAPSE_RANGE, 4096, 15 * 4096), EINVAL);
	CHECK_ERR(udax_fallocate(f, UDAX_FALLOC_INSERT_RANGE, 15 * 4096, 4096), EINVAL);
	CHECK_ERR(udax_fallocate(f, UDAX_FALLOC_INSERT_RANGE | UDAX_FALLOC_KEEP_SIZE, 0, 4096),
		  EINVAL);
	CHECK_ERR(udax_fallocate(f, UDAX_FALLOC_PUNCH_HOLE, 0, 4096), EOPNOTSUPP);
	CHECK_ERR(udax_fallocate(f, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_ZERO_RANGE, 0, 4096),
		  EINVAL);
	CHECK_ERR(udax_fallocate(f, 0x4000, 0, 4096), EOPNOTSUPP);
	CHECK_ERR(udax_fallocate(f, 0, -1, 4096), EINVAL);
	CHECK_ERR(udax_fallocate(f, 0, 0, 0), EINVAL);
	CHECK_ERR(udax_fallocate(f, 0, (off_t)UDAX_FILE_SIZE_MAX, 4096), EFBIG);
	check_file(f);
	CHECK_OK(udax_close(f));
}

static void test_enospc(const char *pool)
{
	struct udax_statfs sfs;
	struct udax_file *f, *g;
	struct udax_stat st;

	f = fresh("/keep", 12345);
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_statfs(fs, &sfs));
	CHECK_OK(udax_open(fs, "/big", O_CREAT | O_RDWR, 0644, &g));
	CHECK_ERR(udax_fallocate(g, 0, 0, (off_t)(sfs.blocks_free + 1) * 4096), ENOSPC);
	/* nothing was allocated by the failed call */
	CHECK_EQ(blocks(g), 0);
	CHECK_OK(udax_statfs(fs, &(struct udax_statfs){0}));
	CHECK_OK(udax_fallocate(g, 0, 0, (off_t)(sfs.blocks_free - 4) * 4096));
	CHECK_OK(udax_close(g));
	/* a write that does not fit writes what fits (4 blocks), then fails */
	CHECK_OK(udax_open(fs, "/last", O_CREAT | O_RDWR, 0644, &g));
	CHECK_OK(udax_statfs(fs, &sfs));
	CHECK_EQ(sfs.blocks_free, 4);
	CHECK_EQ(udax_pwrite(g, buf, SPAN, 0), 4 * 4096);
	CHECK_EQ(blocks(g), 4);
	CHECK_ERR(udax_pwrite(g, buf, SPAN, 4 * 4096), ENOSPC);
	CHECK_OK(udax_fstat(g, &st));
	CHECK_EQ(st.size, 4 * 4096);
	CHECK_OK(udax_close(g));
	CHECK_OK(udax_unlink(fs, "/last"));
	CHECK_OK(udax_open(fs, "/keep", O_RDONLY, 0, &f));
	check_file(f);
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unlink(fs, "/big"));
	CHECK_OK(udax_unmount(fs));
	fstest_fsck_clean(pool);
	fs = fstest_mount(pool);
}

int main(void)
{
	const char *pool;

	test_watchdog(60);
	pool = fstest_pool("falloc.pool", 32 * MIB);
	fs = fstest_mount(pool);
	test_truncate();
	test_allocate();
	test_punch_zero();
	test_collapse_insert();
	test_enospc(pool);
	CHECK_OK(udax_unmount(fs));
	fstest_fsck_clean(pool);
	return 0;
}
