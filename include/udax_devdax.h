/* SPDX-License-Identifier: MIT */
/*
 * udax_devdax.h - device-DAX regions (docs/devdax.md).
 *
 * A region is raw media mapped linearly: region byte N is media byte N, with
 * no file system, no index and no dirty tracking, as the kernel's device-DAX
 * (/dev/daxX.Y) gives it. A region is either a real /dev/daxX.Y (size and
 * alignment from sysfs) or an emulation over any backing path: a plain file,
 * a /dev/shm or tmpfs file, a huge=always tmpfs file, a hugetlbfs file. A
 * region may be a part of its backing (udax_devdax_opts.offset), such as the
 * raw region that mkfs reserved at the end of a udax pool (UDAX_DEVDAX_POOL).
 *
 * Mappings follow drivers/dax/device.c: shared only, offset, length and
 * address multiples of the region's alignment, and faults served in whole
 * alignment units. Stores reach the media directly; msync/fsync are no-ops
 * and persistence is the application's cache flushes (udax_devdax_persist).
 *
 * Conventions are those of udax.h: 0 (or a count) on success, a negative
 * errno on failure with a message in udax_errormsg(); handles are opaque.
 * Every call may be made from any thread.
 *
 * Regions, their handles and their mappings are local to the process: two
 * processes that open the same backing see the same bytes, but disabling or
 * resizing a region affects only the opener's process.
 */
#ifndef UDAX_DEVDAX_H
#define UDAX_DEVDAX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "udax.h"

#ifdef __cplusplus
extern "C" {
#endif

struct udax_devdax;

/* Open flags (udax_devdax_opts.flags). */
#define UDAX_DEVDAX_CREATE 0x1u /* create a regular file, or extend it, to opts.capacity */
#define UDAX_DEVDAX_RDONLY 0x2u /* no writable mappings (-EACCES) */
/*
 * Refuse (-EOPNOTSUPP) a backing that the kernel cannot map with pages of the
 * region's alignment (e.g. 1 GiB on anything but hugetlbfs with 1 GiB pages).
 * Without it such a backing is accepted: every mapping rule still holds, only
 * the kernel's page size is smaller (udax_devdax_info.page_size says which).
 */
#define UDAX_DEVDAX_EXACT_PAGES 0x4u
/*
 * @path is a udax pool and the region is (the start of) its raw region
 * (udax_mkfs_opts.raw_size, udax_pool_raw_region): offset 0 or the region's,
 * size 0 or at most the region's, which is also the capacity. The file
 * system's blocks are never part of it, so the region may be opened and used
 * while the pool is mounted, by this or another process, as a device-DAX
 * namespace sits next to a file system on one DIMM. Errors as
 * udax_pool_raw_region (-ENOENT: no raw region; -EUCLEAN), -EINVAL with
 * UDAX_DEVDAX_CREATE.
 */
#define UDAX_DEVDAX_POOL 0x8u

struct udax_devdax_opts {
	/*
	 * Mapping unit: 4096, 2 MiB or 1 GiB. 0: the device's own for /dev/dax
	 * (any other value must equal it), 2 MiB for an emulated region. On
	 * hugetlbfs it must be at least the huge page size (-EINVAL).
	 */
	uint64_t align;
	/*
	 * Region bytes, a multiple of align. 0: all of the backing, rounded down
	 * to align (-EINVAL if that is 0). /dev/dax: 0 or the device's size.
	 */
	uint64_t size;
	/* With UDAX_DEVDAX_CREATE: bytes of backing to create (a multiple of 4096). */
	uint64_t capacity;
	/*
	 * Backing offset of region byte 0, a multiple of align inside the
	 * backing (-EINVAL); the region may then hold the backing's bytes from
	 * there to its end. 0: from the start, as before.
	 */
	uint64_t offset;
	/*
	 * Bytes one fault maps at most: 0 maps from the faulting unit to the end
	 * of the mapping (fastest, docs/devdax.md); otherwise a power of two of
	 * at least align. Either way the kernel then maps the backing's pages.
	 */
	uint64_t map_run;
	unsigned flags; /* UDAX_DEVDAX_* */
};

/*
 * udax_devdax_open - open the region at @path (a /dev/daxX.Y or a backing
 * file). @opts: NULL for defaults. Opening a backing that is already open in
 * this process (same file) returns another handle to the same region, as a
 * second open of a /dev/dax does; its alignment must then be 0 or the same
 * (-EINVAL) and size 0 or the same (-EINVAL). "Same region" means the same
 * file and offset; regions of one file at other offsets must not overlap its
 * open regions' capacity (-EBUSY).
 * Errors: -EINVAL (alignment, offset, size, flags), -EOPNOTSUPP (EXACT_PAGES),
 * -ENOENT, -EACCES, -EBUSY, -EUCLEAN (UDAX_DEVDAX_POOL), and the errors of
 * the media layer.
 */
int udax_devdax_open(const char *path, const struct udax_devdax_opts *opts,
		     struct udax_devdax **out);

/*
 * udax_devdax_close - drop a handle. Mappings made through it stay valid (as
 * after close(2) of a mapped /dev/dax); the media is released when the last
 * handle and the last mapping are gone. Returns 0.
 */
int udax_devdax_close(struct udax_devdax *dd);

struct udax_devdax_info {
	uint64_t size;	    /* region bytes now */
	uint64_t align;	    /* mapping unit */
	uint64_t offset;    /* backing offset of region byte 0 */
	uint64_t capacity;  /* the most the region can grow to */
	uint64_t page_size; /* the page size the kernel maps the backing with (4K/2M/1G) */
	int real;	    /* 1: a real /dev/daxX.Y */
	int enabled;	    /* 0 once disabled */
	char kind[16];	    /* the backing's kind: "devdax", "huge-tmpfs", "hugetlbfs"... */
};

/* udax_devdax_get_info - what the region is now; works on a disabled region too. */
int udax_devdax_get_info(struct udax_devdax *dd, struct udax_devdax_info *info);

/*
 * udax_devdax_mmap - map region bytes [off, off + len), as mmap(2) of a
 * /dev/dax. @flags: MAP_SHARED or MAP_SHARED_VALIDATE, optionally with
 * MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_POPULATE, MAP_NORESERVE and (with
 * MAP_SHARED_VALIDATE) MAP_SYNC, which is accepted as the kernel does.
 * @prot: PROT_NONE, PROT_READ, PROT_READ|PROT_WRITE. Without MAP_FIXED the
 * address is a multiple of the larger of the alignment and 2 MiB (a hint is
 * used if it is one and free). Bytes past the region end may be mapped: an
 * access there raises SIGBUS (BUS_ADRERR) until the region grows over them.
 * Errors: -EINVAL (MAP_PRIVATE; @off, @len or a fixed @addr not a multiple of
 * the alignment; zero length), -EOPNOTSUPP (unknown flags with
 * MAP_SHARED_VALIDATE), -EACCES (writable on a read-only region), -ENXIO
 * (disabled), -ENOMEM, -EEXIST (MAP_FIXED_NOREPLACE).
 */
int udax_devdax_mmap(struct udax_devdax *dd, void *addr, size_t len, int prot, int flags, off_t off,
		     void **out);

/*
 * munmap / mprotect / mremap of device-DAX mappings. A mapping cannot be
 * split at an address that is not a multiple of its alignment (-EINVAL), as
 * the kernel's may_split refuses; mremap also needs @old_len and @new_len to
 * be multiples of it. Ranges that hold other udax mappings are handled as by
 * udax_munmap/udax_mprotect/udax_mremap. (Those generic calls skip the split
 * check; a piece they leave with unaligned bounds raises SIGBUS when touched,
 * and a device-DAX mapping that udax_mremap moved or grew raises SIGBUS on
 * every access: use these.)
 */
int udax_devdax_munmap(void *addr, size_t len);
int udax_devdax_mprotect(void *addr, size_t len, int prot);
int udax_devdax_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr,
		       void **out);

