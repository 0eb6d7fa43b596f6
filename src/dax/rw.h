/* SPDX-License-Identifier: MIT */
/* dax_iomap_rw: read(2)/write(2) on a DAX file, straight between buffer and media. */
#ifndef UDAX_DAX_RW_H
#define UDAX_DAX_RW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dax/iomap.h"

struct dax_iocb {
	void *host; /* the file system's inode */
	const struct iomap_ops *ops;
	uint64_t pos;	 /* advanced by the bytes done */
	uint64_t i_size; /* reads stop here, or at the size an extent reports (IOMAP_F_SIZE) */
	bool write;
};

/*
 * dax_iomap_rw - copy @len bytes between @buf and the file at iocb->pos.
 * The caller holds the file's I/O lock (shared for reads, exclusive for
 * writes) and, after a write, extends the file size to iocb->pos.
 * Reads stop at i_size, or earlier at the size begin reports with an extent
 * (IOMAP_F_SIZE: size and extent read under one lock, so a file system need
 * not be asked for the size separately), and return zeros for holes and
 * unwritten extents.
 * Writes use non-temporal stores and drain before returning, so the data is
 * durable on return. Returns the bytes done if any, else 0 or -errno
 * (-EIO: poisoned media on a read, or a partial write over poison).
 */
ssize_t dax_iomap_rw(struct dax_iocb *iocb, void *buf, size_t len);

#endif
