// SPDX-License-Identifier: MIT
/* Bad blocks: injection, merging, checks, reads that fail, and the recovery-write rule. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testlib.h"
#include "udax.h"
#include "pmem_testutil.h"
#include "pmem/pmem_internal.h"

#define PG   4096ul
#define SIZE (256 * PG)

static void check_list(const struct pmem *pm, int n, const uint64_t *want)
{
	uint64_t offs[PMEM_BADBLOCK_MAX], lens[PMEM_BADBLOCK_MAX];

	CHECK_EQ(pmem_badblock_list(pm, offs, lens, PMEM_BADBLOCK_MAX), n);
	for (int i = 0; i < n; i++) {
		bool found = false;

		for (int j = 0; j < n; j++)
			found |= offs[j] == want[2 * i] && lens[j] == want[2 * i + 1];
		if (!found)
			test_fail(__FILE__, __LINE__, "range [%llu, +%llu) missing",
				  (unsigned long long)want[2 * i],
				  (unsigned long long)want[2 * i + 1]);
	}
}

static void test_inject_and_check(struct pmem *pm)
{
	uint64_t off, len;

	check_list(pm, 0, NULL);
	CHECK_OK(pmem_badblock_inject(pm, PG, 512));
	CHECK_ERR(pmem_badblock_check(pm, PG, 1), EIO);
	CHECK_ERR(pmem_badblock_check(pm, PG + 511, 1), EIO);
	CHECK_ERR(pmem_badblock_check(pm, 0, 2 * PG), EIO);
	CHECK_EQ(pmem_badblock_check(pm, PG - 1, 1), 0);
	CHECK_EQ(pmem_badblock_check(pm, PG + 512, 1), 0);
	CHECK_EQ(pmem_badblock_check(pm, PG, 0), 0);
	/* adjacent and overlapping ranges merge */
	CHECK_OK(pmem_badblock_inject(pm, PG + 512, 512));
	check_list(pm, 1, (uint64_t[]){PG, 1024});
	CHECK_OK(pmem_badblock_inject(pm, 4 * PG, PG));
	CHECK_OK(pmem_badblock_inject(pm, PG + 100, 3 * PG));
	check_list(pm, 1, (uint64_t[]){PG, 4 * PG});
	CHECK_OK(pmem_badblock_inject(pm, 10 * PG, 8));
	check_list(pm, 2, (uint64_t[]){PG, 4 * PG, 10 * PG, 8});
	/* a short list buffer still reports the count */
	CHECK_EQ(pmem_badblock_list(pm, &off, &len, 1), 2);
	CHECK_ERR(pmem_badblock_inject(pm, SIZE, 1), EINVAL);
	CHECK(strstr(udax_errormsg(), pmem_path(pm)));
	CHECK_ERR(pmem_badblock_inject(pm, SIZE - 1, 2), EINVAL);
	CHECK_ERR(pmem_badblock_inject(pm, 0, 0), EINVAL);
	CHECK_ERR(pmem_badblock_inject(pm, 1, UINT64_MAX), EINVAL);
}

static void test_read(struct pmem *pm, const char *map)
{
	char buf[2 * PG];

	memset(buf, 0x11, sizeof(buf));
	CHECK_ERR(pmem_read(pm, PG, buf, 1), EIO);
	CHECK(strstr(udax_errormsg(), "poison"));
	CHECK_ERR(pmem_read(pm, 0, buf, PG + 1), EIO);
	CHECK_EQ(buf[0], 0x11); /* nothing copied */
	CHECK_EQ(pmem_read(pm, 0, buf, PG), PG);
	CHECK_EQ(memcmp(buf, map, PG), 0);
	CHECK_EQ(pmem_read(pm, 10 * PG + 8, buf, 100), 100);
	CHECK_EQ(pmem_read(pm, 0, buf, 0), 0);
	CHECK_ERR(pmem_read(pm, SIZE, buf, 1), EINVAL);
	CHECK_ERR(pmem_read(pm, SIZE - 1, buf, 2), EINVAL);
}

