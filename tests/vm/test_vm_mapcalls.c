// SPDX-License-Identifier: MIT
/* munmap, mprotect and mremap of parts of udax mappings. */
#include <string.h>
#include <sys/mman.h>

#include "fake_fs.h"
#include "testlib.h"

#define PG DAX_PAGE_SIZE

static struct fake_fs *fs;

static char *map(uint64_t len, int prot, int flags)
{
	void *p;

	CHECK_OK(vm_mmap(&fs->file, NULL, len, prot, flags, 0, &p));
	return p;
}

static void read_at(void *p)
{
	touch_read(p);
}

static void write_at(void *p)
{
	touch_write(p);
}

static char at(uint64_t off)
{
	return fs->base[2 * MiB + off];
}

static void test_munmap_partial(void)
{
	char *p = map(6 * MiB, PROT_READ, MAP_SHARED);
	struct vm_fault_stats a, b;
	siginfo_t si;

	CHECK_EQ(p[0], at(0));
	CHECK_OK(vm_munmap(p + 2 * MiB, 2 * MiB));
	CHECK_EQ(catch_signal(read_at, p + 3 * MiB, &si), SIGSEGV);
	CHECK_EQ(si.si_code, SEGV_MAPERR);
	CHECK(si.si_addr == p + 3 * MiB);
	CHECK_EQ(p[4 * MiB + 5], at(4 * MiB + 5));
	CHECK_EQ(p[2 * MiB - 1], at(2 * MiB - 1));
	/* The pieces are one mapping for the counters. */
	CHECK_OK(vm_fault_stats(p, &a));
	CHECK_OK(vm_fault_stats(p + 5 * MiB, &b));
	CHECK(!memcmp(&a, &b, sizeof(a)));
	CHECK_OK(vm_munmap(p, PG));
	CHECK_EQ(p[PG], at(PG));
	CHECK_ERR(vm_munmap(p + 2 * MiB, 2 * MiB), EINVAL);
	CHECK_OK(vm_munmap(p, 6 * MiB));
	CHECK_ERR(vm_fault_stats(p + PG, &a), EINVAL);
}

static void test_mprotect_partial(void)
{
	char *p = map(6 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED);
	siginfo_t si;

	p[0] = 'a';
	CHECK_OK(vm_mprotect(p + 2 * MiB, 2 * MiB, PROT_READ));
	CHECK_EQ(catch_signal(write_at, p + 2 * MiB + 9, &si), SIGSEGV);
	CHECK_EQ(si.si_code, SEGV_ACCERR);
	CHECK(si.si_addr == p + 2 * MiB + 9);
	CHECK_EQ(p[2 * MiB + 9], at(2 * MiB + 9));
	p[1] = 'b';
	p[4 * MiB] = 'c';
	CHECK_OK(vm_mprotect(p + 2 * MiB, 2 * MiB, PROT_READ | PROT_WRITE));
	p[2 * MiB + 9] = 'd';
	CHECK_EQ(at(0), 'a');
	CHECK_EQ(at(1), 'b');
	CHECK_EQ(at(4 * MiB), 'c');
	CHECK_EQ(at(2 * MiB + 9), 'd');
	CHECK_OK(vm_munmap(p, 6 * MiB));
}

/* Private copies survive mprotect and move with mremap. */
static void test_private_copies(void)
{
	char *p = map(4 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE), *q;
	char orig = at(0);
	siginfo_t si;

	p[0] = 'X';
	CHECK_OK(vm_mprotect(p, 4 * MiB, PROT_READ));
	CHECK_EQ(p[0], 'X');
	CHECK_EQ(catch_signal(write_at, p, &si), SIGSEGV);
	CHECK_OK(vm_mprotect(p, 4 * MiB, PROT_READ | PROT_WRITE));
	CHECK_EQ(p[0], 'X');
	p[0] = 'Y';
	CHECK_EQ(at(0), orig);
	CHECK_OK(vm_mremap(p, 4 * MiB, 6 * MiB, MREMAP_MAYMOVE, NULL, (void **)&q));
	CHECK_EQ(q[0], 'Y');
	CHECK_EQ(q[5 * MiB], at(5 * MiB));
	CHECK_EQ(at(0), orig);
	CHECK_OK(vm_munmap(q, 6 * MiB));
}

