// SPDX-License-Identifier: MIT
/*
 * Device page references (src/pmem/pagemap.c), with the per-2 MiB unit
 * counts: a get or put of a whole aligned 2 MiB moves one count, and the
 * references of a page are its count plus its unit's. Gets and puts of
 * different shapes must balance exactly, and a waiter must wake when the
 * last reference goes, whichever count it was taken on.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "pmem/pmem.h"
#include "pmem_testutil.h"
#include "testlib.h"

#define UNIT  512ull /* pages per 2 MiB */
#define PAGES (4 * UNIT)

static bool refs_are(const struct pmem *pm, uint64_t pfn, uint64_t nr, uint32_t each)
{
	for (uint64_t i = pfn; i < pfn + nr; i++)
		if (pmem_page_refs(pm, i) != each)
			return false;
	return true;
}

static struct pmem *media(void)
{
	struct pmem *pm;

	CHECK_OK(pmem_open(tmp_path("pagemap"), PMEM_O_CREATE, PAGES * 4096, &pm));
	return pm;
}

/* A unit taken whole and released page by page (and the reverse) ends at 0. */
static void test_shapes_balance(void)
{
	struct pmem *pm = media();

	pmem_page_get(pm, UNIT, UNIT); /* whole unit 1 */
	CHECK(refs_are(pm, 0, UNIT, 0));
	CHECK(refs_are(pm, UNIT, UNIT, 1));
	CHECK(refs_are(pm, 2 * UNIT, 2 * UNIT, 0));
	pmem_page_put(pm, UNIT + 7, 1);
	CHECK_EQ(pmem_page_refs(pm, UNIT + 7), 0);
	CHECK(refs_are(pm, UNIT, 7, 1));
	CHECK(refs_are(pm, UNIT + 8, UNIT - 8, 1));
	for (uint64_t i = 0; i < UNIT; i++)
		if (i != 7)
			pmem_page_put(pm, UNIT + i, 1);
	CHECK(refs_are(pm, 0, PAGES, 0));

	/* page by page in, whole unit out, twice over */
	for (int r = 0; r < 2; r++)
		for (uint64_t i = 0; i < UNIT; i++)
			pmem_page_get(pm, 2 * UNIT + i, 1);
	CHECK(refs_are(pm, 2 * UNIT, UNIT, 2));
	pmem_page_put(pm, 2 * UNIT, UNIT);
	CHECK(refs_are(pm, 2 * UNIT, UNIT, 1));
	pmem_page_put(pm, 2 * UNIT, UNIT);
	CHECK(refs_are(pm, 0, PAGES, 0));

	/* a range with ragged ends around whole units: pages 500..1600 */
	pmem_page_get(pm, 500, 1101);
	CHECK(refs_are(pm, 0, 500, 0));
	CHECK(refs_are(pm, 500, 1101, 1));
	CHECK(refs_are(pm, 1601, PAGES - 1601, 0));
	pmem_page_put(pm, 500, 600); /* ends inside unit 2 */
	CHECK(refs_are(pm, 500, 600, 0));
	CHECK(refs_are(pm, 1100, 501, 1));
	pmem_page_put(pm, 1100, 501);
	CHECK(refs_are(pm, 0, PAGES, 0));

	/* outside the media: ignored, nothing else moves */
	pmem_page_get(pm, PAGES - 1, 2);
	pmem_page_get(pm, PAGES, UNIT);
	CHECK(refs_are(pm, 0, PAGES, 0));
	CHECK_EQ(pmem_page_refs(pm, PAGES), 0);
	pmem_close(pm);
}

/* A held unit keeps every page busy; the waiter sees the last page-sized put. */
static void test_wait_on_units(void)
{
	struct pmem *pm = media();

	pmem_page_get(pm, 0, UNIT);
	CHECK_ERR(pmem_pages_wait_idle(pm, UNIT - 1, 1, 10, NULL, 0), ETIMEDOUT);
	for (uint64_t i = 0; i < UNIT - 1; i++)
		pmem_page_put(pm, i, 1);
	CHECK_OK(pmem_pages_wait_idle(pm, 0, UNIT - 1, 10, NULL, 0));
	CHECK_ERR(pmem_pages_wait_idle(pm, 0, UNIT, 10, NULL, 0), ETIMEDOUT);
	pmem_page_put(pm, UNIT - 1, 1);
	CHECK_OK(pmem_pages_wait_idle(pm, 0, UNIT, 0, NULL, 0));
	pmem_close(pm);
}

struct waiter {
	struct pmem *pm;
	int ret;
	atomic_bool done;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;

	w->ret = pmem_pages_wait_idle(w->pm, UNIT, UNIT, -1, NULL, 0);
	atomic_store(&w->done, true);
	return NULL;
}

/*
 * A sleeping waiter is woken by a put that leaves a page count at "-1":
 * the unit was taken whole, and its pages are released one by one.
 */
static void test_waiter_wakes(void)
{
	struct waiter w = {.pm = media()};
	struct timespec ms = {0, 1000000};
	pthread_t th;

	pmem_page_get(w.pm, UNIT, UNIT);
	CHECK_OK(pthread_create(&th, NULL, wait_thread, &w));
	for (uint64_t i = 0; i < UNIT; i++) {
		CHECK(!atomic_load(&w.done));
		if (i % 64 == 0)
			nanosleep(&ms, NULL); /* let the waiter sleep meanwhile */
		pmem_page_put(w.pm, UNIT + i, 1);
	}
	CHECK_OK(pthread_join(th, NULL));
	CHECK_OK(w.ret);
	pmem_close(w.pm);
}

int main(void)
{
	test_watchdog(60);
	test_shapes_balance();
	test_wait_on_units();
	test_waiter_wakes();
	return 0;
}
