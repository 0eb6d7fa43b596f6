// SPDX-License-Identifier: MIT
/*
 * xfstests' t_mmap_collision, extended (the inventory's row 14): one thread
 * truncates, punches, zeroes, collapses and inserts ranges of file A while
 * others store to and load from A through a shared mapping, and another
 * pins pages of A and writes into them as a device would (through the
 * pool's backing, not the mapping). A fourth thread keeps writing file B,
 * which gets the blocks A frees.
 *
 * The checker: every word anyone stores into A is tagged A, every word
 * written into B is tagged B with its position and B is reread after every
 * change. A load through A's mapping
 * may see 0 or an A word, never a B word (a freed block read after its
 * reuse); B must read back exactly what was written to it (a freed block
 * written through a stale mapping or a released pin would corrupt it).
 * Accesses past A's end raise SIGBUS, which the storing threads expect.
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "udax.h"
#include "testlib.h"

#define MiB	 (1ull << 20)
#define PG	 4096ull
#define A_SIZE	 (4 * MiB)
#define B_SIZE	 (8 * MiB)
#define POOL	 (32 * MiB)
#define TAG_MASK 0xff00000000000000ull
#define TAG_A	 0xa100000000000000ull
#define TAG_B	 0xb200000000000000ull

static struct udax_fs *fs;
static struct udax_file *fa, *fb;
static char *amap; /* A, mapped shared, A_SIZE */
static char *dev;  /* the whole pool: the "device" view */
static char pool[256];
static atomic_bool stop;
static _Atomic uint64_t bad_loads, loads, stores, sigbus, pins, layout_ops;

static __thread sigjmp_buf env;
static __thread volatile sig_atomic_t armed;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si, (void)uc;
	if (!armed)
		abort();
	armed = 0;
	siglongjmp(env, 1);
}

/* Per-thread generators, seeded from the test's seed (test_rand is not thread-safe). */
static __thread uint64_t rnd_state;
static _Atomic uint64_t rnd_seeds;

static uint64_t rnd(uint64_t n)
{
	if (!rnd_state)
		rnd_state = atomic_fetch_add(&rnd_seeds, 0x9e3779b97f4a7c15ull) | 1;
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state % n;
}

static void *mapper(void *arg)
{
	volatile uint64_t *w;
	uint64_t v;

	(void)arg;
	while (!atomic_load(&stop)) {
		w = (volatile uint64_t *)(amap + rnd(A_SIZE / 8) * 8);
		if (sigsetjmp(env, 1)) {
			atomic_fetch_add(&sigbus, 1);
			continue;
		}
		armed = 1;
		if (rnd(2)) {
			*w = TAG_A | rnd(1ull << 40);
			atomic_fetch_add(&stores, 1);
		} else {
			v = *w;
			atomic_fetch_add(&loads, 1);
			if (v && (v & TAG_MASK) != TAG_A)
				atomic_fetch_add(&bad_loads, 1);
		}
		armed = 0;
	}
	return NULL;
}

/* The media offset of A's file offset @pos now, or -1 for a hole. */
static int64_t a_media(uint64_t pos)
{
	static __thread struct udax_extent ext[A_SIZE / PG];
	int n = udax_fiemap(fa, ext, A_SIZE / PG);

	CHECK(n >= 0 && n <= (int)(A_SIZE / PG)); /* A never holds more than its pages */
	for (int i = 0; i < n; i++)
		if (pos >= ext[i].logical && pos - ext[i].logical < ext[i].length)
			return (int64_t)(ext[i].physical + pos - ext[i].logical);
	return -1;
}

/*
 * Pins a few pages of A and writes A words into them through the device
 * view; before the unpin, each pinned page must still be A's block at the
 * same place (a pinned page keeps its block whatever the layout thread does).
 */
static void *dma(void *arg)
{
	struct udax_pin *pin;
	uint64_t n, off, first;
	int ret;

	(void)arg;
	while (!atomic_load(&stop)) {
		n = 1 + rnd(4);
		first = rnd(A_SIZE / PG - n) * PG;
		ret = udax_pin(amap + first, n * PG, UDAX_PIN_WRITE, &pin);
		if (ret) {
			CHECK_EQ(ret, -EFAULT); /* past A's end right now */
			continue;
		}
		atomic_fetch_add(&pins, 1);
		/* a device transfer: a few milliseconds of stores into the pinned pages */
		for (int round = 0; round < 50; round++) {
			for (uint64_t i = 0; i < udax_pin_pages(pin); i++) {
				off = (uint64_t)udax_pin_media_offset(pin, i) + rnd(PG / 8) * 8;
				__atomic_store_n((uint64_t *)(dev + off), TAG_A | round,
						 __ATOMIC_RELAXED);
			}
			nanosleep(&(struct timespec){0, 50000}, NULL);
		}
		for (uint64_t i = 0; i < n; i++)
			CHECK_EQ(a_media(first + i * PG), udax_pin_media_offset(pin, i));
		udax_unpin(pin);
	}
	return NULL;
}

