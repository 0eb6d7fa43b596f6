// SPDX-License-Identifier: MIT
/* udaxfs read/write path: content, holes, EOF, positions, persistence, mapped tails. */
#include <sys/mman.h>

#include <stddef.h>

#include "fstest.h"

static void test_basic(const char *pool)
{
	struct udax_fs *fs = fstest_mount(pool);
	struct udax_file *f;
	uint8_t buf[10000], out[20000];
	struct udax_stat st;

	CHECK_OK(udax_open(fs, "/a", O_CREAT | O_RDWR, 0644, &f));
	fill_pattern(buf, sizeof(buf), 0, 1);
	CHECK_EQ(udax_pwrite(f, buf, sizeof(buf), 0), sizeof(buf));
	memset(out, 0xaa, sizeof(out));
	CHECK_EQ(udax_pread(f, out, sizeof(buf), 0), sizeof(buf));
	CHECK(!memcmp(buf, out, sizeof(buf)));
	/* reads stop at EOF; at or past EOF they return 0 */
	CHECK_EQ(udax_pread(f, out, 100, 9950), 50);
	CHECK(!memcmp(out, buf + 9950, 50));
	CHECK_EQ(udax_pread(f, out, 100, 10000), 0);
	CHECK_EQ(udax_pread(f, out, 100, 1 << 30), 0);
	/* zero-length I/O returns 0 at once, even past EOF */
	CHECK_EQ(udax_pread(f, out, 0, 1 << 30), 0);
	CHECK_EQ(udax_pwrite(f, buf, 0, 1 << 30), 0);
	CHECK_OK(udax_fstat(f, &st));
	CHECK_EQ(st.size, 10000);
	CHECK_EQ(st.blocks, 3);
	CHECK_EQ(st.mode, S_IFREG | 0644);
	CHECK_EQ(st.nlink, 1);
	/* a write far past EOF leaves a hole that reads as zeros */
	CHECK_EQ(udax_pwrite(f, buf, 100, 5 * 4096 + 7), 100);
	CHECK_OK(udax_fstat(f, &st));
	CHECK_EQ(st.size, 5 * 4096 + 107);
	CHECK_EQ(st.blocks, 4);
	CHECK_EQ(udax_pread(f, out, sizeof(out), 10000), 5 * 4096 + 107 - 10000);
	for (size_t i = 0; i < 5 * 4096 + 7 - 10000; i++)
		CHECK_EQ(out[i], 0);
	CHECK(!memcmp(out + 5 * 4096 + 7 - 10000, buf, 100));
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));

	fs = fstest_mount(pool);
	CHECK_OK(udax_open(fs, "/a", O_RDONLY, 0, &f));
	CHECK_EQ(udax_pread(f, out, 10000, 0), 10000);
	CHECK(!memcmp(buf, out, 10000));
	CHECK_ERR(udax_pwrite(f, buf, 1, 0), EBADF);
	CHECK_ERR(udax_pread(f, buf, 1, -1), EINVAL);
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_open(fs, "/a", O_WRONLY, 0, &f));
	CHECK_ERR(udax_pread(f, out, 1, 0), EBADF);
	CHECK_ERR(udax_pwrite(f, buf, 1, -5), EINVAL);
	CHECK_ERR(udax_pwrite(f, buf, 1, (off_t)UDAX_FILE_SIZE_MAX), EFBIG);
	/* a write that crosses the maximum size is cut there; appending past it fails */
	CHECK_EQ(udax_pwrite(f, buf, 10, (off_t)UDAX_FILE_SIZE_MAX - 4), 4);
	CHECK_OK(udax_fstat(f, &st));
	CHECK_EQ(st.size, UDAX_FILE_SIZE_MAX);
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_open(fs, "/a", O_WRONLY | O_APPEND, 0, &f));
	CHECK_ERR(udax_write(f, buf, 1), EFBIG);
	CHECK_OK(udax_ftruncate(f, 10000));
	CHECK_EQ(udax_write(f, buf, 5), 5);
	CHECK_OK(udax_fstat(f, &st));
	CHECK_EQ(st.size, 10005);
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));
}

