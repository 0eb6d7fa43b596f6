/* SPDX-License-Identifier: MIT */
/*
 * udaxfs internals shared by its modules.
 *
 * Locking (the only two locks of udaxfs):
 *  - fs->lock (mutex) protects every metadata block on the media, the open
 *    transaction and the open-node list. Every metadata operation takes it for
 *    its whole duration, so operations are serialized and each one is a single
 *    journal transaction.
 *  - node->rw (rwlock, the kernel's i_rwsem) is taken by the API around I/O on
 *    one file: shared for reads, exclusive for writes, truncate and fallocate.
 *    Data copies run under node->rw only, never under fs->lock, so the extent
 *    the DAX core copies to cannot be freed under it. Order: node->rw, then
 *    fs->lock. The one exception is the lockless read (readfast.c), which
 *    takes neither lock and throws its copy away if a holder of node->rw
 *    exclusive or a change of the extent map came in between.
 *
 * Metadata is read from the media through the transaction (tx_read), so
 * aborting a transaction is just dropping its shadow blocks. Two caches live
 * across operations, both under fs->lock: the name index of each directory
 * looked up (dcache.c; an abort that changed one drops them all) and the
 * extent map of each open file (node->map; extmap_store drops it, and it is
 * only loaded when the open transaction has no changes).
 */
#ifndef UDAX_FS_FS_H
#define UDAX_FS_FS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "fs/format.h"

struct pmem;

struct tx_block {
	uint64_t blk;
	uint8_t *buf;
};

/* Times of an inode to be stored in place once the transaction commits. */
struct tx_touch {
	uint64_t ino;
	int64_t mtime_ns, ctime_ns;
};

#define TX_TOUCH_MAX 4u
#define TX_SPARE_MAX 16u

/*
 * The one open transaction: shadow copies of the metadata blocks it changes,
 * and the inodes whose mtime and ctime alone it changes (inode_write_lazy).
 */
struct udaxfs_tx {
	unsigned n, ntouch;
	struct tx_block blocks[UDAXFS_TX_MAX];
	struct tx_touch touch[TX_TOUCH_MAX];
};

/* An inode's extent map, loaded into memory (extent.c). */
struct extmap {
	struct udaxfs_extent *e;
	uint32_t n, cap;
};

#define RC_EXTENTS 8u

/*
 * What a lockless read needs (readfast.c): a window of the committed extent
 * map, the inode's size field in place, and the sequence word that tells a
 * reader whether what it read still holds.
 */
struct read_cache {
	atomic_uint_fast64_t seq; /* writers inside (low 16 bits), writers gone (above) */
	atomic_uint n;
	struct {
		atomic_uint_fast64_t pblk;
		atomic_uint lblk, len;
	} e[RC_EXTENTS];
	const uint64_t *size;
};

/* An inode some handle has open; lives while refs > 0. */
struct udaxfs_node {
	struct udaxfs *fs;
	uint64_t ino;
	unsigned refs;
	pthread_rwlock_t rw;
	/*
	 * The extent map as committed, for iomap lookups (under fs->lock);
	 * extmap_store drops it (node_map_drop) whenever the map changes.
	 */
	struct extmap map;
	bool map_valid;
	struct read_cache rc;
	struct udaxfs_node *next;
};

struct udaxfs {
	struct pmem *pm;
	uint8_t *base; /* the whole pool, mapped */
	uint64_t size;
	struct udaxfs_super sb; /* validated copy */
	pthread_mutex_t lock;
	struct udaxfs_tx tx;
	uint64_t jseq;
	bool jlive; /* the header is COMMITTED over an applied log (journal_settle) */
	/*
	 * The zero mark as the open transaction sees it: allocations raise it
	 * (alloc_set); the commit journals it with the transaction (sb.zero_start),
	 * an abort drops it back to sb.zero_start.
	 */
	uint64_t zero_mark;
	uint64_t small_hint; /* allocator: where small allocations resume */
	bool populated;	     /* every page of the pool is mapped (udaxfs_populate) */
	uint64_t ino_hint;
	struct udaxfs_node *nodes;
	uint8_t *tx_spare[TX_SPARE_MAX]; /* shadow buffers kept for reuse */
	unsigned tx_nspare;
	uint8_t *jlog;		   /* the log of the committing transaction, staged (journal.c) */
	struct dcache_dir *dcache; /* name indexes (dcache.c) */
	bool dcache_dirty;	   /* an index changed in the open transaction */
	struct prezero *pz;	   /* UDAX_MOUNT_PREZERO's worker (prezero.c), or NULL */
};

