// SPDX-License-Identifier: MIT
/*
 * Process crashes. Each round a child mounts the pool and runs random
 * operations on a few files, keeping a shadow model in shared memory; a file
 * is "stable" from the return of its fsync until its next change begins. The
 * parent SIGKILLs the child at a random moment, then fsck must find nothing
 * wrong and every stable file must match its model byte for byte.
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "fstest.h"

#define NFILES	4
#define MAXSIZE (96 * 1024)
#define ROUNDS	24

struct model {
	int stable; /* written with atomics: the child may die anywhere */
	int exists;
	uint64_t size;
	uint8_t data[MAXSIZE];
};

static struct model *models;
static uint64_t *ops_done; /* shared: operations children completed */
static const char *pool;

static void file_path(char *buf, size_t len, unsigned i, bool tmp)
{
	snprintf(buf, len, "/d%u/%s%u", i % 2, tmp ? "tmp" : "f", i);
}

static void set_stable(struct model *m, int v)
{
	__atomic_store_n(&m->stable, v, __ATOMIC_SEQ_CST);
}

static void op_write(struct udax_file *f, struct model *m)
{
	static uint8_t buf[MAXSIZE];
	uint64_t off = test_rand() % MAXSIZE, len = test_rand() % (MAXSIZE - off);

	fill_pattern(buf, len, off, (unsigned)test_rand());
	CHECK_EQ(udax_pwrite(f, buf, len, (off_t)off), len);
	memcpy(m->data + off, buf, len);
	if (len && off + len > m->size)
		m->size = off + len;
}

static void op_truncate(struct udax_file *f, struct model *m)
{
	uint64_t size = test_rand() % MAXSIZE;

	CHECK_OK(udax_ftruncate(f, (off_t)size));
	if (size < m->size)
		memset(m->data + size, 0, MAXSIZE - size);
	m->size = size;
}

static void op_punch(struct udax_file *f, struct model *m)
{
	uint64_t off = test_rand() % MAXSIZE, len = 1 + test_rand() % (MAXSIZE - off);

	CHECK_OK(udax_fallocate(f, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE, (off_t)off,
				(off_t)len));
	memset(m->data + off, 0, len);
}

/* Replaces file @i atomically: new content in a temporary file, then rename. */
static void op_replace(struct udax_fs *fs, unsigned i, struct model *m)
{
	char tmp[32], path[32];
	struct udax_file *f;

	file_path(tmp, sizeof(tmp), i, true);
	file_path(path, sizeof(path), i, false);
	CHECK_OK(udax_open(fs, tmp, O_CREAT | O_TRUNC | O_RDWR, 0644, &f));
	memset(m->data, 0, MAXSIZE);
	m->size = 0;
	op_write(f, m);
	CHECK_OK(udax_fsync(f));
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_rename(fs, tmp, path));
	m->exists = 1;
}

/* Creates, fills or removes a small subdirectory: directory blocks and link counts. */
static void op_dir(struct udax_fs *fs, unsigned i)
{
	char dir[32], file[48];
	struct udax_file *f;
	int ret;

	snprintf(dir, sizeof(dir), "/d%u/sub%u", i % 2, (unsigned)(test_rand() % 3));
	snprintf(file, sizeof(file), "%s/file", dir);
	ret = udax_mkdir(fs, dir, 0755);
	if (ret == 0) {
		CHECK_OK(udax_open(fs, file, O_CREAT | O_RDWR, 0644, &f));
		CHECK_EQ(udax_pwrite(f, dir, strlen(dir), 0), strlen(dir));
		CHECK_OK(udax_close(f));
		return;
	}
	CHECK_EQ(ret, -EEXIST);
	ret = udax_unlink(fs, file);
	CHECK(ret == 0 || ret == -ENOENT);
	CHECK_OK(udax_rmdir(fs, dir));
}

static void child(void)
{
	struct udax_fs *fs = fstest_mount(pool);
	char path[32];

	for (;;) {
		unsigned i = (unsigned)(test_rand() % NFILES), op = (unsigned)(test_rand() % 11);
		struct model *m = &models[i];
		struct udax_file *f;

		set_stable(m, 0);
		file_path(path, sizeof(path), i, false);
		if (op == 0) {
			op_replace(fs, i, m);
		} else if (op == 10) {
			op_dir(fs, i);
		} else if (op == 1 && m->exists) {
			CHECK_OK(udax_open(fs, path, O_RDWR, 0, &f));
			CHECK_OK(udax_unlink(fs, path)); /* unlinked while open: orphan */
			m->exists = 0;
			op_write(f, &(struct model){0});
			CHECK_OK(udax_close(f));
		} else {
			CHECK_OK(udax_open(fs, path, O_CREAT | O_RDWR, 0644, &f));
			if (!m->exists) {
				memset(m->data, 0, MAXSIZE);
				m->size = 0;
				m->exists = 1;
			}
			if (op < 6)
				op_write(f, m);
			else if (op < 8)
				op_truncate(f, m);
			else
				op_punch(f, m);
			CHECK_OK(udax_fsync(f));
			CHECK_OK(udax_close(f));
		}
		set_stable(m, 1);
		__atomic_add_fetch(ops_done, 1, __ATOMIC_SEQ_CST);
	}
}