static void test_positions(const char *pool)
{
	struct udax_fs *fs = fstest_mount(pool);
	struct udax_file *f;
	char out[16] = {0};

	CHECK_OK(udax_open(fs, "/p", O_CREAT | O_RDWR | O_TRUNC, 0600, &f));
	CHECK_EQ(udax_write(f, "hello", 5), 5);
	CHECK_EQ(udax_write(f, " world", 6), 6);
	CHECK_EQ(udax_lseek(f, 0, SEEK_CUR), 11);
	CHECK_EQ(udax_lseek(f, 6, SEEK_SET), 6);
	CHECK_EQ(udax_read(f, out, sizeof(out)), 5);
	CHECK(!strcmp(out, "world"));
	CHECK_EQ(udax_read(f, out, sizeof(out)), 0);
	CHECK_EQ(udax_lseek(f, -5, SEEK_END), 6);
	CHECK_ERR(udax_lseek(f, -12, SEEK_END), EINVAL);
	CHECK_ERR(udax_lseek(f, 0, 42), EINVAL);
	CHECK_EQ(udax_lseek(f, 0, SEEK_CUR), 6);
	CHECK_OK(udax_close(f));
	/* O_APPEND writes at the end whatever the position */
	CHECK_OK(udax_open(fs, "/p", O_WRONLY | O_APPEND, 0, &f));
	CHECK_EQ(udax_write(f, "!", 1), 1);
	CHECK_EQ(udax_pwrite(f, "?", 1, 0), 1);
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_open(fs, "/p", O_RDONLY, 0, &f));
	memset(out, 0, sizeof(out));
	CHECK_EQ(udax_read(f, out, sizeof(out)), 13);
	CHECK(!strcmp(out, "hello world!?"));
	CHECK_OK(udax_close(f));
	/* O_TRUNC empties the file */
	CHECK_OK(udax_open(fs, "/p", O_RDWR | O_TRUNC, 0, &f));
	CHECK_EQ(udax_read(f, out, sizeof(out)), 0);
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));
}

/* Random writes and reads against a shadow copy, across a remount. */
static void test_random(const char *pool)
{
	enum { SPAN = 6 << 20 };
	struct udax_fs *fs = fstest_mount(pool);
	uint8_t *shadow = calloc(1, SPAN), *buf = malloc(SPAN);
	struct udax_file *f;
	uint64_t size = 0;

	CHECK_OK(udax_open(fs, "/r", O_CREAT | O_RDWR, 0644, &f));
	for (int i = 0; i < 300; i++) {
		uint64_t off = test_rand() % SPAN, len = test_rand() % (i % 10 ? 9000 : 700000);

		if (off + len > SPAN)
			len = SPAN - off;
		if (test_rand() % 3) {
			fill_pattern(buf, len, off, (unsigned)i);
			CHECK_EQ(udax_pwrite(f, buf, len, (off_t)off), len);
			memcpy(shadow + off, buf, len);
			if (len && off + len > size)
				size = off + len;
		} else {
			uint64_t want = off >= size ? 0 : off + len > size ? size - off : len;

			CHECK_EQ(udax_pread(f, buf, len, (off_t)off), want);
			CHECK(!memcmp(buf, shadow + off, want));
		}
	}
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));
	fs = fstest_mount(pool);
	CHECK_OK(udax_open(fs, "/r", O_RDONLY, 0, &f));
	CHECK_EQ(udax_pread(f, buf, SPAN, 0), size);
	CHECK(!memcmp(buf, shadow, size));
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));
	free(shadow);
	free(buf);
}

