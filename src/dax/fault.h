/* SPDX-License-Identifier: MIT */
/*
 * The DAX fault core (fs/dax.c's dax_iomap_fault, dax_iomap_pte_fault,
 * dax_iomap_pmd_fault, dax_fault_iter, dax_insert_entry, dax_load_hole).
 *
 * The layer above (src/vm) owns the address space: it turns a SIGSEGV into a
 * struct dax_vm_fault and passes a table of operations that change what an
 * address shows (struct dax_vm_ops); this file never maps anything itself.
 *
 * Every function here may run in a SIGSEGV handler: no malloc, no stdio; the
 * locks it takes are entry locks and the mapping lock (src/dax/entry_lock.h)
 * and whatever the iomap provider takes (see src/vm/fault.c for why that is
 * safe).
 */
#ifndef UDAX_DAX_FAULT_H
#define UDAX_DAX_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dax/arena.h"
#include "dax/entry.h"
#include "dax/iomap.h"

#define DAX_PAGE_SHIFT 12
#define DAX_PAGE_SIZE  (1ull << DAX_PAGE_SHIFT)
#define DAX_PMD_SIZE   (DAX_PMD_NR << DAX_PAGE_SHIFT)

/* One file as the fault core sees it. */
struct dax_fault_file {
	struct dax_arena *arena;
	struct dax_mapping *mapping; /* the file's index */
	void *host;		     /* the file system's inode, for ops */
	const struct iomap_ops *ops;
	/* The file size now. Must not block on anything a faulting thread may hold. */
	uint64_t (*i_size)(void *host);
	/*
	 * Optional: media pages [pfn, pfn + nr) gained (@delta 1) or lost (-1)
	 * one mapping (the device page refcount of DESIGN.md: each installed
	 * mapping holds a reference; munmap, truncate's unmap and replacement
	 * drop it).
	 */
	void (*page_ref)(void *host, uint64_t pfn, uint64_t nr, int delta);
	/*
	 * vfs_fsync_range for file bytes [pos, pos + len): write back the dirty
	 * entries of the range and make the metadata that reaches them durable.
	 * A MAP_SYNC write fault calls it when iomap reported IOMAP_F_DIRTY
	 * (dax_finish_sync_fault). Called from the SIGSEGV handler with no entry
	 * lock held. NULL: the provider never reports IOMAP_F_DIRTY.
	 */
	int (*fsync_range)(void *host, uint64_t pos, uint64_t len);
	/* MAP_SYNC may be granted: the media persists CPU stores once flushed. */
	bool map_sync;
	/* The media and a mapping of all of it: flushes of mapped stores go through it. */
	const struct pmem *pm;
	const char *media;
};

/*
 * What the address space layer does for the fault core. @vma is the
 * dax_vm_fault's vma cookie. Each returns 0 or -errno.
 *  insert_pfn  - show media [media_off, +len) at [addr, +len), writable
 *                (DAX_INSERT_WRITABLE) or read-only (vmf_insert_page_mkwrite /
 *                vmf_insert_folio_pmd); DAX_INSERT_LAZY: leave the kernel's page
 *                tables to fill page by page as the pages are touched.
 *  insert_zero - show zeros at [addr, +len), read-only (the zero page, or the
 *                huge zero folio when len is 2 MiB).
 *  insert_cow  - a private writable copy of media [media_off, +4 KiB), or of
 *                zeros when @pm is NULL, at addr (dax_fault_cow_page).
 *  unmap_mapping_range - stop every mapping in the process from showing file
 *                pages [index, index + nr) (unmap_mapping_pages, even_cows
 *                false): they fault again and find the new entry.
 *  is_shown    - true if [addr, +len) already shows media from media_off on
 *                (writable, if asked): the fast path stops there.
 */
#define DAX_INSERT_WRITABLE 0x1
#define DAX_INSERT_LAZY	    0x2

struct dax_vm_ops {
	int (*insert_pfn)(void *vma, uintptr_t addr, struct pmem *pm, uint64_t media_off,
			  size_t len, unsigned flags);
	int (*insert_zero)(void *vma, uintptr_t addr, size_t len);
	int (*insert_cow)(void *vma, uintptr_t addr, struct pmem *pm, uint64_t media_off);
	void (*unmap_mapping_range)(void *vma, struct dax_mapping *m, uint64_t index, uint64_t nr);
	bool (*is_shown)(void *vma, uintptr_t addr, uint64_t media_off, size_t len, bool writable);
};

/* What a fault did, for the counters (several may be set). */
enum dax_fault_event {
	DAX_EV_MAPPED = 1 << 0,	  /* media was mapped */
	DAX_EV_ZERO = 1 << 1,	  /* a hole was mapped to the zero window */
	DAX_EV_ALLOC = 1 << 2,	  /* the file system allocated blocks (IOMAP_F_NEW) */
	DAX_EV_COW = 1 << 3,	  /* a private copy was made */
	DAX_EV_FALLBACK = 1 << 4, /* a PMD fault fell back to PTEs */
	DAX_EV_SIGBUS = 1 << 5,	  /* the fault failed: the application gets SIGBUS */
	DAX_EV_SYNC = 1 << 6,	  /* metadata was committed before mapping (MAP_SYNC) */
};

/* struct vm_fault: one fault, filled by the vm layer. */
struct dax_vm_fault {
	const struct dax_fault_file *file;
	const struct dax_vm_ops *vm;
	void *vma;		    /* cookie for vm */
	uintptr_t address;	    /* the faulting address */
	uintptr_t vm_start, vm_end; /* the mapping's bounds */
	uint64_t vm_pgoff;	    /* file page index shown at vm_start */
	bool write;		    /* a store */
	bool shared;		    /* MAP_SHARED (else private: writes copy) */
	bool fault_around;	    /* map the rest of a mapped extent too */
	bool write_on_read;	    /* shared writable: a read may map volatile media writable */
	bool sync;		    /* MAP_SYNC: metadata durable before a page turns writable */
	/* Results. */
	unsigned events;       /* enum dax_fault_event bits */
	uint64_t around_pages; /* pages mapped beyond the faulting unit */
};

/* Results of dax_iomap_fault (VM_FAULT_*). */
enum dax_fault_ret {
	DAX_FAULT_NOPAGE = 0, /* mapped (or raced and mapped by someone): retry the access */
	DAX_FAULT_FALLBACK,   /* the PMD fault cannot be served: try order 0 */
	DAX_FAULT_SIGBUS,     /* beyond EOF, I/O error, no mapping possible */
	DAX_FAULT_OOM,	      /* index nodes exhausted */
	DAX_FAULT_NEEDDSYNC,  /* internal: commit metadata, then map (never returned) */
};

/*
 * dax_iomap_fault - serve @vmf with an entry of @order (0 or DAX_PMD_ORDER).
 * Any other order falls back (no PUD faults on fs-dax).
 */
enum dax_fault_ret dax_iomap_fault(struct dax_vm_fault *vmf, unsigned int order);

/* The file page index @vmf->address shows. */
static inline uint64_t dax_fault_pgoff(const struct dax_vm_fault *vmf)
{
	return vmf->vm_pgoff + ((vmf->address - vmf->vm_start) >> DAX_PAGE_SHIFT);
}

#endif