/*
 * udax_devdax_msync - msync(2) of a device-DAX mapping: nothing to write
 * back (no page cache, no dirty tracking), so it only checks its arguments:
 * -EINVAL (unaligned @addr, bad flags), -ENOMEM (not all of [addr, +len) is
 * a device-DAX mapping).
 */
int udax_devdax_msync(void *addr, size_t len, int flags);

/* udax_devdax_fsync - a no-op, as fsync(2) of a /dev/dax; -ENXIO once disabled. */
int udax_devdax_fsync(struct udax_devdax *dd);

/*
 * udax_devdax_persist - make stores to [addr, +len) of a mapping of @dd
 * durable: cache-line flushes and a fence on real pmem, msync on page-cache
 * backings, nothing on volatile ones (the backing's method, docs/pmem.md).
 */
void udax_devdax_persist(struct udax_devdax *dd, const void *addr, size_t len);

/*
 * udax_devdax_disable - revoke the region (kill_dev_dax): every mapping of it
 * in this process stops showing media before this returns, a later access
 * raises SIGBUS (BUS_ADRERR, si_addr the address), and every handle of it
 * gets -ENXIO from then on (except get_info and close). Disabling twice is
 * not an error. A later udax_devdax_open of the backing makes a new region.
 */
int udax_devdax_disable(struct udax_devdax *dd);

/*
 * udax_devdax_resize - the region now holds @size bytes (a multiple of the
 * alignment, at most the capacity). Shrinking, even while mapped: before the
 * call returns every mapping stops showing the bytes past the new end (an
 * access raises SIGBUS; a fault that raced with the shrink either completed
 * before it or sees the new size), and then the media of the freed bytes is
 * released (punched out of a file backing, so growing again shows zeros).
 * Growing makes the new bytes reachable through existing mappings that cover
 * them. Errors: -EINVAL (alignment), -ENOSPC (beyond capacity), -EOPNOTSUPP
 * (a real /dev/dax: resize it with daxctl), -ENXIO (disabled).
 */
int udax_devdax_resize(struct udax_devdax *dd, uint64_t size);

#ifdef __cplusplus
}
#endif

#endif
