// SPDX-License-Identifier: MIT
/*
 * The mapping index without concurrency: entry encoding, multi-order storage,
 * tree growth and pruning, marks and marked iteration, preallocation and
 * ENOMEM, arena attach, and the memory cost per PTE and PMD entry.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "testlib.h"
#include "dax_test.h"

static struct dax_preload pl;

static void insert(struct dax_arena *a, struct dax_mapping *m, uint64_t index, unsigned order,
		   dax_entry_t e)
{
	CHECK_OK(dax_preload(a, &pl, dax_index_nodes_needed(a, m, index, order)));
	dax_index_insert(a, m, index, order, e, &pl);
}

static void test_encoding(void)
{
	dax_entry_t e = dax_make_entry(0x123456789ull, DAX_PMD | DAX_LOCKED);

	CHECK_EQ(dax_to_pfn(e), 0x123456789ull);
	CHECK(dax_is_locked(e) && dax_is_pmd_entry(e) && !dax_is_pte_entry(e));
	CHECK(!dax_is_zero_entry(e) && !dax_is_empty_entry(e));
	CHECK_EQ(dax_entry_order(e), DAX_PMD_ORDER);
	CHECK_EQ(dax_entry_start(1000, e), 512);
	e = dax_make_entry(0, DAX_ZERO);
	CHECK(e != 0 && dax_is_zero_entry(e) && dax_entry_order(e) == 0);
	CHECK_EQ(dax_entry_start(1000, e), 1000);
	CHECK(dax_make_entry(0, 0) != 0); /* a normal entry at pfn 0 is still an entry */
	CHECK_EQ(dax_make_entry(0, DAX_EMPTY) & DAX_MARKS, 0);
}

static void test_multi_order(struct dax_arena *a)
{
	struct dax_mapping *m = dax_mapping_create(a);
	dax_entry_t pmd = dax_make_entry(4096, DAX_PMD), pte = dax_make_entry(77, 0);
	uint64_t index;

	CHECK(m);
	insert(a, m, 512, DAX_PMD_ORDER, pmd);
	for (uint64_t i = 512; i < 1024; i += 37)
		CHECK_EQ(dax_index_lookup(a, m, i, 0), pmd);
	CHECK_EQ(dax_index_lookup(a, m, 511, 0), 0);
	CHECK_EQ(dax_index_lookup(a, m, 1024, 0), 0);
	CHECK_EQ(dax_index_lookup(a, m, 700, DAX_PMD_ORDER), pmd);
	CHECK(dax_index_slot(a, m, 1000) == dax_index_slot(a, m, 512));
	/* PTE entries of another range: the PMD lookup there returns the first one. */
	insert(a, m, 1536 + 300, 0, pte);
	insert(a, m, 1536 + 9, 0, pte + (1ull << DAX_PFN_SHIFT));
	CHECK_EQ(dax_index_lookup(a, m, 1536 + 400, DAX_PMD_ORDER), pte + (1ull << DAX_PFN_SHIFT));
	CHECK_EQ(dax_index_lookup(a, m, 1536 + 300, 0), pte);
	CHECK_EQ(dax_index_lookup(a, m, 1536 + 301, 0), 0);
	/* Iteration sees the PMD entry once, at its first index, even from inside it. */
	index = 600;
	CHECK_EQ(dax_index_find(a, m, &index, 5000, 0), pmd);
	CHECK_EQ(index, 512);
	index = 1024;
	CHECK_EQ(dax_index_find(a, m, &index, 5000, 0), pte + (1ull << DAX_PFN_SHIFT));
	CHECK_EQ(index, 1536 + 9);
	index = 1536 + 10;
	CHECK_EQ(dax_index_find(a, m, &index, 1536 + 299, 0), 0);
	/* Growth to a far index keeps the near entries; pruning frees everything. */
	insert(a, m, DAX_INDEX_LIMIT - 1, 0, pte);
	CHECK_EQ(dax_index_lookup(a, m, DAX_INDEX_LIMIT - 1, 0), pte);
	CHECK_EQ(dax_index_lookup(a, m, 600, 0), pmd);
	CHECK_EQ(atomic_load(&m->top), 7);
	dax_index_erase(a, m, DAX_INDEX_LIMIT - 1);
	dax_index_erase(a, m, 1536 + 300);
	dax_index_erase(a, m, 1536 + 9);
	dax_index_erase(a, m, 777); /* through a non-canonical index */
	CHECK_EQ(dax_index_lookup(a, m, 512, 0), 0);
	CHECK_EQ(atomic_load(&m->nr_nodes), 0);
	CHECK_EQ(atomic_load(&m->root), 0);
	dax_mapping_destroy(a, m);
}

