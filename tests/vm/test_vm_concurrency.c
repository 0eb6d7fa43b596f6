// SPDX-License-Identifier: MIT
/*
 * Concurrent faults from several threads on the same hole (PMD and PTE
 * paths, writers racing readers of the zero window) and on the same mapped
 * extent: one allocation per unit, every store visible, entries as expected.
 */
#include <pthread.h>
#include <sys/mman.h>

#include "fake_fs.h"
#include "testlib.h"

#define NR_THREADS 4

static bool under_tsan(void);

struct race {
	struct fake_fs *fs;
	char *p;
	pthread_barrier_t start;
	int id;
};

struct worker {
	struct race *race;
	int id;
};

/*
 * Even threads store their id into "their" bytes of page 0 and page id; odd
 * ones read a writer's byte (atomically: the race on the data is intended).
 */
static void *hole_worker(void *arg)
{
	struct worker *w = arg;
	char *p = w->race->p;

	pthread_barrier_wait(&w->race->start);
	if (w->id % 2 == 0) {
		__atomic_store_n(p + w->id, (char)('a' + w->id), __ATOMIC_RELAXED);
		p[(uint64_t)w->id * DAX_PAGE_SIZE + 1] = (char)('A' + w->id);
	} else {
		char c = __atomic_load_n(p + w->id - 1, __ATOMIC_RELAXED);

		CHECK(c == 0 || c == 'a' + w->id - 1);
	}
	return NULL;
}

static void run_threads(struct race *r, void *(*fn)(void *))
{
	pthread_t t[NR_THREADS];
	struct worker w[NR_THREADS];

	pthread_barrier_init(&r->start, NULL, NR_THREADS);
	for (int i = 0; i < NR_THREADS; i++) {
		w[i] = (struct worker){.race = r, .id = i};
		CHECK_EQ(pthread_create(&t[i], NULL, fn, &w[i]), 0);
	}
	for (int i = 0; i < NR_THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&r->start);
}

static char *free_va(uint64_t len, uint64_t skew)
{
	char *p = mmap(NULL, len + 4 * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED);
	munmap(p, len + 4 * MiB);
	return (char *)(((uintptr_t)p + DAX_PMD_SIZE - 1) & ~(DAX_PMD_SIZE - 1)) + skew;
}

static void hole_round(bool pmd)
{
	struct race r = {.fs = fake_new(16 * MiB, 4 * MiB)};
	void *at = pmd ? NULL : free_va(4 * MiB, DAX_PAGE_SIZE);
	dax_entry_t e;

	if (!pmd)
		r.fs->alloc_align = DAX_PAGE_SIZE;
	CHECK_OK(vm_mmap(&r.fs->file, at, 4 * MiB, PROT_READ | PROT_WRITE,
			 MAP_SHARED | (at ? MAP_FIXED : 0), 0, (void **)&r.p));
	run_threads(&r, hole_worker);
	for (int i = 0; i < NR_THREADS; i += 2) {
		CHECK_EQ(r.p[i], 'a' + i);
		CHECK_EQ(r.p[(uint64_t)i * DAX_PAGE_SIZE + 1], 'A' + i);
	}
	e = fake_entry(r.fs, 0);
	CHECK_EQ(e & (DAX_PMD | DAX_ZERO | DAX_EMPTY | DAX_LOCKED), pmd ? DAX_PMD : 0);
	/* PMD: one 2 MiB allocation; PTE: pages 0 and 2 (the writers' pages). */
	CHECK_EQ(atomic_load(&r.fs->allocs), pmd ? 1 : 2);
	CHECK_EQ(atomic_load(&r.fs->begins), atomic_load(&r.fs->ends));
	CHECK_OK(vm_munmap(r.p, 4 * MiB));
	fake_free(r.fs);
}

/*
 * One hole seen by an aligned mapping (zero PMD) and a misaligned one (zero
 * PTEs, downgrading the PMD): writers in each, readers in each.
 */
static char *mixed[2];

static void *mixed_worker(void *arg)
{
	struct worker *w = arg;
	char *p = mixed[w->id % 2];
	uint64_t page = (uint64_t)w->id * 3;

	pthread_barrier_wait(&w->race->start);
	if (w->id < 2)
		__atomic_store_n(p + page * DAX_PAGE_SIZE, (char)('m' + w->id), __ATOMIC_RELAXED);
	else
		CHECK_EQ(__atomic_load_n(p + page * DAX_PAGE_SIZE + 1, __ATOMIC_RELAXED), 0);
	return NULL;
}

