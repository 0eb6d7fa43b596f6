// SPDX-License-Identifier: MIT
/*
 * 1 GiB regions on hugetlbfs with 1 GiB pages (the test reserves two pages
 * and mounts it, and gives both back on every exit): the kernel maps the
 * units with 1 GiB pages (KernelPageSize in /proc/self/smaps), the data
 * verifies, and a shrink while mapped raises SIGBUS past the new end and
 * gives the freed huge page back to the pool. Skips when not root or when
 * the pages cannot be reserved.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>

#include "devdax_testutil.h"
#include "pmem_testutil.h"
#include "testlib.h"
#include "vm/vm.h"

#define FREE_1G "/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages"

static long free_1g(void)
{
	long n = -1;
	FILE *f = fopen(FREE_1G, "r");

	CHECK(f);
	CHECK(fscanf(f, "%ld", &n) == 1);
	fclose(f);
	return n;
}

static int body(const char *dir)
{
	struct udax_devdax_opts o = {.align = 1 * GiB,
				     .capacity = 2 * GiB,
				     .flags = UDAX_DEVDAX_CREATE | UDAX_DEVDAX_EXACT_PAGES};
	struct udax_devdax_info info;
	struct vm_pmd_coverage cov;
	struct udax_devdax *dd;
	char path[256];
	uint8_t *p;
	long before;

	test_watchdog(30);
	bus_catch_install();
	snprintf(path, sizeof(path), "%s/r2m", dir);
	CHECK_ERR(udax_devdax_open(path,
				   &(struct udax_devdax_opts){.align = 2 * MiB,
							      .capacity = 1 * GiB,
							      .flags = UDAX_DEVDAX_CREATE},
				   &dd),
		  EINVAL);
	snprintf(path, sizeof(path), "%s/r1g", dir);
	CHECK_OK(udax_devdax_open(path, &o, &dd));
	CHECK_OK(udax_devdax_get_info(dd, &info));
	CHECK_EQ(info.page_size, 1 * GiB);
	CHECK_OK(udax_devdax_mmap(dd, NULL, 2 * GiB, PROT_READ | PROT_WRITE, MAP_SHARED, 0,
				  (void **)&p));
	CHECK_EQ((uintptr_t)p % GiB, 0);
	for (uint64_t off = 0; off < 2 * GiB; off += 256 * MiB + 4096)
		p[off] = pattern(off, 5);
	for (uint64_t off = 0; off < 2 * GiB; off += 256 * MiB + 4096)
		CHECK_EQ(p[off], pattern(off, 5));
	CHECK_EQ(smaps_kb(p, "KernelPageSize"), 1048576);
	CHECK_OK(vm_pmd_coverage(p, 2 * GiB, &cov));
	CHECK_EQ(cov.mapped, 2 * GiB);

	before = free_1g();
	CHECK_OK(udax_devdax_resize(dd, 1 * GiB));
	CHECK_SIGBUS(p + 1 * GiB, false);
	CHECK_SIGBUS(p + 2 * GiB - 1, true);
	CHECK_EQ(p[0], pattern(0, 5));
	CHECK_EQ(free_1g(), before + 1);
	CHECK_OK(udax_devdax_munmap(p, 2 * GiB));
	CHECK_OK(udax_devdax_close(dd));
	return 0;
}

int main(void)
{
	return run_with_1g_hugetlbfs(2, body);
}
