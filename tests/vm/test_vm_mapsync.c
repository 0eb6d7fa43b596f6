// SPDX-License-Identifier: MIT
/*
 * xfstests generic/470 in user space, on udaxfs: in a MAP_SYNC mapping,
 * store into a hole and flush the stored lines, then lose power at once,
 * with no msync or fsync: after recovery the block is allocated and holds
 * the data. The power loss is simulated with the media layer's recorder
 * (the worst case: nothing that was not flushed and fenced survives), and
 * the crash image is mounted and checked like a pool after a reboot.
 * Also: without MAP_SYNC and without a flush the store may be lost, but the
 * file system stays consistent and nothing else changes; an fsync makes it
 * durable.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pmem/pmem.h"
#include "udax.h"
#include "testlib.h"

#define MiB  (1ull << 20)
#define PG   4096ull
#define POOL (32 * MiB)

static char pool[256], image_path[256];
static struct pmem_recorder *rec;

/* Mounts a crash image of the pool as it could be after a power loss now. */
static struct udax_fs *crash_and_mount(unsigned keep_pct)
{
	char *img = malloc(POOL);
	struct udax_fs *fs;
	FILE *out;

	CHECK(img);
	CHECK_OK(pmem_record_image(rec, &(struct pmem_crash_pick){.seed = 1, .keep_pct = keep_pct},
				   img));
	out = fopen(image_path, "w");
	CHECK(out && fwrite(img, 1, POOL, out) == POOL && fclose(out) == 0);
	free(img);
	CHECK_OK(udax_mount(image_path, 0, &fs));
	return fs;
}

static void read_back(struct udax_fs *fs, const char *path, uint64_t off, char *buf, size_t len)
{
	struct udax_file *f;

	CHECK_OK(udax_open(fs, path, O_RDONLY, 0, &f));
	CHECK_EQ(udax_pread(f, buf, len, (off_t)off), (long long)len);
	CHECK_OK(udax_close(f));
}

static void check_image(unsigned keep_pct, uint64_t off, const char *want, bool lost)
{
	struct udax_fs *fs = crash_and_mount(keep_pct);
	char got[PG];

	read_back(fs, "/f", off, got, PG);
	if (lost) {
		static const char zeros[PG];

		/* never flushed: the worst case loses it (the block reads as zeros) */
		CHECK(memcmp(got, zeros, PG) == 0);
	} else {
		CHECK(memcmp(got, want, PG) == 0);
	}
	CHECK_OK(udax_unmount(fs));
	CHECK_EQ(udax_fsck(image_path, 0, NULL), 0);
}

int main(void)
{
	struct udax_fs *fs;
	struct udax_file *f;
	struct udax_writeback_stats wb0, wb1;
	char want[PG], other[PG];
	char *p;

	test_watchdog(60);
	/* images on /dev/shm: on a disk, each recorded flush would be an msync */
	snprintf(pool, sizeof(pool), "/dev/shm/udax-mapsync.%d.pool", getpid());
	snprintf(image_path, sizeof(image_path), "/dev/shm/udax-mapsync.%d.img", getpid());
	setenv("UDAX_FORCE_FLUSH", "1", 1); /* volatile media emulating pmem */
	CHECK_OK(udax_mkfs(pool, POOL, NULL));
	CHECK_OK(pmem_record_arm(pool, NULL, NULL, &rec));
	CHECK_OK(udax_mount(pool, 0, &fs));
	CHECK_OK(udax_open(fs, "/f", O_CREAT | O_RDWR, 0644, &f));
	CHECK_OK(udax_ftruncate(f, 4 * MiB)); /* all hole */

	CHECK_OK(udax_mmap(f, NULL, 4 * MiB, PROT_READ | PROT_WRITE,
			   MAP_SHARED_VALIDATE | MAP_SYNC, 0, (void **)&p));
	memset(want, 'S', PG);
	memcpy(p + 1 * MiB, want, PG); /* allocates: committed before the page is writable */
	udax_persist(p + 1 * MiB, PG);
	check_image(0, 1 * MiB, want, false);

	/* without MAP_SYNC and without a flush: may be lost, never inconsistent */
	CHECK_OK(udax_munmap(p, 4 * MiB));
	CHECK_OK(udax_mmap(f, NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p));
	memset(other, 'N', PG);
	memcpy(p + 2 * MiB, other, PG);
	check_image(0, 2 * MiB, other, true);
	check_image(100, 2 * MiB, other, false); /* if everything reached the media */
	check_image(0, 1 * MiB, want, false);	 /* the earlier store is untouched */
	CHECK_OK(udax_writeback_stats(&wb0));
	CHECK_OK(udax_fsync(f));
	check_image(0, 2 * MiB, other, false);
	CHECK_OK(udax_writeback_stats(&wb1));
	CHECK_EQ(wb1.writebacks, wb0.writebacks + 1);
	CHECK(wb1.entries > wb0.entries && wb1.bytes >= wb0.bytes + PG);
	CHECK_OK(udax_fsync(f)); /* nothing dirty: nothing flushed */
	CHECK_OK(udax_writeback_stats(&wb0));
	CHECK_EQ(wb0.entries, wb1.entries);
	CHECK_ERR(udax_writeback_stats(NULL), EFAULT);

	CHECK_OK(udax_munmap(p, 4 * MiB));
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));
	pmem_record_free(rec);
	unlink(pool);
	unlink(image_path);
	printf("ok\n");
	return 0;
}
