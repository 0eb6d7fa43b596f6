/* SPDX-License-Identifier: MIT */
/*
 * udax.h - the public interface of libudax.
 *
 * Conventions (every function in this header):
 *  - Functions that can fail return 0 (or a non-negative count) on success and
 *    a negative errno value on failure; they also leave a human-readable
 *    message, naming the object and the reason, that udax_errormsg() returns.
 *  - Handles are opaque.
 *
 * The header grows layer by layer; see docs/ for the guarantees of each call.
 */
#ifndef UDAX_H
#define UDAX_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * udax_errormsg - the message of the last failure in the calling thread.
 *
 * The string is owned by the library and stays valid until the next udax call
 * in the same thread fails. It is "" if no call has failed yet.
 */
const char *udax_errormsg(void);

/* ---------------------------------------------------------------------------
 * udaxfs: the file system of a pool (docs/udaxfs.md).
 *
 * Paths are absolute inside the pool ("/dir/file"; a missing leading '/' means
 * the same). Names are at most 255 bytes, paths at most 4095. Every metadata
 * operation (create, unlink, rename, mkdir, truncate, fallocate, block
 * allocation by a write, size change by a write) is atomic and durable when it
 * returns. Data written by udax_write/udax_pwrite is durable when the call
 * returns (non-temporal stores and a drain). udax_fsync/udax_fdatasync
 * therefore only order earlier stores; they are needed for stores made through
 * mappings (the DAX fault path) and for portability.
 *
 * Thread safety: all calls may be made concurrently on one mounted pool; one
 * struct udax_file may be shared by threads (reads and writes through it are
 * serialized on its file position).
 * ------------------------------------------------------------------------- */

#include <stdint.h>
#include <sys/types.h>

/* The largest file size: 2^32 - 1 blocks of 4 KiB. */
#define UDAX_FILE_SIZE_MAX (0xffffffffull << 12)

struct udax_fs;
struct udax_file;
struct udax_dir;

struct udax_mkfs_opts {
	uint64_t ninodes; /* 0: one inode per 32 KiB of pool, at most 2^20 */
	/*
	 * Bytes at the end of the pool reserved as one raw region for device-DAX
	 * (udax_pool_raw_region, docs/devdax.md); 0: none. A multiple of 2 MiB
	 * (-EINVAL). The region starts at a multiple of 1 GiB of the backing if
	 * raw_size is a multiple of 1 GiB, else of 2 MiB: the largest such start
	 * that leaves it room, and the file system ends there (it needs at least
	 * 8 MiB: -EINVAL). Bytes past the region's end (less than its alignment)
	 * are unused. mkfs does not write to the region.
	 */
	uint64_t raw_size;
};

/*
 * udax_mkfs - create an empty udaxfs on the pool at @path.
 * @size: bytes to use (a multiple of 4096, at least 8 MiB); a regular file is
 *        created or extended to it. 0 uses the whole existing pool.
 * @opts: NULL for defaults.
 * Errors: -EINVAL (size), -EBUSY (the pool is mounted), errors of the media layer.
 */
int udax_mkfs(const char *path, uint64_t size, const struct udax_mkfs_opts *opts);

/*
 * udax_pool_raw_region - where the raw region of the pool at @path lies:
 * bytes [*off, *off + *len) of the backing. Reads the superblock without
 * mounting, so it works while the pool is mounted by this or another process.
 * Errors: -ENOENT (the pool has none), -EUCLEAN (no sound superblock, or the
 * recorded region does not fit the backing), errors of the media layer.
 */
int udax_pool_raw_region(const char *pool, uint64_t *off, uint64_t *len);

