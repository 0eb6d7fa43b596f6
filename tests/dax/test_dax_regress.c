// SPDX-License-Identifier: MIT
/*
 * Regression tests for the entry-locking bugs of the kernel's history
 * (docs/dax-index.md, "Regression tests"). Each scenario returns PASS, or HANG
 * / WRONG when it caught the bug. Usage:
 *   test_dax_regress [--expect-bug] [scenario...]
 * Without --expect-bug every scenario must pass; with it (against a library
 * built with the matching UDAX_BROKEN_<NAME>) every scenario must catch its bug.
 * Threads a caught hang leaves asleep die with the process.
 */
#include <pthread.h>
#include <unistd.h>
#include <stdatomic.h>

#include "testlib.h"
#include "dax_test.h"

#define HANG_MS 3000 /* a wake-up not seen in 3 s is lost */

enum verdict {
	PASS,
	HANG,
	WRONG,
};

static struct dax_arena *arena;
static struct dax_mapping *mapping;

struct op {
	pthread_t thread;
	uint64_t index;
	unsigned order;
	int ret;
	dax_entry_t entry;
	atomic_bool done;
};

static void start(struct op *op, void *(*fn)(void *))
{
	CHECK_EQ(pthread_create(&op->thread, NULL, fn, op), 0);
	pthread_detach(op->thread);
}

/* True when every op finished within @ms. */
static bool all_done(struct op *ops, int nr, unsigned ms)
{
	uint64_t end = test_now_ms() + ms;

	for (int i = 0; i < nr; i++) {
		while (!atomic_load(&ops[i].done)) {
			if (test_now_ms() > end)
				return false;
			test_sleep_ms(1);
		}
	}
	return true;
}

static void *grab_op(void *arg)
{
	struct op *op = arg;

	op->ret = dax_grab_entry(arena, mapping, op->index, op->order, NULL, &op->entry);
	atomic_store(&op->done, true);
	return NULL;
}

static void *delete_op(void *arg)
{
	struct op *op = arg;

	op->ret = dax_delete_entry(arena, mapping, op->index, false);
	atomic_store(&op->done, true);
	return NULL;
}

static dax_entry_t grab_now(uint64_t index, unsigned order)
{
	dax_entry_t e;

	CHECK_EQ(dax_grab_entry(arena, mapping, index, order, NULL, &e), 0);
	return e;
}

/*
 * Inventory row 1, seed 004 (23c84eb78375): a PMD fault over a locked PTE entry
 * slept on the PMD index's key; the PTE unlock woke the PTE's key. The PMD
 * request must return FALLBACK at once, without sleeping.
 */
static enum verdict pmd_wait_on_pte(void)
{
	dax_entry_t pte = grab_now(512 + 5, 0);
	struct op pmd = {.index = 512, .order = DAX_PMD_ORDER};

	start(&pmd, grab_op);
	if (all_done(&pmd, 1, HANG_MS)) {
		dax_unlock_entry(arena, mapping, 512 + 5, pte);
		return pmd.ret == DAX_FALLBACK && test_queued_waiters(arena) == 0 ? PASS : WRONG;
	}
	fprintf(stderr, "PMD request sleeps on a locked PTE entry\n");
	dax_unlock_entry(arena, mapping, 512 + 5, pte);
	return all_done(&pmd, 1, HANG_MS) ? WRONG : HANG;
}

/*
 * Row 2 (2021, WAKE_ALL after invalidation): three invalidators queue on a
 * locked entry; the first removes it. If it wakes one, the second finds nothing,
 * owes no wake, and the third sleeps forever.
 */
static enum verdict delete_wakes_all(void)
{
	dax_entry_t e = grab_now(7, 0);
	struct op del[3];
	int removed = 0;

	for (int i = 0; i < 3; i++) {
		del[i] = (struct op){.index = 7};
		start(&del[i], delete_op);
	}
	CHECK(test_wait_queued(arena, 3, HANG_MS));
	dax_unlock_entry(arena, mapping, 7, e);
	if (!all_done(del, 3, HANG_MS))
		return HANG;
	for (int i = 0; i < 3; i++)
		removed += del[i].ret;
	return removed == 1 && test_index_is_empty(arena, mapping) ? PASS : WRONG;
}

/* A PMD fault that gives up on the entry it got (a hole it cannot map huge). */
static void *pmd_fault_op(void *arg)
{
	struct op *op = arg;

	op->ret = dax_grab_entry(arena, mapping, op->index, DAX_PMD_ORDER, NULL, &op->entry);
	if (op->ret == 0)
		dax_unlock_entry(arena, mapping, op->index, op->entry);
	atomic_store(&op->done, true);
	return NULL;
}

/*
 * Row 3 (2016, "fix deadlock with DAX 4k holes"): several faults wait on the
 * locked empty PMD entry of a hole. When that entry changes identity - the PMD
 * fault gives up and a PTE fault downgrades it, or its holder replaces it - the
 * waiters must all be woken: the one woken first takes a different lock (its own
 * PTE entry) and never passes a single wake on. Three PTE faults (3, 4, 5) and a
 * PMD fault wait; the PMD fault may get the entry first (while a PTE fault
 * allocates with the mapping lock dropped), then releases it.
 */