static void test_marks(struct dax_arena *a)
{
	struct dax_mapping *m = dax_mapping_create(a);
	uint64_t index, found[8];
	dax_entry_t e;
	int nr = 0;

	for (uint64_t i = 0; i < 4096; i += 3)
		insert(a, m, i, 0, dax_make_entry(i, 0));
	insert(a, m, 8192, DAX_PMD_ORDER, dax_make_entry(9, DAX_PMD));
	dax_index_set_mark(a, m, 300, DAX_DIRTY);
	dax_index_set_mark(a, m, 3000, DAX_DIRTY);
	dax_index_set_mark(a, m, 8192 + 5, DAX_DIRTY);
	dax_index_set_mark(a, m, 3000, DAX_TOWRITE);
	dax_index_set_mark(a, m, 301, DAX_DIRTY); /* no entry there: no mark */
	CHECK(dax_index_get_mark(a, m, 300, DAX_DIRTY));
	CHECK(!dax_index_get_mark(a, m, 300, DAX_TOWRITE));
	CHECK(dax_index_get_mark(a, m, 8192 + 511, DAX_DIRTY));
	for (index = 0; (e = dax_index_find(a, m, &index, ~0ull >> 20, DAX_MARK_BIT(DAX_DIRTY)));
	     index += 1ull << dax_entry_order(e)) {
		CHECK(nr < 8);
		found[nr++] = index;
	}
	CHECK_EQ(nr, 3);
	CHECK_EQ(found[0], 300);
	CHECK_EQ(found[1], 3000);
	CHECK_EQ(found[2], 8192);
	index = 0;
	CHECK_EQ(dax_index_find(a, m, &index, 9000, DAX_MARKS), dax_make_entry(3000, 0));
	/* Marks survive in-place changes of the stored word (lock bit). */
	atomic_fetch_or(dax_index_slot(a, m, 3000), DAX_LOCKED);
	CHECK(dax_index_get_mark(a, m, 3000, DAX_TOWRITE));
	CHECK_EQ(dax_index_lookup(a, m, 3000, 0), dax_make_entry(3000, DAX_LOCKED));
	/* Clearing the last mark of a subtree clears the summaries above it. */
	dax_index_clear_mark(a, m, 3000, DAX_TOWRITE);
	index = 0;
	CHECK_EQ(dax_index_find(a, m, &index, 9000, DAX_MARK_BIT(DAX_TOWRITE)), 0);
	CHECK_EQ(atomic_load(&m->root) & DAX_MARK_BIT(DAX_TOWRITE), 0);
	dax_index_clear_mark(a, m, 300, DAX_DIRTY);
	dax_index_clear_mark(a, m, 3000, DAX_DIRTY);
	CHECK(atomic_load(&m->root) & DAX_MARK_BIT(DAX_DIRTY)); /* the PMD entry */
	/* Erasing drops the marks: a new entry at the index starts clean. */
	dax_index_erase(a, m, 8192);
	insert(a, m, 8192, DAX_PMD_ORDER, dax_make_entry(9, DAX_PMD));
	CHECK(!dax_index_get_mark(a, m, 8192, DAX_DIRTY));
	CHECK_EQ(atomic_load(&m->root) & DAX_MARKS, 0);
	for (index = 0; dax_index_find(a, m, &index, ~0ull >> 20, 0);)
		dax_index_erase(a, m, index);
	CHECK_EQ(atomic_load(&m->nr_nodes), 0);
	dax_mapping_destroy(a, m);
}

