// SPDX-License-Identifier: MIT
/*
 * hugetlbfs with 2 MiB pages (the test reserves huge pages and mounts it, root
 * only): classification from statfs, 2 MiB mapping granule, KernelPageSize
 * 2048 kB in smaps, a hugetlb memfd, and the mapping failure when the pool
 * runs out.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testlib.h"
#include "udax.h"
#include "pmem_testutil.h"

#define MiB	 (1ul << 20)
#define RESERVED 8 /* huge pages the test adds to the pool */

static void check_hugetlb_info(struct pmem *pm, enum pmem_kind kind)
{
	CHECK_INFO(pm, .kind = kind, .pmd_capable = true, .is_volatile = true,
		   .granularity = PMEM_GRAN_PAGE, .method = PMEM_METHOD_NONE,
		   .insn = PMEM_INSN_NONE);
	CHECK_EQ(pmem_get_info(pm)->align, 2 * MiB);
}

static void check_file(const char *dir)
{
	char path[128], *addr;
	struct pmem *pm;

	snprintf(path, sizeof(path), "%s/media", dir);
	CHECK_ERR(pmem_open(path, PMEM_O_CREATE, 3 * MiB, &pm), EINVAL);
	CHECK(strstr(udax_errormsg(), "multiple"));
	CHECK_OK(pmem_open(path, PMEM_O_CREATE, 4 * MiB, &pm));
	check_hugetlb_info(pm, PMEM_KIND_HUGETLBFS);
	CHECK_EQ(pmem_get_info(pm)->size, 4 * MiB);
	CHECK_ERR(pmem_map(pm, 4096, 2 * MiB, PROT_READ, (void **)&addr), EINVAL);
	CHECK_ERR(pmem_map(pm, 0, 4096, PROT_READ, (void **)&addr), EINVAL);
	CHECK_OK(pmem_map(pm, 2 * MiB, 2 * MiB, PROT_READ | PROT_WRITE, (void **)&addr));
	CHECK_EQ((uintptr_t)addr % PMEM_PMD_SIZE, 0);
	pmem_memcpy_persist(pm, addr + 5, "huge", 5);
	CHECK_EQ(smaps_kb(addr, "KernelPageSize"), 2048);
	CHECK_EQ(smaps_kb(addr, "Shared_Hugetlb") + smaps_kb(addr, "Private_Hugetlb"), 2048);
	CHECK_OK(pmem_unmap(addr, 2 * MiB));
	pmem_close(pm);
}

/* More huge pages than the pool holds: the shared mapping's reservation fails. */
static void check_pool_exhausted(const char *dir)
{
	char path[128];
	struct pmem *pm;
	void *addr;

	snprintf(path, sizeof(path), "%s/big", dir);
	CHECK_OK(pmem_open(path, PMEM_O_CREATE, (RESERVED + 2) * 2 * MiB, &pm));
	CHECK_ERR(pmem_map(pm, 0, (RESERVED + 2) * 2 * MiB, PROT_READ | PROT_WRITE, &addr), ENOMEM);
	CHECK(strstr(udax_errormsg(), path));
	pmem_close(pm);
	CHECK_OK(unlink(path));
}

static void check_hugetlb_memfd(void)
{
	int fd = memfd_create("udax-hugetlb", MFD_CLOEXEC | MFD_HUGETLB);
	struct pmem *pm;

	CHECK(fd >= 0);
	CHECK_OK(ftruncate(fd, 2 * MiB));
	CHECK_OK(pmem_open_fd(fd, 0, &pm));
	check_hugetlb_info(pm, PMEM_KIND_MEMFD);
	pmem_close(pm);
	close(fd);
}

static int body(const char *dir)
{
	test_watchdog(30);
	check_file(dir);
	check_pool_exhausted(dir);
	check_hugetlb_memfd();
	return 0;
}

int main(void)
{
	return run_with_mount("hugetlbfs", "pagesize=2M", RESERVED, body);
}