/*
 * udax_mount - mount the pool at @path. Recovers after a crash of the previous
 * mounter (journal replay, release of unlinked-but-open files).
 * @flags: 0, or
 *   UDAX_MOUNT_POPULATE: give every page of the file system's mapping of the
 *     pool its page-table entry at mount (MADV_POPULATE_WRITE), as the
 *     kernel's direct map of a DAX device has them: udax's own reads, writes
 *     and metadata updates then take no page fault. On emulation backings
 *     (files, tmpfs, hugetlbfs) this gives the whole pool memory or blocks
 *     now. With every page present, allocations take known-zero free space
 *     first (docs/udaxfs.md, "Allocator"), which needs no zeroing. On a tmpfs
 *     backing of 4 KiB pages it also asks the kernel to move the pool into
 *     2 MiB pages mapped by PMDs (MADV_COLLAPSE, best effort: the mount does
 *     not fail without it), as a DAX device maps pmem; that copies the pool
 *     once, so such a mount takes about twice as long.
 *   UDAX_MOUNT_PREZERO: run a thread that zeroes 2 MiB groups as files free
 *     them, so that allocating one later (a write or a mapped store into a
 *     hole of a file of 2 MiB or more) does not zero 2 MiB on the way
 *     (docs/udaxfs.md, "Pre-zeroing"). It uses memory bandwidth in the
 *     background and one thread; what it zeroed is known to this mount only
 *     (udax_statfs: pmd_prezeroed).
 * Errors: -EBUSY (mounted by this or another process), -EUCLEAN (corrupt pool,
 *         the message says where), -EINVAL (unknown flags; POPULATE on a
 *         kernel before 5.14), -ENOMEM or -EFAULT (POPULATE: the backing
 *         cannot hold the pool), errors of the media layer.
 */
#define UDAX_MOUNT_POPULATE 0x1
#define UDAX_MOUNT_PREZERO  0x2
int udax_mount(const char *path, unsigned flags, struct udax_fs **fs);

/* udax_unmount - unmount; -EBUSY while files or directories are still open. */
int udax_unmount(struct udax_fs *fs);

/*
 * udax_open - open (O_CREAT: create) a regular file or, read-only, a directory.
 * @flags: O_RDONLY, O_WRONLY or O_RDWR, with O_CREAT, O_EXCL, O_TRUNC, O_APPEND,
 *         O_DIRECTORY; O_CLOEXEC, O_SYNC, O_DSYNC, O_DIRECT, O_NOATIME,
 *         O_NONBLOCK, O_NOCTTY, O_NOFOLLOW are accepted and change nothing.
 * @mode: permission bits for a new file.
 * Errors: -ENOENT, -EEXIST, -EISDIR, -ENOTDIR, -ENAMETOOLONG, -ENOSPC, -EINVAL.
 */
int udax_open(struct udax_fs *fs, const char *path, int flags, unsigned mode,
	      struct udax_file **file);

/* udax_close - close; the last close of an unlinked file frees it. */
int udax_close(struct udax_file *file);

/*
 * Data I/O, copying directly between @buf and the media. Reads stop at end of
 * file and return zeros for holes; writes allocate zeroed blocks in holes and
 * extend the file. 0 bytes return 0 at once.
 * A write that runs out of space writes what fits and returns that count.
 * Errors: -EBADF (wrong access mode), -EINVAL (negative offset), -EISDIR,
 *         -EFBIG (at the maximum file size), -ENOSPC (nothing fits),
 *         -EIO (poisoned media).
 */
ssize_t udax_pread(struct udax_file *file, void *buf, size_t len, off_t off);
ssize_t udax_pwrite(struct udax_file *file, const void *buf, size_t len, off_t off);
ssize_t udax_read(struct udax_file *file, void *buf, size_t len);
ssize_t udax_write(struct udax_file *file, const void *buf, size_t len);
/* @whence: SEEK_SET, SEEK_CUR, SEEK_END. Returns the new position or -EINVAL. */
off_t udax_lseek(struct udax_file *file, off_t off, int whence);

/* udax_ftruncate - set the size; blocks past the new end are freed. */
int udax_ftruncate(struct udax_file *file, off_t size);

/* fallocate modes: the values of Linux FALLOC_FL_*. */
#define UDAX_FALLOC_KEEP_SIZE	   0x01
#define UDAX_FALLOC_PUNCH_HOLE	   0x02
#define UDAX_FALLOC_COLLAPSE_RANGE 0x08
#define UDAX_FALLOC_ZERO_RANGE	   0x10
#define UDAX_FALLOC_INSERT_RANGE   0x20

/*
 * udax_fallocate - as fallocate(2). 0: allocate zeroed blocks and extend the
 * size; KEEP_SIZE: allocate only; PUNCH_HOLE (with KEEP_SIZE): free, and zero
 * partial blocks; ZERO_RANGE: make the range read as zeros, allocated;
 * COLLAPSE_RANGE / INSERT_RANGE (alone, 4 KiB-aligned): remove / insert a range
 * and shift the rest of the file.
 * Errors as fallocate(2): -EINVAL, -EOPNOTSUPP, -EBADF, -EFBIG, -ENOSPC.
 */
