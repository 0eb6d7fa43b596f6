// SPDX-License-Identifier: MIT
/*
 * Lockless reads (src/fs/readfast.c): which reads they serve, what turns them
 * away, and, under stress, that a read racing writes, punches, truncates and
 * the reuse of the freed blocks by another file returns what a locked read
 * would have: whole blocks of one write, zeros, or nothing, never a torn block
 * and never another file's bytes. The race itself is made certain with
 * userfaultfd: the read's copy stops at its first store into a missing page
 * of the caller's buffer, a writer runs, then the copy goes on.
 */
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

#include "fs/api/api_internal.h"
#include "fs/udaxfs.h"
#include "fstest.h"

#define BLK	 4096
#define FILE_LEN (3 * MIB)
#define OTHER	 0xee /* the bytes of the files that reuse freed blocks */

static struct udax_fs *fs;

static ssize_t read_fast(struct udax_file *f, void *buf, size_t len, uint64_t pos)
{
	return udaxfs_read_fast(f->node, buf, len, pos);
}

static void test_served(void)
{
	static uint8_t data[FILE_LEN], out[2 * BLK], want[2 * BLK];
	struct udax_file *f;

	CHECK_OK(udax_open(fs, "/served", O_CREAT | O_RDWR, 0644, &f));
	fill_pattern(data, FILE_LEN, 0, 5);
	CHECK_EQ(udax_pwrite(f, data, FILE_LEN, 0), FILE_LEN);
	/* nothing looked up since the allocation changed the map */
	CHECK_ERR(read_fast(f, out, BLK, 0), EAGAIN);
	CHECK_EQ(udax_pread(f, out, BLK, 0), BLK);
	/* now the extents around it are known: no lock, same bytes */
	memset(out, 0, sizeof(out));
	CHECK_EQ(read_fast(f, out, 2 * BLK, MIB + 100), 2 * BLK);
	CHECK(!memcmp(out, data + MIB + 100, 2 * BLK));
	/* clipped at EOF, as a locked read; at or past EOF the locked path answers */
	CHECK_EQ(read_fast(f, out, 2 * BLK, FILE_LEN - 10), 10);
	CHECK(!memcmp(out, data + FILE_LEN - 10, 10));
	CHECK_ERR(read_fast(f, out, BLK, FILE_LEN), EAGAIN);
	CHECK_ERR(read_fast(f, out, 0, 0), EAGAIN);
	/* a holder of the I/O lock exclusive turns it away */
	udaxfs_node_write_lock(f->node);
	CHECK_ERR(read_fast(f, out, BLK, 0), EAGAIN);
	udaxfs_node_write_unlock(f->node);
	CHECK_EQ(read_fast(f, out, BLK, 0), BLK);
	/* an overwrite changes no extent: served, new bytes */
	memset(data + 2 * BLK, 0x42, BLK);
	CHECK_EQ(udax_pwrite(f, data + 2 * BLK, BLK, 2 * BLK), BLK);
	CHECK_EQ(read_fast(f, out, BLK, 2 * BLK), BLK);
	CHECK(!memcmp(out, data + 2 * BLK, BLK));

	/* a punched block reads as zeros: the map change dropped what was known */
	CHECK_OK(udax_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, BLK, BLK));
	CHECK_ERR(read_fast(f, out, BLK, BLK), EAGAIN);
	memset(want, 0, BLK);
	CHECK_EQ(udax_pread(f, out, BLK, BLK), BLK);
	CHECK(!memcmp(out, want, BLK));
	/* a collapse moves the data after the range down */
	CHECK_EQ(udax_pread(f, out, BLK, 2 * MIB), BLK);
	CHECK_OK(udax_fallocate(f, FALLOC_FL_COLLAPSE_RANGE, 0, MIB));
	CHECK_EQ(udax_pread(f, out, BLK, MIB), BLK);
	CHECK(!memcmp(out, data + 2 * MIB, BLK));
	/* a truncate below a known extent: the locked path sees the new EOF */
	CHECK_OK(udax_ftruncate(f, 100));
	CHECK_EQ(udax_pread(f, out, BLK, 0), 100);
	CHECK_EQ(udax_pread(f, out, BLK, MIB), 0);
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unlink(fs, "/served"));
}

/* What runs while a lockless read's copy is stopped at the caller's buffer. */
enum race_writer { RACE_OVERWRITE, RACE_TRUNCATE_REUSE, RACE_HOLD_LOCK };

struct race {
	int uffd;
	enum race_writer what;
	struct udax_file *f;
	sem_t done; /* RACE_HOLD_LOCK: the read has returned */
};

