// SPDX-License-Identifier: MIT
/*
 * The shown table's 2 MiB units (src/vm/install.c): a unit mapped whole
 * from one extent is kept in one word, and every operation that touches
 * part of it must split it exactly:
 *  - one fault over an 8 MiB extent shows every unit whole (one word each,
 *    no page words used) with one reference per page;
 *  - munmap of pages inside a unit, and of a range crossing units, drops
 *    exactly their references and leaves the neighbours showing their pages;
 *  - write-protecting one page inside a writable unit makes that page (and
 *    only it) fault on the next store, and moves no reference;
 *  - a pin inside a unit survives a truncate that unmaps the rest of the
 *    unit: its page keeps exactly the pin's reference until the unpin;
 *  - a private copy inside a unit splits it and drops that page's reference.
 * References are counted per page by the fake file system, which aborts on
 * any reference dropped twice.
 */
#include <string.h>
#include <sys/mman.h>

#include "fake_fs.h"
#include "testlib.h"
#include "vm/install.h"
#include "vm/vma.h"

#define PG    DAX_PAGE_SIZE
#define PMD   DAX_PMD_SIZE
#define UNITS 4
#define PAGES (UNITS * DAX_PMD_NR)

static struct fake_fs *new_fs(void)
{
	struct fake_fs *fs = fake_new(UNITS * PMD, UNITS * PMD);

	fake_add(fs, 0, UNITS * PMD, 0, IOMAP_MAPPED);
	return fs;
}

static char *map(struct fake_fs *fs, int flags)
{
	void *p;

	CHECK_OK(vm_mmap(&fs->file, NULL, UNITS * PMD, PROT_READ | PROT_WRITE, flags, 0, &p));
	return p;
}

/* What the page at @addr shows (media pfn + 1 | writable), read through the registry. */
static uint64_t shown(const char *addr)
{
	struct vm_vma v;
	uint64_t s = 0;

	CHECK(vma_get((uintptr_t)addr, &v));
	CHECK(vm_shown_get(&v, (uintptr_t)addr, &s));
	vma_put(&v);
	return s;
}

/* The unit word of file unit @u of the mapping at @p. */
static uint64_t unit_word(const char *p, uint64_t u, uint32_t *used)
{
	struct vm_vma v;
	uint64_t s;

	CHECK(vma_get((uintptr_t)p, &v));
	s = atomic_load(&v.obj->units[u - v.obj->unit0].shown);
	*used = v.obj->units[u - v.obj->unit0].used;
	vma_put(&v);
	return s;
}

static uint64_t faults(const char *p)
{
	struct vm_fault_stats st;

	CHECK_OK(vm_fault_stats(p, &st));
	return st.faults[VM_ORDER_PMD] + st.faults[VM_ORDER_PTE];
}

/* Every page of [pfn, pfn + nr) shows media page pfn + i. */
static bool shows_media(const char *p, uint64_t pfn, uint64_t nr)
{
	for (uint64_t i = pfn; i < pfn + nr; i++)
		if ((shown(p + i * PG) & ~VM_SHOWN_WRITABLE) != i + 1)
			return false;
	return true;
}

static void test_one_word_per_unit(void)
{
	struct fake_fs *fs = new_fs();
	char *p = map(fs, MAP_SHARED);
	uint32_t used;

	CHECK_EQ(p[0], 0);
	CHECK_EQ(faults(p), 1);
	for (uint64_t u = 0; u < UNITS; u++) {
		CHECK_EQ(unit_word(p, u, &used) & ~VM_SHOWN_WRITABLE, u * DAX_PMD_NR + 1);
		CHECK_EQ(used, 0);
	}
	CHECK(shows_media(p, 0, PAGES));
	CHECK(fake_refs_are(fs, 0, PAGES, 1));
	CHECK_OK(vm_munmap(p, UNITS * PMD));
	CHECK(fake_refs_are(fs, 0, PAGES, 0));
	fake_free(fs);
}

static void test_munmap_inside_and_across(void)
{
	struct fake_fs *fs = new_fs();
	char *p = map(fs, MAP_SHARED);
	uint32_t used;

	CHECK_EQ(p[0], 0);
	/* three pages inside unit 0 */
	CHECK_OK(vm_munmap(p + 100 * PG, 3 * PG));
	CHECK(fake_refs_are(fs, 0, 100, 1));
	CHECK(fake_refs_are(fs, 100, 3, 0));
	CHECK(fake_refs_are(fs, 103, PAGES - 103, 1));
	CHECK_EQ(unit_word(p, 0, &used), 0); /* split */
	CHECK_EQ(used, DAX_PMD_NR - 3);
	CHECK(shows_media(p, 0, 100));
	CHECK(shows_media(p, 103, PAGES - 103));
	/* the last 10 pages of unit 1 and the first 20 of unit 2 */
	CHECK_OK(vm_munmap(p + (2 * DAX_PMD_NR - 10) * PG, 30 * PG));
	CHECK(fake_refs_are(fs, 103, 2 * DAX_PMD_NR - 10 - 103, 1));
	CHECK(fake_refs_are(fs, 2 * DAX_PMD_NR - 10, 30, 0));
	CHECK(fake_refs_are(fs, 2 * DAX_PMD_NR + 20, PAGES - 2 * DAX_PMD_NR - 20, 1));
	CHECK(unit_word(p, 3, &used) != 0); /* untouched units stay whole */
	/* the rest, in pieces that end inside units */
	CHECK_OK(vm_munmap(p, 100 * PG));
	CHECK_OK(vm_munmap(p + 103 * PG, (2 * DAX_PMD_NR - 10 - 103) * PG));
	CHECK_OK(vm_munmap(p + (2 * DAX_PMD_NR + 20) * PG, (PAGES - 2 * DAX_PMD_NR - 20) * PG));
	CHECK(fake_refs_are(fs, 0, PAGES, 0));
	fake_free(fs);
}

