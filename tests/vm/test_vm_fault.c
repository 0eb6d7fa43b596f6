// SPDX-License-Identifier: MIT
/*
 * The fault paths through a fake iomap provider: every PMD fallback rule,
 * zero windows, replacement of zero mappings, the stale zero PMD, private
 * copy-on-write, SIGBUS beyond EOF and after truncate, SIGSEGV for stores to
 * read-only mappings, the fast path and its counters, MAP_POPULATE.
 */
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include "dax/entry_lock.h"
#include "fake_fs.h"
#include "testlib.h"

#define PG  DAX_PAGE_SIZE
#define PMD DAX_PMD_SIZE

static char *map(struct fake_fs *fs, void *at, uint64_t len, int prot, int flags, uint64_t off)
{
	void *p;

	CHECK_OK(vm_mmap(&fs->file, at, len, prot, flags | (at ? MAP_FIXED : 0), off, &p));
	return p;
}

/* A 2 MiB-aligned address + @skew with @len free bytes after it. */
static char *free_va(uint64_t len, uint64_t skew)
{
	char *p = mmap(NULL, len + 2 * PMD, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED);
	munmap(p, len + 2 * PMD);
	return (char *)(((uintptr_t)p + PMD - 1) & ~(PMD - 1)) + skew;
}

static struct vm_fault_stats stats(const void *addr)
{
	struct vm_fault_stats st;

	CHECK_OK(vm_fault_stats(addr, &st));
	return st;
}

/* Fills media [off, +len) with the pattern byte of each page: (off / 4K) & 0xff ^ 0x5a. */
static void fill_media(struct fake_fs *fs, uint64_t off, uint64_t len)
{
	for (uint64_t p = off; p < off + len; p += PG)
		memset(fs->base + p, (int)(((p / PG) & 0xff) ^ 0x5a), PG);
}

static char pattern(uint64_t media_off)
{
	return (char)(((media_off / PG) & 0xff) ^ 0x5a);
}

static void check_entry(struct fake_fs *fs, uint64_t index, uint64_t kind, uint64_t pfn)
{
	dax_entry_t e = fake_entry(fs, index);

	CHECK_EQ(e & (DAX_PMD | DAX_ZERO | DAX_EMPTY | DAX_LOCKED), kind);
	CHECK_EQ(dax_to_pfn(e), pfn);
}

/* A 4 MiB file, one extent [0, 4M) at media 2 MiB with a known pattern. */
static struct fake_fs *aligned_file(void)
{
	struct fake_fs *fs = fake_new(32 * MiB, 4 * MiB);

	fake_add(fs, 0, 4 * MiB, 2 * MiB, IOMAP_MAPPED);
	fill_media(fs, 2 * MiB, 4 * MiB);
	return fs;
}

