/* SPDX-License-Identifier: MIT */
/*
 * pmem/ - the media layer: a backing (device-DAX, a file on a DAX file system,
 * a page-cache file, tmpfs, huge tmpfs, hugetlbfs, memfd) turned into memory that
 * the layers above can map and persist.
 *
 * Return convention: 0 (or a count) on success, -errno on failure with a message
 * naming the path and the reason (udax_errormsg()).
 *
 * Every store udax makes to media for its own metadata or data goes through
 * pmem_memcpy / pmem_memset / pmem_flush / pmem_drain / pmem_persist, so that
 * a test build can observe (and a crash simulator replay) the exact order of
 * stores, flushes and fences.
 *
 * Functions marked [signal-safe] may be called from a SIGSEGV handler.
 */
#ifndef UDAX_PMEM_H
#define UDAX_PMEM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PMEM_PAGE_SIZE 4096ul
#define PMEM_PMD_SIZE  (2ul << 20)
#define PMEM_PUD_SIZE  (1ul << 30)

enum pmem_kind {
	PMEM_KIND_DEVDAX,     /* /dev/daxX.Y character device */
	PMEM_KIND_FSDAX,      /* file on a DAX file system (MAP_SYNC works) */
	PMEM_KIND_PAGECACHE,  /* regular file on a block file system */
	PMEM_KIND_TMPFS,      /* tmpfs file, 4 KiB pages */
	PMEM_KIND_HUGE_TMPFS, /* tmpfs file that the kernel maps with 2 MiB pages */
	PMEM_KIND_HUGETLBFS,  /* hugetlbfs file (2 MiB or 1 GiB pages) */
	PMEM_KIND_MEMFD,      /* memfd (anonymous shared memory) */
};

/* Persistence granularity, in libpmem2's sense. */
enum pmem_granularity {
	PMEM_GRAN_BYTE,       /* stores are persistent once globally visible (eADR) */
	PMEM_GRAN_CACHE_LINE, /* cache lines must be flushed, then fenced */
	PMEM_GRAN_PAGE,       /* pages must be written back with msync */
};

/* What pmem_persist() actually does on this backing. */
enum pmem_method {
	PMEM_METHOD_NONE,  /* volatile backing: nothing can make it persistent */
	PMEM_METHOD_FENCE, /* eADR: sfence only */
	PMEM_METHOD_FLUSH, /* clwb/clflushopt/clflush + sfence */
	PMEM_METHOD_MSYNC, /* msync(MS_SYNC) of the covering pages */
};

enum pmem_flush_insn { PMEM_INSN_NONE, PMEM_INSN_CLFLUSH, PMEM_INSN_CLFLUSHOPT, PMEM_INSN_CLWB };

struct pmem_info {
	enum pmem_kind kind;
	uint64_t size;  /* usable bytes (devdax: from sysfs; files: st_size) */
	uint64_t align; /* devdax alignment, or the backing's page size */
	bool pmd_capable; /* the kernel maps 2 MiB-aligned windows with PMDs */
	bool pud_capable; /* ... and 1 GiB-aligned windows with PUDs */
	bool is_volatile; /* contents are lost at power-off (tmpfs, memfd, ...) */
	enum pmem_granularity granularity;
	enum pmem_method method;
	enum pmem_flush_insn insn; /* the flush instruction, when method == FLUSH */
	char reason[256];          /* one line: why this kind, granularity and method */
};

/* Open flags. */
#define PMEM_O_CREATE      0x1 /* create (or extend) a regular file to create_size */
#define PMEM_O_RDONLY      0x2 /* map read-only */
#define PMEM_O_FORCE_FLUSH 0x4 /* use the cache-line flush path even on volatile or
				   page-cache backings (also: env UDAX_FORCE_FLUSH=1) */

struct pmem;

/*
 * pmem_open - open and classify a backing by path (with O_NOATIME where allowed).
 * @create_size: with PMEM_O_CREATE, the size to create; otherwise ignored.
 * Errors: -ENOENT, -EACCES, -EISDIR, -EINVAL (bad flags or sizes; devdax size not a
 * multiple of its alignment), -ENODEV (unsupported file type), -ENOSPC, -EFBIG...
 */
