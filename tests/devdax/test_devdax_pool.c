// SPDX-License-Identifier: MIT
/*
 * A raw region reserved inside a udax pool (udax_mkfs_opts.raw_size) and
 * opened as device-DAX (UDAX_DEVDAX_POOL), as a devdax namespace next to a
 * file system: the file system fills exactly its own part and never touches
 * the region, the region never reaches the file system, both can be used at
 * once, the region's place follows the alignment rules, bad sizes change
 * nothing, and a corrupt raw field is reported (fsck, -EUCLEAN) while the
 * file system part still mounts. Mapping with the kernel's page sizes is
 * checked on a huge tmpfs (2 MiB) and on hugetlbfs with 1 GiB pages, each
 * as root only (skipped, with the reason, otherwise).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devdax_testutil.h"
#include "fs/crc32c.h"
#include "fs/format.h"
#include "pmem_testutil.h"
#include "testlib.h"
#include "udax.h"
#include "vm/vm.h"

#define POOL (64 * MiB)
#define RAW  (16 * MiB)

static void mkfs_raw(const char *path, uint64_t size, uint64_t raw)
{
	struct udax_mkfs_opts mo = {.ninodes = 64, .raw_size = raw};

	CHECK_OK(udax_mkfs(path, size, &mo));
}

static struct udax_devdax *open_pool_region(const char *path, uint64_t align, unsigned flags)
{
	struct udax_devdax_opts o = {.align = align, .flags = UDAX_DEVDAX_POOL | flags};
	struct udax_devdax *dd;

	CHECK_OK(udax_devdax_open(path, &o, &dd));
	return dd;
}

static uint8_t *map_all(struct udax_devdax *dd, uint64_t len)
{
	void *p;

	CHECK_OK(udax_devdax_mmap(dd, NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &p));
	return p;
}

static void fill_pattern(uint8_t *p, uint64_t len, unsigned salt)
{
	for (uint64_t off = 0; off < len; off++)
		p[off] = pattern(off, salt);
}

static void check_pattern(const uint8_t *p, uint64_t len, unsigned salt)
{
	for (uint64_t off = 0; off < len; off++)
		if (p[off] != pattern(off, salt))
			CHECK_EQ(p[off], pattern(off, salt));
}

static void check_fsck_clean(const char *path)
{
	char *report = NULL;
	int n = udax_fsck(path, 0, &report);

	if (n)
		fprintf(stderr, "fsck of %s: %d\n%s", path, n, report ? report : "");
	CHECK_EQ(n, 0);
	free(report);
}

/*
 * Writes 1 MiB files f0, f1... of patterns @salt + i until the file system is
 * full; returns how many are whole (the one that did not fit is removed).
 */
static unsigned fill_fs(struct udax_fs *fs, unsigned salt)
{
	static uint8_t buf[1 * MiB];
	unsigned n;

	for (n = 0;; n++) {
		struct udax_file *f;
		char name[32];
		ssize_t w;
		int ret;

		fill_pattern(buf, sizeof(buf), salt + n);
		snprintf(name, sizeof(name), "/f%u", n);
		ret = udax_open(fs, name, O_CREAT | O_RDWR, 0644, &f);
		if (ret == -ENOSPC)
			return n;
		CHECK_OK(ret);
		w = udax_pwrite(f, buf, sizeof(buf), 0);
		CHECK_OK(udax_close(f));
		if (w == -ENOSPC || (w >= 0 && w < (ssize_t)sizeof(buf))) {
			CHECK_OK(udax_unlink(fs, name));
			return n;
		}
		CHECK_EQ(w, (ssize_t)sizeof(buf));
	}
}

static void check_files(struct udax_fs *fs, unsigned n, unsigned salt)
{
	static uint8_t buf[1 * MiB];

	for (unsigned i = 0; i < n; i++) {
		struct udax_file *f;
		char name[32];

		snprintf(name, sizeof(name), "/f%u", i);
		CHECK_OK(udax_open(fs, name, O_RDONLY, 0, &f));
		CHECK_EQ(udax_pread(f, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
		check_pattern(buf, sizeof(buf), salt + i);
		CHECK_OK(udax_close(f));
	}
}

static void remove_files(struct udax_fs *fs, unsigned n)
{
	char name[32];

	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "/f%u", i);
		CHECK_OK(udax_unlink(fs, name));
	}
}

