// SPDX-License-Identifier: MIT
/*
 * Mapping media windows at addresses the kernel can back with huge pages: a
 * 2 MiB (or 1 GiB) aligned window over a media offset with the same alignment
 * can get a PMD (PUD) entry; any other placement forces 4 KiB PTEs.
 */
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/err.h"
#include "pmem/pmem_internal.h"

/* The smallest unit a mapping of this backing can start or end at. */
static uint64_t map_granule(const struct pmem *pm)
{
	return pm->info.align > PMEM_PAGE_SIZE ? pm->info.align : PMEM_PAGE_SIZE;
}

/* Plain error codes only: also used on the signal-safe path. */
static int check_window(const struct pmem *pm, uint64_t off, size_t len, int prot)
{
	uint64_t g = map_granule(pm);

	if (prot & ~(PROT_READ | PROT_WRITE) || !(prot & PROT_READ))
		return -EINVAL;
	if ((prot & PROT_WRITE) && (pm->flags & PMEM_O_RDONLY))
		return -EACCES;
	if (!len || off % g || len % g || off > pm->info.size || len > pm->info.size - off)
		return -EINVAL;
	return 0;
}

static void window_error(const struct pmem *pm, int err, uint64_t off, size_t len, int prot)
{
	if (err == -EACCES)
		udax_err(EACCES, "%s: cannot map writable: opened read-only", pm->path);
	else
		udax_err(EINVAL,
			 "%s: bad window off %llu len %zu prot 0x%x: needs PROT_READ[|PROT_WRITE], "
			 "multiples of %llu, inside %llu bytes",
			 pm->path, (unsigned long long)off, len, prot,
			 (unsigned long long)map_granule(pm), (unsigned long long)pm->info.size);
}

/*
 * MAP_SYNC on fs-dax makes write faults commit the block mapping first, so
 * cache flushes alone make data durable.
 */
static int mmap_flags(const struct pmem *pm)
{
	return pm->info.kind == PMEM_KIND_FSDAX ? MAP_SHARED_VALIDATE | MAP_SYNC : MAP_SHARED;
}

/* Raw system calls only: pmem_map_fixed runs in fault handlers. */
static int install(const struct pmem *pm, void *addr, uint64_t off, size_t len, int prot)
{
	long ret = syscall(SYS_mmap, addr, len, prot, mmap_flags(pm) | MAP_FIXED, pm->fd, off);

	if (ret == -1)
		return -errno;
	if (pm->huge_advise) /* huge=advise or within_size shmem: ask for huge pages */
		syscall(SYS_madvise, addr, len, MADV_HUGEPAGE);
	return 0;
}

/* 2 MiB, 1 GiB for windows that can hold a PUD, or the device's own alignment. */
static uint64_t map_alignment(const struct pmem *pm, size_t len)
{
	uint64_t a = PMEM_PMD_SIZE;

	if (pm->info.pud_capable && len >= PMEM_PUD_SIZE)
		a = PMEM_PUD_SIZE;
	return pm->info.align > a ? pm->info.align : a;
}

int pmem_map(struct pmem *pm, uint64_t off, size_t len, int prot, void **addr)
{
	int ret = check_window(pm, off, len, prot);
	uint64_t a = map_alignment(pm, len);
	uintptr_t base, start;
	void *res;

	if (ret) {
		window_error(pm, ret, off, len, prot);
		return ret;
	}
	res = mmap(NULL, len + a, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return udax_err(errno, "%s: cannot reserve %zu bytes of address space: %s",
				pm->path, len + a, strerror(errno));
	/* first address in the reservation congruent with off modulo a */
	base = (uintptr_t)res;
	start = base + ((off % a - base % a + a) % a);
	ret = install(pm, (void *)start, off, len, prot);
	if (ret) {
		munmap(res, len + a);
		return udax_err(-ret, "%s: mmap of %zu bytes at offset %llu failed: %s", pm->path,
				len, (unsigned long long)off, strerror(-ret));
	}
	if (start > base)
		munmap(res, start - base);
	munmap((void *)(start + len), base + a - start);
	if (pm->rec)
		pmem_record_window(pm->rec, (void *)start, off, len);
	*addr = (void *)start;
	return 0;
}

int pmem_map_fixed(struct pmem *pm, void *addr, uint64_t off, size_t len, int prot)
{
	int ret = check_window(pm, off, len, prot);

	if (ret)
		return ret;
	if ((uintptr_t)addr % map_granule(pm))
		return -EINVAL;
	return install(pm, addr, off, len, prot);
}

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

int pmem_collapse(const struct pmem *pm, void *addr, size_t len)
{
	if (pm->info.kind != PMEM_KIND_TMPFS)
		return -EOPNOTSUPP;
	return madvise(addr, len, MADV_COLLAPSE) ? -errno : 0;
}

int pmem_unmap(void *addr, size_t len)
{
	if (munmap(addr, len))
		return udax_err(errno, "munmap(%p, %zu): %s", addr, len, strerror(errno));
	return 0;
}