static void test_mremap(void)
{
	char *p = map(2 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED), *q, *r;
	char *dest = mmap(NULL, 8 * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	siginfo_t si;

	CHECK(dest != MAP_FAILED);
	p[7] = 'm';
	CHECK_OK(vm_mremap(p, 2 * MiB, 4 * MiB, MREMAP_MAYMOVE, NULL, (void **)&q));
	CHECK_EQ(q[7], 'm');
	CHECK_EQ(q[3 * MiB], at(3 * MiB));
	CHECK_OK(vm_mremap(q, 4 * MiB, 2 * MiB, 0, NULL, (void **)&r));
	CHECK(r == q);
	CHECK_ERR(vm_fault_stats(q + 3 * MiB, &(struct vm_fault_stats){0}), EINVAL);
	CHECK_OK(vm_mremap(q, 2 * MiB, 2 * MiB, MREMAP_MAYMOVE | MREMAP_FIXED, dest + 4 * MiB,
			   (void **)&r));
	CHECK(r == dest + 4 * MiB);
	CHECK_EQ(r[7], 'm');
	CHECK_EQ(catch_signal(read_at, q, &si), SIGSEGV);
	CHECK_ERR(vm_mremap(r + PG, 4 * MiB, 8 * MiB, 0, NULL, (void **)&q), EFAULT);
	CHECK_OK(vm_munmap(r, 2 * MiB));
	munmap(dest, 8 * MiB);
}

/* MAP_FIXED replaces a udax mapping; MAP_FIXED_NOREPLACE refuses to. */
static void test_fixed(void)
{
	char *p = map(4 * MiB, PROT_READ, MAP_SHARED), *q;

	CHECK_EQ(p[0], at(0));
	CHECK_ERR(vm_mmap(&fs->file, p + 2 * MiB, 2 * MiB, PROT_READ,
			  MAP_SHARED | MAP_FIXED_NOREPLACE, 0, (void **)&q),
		  EEXIST);
	CHECK_OK(vm_mmap(&fs->file, p + 2 * MiB, 2 * MiB, PROT_READ, MAP_SHARED | MAP_FIXED,
			 4 * MiB, (void **)&q));
	CHECK(q == p + 2 * MiB);
	CHECK_EQ(q[5], at(4 * MiB + 5)); /* file offset 4 MiB now */
	CHECK_EQ(p[5], at(5));
	CHECK_OK(vm_munmap(p, 4 * MiB));
}

/* Growing in place keeps private copies where they are. */
static void test_grow_in_place(void)
{
	char *room = mmap(NULL, 12 * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *p, *q;
	char orig;

	CHECK(room != MAP_FAILED);
	p = (char *)(((uintptr_t)room + 2 * MiB - 1) & ~(2 * MiB - 1));
	CHECK_OK(vm_mmap(&fs->file, p, 2 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, 0,
			 (void **)&p));
	munmap(p + 2 * MiB, 4 * MiB);
	orig = at(1);
	p[1] = 'P';
	CHECK_OK(vm_mremap(p, 2 * MiB, 4 * MiB, 0, NULL, (void **)&q));
	CHECK(q == p);
	CHECK_EQ(p[1], 'P');
	CHECK_EQ(p[3 * MiB], at(3 * MiB));
	CHECK_EQ(at(1), orig);
	CHECK_OK(vm_munmap(p, 4 * MiB));
	munmap(room, 12 * MiB);
}

int main(void)
{
	test_watchdog(30);
	fs = fake_new(16 * MiB, 6 * MiB);
	fake_add(fs, 0, 6 * MiB, 2 * MiB, IOMAP_MAPPED);
	for (uint64_t i = 0; i < 6 * MiB; i += 64)
		fs->base[2 * MiB + i] = (char)(i / 64 % 253 + 1);
	test_munmap_partial();
	test_mprotect_partial();
	test_private_copies();
	test_mremap();
	test_fixed();
	test_grow_in_place();
	fake_free(fs);
	printf("ok\n");
	return 0;
}
