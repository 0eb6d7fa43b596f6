/* SPDX-License-Identifier: MIT */
/*
 * devdax/ media: what backs a device-DAX region and which alignments and
 * sizes it can take (docs/devdax.md). Below the vm layer: no mappings here,
 * only the backing, its checks and the release of freed media.
 */
#ifndef UDAX_DEVDAX_MEDIA_H
#define UDAX_DEVDAX_MEDIA_H

#include <stdbool.h>
#include <stdint.h>

#include "pmem/pmem.h"

#define DEVDAX_4K (4ull << 10)
#define DEVDAX_2M (2ull << 20)
#define DEVDAX_1G (1ull << 30)

struct devdax_media_opts {
	uint64_t align;	   /* 0: the device's (real) or 2 MiB */
	uint64_t size;	   /* 0: all of it, rounded down to align */
	uint64_t capacity; /* with DEVDAX_M_CREATE */
	uint64_t offset;   /* backing offset of the region, a multiple of align */
	uint64_t limit;	   /* 0: the region may reach the backing's end; else its most bytes */
	unsigned flags;	   /* DEVDAX_M_* (the public UDAX_DEVDAX_* values) */
};

#define DEVDAX_M_CREATE	     0x1u
#define DEVDAX_M_RDONLY	     0x2u
#define DEVDAX_M_EXACT_PAGES 0x4u
#define DEVDAX_M_ALL	     0x7u

struct devdax_media {
	struct pmem *pm;    /* owned by the caller once opened */
	uint64_t align;	    /* mapping unit */
	uint64_t base;	    /* backing offset of region byte 0 */
	uint64_t size;	    /* region bytes */
	uint64_t capacity;  /* the most the region can hold */
	uint64_t page_size; /* what the kernel maps the backing with, at most align */
	bool real;	    /* a /dev/daxX.Y */
};

/*
 * Opens and checks the backing at @path; fills @m. The region is backing
 * bytes [offset, offset + capacity): capacity runs to the backing's end (or
 * @limit bytes), rounded down to the alignment.
 */
int devdax_media_open(const char *path, const struct devdax_media_opts *o, struct devdax_media *m);

/* The kernel's page size for windows of @pm in units of @align. */
uint64_t devdax_page_size(const struct pmem *pm, uint64_t align);

/*
 * Releases media [off, off + len) of an emulated region after a shrink
 * (punches it out of the file: growing again shows zeros). Best effort: a
 * backing that cannot punch keeps the bytes, which no mapping reaches.
 */
void devdax_media_release(struct pmem *pm, uint64_t off, uint64_t len);

#endif