static inline uint64_t blk_off(uint64_t blk)
{
	return blk << UDAXFS_BLOCK_SHIFT;
}

/* @bytes rounded up to a whole block. */
static inline uint64_t blk_round_up(uint64_t bytes)
{
	return (bytes + UDAXFS_BLOCK - 1) & ~(uint64_t)(UDAXFS_BLOCK - 1);
}

#define PMD_BYTES ((uint64_t)UDAXFS_PMD_BLOCKS << UDAXFS_BLOCK_SHIFT)

/* @bytes rounded up to a whole 2 MiB. */
static inline uint64_t pmd_round_up(uint64_t bytes)
{
	return (bytes + PMD_BYTES - 1) & ~(PMD_BYTES - 1);
}

/* super.c */
int super_read(struct udaxfs *fs, char *note, unsigned note_len);
int super_write(struct udaxfs *fs);
/* fs->sb with zero mark @zero_start and its checksum, into @out (the primary's journal image). */
void super_image(const struct udaxfs *fs, uint64_t zero_start, void *out);
/* Stores that image as the backup superblock and flushes it, without a fence. */
void super_store_backup_nodrain(struct udaxfs *fs, uint64_t zero_start);
/* Mount's check of the zero mark: in bounds, and no block at or above it in use. */
int super_check_zero_mark(struct udaxfs *fs);
int udaxfs_attach(const char *path, bool for_fsck, struct udaxfs **out);
void udaxfs_detach(struct udaxfs *fs);

/* journal.c: transactions over metadata blocks */
void journal_init(struct udaxfs *fs);
/* Frees what the transactions keep between operations (at detach). */
void journal_fini(struct udaxfs *fs);
void journal_settle(struct udaxfs *fs);
/*
 * fs_enter locks the fs and opens a transaction; fs_leave(fs, ret) commits it
 * (ret >= 0) or aborts it (ret < 0), unlocks and returns ret or the commit's
 * error. Each operation is: fs_enter(fs); return fs_leave(fs, do_op(...));
 */
void fs_enter(struct udaxfs *fs);
int fs_leave(struct udaxfs *fs, int ret);
void tx_begin(struct udaxfs *fs);
const void *tx_read(struct udaxfs *fs, uint64_t blk);
bool tx_has(struct udaxfs *fs, uint64_t blk);
int tx_write(struct udaxfs *fs, uint64_t blk, void **buf);
int tx_commit(struct udaxfs *fs);
void tx_abort(struct udaxfs *fs);
/* tx_end: commits (ret >= 0; returns ret or the commit's error) or aborts (returns ret). */
int tx_end(struct udaxfs *fs, int ret);
int journal_recover(struct udaxfs *fs, bool *replayed);
int journal_check(struct udaxfs *fs, char *why, unsigned why_len);

/* alloc.c: the free-space bitmap and the 2 MiB-aware allocator */
bool alloc_test(struct udaxfs *fs, uint64_t blk);
int alloc_set(struct udaxfs *fs, uint64_t blk, uint64_t len, bool used);
int alloc_small(struct udaxfs *fs, uint64_t want, uint64_t *blk, uint64_t *got);
/* A whole free 2 MiB group; *@zero if it is known to hold zeros (pre-zeroed). */
int alloc_huge(struct udaxfs *fs, uint64_t *blk, bool *zero);
uint64_t alloc_ngroups(const struct udaxfs *fs);
bool alloc_group_is_free(struct udaxfs *fs, uint64_t g);
uint64_t alloc_count_free(struct udaxfs *fs, uint64_t *free_pmd);

/*
 * prezero.c: zeroing freed 2 MiB groups ahead of their allocation
 * (UDAX_MOUNT_PREZERO; udaxfs_prezero starts it). All but stop are called
 * with fs->lock held and do nothing without the worker.
 */
