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

#endif
