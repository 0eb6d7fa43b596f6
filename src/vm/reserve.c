// SPDX-License-Identifier: MIT
/*
 * VA reservations: PROT_NONE, MAP_NORESERVE anonymous ranges that hold a udax
 * mapping's place and fault on every access until a window is installed.
 * Placed 2 MiB-aligned and congruent with the file offset modulo 2 MiB, as
 * thp_get_unmapped_area places DAX mappings, so PMDs are possible.
 */
#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/err.h"
#include "vm/install.h"

int vm_reserve_fixed(uintptr_t addr, uint64_t len, bool noreplace)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
		    (noreplace ? MAP_FIXED_NOREPLACE : MAP_FIXED);
	void *p = mmap((void *)addr, len, PROT_NONE, flags, -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	if ((uintptr_t)p != addr) { /* old kernels ignore MAP_FIXED_NOREPLACE */
		munmap(p, len);
		return -EEXIST;
	}
	return 0;
}

int vm_reserve_aligned(uint64_t len, uint64_t align, uint64_t off, uintptr_t hint,
		       uintptr_t *addrp)
{
	uint64_t colour = off % align;
	uintptr_t base, start;
	void *p;

	if (hint && hint % align == colour && !vm_reserve_fixed(hint, len, true)) {
		*addrp = hint;
		return 0;
	}
	p = mmap(NULL, len + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return udax_err(errno, "reserve %llu bytes of address space: %m",
				(unsigned long long)len);
	base = (uintptr_t)p;
	start = base + ((colour - base % align) & (align - 1));
	if (start > base)
		munmap(p, start - base);
	munmap((void *)(start + len), base + align - start);
	*addrp = start;
	return 0;
}

int vm_reserve(uint64_t len, uint64_t off, uintptr_t hint, uintptr_t *addrp)
{
	return vm_reserve_aligned(len, DAX_PMD_SIZE, off, hint, addrp);
}

int vm_reserve_again(uintptr_t addr, uint64_t len)
{
	long r = syscall(SYS_mmap, addr, len, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);

	return r == -1 ? -errno : 0;
}
