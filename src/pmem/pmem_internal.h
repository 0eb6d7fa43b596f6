/* SPDX-License-Identifier: MIT */
/* Private state of the media layer, shared by its source files (and the benchmark). */
#ifndef UDAX_PMEM_INTERNAL_H
#define UDAX_PMEM_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "pmem/pmem.h"

/* Poisoned ranges kept per backing; injection past this fails with -ENOSPC. */
#define PMEM_BADBLOCK_MAX 64

/*
 * A seqlock-protected fixed array: readers (possibly in a signal handler) never
 * allocate or lock; writers serialize on @lock and block signals while the
 * sequence is odd, so a handler on the writing thread never sees it mid-update.
 */
struct pmem_badblocks {
	pthread_mutex_t lock;
	atomic_uint seq;
	atomic_int count;
	_Atomic uint64_t off[PMEM_BADBLOCK_MAX];
	_Atomic uint64_t len[PMEM_BADBLOCK_MAX];
};

struct pmem {
	int fd;
	int flags;
	struct pmem_info info;
	char path[PATH_MAX];
	struct pmem_badblocks bb;
	/* whole-media mapping used by pmem_read/pmem_write, made on first use */
	pthread_mutex_t rw_lock;
	void *rw_base;
	size_t rw_len;
	struct pmem_recorder *rec; /* power-loss recorder, NULL unless a test armed one */
	bool huge_advise; /* shmem that maps huge pages only when asked (classify.c) */
	/* device page references (pagemap.c) */
	_Atomic uint32_t *page_refs;
	size_t page_refs_len;
	/*
	 * One more count per 2 MiB of media: a reference on a whole aligned
	 * 2 MiB is one add here instead of 512. A page's references are its
	 * page count plus its unit's count, modulo 2^32 (a page count may wrap
	 * below 0 when a page held through its unit is released alone).
	 */
	_Atomic uint32_t *unit_refs;
	_Atomic uint32_t idle_gen;
	_Atomic uint32_t idle_waiters; /* threads in pmem_pages_wait_idle */
};

/* pagemap.c */
int pmem_pages_init(struct pmem *pm);
void pmem_pages_destroy(struct pmem *pm);

/* persist.c */
enum pmem_flush_insn pmem_detect_flush_insn(void);
void pmem_flush_lines(enum pmem_flush_insn insn, const void *addr, size_t len);
/* Copies of at least this many bytes use non-temporal stores (measured: docs/pmem.md). */
#define PMEM_NT_THRESHOLD 512
/* The two copy strategies, exposed so the benchmark can measure the crossover. */
void pmem_copy_temporal(const struct pmem *pm, void *dst, const void *src, size_t len);
void pmem_copy_nt(const struct pmem *pm, void *dst, const void *src, size_t len);

/* record.c: hooks of the power-loss recorder; all but attach run only when pm->rec is set */
int pmem_record_attach(struct pmem *pm, const struct stat *st);
void pmem_record_detach(struct pmem *pm);
void pmem_record_window(struct pmem_recorder *rec, void *addr, uint64_t off, size_t len);
void pmem_record_flush(struct pmem_recorder *rec, const void *addr, size_t len);
void pmem_record_fence(struct pmem_recorder *rec);

/* badblock.c */
void pmem_badblocks_init(struct pmem_badblocks *bb);
void pmem_badblocks_destroy(struct pmem_badblocks *bb);
int pmem_badblocks_load_sysfs(struct pmem *pm, const char *region_dir, uint64_t media_start);

/* classify.c */
int pmem_classify(struct pmem *pm, const struct stat *st);
int pmem_read_sysfs_u64(const char *path, uint64_t *val);

#endif
