// SPDX-License-Identifier: MIT
/*
 * Threads against one device-DAX region:
 *  - concurrent first-touch faults on the same and on different units (a
 *    run of one unit per fault, so every unit faults) lose no store;
 *  - a shrink while threads load and store: once resize has returned, every
 *    access past the new end raises SIGBUS and none below it does;
 *  - a disable while threads load and store: once it has returned, every
 *    access raises SIGBUS, and every thread ends up seeing it.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>

#include "devdax_testutil.h"
#include "pmem_testutil.h"
#include "testlib.h"
#include "vm/vm.h"

#define THREADS 4
#define A	(2 * MiB)
#define UNITS	16
#define SIZE	(UNITS * A)

static uint8_t *map;
static pthread_barrier_t start;

static void *fault_thread(void *arg)
{
	uint64_t t = (uintptr_t)arg;

	pthread_barrier_wait(&start);
	/* every thread walks all units, from a different first one */
	for (uint64_t i = 0; i < UNITS; i++) {
		uint64_t u = (i + t * (UNITS / THREADS)) % UNITS, off = u * A + t * 4096 + t;

		map[off] = pattern(off, (unsigned)t);
	}
	return NULL;
}

static void check_concurrent_faults(void)
{
	struct udax_devdax_opts o = {
		.align = A, .capacity = SIZE, .map_run = A, .flags = UDAX_DEVDAX_CREATE};
	struct udax_devdax *dd;
	struct vm_fault_stats st;
	pthread_t th[THREADS];

	CHECK_OK(udax_devdax_open(tmp_path("faults"), &o, &dd));
	CHECK_OK(udax_devdax_mmap(dd, NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0,
				  (void **)&map));
	pthread_barrier_init(&start, NULL, THREADS);
	for (uintptr_t t = 0; t < THREADS; t++)
		CHECK(pthread_create(&th[t], NULL, fault_thread, (void *)t) == 0);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&start);
	for (uint64_t u = 0; u < UNITS; u++)
		for (uint64_t t = 0; t < THREADS; t++)
			CHECK_EQ(map[u * A + t * 4096 + t],
				 pattern(u * A + t * 4096 + t, (unsigned)t));
	CHECK_OK(vm_fault_stats(map, &st));
	CHECK(st.faults[VM_ORDER_PMD] >= UNITS);
	CHECK_EQ(st.events[VM_ORDER_PMD][VM_FAULT_SIGBUS], 0);
	CHECK_OK(udax_devdax_munmap(map, SIZE));
	CHECK_OK(udax_devdax_close(dd));
}

/* The race against shrink and disable. */
enum { RACE_SHRINK, RACE_DISABLE };
static int race;
static _Atomic int phase; /* 0: running, 1: shrink/disable has returned */
static _Atomic int bus_after, bus_below, late_ok, threads_hit;
#define KEEP 4

static void *access_thread(void *arg)
{
	uint64_t t = (uintptr_t)arg, seed = t * 7919 + 1;
	long post = 0;
	bool hit = false;

	pthread_barrier_wait(&start);
	/* until the call has returned, and then 300 accesses more */
	for (long i = 0; post < 300; i++) {
		int after = atomic_load(&phase);
		uint64_t u, off;
		struct bus_event ev;
		uint8_t v = (uint8_t)i;
		bool bus;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		u = (seed >> 33) % UNITS;
		/* a byte of this thread's own: no two threads race on one */
		off = u * A + ((seed >> 13) % (A / THREADS)) * THREADS + t;
		bus = access_bus(map + off, i & 1, &v, &ev);
		if (bus && (ev.code != BUS_ADRERR || ev.addr != map + off))
			atomic_fetch_add(&bus_below, 1000); /* wrong siginfo */
		if (bus)
			hit = true;
		if (race == RACE_SHRINK && u < KEEP && bus)
			atomic_fetch_add(&bus_below, 1);
		if (after && (race == RACE_DISABLE || u >= KEEP) && !bus)
			atomic_fetch_add(&late_ok, 1);
		if (after && bus)
			atomic_fetch_add(&bus_after, 1);
		post += after;
	}
	if (hit)
		atomic_fetch_add(&threads_hit, 1);
	return NULL;
}

static void run_race(int which)
{
	struct udax_devdax_opts o = {.align = A, .capacity = SIZE, .flags = UDAX_DEVDAX_CREATE};
	struct udax_devdax *dd;
	pthread_t th[THREADS];

	race = which;
	phase = 0;
	bus_after = bus_below = late_ok = threads_hit = 0;
	CHECK_OK(udax_devdax_open(tmp_path(which == RACE_SHRINK ? "shrink" : "disable"), &o, &dd));
	CHECK_OK(udax_devdax_mmap(dd, NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0,
				  (void **)&map));
	pthread_barrier_init(&start, NULL, THREADS + 1);
	for (uintptr_t t = 0; t < THREADS; t++)
		CHECK(pthread_create(&th[t], NULL, access_thread, (void *)t) == 0);
	pthread_barrier_wait(&start);
	for (volatile int spin = 0; spin < 200000; spin++)
		;
	if (which == RACE_SHRINK)
		CHECK_OK(udax_devdax_resize(dd, KEEP * A));
	else
		CHECK_OK(udax_devdax_disable(dd));
	atomic_store(&phase, 1);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&start);
	printf("%s: %d SIGBUS after the call, %d threads saw SIGBUS\n",
	       which == RACE_SHRINK ? "shrink" : "disable", bus_after, threads_hit);
	CHECK_EQ(bus_below, 0);
	CHECK_EQ(late_ok, 0);
	CHECK_EQ(threads_hit, THREADS);
	CHECK_OK(udax_devdax_munmap(map, SIZE));
	CHECK_OK(udax_devdax_close(dd));
}

int main(void)
{
	test_watchdog(60);
	bus_catch_install();
	check_concurrent_faults();
	run_race(RACE_SHRINK);
	run_race(RACE_DISABLE);
	return 0;
}