/*
 * Stores through a mapping past EOF, in the last page (which maps to the end
 * of the file's last block), are not part of the file; once the file grows
 * over them they read as zeros (xfstests generic/029 and 030), whatever makes
 * it grow, and the zeros are durable with the new size.
 */
static void scribble_past_eof(struct udax_file *f, uint64_t size)
{
	uint8_t *p;

	CHECK_OK(udax_ftruncate(f, (off_t)size));
	CHECK_OK(udax_mmap(f, NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p));
	memset(p + size, 0x5a, 4096 - size);
	CHECK_OK(udax_munmap(p, 4096));
}

static void check_zero(struct udax_file *f, uint64_t from, uint64_t to)
{
	uint8_t buf[4096];

	CHECK(to - from <= sizeof(buf));
	CHECK_EQ(udax_pread(f, buf, to - from, (off_t)from), to - from);
	for (uint64_t i = 0; i < to - from; i++)
		if (buf[i])
			test_fail(__FILE__, __LINE__, "byte %llu is 0x%02x, expected zero",
				  (unsigned long long)(from + i), buf[i]);
}

static void test_mapped_tail(const char *pool)
{
	struct udax_fs *fs = fstest_mount(pool);
	struct udax_file *f;
	char head[100];

	memset(head, 'h', sizeof(head));
	CHECK_OK(udax_open(fs, "/tail", O_CREAT | O_RDWR, 0644, &f));
	CHECK_EQ(udax_pwrite(f, head, sizeof(head), 0), sizeof(head));
	/* truncate up */
	scribble_past_eof(f, 100);
	CHECK_OK(udax_ftruncate(f, 3000));
	check_zero(f, 100, 3000);
	/* a write that starts past EOF: the gap up to it */
	scribble_past_eof(f, 200);
	CHECK_EQ(udax_pwrite(f, "w", 1, 1000), 1);
	check_zero(f, 200, 1000);
	/* fallocate that extends, and ZERO_RANGE that extends past a gap */
	scribble_past_eof(f, 300);
	CHECK_OK(udax_fallocate(f, 0, 8192, 4096));
	check_zero(f, 300, 4096);
	scribble_past_eof(f, 400);
	CHECK_OK(udax_fallocate(f, UDAX_FALLOC_ZERO_RANGE, 2000, 100));
	check_zero(f, 400, 2100);
	/* a write at EOF covers its own bytes; the rest stays past EOF */
	scribble_past_eof(f, 500);
	CHECK_EQ(udax_pwrite(f, head, 10, 500), 10);
	CHECK_OK(udax_ftruncate(f, 4096));
	check_zero(f, 510, 4096);
	/* the zeros are durable with the size */
	scribble_past_eof(f, 600);
	CHECK_OK(udax_ftruncate(f, 4000));
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));
	fs = fstest_mount(pool);
	CHECK_OK(udax_open(fs, "/tail", O_RDWR, 0, &f));
	check_zero(f, 600, 4000);
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));
	fstest_fsck_clean(pool);
}

/* The zero_from field of inode @ino in the unmounted or mounted pool file. */
static uint64_t pool_zero_from(const char *pool, uint64_t ino, const uint64_t *set)
{
	struct udaxfs_super sb = read_super(pool, 0);
	uint64_t off = sb.itable_start * UDAXFS_BLOCK + ino * sizeof(struct udaxfs_inode) +
		       offsetof(struct udaxfs_inode, zero_from);
	uint64_t z;

	if (set)
		pool_rw(pool, true, off, (void *)set, sizeof(*set));
	pool_rw(pool, false, off, &z, sizeof(z));
	return z;
}

/* The media offset of file offset @off (which must be mapped). */
static uint64_t media_offset(struct udax_file *f, uint64_t off)
{
	struct udax_extent ext[16];
	int n = udax_fiemap(f, ext, 16);

	for (int i = 0; i < n && i < 16; i++)
		if (off >= ext[i].logical && off < ext[i].logical + ext[i].length)
			return ext[i].physical + (off - ext[i].logical);
	test_fail(__FILE__, __LINE__, "offset %llu not mapped", (unsigned long long)off);
}

