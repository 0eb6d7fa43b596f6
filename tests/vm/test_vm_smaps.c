// SPDX-License-Identifier: MIT
/*
 * PMD coverage read back from /proc/self/smaps: on a huge=always tmpfs (mounted
 * here when running as root; skipped otherwise), an aligned mapping of an
 * aligned extent is all PMD-mapped; a misaligned one is all PTE-mapped. On
 * hugetlbfs (if 4 more huge pages can be had; given back at exit) too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <unistd.h>

#include "fake_fs.h"
#include "testlib.h"

static char mnt[2][256];
static long nr_hugepages = -1;
static const char *nr_path = "/proc/sys/vm/nr_hugepages";

static long read_nr(void)
{
	FILE *f = fopen(nr_path, "r");
	long v = -1;

	if (f && fscanf(f, "%ld", &v) != 1)
		v = -1;
	if (f)
		fclose(f);
	return v;
}

static bool write_nr(long v)
{
	FILE *f = fopen(nr_path, "w");

	return f && fprintf(f, "%ld\n", v) > 0 && !fclose(f);
}

static void cleanup(void)
{
	for (int i = 0; i < 2; i++) {
		if (mnt[i][0]) {
			umount2(mnt[i], MNT_DETACH);
			rmdir(mnt[i]);
		}
	}
	if (nr_hugepages >= 0)
		write_nr(nr_hugepages);
}

/* Mounts @type at a new directory; NULL if it cannot. */
static const char *mount_at(int i, const char *type, const char *opts)
{
	snprintf(mnt[i], sizeof(mnt[i]), "%s/%s", test_tmpdir(), type);
	CHECK_OK(mkdir(mnt[i], 0700) ? -errno : 0);
	if (mount("udax-vm-test", mnt[i], type, 0, opts)) {
		rmdir(mnt[i]);
		mnt[i][0] = 0;
		return NULL;
	}
	return mnt[i];
}

/* An aligned mapping of an aligned 4 MiB extent, and a misaligned one. */
static void check_coverage(const char *dir, bool misaligned_too)
{
	struct fake_fs *fs = fake_new_in(dir, 0, 8 * MiB, 4 * MiB);
	struct vm_pmd_coverage cov;
	char *p, *q, *at;

	CHECK(pmem_get_info(fs->pm)->pmd_capable);
	fake_add(fs, 0, 4 * MiB, 4 * MiB, IOMAP_MAPPED);
	for (uint64_t off = 0; off < 4 * MiB; off += DAX_PAGE_SIZE)
		fs->base[4 * MiB + off] = 1;
	CHECK_OK(vm_mmap(&fs->file, NULL, 4 * MiB, PROT_READ, MAP_SHARED | MAP_POPULATE, 0,
			 (void **)&p));
	for (uint64_t off = 0; off < 4 * MiB; off += DAX_PAGE_SIZE)
		CHECK_EQ(p[off], 1);
	CHECK_OK(vm_pmd_coverage(p, 4 * MiB, &cov));
	CHECK_EQ(cov.mapped, 4 * MiB);
	CHECK_EQ(cov.pmd_mapped, 4 * MiB);
	CHECK_OK(vm_munmap(p, 4 * MiB));
	if (misaligned_too) {
		at = mmap(NULL, 8 * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(at != MAP_FAILED);
		munmap(at, 8 * MiB);
		at = (char *)(((uintptr_t)at + DAX_PMD_SIZE - 1) & ~(DAX_PMD_SIZE - 1)) +
		     DAX_PAGE_SIZE;
		CHECK_OK(vm_mmap(&fs->file, at, 4 * MiB, PROT_READ,
				 MAP_SHARED | MAP_FIXED | MAP_POPULATE, 0, (void **)&q));
		for (uint64_t off = 0; off < 4 * MiB; off += DAX_PAGE_SIZE)
			CHECK_EQ(q[off], 1);
		CHECK_OK(vm_pmd_coverage(q, 4 * MiB, &cov));
		CHECK_EQ(cov.mapped, 4 * MiB);
		CHECK_EQ(cov.pmd_mapped, 0);
		CHECK_OK(vm_munmap(q, 4 * MiB));
	}
	fake_free(fs);
}

int main(void)
{
	const char *dir;
	int tested = 0;

	test_watchdog(30);
	test_tmpdir(); /* made first, so it is removed after cleanup() unmounts in it */
	atexit(cleanup);
	dir = mount_at(0, "tmpfs", "huge=always,size=64m");
	if (dir) {
		check_coverage(dir, true);
		tested++;
	}
	nr_hugepages = read_nr();
	if (nr_hugepages >= 0 && (!write_nr(nr_hugepages + 4) || read_nr() < nr_hugepages + 4)) {
		write_nr(nr_hugepages);
		nr_hugepages = -1;
	}
	dir = nr_hugepages >= 0 ? mount_at(1, "hugetlbfs", "pagesize=2M") : NULL;
	if (dir) {
		check_coverage(dir, false); /* hugetlbfs cannot be mapped by 4 KiB windows */
		tested++;
	}
	if (!tested)
		test_skip("neither a huge tmpfs nor hugetlbfs could be mounted (needs root)");
	printf("ok (%d backings)\n", tested);
	return 0;
}