int pmem_open(const char *path, int flags, uint64_t create_size, struct pmem **out);

/* pmem_open_fd - same for an open descriptor (duplicated; the caller keeps its own). */
int pmem_open_fd(int fd, int flags, struct pmem **out);

void pmem_close(struct pmem *pm);

const struct pmem_info *pmem_get_info(const struct pmem *pm);
const char *pmem_path(const struct pmem *pm);
int pmem_fd(const struct pmem *pm);
const char *pmem_kind_name(enum pmem_kind kind);
const char *pmem_granularity_name(enum pmem_granularity gran);
const char *pmem_method_name(enum pmem_method method);
const char *pmem_insn_name(enum pmem_flush_insn insn);

/*
 * pmem_map - map [off, off+len) of the media shared, at an address aligned to
 * 2 MiB (1 GiB when len and the backing allow PUDs, or the devdax alignment),
 * and congruent with off modulo that alignment, so the kernel can use huge pages.
 * @prot: PROT_READ or PROT_READ|PROT_WRITE. off and len must be page-aligned
 * (devdax: multiples of its alignment) and inside the media (-EINVAL otherwise).
 */
int pmem_map(struct pmem *pm, uint64_t off, size_t len, int prot, void **addr);

/*
 * pmem_map_fixed - map media [off, off+len) at @addr with MAP_FIXED, replacing
 * what is there (the fault engine installs windows in its reserved ranges this
 * way). [signal-safe]
 */
int pmem_map_fixed(struct pmem *pm, void *addr, uint64_t off, size_t len, int prot);

/*
 * pmem_collapse - move [addr, addr+len) of a mapping of @pm, on a tmpfs of
 * 4 KiB pages, into 2 MiB pages mapped by PMDs (MADV_COLLAPSE, which works on
 * a tmpfs file whatever shmem_enabled says, except "deny"), as a DAX device
 * maps pmem. @addr and @len must be 2 MiB multiples and the pages present.
 * 0 when done; -EOPNOTSUPP for other kinds of media (huge tmpfs and hugetlbfs
 * have their huge pages already; memfds are refused by the kernel); the
 * kernel's -errno otherwise (no message: callers treat it as best effort).
 */
int pmem_collapse(const struct pmem *pm, void *addr, size_t len);

int pmem_unmap(void *addr, size_t len);

/*
 * Device page references (DESIGN.md): a count per 4 KiB media page, held by
 * every mapping that shows the page and by every pin. get/put/refs are
 * [signal-safe]; pages outside the media are ignored.
 * pmem_pages_wait_idle waits until every page of [pfn, +nr) has no
 * reference: 0, -ETIMEDOUT after @timeout_ms (< 0: no limit), or -EINTR
 * once *@cancel differs from @cancel_seen (the canceller then calls
 * pmem_pages_wake_waiters).
 */
void pmem_page_get(const struct pmem *pm, uint64_t pfn, uint64_t nr);
void pmem_page_put(const struct pmem *pm, uint64_t pfn, uint64_t nr);
uint32_t pmem_page_refs(const struct pmem *pm, uint64_t pfn);
int pmem_pages_wait_idle(struct pmem *pm, uint64_t pfn, uint64_t nr, int timeout_ms,
			 const _Atomic uint32_t *cancel, uint32_t cancel_seen);
void pmem_pages_wake_waiters(struct pmem *pm);

/*
 * Persistence. flush starts writing back the cache lines of [addr, addr+len);
 * drain waits for all earlier flushes and non-temporal stores; persist = both.
 * They do what pmem_get_info()->method says. [signal-safe]
 */
void pmem_flush(const struct pmem *pm, const void *addr, size_t len);
void pmem_drain(const struct pmem *pm);
void pmem_persist(const struct pmem *pm, const void *addr, size_t len);

/*
 * Copies that leave the destination persistent (after the drain that they
 * include, or that the caller issues for the _nodrain forms). Large copies use
 * non-temporal stores; the threshold comes from measurements (docs/pmem.md).
 * [signal-safe]
 */