void prezero_stop(struct udaxfs *fs);
/* Blocks were freed: the worker looks again. */
void prezero_freed(struct udaxfs *fs);
/* Blocks were allocated: their groups are no longer zeroed and free. */
void prezero_used(struct udaxfs *fs, uint64_t blk, uint64_t len);
/* A zeroed free group, if there is one. */
bool prezero_take(struct udaxfs *fs, uint64_t *g);
bool prezero_is_zero(struct udaxfs *fs, uint64_t g);
/* Group @g is being zeroed: allocations pass over it. */
bool prezero_busy(struct udaxfs *fs, uint64_t g);
/* Ends the zeroing in progress and hands its group back; false if there was none. */
bool prezero_steal(struct udaxfs *fs);
/* Free groups known to be zero. */
uint64_t prezero_count(struct udaxfs *fs);
/* The highest block in use in the bitmap plus one (data_start if none). */
uint64_t alloc_used_end(struct udaxfs *fs);

/* inode.c */
int64_t udaxfs_now_ns(void);
int inode_read(struct udaxfs *fs, uint64_t ino, struct udaxfs_inode *di);
int inode_write(struct udaxfs *fs, uint64_t ino, struct udaxfs_inode *di);
uint64_t inode_size(struct udaxfs *fs, uint64_t ino);
/* How a write's new size is ordered with its data (inode_set_size). */
enum size_order {
	SIZE_FIRST,  /* fenced before the data: a write that also overwrites, a shrink */
	SIZE_APPEND, /* data only past the old size: one epoch, zero_from raised first */
	SIZE_ALLOC,  /* data only into blocks the write allocates: their commit fences it */
};
/* Sets the size of open inode @ino and touches its mtime and ctime. */
int inode_set_size(struct udaxfs *fs, uint64_t ino, uint64_t size, enum size_order order);
/* At a file's first open in a mount: zeroes what a crashed append left past EOF. */
int inode_zero_past_eof(struct udaxfs *fs, uint64_t ino);
/* file.c: zeroes the mapped bytes of [off, off+len) in place and drains. */
void zero_mapped_bytes(struct udaxfs *fs, const struct extmap *m, uint64_t off, uint64_t len);
int inode_write_lazy(struct udaxfs *fs, uint64_t ino, struct udaxfs_inode *di);
void inode_touch_commit(struct udaxfs *fs);
int inode_alloc(struct udaxfs *fs, uint32_t mode, uint64_t *ino, struct udaxfs_inode *di);
bool inode_is_orphan(const struct udaxfs_inode *di);
int inode_release(struct udaxfs *fs, uint64_t ino);
bool inode_valid_ino(const struct udaxfs *fs, uint64_t ino);
int inode_check(const struct udaxfs *fs, uint64_t ino, const struct udaxfs_inode *di);
void inode_touch(struct udaxfs_inode *di, bool mtime);
struct udaxfs_node *node_get(struct udaxfs *fs, uint64_t ino);
int node_put(struct udaxfs_node *node);
bool node_is_open(struct udaxfs *fs, uint64_t ino);
void node_map_drop(struct udaxfs *fs, uint64_t ino);
const uint64_t *inode_size_home(const struct udaxfs *fs, uint64_t ino);

/* iomap.c: loads node->map if needed (at the start of an operation). */
int node_map(struct udaxfs *fs, struct udaxfs_node *node);

/* readfast.c: the lockless read's view of a node (under fs->lock but rc_write_*) */
void rc_init(struct udaxfs *fs, struct udaxfs_node *node);
void rc_write_begin(struct udaxfs_node *node);
void rc_write_end(struct udaxfs_node *node);
void rc_fill(struct udaxfs_node *node, uint32_t i);
void rc_drop(struct udaxfs_node *node);
int orphans_release(struct udaxfs *fs, unsigned *count);

