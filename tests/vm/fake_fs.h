/* SPDX-License-Identifier: MIT */
/*
 * A tiny iomap provider for the vm tests: one file over a tmpfs-backed pmem,
 * with an extent table the test writes directly (holes, mapped extents at
 * any media offset, short extents, EOF), so every fault rule can be driven
 * deterministically without udaxfs.
 */
#ifndef UDAX_TESTS_VM_FAKE_FS_H
#define UDAX_TESTS_VM_FAKE_FS_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dax/fault.h"
#include "dax/writeback.h"
#include "pmem/pmem.h"
#include "vm/vm.h"

#define MiB		 (1ull << 20)
#define KiB		 (1ull << 10)
#define FAKE_MAX_EXTENTS 1024

struct fake_extent {
	uint64_t off, len, media;
	uint16_t type;
	bool uncommitted; /* allocated in dirty_meta mode, not yet synced */
};

struct fake_fs {
	struct pmem *pm;
	char *base; /* the whole media, mapped */
	uint64_t media_size;
	struct dax_arena *arena;
	struct dax_mapping *mapping;
	struct dax_fault_file file;
	_Atomic uint64_t size;
	pthread_mutex_t lock; /* the "inode lock": extents and allocation */
	struct fake_extent ext[FAKE_MAX_EXTENTS];
	int nr;
	uint64_t next_alloc;  /* bump allocator in media */
	uint64_t alloc_align; /* alignment of allocations */
	_Atomic int begins, ends, allocs;
	_Atomic int *refs; /* per media page: mappings showing it (page_ref) */
	/*
	 * Metadata model for synchronous faults: with dirty_meta, allocations
	 * stay uncommitted (iomap reports IOMAP_F_DIRTY) until fsync_range.
	 */
	bool dirty_meta;
	_Atomic int syncs;	   /* fsync_range calls */
	_Atomic int dirty_at_sync; /* of them, those that found a DIRTY entry in their range */
	struct dax_writeback_stats wb; /* what fsync_range wrote back */
};

/*
 * A file of @size over @media_size bytes of /dev/shm media; no extents. The
 * media is opened PMEM_O_FORCE_FLUSH, so that faults write-protect clean
 * pages as on persistent media.
 */
struct fake_fs *fake_new(uint64_t media_size, uint64_t size);
/* The same with the media in directory @dir, opened with @pmem_flags. */
struct fake_fs *fake_new_in(const char *dir, int pmem_flags, uint64_t media_size, uint64_t size);
void fake_free(struct fake_fs *fs);
/* Adds an extent of @type at file [off, +len), media @media. */
void fake_add(struct fake_fs *fs, uint64_t off, uint64_t len, uint64_t media, uint16_t type);
/* ftruncate: unmaps and drops what lies beyond @size. */
void fake_truncate(struct fake_fs *fs, uint64_t size);
/* A write(2) through the file (allocating), as the read/write path does it. */
void fake_write(struct fake_fs *fs, uint64_t pos, const void *buf, uint64_t len);
/* fsync_range of the fake file (also what the fault core calls for MAP_SYNC). */
int fake_fsync(struct fake_fs *fs, uint64_t pos, uint64_t len);
/* True if every media page in [pfn, pfn + nr) has @each references. */
bool fake_refs_are(struct fake_fs *fs, uint64_t pfn, uint64_t nr, int each);
/* The entry at @index (order 0 lookup), 0 if none. */
dax_entry_t fake_entry(struct fake_fs *fs, uint64_t index);

/* Runs @fn(@arg); returns the signal (SIGSEGV/SIGBUS) it raised, 0 if none. */
int catch_signal(void (*fn)(void *), void *arg, siginfo_t *info);
void touch_read(void *addr);
void touch_write(void *addr);

#endif
