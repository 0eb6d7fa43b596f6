// SPDX-License-Identifier: MIT
/*
 * The VMA registry (rules in vma.h), the reverse map over it, the objects
 * behind the areas and the fault counters.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>

#include "common/err.h"
#include "dax/index.h"
#include "vm/vma.h"

static struct vm_area areas[VM_MAX_AREAS];
static _Atomic uint32_t areas_used; /* slots [0, areas_used) may be in use */
static _Atomic uint64_t vma_seq;    /* odd while a writer changes slots */

/* Writer state, guarded by write_lock. */
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;
static sigset_t write_saved_mask;
static struct vm_area *changed[2 * VM_MAX_AREAS];
static struct vm_object *to_put[VM_MAX_AREAS];
static int nr_changed, nr_to_put;

static struct vm_object global_counters;

static void snapshot(struct vm_area *a, struct vm_vma *v)
{
	v->start = atomic_load_explicit(&a->start, memory_order_relaxed);
	v->end = atomic_load_explicit(&a->end, memory_order_relaxed);
	v->pgoff = atomic_load_explicit(&a->pgoff, memory_order_relaxed);
	v->prot = atomic_load_explicit(&a->prot, memory_order_relaxed);
	v->shared = atomic_load_explicit(&a->shared, memory_order_relaxed);
	v->obj = atomic_load_explicit(&a->obj, memory_order_relaxed);
	v->slot = a;
}

/* A stable (even) sequence count; spins out a writer's short publication. */
static uint64_t read_begin(void)
{
	uint64_t s;

	while ((s = atomic_load(&vma_seq)) & 1)
		sched_yield();
	return s;
}

/* The read-modify-write orders the snapshot's loads before it (a release). */
static bool read_retry(uint64_t s)
{
	return atomic_fetch_add(&vma_seq, 0) != s;
}

/* Pins the snapshot @v taken under sequence @s; false if it went stale. */
static bool pin(struct vm_vma *v, uint64_t s)
{
	atomic_fetch_add(&v->slot->users, 1);
	if (!read_retry(s))
		return true;
	atomic_fetch_sub(&v->slot->users, 1);
	return false;
}

bool vma_get(uintptr_t addr, struct vm_vma *v)
{
	for (;;) {
		uint64_t s = read_begin(), n = atomic_load(&areas_used);
		bool found = false;

		for (uint32_t i = 0; i < n && !found; i++) {
			snapshot(&areas[i], v);
			found = v->end && addr >= v->start && addr < v->end;
		}
		if (found ? pin(v, s) : !read_retry(s))
			return found;
	}
}

void vma_put(struct vm_vma *v)
{
	atomic_fetch_sub(&v->slot->users, 1);
}

/* Pins slot @i if it is in use; false if free. */
static bool get_slot(uint32_t i, struct vm_vma *v)
{
	for (;;) {
		uint64_t s = read_begin();

		snapshot(&areas[i], v);
		if (!v->end) {
			if (!read_retry(s))
				return false;
			continue;
		}
		if (pin(v, s))
			return true;
	}
}

void vma_rmap_walk(struct dax_mapping *m, uint64_t index, uint64_t nr, vma_rmap_fn fn, void *arg)
{
	uint32_t n = atomic_load(&areas_used);
	struct vm_vma v;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t first, last, vlast;

		if (!get_slot(i, &v))
			continue;
		vlast = v.pgoff + ((v.end - v.start) >> DAX_PAGE_SHIFT);
		first = index > v.pgoff ? index : v.pgoff;
		last = index + nr < vlast ? index + nr : vlast;
		if (v.obj->file.mapping == m && first < last)
			fn(&v, v.start + ((first - v.pgoff) << DAX_PAGE_SHIFT),
			   (last - first) << DAX_PAGE_SHIFT, arg);
		vma_put(&v);
	}
}

/*
 * fork(): the child gets a copy of the registry. No writer may be half way
 * (prepare takes the writer lock), and pins taken by handlers of threads
 * that do not exist in the child are void there.
 */