int udax_fallocate(struct udax_file *file, int mode, off_t off, off_t len);

/* udax_fsync, udax_fdatasync - make earlier stores to the file durable. */
int udax_fsync(struct udax_file *file);
int udax_fdatasync(struct udax_file *file);

struct udax_stat {
	uint64_t ino;
	uint32_t mode; /* S_IFREG or S_IFDIR | permissions */
	uint32_t nlink;
	uint32_t uid, gid;
	uint64_t size;
	uint64_t blocks; /* 4 KiB blocks allocated */
	int64_t atime_ns, mtime_ns, ctime_ns;
};

int udax_stat(struct udax_fs *fs, const char *path, struct udax_stat *st);
int udax_fstat(struct udax_file *file, struct udax_stat *st);

/* Namespace operations, with the errors of their POSIX namesakes. */
int udax_unlink(struct udax_fs *fs, const char *path);
int udax_link(struct udax_fs *fs, const char *oldpath, const char *newpath);
/* udax_rename - atomic, replacing an existing target (as rename(2)). */
int udax_rename(struct udax_fs *fs, const char *oldpath, const char *newpath);
int udax_mkdir(struct udax_fs *fs, const char *path, unsigned mode);
int udax_rmdir(struct udax_fs *fs, const char *path);

struct udax_dirent {
	uint64_t ino;
	uint8_t type; /* DT_REG or DT_DIR */
	char name[256];
};

int udax_opendir(struct udax_fs *fs, const char *path, struct udax_dir **dir);
/* udax_readdir - 1 and the next entry ("." and ".." first), 0 at the end, or -errno. */
int udax_readdir(struct udax_dir *dir, struct udax_dirent *ent);
int udax_closedir(struct udax_dir *dir);

struct udax_statfs {
	uint64_t block_size;
	uint64_t blocks;      /* data blocks */
	uint64_t blocks_free;
	uint64_t pmd_free;    /* free, aligned 2 MiB ranges */
	uint64_t pmd_prezeroed; /* of them, zeroed ahead (UDAX_MOUNT_PREZERO) */
	uint64_t inodes;
	uint64_t inodes_free;
	uint32_t name_max;
};

int udax_statfs(struct udax_fs *fs, struct udax_statfs *st);

#define UDAX_EXTENT_PMD 0x1 /* logical and physical are congruent modulo 2 MiB */

struct udax_extent {
	uint64_t logical;  /* file offset */
	uint64_t physical; /* media offset */
	uint64_t length;
	uint64_t pmd_bytes; /* bytes in whole 2 MiB ranges a PMD can map */
	uint32_t flags;
};

/*
 * udax_fiemap - the file's extents, in file order. Fills at most @max and
 * returns how many the file has (call with max = 0 to size the array).
 */
int udax_fiemap(struct udax_file *file, struct udax_extent *ext, unsigned max);

#define UDAX_FSCK_REPAIR 0x1

/*
 * udax_fsck - check an unmounted pool: superblocks, journal, every inode and
 * extent, directory tree, link counts and the free-space bitmap.
 * @report: set to a malloc'ed text, one line per problem (free() it); may be NULL.
 * Returns the number of problems found (0: consistent), or -errno if the pool
 * could not be checked (-EBUSY if mounted). With UDAX_FSCK_REPAIR, fixes what
 * it can (link counts, bitmap, dangling entries, unreachable inodes).
 */
int udax_fsck(const char *path, unsigned flags, char **report);

/* ---------------------------------------------------------------------------
 * Memory mappings (docs/vm.md): loads and stores straight to the media.
 *
 * Faults are served in user space from a SIGSEGV handler that libudax
 * installs at the first mapping; the program's own SIGSEGV handlers, installed
 * with sigaction() or signal() before or after, keep working for its own
 * addresses. An access past end of file raises SIGBUS (BUS_ADRERR); a store
 * to a read-only mapping raises SIGSEGV (SEGV_ACCERR). A mapping must not
 * outlive every open file of its inode.
 * ------------------------------------------------------------------------- */

