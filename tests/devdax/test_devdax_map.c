// SPDX-License-Identifier: MIT
/*
 * Device-DAX mappings at each alignment (4 KiB, 2 MiB, 1 GiB) over a file,
 * modelled on ndctl's test/device-dax.c: MAP_PRIVATE fails, MAP_SHARED works
 * and the data verifies across two mappings and after a reopen, misaligned
 * offsets, lengths and addresses fail with EINVAL, the flags follow dax_mmap,
 * splits obey may_split, one fault maps a whole run, and bytes past the
 * region end raise SIGBUS.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>

#include "devdax_testutil.h"
#include "pmem_testutil.h"
#include "testlib.h"
#include "vm/vm.h"

#define RW (PROT_READ | PROT_WRITE)

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Offsets of a unit the tests write: its edges, page edges and random bytes. */
static void unit_offsets(uint64_t unit, uint64_t a, uint64_t *offs, int n)
{
	uint64_t fixed[] = {0, 1, 4095, 4096 % a, a / 2, a - 1};
	int i = 0;

	for (; i < 6 && i < n; i++)
		offs[i] = unit + fixed[i];
	for (; i < n; i++)
		offs[i] = unit + test_rand() % a;
}

#define SAMPLES 24

static void write_units(uint8_t *p, uint64_t base_off, uint64_t len, uint64_t a, unsigned salt)
{
	uint64_t offs[SAMPLES];

	for (uint64_t u = 0; u < len; u += a) {
		unit_offsets(u, a, offs, SAMPLES);
		for (int i = 0; i < SAMPLES; i++)
			p[offs[i]] = pattern(base_off + offs[i], salt);
	}
}

static void verify_units(const uint8_t *p, uint64_t base_off, uint64_t len, uint64_t a,
			 unsigned salt)
{
	uint64_t offs[] = {0, 1, 4095, 4096 % a, a / 2, a - 1};

	for (uint64_t u = 0; u < len; u += a)
		for (int i = 0; i < 6; i++)
			CHECK_EQ(p[u + offs[i]], pattern(base_off + u + offs[i], salt));
}

static void check_bad_requests(struct udax_devdax *dd, uint64_t a)
{
	uint64_t bad = a == 4 * KiB ? 100 : 4 * KiB;
	void *p, *fixed;

	CHECK_ERR(udax_devdax_mmap(dd, NULL, a, RW, MAP_PRIVATE, 0, &p), EINVAL);
	CHECK_ERR(udax_devdax_mmap(dd, NULL, a, PROT_READ, MAP_PRIVATE, 0, &p), EINVAL);
	CHECK_ERR(udax_devdax_mmap(dd, NULL, 0, RW, MAP_SHARED, 0, &p), EINVAL);
	CHECK_ERR(udax_devdax_mmap(dd, NULL, a, RW | PROT_EXEC, MAP_SHARED, 0, &p), EINVAL);
	CHECK_ERR(udax_devdax_mmap(dd, NULL, a, RW, MAP_SHARED, (off_t)bad, &p), EINVAL);
	CHECK_ERR(udax_devdax_mmap(dd, NULL, a, RW, MAP_SHARED, -(off_t)a, &p), EINVAL);
	CHECK_ERR(udax_devdax_mmap(dd, NULL, a, RW, MAP_SHARED_VALIDATE | 0x800000, 0, &p),
		  EOPNOTSUPP);
	CHECK_ERR(udax_devdax_mmap(dd, NULL, a, RW, MAP_SHARED_VALIDATE | MAP_LOCKED, 0, &p),
		  EOPNOTSUPP);
	if (a > 4 * KiB) { /* 4 KiB lengths are rounded up to pages, as by mmap(2) */
		CHECK_ERR(udax_devdax_mmap(dd, NULL, a + bad, RW, MAP_SHARED, 0, &p), EINVAL);
		CHECK_ERR(udax_devdax_mmap(dd, NULL, a / 2, RW, MAP_SHARED, 0, &p), EINVAL);
	}
	/* a fixed address that is not a multiple of the alignment */
	CHECK_OK(udax_devdax_mmap(dd, NULL, 2 * a, RW, MAP_SHARED, 0, &fixed));
	CHECK_OK(udax_devdax_munmap(fixed, 2 * a));
	CHECK_ERR(udax_devdax_mmap(dd, (char *)fixed + (a > 4 * KiB ? 4 * KiB : 100), a, RW,
				   MAP_SHARED | MAP_FIXED, 0, &p),
		  EINVAL);
	/* ... and one that is: MAP_FIXED lands exactly there */
	CHECK_OK(udax_devdax_mmap(dd, (char *)fixed + a, a, RW, MAP_SHARED | MAP_FIXED, 0, &p));
	CHECK(p == (char *)fixed + a);
	CHECK_ERR(udax_devdax_mmap(dd, p, a, RW, MAP_SHARED | MAP_FIXED_NOREPLACE, 0, &fixed),
		  EEXIST);
	CHECK_OK(udax_devdax_munmap(p, a));
}

