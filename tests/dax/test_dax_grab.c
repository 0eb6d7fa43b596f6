// SPDX-License-Identifier: MIT
/*
 * grab_mapping_entry over every (existing entry, requested order) pair, plus
 * the single-threaded lock, replace, delete, scan and mark paths.
 */
#include "testlib.h"
#include "dax_test.h"

#define BASE 1024 /* a PMD-aligned index */
#define AT   (BASE + 17)

enum existing {
	NONE,
	PTE_EMPTY_HERE,
	PTE_ZERO_HERE,
	PTE_NORMAL_HERE,
	PTE_NORMAL_ELSEWHERE, /* another index of the same 2 MiB range */
	PMD_EMPTY,
	PMD_ZERO,
	PMD_NORMAL,
};

enum outcome {
	INSERTED,   /* a new locked empty entry of the requested order */
	GOT_IT,	    /* the existing entry, now locked */
	DOWNGRADED, /* the PMD entry was removed, a new PTE empty entry inserted */
	FALLBACK,   /* DAX_FALLBACK, nothing changed */
};

struct grab_case {
	enum existing existing;
	unsigned order;
	enum outcome outcome;
	bool unmapped; /* the unmap hook ran for the PMD range */
};

static const struct grab_case cases[] = {
	{NONE, 0, INSERTED, false},
	{NONE, DAX_PMD_ORDER, INSERTED, false},
	{PTE_EMPTY_HERE, 0, GOT_IT, false},
	{PTE_EMPTY_HERE, DAX_PMD_ORDER, FALLBACK, false},
	{PTE_ZERO_HERE, 0, GOT_IT, false},
	{PTE_ZERO_HERE, DAX_PMD_ORDER, FALLBACK, false},
	{PTE_NORMAL_HERE, 0, GOT_IT, false},
	{PTE_NORMAL_HERE, DAX_PMD_ORDER, FALLBACK, false},
	{PTE_NORMAL_ELSEWHERE, 0, INSERTED, false},
	{PTE_NORMAL_ELSEWHERE, DAX_PMD_ORDER, FALLBACK, false},
	{PMD_EMPTY, 0, DOWNGRADED, false},
	{PMD_EMPTY, DAX_PMD_ORDER, GOT_IT, false},
	{PMD_ZERO, 0, DOWNGRADED, true},
	{PMD_ZERO, DAX_PMD_ORDER, GOT_IT, false},
	{PMD_NORMAL, 0, GOT_IT, false},
	{PMD_NORMAL, DAX_PMD_ORDER, GOT_IT, false},
};

static const char *const existing_name[] = {
	"none",	     "PTE empty", "PTE zero",	"PTE normal", "PTE normal elsewhere",
	"PMD empty", "PMD zero",  "PMD normal",
};

struct unmap_record {
	uint64_t index, nr;
	int calls;
};

static void record_unmap(void *arg, uint64_t index, uint64_t nr)
{
	struct unmap_record *r = arg;

	r->index = index;
	r->nr = nr;
	r->calls++;
}

/* Puts the existing entry in place (unlocked, DIRTY); returns it, 0 for NONE. */
static dax_entry_t setup(struct dax_arena *a, struct dax_mapping *m, enum existing ex,
			 uint64_t *where)
{
	static const uint64_t flags[] = {
		[PTE_EMPTY_HERE] = DAX_EMPTY,
		[PTE_ZERO_HERE] = DAX_ZERO,
		[PTE_NORMAL_HERE] = 0,
		[PTE_NORMAL_ELSEWHERE] = 0,
		[PMD_EMPTY] = DAX_EMPTY,
		[PMD_ZERO] = DAX_ZERO,
		[PMD_NORMAL] = 0,
	};
	bool pmd = ex >= PMD_EMPTY;
	dax_entry_t e, filled;

	if (ex == NONE)
		return 0;
	*where = ex == PTE_NORMAL_ELSEWHERE ? BASE + 300 : pmd ? BASE : AT;
	CHECK_EQ(dax_grab_entry(a, m, *where, pmd ? DAX_PMD_ORDER : 0, NULL, &e), 0);
	CHECK_EQ(e, dax_make_entry(0, DAX_EMPTY | (pmd ? DAX_PMD : 0)));
	filled = dax_make_entry(flags[ex] ? 0 : 4242, flags[ex] | (pmd ? DAX_PMD : 0));
	dax_replace_entry(a, m, *where, e, filled, true);
	dax_set_mark(a, m, *where, DAX_DIRTY);
	dax_unlock_entry(a, m, *where, filled);
	return filled;
}

