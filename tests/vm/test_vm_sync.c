// SPDX-License-Identifier: MIT
/*
 * Durability of stores made through mappings, on a fake iomap provider:
 * MAP_SYNC's flag rules and synchronous faults (the metadata commit happens
 * before the page turns writable, the entry is dirtied only after it, read
 * faults never commit), and writeback (fsync flushes exactly the dirty
 * entries, write-protects them in every mapping, and a later store dirties
 * them again, including through a second mapping at a 4 KiB offset: the
 * inventory's row 7). Power loss is simulated with the media layer's
 * recorder: what was stored and synced survives; nothing else changes.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dax/entry_lock.h"
#include "fake_fs.h"
#include "testlib.h"

#define PG  DAX_PAGE_SIZE
#define PMD DAX_PMD_SIZE

static char *map(struct fake_fs *fs, void *at, uint64_t len, int flags, uint64_t off)
{
	void *p;

	CHECK_OK(vm_mmap(&fs->file, at, len, PROT_READ | PROT_WRITE, flags | (at ? MAP_FIXED : 0),
			 off, &p));
	return p;
}

/* Faults served (a PMD attempt that falls back and its PTE retry count once). */
static uint64_t faults(const void *addr)
{
	struct vm_fault_stats st;

	CHECK_OK(vm_fault_stats(addr, &st));
	return st.faults[VM_ORDER_PMD] ? st.faults[VM_ORDER_PMD] : st.faults[VM_ORDER_PTE];
}

static bool dirty(struct fake_fs *fs, uint64_t index)
{
	return dax_test_mark(fs->arena, fs->mapping, index, DAX_DIRTY);
}

/* The flag rules of the kernel's mmap and dax_supported. */
static void test_flags(void)
{
	struct fake_fs *vol = fake_new_in("/dev/shm", 0, 8 * MiB, 2 * MiB);
	struct fake_fs *fs = fake_new(8 * MiB, 2 * MiB);
	void *p;

	/* volatile media cannot keep the promise */
	CHECK_EQ(pmem_get_info(vol->pm)->method, PMEM_METHOD_NONE);
	CHECK_ERR(vm_mmap(&vol->file, NULL, PMD, PROT_READ, MAP_SHARED_VALIDATE | MAP_SYNC, 0, &p),
		  EOPNOTSUPP);
	/* without MAP_SHARED_VALIDATE the flag is ignored */
	CHECK_OK(vm_mmap(&vol->file, NULL, PMD, PROT_READ, MAP_SHARED | MAP_SYNC, 0, &p));
	CHECK_OK(vm_munmap(p, PMD));
	/* unknown flags are refused only when validated */
	CHECK_ERR(vm_mmap(&fs->file, NULL, PMD, PROT_READ, MAP_SHARED_VALIDATE | 0x40000000, 0,
			  &p),
		  EOPNOTSUPP);
	/* flushed media: granted */
	CHECK_OK(vm_mmap(&fs->file, NULL, PMD, PROT_READ, MAP_SHARED_VALIDATE | MAP_SYNC, 0, &p));
	CHECK_OK(vm_munmap(p, PMD));
	fake_free(vol);
	fake_free(fs);
}

/*
 * A MAP_SYNC store into a hole: one commit, made while the entry was still
 * clean; the entry dirty afterwards; the data where it belongs. Reads and
 * stores over committed blocks never commit.
 */
