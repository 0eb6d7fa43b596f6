// SPDX-License-Identifier: MIT
/*
 * Pins against layout changes on a real udaxfs file (the inventory's rows
 * 12 and 13, and the layout-breaking protocol of src/dax/layout.h):
 *  - truncate, punch, zero, collapse and insert over a pinned page wait:
 *    with a timeout they fail with ETIMEDOUT and change nothing; cancelled
 *    they fail with EINTR; after the unpin they proceed;
 *  - a pin outlives munmap (row 12), and the release of an unlinked file at
 *    its last close waits for it (row 13);
 *  - a pinned page keeps its block: "DMA" through the pool's backing lands
 *    in the file, never in another file's block;
 *  - the exact errors of udax_pin.
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

#define MiB (1ull << 20)
#define PG  4096ull

static char pool[512];

static struct udax_file *create(struct udax_fs *fs, const char *name, int c, size_t len)
{
	char *buf = malloc(len);
	struct udax_file *f;

	CHECK(buf);
	memset(buf, c, len);
	CHECK_OK(udax_open(fs, name, O_CREAT | O_RDWR | O_TRUNC, 0644, &f));
	CHECK_EQ(udax_pwrite(f, buf, len, 0), (long long)len);
	free(buf);
	return f;
}

static char *map(struct udax_file *f, size_t len)
{
	void *p;

	CHECK_OK(udax_mmap(f, NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &p));
	return p;
}

static uint64_t size_of(struct udax_file *f)
{
	struct udax_stat st;

	CHECK_OK(udax_fstat(f, &st));
	return st.size;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* Every layout change over the pinned page times out and changes nothing. */
static void test_changes_wait(struct udax_fs *fs)
{
	struct udax_file *f = create(fs, "/w", 'a', 4 * MiB);
	char *p = map(f, 4 * MiB);
	struct udax_pin *pin;
	char buf[16];

	CHECK_OK(udax_pin(p + 3 * MiB, 100, UDAX_PIN_WRITE, &pin));
	CHECK_EQ(udax_pin_pages(pin), 1);
	CHECK_OK(udax_set_layout_timeout(fs, 50));
	CHECK_ERR(udax_ftruncate(f, 1 * MiB), ETIMEDOUT);
	CHECK_ERR(udax_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 3 * MiB, PG),
		  ETIMEDOUT);
	CHECK_ERR(udax_fallocate(f, FALLOC_FL_ZERO_RANGE, 2 * MiB, 2 * MiB), ETIMEDOUT);
	CHECK_ERR(udax_fallocate(f, FALLOC_FL_COLLAPSE_RANGE, 0, 2 * MiB), ETIMEDOUT);
	CHECK_ERR(udax_fallocate(f, FALLOC_FL_INSERT_RANGE, 1 * MiB, 2 * MiB), ETIMEDOUT);
	/* nothing changed, and the mapping faults back in */
	CHECK_EQ(size_of(f), 4 * MiB);
	CHECK_EQ(p[3 * MiB], 'a');
	CHECK_EQ(udax_pread(f, buf, sizeof(buf), 3 * MiB), (long long)sizeof(buf));
	CHECK_EQ(buf[0], 'a');
	/* changes elsewhere do not wait */
	CHECK_OK(udax_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PG));
	CHECK_EQ(p[0], 0);
	udax_unpin(pin);
	CHECK_OK(udax_ftruncate(f, 1 * MiB));
	CHECK_EQ(size_of(f), 1 * MiB);
	CHECK_OK(udax_set_layout_timeout(fs, -1));
	CHECK_OK(udax_munmap(p, 4 * MiB));
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unlink(fs, "/w"));
}

struct truncator {
	struct udax_file *f;
	uint64_t size;
	int ret;
	atomic_bool done;
};

static void *truncate_thread(void *arg)
{
	struct truncator *t = arg;

	t->ret = udax_ftruncate(t->f, (off_t)t->size);
	atomic_store(&t->done, true);
	return NULL;
}

/*
 * An unbounded wait ends at the unpin; another one ends at the cancel. A pin
 * outlives munmap (row 12).
 */
static void test_wait_and_cancel(struct udax_fs *fs)
{
	struct udax_file *f = create(fs, "/c", 'b', 2 * MiB);
	struct truncator t = {.f = f, .size = 0};
	char *p = map(f, 2 * MiB);
	struct udax_pin *pin;
	pthread_t th;

	CHECK_OK(udax_pin(p + 5 * PG, 3 * PG, 0, &pin));
	CHECK_EQ(udax_pin_pages(pin), 3);
	CHECK_OK(udax_munmap(p, 2 * MiB)); /* the pin stays */
	CHECK_OK(pthread_create(&th, NULL, truncate_thread, &t));
	sleep_ms(100);
	CHECK(!atomic_load(&t.done)); /* cannot finish while pinned */
	udax_cancel_layout_waits(fs);
	CHECK_OK(pthread_join(th, NULL));
	CHECK_EQ(t.ret, -EINTR);
	CHECK_EQ(size_of(f), 2 * MiB);

	atomic_store(&t.done, false);
	CHECK_OK(pthread_create(&th, NULL, truncate_thread, &t));
	sleep_ms(100);
	CHECK(!atomic_load(&t.done));
	udax_unpin(pin);
	CHECK_OK(pthread_join(th, NULL));
	CHECK_OK(t.ret);
	CHECK_EQ(size_of(f), 0);
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unlink(fs, "/c"));
}

struct closer {
	struct udax_file *f;
	atomic_bool done;
};

static void *close_thread(void *arg)
{
	struct closer *c = arg;

	CHECK_OK(udax_close(c->f));
	atomic_store(&c->done, true);
	return NULL;
}