/* may_split: munmap/mprotect/mremap only at multiples of the alignment. */
static void check_splits(uint8_t *p, uint64_t a, uint64_t len)
{
	if (a > 4 * KiB) {
		CHECK_ERR(udax_devdax_munmap(p + 4 * KiB, 4 * KiB), EINVAL);
		CHECK_ERR(udax_devdax_munmap(p, a + 4 * KiB), EINVAL);
		CHECK_ERR(udax_devdax_mprotect(p + a - 4 * KiB, 8 * KiB, PROT_READ), EINVAL);
		void *q;

		CHECK_ERR(udax_devdax_mremap(p, a + 4 * KiB, 2 * a, MREMAP_MAYMOVE, NULL, &q),
			  EINVAL);
		CHECK_ERR(udax_devdax_mremap(p, a, a + 4 * KiB, MREMAP_MAYMOVE, NULL, &q), EINVAL);
	}
	/* an aligned piece in the middle goes; its neighbours keep their data */
	CHECK_OK(udax_devdax_munmap(p + a, a));
	verify_units(p, 0, a, a, 1);
	verify_units(p + 2 * a, 2 * a, len - 2 * a, a, 1);
	/* read-only: loads still see the media */
	CHECK_OK(udax_devdax_mprotect(p, a, PROT_READ));
	verify_units(p, 0, a, a, 1);
	CHECK_OK(udax_devdax_mprotect(p, a, RW));
	p[0] = pattern(0, 1);
	CHECK_OK(udax_devdax_munmap(p, a));
	CHECK_OK(udax_devdax_munmap(p + 2 * a, len - 2 * a));
}

/* mremap: shrink in place, then move and grow; the data follows the offsets. */
static void check_mremap(struct udax_devdax *dd, uint64_t a, uint64_t size)
{
	uint8_t *p, *q;

	CHECK_OK(udax_devdax_mmap(dd, NULL, 2 * a, RW, MAP_SHARED, 0, (void **)&p));
	verify_units(p, 0, 2 * a, a, 1);
	CHECK_OK(udax_devdax_mremap(p, 2 * a, a, 0, NULL, (void **)&q));
	CHECK(q == p);
	CHECK_OK(udax_devdax_mremap(p, a, size, MREMAP_MAYMOVE, NULL, (void **)&q));
	verify_units(q, 0, size, a, 1);
	CHECK_EQ((uintptr_t)q % a, 0);
	CHECK_OK(udax_devdax_munmap(q, size));
}

static void check_align(uint64_t a, uint64_t size)
{
	struct udax_devdax_info info;
	struct vm_fault_stats st;
	struct udax_devdax *dd;
	uint8_t *p, *q;
	char name[64];

	printf("alignment %llu KiB, region %llu KiB\n", (unsigned long long)(a >> 10),
	       (unsigned long long)(size >> 10));
	snprintf(name, sizeof(name), "region-%llu", (unsigned long long)a);
	dd = open_file_region(name, a, size, 0);
	CHECK_OK(udax_devdax_get_info(dd, &info));
	CHECK_EQ(info.size, size);
	CHECK_EQ(info.align, a);
	CHECK_EQ(info.capacity, size);
	CHECK(info.page_size <= a);
	CHECK(info.enabled && !info.real);

	check_bad_requests(dd, a);

	/* one mapping of everything, plus one unit past the end */
	CHECK_OK(udax_devdax_mmap(dd, NULL, size + a, RW, MAP_SHARED, 0, (void **)&p));
	CHECK_EQ((uintptr_t)p % max_u64(a, 2 * MiB), 0);
	write_units(p, 0, size, a, 1);
	verify_units(p, 0, size, a, 1);
	/* the first store mapped the whole run up to the region end: one fault */
	CHECK_OK(vm_fault_stats(p, &st));
	CHECK_EQ(st.faults[a >= 2 * MiB ? VM_ORDER_PMD : VM_ORDER_PTE], 1);
	CHECK_SIGBUS(p + size, false);
	CHECK_SIGBUS(p + size + a - 1, true);

	/* a second mapping at another offset shows the same media */
	CHECK_OK(udax_devdax_mmap(dd, NULL, size - a, PROT_READ | PROT_WRITE,
				  MAP_SHARED_VALIDATE | MAP_SYNC, (off_t)a, (void **)&q));
	verify_units(q, a, size - a, a, 1);
	q[a / 2] = 0xa5;
	CHECK_EQ(p[a + a / 2], 0xa5);
	q[a / 2] = pattern(a + a / 2, 1);
	CHECK_OK(udax_devdax_msync(q, size - a, MS_SYNC));
	CHECK_ERR(udax_devdax_msync(q + 1, a, MS_SYNC), EINVAL);
	CHECK_ERR(udax_devdax_msync(q, a, MS_SYNC | MS_ASYNC), EINVAL);
	CHECK_OK(udax_devdax_fsync(dd));
	udax_devdax_persist(dd, q, a);
	CHECK_OK(udax_devdax_munmap(q, size - a));
	CHECK_ERR(udax_devdax_msync(q, a, MS_SYNC), ENOMEM);

	CHECK_OK(udax_devdax_munmap(p + size, a));
	check_splits(p, a, size);
	check_mremap(dd, a, size);

	/* MAP_POPULATE maps it all at once: no fault afterwards (1 GiB of page cache is slow) */
	if (a <= 2 * MiB) {
		CHECK_OK(udax_devdax_mmap(dd, NULL, size, PROT_READ, MAP_SHARED | MAP_POPULATE, 0,
					  (void **)&p));
		verify_units(p, 0, size, a, 1);
		CHECK_OK(vm_fault_stats(p, &st));
		CHECK_EQ(st.faults[VM_ORDER_PTE] + st.faults[VM_ORDER_PMD], 0);
		CHECK_OK(udax_devdax_munmap(p, size));
	}
	CHECK_OK(udax_devdax_close(dd));

	/* the media keeps the data: a new region over the same file shows it */
	CHECK_OK(udax_devdax_open(tmp_path(name), &(struct udax_devdax_opts){.align = a}, &dd));
	CHECK_OK(udax_devdax_mmap(dd, NULL, size, PROT_READ, MAP_SHARED, 0, (void **)&p));
	verify_units(p, 0, size, a, 1);
	CHECK_OK(udax_devdax_close(dd));
	/* the mapping outlives the handle */
	verify_units(p, 0, size, a, 1);
	CHECK_OK(udax_devdax_munmap(p, size));
}