static void run_case(struct dax_arena *a, const struct grab_case *c)
{
	struct dax_mapping *m = dax_mapping_create(a);
	struct unmap_record rec = {0};
	struct dax_unmap_hook hook = {record_unmap, &rec};
	uint64_t where = 0, at = c->order ? BASE : AT, nrpages;
	dax_entry_t old, e;
	int ret;

	fprintf(stderr, "case: existing %s, request order %u\n", existing_name[c->existing],
		c->order);
	CHECK(m);
	old = setup(a, m, c->existing, &where);
	nrpages = dax_mapping_nrpages(m);
	ret = dax_grab_entry(a, m, AT, c->order, &hook, &e);
	CHECK_EQ(test_queued_waiters(a), 0);
	CHECK_EQ(rec.calls, c->unmapped);
	if (c->unmapped) {
		CHECK_EQ(rec.index, BASE);
		CHECK_EQ(rec.nr, DAX_PMD_NR);
	}
	switch (c->outcome) {
	case FALLBACK:
		CHECK_EQ(ret, DAX_FALLBACK);
		CHECK_EQ(e, 0);
		CHECK_EQ(dax_index_lookup(a, m, where, 0), old);
		CHECK_EQ(dax_mapping_nrpages(m), nrpages);
		break;
	case GOT_IT:
		CHECK_EQ(ret, 0);
		CHECK_EQ(e, old);
		CHECK_EQ(dax_index_lookup(a, m, AT, 0), old | DAX_LOCKED);
		CHECK(dax_test_mark(a, m, AT, DAX_DIRTY));
		CHECK_EQ(dax_mapping_nrpages(m), nrpages);
		break;
	case INSERTED:
	case DOWNGRADED:
		CHECK_EQ(ret, 0);
		CHECK_EQ(e, dax_make_entry(0, DAX_EMPTY | (c->order ? DAX_PMD : 0)));
		CHECK_EQ(dax_index_lookup(a, m, at, 0), e | DAX_LOCKED);
		CHECK(!dax_test_mark(a, m, at, DAX_DIRTY));
		CHECK_EQ(dax_mapping_nrpages(m),
			 (c->outcome == DOWNGRADED ? 0 : nrpages) + (1ull << c->order));
		if (c->outcome == DOWNGRADED)
			CHECK_EQ(dax_index_lookup(a, m, BASE + 400, 0), 0);
		else if (where)
			CHECK_EQ(dax_index_lookup(a, m, where, 0), old);
		break;
	}
	if (e)
		dax_unlock_entry(a, m, at, e);
	CHECK_EQ(dax_index_lookup(a, m, AT, 0) & DAX_LOCKED, 0);
	dax_delete_range(a, m, 0, ~0ull);
	CHECK(test_index_is_empty(a, m));
	dax_mapping_destroy(a, m);
}

/* A PTE request at an unaligned index of a PMD request is answered by the PMD entry. */
static void test_pmd_order_aligns(struct dax_arena *a)
{
	struct dax_mapping *m = dax_mapping_create(a);
	dax_entry_t e, pte;

	CHECK_EQ(dax_grab_entry(a, m, BASE + 100, DAX_PMD_ORDER, NULL, &e), 0);
	CHECK_EQ(dax_index_lookup(a, m, BASE, 0), e | DAX_LOCKED);
	CHECK_EQ(dax_mapping_nrpages(m), DAX_PMD_NR);
	dax_unlock_entry(a, m, BASE + 511, e);
	CHECK_EQ(dax_index_lookup(a, m, BASE, 0), e);
	/* dax_lock_entry_at on the range locks the PMD entry; none elsewhere. */
	CHECK_OK(dax_lock_entry_at(a, m, BASE + 7, &pte));
	CHECK_EQ(pte, e);
	CHECK_EQ(dax_index_lookup(a, m, BASE + 300, 0), e | DAX_LOCKED);
	dax_unlock_entry(a, m, BASE + 7, pte);
	CHECK_ERR(dax_lock_entry_at(a, m, BASE + 512, &pte), ENOENT);
	CHECK_ERR(dax_grab_entry(a, m, DAX_INDEX_LIMIT, 0, NULL, &pte), EINVAL);
	CHECK_EQ(pte, 0);
	dax_delete_range(a, m, 0, ~0ull);
	dax_mapping_destroy(a, m);
}

