/* SPDX-License-Identifier: MIT */
/*
 * udaxfs as seen from the layers above it (the public API glue and the DAX
 * core, which reaches it through udaxfs_iomap_ops). Each call takes the fs
 * lock itself; I/O callers hold node->rw as fs.h describes.
 */
#ifndef UDAX_FS_UDAXFS_H
#define UDAX_FS_UDAXFS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "udax.h"
#include "dax/iomap.h"

struct udaxfs;
struct udaxfs_node;

int udaxfs_mkfs(const char *path, uint64_t size, uint64_t ninodes, uint64_t raw_size);
/* The raw region of the pool at @path, read without mounting (udax_pool_raw_region). */
int udaxfs_raw_region(const char *path, uint64_t *off, uint64_t *len);
int udaxfs_mount(const char *path, struct udaxfs **out);
int udaxfs_unmount(struct udaxfs *fs);
/* Populates the mapping of the pool; allocations then prefer known-zero space. */
int udaxfs_populate(struct udaxfs *fs);
/* Starts the thread that zeroes freed 2 MiB groups (UDAX_MOUNT_PREZERO). */
int udaxfs_prezero(struct udaxfs *fs);
int udaxfs_fsck(const char *path, unsigned flags, char **report);

/* Resolves (with O_CREAT: creates) @path and returns a reference to its node. */
int udaxfs_open(struct udaxfs *fs, const char *path, int flags, unsigned mode,
		struct udaxfs_node **out);
int udaxfs_opendir(struct udaxfs *fs, const char *path, struct udaxfs_node **out);
int udaxfs_close(struct udaxfs_node *node);
/*
 * node->rw (the kernel's i_rwsem): shared around a read, exclusive around a
 * write, truncate, fallocate or the freeing of an unlinked file. The
 * exclusive side also turns lockless reads away for its duration.
 */
void udaxfs_node_read_lock(struct udaxfs_node *node);
void udaxfs_node_read_unlock(struct udaxfs_node *node);
void udaxfs_node_write_lock(struct udaxfs_node *node);
void udaxfs_node_write_unlock(struct udaxfs_node *node);
/*
 * A read with no lock (readfast.c): copies [pos, pos + len), clipped at EOF,
 * if it lies in mapped extents a locked read here has looked up before and no
 * writer came in between. Returns the bytes copied, or -EAGAIN (nothing
 * copied, the buffer's first min(len, size - pos) bytes zeroed or untouched):
 * take node->rw shared and read through the DAX core instead.
 */
ssize_t udaxfs_read_fast(struct udaxfs_node *node, void *buf, size_t len, uint64_t pos);

int udaxfs_getattr(struct udaxfs_node *node, struct udax_stat *st);
/* The size alone: what the I/O path needs, without getattr's extent walk. */
int udaxfs_size(struct udaxfs_node *node, uint64_t *size);
int udaxfs_stat(struct udaxfs *fs, const char *path, struct udax_stat *st);
int udaxfs_readdir(struct udaxfs_node *dir, uint64_t *pos, struct udax_dirent *ent);

int udaxfs_mkdir(struct udaxfs *fs, const char *path, unsigned mode);
int udaxfs_rmdir(struct udaxfs *fs, const char *path);
int udaxfs_unlink(struct udaxfs *fs, const char *path);
int udaxfs_link(struct udaxfs *fs, const char *oldpath, const char *newpath);
int udaxfs_rename(struct udaxfs *fs, const char *oldpath, const char *newpath);

int udaxfs_truncate(struct udaxfs_node *node, uint64_t size);
int udaxfs_fallocate(struct udaxfs_node *node, int mode, uint64_t off, uint64_t len);
/*
 * Before a write of *@len bytes at *@pos (at the end of file if @append, and
 * *pos is set to it): fails with EFBIG at or past the maximum file size and
 * clips *len to it; extends the size to cover the write (stored in place:
 * fenced before the data unless the write only appends, whose bytes past a
 * size a crash lost stay out of the file through the inode's zero_from,
 * docs/udaxfs.md "Durability") and updates mtime; *old_size gets the prior
 * size. A write starting past EOF first zeroes the rest of the old
 * last block, where a mapping may have stored past EOF, and drains the zeros
 * before the size.
 * udaxfs_write_short: the write stopped at @end instead; shrink the size back
 * to max(old_size, end).
 */
int udaxfs_write_prepare(struct udaxfs_node *node, bool append, uint64_t *pos, uint64_t *len,
			 uint64_t *old_size);
int udaxfs_write_short(struct udaxfs_node *node, uint64_t old_size, uint64_t end);
int udaxfs_fiemap(struct udaxfs_node *node, struct udax_extent *ext, unsigned max);
int udaxfs_statfs(struct udaxfs *fs, struct udax_statfs *st);
/* Waits for earlier non-temporal stores and flushes to reach the media. */
void udaxfs_sync(struct udaxfs_node *node);
/* The inode number of @node (fixed while it is open). */
uint64_t udaxfs_node_ino(const struct udaxfs_node *node);
/* True if @node is unlinked and this is its last open reference. */
bool udaxfs_node_is_last(struct udaxfs_node *node);
/* Wakes threads waiting for pinned pages of @fs to go idle (they look again). */
void udaxfs_wake_layout_waiters(struct udaxfs *fs);
/* The media of @node's file system and its mapping of all of it. */
void udaxfs_media(struct udaxfs_node *node, struct pmem **pm, void **base);

#define UDAXFS_MAX_FILE_SIZE UDAX_FILE_SIZE_MAX

/* iomap ops for the DAX core; the host pointer is a struct udaxfs_node. */
extern const struct iomap_ops udaxfs_iomap_ops;

#endif