/* Bytes of index per entry when @nr entries of @order fill consecutive slots from @base. */
static double bytes_per_entry(struct dax_arena *a, unsigned order, uint64_t nr, uint64_t base)
{
	struct dax_mapping *m = dax_mapping_create(a);
	uint64_t step = 1ull << order, nodes;

	for (uint64_t i = 0; i < nr; i++)
		insert(a, m, base + i * step, order, dax_make_entry(i, order ? DAX_PMD : 0));
	nodes = atomic_load(&m->nr_nodes);
	for (uint64_t i = 0; i < nr; i++)
		dax_index_erase(a, m, base + i * step);
	CHECK_EQ(atomic_load(&m->nr_nodes), 0);
	dax_mapping_destroy(a, m);
	return (double)(nodes * DAX_NODE_SIZE) / (double)nr;
}

static void test_memory_cost(struct dax_arena *a)
{
	double pte = bytes_per_entry(a, 0, 1 << 16, 0); /* a 256 MiB file in 4 KiB entries */
	double pmd = bytes_per_entry(a, DAX_PMD_ORDER, 1 << 12, 0); /* 8 GiB in 2 MiB entries */
	/* One entry at 1 GiB into an otherwise empty file. */
	double one_pte = bytes_per_entry(a, 0, 1, 1 << 18);
	double one_pmd = bytes_per_entry(a, DAX_PMD_ORDER, 1, 1 << 18);

	printf("index memory: %.2f bytes per 4 KiB entry, %.2f per 2 MiB entry (dense); "
	       "a lone PTE entry at 1 GiB %.0f, a lone PMD entry there %.0f\n",
	       pte, pmd, one_pte, one_pmd);
	CHECK(pte <= 16.0);
	CHECK(pmd <= 64.0);
}

/* Insertion needs every node up front; an exhausted arena fails cleanly. */
static void test_enomem(void)
{
	struct dax_arena *a = test_arena(6, false);
	struct dax_mapping *m = dax_mapping_create(a);
	struct dax_preload mine = {0};
	dax_entry_t e;
	uint32_t used;

	CHECK(m);
	/* A small tree starts at the lowest level that reaches the index. */
	CHECK_EQ(dax_index_nodes_needed(a, m, 0, 0), 1);
	CHECK_EQ(dax_index_nodes_needed(a, m, 0, DAX_PMD_ORDER), 1);
	CHECK_EQ(dax_index_nodes_needed(a, m, 1ull << 15, 0), 4);
	CHECK_EQ(dax_grab_entry(a, m, 5, 0, NULL, &e), 0);
	dax_unlock_entry(a, m, 5, e);
	CHECK_EQ(dax_arena_nodes_in_use(a), 2); /* mapping + one leaf */
	/* 1 << 20 needs three levels on top and a path below: 6 nodes, 4 left. */
	CHECK_EQ(dax_index_nodes_needed(a, m, 1ull << 20, 0), 6);
	CHECK_EQ(dax_index_nodes_needed(a, m, DAX_INDEX_LIMIT - 1, 0), DAX_PRELOAD_MAX);
	used = dax_arena_nodes_in_use(a);
	CHECK_ERR(dax_grab_entry(a, m, 1ull << 20, 0, NULL, &e), ENOMEM);
	CHECK_EQ(dax_arena_nodes_in_use(a), used);
	CHECK_EQ(dax_mapping_nrpages(m), 1);
	CHECK_EQ(dax_index_lookup(a, m, 5, 0), dax_make_entry(0, DAX_EMPTY));
	CHECK_EQ(dax_index_lookup(a, m, 1ull << 20, 0), 0);
	CHECK_ERR(dax_preload(a, &mine, 5), ENOMEM);
	CHECK_EQ(mine.nr, 0);
	CHECK_OK(dax_preload(a, &mine, 4));
	dax_preload_release(a, &mine);
	/* Room for a PMD entry next door: two levels on top of the leaf. */
	CHECK_EQ(dax_grab_entry(a, m, 1024, DAX_PMD_ORDER, NULL, &e), 0);
	dax_unlock_entry(a, m, 1024, e);
	dax_delete_range(a, m, 0, ~0ull);
	CHECK(test_index_is_empty(a, m));
	dax_mapping_destroy(a, m);
	CHECK_EQ(dax_arena_nodes_in_use(a), 0);
}

