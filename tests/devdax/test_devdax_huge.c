// SPDX-License-Identifier: MIT
/*
 * 2 MiB regions are mapped with PMDs where the backing allows: on a
 * huge=always tmpfs that the test mounts, every byte of a touched mapping is
 * PMD-mapped (/proc/self/smaps); on hugetlbfs with 2 MiB pages units smaller
 * than the page are refused. Root only (skips otherwise).
 */
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>

#include "devdax_testutil.h"
#include "pmem_testutil.h"
#include "testlib.h"
#include "vm/vm.h"

#define SIZE (16 * MiB)

static struct udax_devdax *open_in(const char *dir, const char *name, uint64_t align,
				   uint64_t capacity, unsigned flags, int *err)
{
	struct udax_devdax_opts o = {
		.align = align, .capacity = capacity, .flags = UDAX_DEVDAX_CREATE | flags};
	struct udax_devdax *dd = NULL;
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	*err = udax_devdax_open(path, &o, &dd);
	return dd;
}

static void check_pmd_mapped(struct udax_devdax *dd, uint64_t a)
{
	struct vm_pmd_coverage cov;
	uint8_t *p;

	CHECK_OK(udax_devdax_mmap(dd, NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0,
				  (void **)&p));
	for (uint64_t off = 0; off < SIZE; off += a)
		p[off + 5] = pattern(off + 5, 4);
	for (uint64_t off = 0; off < SIZE; off += a)
		CHECK_EQ(p[off + 5], pattern(off + 5, 4));
	CHECK_OK(vm_pmd_coverage(p, SIZE, &cov));
	printf("align %llu KiB: %llu of %llu bytes PMD-mapped\n", (unsigned long long)(a >> 10),
	       (unsigned long long)cov.pmd_mapped, (unsigned long long)cov.mapped);
	CHECK_EQ(cov.mapped, SIZE);
	CHECK_EQ(cov.pmd_mapped, SIZE);
	CHECK_OK(udax_devdax_munmap(p, SIZE));
}

static int huge_tmpfs_body(const char *dir)
{
	struct udax_devdax_info info;
	struct udax_devdax *dd;
	int err;

	test_watchdog(30);
	bus_catch_install();
	dd = open_in(dir, "r2m", 2 * MiB, SIZE, 0, &err);
	CHECK_OK(err);
	CHECK_OK(udax_devdax_get_info(dd, &info));
	CHECK(!strcmp(info.kind, "huge-tmpfs"));
	CHECK_EQ(info.page_size, 2 * MiB);
	check_pmd_mapped(dd, 2 * MiB);
	/* after a shrink and regrow the re-faulted tail is PMD-mapped again */
	CHECK_OK(udax_devdax_resize(dd, SIZE / 2));
	CHECK_OK(udax_devdax_resize(dd, SIZE));
	check_pmd_mapped(dd, 2 * MiB);
	CHECK_OK(udax_devdax_close(dd));

	/* 1 GiB units on huge tmpfs: accepted with 2 MiB pages, unless exact pages are asked */
	dd = open_in(dir, "r1g", 1 * GiB, 1 * GiB, 0, &err);
	CHECK_OK(err);
	CHECK_OK(udax_devdax_get_info(dd, &info));
	CHECK_EQ(info.page_size, 2 * MiB);
	CHECK_OK(udax_devdax_close(dd));
	open_in(dir, "r1g", 1 * GiB, 1 * GiB, UDAX_DEVDAX_EXACT_PAGES, &err);
	CHECK_EQ(err, -EOPNOTSUPP);
	return 0;
}

static int hugetlbfs_2m_body(const char *dir)
{
	struct udax_devdax_info info;
	struct udax_devdax *dd;
	int err;

	test_watchdog(30);
	bus_catch_install();
	open_in(dir, "r4k", 4 * KiB, 4 * MiB, 0, &err);
	CHECK_EQ(err, -EINVAL);
	dd = open_in(dir, "r2m", 2 * MiB, SIZE, UDAX_DEVDAX_EXACT_PAGES, &err);
	CHECK_OK(err);
	CHECK_OK(udax_devdax_get_info(dd, &info));
	CHECK(!strcmp(info.kind, "hugetlbfs"));
	CHECK_EQ(info.page_size, 2 * MiB);
	check_pmd_mapped(dd, 2 * MiB);
	CHECK_OK(udax_devdax_close(dd));
	return 0;
}

int main(void)
{
	int ret = run_with_mount("tmpfs", "huge=always,size=64m", 0, huge_tmpfs_body);

	if (ret)
		return ret;
	return run_with_mount("hugetlbfs", "pagesize=2M", SIZE / (2 * MiB), hugetlbfs_2m_body);
}