static void race_write(struct race *r)
{
	static uint8_t blk[BLK];
	struct udax_file *o;

	switch (r->what) {
	case RACE_OVERWRITE:
		memset(blk, 0x5a, BLK);
		CHECK_EQ(udax_pwrite(r->f, blk, BLK, 0), BLK);
		break;
	case RACE_TRUNCATE_REUSE: /* the blocks freed go to a file of OTHER bytes */
		CHECK_OK(udax_ftruncate(r->f, 0));
		memset(blk, OTHER, BLK);
		CHECK_OK(udax_open(fs, "/reuse", O_CREAT | O_RDWR, 0644, &o));
		CHECK_EQ(udax_pwrite(o, blk, BLK, 0), BLK);
		CHECK_OK(udax_close(o));
		break;
	case RACE_HOLD_LOCK:
		udaxfs_node_write_lock(r->f->node);
		break;
	}
}

static void *race_handler(void *arg)
{
	struct race *r = arg;
	struct uffd_msg msg;
	struct uffdio_zeropage zp;

	CHECK_EQ(read(r->uffd, &msg, sizeof(msg)), sizeof(msg));
	CHECK_EQ(msg.event, UFFD_EVENT_PAGEFAULT);
	race_write(r);
	zp.range.start = msg.arg.pagefault.address & ~(uint64_t)(BLK - 1);
	zp.range.len = BLK;
	zp.mode = 0;
	CHECK(!ioctl(r->uffd, UFFDIO_ZEROPAGE, &zp));
	if (r->what == RACE_HOLD_LOCK) {
		CHECK(!sem_wait(&r->done));
		udaxfs_node_write_unlock(r->f->node);
	}
	return NULL;
}

/* A buffer page that is missing until the race's writer has run; NULL if no userfaultfd. */
static uint8_t *race_buffer(struct race *r)
{
	struct uffdio_api api = {.api = UFFD_API};
	struct uffdio_register reg = {.mode = UFFDIO_REGISTER_MODE_MISSING};
	uint8_t *buf;

	r->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	if (r->uffd < 0) {
		printf("race cases skipped: userfaultfd: %s\n", strerror(errno));
		return NULL;
	}
	CHECK(!ioctl(r->uffd, UFFDIO_API, &api));
	buf = mmap(NULL, BLK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(buf != MAP_FAILED);
	reg.range.start = (uintptr_t)buf;
	reg.range.len = BLK;
	CHECK(!ioctl(r->uffd, UFFDIO_REGISTER, &reg));
	return buf;
}

/*
 * A lockless read of a known block whose copy a writer interrupts: it must
 * give up (-EAGAIN) with the buffer zeroed, and the locked read then returns
 * the file as the writer left it.
 */
static bool test_race(enum race_writer what)
{
	static uint8_t data[BLK], out[BLK];
	struct race r = {.what = what};
	pthread_t th;
	uint8_t *buf = race_buffer(&r);
	ssize_t n;

	if (!buf)
		return false;
	CHECK_OK(udax_open(fs, "/race", O_CREAT | O_TRUNC | O_RDWR, 0644, &r.f));
	memset(data, 0x33, BLK);
	CHECK_EQ(udax_pwrite(r.f, data, BLK, 0), BLK);
	CHECK_EQ(udax_pread(r.f, out, BLK, 0), BLK);
	CHECK_EQ(read_fast(r.f, out, BLK, 0), BLK); /* served without the race */
	CHECK(!sem_init(&r.done, 0, 0));
	CHECK(!pthread_create(&th, NULL, race_handler, &r));
	n = read_fast(r.f, buf, BLK, 0);
	if (what == RACE_HOLD_LOCK)
		CHECK(!sem_post(&r.done));
	CHECK(!pthread_join(th, NULL));
	CHECK_ERR(n, EAGAIN);
	memset(out, 0, BLK);
	CHECK(!memcmp(buf, out, BLK));
	n = udax_pread(r.f, out, BLK, 0);
	CHECK_EQ(n, what == RACE_TRUNCATE_REUSE ? 0 : BLK);
	for (ssize_t i = 0; i < n; i++)
		CHECK_EQ(out[i], what == RACE_OVERWRITE ? 0x5a : 0x33);
	CHECK_OK(udax_close(r.f));
	sem_destroy(&r.done);
	munmap(buf, BLK);
	close(r.uffd);
	udax_unlink(fs, "/reuse");
	return true;
}

/* The stress test: one target file, its writer, a block recycler, readers. */
#define SBLOCKS 64
static struct udax_file *target;
static volatile int stop;

struct rng {
	uint64_t s;
};

static uint64_t next(struct rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return r->s;
}

/* Whole-block writes of one byte value (never 0 or OTHER), punches, truncates. */
static void *target_writer(void *arg)
{
	struct rng r = {(uintptr_t)arg};
	static uint8_t blk[BLK];
	uint8_t v = 1;

	for (int round = 0; !__atomic_load_n(&stop, __ATOMIC_ACQUIRE); round++) {
		uint64_t b = next(&r) % SBLOCKS;

		v = v == OTHER - 1 ? 1 : v + 1;
		memset(blk, v, BLK);
		CHECK_EQ(udax_pwrite(target, blk, BLK, (off_t)(b * BLK)), BLK);
		if (round % 16 == 5)
			CHECK_OK(udax_fallocate(target, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
						(off_t)(b * BLK), BLK));
		if (round % 64 == 9)
			CHECK_OK(udax_ftruncate(target, (off_t)((next(&r) % SBLOCKS) * BLK)));
		sched_yield(); /* leave gaps between writers, where reads go lockless */
	}
	return NULL;
}

/* Files of OTHER bytes created and removed, so freed blocks get a new owner fast. */
static void *recycler(void *arg)
{
	static uint8_t blk[16 * BLK];
	struct udax_file *f;

	(void)arg;
	memset(blk, OTHER, sizeof(blk));
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		CHECK_OK(udax_open(fs, "/other", O_CREAT | O_TRUNC | O_RDWR, 0644, &f));
		CHECK_EQ(udax_pwrite(f, blk, sizeof(blk), 0), sizeof(blk));
		CHECK_OK(udax_close(f));
		CHECK_OK(udax_unlink(fs, "/other"));
	}
	return NULL;
}

