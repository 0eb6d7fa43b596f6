// SPDX-License-Identifier: MIT
/*
 * Entry lock costs: uncontended grab+unlock latency, and grab+unlock
 * throughput with 1 and 2 threads (one mapping shared, or one mapping each).
 * Baseline: an uncontended pthread mutex lock+unlock pair.
 * Usage: bench_dax_lock [seconds per throughput run, default 1]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "dax/arena.h"
#include "dax/entry_lock.h"

#define LATENCY_OPS 2000000

static struct dax_arena *arena;
static double seconds = 1.0;
static atomic_bool stop;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void grab_unlock(struct dax_mapping *m, uint64_t index)
{
	dax_entry_t e;

	if (dax_grab_entry(arena, m, index, 0, NULL, &e) != 0)
		abort();
	dax_unlock_entry(arena, m, index, e);
}

static double mutex_ns(void)
{
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	double t = now();

	for (int i = 0; i < LATENCY_OPS; i++) {
		pthread_mutex_lock(&mu);
		pthread_mutex_unlock(&mu);
	}
	return (now() - t) * 1e9 / LATENCY_OPS;
}

static double grab_unlock_ns(void)
{
	struct dax_mapping *m = dax_mapping_create(arena);
	double t;

	grab_unlock(m, 42); /* the entry exists from here on */
	t = now();
	for (int i = 0; i < LATENCY_OPS; i++)
		grab_unlock(m, 42);
	t = (now() - t) * 1e9 / LATENCY_OPS;
	dax_delete_range(arena, m, 0, ~0ull);
	dax_mapping_destroy(arena, m);
	return t;
}

static double insert_delete_ns(void)
{
	struct dax_mapping *m = dax_mapping_create(arena);
	dax_entry_t e;
	double t = now();

	for (int i = 0; i < LATENCY_OPS; i++) {
		if (dax_grab_entry(arena, m, 42, 0, NULL, &e) != 0)
			abort();
		dax_unlock_entry(arena, m, 42, e);
		dax_delete_entry(arena, m, 42, false);
	}
	t = (now() - t) * 1e9 / LATENCY_OPS;
	dax_mapping_destroy(arena, m);
	return t;
}

struct worker {
	_Alignas(64) pthread_t thread; /* a cache line each: no false sharing of ops */
	struct dax_mapping *m;
	uint64_t index;
	unsigned long ops;
};

static void *worker(void *arg)
{
	struct worker *w = arg;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		grab_unlock(w->m, w->index);
		w->ops++;
	}
	return NULL;
}

/* grab+unlock operations per second over @nr threads. */
static double throughput(int nr, bool shared_mapping)
{
	struct worker w[2];
	struct dax_mapping *m = dax_mapping_create(arena);
	unsigned long ops = 0;
	struct timespec ts = {.tv_sec = (time_t)seconds,
			      .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9)};
	double t;

	atomic_store(&stop, false);
	for (int i = 0; i < nr; i++) {
		w[i] = (struct worker){.m = shared_mapping || i == 0 ? m
								     : dax_mapping_create(arena),
				       .index = (uint64_t)i * 1000};
	}
	t = now();
	for (int i = 0; i < nr; i++)
		pthread_create(&w[i].thread, NULL, worker, &w[i]);
	nanosleep(&ts, NULL);
	atomic_store(&stop, true);
	for (int i = 0; i < nr; i++) {
		pthread_join(w[i].thread, NULL);
		ops += w[i].ops;
	}
	t = now() - t;
	for (int i = 0; i < nr; i++) {
		if (w[i].m != m || i == 0) {
			dax_delete_range(arena, w[i].m, 0, ~0ull);
			dax_mapping_destroy(arena, w[i].m);
		}
	}
	return (double)ops / t;
}

int main(int argc, char **argv)
{
	size_t size = dax_arena_size(4096, 64);
	void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	double base, one, two;

	if (argc > 1)
		seconds = atof(argv[1]);
	if (mem == MAP_FAILED || dax_arena_format(mem, size, 64, &arena))
		return 1;
	base = mutex_ns();
	printf("%-44s %12s %10s\n", "latency (uncontended, one thread)", "ns/op", "x mutex");
	printf("%-44s %12.1f %10.2f\n", "baseline: pthread_mutex lock+unlock", base, 1.0);
	one = grab_unlock_ns();
	printf("%-44s %12.1f %10.2f\n", "grab+unlock of an existing PTE entry", one, one / base);
	one = insert_delete_ns();
	printf("%-44s %12.1f %10.2f\n", "grab(insert)+unlock+delete of a PTE entry", one,
	       one / base);
	printf("\n%-44s %12s %10s\n", "throughput (grab+unlock, own index)", "Mops/s",
	       "x 1 thread");
	one = throughput(1, true);
	printf("%-44s %12.2f %10.2f\n", "baseline: 1 thread", one / 1e6, 1.0);
	two = throughput(2, true);
	printf("%-44s %12.2f %10.2f\n", "2 threads, one mapping", two / 1e6, two / one);
	two = throughput(2, false);
	printf("%-44s %12.2f %10.2f\n", "2 threads, a mapping each", two / 1e6, two / one);
	return 0;
}