static void test_sync_fault(void)
{
	struct fake_fs *fs = fake_new(16 * MiB, 4 * MiB);
	char *p;

	fs->dirty_meta = true;
	p = map(fs, NULL, 4 * MiB, MAP_SHARED_VALIDATE | MAP_SYNC, 0);
	CHECK_EQ(p[5], 0); /* read of a hole: zero page, no commit */
	CHECK_EQ(fs->syncs, 0);
	p[7] = 'a';
	CHECK_EQ(fs->syncs, 1);
	CHECK_EQ(fs->dirty_at_sync, 0); /* inserted clean, dirtied after the commit */
	CHECK(dirty(fs, 0));
	CHECK_EQ(fs->base[fs->ext[0].media + 7], 'a');
	p[8] = 'b'; /* writable now: no fault, no commit */
	CHECK_EQ(fs->syncs, 1);
	/* a committed block: the write fault does not commit again */
	CHECK_OK(fake_fsync(fs, 0, 4 * MiB));
	CHECK(!dirty(fs, 0));
	CHECK_EQ(fs->syncs, 2);
	p[9] = 'c';
	CHECK_EQ(fs->syncs, 2);
	CHECK(dirty(fs, 0));
	CHECK_OK(vm_munmap(p, 4 * MiB));

	/* the same store without MAP_SYNC (validated or not): no commit */
	p = map(fs, NULL, 4 * MiB, MAP_SHARED_VALIDATE, 0);
	p[3 * MiB] = 'd';
	CHECK_EQ(fs->syncs, 2);
	CHECK(dirty(fs, 3 * MiB / PG));
	CHECK_OK(vm_munmap(p, 4 * MiB));
	p = map(fs, NULL, 4 * MiB, MAP_SHARED | MAP_SYNC, 0);
	p[2 * MiB] = 'e';
	CHECK_EQ(fs->syncs, 2);
	CHECK_OK(vm_munmap(p, 4 * MiB));
	fake_free(fs);
}

/* True if the kernel has a page-table entry for the page at @addr (/proc/self/pagemap). */
static bool pte_present(const void *addr)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t e = 0;

	CHECK(fd >= 0);
	CHECK_EQ(pread(fd, &e, sizeof(e), (off_t)((uintptr_t)addr / PG * sizeof(e))), sizeof(e));
	close(fd);
	return e >> 63;
}

/*
 * On 4 KiB media a write fault in a MAP_SYNC mapping leaves its window to
 * fill page by page (one store, one page-table entry); the same store in a
 * plain shared mapping prefills the whole window.
 */
static void test_sync_window_lazy(void)
{
	struct fake_fs *fs = fake_new(16 * MiB, 4 * MiB);
	char *p;

	p = map(fs, NULL, 4 * MiB, MAP_SHARED_VALIDATE | MAP_SYNC, 0);
	p[7] = 'a';
	CHECK(pte_present(p));
	CHECK(!pte_present(p + PG));
	CHECK(!pte_present(p + 100 * PG));
	p[PG] = 'b'; /* the kernel maps the neighbour when it is touched */
	CHECK(pte_present(p + PG));
	CHECK_EQ(fs->base[fs->ext[0].media + PG], 'b');
	CHECK_OK(vm_munmap(p, 4 * MiB));
	p = map(fs, NULL, 4 * MiB, MAP_SHARED, 0);
	p[2 * MiB + 7] = 'c';
	CHECK(pte_present(p + 2 * MiB));
	CHECK(pte_present(p + 2 * MiB + PG));
	CHECK(pte_present(p + 2 * MiB + 100 * PG));
	CHECK_OK(vm_munmap(p, 4 * MiB));
	fake_free(fs);
}

/*
 * Writeback: the first store dirties what the fault mapped; fsync flushes
 * it once, cleans it and write-protects it; the next store faults once and
 * dirties only its own entry; stores to a dirty page cost nothing.
 */