/* The file system ends where the region starts and fills all of its own part. */
static void check_fs_geometry(struct udax_fs *fs, uint64_t region_off)
{
	struct udax_info in;

	CHECK_OK(udax_info(fs, &in));
	CHECK_EQ(in.nblocks * in.block_size, region_off);
	CHECK_EQ(in.raw_offset, region_off);
	CHECK_EQ(in.raw_size, RAW);
}

static void test_fs_and_region(void)
{
	const char *path = tmp_path("pool");
	struct udax_devdax_info di;
	struct udax_devdax *dd, *other;
	struct udax_statfs sf;
	struct udax_fs *fs;
	uint64_t off, len;
	unsigned nfiles, n2;
	uint8_t *p;

	mkfs_raw(path, POOL, RAW);
	CHECK_OK(udax_pool_raw_region(path, &off, &len));
	CHECK_EQ(off, POOL - RAW);
	CHECK_EQ(len, RAW);
	check_fsck_clean(path);

	dd = open_pool_region(path, 0, 0);
	CHECK_OK(udax_devdax_get_info(dd, &di));
	CHECK_EQ(di.offset, POOL - RAW);
	CHECK_EQ(di.size, RAW);
	CHECK_EQ(di.capacity, RAW);
	CHECK_EQ(di.align, 2 * MiB);
	/* device-DAX rules hold for a pool's region too */
	CHECK_ERR(udax_devdax_mmap(dd, NULL, RAW, PROT_READ, MAP_PRIVATE, 0, (void **)&p), EINVAL);
	CHECK_ERR(udax_devdax_mmap(dd, NULL, 2 * MiB, PROT_READ, MAP_SHARED, 4096, (void **)&p),
		  EINVAL);
	/* the whole pool file overlaps the open region */
	CHECK_ERR(udax_devdax_open(path, NULL, &other), EBUSY);
	p = map_all(dd, RAW);
	fill_pattern(p, RAW, 1);
	udax_devdax_persist(dd, p, RAW);

	/* the file system fills its own part, with the region open and mapped */
	CHECK_OK(udax_mount(path, 0, &fs));
	check_fs_geometry(fs, off);
	nfiles = fill_fs(fs, 10);
	CHECK_OK(udax_statfs(fs, &sf));
	printf("%u MiB of files fill the file system; %llu blocks left\n", nfiles,
	       (unsigned long long)sf.blocks_free);
	CHECK(sf.blocks_free < 256 + 16); /* less than the 1 MiB that failed (and its inode) */
	CHECK(nfiles >= (POOL - RAW) / MiB - 4);
	check_pattern(p, RAW, 1);
	CHECK_OK(udax_unmount(fs));
	check_fsck_clean(path);
	check_pattern(p, RAW, 1);

	/* the region changes while mounted; the files are untouched, then rewritten */
	CHECK_OK(udax_mount(path, 0, &fs));
	fill_pattern(p, RAW, 2);
	udax_devdax_persist(dd, p, RAW);
	check_files(fs, nfiles, 10);
	remove_files(fs, nfiles);
	n2 = fill_fs(fs, 50);
	CHECK(n2 + 1 >= nfiles);
	check_files(fs, n2, 50);
	CHECK_OK(udax_unmount(fs));
	check_fsck_clean(path);
	check_pattern(p, RAW, 2);

	/* the region cannot grow past its end; a shrink frees its own tail only */
	CHECK_ERR(udax_devdax_resize(dd, RAW + 2 * MiB), ENOSPC);
	CHECK_OK(udax_devdax_resize(dd, RAW / 2));
	CHECK_OK(udax_devdax_resize(dd, RAW));
	check_pattern(p, RAW / 2, 2);
	for (uint64_t o = RAW / 2; o < RAW; o += 4096)
		CHECK_EQ(p[o], 0);
	check_fsck_clean(path);
	CHECK_OK(udax_mount(path, 0, &fs));
	check_files(fs, n2, 50);
	CHECK_OK(udax_unmount(fs));

	CHECK_OK(udax_devdax_munmap(p, RAW));
	CHECK_OK(udax_devdax_close(dd));
	/* closed: the whole file can be a region again (no file system check without POOL) */
	CHECK_OK(udax_devdax_open(path, NULL, &other));
	CHECK_OK(udax_devdax_close(other));
}