/* After a crash in the middle of its change, a file is whatever recovery left. */
static void resync(struct udax_fs *fs, const char *path, struct model *m)
{
	struct udax_file *f;
	struct udax_stat st;
	int ret = udax_stat(fs, path, &st);

	CHECK(ret == 0 || ret == -ENOENT);
	memset(m->data, 0, MAXSIZE);
	m->size = 0;
	m->exists = ret == 0;
	if (m->exists) {
		CHECK(st.size <= MAXSIZE);
		CHECK_OK(udax_open(fs, path, O_RDONLY, 0, &f));
		CHECK_EQ(udax_pread(f, m->data, MAXSIZE, 0), st.size);
		m->size = st.size;
		CHECK_OK(udax_close(f));
	}
	set_stable(m, 1);
}

static void verify(void)
{
	static uint8_t buf[MAXSIZE];
	struct udax_fs *fs = fstest_mount(pool);
	char path[32];

	for (unsigned i = 0; i < NFILES; i++) {
		struct model *m = &models[i];
		struct udax_file *f;
		struct udax_stat st;

		file_path(path, sizeof(path), i, false);
		if (!__atomic_load_n(&m->stable, __ATOMIC_SEQ_CST)) {
			resync(fs, path, m);
			continue;
		}
		if (!m->exists) {
			CHECK_ERR(udax_stat(fs, path, &st), ENOENT);
			continue;
		}
		CHECK_OK(udax_open(fs, path, O_RDONLY, 0, &f));
		CHECK_OK(udax_fstat(f, &st));
		CHECK_EQ(st.size, m->size);
		CHECK_EQ(udax_pread(f, buf, MAXSIZE, 0), m->size);
		for (uint64_t k = 0; k < m->size; k++)
			if (buf[k] != m->data[k])
				test_fail(__FILE__, __LINE__, "file %u byte %llu: %u != %u", i,
					  (unsigned long long)k, buf[k], m->data[k]);
		CHECK_OK(udax_close(f));
	}
	CHECK_OK(udax_unmount(fs));
}

/*
 * Waits until the children have completed @target operations in all, so every
 * kill lands in real work however slow the machine is (the watchdog bounds it).
 */
static void wait_for_progress(pid_t pid, uint64_t target)
{
	while (__atomic_load_n(ops_done, __ATOMIC_SEQ_CST) < target) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			test_fail(__FILE__, __LINE__, "child exited before doing any work");
		usleep(1000);
	}
}

int main(void)
{
	struct udax_fs *fs;
	uint64_t seed;

	test_watchdog(100);
	test_seed(1234);
	pool = fstest_pool("crash.pool", 32 * MIB);
	models = mmap(NULL, NFILES * sizeof(*models) + sizeof(*ops_done), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(models != MAP_FAILED);
	ops_done = (uint64_t *)(models + NFILES);
	fs = fstest_mount(pool);
	CHECK_OK(udax_mkdir(fs, "/d0", 0755));
	CHECK_OK(udax_mkdir(fs, "/d1", 0755));
	CHECK_OK(udax_unmount(fs));
	for (int round = 0; round < ROUNDS; round++) {
		pid_t pid;
		int status;

		seed = test_rand();
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			test_seed(seed);
			child();
		}
		wait_for_progress(pid, *ops_done + 2);
		usleep((useconds_t)(test_rand() % 50000));
		CHECK(kill(pid, SIGKILL) == 0);
		CHECK(waitpid(pid, &status, 0) == pid);
		if (!WIFSIGNALED(status))
			test_fail(__FILE__, __LINE__, "round %d: child exited with %d", round,
				  WEXITSTATUS(status));
		fstest_fsck_clean(pool);
		verify();
	}
	/* the kills must have interrupted real work */
	fprintf(stderr, "%llu operations completed\n", (unsigned long long)*ops_done);
	CHECK(*ops_done >= ROUNDS * 2);
	return 0;
}