static void test_writeback(void)
{
	struct fake_fs *fs = fake_new(16 * MiB, 4 * MiB);
	uint64_t n;
	char *p;

	fake_add(fs, 0, 4 * MiB, 2 * MiB, IOMAP_MAPPED);
	p = map(fs, NULL, 4 * MiB, MAP_SHARED, 0);
	p[0] = 'x';
	CHECK(dirty(fs, 0) && dirty(fs, 512));
	CHECK_OK(fake_fsync(fs, 0, 4 * MiB));
	CHECK_EQ(fs->wb.entries, 2);
	CHECK_EQ(fs->wb.bytes, 4 * MiB);
	CHECK(!dirty(fs, 0) && !dirty(fs, 512));
	CHECK_OK(fake_fsync(fs, 0, 4 * MiB)); /* nothing dirty: nothing flushed */
	CHECK_EQ(fs->wb.entries, 2);
	n = faults(p);
	CHECK_EQ(p[0], 'x'); /* still readable without a fault */
	CHECK_EQ(faults(p), n);
	p[3 * MiB] = 'y'; /* write-protected: faults once, dirties its PMD only */
	CHECK_EQ(faults(p), n + 1);
	CHECK(!dirty(fs, 0) && dirty(fs, 512));
	p[3 * MiB + 100] = 'z';
	p[2 * MiB] = 'z';
	CHECK_EQ(faults(p), n + 1);
	CHECK_OK(fake_fsync(fs, 0, 4 * MiB));
	CHECK_EQ(fs->wb.entries, 3);
	CHECK_EQ(fs->wb.bytes, 6 * MiB);
	/* a range: only the entries in it */
	p[0] = 'a';
	p[3 * MiB] = 'b';
	CHECK_OK(fake_fsync(fs, 0, PG));
	CHECK_EQ(fs->wb.entries, 4);
	CHECK(!dirty(fs, 0) && dirty(fs, 512));
	CHECK_OK(vm_munmap(p, 4 * MiB));
	/* stores made before munmap are still owed to the next fsync */
	CHECK_OK(fake_fsync(fs, 0, 4 * MiB));
	CHECK_EQ(fs->wb.entries, 5);
	fake_free(fs);
}

/*
 * 4 KiB entries: a store to a clean page dirties the pages of its 2 MiB
 * block (one fault per block), not the whole extent.
 */
static void test_writeback_pte(void)
{
	struct fake_fs *fs = fake_new(16 * MiB, 4 * MiB);
	char *va = mmap(NULL, 8 * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *p;
	uint64_t n;

	CHECK(va != MAP_FAILED);
	munmap(va, 8 * MiB);
	/* a VA not congruent with the file offset: PMDs impossible */
	va = (char *)((((uintptr_t)va + PMD - 1) & ~(PMD - 1)) + PG);
	fake_add(fs, 0, 4 * MiB, 2 * MiB, IOMAP_MAPPED);
	p = map(fs, va, 4 * MiB, MAP_SHARED, 0);
	p[0] = 'x';
	CHECK_OK(fake_fsync(fs, 0, 4 * MiB));
	CHECK_EQ(fs->wb.entries, 1024); /* the fast path dirtied the whole extent */
	n = faults(p);
	for (int i = 0; i < 5; i++)
		p[(uint64_t)i * 97 * PG] = (char)i; /* file pages 0..388: block 0 */
	CHECK_EQ(faults(p), n + 1);
	CHECK(dirty(fs, 0) && dirty(fs, 511) && !dirty(fs, 512));
	CHECK_OK(fake_fsync(fs, 0, 4 * MiB));
	CHECK_EQ(fs->wb.entries, 1024 + 512);
	CHECK_EQ(fs->wb.bytes, (1024 + 512) * PG);
	CHECK_OK(vm_munmap(p, 4 * MiB));
	fake_free(fs);
}

/* ------------------------------------------------------------------------- */
/* Power loss */

struct recorded {
	struct fake_fs *fs;
	struct pmem_recorder *rec;
	char *image;
	uint64_t size;
};

/* A fake file whose media is recorded from its open on. */
static void recorded_new(struct recorded *r, uint64_t media_size)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/udax-vm-test.%d", getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)media_size) == 0);
	close(fd);
	CHECK_OK(pmem_record_arm(path, NULL, NULL, &r->rec));
	r->fs = fake_new(media_size, 4 * MiB);
	r->size = media_size;
	r->image = malloc(media_size);
	CHECK(r->image);
}

static void recorded_free(struct recorded *r)
{
	fake_free(r->fs);
	pmem_record_free(r->rec);
	free(r->image);
}

/* The media after a power loss now that writes back nothing it need not. */
static const char *worst_case(struct recorded *r)
{
	CHECK_OK(pmem_record_image(r->rec, &(struct pmem_crash_pick){.keep_pct = 0}, r->image));
	return r->image;
}

