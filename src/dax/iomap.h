/* SPDX-License-Identifier: MIT */
/*
 * The iomap interface between the DAX core and a file system (the kernel's
 * struct iomap + iomap_ops). For each step of an operation the DAX core calls
 * begin(host, pos, len, flags) and gets the extent that backs pos, then does
 * its work on at most that extent and calls end(..., written) with the bytes
 * it completed, always, also after an error (written = 0).
 */
#ifndef UDAX_DAX_IOMAP_H
#define UDAX_DAX_IOMAP_H

#include <stdint.h>

struct pmem;

/* iomap types */
#define IOMAP_HOLE	0 /* no blocks: reads as zeros */
#define IOMAP_MAPPED	1 /* blocks at addr */
#define IOMAP_UNWRITTEN 2 /* blocks at addr that read as zeros */

/* iomap flags set by the file system */
#define IOMAP_F_NEW   0x1 /* blocks were just allocated (and zeroed) */
#define IOMAP_F_DIRTY 0x2 /* metadata to reach this extent is not yet durable */
#define IOMAP_F_SIZE  0x4 /* size holds the file size as begin saw it */

/* operation flags passed to begin/end */
#define IOMAP_WRITE  0x1 /* allocate holes */
#define IOMAP_ZERO   0x2
#define IOMAP_REPORT 0x4 /* report extents only (FIEMAP, seek) */
#define IOMAP_FAULT  0x8 /* from a page fault */

struct iomap {
	uint64_t offset; /* file offset of the extent */
	uint64_t length; /* bytes */
	uint64_t addr;	 /* media offset of offset (MAPPED, UNWRITTEN) */
	uint16_t type;
	uint16_t flags;
	struct pmem *pm; /* the media */
	void *base;	 /* where the whole media is mapped: addr's data is base + addr */
	uint64_t size;	 /* with IOMAP_F_SIZE: the file size, consistent with the extent */
};

struct iomap_ops {
	int (*iomap_begin)(void *host, uint64_t pos, uint64_t len, unsigned flags,
			   struct iomap *iomap);
	int (*iomap_end)(void *host, uint64_t pos, uint64_t len, uint64_t written, unsigned flags,
			 struct iomap *iomap);
};

#endif
