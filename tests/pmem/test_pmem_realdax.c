// SPDX-License-Identifier: MIT
/*
 * Real persistent memory, where the machine has it: every /dev/dax* device and
 * a file on every DAX-mounted file system. Skips when there is none.
 */
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testlib.h"
#include "pmem_testutil.h"

/* Real media persist by flush (or fence on eADR) at cache-line (byte) granularity. */
static void check_real_persistence(struct pmem *pm)
{
	const struct pmem_info *in = pmem_get_info(pm);

	CHECK(!in->is_volatile);
	if (in->method == PMEM_METHOD_FENCE)
		CHECK_EQ(in->granularity, PMEM_GRAN_BYTE);
	else
		CHECK(in->method == PMEM_METHOD_FLUSH && in->granularity == PMEM_GRAN_CACHE_LINE &&
		      in->insn == cpu_flush_insn());
}

static int check_devdax(void)
{
	glob_t g;
	int n = 0;

	if (glob("/dev/dax*", 0, NULL, &g))
		return 0;
	for (size_t i = 0; i < g.gl_pathc; i++, n++) {
		const struct pmem_info *in;
		struct pmem *pm;
		char *addr;

		CHECK_OK(pmem_open(g.gl_pathv[i], 0, 0, &pm));
		in = pmem_get_info(pm);
		printf("%s: %s\n", g.gl_pathv[i], in->reason);
		CHECK_EQ(in->kind, PMEM_KIND_DEVDAX);
		CHECK_EQ(in->size % in->align, 0);
		CHECK_EQ(in->pmd_capable, in->align >= PMEM_PMD_SIZE);
		check_real_persistence(pm);
		CHECK_OK(pmem_map(pm, 0, in->align, PROT_READ, (void **)&addr));
		CHECK_EQ((uintptr_t)addr % in->align, 0);
		CHECK_OK(pmem_unmap(addr, in->align));
		pmem_close(pm);
	}
	globfree(&g);
	return n;
}

static int check_fsdax(void)
{
	char line[1024], mnt[512], opts[512], path[600];
	FILE *f = fopen("/proc/self/mounts", "r");
	int n = 0;

	CHECK(f);
	while (fgets(line, sizeof(line), f)) {
		struct pmem *pm;

		if (sscanf(line, "%*s %511s %*s %511s", mnt, opts) != 2 ||
		    (!strstr(opts, "dax,") && !strstr(opts, "dax=always") && !strstr(opts, ",dax")))
			continue;
		snprintf(path, sizeof(path), "%s/udax-realdax-%d", mnt, getpid());
		if (pmem_open(path, PMEM_O_CREATE, PMEM_PMD_SIZE, &pm))
			continue; /* not writable here */
		unlink(path);
		printf("%s: %s\n", path, pmem_get_info(pm)->reason);
		CHECK_EQ(pmem_get_info(pm)->kind, PMEM_KIND_FSDAX);
		check_real_persistence(pm);
		pmem_close(pm);
		n++;
	}
	fclose(f);
	return n;
}

int main(void)
{
	test_watchdog(30);
	if (check_devdax() + check_fsdax() == 0)
		test_skip("no /dev/dax* device and no DAX-mounted file system on this machine");
	return 0;
}
