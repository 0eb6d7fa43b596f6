/* SPDX-License-Identifier: MIT */
/* Helpers shared by the dax index tests. */
#ifndef UDAX_TESTS_DAX_TEST_H
#define UDAX_TESTS_DAX_TEST_H

#include <stdbool.h>
#include <time.h>

#include "dax/arena.h"
#include "dax/entry_lock.h"
#include "dax/index.h"

/* A fresh arena of @nr_nodes nodes in private (or, if @shared, MAP_SHARED) memory. */
struct dax_arena *test_arena(uint32_t nr_nodes, bool shared);

/* Waiters queued in the whole wait table. */
uint32_t test_queued_waiters(struct dax_arena *a);

/* Polls until test_queued_waiters() == @nr; false after @ms milliseconds. */
bool test_wait_queued(struct dax_arena *a, uint32_t nr, unsigned ms);

/* Monotonic milliseconds. */
uint64_t test_now_ms(void);

/* Sleeps @ms milliseconds. */
void test_sleep_ms(unsigned ms);

/* True when @m holds no entry, no node and no page. */
bool test_index_is_empty(struct dax_arena *a, struct dax_mapping *m);

/* True when running under ThreadSanitizer (the tests then do less work). */
bool test_under_tsan(void);

#endif