static void test_write(struct pmem *pm, const char *map)
{
	static char page[3 * PG], before[3 * PG];

	memset(page, 0x77, sizeof(page));
	memcpy(before, map + PG, sizeof(before));
	/* partial writes over poison fail and write nothing */
	CHECK_ERR(pmem_write(pm, PG + 100, page, 10), EIO);
	CHECK(strstr(udax_errormsg(), "whole 4 KiB pages"));
	CHECK_ERR(pmem_write(pm, PG - 100, page, PG), EIO);
	CHECK_ERR(pmem_write(pm, PG, page, PG + 1), EIO);
	CHECK_EQ(memcmp(map + PG, before, sizeof(before)), 0);
	CHECK_EQ(map[PG - 100], 0);
	/* a write of whole pages clears the poison it covers, and only that */
	CHECK_EQ(pmem_write(pm, PG, page, 2 * PG), 2 * PG);
	CHECK_EQ(memcmp(map + PG, page, 2 * PG), 0);
	check_list(pm, 2, (uint64_t[]){3 * PG, 2 * PG, 10 * PG, 8});
	CHECK_EQ(pmem_badblock_check(pm, PG, 2 * PG), 0);
	/* clearing the middle page of a range splits it */
	CHECK_EQ(pmem_write(pm, 4 * PG, page, PG), PG);
	check_list(pm, 2, (uint64_t[]){3 * PG, PG, 10 * PG, 8});
	CHECK_EQ(pmem_write(pm, 10 * PG, page, PG), PG);
	CHECK_EQ(pmem_write(pm, 3 * PG, page, PG), PG);
	check_list(pm, 0, NULL);
	/* writes away from poison are ordinary */
	CHECK_EQ(pmem_write(pm, 7, "abc", 3), 3);
	CHECK_EQ(memcmp(map + 7, "abc", 3), 0);
	CHECK_EQ(pmem_write(pm, 0, page, 0), 0);
	CHECK_ERR(pmem_write(pm, SIZE - 1, page, 2), EINVAL);
}

/* The list is bounded; a clear that would split past the bound fails and writes nothing. */
static void test_capacity(struct pmem *pm, const char *map)
{
	static char page[PG];

	for (int i = 0; i < PMEM_BADBLOCK_MAX; i++)
		CHECK_OK(pmem_badblock_inject(pm, (uint64_t)i * 4 * PG, 3 * PG));
	CHECK_ERR(pmem_badblock_inject(pm, SIZE - 1, 1), ENOSPC);
	CHECK_OK(pmem_badblock_inject(pm, 0, 8)); /* merges: no new slot */
	memset(page, 0x55, sizeof(page));
	CHECK_ERR(pmem_write(pm, PG, page, PG), ENOSPC);
	CHECK(map[PG] != 0x55);
	CHECK_EQ(pmem_write(pm, 0, page, PG), PG); /* trims a range without splitting it */
	CHECK_EQ(pmem_badblock_list(pm, NULL, NULL, 0), PMEM_BADBLOCK_MAX);
}

static void test_rdonly(const char *path)
{
	struct pmem *pm;
	char c = 0;

	CHECK_OK(pmem_open(path, PMEM_O_RDONLY, 0, &pm));
	CHECK_ERR(pmem_write(pm, 0, &c, 1), EACCES);
	CHECK_EQ(pmem_read(pm, 7, &c, 1), 1);
	CHECK_EQ(c, 0x55); /* written by test_capacity */
	pmem_close(pm);
}

int main(void)
{
	const char *path = tmp_path("media");
	struct pmem *pm;
	char *map;

	test_watchdog(30);
	CHECK_OK(pmem_open(path, PMEM_O_CREATE | PMEM_O_FORCE_FLUSH, SIZE, &pm));
	CHECK_OK(pmem_map(pm, 0, SIZE, PROT_READ, (void **)&map));
	test_inject_and_check(pm);
	test_read(pm, map);
	test_write(pm, map);
	test_capacity(pm, map);
	CHECK_OK(pmem_unmap(map, SIZE));
	pmem_close(pm);
	test_rdonly(path);
	return 0;
}