static enum verdict hole_waiters(bool replace)
{
	dax_entry_t hole = grab_now(0, DAX_PMD_ORDER);
	struct op f[4] = {
		{.index = 3},
		{.index = 4},
		{.index = 5},
		{.index = 0},
	};

	for (int i = 0; i < 4; i++) {
		start(&f[i], i < 3 ? grab_op : pmd_fault_op);
		CHECK(test_wait_queued(arena, (uint32_t)i + 1, HANG_MS));
	}
	if (replace)
		dax_replace_entry(arena, mapping, 0, hole, dax_make_entry(0, DAX_PMD | DAX_ZERO),
				  false);
	else
		dax_unlock_entry(arena, mapping, 0, hole);
	if (!all_done(f, 4, HANG_MS))
		return HANG;
	for (int i = 0; i < 3; i++) {
		if (f[i].ret != 0 || f[i].entry != dax_make_entry(0, DAX_EMPTY))
			return WRONG;
		dax_unlock_entry(arena, mapping, f[i].index, f[i].entry);
	}
	if ((f[3].ret != 0 && f[3].ret != DAX_FALLBACK) || dax_mapping_nrpages(mapping) != 3)
		return WRONG;
	dax_delete_range(arena, mapping, 0, ~0ull);
	return PASS;
}

static enum verdict hole_downgrade(void)
{
	return hole_waiters(false);
}

static enum verdict hole_replace(void)
{
	return hole_waiters(true);
}

struct scan_op {
	struct op op;
	atomic_int seen[16];
};

static enum dax_scan_action note_and_delete(void *arg, uint64_t index, dax_entry_t e)
{
	struct scan_op *s = arg;

	(void)e;
	atomic_fetch_add(&s->seen[index], 1);
	return DAX_SCAN_DELETE;
}

static void *scan_op(void *arg)
{
	struct scan_op *s = arg;

	dax_scan_range(arena, mapping, 0, 15, note_and_delete, s);
	atomic_store(&s->op.done, true);
	return NULL;
}

/*
 * Row 11 (2025, xas_pause -> xas_reset; generic/068): a layout-breaking scan
 * that waited for a locked entry must examine that entry afterwards, or it is
 * left behind (a dangling entry, a missed busy page).
 */
static enum verdict scan_reexamines(void)
{
	static struct scan_op s;
	dax_entry_t e;

	for (uint64_t i = 0; i < 16; i++)
		dax_unlock_entry(arena, mapping, i, grab_now(i, 0));
	CHECK_OK(dax_lock_entry_at(arena, mapping, 9, &e));
	start(&s.op, scan_op);
	CHECK(test_wait_queued(arena, 1, HANG_MS));
	dax_unlock_entry(arena, mapping, 9, e);
	if (!all_done(&s.op, 1, HANG_MS))
		return HANG;
	for (int i = 0; i < 16; i++) {
		if (atomic_load(&s.seen[i]) != 1) {
			fprintf(stderr, "entry %d examined %d times\n", i, atomic_load(&s.seen[i]));
			return WRONG;
		}
	}
	return test_index_is_empty(arena, mapping) ? PASS : WRONG;
}

static const struct scenario {
	const char *name;
	enum verdict (*run)(void);
} scenarios[] = {
	{"pmd_wait_on_pte", pmd_wait_on_pte}, {"delete_wakes_all", delete_wakes_all},
	{"hole_downgrade", hole_downgrade},   {"hole_replace", hole_replace},
	{"scan_reexamines", scan_reexamines},
};

#define NR_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

static const struct scenario *find_scenario(const char *name)
{
	for (size_t i = 0; i < NR_SCENARIOS; i++) {
		if (!strcmp(scenarios[i].name, name))
			return &scenarios[i];
	}
	test_fail(__FILE__, __LINE__, "no scenario %s", name);
}

/* Runs @s on a fresh arena; true when the verdict is the expected one. */
static bool run(const struct scenario *s, bool expect_bug)
{
	static const char *const names[] = {"pass", "hang", "wrong result"};
	enum verdict v;

	arena = test_arena(256, false);
	mapping = dax_mapping_create(arena);
	v = s->run();
	fprintf(stderr, "%s: %s (expected %s)\n", s->name, names[v],
		expect_bug ? "hang or wrong result" : "pass");
	return expect_bug ? v != PASS : v == PASS;
}

int main(int argc, char **argv)
{
	bool expect_bug = argc > 1 && !strcmp(argv[1], "--expect-bug");
	int first = expect_bug ? 2 : 1;
	bool ok = true;

	test_watchdog(25);
	if (argc > first) {
		for (int i = first; i < argc; i++)
			ok &= run(find_scenario(argv[i]), expect_bug);
	} else {
		for (size_t i = 0; i < NR_SCENARIOS; i++)
			ok &= run(&scenarios[i], expect_bug);
	}
	/* Threads left asleep by a caught bug must not keep the process alive. */
	fflush(stderr);
	_exit(ok ? 0 : 1);
}