/*
 * An append into blocks that exist raises zero_from before its data (to the
 * end of its block in a small file, to the next 2 MiB boundary once the file
 * is 2 MiB long; an append into holes needs no raise), the
 * last close lowers it to the end of the last block, and the first open after
 * a crash zeroes what the crash left in [size, zero_from) before anything can
 * grow the file over it (docs/udaxfs.md, "Durability").
 */
static void test_zero_from(const char *pool)
{
	static uint8_t data[2 * MIB + 5000], junk[10000];
	const uint64_t size = sizeof(data), last = 2 * MIB + 8192, z = 4 * MIB;
	struct udax_fs *fs = fstest_mount(pool);
	uint64_t at, junk_at;
	struct udax_file *f;
	struct udax_stat st;

	memset(data, 'd', sizeof(data));
	/* into holes: the commit of the new blocks orders the size, no raise */
	CHECK_OK(udax_open(fs, "/holes", O_CREAT | O_RDWR, 0644, &f));
	CHECK_EQ(udax_write(f, data, 5000), 5000);
	CHECK_OK(udax_fstat(f, &st));
	CHECK_EQ(pool_zero_from(pool, st.ino, NULL), 0);
	CHECK_OK(udax_close(f));
	/* into preallocated blocks of a small file: raised to the end of the block */
	CHECK_OK(udax_open(fs, "/small", O_CREAT | O_RDWR, 0644, &f));
	CHECK_OK(udax_fallocate(f, UDAX_FALLOC_KEEP_SIZE, 0, 65536));
	CHECK_EQ(udax_write(f, data, 5000), 5000);
	CHECK_OK(udax_fstat(f, &st));
	CHECK_EQ(pool_zero_from(pool, st.ino, NULL), 8192);
	CHECK_OK(udax_close(f));
	CHECK_EQ(pool_zero_from(pool, st.ino, NULL), 8192);

	CHECK_OK(udax_open(fs, "/zf", O_CREAT | O_RDWR, 0644, &f));
	CHECK_OK(udax_fallocate(f, UDAX_FALLOC_KEEP_SIZE, 0, (off_t)z));
	CHECK_EQ(udax_write(f, data, size), size);
	CHECK_OK(udax_fstat(f, &st));
	CHECK_EQ(pool_zero_from(pool, st.ino, NULL), z);
	junk_at = media_offset(f, size + 20000);
	CHECK_OK(udax_close(f));
	CHECK_EQ(pool_zero_from(pool, st.ino, NULL), last);
	CHECK_OK(udax_unmount(fs));
	/* what a crash in a later append can leave: bytes past EOF, zero_from above them */
	memset(junk, 0x6b, sizeof(junk));
	pool_rw(pool, true, junk_at, junk, sizeof(junk));
	CHECK_EQ(pool_zero_from(pool, st.ino, &z), z);
	fs = fstest_mount(pool);
	CHECK_OK(udax_open(fs, "/zf", O_RDWR, 0, &f));
	CHECK_EQ(pool_zero_from(pool, st.ino, NULL), last); /* zeroed up to it, lowered */
	CHECK_OK(udax_ftruncate(f, (off_t)z));
	for (at = size; at < z; at += 4096)
		check_zero(f, at, at + 4096 < z ? at + 4096 : z);
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));
	fstest_fsck_clean(pool);
}

int main(void)
{
	const char *pool;

	test_watchdog(60);
	test_seed(42);
	pool = fstest_pool("io.pool", 64 * MIB);
	test_basic(pool);
	test_positions(pool);
	test_random(pool);
	test_mapped_tail(pool);
	test_zero_from(pool);
	fstest_fsck_clean(pool);
	return 0;
}
