// SPDX-License-Identifier: MIT
/*
 * The bad-block list under concurrent change: one thread injects and clears
 * (by recovery writes) while others, and signal handlers interrupting all of
 * them, read it. Readers must never see a torn list: a permanent range is always
 * poisoned, a never-poisoned page never is, and every transient range has the
 * length its offset implies.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"
#include "pmem_testutil.h"
#include "pmem/pmem_internal.h"

#define PG	 4096ul
#define PAGES	 64
#define READERS	 2
#define DURATION 1	     /* seconds */
#define SENTINEL 0	     /* page 0: always poisoned */
#define CLEAN	 (PAGES - 1) /* last page: never poisoned */

static struct pmem *pm;
static atomic_bool stop;
static atomic_long checks, handler_checks, errors;
static pthread_t threads[READERS + 1];

/* Transient poison on page p covers this many bytes from the page start. */
static uint64_t len_for(uint64_t off)
{
	return 512 * (1 + (off / PG) % 8);
}

/* [signal-safe] */
static void check_invariants(atomic_long *counter)
{
	uint64_t offs[PMEM_BADBLOCK_MAX], lens[PMEM_BADBLOCK_MAX];
	int n;

	if (pmem_badblock_check(pm, SENTINEL * PG + 100, 1) != -EIO ||
	    pmem_badblock_check(pm, CLEAN * PG, PG) != 0)
		atomic_fetch_add(&errors, 1);
	n = pmem_badblock_list(pm, offs, lens, PMEM_BADBLOCK_MAX);
	if (n < 1 || n > 2)
		atomic_fetch_add(&errors, 1);
	for (int i = 0; i < n && i < PMEM_BADBLOCK_MAX; i++)
		if (offs[i] != SENTINEL * PG && lens[i] != len_for(offs[i]))
			atomic_fetch_add(&errors, 1);
	atomic_fetch_add(counter, 1);
}

static void on_signal(int sig)
{
	(void)sig;
	check_invariants(&handler_checks);
}

static void *reader(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		check_invariants(&checks);
	return NULL;
}

static void *writer(void *arg)
{
	static char page[PG];
	uint64_t p = 1;

	(void)arg;
	while (!atomic_load(&stop)) {
		uint64_t off = p * PG;

		if (pmem_badblock_inject(pm, off, len_for(off)) ||
		    pmem_write(pm, off, page, PG) != (ssize_t)PG)
			atomic_fetch_add(&errors, 1);
		p = p % (PAGES - 2) + 1;
	}
	return NULL;
}

int main(void)
{
	struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
	struct timespec end, now, tick = {0, 200000};

	test_watchdog(30);
	CHECK_OK(pmem_open(tmp_path("media"), PMEM_O_CREATE | PMEM_O_FORCE_FLUSH, PAGES * PG, &pm));
	CHECK_OK(pmem_badblock_inject(pm, SENTINEL * PG, PG));
	CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
	CHECK_EQ(pthread_create(&threads[0], NULL, writer, NULL), 0);
	for (int i = 1; i <= READERS; i++)
		CHECK_EQ(pthread_create(&threads[i], NULL, reader, NULL), 0);
	/* interrupt every thread, the writer included, with handlers that read the list */
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += DURATION;
	do {
		for (int i = 0; i <= READERS; i++)
			pthread_kill(threads[i], SIGUSR1);
		nanosleep(&tick, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec < end.tv_sec ||
		 (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
	atomic_store(&stop, true);
	for (int i = 0; i <= READERS; i++)
		CHECK_EQ(pthread_join(threads[i], NULL), 0);
	printf("%ld checks, %ld in signal handlers\n", atomic_load(&checks),
	       atomic_load(&handler_checks));
	CHECK_EQ(atomic_load(&errors), 0);
	CHECK(atomic_load(&checks) > 0);
	CHECK(atomic_load(&handler_checks) > 0);
	pmem_close(pm);
	return 0;
}