/*
 * Row 7 of the inventory: one mapping PMD-aligned, one at a 4 KiB offset
 * (PTEs). A store through each, each followed by fsync: both survive.
 * A store never synced may be lost; nothing else on the media changes.
 */
static void test_power_loss(void)
{
	struct recorded r;
	uint64_t media = 2 * MiB;
	char *a, *b, *va, *before;

	recorded_new(&r, 8 * MiB);
	fake_add(r.fs, 0, 4 * MiB, media, IOMAP_MAPPED);
	pmem_persist(r.fs->pm, r.fs->base, r.size);
	before = malloc(r.size);
	CHECK(before);
	memcpy(before, worst_case(&r), r.size);

	a = map(r.fs, NULL, 4 * MiB, MAP_SHARED, 0);
	va = mmap(NULL, 8 * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(va != MAP_FAILED);
	munmap(va, 8 * MiB);
	va = (char *)((((uintptr_t)va + PMD - 1) & ~(PMD - 1)) + PG);
	b = map(r.fs, va, 4 * MiB - PG, MAP_SHARED, PG);

	memset(a + 8 * PG, 'A', 100);
	CHECK(worst_case(&r)[media + 8 * PG] == 0); /* not flushed: may be lost */
	CHECK_OK(fake_fsync(r.fs, 0, 4 * MiB));
	CHECK(worst_case(&r)[media + 8 * PG] == 'A');

	memset(b + 7 * PG + 200, 'B', 100); /* file page 8 again, through the other mapping */
	CHECK_OK(fake_fsync(r.fs, 0, 4 * MiB));
	CHECK(worst_case(&r)[media + 8 * PG + 200] == 'B');

	memset(a + 8 * PG + 400, 'C', 100);
	memset(b + 2 * MiB, 'D', 10); /* file 2 MiB + 4 KiB, in the second PMD */
	CHECK_OK(vm_msync(b + 2 * MiB - PG, PG, MS_ASYNC)); /* asks for nothing */
	CHECK(worst_case(&r)[media + 2 * MiB + PG] == 0);
	CHECK_OK(vm_msync(b + 2 * MiB - PG, 2 * PG, MS_SYNC));
	CHECK(worst_case(&r)[media + 2 * MiB + PG] == 'D');
	CHECK(worst_case(&r)[media + 8 * PG + 400] == 0); /* page 8 was not in the range */

	/* everything else is as before */
	memset(before + media + 8 * PG, 'A', 100);
	memset(before + media + 8 * PG + 200, 'B', 100);
	memset(before + media + 2 * MiB + PG, 'D', 10);
	CHECK(memcmp(before, worst_case(&r), r.size) == 0);

	/* vm_persist: what a MAP_SYNC user calls instead of fsync */
	vm_persist(a + 8 * PG + 400, 100);
	CHECK(worst_case(&r)[media + 8 * PG + 450] == 'C');
	CHECK_OK(vm_munmap(a, 4 * MiB));
	CHECK_OK(vm_munmap(b, 4 * MiB - PG));
	free(before);
	recorded_free(&r);
}

static void test_msync_args(void)
{
	struct fake_fs *fs = fake_new(8 * MiB, 2 * MiB);
	char *p = map(fs, NULL, 2 * MiB, MAP_SHARED, 0);

	CHECK_ERR(vm_msync(p + 1, PG, MS_SYNC), EINVAL);
	CHECK_ERR(vm_msync(p, PG, MS_SYNC | MS_ASYNC), EINVAL);
	CHECK_ERR(vm_msync(p, PG, 0x100), EINVAL);
	CHECK_ERR(vm_msync(p, 2 * MiB + PG, MS_SYNC), ENOMEM);
	CHECK_OK(vm_msync(p, 2 * MiB, MS_SYNC | MS_INVALIDATE));
	CHECK_OK(vm_munmap(p, 2 * MiB));
	fake_free(fs);
}

int main(void)
{
	test_watchdog(60);
	test_flags();
	test_sync_fault();
	test_sync_window_lazy();
	test_writeback();
	test_writeback_pte();
	test_power_loss();
	test_msync_args();
	printf("ok\n");
	return 0;
}
