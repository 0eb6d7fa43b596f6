// SPDX-License-Identifier: MIT
#include <sys/mman.h>

#include "testlib.h"
#include "dax_test.h"

#define TEST_NR_WAITERS 256

struct dax_arena *test_arena(uint32_t nr_nodes, bool shared)
{
	size_t size = dax_arena_size(nr_nodes, TEST_NR_WAITERS);
	struct dax_arena *a;
	void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);

	CHECK(mem != MAP_FAILED);
	CHECK_OK(dax_arena_format(mem, size, TEST_NR_WAITERS, &a));
	CHECK_EQ(a->nr_nodes, nr_nodes);
	return a;
}

uint32_t test_queued_waiters(struct dax_arena *a)
{
	uint32_t nr = 0;

	for (uint32_t i = 0; i < DAX_WAIT_TABLE_SIZE; i++)
		nr += atomic_load(&a->wait_table[i].nr_waiters);
	return nr;
}

uint64_t test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void test_sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

bool test_wait_queued(struct dax_arena *a, uint32_t nr, unsigned ms)
{
	uint64_t end = test_now_ms() + ms;

	while (test_queued_waiters(a) != nr) {
		if (test_now_ms() > end)
			return false;
		test_sleep_ms(1);
	}
	return true;
}

bool test_index_is_empty(struct dax_arena *a, struct dax_mapping *m)
{
	uint64_t index = 0;

	return dax_index_find(a, m, &index, DAX_INDEX_LIMIT - 1, 0) == 0 &&
	       atomic_load(&m->root) == 0 && atomic_load(&m->nr_nodes) == 0 &&
	       dax_mapping_nrpages(m) == 0;
}

bool test_under_tsan(void)
{
#if defined(__SANITIZE_THREAD__)
	return true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
	return true;
#else
	return false;
#endif
#else
	return false;
#endif
}
