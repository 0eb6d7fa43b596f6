/* SPDX-License-Identifier: MIT */
/*
 * vm/ - the process-local MMU of udax (docs/vm.md).
 *
 * A udax mapping is a reserved VA range (PROT_NONE) in which the SIGSEGV
 * handler installs windows of the media (mmap MAP_FIXED) as the application
 * touches it, following the DAX fault core (src/dax/fault.h). Functions return
 * 0 or -errno (with a message, udax_errormsg()) unless they say otherwise.
 */
#ifndef UDAX_VM_VM_H
#define UDAX_VM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/mman.h>

#include "dax/fault.h"

/* Flags vm_mmap accepts (the rest of mmap's are refused with -EINVAL). */
#define VM_MAP_FLAGS                                                                               \
	(MAP_SHARED | MAP_PRIVATE | MAP_SHARED_VALIDATE | MAP_FIXED | MAP_POPULATE |               \
	 MAP_FIXED_NOREPLACE | MAP_NORESERVE)

/*
 * vm_mmap - map [off, off + len) of @file. @file is copied; what it points
 * to must stay valid until the last mapping of it is gone. Without MAP_FIXED
 * the address is 2 MiB-aligned and congruent with @off modulo 2 MiB (@hint is
 * used only if it is). MAP_SHARED_VALIDATE|MAP_SYNC: -EOPNOTSUPP unless
 * @file->map_sync; MAP_SYNC without MAP_SHARED_VALIDATE is ignored.
 */
int vm_mmap(const struct dax_fault_file *file, void *hint, size_t len, int prot, int flags,
	    uint64_t off, void **addrp);
/* munmap / mprotect / mremap of udax mappings (-EINVAL if [addr, +len) holds none). */
int vm_munmap(void *addr, size_t len);
int vm_mprotect(void *addr, size_t len, int prot);
int vm_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr, void **addrp);

/*
 * vm_unmap_mapping_range - every mapping in this process stops showing file
 * pages [index, index + nr) of @m (unmap_mapping_pages, private copies kept);
 * the next access faults. For truncate and hole punch.
 */
void vm_unmap_mapping_range(struct dax_mapping *m, uint64_t index, uint64_t nr);

/*
 * vm_wrprotect_mapping_range - no mapping in this process lets file pages
 * [index, index + nr) of @m be stored to without a fault any more (the
 * kernel's dax_entry_mkclean): writeback calls it with the entry locked.
 */
void vm_wrprotect_mapping_range(struct dax_mapping *m, uint64_t index, uint64_t nr);

/*
 * vm_msync - msync(2) of udax mappings: MS_SYNC writes back the file range
 * shown by each shared mapping in [addr, +len) (its file's fsync_range);
 * MS_ASYNC and MS_INVALIDATE do nothing more, as on the kernel since 2.6.19.
 * -EINVAL for bad flags or an unaligned @addr, -ENOMEM if part of the range
 * is not a udax mapping (the mapped parts are still synced).
 */
int vm_msync(void *addr, size_t len, int flags);

/*
 * vm_persist - flush [addr, +len) of udax mappings to the media and fence
 * (pmem_persist for stores made through a mapping; what a MAP_SYNC user
 * calls). Pages not showing media are skipped. Flushes go through the
 * file's own view of the media (dax_fault_file.media), which is what the
 * power-loss recorder observes.
 */
void vm_persist(const void *addr, size_t len);

/*
 * vm_pin - take a reference on every media page under [addr, +len) of shared
 * file mappings (faulting them in first, for writing if @write), held until
 * vm_unpin: layout changes wait for it (src/dax/layout.h). -EFAULT if a page
 * is not in a udax mapping or cannot be mapped (beyond EOF, denied), -EINVAL
 * for private mappings and bad ranges, -ENOMEM.
 */
struct vm_pin;
int vm_pin(const void *addr, size_t len, bool write, struct vm_pin **pin);
void vm_unpin(struct vm_pin *pin);
/* Pages a pin holds, and the media page of the @i-th (UINT64_MAX past the end). */
uint64_t vm_pin_pages(const struct vm_pin *pin);
uint64_t vm_pin_pfn(const struct vm_pin *pin, uint64_t i);
/* Serves the fault an access to @addr would take, without a signal: 0 or -EFAULT. */
int vm_fault_at(const void *addr, bool write);

/* True if some mapping in this process maps a page of @m. */
bool vm_mapping_is_mapped(struct dax_mapping *m);

/*
 * vm_invalidate_range - file pages [index, index + nr) just got blocks from a
 * write(2) (IOMAP_F_NEW): unmap them everywhere and drop their zero entries,
 * so that no mapping keeps showing the zero window over the new data
 * (invalidate_inode_pages2_range in dax_iomap_iter; xfstests t_mmap_stale_pmd).
 */
void vm_invalidate_range(const struct dax_fault_file *f, uint64_t index, uint64_t nr);

/* Fault counters (the fs_dax tracepoints), per mapping and global. */
enum vm_fault_event {
	VM_FAULT_MAPPED,   /* media mapped */
	VM_FAULT_FALLBACK, /* PMD fault fell back to PTE */
	VM_FAULT_ZERO,	   /* hole mapped to the zero window */
	VM_FAULT_ALLOC,	   /* blocks allocated by a write fault */
	VM_FAULT_COW,	   /* private copy made */
	VM_FAULT_SIGBUS,   /* SIGBUS delivered */
	VM_FAULT_NR_EVENTS
};

enum vm_fault_order { VM_ORDER_PTE, VM_ORDER_PMD, VM_NR_ORDERS };

struct vm_fault_stats {
	uint64_t faults[VM_NR_ORDERS];			   /* fault attempts per order */
	uint64_t events[VM_NR_ORDERS][VM_FAULT_NR_EVENTS]; /* what they did */
	uint64_t around_pages;				   /* pages mapped by the fast path */
	uint64_t segv;					   /* SIGSEGV delivered (access denied) */
};

/* Counters of the mapping holding @addr (-EINVAL if none), or global if NULL. */
int vm_fault_stats(const void *addr, struct vm_fault_stats *st);

/* PMD coverage of [addr, addr + len), read from /proc/self/smaps. */
struct vm_pmd_coverage {
	uint64_t mapped;     /* bytes resident (Rss) */
	uint64_t pmd_mapped; /* of which mapped with 2 MiB pages */
};
int vm_pmd_coverage(const void *addr, size_t len, struct vm_pmd_coverage *cov);

/*
 * vm_copy_nofault - memcpy that never serves a fault on a udax mapping: it
 * stops at the first page that would need one and returns the bytes copied
 * (a multiple of what lies before that page). For code that holds udax locks
 * (the read/write path): on a short copy, drop the locks, vm_fault_in() the
 * page, take the locks again and copy the rest.
 */
size_t vm_copy_nofault(void *dst, const void *src, size_t len);

/* Touches [addr, addr + len) (a store of nothing if @write) so faults are served now. */
void vm_fault_in(const void *addr, size_t len, bool write);

/* Installs the SIGSEGV handler now (vm_mmap does it on first use). */
int vm_install_handler(void);

#endif