/*
 * udax_mmap - as mmap(2) on @file: MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE,
 * with MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_POPULATE; prot PROT_READ/PROT_WRITE
 * (no PROT_EXEC). Without MAP_FIXED the address is 2 MiB-aligned and congruent
 * with @off modulo 2 MiB, so 2 MiB extents are mapped by PMDs.
 * MAP_SHARED_VALIDATE|MAP_SYNC: every block a store can reach is reachable
 * after a crash once the store is flushed (udax_persist, or the CPU's own
 * cache flush on real pmem), with no msync or fsync; granted only where
 * flushed stores persist (pmem, device-DAX, or a pool opened with
 * UDAX_FORCE_FLUSH=1 for tests), else -EOPNOTSUPP, as the kernel does.
 * With plain MAP_SHARED, MAP_SYNC is ignored; with MAP_SHARED_VALIDATE,
 * unknown flags give -EOPNOTSUPP.
 * Durability of other stores through a mapping: udax_fsync, udax_fdatasync or
 * udax_msync(MS_SYNC) flush what stores may have changed since the last one,
 * tracked per 2 MiB block of the file (the first store into an unmapped
 * extent counts for all of it; docs/durability.md).
 * Errors: -EACCES (access mode), -EINVAL, -ENOMEM, -EOPNOTSUPP.
 */
int udax_mmap(struct udax_file *file, void *addr, size_t len, int prot, int flags, off_t off,
	      void **out);
/* munmap / mprotect / mremap of udax mappings; -EINVAL (-EFAULT for mremap) elsewhere. */
int udax_munmap(void *addr, size_t len);
int udax_mprotect(void *addr, size_t len, int prot);
int udax_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr,
		void **out);
/*
 * udax_msync - msync(2): MS_SYNC writes back what stores dirtied in the file
 * range each shared mapping in [addr, +len) shows; MS_ASYNC and MS_INVALIDATE
 * need nothing (as on Linux). Errors: -EINVAL (flags, unaligned @addr),
 * -ENOMEM (part of the range is not a udax mapping; the rest is synced).
 */
int udax_msync(void *addr, size_t len, int flags);
/*
 * Pins: the analogue of get_user_pages, for handing mapped memory to a DMA
 * engine, io_uring fixed buffers or a long copy on another thread.
 * udax_pin takes a reference on every media page under [addr, +len) of
 * shared mappings of udax files, faulting pages in first (for writing with
 * UDAX_PIN_WRITE). A hole is allocated even for a read pin: the zero page it
 * shows has no block to hold (in a read-only mapping: -EFAULT). Until
 * udax_unpin, a truncate, hole punch, zero, collapse or insert over those
 * pages, and the release of an unlinked file, wait (docs/durability.md,
 * "Layout changes"): the pinned memory keeps its blocks. A pin outlives
 * munmap of the range.
 * Errors: -EFAULT (not a udax mapping, or no page can be mapped: past EOF,
 * access denied), -EINVAL (private mapping, empty range, flags), -ENOMEM.
 */
#define UDAX_PIN_WRITE 0x1
struct udax_pin;
int udax_pin(const void *addr, size_t len, int flags, struct udax_pin **pin);
void udax_unpin(struct udax_pin *pin);
/*
 * What a device needs to reach pinned memory without the mapping (which a
 * layout change unmaps before it waits): the number of 4 KiB pages pinned,
 * and the byte offset in the pool's backing of the @i-th (-EINVAL past them).
 */
uint64_t udax_pin_pages(const struct udax_pin *pin);
int64_t udax_pin_media_offset(const struct udax_pin *pin, uint64_t i);

/*
 * How long layout changes (ftruncate, fallocate modes that free or move
 * blocks, O_TRUNC) wait for pinned pages of the pool: @timeout_ms < 0 (the
 * default) waits for ever; otherwise they fail with -ETIMEDOUT after it.
 * udax_cancel_layout_waits makes the waits in progress fail with -EINTR.
 * A change that fails so has changed nothing. The release of an unlinked
 * file at its last close always waits.
 */
int udax_set_layout_timeout(struct udax_fs *fs, int timeout_ms);
void udax_cancel_layout_waits(struct udax_fs *fs);

/*
 * udax_persist - flush [addr, +len) of udax mappings to the media and wait
 * (pmem_persist for mapped stores). Addresses that show no media are skipped.
 */