static void test_delete_entry(struct dax_arena *a)
{
	struct dax_mapping *m = dax_mapping_create(a);
	dax_entry_t e;

	CHECK_EQ(dax_grab_entry(a, m, 3, 0, NULL, &e), 0);
	dax_unlock_entry(a, m, 3, e);
	dax_set_mark(a, m, 3, DAX_TOWRITE);
	CHECK_EQ(dax_delete_entry(a, m, 3, true), 0); /* marked: only_clean keeps it */
	CHECK_EQ(dax_index_lookup(a, m, 3, 0), e);
	CHECK_EQ(dax_delete_entry(a, m, 3, false), 1);
	CHECK_EQ(dax_delete_entry(a, m, 3, false), 0);
	CHECK(test_index_is_empty(a, m));
	/* A replaced entry keeps its marks and is unlocked when asked. */
	CHECK_EQ(dax_grab_entry(a, m, 9, 0, NULL, &e), 0);
	dax_set_mark(a, m, 9, DAX_DIRTY);
	dax_replace_entry(a, m, 9, e, dax_make_entry(0, DAX_ZERO), false);
	CHECK_EQ(dax_index_lookup(a, m, 9, 0), dax_make_entry(0, DAX_ZERO));
	CHECK(dax_test_mark(a, m, 9, DAX_DIRTY));
	CHECK_EQ(dax_delete_entry(a, m, 9, true), 0);
	dax_clear_mark(a, m, 9, DAX_DIRTY);
	CHECK_EQ(dax_delete_entry(a, m, 9, true), 1);
	CHECK(test_index_is_empty(a, m));
	dax_mapping_destroy(a, m);
}

struct scan_log {
	uint64_t index[16];
	int nr;
};

static enum dax_scan_action log_and_delete_odd(void *arg, uint64_t index, dax_entry_t e)
{
	struct scan_log *log = arg;

	(void)e;
	log->index[log->nr++] = index;
	return index & 1 ? DAX_SCAN_DELETE : DAX_SCAN_KEEP;
}

static void test_scan_and_writeback_marks(struct dax_arena *a)
{
	struct dax_mapping *m = dax_mapping_create(a);
	struct scan_log log = {.nr = 0};
	uint64_t index;
	dax_entry_t e;

	for (uint64_t i = 1; i <= 5; i++) {
		CHECK_EQ(dax_grab_entry(a, m, i, 0, NULL, &e), 0);
		dax_unlock_entry(a, m, i, e);
	}
	CHECK_EQ(dax_grab_entry(a, m, 512, DAX_PMD_ORDER, NULL, &e), 0);
	dax_unlock_entry(a, m, 512, e);
	dax_scan_range(a, m, 2, 600, log_and_delete_odd, &log);
	CHECK_EQ(log.nr, 5);
	CHECK_EQ(log.index[0], 2);
	CHECK_EQ(log.index[3], 5);
	CHECK_EQ(log.index[4], 512);
	CHECK_EQ(dax_mapping_nrpages(m), 1 + 2 + 512);
	/* tag_pages_for_writeback and the TOWRITE walk. */
	dax_set_mark(a, m, 2, DAX_DIRTY);
	dax_set_mark(a, m, 700, DAX_DIRTY);
	dax_tag_towrite(a, m, 0, ~0ull);
	index = 0;
	CHECK_EQ(dax_find_marked(a, m, &index, ~0ull, DAX_TOWRITE), dax_make_entry(0, DAX_EMPTY));
	CHECK_EQ(index, 2);
	index = 3;
	CHECK_EQ(dax_find_marked(a, m, &index, ~0ull, DAX_TOWRITE), e);
	CHECK_EQ(index, 512);
	dax_clear_mark(a, m, 512, DAX_TOWRITE);
	index = 3;
	CHECK_EQ(dax_find_marked(a, m, &index, ~0ull, DAX_TOWRITE), 0);
	CHECK(dax_test_mark(a, m, 512, DAX_DIRTY));
	dax_delete_range(a, m, 0, ~0ull);
	CHECK(test_index_is_empty(a, m));
	dax_mapping_destroy(a, m);
}

int main(void)
{
	struct dax_arena *a = test_arena(1024, false);

	test_watchdog(20);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(a, &cases[i]);
	test_pmd_order_aligns(a);
	test_delete_entry(a);
	test_scan_and_writeback_marks(a);
	CHECK_EQ(dax_arena_nodes_in_use(a), 0);
	return 0;
}
