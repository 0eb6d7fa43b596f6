// SPDX-License-Identifier: MIT
/*
 * Threads on one mounted pool: private files and directories per thread,
 * disjoint writers and readers on one shared file, and a truncating thread
 * racing readers of another. Afterwards every byte is checked and fsck is clean.
 */
#include <pthread.h>

#include "fstest.h"

#define NTHREADS 4
#define CHUNK	 (64 * 1024)
#define ROUNDS	 40

static struct udax_fs *fs;
#define RECORD 100

static struct udax_file *shared, *shrinking, *appended;
static volatile int stop;

static void *private_worker(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	static _Thread_local uint8_t buf[CHUNK], out[CHUNK];
	char dir[32], a[64], b[64];
	struct udax_file *f;

	snprintf(dir, sizeof(dir), "/t%u", id);
	CHECK_OK(udax_mkdir(fs, dir, 0755));
	for (int r = 0; r < ROUNDS; r++) {
		snprintf(a, sizeof(a), "%s/f%d", dir, r);
		snprintf(b, sizeof(b), "/t%u/g%d", id, r % 3);
		CHECK_OK(udax_open(fs, a, O_CREAT | O_EXCL | O_RDWR, 0644, &f));
		fill_pattern(buf, CHUNK, (uint64_t)r, id);
		CHECK_EQ(udax_pwrite(f, buf, CHUNK - (size_t)r, r * 4096), CHUNK - (size_t)r);
		CHECK_EQ(udax_pread(f, out, CHUNK, r * 4096), CHUNK - (size_t)r);
		CHECK(!memcmp(buf, out, CHUNK - (size_t)r));
		CHECK_OK(udax_close(f));
		CHECK_OK(udax_rename(fs, a, b));
		if (r % 5 == 4)
			CHECK_OK(udax_unlink(fs, b));
	}
	return NULL;
}

/* Thread id writes and reads back its own 64 KiB slots of the shared file. */
static void *shared_worker(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	static _Thread_local uint8_t buf[CHUNK], out[CHUNK];

	for (int r = 0; r < ROUNDS; r++) {
		off_t off = (off_t)((r % 8) * NTHREADS + id) * CHUNK;

		fill_pattern(buf, CHUNK, (uint64_t)off, (unsigned)r);
		CHECK_EQ(udax_pwrite(shared, buf, CHUNK, off), CHUNK);
		CHECK_EQ(udax_pread(shared, out, CHUNK, off), CHUNK);
		CHECK(!memcmp(buf, out, CHUNK));
	}
	return NULL;
}

/* Appends through one shared O_APPEND handle: whole records, none lost. */
static void *appender(void *arg)
{
	uint8_t rec[RECORD];

	for (int r = 0; r < ROUNDS; r++) {
		memset(rec, (int)((uintptr_t)arg * ROUNDS + (uintptr_t)r), sizeof(rec));
		CHECK_EQ(udax_write(appended, rec, RECORD), RECORD);
	}
	return NULL;
}

static void check_appended(void)
{
	static uint8_t buf[NTHREADS * ROUNDS * RECORD];
	int seen[NTHREADS * ROUNDS] = {0};

	CHECK_EQ(udax_pread(appended, buf, sizeof(buf) + 1, 0), sizeof(buf));
	for (unsigned i = 0; i < NTHREADS * ROUNDS; i++) {
		for (unsigned k = 1; k < RECORD; k++)
			CHECK_EQ(buf[i * RECORD + k], buf[i * RECORD]);
		seen[buf[i * RECORD]]++;
	}
	for (unsigned i = 0; i < NTHREADS * ROUNDS; i++)
		CHECK_EQ(seen[i], 1);
}

/* Reads of a file being truncated see its bytes or nothing, never garbage. */
static void *reader(void *arg)
{
	static _Thread_local uint8_t out[CHUNK];

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		ssize_t n = udax_pread(shrinking, out, CHUNK, 0);

		CHECK(n >= 0 && n <= CHUNK);
		for (ssize_t i = 0; i < n; i++)
			CHECK(out[i] == 0x77 || out[i] == 0);
	}
	return NULL;
}

static void *truncater(void *arg)
{
	static uint8_t buf[CHUNK];

	(void)arg;
	memset(buf, 0x77, sizeof(buf));
	for (int r = 0; r < ROUNDS * 4; r++) {
		CHECK_EQ(udax_pwrite(shrinking, buf, CHUNK, 0), CHUNK);
		CHECK_OK(udax_ftruncate(shrinking, (off_t)(test_rand() % CHUNK)));
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	return NULL;
}

int main(void)
{
	pthread_t th[3 * NTHREADS + 2];
	static uint8_t buf[CHUNK], out[CHUNK];
	const char *pool;

	test_watchdog(120);
	test_seed(7);
	pool = fstest_pool("conc.pool", 64 * MIB);
	fs = fstest_mount(pool);
	CHECK_OK(udax_open(fs, "/shared", O_CREAT | O_RDWR, 0644, &shared));
	CHECK_OK(udax_open(fs, "/shrinking", O_CREAT | O_RDWR, 0644, &shrinking));
	CHECK_OK(udax_open(fs, "/appended", O_CREAT | O_RDWR | O_APPEND, 0644, &appended));
	for (unsigned i = 0; i < NTHREADS; i++) {
		CHECK(!pthread_create(&th[i], NULL, private_worker, (void *)(uintptr_t)i));
		CHECK(!pthread_create(&th[NTHREADS + i], NULL, shared_worker,
				      (void *)(uintptr_t)i));
		CHECK(!pthread_create(&th[2 * NTHREADS + 2 + i], NULL, appender,
				      (void *)(uintptr_t)i));
	}
	CHECK(!pthread_create(&th[2 * NTHREADS], NULL, reader, NULL));
	CHECK(!pthread_create(&th[2 * NTHREADS + 1], NULL, truncater, NULL));
	for (unsigned i = 0; i < 3 * NTHREADS + 2; i++)
		CHECK(!pthread_join(th[i], NULL));
	check_appended();
	/* the last round of each shared slot is there */
	for (unsigned id = 0; id < NTHREADS; id++) {
		for (int slot = 0; slot < 8; slot++) {
			off_t off = (off_t)(slot * NTHREADS + (int)id) * CHUNK;
			int r = ROUNDS - 8 + slot;

			fill_pattern(buf, CHUNK, (uint64_t)off, (unsigned)r);
			CHECK_EQ(udax_pread(shared, out, CHUNK, off), CHUNK);
			CHECK(!memcmp(buf, out, CHUNK));
		}
	}
	CHECK_OK(udax_close(shared));
	CHECK_OK(udax_close(shrinking));
	CHECK_OK(udax_close(appended));
	CHECK_OK(udax_unmount(fs));
	fstest_fsck_clean(pool);
	return 0;
}