static void store(void *arg)
{
	*(volatile char *)arg = 1;
}

static void test_wrprotect_one_page(void)
{
	struct fake_fs *fs = new_fs();
	char *p = map(fs, MAP_SHARED);
	uint64_t before;
	uint32_t used;

	store(p); /* write fault: unit 0 writable, whole */
	CHECK(unit_word(p, 0, &used) & VM_SHOWN_WRITABLE);
	vm_wrprotect_mapping_range(fs->mapping, 5, 1);
	CHECK_EQ(unit_word(p, 0, &used), 0);
	CHECK(!(shown(p + 5 * PG) & VM_SHOWN_WRITABLE));
	CHECK(shown(p + 4 * PG) & VM_SHOWN_WRITABLE);
	CHECK(shown(p + 6 * PG) & VM_SHOWN_WRITABLE);
	CHECK(shows_media(p, 0, PAGES));
	CHECK(fake_refs_are(fs, 0, PAGES, 1));
	before = faults(p);
	CHECK_EQ(catch_signal(store, p + 4 * PG, NULL), 0);
	CHECK_EQ(catch_signal(store, p + 6 * PG, NULL), 0);
	CHECK_EQ(faults(p), before); /* still writable: no fault */
	CHECK_EQ(catch_signal(store, p + 5 * PG, NULL), 0);
	CHECK(faults(p) > before); /* the protected page faulted */
	CHECK(shown(p + 5 * PG) & VM_SHOWN_WRITABLE);
	CHECK(fake_refs_are(fs, 0, PAGES, 1));
	/* the whole unit again */
	vm_wrprotect_mapping_range(fs->mapping, 0, DAX_PMD_NR);
	for (uint64_t i = 0; i < DAX_PMD_NR; i++)
		CHECK(!(shown(p + i * PG) & VM_SHOWN_WRITABLE));
	CHECK_OK(vm_munmap(p, UNITS * PMD));
	CHECK(fake_refs_are(fs, 0, PAGES, 0));
	fake_free(fs);
}

static void test_pin_against_truncate(void)
{
	struct fake_fs *fs = new_fs();
	char *p = map(fs, MAP_SHARED);
	struct vm_pin *pin;
	uint32_t used;

	CHECK_EQ(p[0], 0);
	CHECK_OK(vm_pin(p + 300 * PG, PG, false, &pin));
	CHECK_EQ(vm_pin_pfn(pin, 0), 300);
	CHECK(unit_word(p, 0, &used) != 0); /* the pin does not split the unit */
	CHECK(fake_refs_are(fs, 300, 1, 2));
	fake_truncate(fs, 256 * PG); /* unmaps the rest of unit 0 and units 1..3 */
	CHECK(fake_refs_are(fs, 0, 256, 1));
	CHECK(fake_refs_are(fs, 256, 44, 0));
	CHECK(fake_refs_are(fs, 300, 1, 1)); /* the pin's */
	CHECK(fake_refs_are(fs, 301, PAGES - 301, 0));
	CHECK(shows_media(p, 0, 256));
	CHECK_EQ(shown(p + 300 * PG), 0);
	vm_unpin(pin);
	CHECK(fake_refs_are(fs, 256, PAGES - 256, 0));
	CHECK_OK(vm_munmap(p, UNITS * PMD));
	CHECK(fake_refs_are(fs, 0, PAGES, 0));
	fake_free(fs);
}

static void test_private_copy_splits(void)
{
	struct fake_fs *fs = new_fs();
	char *p = map(fs, MAP_PRIVATE);
	uint32_t used;

	CHECK_EQ(p[0], 0);
	CHECK(unit_word(p, 1, &used) != 0);
	store(p + (DAX_PMD_NR + 7) * PG); /* copy-on-write inside unit 1 */
	CHECK_EQ(unit_word(p, 1, &used), 0);
	CHECK_EQ(shown(p + (DAX_PMD_NR + 7) * PG), 0);
	CHECK(fake_refs_are(fs, DAX_PMD_NR + 7, 1, 0));
	CHECK(fake_refs_are(fs, 0, DAX_PMD_NR + 7, 1));
	CHECK(fake_refs_are(fs, DAX_PMD_NR + 8, PAGES - DAX_PMD_NR - 8, 1));
	CHECK_EQ(fs->base[(DAX_PMD_NR + 7) * PG], 0); /* the media is untouched */
	CHECK_OK(vm_munmap(p, UNITS * PMD));
	CHECK(fake_refs_are(fs, 0, PAGES, 0));
	fake_free(fs);
}

int main(void)
{
	test_watchdog(60);
	test_one_word_per_unit();
	test_munmap_inside_and_across();
	test_wrprotect_one_page();
	test_pin_against_truncate();
	test_private_copy_splits();
	return 0;
}
