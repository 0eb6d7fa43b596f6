// SPDX-License-Identifier: MIT
/*
 * Persistent copies and fills at odd sizes and alignments, on every persistence
 * method this machine offers (msync, none, forced cache-line flush), through both
 * the temporal and the non-temporal strategy; the bytes around the destination
 * must be untouched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testlib.h"
#include "pmem_testutil.h"
#include "pmem/pmem_internal.h"

#define MiB   (1ul << 20)
#define SIZE  (4 * MiB)
#define GUARD 256 /* bytes checked on each side of the destination */
#define FILL  0xa5

static const size_t sizes[] = {0, 1, 63, 64, 65, 255, 256, 257, 4095, 4096, 4097, MiB + 13};
static const size_t dst_offs[] = {0, 1, 7, 63, 64 + 17};
static const size_t src_offs[] = {0, 3};

enum op {
	OP_MEMCPY_PERSIST,
	OP_MEMCPY_NODRAIN,
	OP_MEMSET_PERSIST,
	OP_MEMSET_NODRAIN,
	OP_NT,
	OP_TEMPORAL
};

static unsigned char *src_buf;

static void do_op(const struct pmem *pm, enum op op, unsigned char *dst, const unsigned char *src,
		  size_t len)
{
	switch (op) {
	case OP_MEMCPY_PERSIST:
		CHECK(pmem_memcpy_persist(pm, dst, src, len) == dst);
		break;
	case OP_MEMCPY_NODRAIN:
		CHECK(pmem_memcpy_nodrain(pm, dst, src, len) == dst);
		pmem_drain(pm);
		break;
	case OP_MEMSET_PERSIST:
		CHECK(pmem_memset_persist(pm, dst, 0x3c, len) == dst);
		break;
	case OP_MEMSET_NODRAIN:
		CHECK(pmem_memset_nodrain(pm, dst, 0x3c, len) == dst);
		pmem_drain(pm);
		break;
	case OP_NT:
		pmem_copy_nt(pm, dst, src, len);
		pmem_drain(pm);
		break;
	case OP_TEMPORAL:
		pmem_copy_temporal(pm, dst, src, len);
		pmem_drain(pm);
		break;
	}
}

static bool is_set(enum op op)
{
	return op == OP_MEMSET_PERSIST || op == OP_MEMSET_NODRAIN;
}

static void check_bytes(const unsigned char *p, size_t n, int c, const char *what, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != c)
			test_fail(__FILE__, __LINE__,
				  "%s: byte %zu is 0x%02x, expected 0x%02x (len %zu)", what, i,
				  p[i], c, len);
}

static void check_one(const struct pmem *pm, unsigned char *map, enum op op, size_t len,
		      size_t doff, size_t soff)
{
	unsigned char *dst = map + GUARD + doff;
	const unsigned char *src = src_buf + soff;
	size_t span = GUARD + doff + len + GUARD;

	memset(map, FILL, span);
	do_op(pm, op, dst, src, len);
	check_bytes(map, GUARD + doff, FILL, "byte before the destination", len);
	check_bytes(dst + len, GUARD, FILL, "byte after the destination", len);
	if (is_set(op))
		check_bytes(dst, len, 0x3c, "filled byte", len);
	else if (memcmp(dst, src, len))
		test_fail(__FILE__, __LINE__, "copy of %zu bytes (dst+%zu, src+%zu) differs", len,
			  doff, soff);
}

static void run(const char *what, struct pmem *pm)
{
	unsigned char *map;

	printf("%s: method %s, insn %s\n", what, pmem_method_name(pmem_get_info(pm)->method),
	       pmem_insn_name(pmem_get_info(pm)->insn));
	CHECK_OK(pmem_map(pm, 0, SIZE, PROT_READ | PROT_WRITE, (void **)&map));
	for (enum op op = OP_MEMCPY_PERSIST; op <= OP_TEMPORAL; op++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
			for (size_t d = 0; d < sizeof(dst_offs) / sizeof(dst_offs[0]); d++)
				for (size_t o = 0; o < sizeof(src_offs) / sizeof(src_offs[0]); o++)
					check_one(pm, map, op, sizes[s], dst_offs[d], src_offs[o]);
	/* flush and persist of arbitrary ranges, including empty and unaligned ones */
	pmem_flush(pm, map + 3, 0);
	pmem_flush(pm, map + 3, 5000);
	pmem_persist(pm, map + 63, 2);
	pmem_persist(pm, map, SIZE);
	CHECK_OK(pmem_unmap(map, SIZE));
}

/* On a page-cache file, persist means msync: the data must be in the file afterwards. */
static void check_msync_reaches_file(struct pmem *pm)
{
	char *map, buf[8];

	CHECK_OK(pmem_map(pm, 0, SIZE, PROT_READ | PROT_WRITE, (void **)&map));
	pmem_memcpy_persist(pm, map + 5000, "durable", 8);
	CHECK_EQ(pread(pmem_fd(pm), buf, 8, 5000), 8);
	CHECK(strcmp(buf, "durable") == 0);
	CHECK_OK(pmem_unmap(map, SIZE));
}

int main(void)
{
	char shm[64];
	struct pmem *pm;
	bool file;

	test_watchdog(60);
	src_buf = malloc(MiB + 64);
	CHECK(src_buf);
	for (size_t i = 0; i < MiB + 64; i++)
		src_buf[i] = (unsigned char)(i * 7 + (i >> 8));

	file = tmpdir_on_block_fs("the page-cache file cases");
	if (file) {
		CHECK_OK(pmem_open(tmp_path("file"), PMEM_O_CREATE, SIZE, &pm));
		CHECK_EQ(pmem_get_info(pm)->method, PMEM_METHOD_MSYNC);
		run("page-cache file", pm);
		check_msync_reaches_file(pm);
		pmem_close(pm);

		CHECK_OK(pmem_open(tmp_path("file"), PMEM_O_FORCE_FLUSH, 0, &pm));
		CHECK_EQ(pmem_get_info(pm)->method, PMEM_METHOD_FLUSH);
		run("page-cache file, forced flush", pm);
		pmem_close(pm);
	}

	snprintf(shm, sizeof(shm), "/dev/shm/udax-copy-%d", getpid());
	CHECK_OK(pmem_open(shm, PMEM_O_CREATE, SIZE, &pm));
	unlink(shm);
	CHECK_EQ(pmem_get_info(pm)->method, PMEM_METHOD_NONE);
	run("tmpfs", pm);
	pmem_close(pm);

	if (file) {
		CHECK_OK(setenv("UDAX_FORCE_FLUSH", "1", 1));
		CHECK_OK(pmem_open(tmp_path("file"), 0, 0, &pm));
		CHECK_EQ(pmem_get_info(pm)->method, PMEM_METHOD_FLUSH);
		CHECK_EQ(pmem_get_info(pm)->insn, cpu_flush_insn());
		run("page-cache file, UDAX_FORCE_FLUSH=1", pm);
		pmem_close(pm);
	}
	free(src_buf);
	return 0;
}
