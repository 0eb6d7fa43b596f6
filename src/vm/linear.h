/* SPDX-License-Identifier: MIT */
/*
 * Linear objects: mappings that show media at a fixed offset, with no index,
 * no dirty tracking and no private copies (device-DAX, docs/devdax.md).
 *
 * A struct vm_linear is the media of one region: [base, base + size) of a
 * pmem backing, mapped in units of @align (4 KiB, 2 MiB or 1 GiB). Mappings
 * hold a reference on it, so it outlives the region handle that created it.
 * Its faults are served by vm_linear_serve, not by the DAX fault core: the
 * first access to an unmapped unit installs a window of the media over a run
 * of whole units (the mapping's part up to the region end, or a bounded run),
 * and the kernel then maps the backing's own pages in that window.
 *
 * Revocation and shrinking follow the kernel's kill_dev_dax: the state change
 * is published first, faults already past their check are waited for (a
 * counter of faults in progress, the SRCU read side of dax_read_lock), then
 * every window of the affected range in this process goes back to being a
 * reservation. After vm_linear_revoke or a shrinking vm_linear_resize returns
 * no thread of this process can reach the media they took away; an access
 * raises SIGBUS (BUS_ADRERR) at the address.
 */
#ifndef UDAX_VM_LINEAR_H
#define UDAX_VM_LINEAR_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>

#include "pmem/pmem.h"
#include "vm/vma.h"

struct vm_linear;

struct vm_linear_params {
	uint64_t base;	/* media offset of the region's first byte (a multiple of align) */
	uint64_t size;	/* region bytes now (a multiple of align) */
	uint64_t align; /* mapping unit: 4 KiB, 2 MiB or 1 GiB */
	uint64_t run;	/* bytes a fault maps at most (a power of 2, >= align); 0: no bound */
	bool rdonly;	/* @pm is read-only: no writable mappings (-EACCES) */
};

/* A linear object over @pm, which it owns from now on (closed with the last reference). */
int vm_linear_create(struct pmem *pm, const struct vm_linear_params *p, struct vm_linear **out);
void vm_linear_get(struct vm_linear *l);
void vm_linear_put(struct vm_linear *l);

/* The current size, alignment, backing; false once revoked. */
uint64_t vm_linear_size(const struct vm_linear *l);
uint64_t vm_linear_align(const struct vm_linear *l);
struct pmem *vm_linear_pmem(const struct vm_linear *l);
bool vm_linear_alive(const struct vm_linear *l);

/*
 * vm_linear_mmap - map region bytes [off, off + len) as device-DAX's dax_mmap
 * does. @flags: MAP_SHARED or MAP_SHARED_VALIDATE (MAP_PRIVATE: -EINVAL),
 * with MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_POPULATE, MAP_NORESERVE, MAP_SYNC.
 * @off, @len and a fixed @hint must be multiples of the alignment (-EINVAL).
 * Without MAP_FIXED the address is a multiple of max(align, 2 MiB) plus
 * @off modulo that. Bytes past the region end may be mapped; they raise
 * SIGBUS until the region grows over them. -ENXIO once revoked.
 */
int vm_linear_mmap(struct vm_linear *l, void *hint, size_t len, int prot, int flags, uint64_t off,
		   void **addrp);

/*
 * munmap/mprotect/mremap with the kernel's may_split rule: a linear mapping
 * cannot be split at an address that is not a multiple of its alignment
 * (-EINVAL). Elsewhere they behave as vm_munmap/vm_mprotect/vm_mremap; a
 * range holding no linear mapping is passed to those unchanged.
 */
int vm_linear_munmap(void *addr, size_t len);
int vm_linear_mprotect(void *addr, size_t len, int prot);
int vm_linear_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr,
		     void **addrp);

/*
 * msync of linear mappings: nothing to write back, so only the checks:
 * -EINVAL (unaligned @addr, bad flags), -ENOMEM (part of the range is not a
 * linear mapping).
 */
int vm_linear_msync(void *addr, size_t len, int flags);

/* True if @addr is in a linear mapping (of @l, if not NULL). */
bool vm_linear_is_mapped_at(const void *addr, const struct vm_linear *l);

/* Every mapping of @l in this process stops showing media; later faults get SIGBUS. */
void vm_linear_revoke(struct vm_linear *l);

/*
 * vm_linear_resize - the region now has @size bytes (a multiple of align).
 * Shrinking unmaps everything past the new end in every mapping of @l before
 * it returns, so the caller may then free that media. Growing makes the new
 * bytes mappable. -ENXIO once revoked.
 */
int vm_linear_resize(struct vm_linear *l, uint64_t size);

/*
 * [signal-safe] The fault path of a linear area, called by serve() in fault.c
 * once the access is allowed by the area's protection. Unpins @v.
 */
void vm_linear_serve(struct vm_vma *v, siginfo_t *si, void *uc);

/* [signal-safe] True if @o is a linear object (or a copy of one made by vm_mremap). */
static inline bool vm_object_is_linear(const struct vm_object *o)
{
	return !o->file.mapping;
}

#endif