static void test_open_args(void)
{
	const char *path = tmp_path("args.pool");
	struct udax_devdax_opts o = {.flags = UDAX_DEVDAX_POOL};
	struct udax_devdax *dd;
	uint64_t off, len;

	mkfs_raw(path, POOL, RAW);
	o.offset = 4 * MiB; /* inside the file system */
	CHECK_ERR(udax_devdax_open(path, &o, &dd), EINVAL);
	o.offset = POOL - RAW;
	o.size = RAW + 2 * MiB;
	CHECK_ERR(udax_devdax_open(path, &o, &dd), EINVAL);
	o.size = 0;
	o.flags |= UDAX_DEVDAX_CREATE;
	o.capacity = POOL;
	CHECK_ERR(udax_devdax_open(path, &o, &dd), EINVAL);
	/* 1 GiB units need a 1 GiB region */
	o = (struct udax_devdax_opts){.align = 1 * GiB, .flags = UDAX_DEVDAX_POOL};
	CHECK_ERR(udax_devdax_open(path, &o, &dd), EINVAL);
	/* a part of it at the region's offset */
	o = (struct udax_devdax_opts){
		.offset = POOL - RAW, .size = 4 * MiB, .flags = UDAX_DEVDAX_POOL};
	CHECK_OK(udax_devdax_open(path, &o, &dd));
	CHECK_OK(udax_devdax_close(dd));

	CHECK_ERR(udax_pool_raw_region(NULL, &off, &len), EFAULT);
	CHECK_ERR(udax_pool_raw_region(path, NULL, &len), EFAULT);
	CHECK_ERR(udax_pool_raw_region(tmp_path("missing.pool"), &off, &len), ENOENT);
}

