/* SPDX-License-Identifier: MIT */
/* The handles of the public API (udax.h), shared by api.c and mmap.c. */
#ifndef UDAX_FS_API_INTERNAL_H
#define UDAX_FS_API_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct udaxfs;
struct udaxfs_node;

struct udax_fs {
	struct udaxfs *fs;
};

struct udax_file {
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

/* File pages [first, last] are about to lose or move their blocks: every
 * mapping in this process stops showing them and their index entries go. */
void api_break_layout(struct udax_file *f, uint64_t first, uint64_t last);
/* fsync: writes back what stores through mappings dirtied (src/dax/writeback.h). */
void api_writeback(struct udax_file *f);

/* File pages [first, last] just got blocks: mappings showing them as holes
 * (the zero window) fault again and see the data. */
void api_blocks_allocated(struct udax_file *f, uint64_t first, uint64_t last);

/* Some mapping in this process shows @f's inode. */
bool api_is_mapped(struct udax_file *f);

#endif