static void check_open_options(void)
{
	struct udax_devdax_opts o = {
		.align = 8 * KiB, .capacity = 4 * MiB, .flags = UDAX_DEVDAX_CREATE};
	struct udax_devdax *dd;
	void *p;

	CHECK_ERR(udax_devdax_open(tmp_path("opts"), &o, &dd), EINVAL);
	o.align = 2 * MiB;
	o.size = 3 * MiB;
	CHECK_ERR(udax_devdax_open(tmp_path("opts"), &o, &dd), EINVAL);
	o.size = 6 * MiB;
	CHECK_ERR(udax_devdax_open(tmp_path("opts"), &o, &dd), EINVAL);
	o.size = 0;
	o.flags |= 0x100;
	CHECK_ERR(udax_devdax_open(tmp_path("opts"), &o, &dd), EINVAL);
	o.flags = UDAX_DEVDAX_CREATE;
	o.map_run = 3 * MiB;
	CHECK_ERR(udax_devdax_open(tmp_path("opts"), &o, &dd), EINVAL);
	o.map_run = 0;
	o.capacity = 1 * MiB; /* smaller than one unit */
	CHECK_ERR(udax_devdax_open(tmp_path("opts-small"), &o, &dd), EINVAL);
	o.capacity = 1 * GiB;
	o.align = 1 * GiB;
	o.flags |= UDAX_DEVDAX_EXACT_PAGES; /* a page-cache file maps 4 KiB pages */
	CHECK_ERR(udax_devdax_open(tmp_path("opts-1g"), &o, &dd), EOPNOTSUPP);
	CHECK_ERR(udax_devdax_open("/nonexistent/region", NULL, &dd), ENOENT);

	/* read-only regions refuse writable mappings */
	o = (struct udax_devdax_opts){
		.align = 2 * MiB, .capacity = 4 * MiB, .flags = UDAX_DEVDAX_CREATE};
	CHECK_OK(udax_devdax_open(tmp_path("opts-ro"), &o, &dd));
	CHECK_OK(udax_devdax_close(dd));
	o.flags = UDAX_DEVDAX_RDONLY;
	CHECK_OK(udax_devdax_open(tmp_path("opts-ro"), &o, &dd));
	CHECK_ERR(udax_devdax_mmap(dd, NULL, 2 * MiB, RW, MAP_SHARED, 0, &p), EACCES);
	CHECK_OK(udax_devdax_mmap(dd, NULL, 2 * MiB, PROT_READ, MAP_SHARED, 0, &p));
	CHECK_OK(udax_devdax_munmap(p, 2 * MiB));
	CHECK_OK(udax_devdax_close(dd));
}

int main(void)
{
	test_watchdog(60);
	bus_catch_install();
	check_open_options();
	check_align(4 * KiB, 64 * KiB);
	check_align(2 * MiB, 16 * MiB);
	check_align(1 * GiB, 3 * GiB);
	return 0;
}