/* Whole contents of @path (malloc'ed), to show a refused mkfs changed nothing. */
static uint8_t *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	uint8_t *b;

	CHECK(fd >= 0);
	CHECK(!fstat(fd, &st));
	b = malloc((size_t)st.st_size);
	CHECK(b);
	CHECK_EQ(pread(fd, b, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

static void test_bad_sizes(void)
{
	const char *path = tmp_path("plain.pool");
	struct udax_mkfs_opts mo = {.ninodes = 64};
	struct udax_devdax *dd;
	uint8_t *before, *after;
	size_t n, m;
	uint64_t off, len;
	struct stat st;

	mkfs_raw(path, POOL, 0);
	CHECK_ERR(udax_pool_raw_region(path, &off, &len), ENOENT);
	CHECK_ERR(
		udax_devdax_open(path, &(struct udax_devdax_opts){.flags = UDAX_DEVDAX_POOL}, &dd),
		ENOENT);
	before = slurp(path, &n);
	mo.raw_size = 3 * MiB; /* not a multiple of 2 MiB */
	CHECK_ERR(udax_mkfs(path, 0, &mo), EINVAL);
	mo.raw_size = 4096;
	CHECK_ERR(udax_mkfs(path, 0, &mo), EINVAL);
	mo.raw_size = POOL - 6 * MiB; /* leaves 6 MiB: less than the 8 MiB minimum */
	CHECK_ERR(udax_mkfs(path, 0, &mo), EINVAL);
	mo.raw_size = POOL;
	CHECK_ERR(udax_mkfs(path, 0, &mo), EINVAL);
	mo.raw_size = 2 * POOL;
	CHECK_ERR(udax_mkfs(path, 0, &mo), EINVAL);
	mo.raw_size = 1 * GiB; /* 1 GiB-aligned: no room below it in a 64 MiB pool */
	CHECK_ERR(udax_mkfs(path, 0, &mo), EINVAL);
	after = slurp(path, &m);
	CHECK_EQ(n, m);
	CHECK(!memcmp(before, after, n));
	free(before);
	free(after);
	CHECK_ERR(udax_pool_raw_region(path, &off, &len), ENOENT);
	check_fsck_clean(path);
	/* a refused mkfs of a new pool creates no file */
	mo.raw_size = 3 * MiB;
	CHECK_ERR(udax_mkfs(tmp_path("new.pool"), POOL, &mo), EINVAL);
	CHECK(stat(tmp_path("new.pool"), &st) && errno == ENOENT);
	/* the largest raw region leaves exactly 8 MiB */
	mo.raw_size = POOL - 8 * MiB;
	CHECK_OK(udax_mkfs(path, 0, &mo));
	CHECK_OK(udax_pool_raw_region(path, &off, &len));
	CHECK_EQ(off, 8 * MiB);
	check_fsck_clean(path);
}

/* A sparse pool file of @size bytes, formatted with a raw region of @raw. */
static void check_placement(const char *name, uint64_t size, uint64_t raw, uint64_t want_off)
{
	const char *path = tmp_path(name);
	uint64_t off, len;
	int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);

	CHECK(fd >= 0);
	CHECK(!ftruncate(fd, (off_t)size));
	close(fd);
	mkfs_raw(path, 0, raw);
	CHECK_OK(udax_pool_raw_region(path, &off, &len));
	printf("pool %llu, raw %llu: region at %llu\n", (unsigned long long)size,
	       (unsigned long long)raw, (unsigned long long)off);
	CHECK_EQ(off, want_off);
	CHECK_EQ(len, raw);
	check_fsck_clean(path);
	CHECK(!unlink(path));
}

static void test_placement(void)
{
	/* 2 MiB-aligned: the tail of an odd-sized pool stays unused */
	check_placement("odd.pool", 65 * MiB, 4 * MiB, 60 * MiB);
	/* a multiple of 1 GiB starts at a 1 GiB boundary ... */
	check_placement("g.pool", 2 * GiB + 6 * MiB, 1 * GiB, 1 * GiB);
	/* ... anything else at a 2 MiB one */
	check_placement("g2.pool", 2 * GiB + 6 * MiB, 1 * GiB + 2 * MiB, 1 * GiB + 4 * MiB);
}

/* Rewrites the raw field of both superblocks, checksums included. */
static void set_raw_units(const char *path, uint32_t units)
{
	int fd = open(path, O_RDWR);

	CHECK(fd >= 0);
	for (unsigned i = 0; i < 2; i++) {
		struct udaxfs_super sb;

		CHECK_EQ(pread(fd, &sb, sizeof(sb), i * UDAXFS_BLOCK), (ssize_t)sizeof(sb));
		sb.raw_units = units;
		sb.crc = crc32c_skip(&sb, sizeof(sb), offsetof(struct udaxfs_super, crc));
		CHECK_EQ(pwrite(fd, &sb, sizeof(sb), i * UDAXFS_BLOCK), (ssize_t)sizeof(sb));
	}
	close(fd);
}

/*
 * A raw field that puts the region past the media: fsck reports it (and
 * cannot repair it: the region's owner decides), the region does not open
 * (-EUCLEAN), and the file system part, whose own geometry is sound, mounts.
 */
static void test_corrupt_raw(void)
{
	const char *path = tmp_path("bad.pool");
	struct udax_devdax *dd;
	struct udax_info in;
	struct udax_fs *fs;
	uint64_t off, len;
	char *report;

	mkfs_raw(path, POOL, RAW);
	set_raw_units(path, RAW / (2 * MiB) + 1);
	CHECK_ERR(udax_pool_raw_region(path, &off, &len), EUCLEAN);
	CHECK(strstr(test_errormsg(), "raw region"));
	CHECK_ERR(
		udax_devdax_open(path, &(struct udax_devdax_opts){.flags = UDAX_DEVDAX_POOL}, &dd),
		EUCLEAN);
	CHECK_EQ(udax_fsck(path, 0, &report), 1);
	CHECK(strstr(report, "raw region"));
	free(report);
	CHECK_EQ(udax_fsck(path, UDAX_FSCK_REPAIR, &report), 1);
	free(report);
	CHECK_EQ(udax_fsck(path, 0, NULL), 1);
	CHECK_OK(udax_mount(path, 0, &fs));
	CHECK_OK(udax_info(fs, &in));
	CHECK_EQ(in.raw_size, RAW + 2 * MiB);
	CHECK_OK(udax_unmount(fs));
	/* the largest field: no overflow, same answer */
	set_raw_units(path, UINT32_MAX);
	CHECK_ERR(udax_pool_raw_region(path, &off, &len), EUCLEAN);
	CHECK_EQ(udax_fsck(path, 0, NULL), 1);
	/* back to the truth: clean again */
	set_raw_units(path, RAW / (2 * MiB));
	check_fsck_clean(path);
	CHECK_OK(udax_pool_raw_region(path, &off, &len));
}

/*
 * A pool of @pool bytes at @path in @dir with a raw region of @raw bytes,
 * opened with exact pages of @page bytes: the region lies at the pool's end,
 * and all of it is mapped at a @page-aligned address.
 */
static uint8_t *map_exact_region(const char *dir, char *path, size_t path_len, uint64_t pool,
				 uint64_t raw, uint64_t page, struct udax_devdax **dd)
{
	struct udax_devdax_info di;
	uint8_t *p;

	snprintf(path, path_len, "%s/pool", dir);
	mkfs_raw(path, pool, raw);
	*dd = open_pool_region(path, page, UDAX_DEVDAX_EXACT_PAGES);
	CHECK_OK(udax_devdax_get_info(*dd, &di));
	CHECK_EQ(di.page_size, page);
	CHECK_EQ(di.offset, pool - raw);
	p = map_all(*dd, raw);
	CHECK_EQ((uintptr_t)p % page, 0);
	return p;
}

/* On a huge tmpfs the region's 2 MiB units are PMD-mapped, as device-DAX's. */
static int huge_tmpfs_body(const char *dir)
{
	struct vm_pmd_coverage cov;
	struct udax_devdax *dd;
	char path[256];
	uint8_t *p;

	test_watchdog(30);
	p = map_exact_region(dir, path, sizeof(path), 32 * MiB, 8 * MiB, 2 * MiB, &dd);
	fill_pattern(p, 8 * MiB, 3);
	CHECK_OK(vm_pmd_coverage(p, 8 * MiB, &cov));
	printf("huge tmpfs: %llu of %llu bytes PMD-mapped\n", (unsigned long long)cov.pmd_mapped,
	       (unsigned long long)cov.mapped);
	CHECK_EQ(cov.mapped, 8 * MiB);
	CHECK_EQ(cov.pmd_mapped, 8 * MiB);
	CHECK_OK(udax_devdax_munmap(p, 8 * MiB));
	CHECK_OK(udax_devdax_close(dd));
	check_fsck_clean(path);
	return 0;
}

/* On hugetlbfs with 1 GiB pages a 1 GiB raw region is mapped with PUDs. */
static int hugetlb_1g_body(const char *dir)
{
	struct udax_devdax *dd;
	struct udax_fs *fs;
	char path[256];
	uint8_t *p;

	test_watchdog(30);
	p = map_exact_region(dir, path, sizeof(path), 2 * GiB, 1 * GiB, 1 * GiB, &dd);
	for (uint64_t off = 0; off < 1 * GiB; off += 64 * MiB + 4096)
		p[off] = pattern(off, 6);
	CHECK_EQ(smaps_kb(p, "KernelPageSize"), 1048576);
	printf("hugetlbfs 1 GiB: the raw region at 1 GiB is mapped with 1 GiB pages\n");
	CHECK_OK(udax_mount(path, 0, &fs));
	CHECK_OK(udax_unmount(fs));
	for (uint64_t off = 0; off < 1 * GiB; off += 64 * MiB + 4096)
		CHECK_EQ(p[off], pattern(off, 6));
	CHECK_OK(udax_devdax_munmap(p, 1 * GiB));
	CHECK_OK(udax_devdax_close(dd));
	check_fsck_clean(path);
	return 0;
}

/*
 * No argument: everything that needs no machine change. "pmd": the 2 MiB
 * part on a huge tmpfs; "pud": the 1 GiB part on hugetlbfs. Each of the two
 * is its own test so that a skip of one says exactly what was not checked.
 */
int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "pmd"))
		return run_with_mount("tmpfs", "huge=always,size=64m", 0, huge_tmpfs_body);
	if (argc > 1 && !strcmp(argv[1], "pud"))
		return run_with_1g_hugetlbfs(2, hugetlb_1g_body);
	test_watchdog(60);
	test_fs_and_region();
	test_open_args();
	test_bad_sizes();
	test_placement();
	test_corrupt_raw();
	return 0;
}
