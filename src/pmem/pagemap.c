// SPDX-License-Identifier: MIT
/*
 * Device page references (DESIGN.md, "Device pages are refcounted"): one
 * count per 4 KiB page of the media. A page is idle at 0; every mapping that
 * shows it and every pin holds one reference. Layout changes wait for the
 * pages they free to go idle.
 *
 * A waiter samples the idle generation, checks the counts, and sleeps on the
 * generation word; whoever drops a count to 0 bumps the generation and, if
 * anyone waits, wakes all. Lost wake-ups are impossible: a drop after the
 * sample changes the word the waiter sleeps on. The counts are touched by the SIGSEGV handler, so
 * everything here is atomics and raw futex calls.
 *
 * Whole 2 MiB units: the fault engine maps extents in 2 MiB windows, and a
 * reference per 4 KiB page cost 512 atomic adds per window (about 1 ms per
 * GiB mapped, and as much again at munmap). A get or put that covers an
 * aligned 2 MiB of media therefore moves one count per unit instead; the
 * references of a page are its own count plus its unit's. Gets and puts need
 * not match in shape: a unit taken whole and released page by page leaves
 * each page count at -1 (modulo 2^32) and the unit at 1, a sum of 0. Since a
 * count reaching 0 then no longer means the page went idle, every put wakes
 * the waiters (a counter bump; a system call only when someone waits).
 */
#include <errno.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "pmem/pmem_internal.h"

#define PAGE_SHIFT 12
#define UNIT_SHIFT 9 /* pages per 2 MiB unit: 1 << UNIT_SHIFT */
#define UNIT_PAGES (1ull << UNIT_SHIFT)

int pmem_pages_init(struct pmem *pm)
{
	uint64_t pages = pm->info.size >> PAGE_SHIFT;
	size_t len = pages * sizeof(*pm->page_refs);
	size_t ulen = ((pages + UNIT_PAGES - 1) >> UNIT_SHIFT) * sizeof(*pm->unit_refs);
	void *p;

	if (!len)
		return 0;
	/* one reservation: the page counts, then the unit counts */
	p = mmap(NULL, len + ulen, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return udax_err(errno, "%s: page references: %s", pm->path, strerror(errno));
	pm->page_refs = p;
	pm->page_refs_len = len;
	pm->unit_refs = (_Atomic uint32_t *)((char *)p + len);
	return 0;
}

void pmem_pages_destroy(struct pmem *pm)
{
	uint64_t pages = pm->page_refs_len / sizeof(*pm->page_refs);

	if (pm->page_refs)
		munmap((void *)pm->page_refs,
		       pm->page_refs_len +
			       ((pages + UNIT_PAGES - 1) >> UNIT_SHIFT) * sizeof(*pm->unit_refs));
}

static bool in_media(const struct pmem *pm, uint64_t pfn, uint64_t nr)
{
	uint64_t pages = pm->page_refs_len / sizeof(*pm->page_refs);

	return pm->page_refs && pfn <= pages && nr <= pages - pfn;
}

/*
 * Adds @delta to the references of [pfn, pfn + nr): one count per whole
 * aligned unit inside the range, one per page at its ragged ends.
 */
static void add_refs(const struct pmem *pm, uint64_t pfn, uint64_t nr, uint32_t delta)
{
	uint64_t end = pfn + nr, unit_lo = (pfn + UNIT_PAGES - 1) & ~(UNIT_PAGES - 1);
	uint64_t unit_hi = end & ~(UNIT_PAGES - 1);

	if (unit_lo >= unit_hi)
		unit_lo = unit_hi = end; /* no whole unit: every page on its own */
	for (uint64_t p = pfn; p < unit_lo; p++)
		atomic_fetch_add(&pm->page_refs[p], delta);
	for (uint64_t u = unit_lo; u < unit_hi; u += UNIT_PAGES)
		atomic_fetch_add(&pm->unit_refs[u >> UNIT_SHIFT], delta);
	for (uint64_t p = unit_hi; p < end; p++)
		atomic_fetch_add(&pm->page_refs[p], delta);
}

void pmem_page_get(const struct pmem *pm, uint64_t pfn, uint64_t nr)
{
	if (in_media(pm, pfn, nr))
		add_refs(pm, pfn, nr, 1);
}

void pmem_page_put(const struct pmem *pm, uint64_t pfn, uint64_t nr)
{
	struct pmem *mut = (struct pmem *)pm; /* the counts are not the media's identity */

	if (!in_media(pm, pfn, nr) || !nr)
		return;
	add_refs(pm, pfn, nr, (uint32_t)-1);
	pmem_pages_wake_waiters(mut);
}

/*
 * The references of page @pfn (in the media): its own count plus its unit's,
 * read one after the other. A unit count moves only through a get or put of
 * the whole unit, i.e. a mapping showing all of it at once; a layout change
 * reads the counts after unmapping its range from every mapping, with faults
 * held off, so no such holder can appear or go away under its reads.
 */
static uint32_t refs_of(const struct pmem *pm, uint64_t pfn)
{
	return atomic_load(&pm->page_refs[pfn]) + atomic_load(&pm->unit_refs[pfn >> UNIT_SHIFT]);
}

uint32_t pmem_page_refs(const struct pmem *pm, uint64_t pfn)
{
	return in_media(pm, pfn, 1) ? refs_of(pm, pfn) : 0;
}

/* The first busy page of [pfn, pfn + nr), or pfn + nr. */
static uint64_t first_busy(const struct pmem *pm, uint64_t pfn, uint64_t nr)
{
	for (uint64_t i = 0; i < nr; i++)
		if (refs_of(pm, pfn + i))
			return pfn + i;
	return pfn + nr;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int pmem_pages_wait_idle(struct pmem *pm, uint64_t pfn, uint64_t nr, int timeout_ms,
			 const _Atomic uint32_t *cancel, uint32_t cancel_seen)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ns() + (int64_t)timeout_ms * 1000000, left;
	uint64_t end = pfn + nr;
	struct timespec ts;
	uint32_t gen;

	if (!in_media(pm, pfn, nr))
		return 0;
	atomic_fetch_add(&pm->idle_waiters, 1); /* before the sample: see pmem_pages_wake_waiters */
	for (;;) {
		gen = atomic_load(&pm->idle_gen);
		pfn = first_busy(pm, pfn, end - pfn);
		if (pfn == end)
			break;
		if (cancel && atomic_load(cancel) != cancel_seen) {
			pfn = UINT64_MAX;
			break;
		}
		if (deadline >= 0) {
			left = deadline - now_ns();
			if (left <= 0)
				break;
			ts.tv_sec = left / 1000000000;
			ts.tv_nsec = left % 1000000000;
		}
		syscall(SYS_futex, &pm->idle_gen, FUTEX_WAIT_PRIVATE, gen, deadline >= 0 ? &ts : NULL,
			NULL, 0);
	}
	atomic_fetch_sub(&pm->idle_waiters, 1);
	return pfn == end ? 0 : pfn == UINT64_MAX ? -EINTR : -ETIMEDOUT;
}

/*
 * The generation always moves; the system call is made only when someone
 * waits. A waiter counts itself before it samples the generation, so a
 * waker that reads no waiter made its change before that sample (all
 * sequentially consistent): the waiter then finds the page idle, or the
 * generation moved, and does not sleep on a stale value.
 */
void pmem_pages_wake_waiters(struct pmem *pm)
{
	atomic_fetch_add(&pm->idle_gen, 1);
	if (atomic_load(&pm->idle_waiters))
		syscall(SYS_futex, &pm->idle_gen, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}
