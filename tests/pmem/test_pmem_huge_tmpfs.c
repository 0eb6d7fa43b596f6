// SPDX-License-Identifier: MIT
/*
 * A tmpfs mounted huge=always (mounted by the test, root only): classified as
 * huge tmpfs, mapped at 2 MiB-aligned addresses, and the kernel really uses
 * PMDs for it (ShmemPmdMapped in /proc/self/smaps).
 */
#include <string.h>
#include <sys/mman.h>

#include "testlib.h"
#include "pmem_testutil.h"

#define MiB (1ul << 20)

static void check_pmd_mapped(struct pmem *pm, uint64_t off, size_t len)
{
	char *addr;

	CHECK_OK(pmem_map(pm, off, len, PROT_READ | PROT_WRITE, (void **)&addr));
	CHECK_EQ((uintptr_t)addr % PMEM_PMD_SIZE, 0);
	pmem_memset_persist(pm, addr, 0x5a, len);
	CHECK_EQ(smaps_kb(addr, "ShmemPmdMapped"), (long)(len >> 10));
	CHECK_OK(pmem_unmap(addr, len));
}

static int body(const char *dir)
{
	char path[128];
	struct pmem *pm;

	test_watchdog(30);
	snprintf(path, sizeof(path), "%s/media", dir);
	CHECK_OK(pmem_open(path, PMEM_O_CREATE, 8 * MiB, &pm));
	CHECK_INFO(pm, .kind = PMEM_KIND_HUGE_TMPFS, .pmd_capable = true, .is_volatile = true,
		   .granularity = PMEM_GRAN_PAGE, .method = PMEM_METHOD_NONE,
		   .insn = PMEM_INSN_NONE);
	CHECK(strstr(pmem_get_info(pm)->reason, "huge=always"));
	CHECK_EQ(pmem_get_info(pm)->align, 4096);
	check_pmd_mapped(pm, 0, 8 * MiB);
	check_pmd_mapped(pm, 2 * MiB, 4 * MiB);
	pmem_close(pm);

	CHECK_OK(pmem_open(path, PMEM_O_FORCE_FLUSH, 0, &pm));
	CHECK_INFO(pm, .kind = PMEM_KIND_HUGE_TMPFS, .pmd_capable = true, .is_volatile = true,
		   .granularity = PMEM_GRAN_CACHE_LINE, .method = PMEM_METHOD_FLUSH,
		   .insn = cpu_flush_insn());
	check_pmd_mapped(pm, 0, 2 * MiB);
	pmem_close(pm);
	return 0;
}

int main(void)
{
	return run_with_mount("tmpfs", "huge=always,size=64m", 0, body);
}
