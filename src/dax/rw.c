// SPDX-License-Identifier: MIT
/*
 * The read/write path of the DAX core (the kernel's dax_iomap_rw and
 * dax_iomap_iter): an iomap_begin/actor/iomap_end loop that copies each
 * extent directly, with no page cache in between.
 */
#include <errno.h>
#include <string.h>

#include "common/err.h"
#include "pmem/pmem.h"
#include "dax/rw.h"

static ssize_t dax_read_extent(const struct iomap *m, uint64_t pos, void *buf, size_t len)
{
	int ret;

	if (m->type == IOMAP_HOLE || m->type == IOMAP_UNWRITTEN) {
		memset(buf, 0, len);
		return (ssize_t)len;
	}
	ret = pmem_badblock_check(m->pm, m->addr + (pos - m->offset), len);
	if (ret)
		return udax_err(EIO, "read at media offset %llu: poisoned",
				(unsigned long long)(m->addr + (pos - m->offset)));
	memcpy(buf, (char *)m->base + m->addr + (pos - m->offset), len);
	return (ssize_t)len;
}

static ssize_t dax_write_extent(const struct iomap *m, uint64_t pos, const void *buf, size_t len)
{
	uint64_t off = m->addr + (pos - m->offset);

	if (m->type != IOMAP_MAPPED)
		return udax_err(EIO, "write at %llu: file system returned no mapping",
				(unsigned long long)pos);
	/* Poisoned media goes through the recovery write, which clears whole pages. */
	if (pmem_badblock_check(m->pm, off, len))
		return pmem_write(m->pm, off, buf, len);
	pmem_memcpy_persist(m->pm, (char *)m->base + off, buf, len);
	return (ssize_t)len;
}

/* One iomap_iter round: begin, copy at most the extent, end. */
static ssize_t dax_iomap_iter(struct dax_iocb *iocb, char *buf, uint64_t len)
{
	unsigned flags = iocb->write ? IOMAP_WRITE : 0;
	struct iomap m;
	ssize_t done;
	uint64_t chunk;
	int ret;

	ret = iocb->ops->iomap_begin(iocb->host, iocb->pos, len, flags, &m);
	if (ret)
		return ret;
	if (!iocb->write && (m.flags & IOMAP_F_SIZE) && m.size < iocb->i_size)
		iocb->i_size = m.size;
	if (!iocb->write && iocb->pos >= iocb->i_size) {
		done = 0; /* EOF moved below pos: a read stops there */
	} else if (m.offset > iocb->pos || m.offset + m.length <= iocb->pos) {
		done = udax_err(EIO, "iomap for %llu does not cover it",
				(unsigned long long)iocb->pos);
	} else {
		chunk = m.offset + m.length - iocb->pos;
		chunk = chunk < len ? chunk : len;
		if (!iocb->write && chunk > iocb->i_size - iocb->pos)
			chunk = iocb->i_size - iocb->pos;
		done = iocb->write ? dax_write_extent(&m, iocb->pos, buf, chunk)
				   : dax_read_extent(&m, iocb->pos, buf, chunk);
	}
	ret = iocb->ops->iomap_end(iocb->host, iocb->pos, len, done > 0 ? (uint64_t)done : 0, flags,
				   &m);
	return done < 0 ? done : ret ? ret : done;
}

ssize_t dax_iomap_rw(struct dax_iocb *iocb, void *buf, size_t len)
{
	uint64_t end = iocb->pos + len;
	size_t total = 0;
	ssize_t ret = 0;

	if (!len)
		return 0;
	if (!iocb->write) {
		if (iocb->pos >= iocb->i_size)
			return 0;
		if (end > iocb->i_size)
			end = iocb->i_size;
	}
	while (iocb->pos < end) {
		ret = dax_iomap_iter(iocb, (char *)buf + total, end - iocb->pos);
		if (ret <= 0)
			break;
		iocb->pos += (uint64_t)ret;
		total += (size_t)ret;
		if (!iocb->write && iocb->pos >= iocb->i_size)
			break;
	}
	return total ? (ssize_t)total : ret;
}