static unsigned long served[2];

/* Reads of up to RBLOCKS blocks: long copies, so that writers come in during them. */
#define RBLOCKS 16

static void check_blocks(const uint8_t *out, ssize_t n, uint64_t first)
{
	/* sizes are whole blocks: a block is all there or not at all */
	CHECK(n >= 0 && n % BLK == 0);
	for (ssize_t i = 0; i < n; i++) {
		uint8_t head = out[i / BLK * BLK];

		if (out[i] != head)
			test_fail(__FILE__, __LINE__, "block %llu torn: byte %zd is 0x%x, not 0x%x",
				  (unsigned long long)(first + (uint64_t)i / BLK), i % BLK, out[i],
				  head);
		if (head == OTHER)
			test_fail(__FILE__, __LINE__, "block %llu shows another file's bytes",
				  (unsigned long long)(first + (uint64_t)i / BLK));
	}
}

static unsigned long served[2];

static void *target_reader(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	struct rng r = {0x9e3779b97f4a7c15ull + id};
	static _Thread_local uint8_t out[RBLOCKS * BLK];
	unsigned long n_fast = 0;

	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		size_t len = (1 + next(&r) % RBLOCKS) * BLK;
		uint64_t b = next(&r) % (SBLOCKS - len / BLK + 1);
		ssize_t n = read_fast(target, out, len, b * BLK);

		if (n == -EAGAIN)
			n = udax_pread(target, out, len, (off_t)(b * BLK));
		else
			n_fast++;
		check_blocks(out, n, b);
	}
	served[id] = n_fast;
	return NULL;
}

static void test_stress(void)
{
	static uint8_t blk[SBLOCKS * BLK];
	pthread_t th[4];
	struct timespec t = {.tv_sec = 2};

	CHECK_OK(udax_open(fs, "/target", O_CREAT | O_RDWR, 0644, &target));
	memset(blk, 1, sizeof(blk));
	CHECK_EQ(udax_pwrite(target, blk, sizeof(blk), 0), sizeof(blk));
	CHECK(!pthread_create(&th[0], NULL, target_writer, (void *)(uintptr_t)test_rand()));
	CHECK(!pthread_create(&th[1], NULL, recycler, NULL));
	for (unsigned i = 0; i < 2; i++)
		CHECK(!pthread_create(&th[2 + i], NULL, target_reader, (void *)(uintptr_t)i));
	nanosleep(&t, NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < 4; i++)
		CHECK(!pthread_join(th[i], NULL));
	printf("lockless reads served: %lu and %lu\n", served[0], served[1]);
	/* the point of the test is the race: some reads must have gone lockless */
	CHECK(served[0] + served[1] > 0);
	CHECK_OK(udax_close(target));
}

int main(void)
{
	const char *pool;

	test_watchdog(120);
	test_seed(11);
	pool = fstest_pool("readfast.pool", 64 * MIB);
	fs = fstest_mount(pool);
	test_served();
	if (test_race(RACE_OVERWRITE)) {
		test_race(RACE_TRUNCATE_REUSE);
		test_race(RACE_HOLD_LOCK);
	}
	test_stress();
	CHECK_OK(udax_unmount(fs));
	fstest_fsck_clean(pool);
	return 0;
}
