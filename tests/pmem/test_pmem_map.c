// SPDX-License-Identifier: MIT
/* Aligned mappings, fixed mappings at any media offset, and mapping errors. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testlib.h"
#include "udax.h"
#include "pmem_testutil.h"

#define MiB  (1ul << 20)
#define SIZE (8 * MiB)

static char shm_path[64];

static void remove_shm_file(void)
{
	unlink(shm_path);
}

/* Fill the media through the write path with a pattern derived from the offset. */
static void fill_media(struct pmem *pm)
{
	static uint64_t buf[512];

	for (uint64_t off = 0; off < SIZE; off += sizeof(buf)) {
		for (size_t i = 0; i < 512; i++)
			buf[i] = off + i * 8;
		CHECK_EQ(pmem_write(pm, off, buf, sizeof(buf)), sizeof(buf));
	}
}

static uint64_t word_at(const void *addr)
{
	uint64_t v;

	memcpy(&v, addr, sizeof(v));
	return v;
}

static void check_aligned_map(struct pmem *pm, uint64_t off, size_t len)
{
	void *addr;

	CHECK_OK(pmem_map(pm, off, len, PROT_READ | PROT_WRITE, &addr));
	/* congruent with the media offset modulo 2 MiB, so the kernel may use PMDs */
	CHECK_EQ((uintptr_t)addr % PMEM_PMD_SIZE, off % PMEM_PMD_SIZE);
	CHECK_EQ(word_at(addr), off);
	CHECK_EQ(word_at((char *)addr + len - 8), off + len - 8);
	/* the reservation around the window was trimmed: the neighbours are unmapped */
	CHECK_EQ(msync((char *)addr - 4096, 4096, MS_ASYNC), -1);
	CHECK_EQ(errno, ENOMEM);
	CHECK_EQ(msync((char *)addr + len, 4096, MS_ASYNC), -1);
	CHECK_EQ(errno, ENOMEM);
	CHECK_OK(pmem_unmap(addr, len));
}

/* Stores through one mapping are seen through another and by pmem_read. */
static void check_coherent(struct pmem *pm)
{
	char *a, *b, buf[16];

	CHECK_OK(pmem_map(pm, 0, SIZE, PROT_READ | PROT_WRITE, (void **)&a));
	CHECK_OK(pmem_map(pm, 2 * MiB, 2 * MiB, PROT_READ, (void **)&b));
	pmem_memcpy_persist(pm, a + 2 * MiB + 100, "hello, media", 13);
	CHECK(strcmp(b + 100, "hello, media") == 0);
	CHECK_EQ(pmem_read(pm, 2 * MiB + 100, buf, 13), 13);
	CHECK(strcmp(buf, "hello, media") == 0);
	CHECK_OK(pmem_unmap(a, SIZE));
	CHECK_OK(pmem_unmap(b, 2 * MiB));
}

static void check_map_fixed(struct pmem *pm)
{
	char *res = mmap(NULL, 4 * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(res != MAP_FAILED);
	/* any page-aligned address over any page-aligned media offset */
	CHECK_OK(pmem_map_fixed(pm, res + 4096, 3 * 4096 + MiB, 2 * 4096, PROT_READ));
	CHECK_EQ(word_at(res + 4096), 3 * 4096 + MiB);
	CHECK_EQ(word_at(res + 2 * 4096 + 8), 4 * 4096 + MiB + 8);
	/* replaces what is there */
	CHECK_OK(pmem_map_fixed(pm, res + 4096, 0, 4096, PROT_READ | PROT_WRITE));
	CHECK_EQ(word_at(res + 4096), 0);
	CHECK_ERR(pmem_map_fixed(pm, res + 1, 0, 4096, PROT_READ), EINVAL);
	CHECK_ERR(pmem_map_fixed(pm, res, 1, 4096, PROT_READ), EINVAL);
	CHECK_ERR(pmem_map_fixed(pm, res, 0, 4095, PROT_READ), EINVAL);
	CHECK_ERR(pmem_map_fixed(pm, res, SIZE, 4096, PROT_READ), EINVAL);
	CHECK_ERR(pmem_map_fixed(pm, res, 0, 4096, PROT_EXEC), EINVAL);
	CHECK_OK(munmap(res, 4 * MiB));
}

static void check_map_errors(struct pmem *pm)
{
	void *addr = NULL;

	CHECK_ERR(pmem_map(pm, 0, 0, PROT_READ, &addr), EINVAL);
	CHECK(strstr(udax_errormsg(), pmem_path(pm)));
	CHECK_ERR(pmem_map(pm, 100, 4096, PROT_READ, &addr), EINVAL);
	CHECK_ERR(pmem_map(pm, 0, 4097, PROT_READ, &addr), EINVAL);
	CHECK_ERR(pmem_map(pm, 0, SIZE + 4096, PROT_READ, &addr), EINVAL);
	CHECK_ERR(pmem_map(pm, SIZE, 4096, PROT_READ, &addr), EINVAL);
	CHECK_ERR(pmem_map(pm, UINT64_MAX - 4095, 4096, PROT_READ, &addr), EINVAL);
	CHECK_ERR(pmem_map(pm, 0, 4096, PROT_WRITE, &addr), EINVAL);
	CHECK_ERR(pmem_map(pm, 0, 4096, PROT_READ | PROT_EXEC, &addr), EINVAL);
	CHECK(addr == NULL);
	CHECK_ERR(pmem_unmap((void *)4097, 4096), EINVAL);
}

static void run(const char *what, struct pmem *pm)
{
	printf("%s: %s\n", what, pmem_get_info(pm)->reason);
	fill_media(pm);
	check_aligned_map(pm, 0, SIZE);
	check_aligned_map(pm, 4096, 2 * MiB);
	check_aligned_map(pm, 2 * MiB + 8192, 3 * MiB);
	check_aligned_map(pm, SIZE - 4096, 4096);
	check_coherent(pm);
	check_map_fixed(pm);
	check_map_errors(pm);
	pmem_close(pm);
}

int main(void)
{
	int fd = memfd_create("udax-map", MFD_CLOEXEC);
	struct pmem *pm;

	test_watchdog(30);
	CHECK_OK(pmem_open(tmp_path("file"), PMEM_O_CREATE, SIZE, &pm));
	run("regular file", pm);

	snprintf(shm_path, sizeof(shm_path), "/dev/shm/udax-map-%d", getpid());
	atexit(remove_shm_file);
	CHECK_OK(pmem_open(shm_path, PMEM_O_CREATE, SIZE, &pm));
	run("/dev/shm file", pm);

	CHECK(fd >= 0);
	CHECK_OK(ftruncate(fd, SIZE));
	CHECK_OK(pmem_open_fd(fd, PMEM_O_FORCE_FLUSH, &pm));
	close(fd);
	run("memfd", pm);
	return 0;
}
