// SPDX-License-Identifier: MIT
/*
 * dax_iomap_rw against scripted iomap ops: the begin/end pairing, holes,
 * EOF (the caller's and the one begin reports with IOMAP_F_SIZE), zero-length
 * I/O, errors from begin, and poisoned media.
 */
#include <sys/mman.h>

#include "dax/rw.h"
#include "pmem/pmem.h"
#include "fstest.h"

#define PAGE 4096u

static struct pmem *pm;
static void *base;
static int begins, ends, fail_begin_at = -1;
static uint64_t written;
static uint64_t report_size = UINT64_MAX; /* else begin reports it (IOMAP_F_SIZE) */

/* File layout: [0, 8K) mapped at media 64K, [8K, 16K) hole, [16K, 32K) mapped at 128K. */
static int begin(void *host, uint64_t pos, uint64_t len, unsigned flags, struct iomap *m)
{
	(void)host;
	(void)len;
	(void)flags;
	if (begins++ == fail_begin_at)
		return -ENOSPC;
	if (pos < 2 * PAGE) {
		*m = (struct iomap){0, 2 * PAGE, 64 * 1024, IOMAP_MAPPED, 0, pm, base, 0};
	} else if (pos < 4 * PAGE) {
		*m = (struct iomap){2 * PAGE, 2 * PAGE, 0, IOMAP_HOLE, 0, pm, base, 0};
	} else {
		*m = (struct iomap){4 * PAGE, 4 * PAGE, 128 * 1024, IOMAP_MAPPED, 0, pm, base, 0};
	}
	if (report_size != UINT64_MAX) {
		m->flags = IOMAP_F_SIZE;
		m->size = report_size;
	}
	return 0;
}

static int end(void *host, uint64_t pos, uint64_t len, uint64_t done, unsigned flags,
	       struct iomap *m)
{
	(void)host;
	(void)pos;
	(void)len;
	(void)flags;
	(void)m;
	ends++;
	written += done;
	return 0;
}

static const struct iomap_ops ops = {begin, end};

static ssize_t rw(bool write, uint64_t pos, void *buf, size_t len, uint64_t i_size)
{
	struct dax_iocb iocb = {NULL, &ops, pos, i_size, write};
	ssize_t ret;

	begins = ends = 0;
	written = 0;
	ret = dax_iomap_rw(&iocb, buf, len);
	CHECK_EQ(begins - (fail_begin_at >= 0 && fail_begin_at < begins), ends);
	if (ret > 0)
		CHECK_EQ(iocb.pos, pos + (uint64_t)ret);
	return ret;
}

int main(void)
{
	static uint8_t buf[8 * PAGE], out[8 * PAGE];
	char path[512];

	test_watchdog(30);
	snprintf(path, sizeof(path), "%s/rw.media", test_tmpdir());
	CHECK_OK(pmem_open(path, PMEM_O_CREATE, 4 * MIB, &pm));
	CHECK_OK(pmem_map(pm, 0, 4 * MIB, PROT_READ | PROT_WRITE, &base));
	memset(base, 0xee, 256 * 1024);

	/* writes go to the extents' media; each round's end sees its bytes */
	fill_pattern(buf, sizeof(buf), 0, 9);
	CHECK_EQ(rw(true, 100, buf, 2 * PAGE - 100, 0), 2 * PAGE - 100);
	CHECK_EQ(begins, 1);
	CHECK_EQ(written, 2 * PAGE - 100);
	CHECK(!memcmp((uint8_t *)base + 64 * 1024 + 100, buf, 2 * PAGE - 100));
	CHECK_EQ(rw(true, 4 * PAGE, buf, 4 * PAGE, 0), 4 * PAGE);
	CHECK(!memcmp((uint8_t *)base + 128 * 1024, buf, 4 * PAGE));

	/* reads: mapped, then the hole as zeros, then mapped; stop at i_size */
	memset(out, 0x11, sizeof(out));
	CHECK_EQ(rw(false, 100, out, sizeof(out), 6 * PAGE + 5), 6 * PAGE + 5 - 100);
	CHECK_EQ(begins, 3);
	CHECK(!memcmp(out, buf, 2 * PAGE - 100));
	for (unsigned i = 2 * PAGE - 100; i < 4 * PAGE - 100; i++)
		CHECK_EQ(out[i], 0);
	CHECK(!memcmp(out + 4 * PAGE - 100, buf, 2 * PAGE + 5));
	CHECK_EQ(out[6 * PAGE + 5 - 100], 0x11);
	/* at or past EOF, and zero-length I/O, return 0 without asking the fs */
	CHECK_EQ(rw(false, 6 * PAGE + 5, out, 10, 6 * PAGE + 5), 0);
	CHECK_EQ(begins, 0);
	CHECK_EQ(rw(false, 0, out, 0, 6 * PAGE), 0);
	CHECK_EQ(rw(true, 0, buf, 0, 0), 0);
	CHECK_EQ(begins, 0);

	/* the size begin reports bounds reads like i_size, with no begin past it */
	report_size = 6 * PAGE + 5;
	memset(out, 0x11, sizeof(out));
	CHECK_EQ(rw(false, 100, out, sizeof(out), UINT64_MAX), 6 * PAGE + 5 - 100);
	CHECK_EQ(begins, 3);
	CHECK(!memcmp(out + 4 * PAGE - 100, buf, 2 * PAGE + 5));
	CHECK_EQ(out[6 * PAGE + 5 - 100], 0x11);
	/* the smaller of the two wins */
	CHECK_EQ(rw(false, 0, out, sizeof(out), 3 * PAGE), 3 * PAGE);
	report_size = PAGE + 7;
	CHECK_EQ(rw(false, 0, out, sizeof(out), 3 * PAGE), PAGE + 7);
	CHECK_EQ(begins, 1);
	/* EOF reported below pos (the file shrank since the caller looked): 0 */
	CHECK_EQ(rw(false, 5 * PAGE, out, PAGE, UINT64_MAX), 0);
	CHECK_EQ(begins, 1);
	/* writes are not bounded by it */
	CHECK_EQ(rw(true, 4 * PAGE, buf, 4 * PAGE, 0), 4 * PAGE);
	CHECK_EQ(written, 4 * PAGE);
	report_size = UINT64_MAX;

	/* an error from begin: bytes done so far if any, else the error */
	fail_begin_at = 1;
	CHECK_EQ(rw(false, 0, out, 6 * PAGE, 6 * PAGE), 2 * PAGE);
	fail_begin_at = 0;
	CHECK_ERR(rw(false, 0, out, 6 * PAGE, 6 * PAGE), ENOSPC);
	fail_begin_at = -1;

	/* poison: reads fail with EIO; a partial write fails; a whole-page write clears it */
	CHECK_OK(pmem_badblock_inject(pm, 128 * 1024 + PAGE, 512));
	CHECK_ERR(rw(false, 5 * PAGE + 8, out, 16, 8 * PAGE), EIO);
	CHECK_EQ(rw(false, 4 * PAGE, out, PAGE, 8 * PAGE), PAGE);
	CHECK_ERR(rw(true, 5 * PAGE + 8, buf, 16, 0), EIO);
	CHECK_EQ(rw(true, 5 * PAGE, buf, PAGE, 0), PAGE);
	CHECK_EQ(pmem_badblock_check(pm, 128 * 1024 + PAGE, 512), 0);
	CHECK_EQ(rw(false, 5 * PAGE, out, PAGE, 8 * PAGE), PAGE);
	CHECK(!memcmp(out, buf, PAGE));

	pmem_unmap(base, 4 * MIB);
	pmem_close(pm);
	return 0;
}