/* extent.c: an inode's extent map, loaded into memory for one operation */
int extmap_load(struct udaxfs *fs, uint64_t ino, const struct udaxfs_inode *di, struct extmap *m);
int extmap_store(struct udaxfs *fs, uint64_t ino, struct udaxfs_inode *di, struct extmap *m);
/* A copy of @src in a new @dst (a valid, empty @dst on error). */
int extmap_copy(struct extmap *dst, const struct extmap *src);
void extmap_free(struct extmap *m);
uint32_t extmap_find(const struct extmap *m, uint64_t lblk);
int extmap_insert(struct extmap *m, uint64_t lblk, uint64_t pblk, uint64_t len);
int extmap_remove(struct udaxfs *fs, struct extmap *m, uint64_t lblk, uint64_t len);
/*
 * extmap_truncate frees every block at or past @lblk, from the end backwards.
 * Freeing can touch more bitmap blocks than one transaction holds, so it
 * commits its progress (the map and @di as they stand) whenever the
 * transaction is nearly full: the caller must have put @di in a state that is
 * consistent with any prefix of the freeing (size already set, or nlink 0).
 */
int extmap_truncate(struct udaxfs *fs, uint64_t ino, struct udaxfs_inode *di, struct extmap *m,
		    uint64_t lblk);
int extmap_shift(struct extmap *m, uint64_t from, uint64_t delta, bool down);
uint64_t extmap_hole_len(const struct extmap *m, uint64_t lblk, uint64_t max);
int extmap_chain_blocks(struct udaxfs *fs, uint64_t ino, const struct udaxfs_inode *di,
			uint64_t *blks, unsigned max);

/* dir.c */
struct dir_slot {
	uint64_t blk; /* media block of the directory block */
	unsigned idx;
};
/*
 * dir_scan calls @fn on every slot of directory @dir, in order, until it
 * returns non-zero (which dir_scan returns). @pos counts slots.
 */
typedef int (*slot_fn)(const struct udaxfs_dirblock *b, uint64_t blk, unsigned idx, uint64_t pos,
		       void *arg);
int dir_scan(struct udaxfs *fs, uint64_t dir, slot_fn fn, void *arg);
int dir_lookup(struct udaxfs *fs, uint64_t dir, const char *name, unsigned len, uint64_t *ino,
	       struct dir_slot *slot);
int dir_add(struct udaxfs *fs, uint64_t dir, struct udaxfs_inode *ddi, const char *name,
	    unsigned len, uint64_t ino, uint8_t type);
int dir_remove(struct udaxfs *fs, const struct dir_slot *slot);
int dir_block_init(struct udaxfs *fs, uint64_t dir, uint64_t blk);
int dir_set(struct udaxfs *fs, const struct dir_slot *slot, uint64_t ino, uint8_t type);
int dir_is_empty(struct udaxfs *fs, uint64_t dir);
int dir_entry_at(struct udaxfs *fs, uint64_t dir, uint64_t *pos, struct udaxfs_dirent *out);
int dir_block_check(const struct udaxfs *fs, uint64_t owner, const struct udaxfs_dirblock *b);

/* dcache.c: per-directory name indexes, under fs->lock */
struct dcache_dir;
/* The index of @dir, built by a validating scan if it has none yet. */
int dcache_get(struct udaxfs *fs, uint64_t dir, struct dcache_dir **out);
/* The index of @dir if it has one, else NULL. */
struct dcache_dir *dcache_find(struct udaxfs *fs, uint64_t dir);
/* 0 and the slot holding @name, or -ENOENT (no message). */
int dcache_lookup(struct udaxfs *fs, struct dcache_dir *d, const char *name, unsigned len,
		  struct dir_slot *slot);
int dcache_insert(struct udaxfs *fs, struct dcache_dir *d, const struct dir_slot *slot,
		  const char *name, unsigned len);
/* Forgets @name at @slot and makes the slot free. */
int dcache_remove(struct udaxfs *fs, struct dcache_dir *d, const struct dir_slot *slot,
		  const char *name, unsigned len);
bool dcache_take_free(struct udaxfs *fs, struct dcache_dir *d, struct dir_slot *slot);
int dcache_add_free(struct udaxfs *fs, struct dcache_dir *d, const struct dir_slot *slot);
void dcache_forget(struct udaxfs *fs, uint64_t dir);
void dcache_drop(struct udaxfs *fs);

/* file.c: size and allocation changes of regular files */
int file_alloc_range(struct udaxfs *fs, struct extmap *m, uint64_t lblk, uint64_t nblk,
		     bool huge_ok);
bool file_huge_policy(const struct udaxfs_inode *di, uint64_t end);

#endif