void *pmem_memcpy_persist(const struct pmem *pm, void *dst, const void *src, size_t len);
void *pmem_memset_persist(const struct pmem *pm, void *dst, int c, size_t len);
void *pmem_memcpy_nodrain(const struct pmem *pm, void *dst, const void *src, size_t len);
void *pmem_memset_nodrain(const struct pmem *pm, void *dst, int c, size_t len);

/*
 * Bad blocks: poisoned media ranges, in bytes. Real devices report them in sysfs
 * (read at open); tests inject them. A read (pmem_read) touching poison fails
 * with -EIO; a write (pmem_write) that covers whole poisoned pages clears them
 * (the kernel's recovery-write rule); a partial write over poison fails with -EIO.
 */
int pmem_badblock_inject(struct pmem *pm, uint64_t off, uint64_t len);
/* pmem_badblock_check - -EIO if [off, off+len) touches poison, else 0. [signal-safe] */
int pmem_badblock_check(const struct pmem *pm, uint64_t off, uint64_t len);
/* Fills up to @max ranges; returns how many exist. */
int pmem_badblock_list(const struct pmem *pm, uint64_t *offs, uint64_t *lens, int max);
ssize_t pmem_read(struct pmem *pm, uint64_t off, void *buf, size_t len);
ssize_t pmem_write(struct pmem *pm, uint64_t off, const void *buf, size_t len);

/*
 * Power-loss recording, for tests: single-threaded use only, and a backing
 * being recorded loses the [signal-safe] property of its persistence calls.
 *
 * pmem_record_arm arms a recorder for the backing file @path; the next
 * pmem_open of that file attaches it, and from then on the backing's
 * pmem_flush, pmem_drain and pmem_memcpy/memset calls through windows made by
 * pmem_map are modelled at cache-line (64-byte) granularity: a flush or a
 * non-temporal store makes a snapshot of each line pending; a fence
 * (pmem_drain, or the one inside pmem_persist and the _persist copies) makes
 * the pending snapshots persistent; a line whose media contents differ from
 * its last snapshot (or from its persisted contents) holds stores no flush has
 * covered and is "in flight". Whatever the media held at the open is
 * persistent. A crash image may tear a line written back at 8-byte words.
 *
 * @fn, if not NULL, is called at every fence just before it takes effect, with
 * the number of fences before it: pmem_record_image called from @fn makes a
 * crash image of that moment. Recording costs a copy of the media twice over.
 */
struct pmem_recorder;
typedef void (*pmem_fence_fn)(struct pmem_recorder *rec, uint64_t fence, void *arg);

struct pmem_record_stats {
	uint64_t size;	    /* bytes of media recorded */
	uint64_t fences;    /* fences so far */
	uint64_t pending;   /* line snapshots since the last fence */
	uint64_t in_flight; /* lines stored but not covered by a flush */
	uint64_t unknown;   /* flushed lines outside any recorded window (ignored) */
	bool attached;	    /* the backing is open */
};

int pmem_record_arm(const char *path, pmem_fence_fn fn, void *arg, struct pmem_recorder **out);
/* Disarms or detaches, and frees. */
void pmem_record_free(struct pmem_recorder *rec);
void pmem_record_stats(const struct pmem_recorder *rec, struct pmem_record_stats *st);
/* Which of the lines a power loss may or may not write back are in a crash image. */
struct pmem_crash_pick {
	uint64_t seed;	   /* of the random choices */
	unsigned keep_pct; /* chance that each such line is written back (0: none, 100: all) */
	unsigned tear_pct; /* chance that a line written back is torn: only a random subset
			      of its 8-byte words, the unit x86 stores atomically */
};

/*
 * pmem_record_image - what the media could hold after a power loss now: the
 * persisted contents, then each pending snapshot (in order) and each in-flight
 * line written back or not as @how says. @out holds stats.size bytes.
 */
int pmem_record_image(const struct pmem_recorder *rec, const struct pmem_crash_pick *how,
		      void *out);

#endif