/*
 * A "device" writes into pinned pages through the pool's backing, not the
 * mapping. Row 13: the file is unlinked and closed meanwhile; its blocks are
 * not released (and so not reused by another file) until the unpin.
 */
static void test_unlinked_release(struct udax_fs *fs)
{
	struct udax_file *f = create(fs, "/u", 'c', 2 * MiB), *g;
	struct closer c = {.f = f};
	char *p = map(f, 2 * MiB), *dev, buf[8];
	struct udax_statfs before, during;
	struct udax_pin *pin;
	int64_t off;
	pthread_t th;
	int fd;

	CHECK_OK(udax_pin(p, 2 * MiB, UDAX_PIN_WRITE, &pin));
	off = udax_pin_media_offset(pin, 7);
	CHECK(off > 0);
	CHECK_ERR(udax_pin_media_offset(pin, 512), EINVAL);
	fd = open(pool, O_RDWR);
	CHECK(fd >= 0);
	dev = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
	CHECK(dev != MAP_FAILED);
	memcpy(dev, "DMA", 4);
	CHECK_EQ(memcmp(p + 7 * PG, "DMA", 4), 0);
	CHECK_OK(udax_munmap(p, 2 * MiB));
	CHECK_OK(udax_statfs(fs, &before));
	CHECK_OK(udax_unlink(fs, "/u"));
	CHECK_OK(pthread_create(&th, NULL, close_thread, &c));
	sleep_ms(100);
	CHECK(!atomic_load(&c.done)); /* the release waits for the pin */
	CHECK_OK(udax_statfs(fs, &during));
	CHECK_EQ(during.blocks_free, before.blocks_free); /* no block was freed */
	/* another file cannot get the pinned blocks meanwhile */
	g = create(fs, "/other", 'z', 1 * MiB);
	memcpy(dev, "DMA2", 5);
	CHECK_EQ(udax_pread(g, buf, 8, 0), 8);
	CHECK_EQ(buf[0], 'z');
	udax_unpin(pin);
	CHECK_OK(pthread_join(th, NULL));
	munmap(dev, PG);
	close(fd);
	CHECK_OK(udax_close(g));
	CHECK_OK(udax_unlink(fs, "/other"));
}

static sigjmp_buf env;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(env, 1);
}

static void test_pin_errors(struct udax_fs *fs)
{
	struct udax_file *f = create(fs, "/e", 'd', 8 * PG);
	struct udax_pin *pin;
	char local[64];
	void *priv;
	char *p = map(f, 4 * MiB);

	CHECK_ERR(udax_pin(local, sizeof(local), 0, &pin), EFAULT);
	CHECK_ERR(udax_pin(p, 0, 0, &pin), EINVAL);
	CHECK_ERR(udax_pin(p, PG, 0x10, &pin), EINVAL);
	CHECK_ERR(udax_pin(p, PG, 0, NULL), EFAULT);
	CHECK_ERR(udax_pin(p + 7 * PG, 2 * PG, 0, &pin), EFAULT); /* the second page is past EOF */
	CHECK_OK(udax_mmap(f, NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0, &priv));
	CHECK_ERR(udax_pin(priv, PG, 0, &pin), EINVAL);
	CHECK_OK(udax_munmap(priv, PG));
	/* a failed pin holds nothing: truncation proceeds at once */
	CHECK_OK(udax_set_layout_timeout(fs, 0));
	CHECK_OK(udax_ftruncate(f, 0));
	CHECK_OK(udax_set_layout_timeout(fs, -1));
	signal(SIGBUS, on_sigbus);
	if (!sigsetjmp(env, 1)) {
		(void)*(volatile char *)p;
		CHECK(!"a read past EOF returned");
	}
	signal(SIGBUS, SIG_DFL);
	CHECK_OK(udax_munmap(p, 4 * MiB));
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unlink(fs, "/e"));
}

/* A read pin of a hole: the zero page has no block, so the hole is allocated (or refused). */
static void test_pin_hole(struct udax_fs *fs)
{
	struct udax_file *f;
	struct udax_pin *pin;
	struct udax_stat st;
	void *ro;
	char *p;

	CHECK_OK(udax_open(fs, "/h", O_CREAT | O_RDWR, 0644, &f));
	CHECK_OK(udax_ftruncate(f, 2 * MiB));
	CHECK_OK(udax_mmap(f, NULL, 2 * MiB, PROT_READ, MAP_SHARED, 0, &ro));
	CHECK_ERR(udax_pin((char *)ro + PG, PG, 0, &pin), EFAULT);
	p = map(f, 2 * MiB);
	CHECK_EQ(p[PG], 0); /* the zero page */
	CHECK_OK(udax_pin(p + PG, PG, 0, &pin));
	CHECK(udax_pin_media_offset(pin, 0) > 0);
	CHECK_OK(udax_fstat(f, &st));
	CHECK(st.blocks > 0); /* the hole got its block */
	CHECK_EQ(p[PG], 0);
	udax_unpin(pin);
	CHECK_OK(udax_munmap(p, 2 * MiB));
	CHECK_OK(udax_munmap(ro, 2 * MiB));
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unlink(fs, "/h"));
}

int main(void)
{
	struct udax_fs *fs;

	test_watchdog(60);
	snprintf(pool, sizeof(pool), "%s/pins.pool", test_tmpdir());
	CHECK_OK(udax_mkfs(pool, 64 * MiB, NULL));
	CHECK_OK(udax_mount(pool, 0, &fs));
	test_changes_wait(fs);
	test_wait_and_cancel(fs);
	test_unlinked_release(fs);
	test_pin_errors(fs);
	test_pin_hole(fs);
	CHECK_OK(udax_unmount(fs));
	CHECK_EQ(udax_fsck(pool, 0, NULL), 0);
	printf("ok\n");
	return 0;
}