void udax_persist(const void *addr, size_t len);

/* Fault counters ([0]: 4 KiB faults, [1]: 2 MiB faults), like the fs_dax tracepoints. */
struct udax_fault_stats {
	uint64_t faults[2];   /* attempts */
	uint64_t mapped[2];   /* media mapped */
	uint64_t fallback[2]; /* 2 MiB impossible, retried with 4 KiB */
	uint64_t zero[2];     /* hole mapped to the zero page */
	uint64_t alloc[2];    /* blocks allocated by a write fault */
	uint64_t cow[2];      /* private copies */
	uint64_t sigbus[2];   /* SIGBUS delivered */
	uint64_t around_pages; /* pages mapped ahead of faults (whole extents) */
	uint64_t segv;	       /* SIGSEGV delivered for denied access */
};

/* Counters of the mapping holding @addr, or of the whole process if @addr is NULL. */
int udax_fault_stats(const void *addr, struct udax_fault_stats *st);

/*
 * Writeback counters of the process (fsync, fdatasync, msync(MS_SYNC) and
 * remapping of files with dirty entries), like the dax_writeback_* tracepoints.
 */
struct udax_writeback_stats {
	uint64_t writebacks; /* ranges written back on media that can persist */
	uint64_t entries;    /* dirty entries flushed (4 KiB or 2 MiB each) */
	uint64_t bytes;	     /* bytes flushed */
};
int udax_writeback_stats(struct udax_writeback_stats *st);

struct udax_pmd_coverage {
	uint64_t mapped;     /* bytes resident */
	uint64_t pmd_mapped; /* of which mapped with 2 MiB pages (from /proc/self/smaps) */
};

int udax_pmd_coverage(const void *addr, size_t len, struct udax_pmd_coverage *cov);

/* ---------------------------------------------------------------------------
 * Pool information (the `udax info` command, docs/man/udax-info.md).
 * ------------------------------------------------------------------------- */

struct udax_info {
	/* the superblock (docs/udaxfs.md, "On-media format") */
	uint32_t version;	 /* on-media format version */
	uint8_t uuid[16];	 /* set by mkfs */
	uint64_t mount_count;	 /* mounts so far, the caller's included */
	uint64_t block_size;	 /* 4096 */
	uint64_t nblocks;	 /* blocks in the file system, metadata included */
	uint64_t journal_blocks; /* metadata areas, in blocks */
	uint64_t bitmap_blocks;
	uint64_t itable_blocks;
	uint64_t data_start; /* first data block, a multiple of 512 (2 MiB) */
	uint64_t raw_offset; /* the raw region (udax_mkfs_opts.raw_size): backing offset */
	uint64_t raw_size;   /* ... and bytes; 0: none (it may not fit a corrupt pool) */
	/* the backing, as the media layer classified it (docs/pmem.md); static strings */
	uint64_t media_size;	 /* bytes */
	const char *kind;	 /* devdax, fsdax, pagecache, tmpfs, huge-tmpfs, hugetlbfs, memfd */
	const char *granularity; /* byte, cache-line or page */
	const char *persist;	 /* what makes stores durable: none, fence, flush or msync */
	const char *flush_insn;	 /* clwb, clflushopt, clflush or none */
	uint8_t pmd_capable;	 /* the kernel maps aligned 2 MiB windows with PMDs */
	uint8_t pud_capable;	 /* ... and aligned 1 GiB windows with PUDs */
	uint8_t is_volatile;	 /* contents are lost at power-off */
	char reason[256];	 /* one line: why this kind, granularity and method */
	/* free space as maximal runs of free data blocks (udax_statfs has the totals) */
	uint64_t free_runs;
	uint64_t free_runs_small; /* runs shorter than 16 blocks (64 KiB) */
	uint64_t free_run_max;	  /* blocks in the longest run */
	/*
	 * the zero mark (docs/udaxfs.md, "Known-zero free space"): blocks from
	 * zero_start to nblocks are free and read as zero, so allocating them
	 * needs no zeroing; nblocks when nothing is known to be zero
	 */
	uint64_t zero_start;
};

/* udax_info - facts about the mounted pool @fs. Errors: -EFAULT (NULL argument). */
int udax_info(struct udax_fs *fs, struct udax_info *info);

#ifdef __cplusplus
}
#endif

#endif /* UDAX_H */
