// SPDX-License-Identifier: MIT
/*
 * Stress: threads (test_dax_stress threads) or two processes of two threads
 * sharing one MAP_SHARED arena (test_dax_stress procs) grab, fill, mark,
 * unlock, delete, downgrade and scan entries of both orders over three PMD
 * ranges. Every lock holder claims the indices of its entry in a shadow array
 * and fails if another holder has them; scans check that an entry they see
 * unlocked has no holder. Every run must end (no lost wake-up), after which
 * the index must be empty again with every node and waiter record returned.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"
#include "dax_test.h"

#define RANGES	 3
#define NR_INDEX (RANGES * DAX_PMD_NR)
#define THREADS	 4

struct shared {
	uint32_t mapping;
	atomic_int holders[NR_INDEX];
	atomic_ulong fallbacks, downgrades_seen, deletes;
};

static struct dax_arena *arena;
static struct shared *sh;
static unsigned long iterations;

static uint64_t next_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static struct dax_mapping *mapping(void)
{
	return dax_mapping_at(arena, sh->mapping);
}

/* Marks [start, start + nr) held by us; fails if anybody else holds any of it. */
static void claim(uint64_t index, dax_entry_t e, int delta)
{
	uint64_t start = dax_entry_start(index, e), nr = 1ull << dax_entry_order(e);

	for (uint64_t i = start; i < start + nr; i++) {
		int was = atomic_fetch_add(&sh->holders[i], delta);

		if (was != (delta > 0 ? 0 : 1))
			test_fail(__FILE__, __LINE__, "index %llu: %d holders",
				  (unsigned long long)i, was + (delta > 0));
	}
}

/* Holds the locked entry @e found for @index a moment, fills it, unlocks it. */
static void hold_and_unlock(uint64_t index, dax_entry_t e, uint64_t *rnd)
{
	struct dax_mapping *m = mapping();
	uint64_t r = next_rand(rnd);

	CHECK(!dax_is_locked(e));
	claim(index, e, 1);
	if (dax_is_empty_entry(e) && r % 3) {
		dax_entry_t filled =
			(e & DAX_PMD) | dax_make_entry(r >> 40, r % 3 == 1 ? DAX_ZERO : 0);

		dax_replace_entry(arena, m, index, e, filled, true);
		e = filled;
	}
	if (r & 8)
		dax_set_mark(arena, m, index, DAX_DIRTY);
	if (r & 16)
		sched_yield();
	claim(index, e, -1);
	if (r & 32 && !dax_is_pmd_entry(e)) {
		/* Release by replacement (wakes all) instead of unlock. */
		dax_replace_entry(arena, m, index, e, e ^ (1ull << DAX_PFN_SHIFT), false);
		return;
	}
	dax_unlock_entry(arena, m, index, e);
}

static enum dax_scan_action check_unheld(void *arg, uint64_t index, dax_entry_t e)
{
	uint64_t *rnd = arg;

	CHECK_EQ(atomic_load(&sh->holders[index]), 0);
	CHECK(!dax_is_locked(e));
	return next_rand(rnd) % 4 ? DAX_SCAN_KEEP : DAX_SCAN_DELETE;
}

enum op {
	OP_GRAB_PTE,
	OP_GRAB_PMD,
	OP_LOCK,
	OP_DELETE,
	OP_SCAN,
	OP_DELETE_RANGE,
	OP_WRITEBACK,
};

/* The mix: 6/16 PTE grabs, 4/16 PMD grabs, then one or two of each other op. */
static const enum op op_of[16] = {
	OP_GRAB_PTE, OP_GRAB_PTE, OP_GRAB_PTE,	   OP_GRAB_PTE,	 OP_GRAB_PTE, OP_GRAB_PTE,
	OP_GRAB_PMD, OP_GRAB_PMD, OP_GRAB_PMD,	   OP_GRAB_PMD,	 OP_LOCK,     OP_DELETE,
	OP_DELETE,   OP_SCAN,	  OP_DELETE_RANGE, OP_WRITEBACK,
};