static void test_pmd_and_fast_path(void)
{
	struct fake_fs *fs = aligned_file();
	char *p = map(fs, NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	struct vm_fault_stats st;

	CHECK_EQ((uintptr_t)p % PMD, 0);
	CHECK_EQ(p[0], pattern(2 * MiB));
	st = stats(p);
	CHECK_EQ(st.faults[VM_ORDER_PMD], 1);
	CHECK_EQ(st.events[VM_ORDER_PMD][VM_FAULT_MAPPED], 1);
	CHECK_EQ(st.faults[VM_ORDER_PTE], 0);
	CHECK_EQ(st.around_pages, 512);
	check_entry(fs, 0, DAX_PMD, 512);
	check_entry(fs, 700, DAX_PMD, 1024);
	/* The whole extent is mapped: reading every page costs no fault. */
	for (uint64_t off = 0; off < 4 * MiB; off += PG)
		CHECK_EQ(p[off], pattern(2 * MiB + off));
	CHECK_EQ(stats(p).faults[VM_ORDER_PMD], 1);
	/* A write upgrades its own 2 MiB only (dirtiness is tracked per 2 MiB). */
	p[5] = 'w';
	CHECK(dax_test_mark(fs->arena, fs->mapping, 0, DAX_DIRTY));
	CHECK(!dax_test_mark(fs->arena, fs->mapping, 512, DAX_DIRTY));
	p[3 * MiB] = 'x';
	st = stats(p);
	CHECK_EQ(st.faults[VM_ORDER_PMD], 3);
	CHECK_EQ(st.around_pages, 512);
	CHECK_EQ(fs->base[2 * MiB + 5], 'w');
	CHECK_EQ(fs->base[5 * MiB], 'x');
	CHECK(dax_test_mark(fs->arena, fs->mapping, 0, DAX_DIRTY));
	CHECK(dax_test_mark(fs->arena, fs->mapping, 512, DAX_DIRTY));
	CHECK_EQ(atomic_load(&fs->begins), atomic_load(&fs->ends));
	CHECK_OK(vm_munmap(p, 4 * MiB));
	fake_free(fs);
}

/* VA not congruent with the file offset mod 2 MiB: PTEs only. */
static void test_fallback_colour(void)
{
	struct fake_fs *fs = aligned_file();
	char *p = map(fs, free_va(4 * MiB, PG), 4 * MiB, PROT_READ, MAP_SHARED, 0);
	struct vm_fault_stats st;

	CHECK_EQ(p[0], pattern(2 * MiB));
	st = stats(p);
	CHECK_EQ(st.events[VM_ORDER_PMD][VM_FAULT_FALLBACK], 1);
	CHECK_EQ(st.events[VM_ORDER_PMD][VM_FAULT_MAPPED], 0);
	CHECK_EQ(st.events[VM_ORDER_PTE][VM_FAULT_MAPPED], 1);
	CHECK_EQ(st.around_pages, 1023);
	check_entry(fs, 0, 0, 512);
	check_entry(fs, 600, 0, 512 + 600);
	CHECK_EQ(p[600 * PG], pattern(2 * MiB + 600 * PG));
	CHECK_EQ(stats(p).faults[VM_ORDER_PTE], 1);
	CHECK_OK(vm_munmap(p, 4 * MiB));
	fake_free(fs);
}

/* The 2 MiB around the fault is not all inside the mapping. */
static void test_fallback_outside_vma(void)
{
	struct fake_fs *fs = aligned_file();
	char *p = map(fs, NULL, 1 * MiB, PROT_READ, MAP_SHARED, 0);
	struct vm_fault_stats st;

	CHECK_EQ(p[PG], pattern(2 * MiB + PG));
	st = stats(p);
	CHECK_EQ(st.events[VM_ORDER_PMD][VM_FAULT_FALLBACK], 1);
	CHECK_EQ(st.events[VM_ORDER_PTE][VM_FAULT_MAPPED], 1);
	CHECK_EQ(st.around_pages, 255);
	check_entry(fs, 1, 0, 513);
	check_entry(fs, 255, 0, 767);
	CHECK_EQ(fake_entry(fs, 256), 0);
	CHECK_OK(vm_munmap(p, 1 * MiB));
	fake_free(fs);
}

static void read_at(void *p)
{
	touch_read(p);
}

/* EOF: a PMD crossing it falls back; at or beyond it, SIGBUS. */
static void test_fallback_eof_and_sigbus(void)
{
	struct fake_fs *fs = aligned_file();
	char *p = map(fs, NULL, 4 * MiB, PROT_READ, MAP_SHARED, 0);
	struct vm_fault_stats st;
	siginfo_t si;

	atomic_store(&fs->size, 3 * MiB);
	CHECK_EQ(p[2 * MiB + 2 * PG], pattern(4 * MiB + 2 * PG));
	st = stats(p);
	CHECK_EQ(st.events[VM_ORDER_PMD][VM_FAULT_FALLBACK], 1);
	CHECK_EQ(st.events[VM_ORDER_PTE][VM_FAULT_MAPPED], 1);
	check_entry(fs, 514, 0, 512 + 514);
	check_entry(fs, 0, DAX_PMD, 512); /* the fast path mapped block 0 by PMD */
	CHECK_EQ(fake_entry(fs, 768), 0);
	CHECK_EQ(catch_signal(read_at, p + 3 * MiB, &si), SIGBUS);
	CHECK_EQ(si.si_code, BUS_ADRERR);
	CHECK(si.si_addr == p + 3 * MiB);
	CHECK_EQ(stats(p).events[VM_ORDER_PTE][VM_FAULT_SIGBUS], 1);
	/* Truncate unmaps: a mapped page beyond the new size now raises SIGBUS. */
	fake_truncate(fs, 4096);
	CHECK_EQ(catch_signal(read_at, p + 4096 + 10, &si), SIGBUS);
	CHECK_EQ(si.si_code, BUS_ADRERR);
	CHECK(si.si_addr == p + 4096 + 10);
	CHECK_EQ(p[0], pattern(2 * MiB));
	CHECK_OK(vm_munmap(p, 4 * MiB));
	fake_free(fs);
}

/* An extent shorter than 2 MiB, and one misaligned on the media. */
static void test_fallback_extent(void)
{
	struct fake_fs *fs = fake_new(32 * MiB, 4 * MiB);
	char *p;

	fake_add(fs, 0, 1 * MiB, 2 * MiB, IOMAP_MAPPED);
	fake_add(fs, 1 * MiB, 1 * MiB, 8 * MiB, IOMAP_MAPPED);
	fake_add(fs, 2 * MiB, 2 * MiB, 12 * MiB + PG, IOMAP_MAPPED);
	fill_media(fs, 0, 32 * MiB);
	p = map(fs, NULL, 4 * MiB, PROT_READ, MAP_SHARED, 0);
	CHECK_EQ(p[0], pattern(2 * MiB));
	CHECK_EQ(stats(p).events[VM_ORDER_PMD][VM_FAULT_FALLBACK], 1);
	CHECK_EQ(stats(p).around_pages, 255); /* the rest of the short extent only */
	check_entry(fs, 0, 0, 512);
	CHECK_EQ(fake_entry(fs, 256), 0);
	CHECK_EQ(p[1 * MiB + PG], pattern(8 * MiB + PG));
	check_entry(fs, 257, 0, 2048 + 1);
	/* Media offset 12M + 4K is not 2 MiB-aligned. */
	CHECK_EQ(p[3 * MiB], pattern(13 * MiB + PG));
	CHECK_EQ(stats(p).events[VM_ORDER_PMD][VM_FAULT_FALLBACK], 3);
	check_entry(fs, 512, 0, 3072 + 1);
	check_entry(fs, 1023, 0, 3072 + 1 + 511);
	CHECK_EQ(stats(p).events[VM_ORDER_PMD][VM_FAULT_MAPPED], 0);
	CHECK_OK(vm_munmap(p, 4 * MiB));
	fake_free(fs);
}

/* A PTE entry in the range (from a misaligned mapping) blocks the PMD. */
static void test_fallback_pte_entry(void)
{
	struct fake_fs *fs = aligned_file();
	char *skew = map(fs, free_va(4 * MiB, PG), 4 * MiB, PROT_READ, MAP_SHARED, 0);
	char *p;

	CHECK_EQ(skew[5 * PG], pattern(2 * MiB + 5 * PG));
	check_entry(fs, 5, 0, 517);
	p = map(fs, NULL, 4 * MiB, PROT_READ, MAP_SHARED, 0);
	CHECK_EQ(p[0], pattern(2 * MiB));
	CHECK_EQ(stats(p).events[VM_ORDER_PMD][VM_FAULT_FALLBACK], 1);
	CHECK_EQ(stats(p).events[VM_ORDER_PTE][VM_FAULT_MAPPED], 1);
	check_entry(fs, 0, 0, 512);
	CHECK_EQ(p[3 * MiB + 7], pattern(5 * MiB));
	CHECK_OK(vm_munmap(skew, 4 * MiB));
	CHECK_OK(vm_munmap(p, 4 * MiB));
	fake_free(fs);
}

/* Hole reads map zero windows and allocate nothing; a write allocates. */
static void test_hole_read(void)
{
	struct fake_fs *fs = fake_new(32 * MiB, 4 * MiB);
	char *p = map(fs, NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	char *q = map(fs, free_va(4 * MiB, PG), 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	char zero[PG] = {0};

	CHECK(!memcmp(p + 2 * MiB + 8 * PG, zero, PG));
	CHECK_EQ(stats(p).events[VM_ORDER_PMD][VM_FAULT_ZERO], 1);
	check_entry(fs, 512, DAX_PMD | DAX_ZERO, 0);
	for (uint64_t off = 2 * MiB; off < 4 * MiB; off += PG)
		CHECK_EQ(p[off], 0);
	CHECK_EQ(stats(p).faults[VM_ORDER_PMD], 1);
	/* The misaligned mapping gets the 4 KiB zero window, one page at a time. */
	CHECK(!memcmp(q + 3 * PG, zero, PG));
	CHECK_EQ(stats(q).events[VM_ORDER_PMD][VM_FAULT_FALLBACK], 1);
	CHECK_EQ(stats(q).events[VM_ORDER_PTE][VM_FAULT_ZERO], 1);
	check_entry(fs, 3, DAX_ZERO, 0);
	CHECK_EQ(fake_entry(fs, 4), 0);
	CHECK_EQ(atomic_load(&fs->allocs), 0);
	/* Writing the zero page allocates and replaces it. */
	q[3 * PG + 1] = 'q';
	CHECK_EQ(stats(q).events[VM_ORDER_PTE][VM_FAULT_ALLOC], 1);
	CHECK_EQ(atomic_load(&fs->allocs), 1);
	CHECK(fake_entry(fs, 3) != 0);
	CHECK_EQ(fake_entry(fs, 3) & (DAX_ZERO | DAX_PMD), 0);
	CHECK_EQ(p[3 * PG + 1], 'q');
	CHECK_OK(vm_munmap(p, 4 * MiB));
	CHECK_OK(vm_munmap(q, 4 * MiB));
	fake_free(fs);
}

/* A write fault in one mapping replaces the zero PMD that another one shows. */
static void test_hole_write_replaces_zero(void)
{
	struct fake_fs *fs = fake_new(32 * MiB, 4 * MiB);
	char *a = map(fs, NULL, 4 * MiB, PROT_READ, MAP_SHARED, 0);
	char *b = map(fs, NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, 0);

	CHECK_EQ(a[100], 0);
	check_entry(fs, 0, DAX_PMD | DAX_ZERO, 0);
	b[100] = 7;
	CHECK_EQ(stats(b).events[VM_ORDER_PMD][VM_FAULT_ALLOC], 1);
	CHECK_EQ(atomic_load(&fs->allocs), 1);
	CHECK_EQ(fake_entry(fs, 0) & (DAX_PMD | DAX_ZERO), DAX_PMD);
	CHECK_EQ(a[100], 7);
	CHECK_EQ(stats(a).events[VM_ORDER_PMD][VM_FAULT_MAPPED], 1);
	CHECK_OK(vm_munmap(a, 4 * MiB));
	CHECK_OK(vm_munmap(b, 4 * MiB));
	fake_free(fs);
}

/* xfstests t_mmap_stale_pmd: write(2) into a hole shown as a zero PMD. */
static void test_stale_zero_pmd(void)
{
	struct fake_fs *fs = fake_new(32 * MiB, 4 * MiB);
	char *a = map(fs, NULL, 4 * MiB, PROT_READ, MAP_SHARED, 0);

	CHECK_EQ(a[4096], 0);
	check_entry(fs, 1, DAX_PMD | DAX_ZERO, 0);
	fake_write(fs, 4096, "hello", 5);
	CHECK(!memcmp(a + 4096, "hello", 5));
	CHECK_EQ(a[0], 0);
	CHECK_OK(vm_munmap(a, 4 * MiB));
	fake_free(fs);
}

/* MAP_PRIVATE copies on write, never writes the media, keeps its copies. */
static void test_private_cow(void)
{
	struct fake_fs *fs = fake_new(32 * MiB, 4 * MiB);
	char *s, *p;

	fake_add(fs, 0, 2 * MiB, 2 * MiB, IOMAP_MAPPED);
	fill_media(fs, 2 * MiB, 2 * MiB);
	s = map(fs, NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	p = map(fs, NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0);
	p[10] = 'B';
	CHECK_EQ(stats(p).events[VM_ORDER_PMD][VM_FAULT_FALLBACK], 1);
	CHECK_EQ(stats(p).events[VM_ORDER_PTE][VM_FAULT_COW], 1);
	check_entry(fs, 0, DAX_EMPTY, 0);
	CHECK_EQ(fs->base[2 * MiB + 10], pattern(2 * MiB));
	CHECK_EQ(s[10], pattern(2 * MiB));
	/* A read fault next to it maps the rest of the extent, around the copy. */
	CHECK_EQ(p[PG], pattern(2 * MiB + PG));
	CHECK_EQ(p[10], 'B');
	/* Pages not copied show the file's changes; copied ones do not. */
	s[PG + 1] = 'C';
	s[11] = 'S';
	CHECK_EQ(p[PG + 1], 'C');
	CHECK_EQ(p[11], pattern(2 * MiB));
	/* A private write to a hole copies zeros and allocates nothing. */
	p[2 * MiB + 5] = 'D';
	CHECK_EQ(p[2 * MiB + 5], 'D');
	CHECK_EQ(p[2 * MiB + 6], 0);
	CHECK_EQ(s[2 * MiB + 5], 0);
	CHECK_EQ(atomic_load(&fs->allocs), 0);
	CHECK_EQ(stats(p).events[VM_ORDER_PTE][VM_FAULT_COW], 2);
	CHECK_OK(vm_munmap(p, 4 * MiB));
	CHECK_OK(vm_munmap(s, 4 * MiB));
	fake_free(fs);
}

static void write_at(void *p)
{
	touch_write(p);
}

/* A store to a read-only mapping, a load from PROT_NONE: SIGSEGV, SEGV_ACCERR. */
static void test_segv(void)
{
	struct fake_fs *fs = aligned_file();
	char *p = map(fs, NULL, 4 * MiB, PROT_READ, MAP_SHARED, 0);
	siginfo_t si;

	CHECK_EQ(catch_signal(write_at, p + 12345, &si), SIGSEGV);
	CHECK_EQ(si.si_code, SEGV_ACCERR);
	CHECK(si.si_addr == p + 12345);
	CHECK_EQ(fs->base[2 * MiB + 12345], pattern(2 * MiB + 12288));
	CHECK_OK(vm_mprotect(p + PMD, PMD, PROT_NONE));
	CHECK_EQ(catch_signal(read_at, p + PMD + 3, &si), SIGSEGV);
	CHECK_EQ(si.si_code, SEGV_ACCERR);
	CHECK(si.si_addr == p + PMD + 3);
	CHECK_EQ(stats(p).segv, 2);
	CHECK_EQ(p[0], pattern(2 * MiB));
	CHECK_OK(vm_munmap(p, 4 * MiB));
	fake_free(fs);
}

static void test_mmap_args(void)
{
	struct fake_fs *fs = aligned_file();
	struct vm_fault_stats before;
	void *p;
	char *q;

	CHECK_ERR(vm_mmap(&fs->file, NULL, PMD, PROT_READ, MAP_SHARED, 100, &p), EINVAL);
	CHECK_ERR(vm_mmap(&fs->file, NULL, PMD, PROT_READ | PROT_EXEC, MAP_SHARED, 0, &p), EINVAL);
	/* The address is congruent with the offset modulo 2 MiB. */
	q = map(fs, NULL, PMD, PROT_READ, MAP_SHARED_VALIDATE, 3 * PG);
	CHECK_EQ((uintptr_t)q % PMD, 3 * PG);
	CHECK_EQ(q[0], pattern(2 * MiB + 3 * PG));
	CHECK_OK(vm_munmap(q, PMD));
	/* MAP_POPULATE maps everything up front: the reads below take no fault. */
	q = map(fs, NULL, 4 * MiB, PROT_READ, MAP_SHARED | MAP_POPULATE, 0);
	before = stats(q);
	/* PTE entries left by the first mapping (entries outlive munmap) force PTEs. */
	CHECK_EQ(before.faults[VM_ORDER_PMD], 1);
	CHECK_EQ(before.events[VM_ORDER_PMD][VM_FAULT_FALLBACK], 1);
	CHECK_EQ(before.faults[VM_ORDER_PTE], 1);
	CHECK_EQ(before.around_pages, 1023);
	for (uint64_t off = 0; off < 4 * MiB; off += PG)
		CHECK_EQ(q[off], pattern(2 * MiB + off));
	CHECK_EQ(stats(q).faults[VM_ORDER_PMD] + stats(q).faults[VM_ORDER_PTE], 2);
	CHECK_OK(vm_munmap(q, 4 * MiB));
	fake_free(fs);
}

/* Each mapping showing a media page holds one reference on it. */
static void test_page_refs(void)
{
	struct fake_fs *fs = aligned_file();
	char *a = map(fs, NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	char *b = map(fs, NULL, 4 * MiB, PROT_READ, MAP_SHARED, 0);
	char *p = map(fs, NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0);

	CHECK(fake_refs_are(fs, 0, 8192, 0));
	touch_read(a);
	CHECK(fake_refs_are(fs, 512, 1024, 1));
	touch_read(b + 3 * MiB);
	CHECK(fake_refs_are(fs, 512, 1024, 2));
	a[0] = 1; /* made writable in place: no new reference */
	CHECK(fake_refs_are(fs, 512, 1024, 2));
	touch_read(p + PG);
	CHECK(fake_refs_are(fs, 512, 1024, 3));
	p[0] = 2; /* the private copy is not media */
	CHECK(fake_refs_are(fs, 512, 1, 2));
	CHECK(fake_refs_are(fs, 513, 1023, 3));
	CHECK_OK(vm_munmap(a, 2 * MiB));
	CHECK(fake_refs_are(fs, 512, 1, 1));
	CHECK(fake_refs_are(fs, 513, 511, 2));
	CHECK(fake_refs_are(fs, 1024, 512, 3));
	fake_truncate(fs, 2 * MiB);
	CHECK(fake_refs_are(fs, 1024, 512, 0));
	CHECK(fake_refs_are(fs, 513, 511, 2));
	CHECK_OK(vm_munmap(a + 2 * MiB, 2 * MiB));
	CHECK_OK(vm_munmap(b, 4 * MiB));
	CHECK_OK(vm_munmap(p, 4 * MiB));
	CHECK(fake_refs_are(fs, 0, 8192, 0));
	fake_free(fs);
}

/* Volatile media: a read in a shared writable mapping maps writable, entries dirty. */
static void test_write_on_read(void)
{
	struct fake_fs *fs = fake_new_in("/dev/shm", 0, 32 * MiB, 4 * MiB);
	char *ro, *p;

	CHECK_EQ(pmem_get_info(fs->pm)->method, PMEM_METHOD_NONE);
	fake_add(fs, 0, 4 * MiB, 2 * MiB, IOMAP_MAPPED);
	ro = map(fs, NULL, 4 * MiB, PROT_READ, MAP_SHARED, 0);
	touch_read(ro);
	CHECK(!dax_test_mark(fs->arena, fs->mapping, 0, DAX_DIRTY));
	p = map(fs, NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	touch_read(p + 5);
	CHECK(dax_test_mark(fs->arena, fs->mapping, 0, DAX_DIRTY));
	CHECK(dax_test_mark(fs->arena, fs->mapping, 512, DAX_DIRTY));
	p[0] = 'e';
	p[3 * MiB] = 'f';
	CHECK_EQ(stats(p).faults[VM_ORDER_PMD], 1);
	CHECK_EQ(fs->base[2 * MiB], 'e');
	CHECK_EQ(ro[3 * MiB], 'f');
	CHECK_OK(vm_munmap(ro, 4 * MiB));
	CHECK_OK(vm_munmap(p, 4 * MiB));
	fake_free(fs);
}

int main(void)
{
	test_watchdog(30);
	test_pmd_and_fast_path();
	test_fallback_colour();
	test_fallback_outside_vma();
	test_fallback_eof_and_sigbus();
	test_fallback_extent();
	test_fallback_pte_entry();
	test_hole_read();
	test_hole_write_replaces_zero();
	test_stale_zero_pmd();
	test_private_cow();
	test_segv();
	test_mmap_args();
	test_page_refs();
	test_write_on_read();
	printf("ok\n");
	return 0;
}