/* Resident pages among the whole pages of [p, end). */
static size_t resident_pages(const char *p, const char *end)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1), hi = (uintptr_t)end & ~(page - 1);
	size_t n = (hi - lo) / page, in = 0;
	unsigned char *vec = malloc(n);

	CHECK(vec != NULL);
	CHECK_OK(mincore((void *)lo, hi - lo, vec));
	for (size_t i = 0; i < n; i++)
		in += vec[i] & 1;
	free(vec);
	return in;
}

/*
 * Formatting writes the header only; a node's memory is first touched, and
 * zeroed, when the node is handed out, also over memory that held garbage.
 */
static void test_lazy_format(void)
{
	uint32_t nodes = 1 << 15;
	size_t size = dax_arena_size(nodes, 64);
	char *mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct dax_preload pl = {0};
	struct dax_arena *a;
	struct dax_mapping *m;
	const char *first;
	dax_entry_t e;

	CHECK(mem != MAP_FAILED);
	CHECK_OK(dax_arena_format(mem, size, 64, &a));
	first = (const char *)dax_node(a, 0);
	CHECK_EQ(resident_pages(first, mem + size), 0);
	m = dax_mapping_create(a);
	CHECK(m);
	CHECK_EQ(dax_grab_entry(a, m, 5, 0, NULL, &e), 0);
	dax_unlock_entry(a, m, 5, e);
	CHECK(resident_pages(first, mem + size) <= 2);
	dax_delete_range(a, m, 0, ~0ull);
	dax_mapping_destroy(a, m);
	CHECK_EQ(dax_arena_nodes_in_use(a), 0);

	/* over garbage: every node handed out, fresh or reused, reads as zero */
	memset(mem, 0xa5, size);
	CHECK_OK(dax_arena_format(mem, size, 64, &a));
	for (int round = 0; round < 2; round++) {
		CHECK_OK(dax_preload(a, &pl, DAX_PRELOAD_MAX));
		for (uint32_t i = 0; i < pl.nr; i++) {
			const unsigned char *b = (const void *)dax_node(a, pl.node[i]);

			for (size_t j = 0; j < DAX_NODE_SIZE; j++)
				CHECK_EQ(b[j], 0);
		}
		dax_preload_release(a, &pl);
	}
	CHECK_EQ(dax_arena_nodes_in_use(a), 0);
	munmap(mem, size);
}

static void test_attach(void)
{
	struct dax_arena *a = test_arena(16, true), *b;

	CHECK_OK(dax_arena_attach(a, a->size, &b));
	CHECK(a == b);
	CHECK_ERR(dax_arena_attach(a, a->size - 512, &b), EINVAL);
	CHECK_ERR(dax_arena_format(a, 1024, 4, &b), EINVAL);
	CHECK_ERR(dax_arena_format((char *)a + 8, a->size - 64, 4, &b), EINVAL);
}

int main(void)
{
	struct dax_arena *a = test_arena(1 << 15, false);

	test_watchdog(30);
	test_encoding();
	test_multi_order(a);
	test_marks(a);
	test_memory_cost(a);
	CHECK_EQ(dax_arena_nodes_in_use(a), 0);
	test_enomem();
	test_lazy_format();
	test_attach();
	return 0;
}