static void mixed_round(void)
{
	struct race r = {.fs = fake_new(16 * MiB, 4 * MiB)};

	r.fs->alloc_align = DAX_PAGE_SIZE;
	CHECK_OK(vm_mmap(&r.fs->file, NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, 0,
			 (void **)&mixed[0]));
	CHECK_OK(vm_mmap(&r.fs->file, free_va(4 * MiB, DAX_PAGE_SIZE), 4 * MiB,
			 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, 0, (void **)&mixed[1]));
	run_threads(&r, mixed_worker);
	for (int m = 0; m < 2; m++) {
		CHECK_EQ(mixed[m][0], 'm');
		CHECK_EQ(mixed[m][3 * DAX_PAGE_SIZE], 'n');
	}
	CHECK_EQ(atomic_load(&r.fs->begins), atomic_load(&r.fs->ends));
	CHECK_OK(vm_munmap(mixed[0], 4 * MiB));
	CHECK_OK(vm_munmap(mixed[1], 4 * MiB));
	fake_free(r.fs);
}

/*
 * Registry churn: two threads map, touch and unmap the file over and over
 * while two others fill holes through a lasting mapping, so the reverse map
 * walks slots that are being created and removed.
 */
static void *churn_worker(void *arg)
{
	struct worker *w = arg;
	struct fake_fs *fs = w->race->fs;
	int rounds = under_tsan() ? 5 : 40;
	char *p;

	pthread_barrier_wait(&w->race->start);
	for (int i = 0; i < rounds; i++) {
		uint64_t page = (uint64_t)(i * NR_THREADS + w->id) % 1024;

		if (w->id < 2) {
			CHECK_OK(vm_mmap(&fs->file, NULL, 4 * MiB, PROT_READ, MAP_SHARED, 0,
					 (void **)&p));
			(void)__atomic_load_n(p + page * DAX_PAGE_SIZE, __ATOMIC_RELAXED);
			CHECK_OK(vm_munmap(p, 4 * MiB));
		} else {
			__atomic_store_n(w->race->p + page * DAX_PAGE_SIZE + w->id, (char)(i + 1),
					 __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

static void churn_round(void)
{
	struct race r = {.fs = fake_new(16 * MiB, 4 * MiB)};
	int rounds = under_tsan() ? 5 : 40;

	r.fs->alloc_align = DAX_PAGE_SIZE;
	CHECK_OK(vm_mmap(&r.fs->file, free_va(4 * MiB, DAX_PAGE_SIZE), 4 * MiB,
			 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, 0, (void **)&r.p));
	run_threads(&r, churn_worker);
	for (int id = 2; id < NR_THREADS; id++)
		for (int i = 0; i < rounds; i++) {
			uint64_t page = (uint64_t)(i * NR_THREADS + id) % 1024;

			CHECK(r.p[page * DAX_PAGE_SIZE + id] != 0);
		}
	CHECK_OK(vm_munmap(r.p, 4 * MiB));
	fake_free(r.fs);
}

/* Every thread reads the whole mapped extent. */
static void *extent_worker(void *arg)
{
	struct worker *w = arg;
	const char *p = w->race->p;

	pthread_barrier_wait(&w->race->start);
	for (uint64_t off = (uint64_t)w->id * DAX_PAGE_SIZE; off < 8 * MiB; off += DAX_PAGE_SIZE)
		CHECK_EQ(p[off], (char)(off / DAX_PAGE_SIZE));
	return NULL;
}

static void extent_round(bool pmd)
{
	struct race r = {.fs = fake_new(16 * MiB, 8 * MiB)};
	void *at = pmd ? NULL : free_va(8 * MiB, DAX_PAGE_SIZE);
	struct vm_fault_stats st;

	fake_add(r.fs, 0, 8 * MiB, 4 * MiB, IOMAP_MAPPED);
	for (uint64_t off = 0; off < 8 * MiB; off += DAX_PAGE_SIZE)
		r.fs->base[4 * MiB + off] = (char)(off / DAX_PAGE_SIZE);
	CHECK_OK(vm_mmap(&r.fs->file, at, 8 * MiB, PROT_READ, MAP_SHARED | (at ? MAP_FIXED : 0), 0,
			 (void **)&r.p));
	run_threads(&r, extent_worker);
	CHECK_OK(vm_fault_stats(r.p, &st));
	CHECK(st.faults[pmd ? VM_ORDER_PMD : VM_ORDER_PTE] >= 1);
	/* A reader overtaking the thread that maps ahead faults again, at most once per block. */
	CHECK(st.faults[pmd ? VM_ORDER_PMD : VM_ORDER_PTE] <= NR_THREADS * 4);
	CHECK_EQ(st.events[VM_ORDER_PTE][VM_FAULT_SIGBUS], 0);
	CHECK_OK(vm_munmap(r.p, 8 * MiB));
	fake_free(r.fs);
}

static bool under_tsan(void)
{
#if defined(__SANITIZE_THREAD__)
	return true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
	return true;
#endif
#endif
	return false;
}

int main(void)
{
	int rounds = under_tsan() ? 5 : 50;

	test_watchdog(30);
	for (int i = 0; i < rounds; i++) {
		hole_round(true);
		hole_round(false);
		extent_round(true);
		extent_round(false);
		mixed_round();
		churn_round();
	}
	printf("ok\n");
	return 0;
}