static void one_op(uint64_t *rnd)
{
	struct dax_mapping *m = mapping();
	uint64_t r = next_rand(rnd), index = (r >> 8) % NR_INDEX;
	uint64_t range = index & ~DAX_PMD_COLOUR;
	dax_entry_t e;
	int ret;

	if (r & (1 << 7)) /* half the time, crowd a few indices per range */
		index = range + index % 8;
	switch (op_of[r % 16]) {
	case OP_GRAB_PTE:
		CHECK_OK(ret = dax_grab_entry(arena, m, index, 0, NULL, &e));
		CHECK(e);
		hold_and_unlock(index, e, rnd);
		break;
	case OP_GRAB_PMD:
		CHECK_OK(ret = dax_grab_entry(arena, m, index, DAX_PMD_ORDER, NULL, &e));
		if (ret == DAX_FALLBACK) {
			atomic_fetch_add(&sh->fallbacks, 1);
			break;
		}
		CHECK(dax_is_pmd_entry(e));
		hold_and_unlock(range, e, rnd);
		break;
	case OP_LOCK:
		if (dax_lock_entry_at(arena, m, index, &e) == 0)
			hold_and_unlock(index, e, rnd);
		break;
	case OP_DELETE:
		atomic_fetch_add(&sh->deletes,
				 (unsigned long)dax_delete_entry(arena, m, index, r & 1));
		break;
	case OP_SCAN:
		dax_scan_range(arena, m, range, range + DAX_PMD_COLOUR, check_unheld, rnd);
		break;
	case OP_DELETE_RANGE:
		dax_delete_range(arena, m, range, range + DAX_PMD_COLOUR);
		break;
	case OP_WRITEBACK:
		dax_tag_towrite(arena, m, 0, NR_INDEX - 1);
		index = range;
		if (dax_find_marked(arena, m, &index, range + DAX_PMD_COLOUR, DAX_TOWRITE)) {
			dax_clear_mark(arena, m, index, DAX_TOWRITE);
			dax_clear_mark(arena, m, index, DAX_DIRTY);
		}
		break;
	}
}

static void *worker(void *arg)
{
	uint64_t rnd = (uint64_t)(uintptr_t)arg;

	for (unsigned long i = 0; i < iterations; i++)
		one_op(&rnd);
	return NULL;
}

static void run_threads(int nr, uint64_t seed)
{
	pthread_t t[THREADS];

	for (int i = 0; i < nr; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, worker,
					(void *)(uintptr_t)(seed + (uint64_t)i)),
			 0);
	for (int i = 0; i < nr; i++)
		pthread_join(t[i], NULL);
}

/*
 * Two processes of THREADS / 2 threads each. ThreadSanitizer cannot see
 * happens-before edges made by another process, so under it each process runs
 * one thread: the shared arena is still exercised, with no false reports.
 */
static void run_processes(uint64_t seed)
{
	int threads = test_under_tsan() ? 1 : THREADS / 2, status;
	pid_t pid[2], done;

	for (int i = 0; i < 2; i++) {
		pid[i] = fork();
		CHECK(pid[i] >= 0);
		if (pid[i] == 0) {
			run_threads(threads, seed + 100 * (uint64_t)i);
			_exit(0);
		}
	}
	for (int i = 0; i < 2; i++) {
		done = wait(&status);
		CHECK(done == pid[0] || done == pid[1]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			/* A dead process may hold locks: stop the other one too. */
			kill(done == pid[0] ? pid[1] : pid[0], SIGKILL);
			test_fail(__FILE__, __LINE__, "process %d failed (status %#x)", (int)done,
				  status);
		}
	}
}

int main(int argc, char **argv)
{
	bool procs = argc > 1 && !strcmp(argv[1], "procs");
	const char *env = getenv("UDAX_STRESS_ITERATIONS");
	uint64_t seed;
	void *mem;

	test_watchdog(28);
	test_seed((uint64_t)time(NULL));
	seed = test_rand();
	iterations = env ? strtoul(env, NULL, 0) : test_under_tsan() ? 20000 : 100000;
	arena = test_arena(4096, true);
	mem = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(mem != MAP_FAILED);
	sh = mem;
	sh->mapping = dax_mapping_nr(arena, dax_mapping_create(arena));
	if (procs)
		run_processes(seed);
	else
		run_threads(THREADS, seed);
	printf("%lu ops per thread, %lu PMD fallbacks, %lu deletes\n", iterations,
	       atomic_load(&sh->fallbacks), atomic_load(&sh->deletes));
	CHECK_EQ(test_queued_waiters(arena), 0);
	dax_delete_range(arena, mapping(), 0, ~0ull);
	CHECK(test_index_is_empty(arena, mapping()));
	CHECK_EQ(dax_arena_nodes_in_use(arena), 1);
	for (uint32_t i = 0; i < arena->nr_waiters; i++) {
		uint32_t nr;

		CHECK_OK(dax_waiter_alloc(arena, &nr));
	}
	return 0;
}