static void fork_prepare(void)
{
	pthread_mutex_lock(&write_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&write_lock);
}

static void fork_child(void)
{
	for (uint32_t i = 0; i < VM_MAX_AREAS; i++)
		atomic_store(&areas[i].users, 0);
	pthread_mutex_unlock(&write_lock);
}

static void register_fork_handlers(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

static void count_area(const struct vm_vma *v, uintptr_t addr, uint64_t len, void *arg)
{
	(void)v, (void)addr, (void)len;
	(*(int *)arg)++;
}

bool vm_mapping_is_mapped(struct dax_mapping *m)
{
	int n = 0;

	vma_rmap_walk(m, 0, DAX_INDEX_LIMIT, count_area, &n);
	return n > 0;
}

void vma_write_begin(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	sigset_t block;

	pthread_once(&once, register_fork_handlers);

	sigemptyset(&block);
	sigaddset(&block, SIGSEGV);
	sigaddset(&block, SIGBUS);
	pthread_mutex_lock(&write_lock);
	pthread_sigmask(SIG_BLOCK, &block, &write_saved_mask);
	nr_changed = 0;
	nr_to_put = 0;
	atomic_fetch_add(&vma_seq, 1);
}

void vma_write_end(void)
{
	atomic_fetch_add(&vma_seq, 1);
	for (int i = 0; i < nr_changed; i++)
		while (atomic_load(&changed[i]->users))
			sched_yield();
	for (int i = 0; i < nr_to_put; i++)
		vm_object_put(to_put[i]);
	pthread_sigmask(SIG_SETMASK, &write_saved_mask, NULL);
	pthread_mutex_unlock(&write_lock);
}

static void note_changed(struct vm_area *a)
{
	changed[nr_changed++] = a;
}

struct vm_area *vma_insert(const struct vm_vma *v)
{
	uint32_t n = atomic_load(&areas_used);
	struct vm_area *a = NULL;

	for (uint32_t i = 0; i < n && !a; i++)
		if (!atomic_load_explicit(&areas[i].end, memory_order_relaxed))
			a = &areas[i];
	if (!a && n < VM_MAX_AREAS) {
		a = &areas[n];
		atomic_store(&areas_used, n + 1);
	}
	if (!a)
		return NULL;
	vm_object_get(v->obj);
	atomic_store_explicit(&a->obj, v->obj, memory_order_relaxed);
	atomic_store_explicit(&a->shared, v->shared, memory_order_relaxed);
	vma_set(a, v->start, v->end, v->pgoff, v->prot);
	return a;
}

void vma_remove(struct vm_area *a)
{
	to_put[nr_to_put++] = atomic_load_explicit(&a->obj, memory_order_relaxed);
	atomic_store_explicit(&a->end, 0, memory_order_relaxed);
	note_changed(a);
}

void vma_set(struct vm_area *a, uintptr_t start, uintptr_t end, uint64_t pgoff, int prot)
{
	atomic_store_explicit(&a->start, start, memory_order_relaxed);
	atomic_store_explicit(&a->end, end, memory_order_relaxed);
	atomic_store_explicit(&a->pgoff, pgoff, memory_order_relaxed);
	atomic_store_explicit(&a->prot, prot, memory_order_relaxed);
	note_changed(a);
}

int vma_find_range(uintptr_t start, uintptr_t end, struct vm_vma *out, int max)
{
	uint32_t n = atomic_load(&areas_used);
	struct vm_vma v;
	int found = 0;

	for (uint32_t i = 0; i < n && found < max; i++) {
		snapshot(&areas[i], &v);
		if (v.end && v.start < end && v.end > start)
			out[found++] = v;
	}
	return found;
}

struct vm_object *vm_object_new(const struct dax_fault_file *file, uint64_t pgoff, uint64_t npages,
				bool private)
{
	struct vm_object *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->file = *file;
	o->pgoff = pgoff;
	o->npages = npages;
	o->refs = 1;
	o->shown = calloc(npages, sizeof(*o->shown));
	o->unit0 = pgoff / DAX_PMD_NR;
	o->nunits = (pgoff + npages + DAX_PMD_NR - 1) / DAX_PMD_NR - o->unit0;
	o->units = calloc(o->nunits, sizeof(*o->units));
	if (private)
		o->cow = calloc((npages + 63) / 64, sizeof(*o->cow));
	if (!o->shown || !o->units || (private && !o->cow)) {
		vm_object_put(o);
		return NULL;
	}
	return o;
}

void vm_object_get(struct vm_object *o)
{
	atomic_fetch_add(&o->refs, 1);
}

void vm_object_put(struct vm_object *o)
{
	if (atomic_fetch_sub(&o->refs, 1) != 1)
		return;
	if (o->release)
		o->release(o);
	free((void *)o->cow);
	free((void *)o->shown);
	free(o->units);
	free(o);
}

bool vm_object_is_cow(const struct vm_object *o, uint64_t index)
{
	uint64_t bit = index - o->pgoff;

	if (!o->cow || index < o->pgoff || bit >= o->npages)
		return false;
	return atomic_load_explicit(&o->cow[bit / 64], memory_order_relaxed) & (1ull << (bit % 64));
}

void vm_object_set_cow(struct vm_object *o, uint64_t index)
{
	uint64_t bit = index - o->pgoff;

	if (o->cow && index >= o->pgoff && bit < o->npages)
		atomic_fetch_or_explicit(&o->cow[bit / 64], 1ull << (bit % 64),
					 memory_order_relaxed);
}

static const unsigned dax_event_of[VM_FAULT_NR_EVENTS] = {
	[VM_FAULT_MAPPED] = DAX_EV_MAPPED, [VM_FAULT_FALLBACK] = DAX_EV_FALLBACK,
	[VM_FAULT_ZERO] = DAX_EV_ZERO,	   [VM_FAULT_ALLOC] = DAX_EV_ALLOC,
	[VM_FAULT_COW] = DAX_EV_COW,	   [VM_FAULT_SIGBUS] = DAX_EV_SIGBUS,
};

static void count_into(struct vm_object *o, unsigned order, unsigned dax_events,
		       uint64_t around_pages)
{
	atomic_fetch_add_explicit(&o->faults[order], 1, memory_order_relaxed);
	for (int e = 0; e < VM_FAULT_NR_EVENTS; e++)
		if (dax_events & dax_event_of[e])
			atomic_fetch_add_explicit(&o->events[order][e], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&o->around_pages, around_pages, memory_order_relaxed);
}

void vm_count_fault(struct vm_object *o, unsigned order, unsigned dax_events, uint64_t around_pages)
{
	count_into(o, order, dax_events, around_pages);
	count_into(&global_counters, order, dax_events, around_pages);
}

void vm_count_segv(struct vm_object *o)
{
	atomic_fetch_add_explicit(&o->segv, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&global_counters.segv, 1, memory_order_relaxed);
}

static void copy_stats(struct vm_object *o, struct vm_fault_stats *st)
{
	for (int r = 0; r < VM_NR_ORDERS; r++) {
		st->faults[r] = atomic_load(&o->faults[r]);
		for (int e = 0; e < VM_FAULT_NR_EVENTS; e++)
			st->events[r][e] = atomic_load(&o->events[r][e]);
	}
	st->around_pages = atomic_load(&o->around_pages);
	st->segv = atomic_load(&o->segv);
}

int vm_fault_stats(const void *addr, struct vm_fault_stats *st)
{
	struct vm_vma v;

	if (!addr) {
		copy_stats(&global_counters, st);
		return 0;
	}
	if (!vma_get((uintptr_t)addr, &v))
		return udax_err(EINVAL, "fault stats: %p is not in a udax mapping", addr);
	copy_stats(v.obj, st);
	vma_put(&v);
	return 0;
}