static void *layout(void *arg)
{
	uint64_t off, len;
	int ret;

	(void)arg;
	while (!atomic_load(&stop)) {
		off = rnd(A_SIZE / PG) * PG;
		len = (1 + rnd(A_SIZE / PG - off / PG)) * PG;
		switch (rnd(5)) {
		case 0:
			ret = udax_ftruncate(fa, (off_t)off);
			break;
		case 1:
			ret = udax_fallocate(fa, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					     (off_t)off, (off_t)len);
			break;
		case 2:
			ret = udax_fallocate(fa, FALLOC_FL_ZERO_RANGE, (off_t)off, (off_t)len);
			break;
		case 3:
			ret = off + len < A_SIZE ? udax_fallocate(fa, FALLOC_FL_COLLAPSE_RANGE,
								  (off_t)off, (off_t)len)
						 : 0;
			break;
		default:
			ret = udax_fallocate(fa, FALLOC_FL_INSERT_RANGE, (off_t)off, (off_t)len);
			break;
		}
		CHECK_OK(ret);
		CHECK_OK(udax_ftruncate(fa, A_SIZE)); /* back to full size (holes) */
		atomic_fetch_add(&layout_ops, 1);
	}
	return NULL;
}

/*
 * B: whole 2 MiB slots written with position-tagged words, or punched, so
 * that it takes the 2 MiB extents A frees; all of B is checked against its
 * shadow after every change.
 */
#define SLOT	(2 * MiB)
#define B_WORDS (B_SIZE / 8)
static uint64_t b_shadow[B_SIZE / SLOT]; /* the tag of each slot, 0: hole */
static uint64_t *b_buf, *b_got;

static uint64_t b_word(uint64_t i)
{
	uint64_t tag = b_shadow[i / (SLOT / 8)];

	return tag ? TAG_B | (tag << 24) | i : 0;
}

static void b_check(void)
{
	CHECK_EQ(udax_pread(fb, b_got, B_SIZE, 0), (long long)B_SIZE);
	for (uint64_t i = 0; i < B_WORDS; i++) {
		if (b_got[i] != b_word(i)) {
			fprintf(stderr, "B word %llu: %#llx, want %#llx\n", (unsigned long long)i,
				(unsigned long long)b_got[i], (unsigned long long)b_word(i));
			CHECK(!"file B changed behind its writer");
		}
	}
}

static void *writer_b(void *arg)
{
	uint64_t slot, tag = 1;

	(void)arg;
	while (!atomic_load(&stop)) {
		slot = rnd(B_SIZE / SLOT);
		if (rnd(3) == 0) {
			CHECK_OK(udax_fallocate(fb, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
						(off_t)(slot * SLOT), (off_t)SLOT));
			b_shadow[slot] = 0;
		} else {
			b_shadow[slot] = tag++;
			for (uint64_t i = 0; i < SLOT / 8; i++)
				b_buf[i] = b_word(slot * (SLOT / 8) + i);
			CHECK_EQ(udax_pwrite(fb, b_buf, SLOT, (off_t)(slot * SLOT)),
				 (long long)SLOT);
		}
		b_check();
	}
	return NULL;
}

static void run(unsigned seconds)
{
	pthread_t t[5];
	void *(*fn[5])(void *) = {mapper, mapper, dma, layout, writer_b};

	for (int i = 0; i < 5; i++)
		CHECK_OK(pthread_create(&t[i], NULL, fn[i], NULL));
	sleep(seconds);
	atomic_store(&stop, true);
	for (int i = 0; i < 5; i++)
		CHECK_OK(pthread_join(t[i], NULL));
}

int main(void)
{
	struct sigaction sa = {.sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO};
	int fd;

	test_watchdog(120);
	rnd_seeds = test_rand();
	snprintf(pool, sizeof(pool), "%s/collision.pool", test_tmpdir());
	CHECK_OK(udax_mkfs(pool, POOL, NULL));
	CHECK_OK(udax_mount(pool, 0, &fs));
	CHECK_OK(udax_open(fs, "/a", O_CREAT | O_RDWR, 0644, &fa));
	CHECK_OK(udax_open(fs, "/b", O_CREAT | O_RDWR, 0644, &fb));
	CHECK_OK(udax_ftruncate(fa, A_SIZE));
	CHECK_OK(udax_ftruncate(fb, B_SIZE));
	CHECK_OK(udax_mmap(fa, NULL, A_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0,
			   (void **)&amap));
	b_buf = malloc(SLOT);
	b_got = malloc(B_SIZE);
	CHECK(b_buf && b_got);
	fd = open(pool, O_RDWR);
	CHECK(fd >= 0);
	dev = mmap(NULL, POOL, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(dev != MAP_FAILED);
	sigemptyset(&sa.sa_mask);
	CHECK_OK(sigaction(SIGBUS, &sa, NULL));

	run(3);
	printf("stores %llu loads %llu sigbus %llu pins %llu layout changes %llu\n",
	       (unsigned long long)stores, (unsigned long long)loads, (unsigned long long)sigbus,
	       (unsigned long long)pins, (unsigned long long)layout_ops);
	CHECK_EQ(bad_loads, 0);
	b_check();
	/* the threads really collided */
	CHECK(layout_ops > 5 && pins > 5 && stores > 100);

	free(b_buf);
	free(b_got);
	munmap(dev, POOL);
	close(fd);
	CHECK_OK(udax_munmap(amap, A_SIZE));
	CHECK_OK(udax_close(fa));
	CHECK_OK(udax_close(fb));
	CHECK_OK(udax_unmount(fs));
	CHECK_EQ(udax_fsck(pool, 0, NULL), 0);
	printf("ok\n");
	return 0;
}
