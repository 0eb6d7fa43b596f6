/* SPDX-License-Identifier: MIT */
/* The handles of the public API (udax.h), shared by api.c and mmap.c. */
#ifndef UDAX_FS_API_INTERNAL_H
#define UDAX_FS_API_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct udaxfs;
struct udaxfs_node;

struct udax_fs {
	struct udaxfs *fs;
	int layout_timeout_ms;	      /* wait for pinned pages: < 0 no limit */
	_Atomic uint32_t layout_cancel; /* bumped by udax_cancel_layout_waits */
};

struct udax_file {
	struct udax_fs *ufs;
	struct udaxfs_node *node;
	int flags;
	bool is_dir;
	pthread_mutex_t pos_lock; /* serializes read/write/lseek on pos */
	uint64_t pos;
};

struct udax_dir {
	struct udaxfs_node *node;
	uint64_t pos;
};

/*
 * File pages [first, last] are about to lose or move their blocks (the
 * protocol of src/dax/layout.h): new faults wait, every mapping in this
 * process stops showing the pages, pins on them are waited for, their index
 * entries go. On success the caller changes the layout and then calls
 * api_layout_end(@lo); on failure (-ETIMEDOUT, -EINTR) nothing changed.
 * Callers hold @f's node lock for writing.
 */
struct mapped_inode;
struct api_layout {
	struct mapped_inode *mi; /* NULL: the file was never mapped here */
};
int api_break_layout(struct udax_file *f, uint64_t first, uint64_t last, struct api_layout *lo);
/* The same with its own bound (< 0: none), not cancellable. */
int api_break_layout_wait(struct udax_file *f, uint64_t first, uint64_t last, int timeout_ms,
			  struct api_layout *lo);
void api_layout_end(struct api_layout *lo);
/* fsync: writes back what stores through mappings dirtied (src/dax/writeback.h). */
void api_writeback(struct udax_file *f);

/* File pages [first, last] just got blocks: mappings showing them as holes
 * (the zero window) fault again and see the data. */
void api_blocks_allocated(struct udax_file *f, uint64_t first, uint64_t last);

/* Some mapping in this process shows @f's inode. */
bool api_is_mapped(struct udax_file *f);
/* @f's inode was mapped in this process (its pages may still be pinned). */
bool api_was_mapped(struct udax_file *f);

#endif
