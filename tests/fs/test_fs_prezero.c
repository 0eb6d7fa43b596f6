// SPDX-License-Identifier: MIT
/*
 * UDAX_MOUNT_PREZERO: freed 2 MiB groups are zeroed by a thread, allocations
 * take them first, and no byte of a freed file ever shows in a new one, also
 * while threads free and allocate groups as fast as they can on a pool that
 * has few of them (so allocations end zeroings early).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fstest.h"

#define NGROUPS 8
#define GROUP	(2 * MIB)

static struct udax_statfs stat_of(struct udax_fs *fs)
{
	struct udax_statfs st;

	CHECK_OK(udax_statfs(fs, &st));
	return st;
}

/* Waits until @want free groups are known zero (the worker runs on its own). */
static void wait_prezeroed(struct udax_fs *fs, uint64_t want)
{
	for (int i = 0; i < 10000 && stat_of(fs).pmd_prezeroed < want; i++)
		usleep(1000);
	CHECK_EQ(stat_of(fs).pmd_prezeroed, want);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The pool offsets of the NGROUPS groups that map @f, sorted. */
static void groups_of(struct udax_file *f, uint64_t *phys)
{
	struct udax_extent ext[NGROUPS];
	int got = udax_fiemap(f, ext, NGROUPS);
	unsigned n = 0;

	CHECK(got > 0);
	for (int e = 0; e < got; e++)
		for (uint64_t o = 0; o < ext[e].length && n < NGROUPS; o += GROUP)
			phys[n++] = ext[e].physical + o;
	CHECK_EQ(n, NGROUPS);
	qsort(phys, NGROUPS, sizeof(*phys), cmp_u64);
}

/* A file of NGROUPS groups of pattern @seed; returns their offsets in the pool. */
static void write_groups(struct udax_fs *fs, const char *path, unsigned seed, uint64_t *phys)
{
	uint8_t *buf = malloc(GROUP);
	struct udax_file *f;

	CHECK(buf != NULL);
	CHECK_OK(udax_open(fs, path, O_CREAT | O_EXCL | O_RDWR, 0644, &f));
	for (unsigned i = 0; i < NGROUPS; i++) {
		fill_pattern(buf, GROUP, i * GROUP, seed);
		CHECK_EQ(udax_pwrite(f, buf, GROUP, (off_t)(i * GROUP)), (ssize_t)GROUP);
	}
	groups_of(f, phys);
	CHECK_OK(udax_close(f));
	free(buf);
}

/* Whether [p, p + len) is all zero. */
static bool all_zero(const uint8_t *p, uint64_t len)
{
	return !len || (!p[0] && !memcmp(p, p + 1, len - 1));
}

static bool pool_range_is_zero(const char *pool, uint64_t off, uint64_t len)
{
	uint8_t *buf = malloc(len);
	bool zero;

	CHECK(buf != NULL);
	pool_rw(pool, false, off, buf, len);
	zero = all_zero(buf, len);
	free(buf);
	return zero;
}

/*
 * A sparse file takes NGROUPS groups with one 4 KiB write each; every other
 * byte must read as zero. Returns the groups' offsets in the pool.
 */
static void fill_holes(struct udax_fs *fs, const char *path, uint64_t *phys)
{
	static uint8_t page[4096], got[GROUP];
	struct udax_file *f;

	CHECK_OK(udax_open(fs, path, O_CREAT | O_EXCL | O_RDWR, 0644, &f));
	CHECK_OK(udax_ftruncate(f, NGROUPS * GROUP));
	for (unsigned i = 0; i < NGROUPS; i++) {
		fill_pattern(page, sizeof(page), i, 77);
		CHECK_EQ(udax_pwrite(f, page, sizeof(page), (off_t)(i * GROUP + 8192)),
			 (ssize_t)sizeof(page));
	}
	for (unsigned i = 0; i < NGROUPS; i++) {
		CHECK_EQ(udax_pread(f, got, GROUP, (off_t)(i * GROUP)), (ssize_t)GROUP);
		fill_pattern(page, sizeof(page), i, 77);
		CHECK(!memcmp(got + 8192, page, sizeof(page)));
		memset(got + 8192, 0, sizeof(page));
		for (uint64_t b = 0; b < GROUP; b++)
			if (got[b])
				test_fail(__FILE__, __LINE__, "group %u byte %llu is %u, not 0", i,
					  (unsigned long long)b, got[b]);
	}
	groups_of(f, phys);
	CHECK_OK(udax_close(f));
}

static void test_prezero(bool on)
{
	const char *pool = fstest_pool("prezero.pool", 64 * MIB);
	uint64_t freed[NGROUPS], taken[NGROUPS];
	struct udax_fs *fs;

	CHECK_OK(udax_mount(pool, on ? UDAX_MOUNT_PREZERO : 0, &fs));
	write_groups(fs, "/old", 0x5a, freed);
	CHECK_EQ(stat_of(fs).pmd_prezeroed, 0);
	CHECK_OK(udax_unlink(fs, "/old"));
	if (on) {
		wait_prezeroed(fs, NGROUPS);
		for (unsigned i = 0; i < NGROUPS; i++)
			CHECK(pool_range_is_zero(pool, freed[i], GROUP));
	} else {
		usleep(100 * 1000);
		CHECK_EQ(stat_of(fs).pmd_prezeroed, 0);
		CHECK(!pool_range_is_zero(pool, freed[0], GROUP)); /* zeroed when allocated */
	}
	fill_holes(fs, "/new", taken);
	CHECK_EQ(stat_of(fs).pmd_prezeroed, 0);
	/* the zeroed groups come first; without the flag the freed ones, lowest first */
	for (unsigned i = 0; i < NGROUPS; i++)
		CHECK_EQ(taken[i], freed[i]);
	CHECK_OK(udax_unmount(fs));
	fstest_fsck_clean(pool);

	/* what was zeroed is known to that mount only */
	CHECK_OK(udax_mount(pool, UDAX_MOUNT_PREZERO, &fs));
	CHECK_EQ(stat_of(fs).pmd_prezeroed, 0);
	CHECK_OK(udax_unmount(fs));
}

/* ---- threads freeing and allocating groups on a small pool ---- */

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define STRESS_ROUNDS 40 /* steals still happen: each run here had some */
#else
#define STRESS_ROUNDS 200
#endif

static struct udax_fs *sfs;

static void *churn(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	uint8_t *buf = malloc(3 * GROUP), *out = malloc(3 * GROUP);
	struct udax_file *f;
	char path[32];

	CHECK(buf && out);
	snprintf(path, sizeof(path), "/churn%u", id);
	for (unsigned r = 0; r < STRESS_ROUNDS; r++) {
		uint64_t len = (2 + r % 2) * GROUP;
		ssize_t w;

		memset(buf, (int)(r * 4 + id + 1), len);
		CHECK_OK(udax_open(sfs, path, O_CREAT | O_EXCL | O_RDWR, 0644, &f));
		w = udax_pwrite(f, buf, len, 0);
		CHECK(w > 0 || w == -ENOSPC);
		if (w > 0) {
			CHECK_EQ(udax_pread(f, out, (size_t)w, 0), w);
			CHECK(!memcmp(buf, out, (size_t)w));
		}
		CHECK_OK(udax_close(f));
		CHECK_OK(udax_unlink(sfs, path));
	}
	free(buf);
	free(out);
	return NULL;
}

static void *holes(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	uint8_t *out = malloc(4 * GROUP), page[4096];
	uint64_t rnd = id * 7919 + 1;
	struct udax_file *f;
	char path[32];

	CHECK(out != NULL);
	snprintf(path, sizeof(path), "/holes%u", id);
	memset(page, 0xee, sizeof(page));
	for (unsigned r = 0; r < STRESS_ROUNDS; r++) {
		uint64_t off;
		ssize_t w;

		rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
		off = rnd % 4 * GROUP + (rnd >> 8) % 512 * 4096;
		CHECK_OK(udax_open(sfs, path, O_CREAT | O_EXCL | O_RDWR, 0644, &f));
		CHECK_OK(udax_ftruncate(f, 4 * GROUP));
		w = udax_pwrite(f, page, sizeof(page), (off_t)off);
		CHECK(w == (ssize_t)sizeof(page) || w == -ENOSPC);
		CHECK_EQ(udax_pread(f, out, 4 * GROUP, 0), (ssize_t)(4 * GROUP));
		if (w > 0) {
			CHECK(!memcmp(out + off, page, sizeof(page)));
			memset(out + off, 0, sizeof(page));
		}
		if (!all_zero(out, 4 * GROUP))
			test_fail(__FILE__, __LINE__, "%s: a byte the file never had is not zero",
				  path);
		CHECK_OK(udax_close(f));
		CHECK_OK(udax_unlink(sfs, path));
	}
	free(out);
	return NULL;
}

static void test_stress(void)
{
	const char *pool = fstest_pool("prezero-stress.pool", 20 * MIB);
	pthread_t t[4];

	CHECK_OK(udax_mount(pool, UDAX_MOUNT_PREZERO, &sfs));
	for (unsigned i = 0; i < 4; i++)
		CHECK_OK(pthread_create(&t[i], NULL, i < 2 ? churn : holes, (void *)(uintptr_t)i));
	for (unsigned i = 0; i < 4; i++)
		CHECK_OK(pthread_join(t[i], NULL));
	CHECK_OK(udax_unmount(sfs));
	fstest_fsck_clean(pool);
}

int main(void)
{
	test_watchdog(120);
	/* pools on tmpfs, with the flush path on: no msync of a disk file per write */
	if (!getenv("TMPDIR") && !access("/dev/shm", W_OK))
		setenv("TMPDIR", "/dev/shm", 1);
	setenv("UDAX_FORCE_FLUSH", "1", 1);
	test_prezero(false);
	test_prezero(true);
	test_stress();
	return 0;
}
