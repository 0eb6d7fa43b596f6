/* SPDX-License-Identifier: MIT */
/*
 * The registry of udax VMAs, read by the SIGSEGV handler without locks.
 *
 * Rules (vma.c relies on them; docs/vm.md explains them):
 *  - The table is a fixed array of slots. Writers (mmap, munmap, mprotect,
 *    mremap) serialise on one mutex, block SIGSEGV while they publish, make
 *    the sequence counter odd, change slots, make it even again, and then
 *    wait until no reader still works with a slot they changed.
 *  - A reader (the handler) copies the slot that holds the address, pins it
 *    (users + 1) and checks that the counter did not move; otherwise it
 *    unpins and looks again. While pinned, the slot's range, which the
 *    snapshot describes, cannot be unmapped or given to another mapping,
 *    and its object cannot be freed.
 */
#ifndef UDAX_VM_VMA_H
#define UDAX_VM_VMA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vm/vm.h"

#define VM_MAX_AREAS	  1024
#define VM_SHOWN_WRITABLE (1ull << 63)

/*
 * The shown table of 2 MiB of file pages (aligned file index >> 9): install.c
 * keeps a unit shown whole from consecutive media in one word instead of 512
 * (docs/vm.md, "The shown table").
 */
struct vm_unit {
	_Atomic uint64_t shown; /* media pfn + 1 of the unit's page 0 (| WRITABLE), 0: per page */
	_Atomic uint32_t lock;	/* held by every writer of this unit's words (install.c) */
	uint32_t used;		/* per-page words that are not 0 (under @lock) */
};

/* What one vm_mmap created; shared by the pieces that splitting makes. */
struct vm_object {
	struct dax_fault_file file;
	bool sync;		 /* MAP_SYNC */
	uint64_t pgoff;		 /* file page of bit 0 of @cow */
	uint64_t npages;	 /* pages @cow covers */
	_Atomic uint64_t *cow;	 /* pages privately copied (private mappings only) */
	_Atomic uint64_t *shown; /* per page: media pfn + 1 shown (| VM_SHOWN_WRITABLE), 0 none */
	struct vm_unit *units;	 /* per 2 MiB of file pages from @unit0 on (see install.c) */
	uint64_t unit0, nunits;
	_Atomic uint64_t refs;	 /* areas using the object */
	_Atomic uint64_t faults[VM_NR_ORDERS];
	_Atomic uint64_t events[VM_NR_ORDERS][VM_FAULT_NR_EVENTS];
	_Atomic uint64_t around_pages;
	_Atomic uint64_t segv;
	/* Linear objects (vm/linear.h): their media, and what frees their state. */
	struct vm_linear *linear;
	void (*release)(struct vm_object *o);
};

/* One slot. end == 0: free. Fields are atomics: readers race with writers. */
struct vm_area {
	_Atomic uintptr_t start, end;
	_Atomic uint64_t pgoff; /* file page at start */
	_Atomic int prot;
	_Atomic bool shared;
	_Atomic(struct vm_object *) obj;
	_Atomic uint32_t users;
};

/* A reader's consistent copy of a slot, valid while pinned. */
struct vm_vma {
	uintptr_t start, end;
	uint64_t pgoff;
	int prot;
	bool shared;
	struct vm_object *obj;
	struct vm_area *slot;
};

/* [signal-safe] Pins the area holding @addr into *v; false if none. */
bool vma_get(uintptr_t addr, struct vm_vma *v);
void vma_put(struct vm_vma *v);

/*
 * [signal-safe] Calls @fn on every area showing a page of [index, index + nr)
 * of @m, pinned, with the part of the range it shows.
 */
typedef void (*vma_rmap_fn)(const struct vm_vma *v, uintptr_t addr, uint64_t len, void *arg);
void vma_rmap_walk(struct dax_mapping *m, uint64_t index, uint64_t nr, vma_rmap_fn fn, void *arg);

/* Writers: begin/end a change. end waits for readers of the changed slots. */
void vma_write_begin(void);
void vma_write_end(void);
/* Inside a change: a free slot filled from @v (NULL if the table is full). */
struct vm_area *vma_insert(const struct vm_vma *v);
void vma_remove(struct vm_area *a);
/* Changes the bounds of a slot (the object is kept). */
void vma_set(struct vm_area *a, uintptr_t start, uintptr_t end, uint64_t pgoff, int prot);
/* Slots overlapping [start, end): fills @out (up to @max), returns how many. */
int vma_find_range(uintptr_t start, uintptr_t end, struct vm_vma *out, int max);

/* Objects. */
struct vm_object *vm_object_new(const struct dax_fault_file *file, uint64_t pgoff, uint64_t npages,
				bool private);
void vm_object_get(struct vm_object *o);
void vm_object_put(struct vm_object *o);
/* Private copies: [signal-safe] test and set one page. */
bool vm_object_is_cow(const struct vm_object *o, uint64_t index);
void vm_object_set_cow(struct vm_object *o, uint64_t index);

/* Counters: global ones, and accounting of one fault attempt. */
void vm_count_fault(struct vm_object *o, unsigned order, unsigned dax_events,
		    uint64_t around_pages);
void vm_count_segv(struct vm_object *o);

#endif
