/* SPDX-License-Identifier: MIT */
/* VA reservations and what the fault core installs in them (install.c). */
#ifndef UDAX_VM_INSTALL_H
#define UDAX_VM_INSTALL_H

#include <stdbool.h>
#include <stdint.h>

#include "vm/vma.h"

/* The operations the fault core calls; the vma cookie is a pinned struct vm_vma. */
extern const struct dax_vm_ops vm_dax_ops;

/* Creates the shared zero memfd (2 MiB, sealed against writes) once. */
int vm_zero_init(void);

/*
 * A PROT_NONE reservation of @len bytes, 2 MiB-aligned and congruent with
 * @off modulo 2 MiB; at @hint if that is free and congruent.
 */
int vm_reserve(uint64_t len, uint64_t off, uintptr_t hint, uintptr_t *addrp);
/* The same with any power-of-two @align instead of 2 MiB. */
int vm_reserve_aligned(uint64_t len, uint64_t align, uint64_t off, uintptr_t hint,
		       uintptr_t *addrp);
/* Puts @v in the registry (-ENOMEM with a message when it is full). */
int vm_publish(const struct vm_vma *v);
/* A new mapping at the reserved [addr, +len): published, or the reservation undone. */
int vm_publish_new(struct vm_vma *v, uintptr_t addr, uint64_t len);
/* The same at exactly @addr (@noreplace: -EEXIST if something is there). */
int vm_reserve_fixed(uintptr_t addr, uint64_t len, bool noreplace);
/* [signal-safe] [addr, +len) becomes reservation again (nothing else is updated). */
int vm_reserve_again(uintptr_t addr, uint64_t len);

/*
 * [signal-safe] Calls @fn on each run of [addr, +len) in @v whose pages have
 * no private copy (the whole range for shared mappings); @delta is the run's
 * distance from @addr. Stops at the first error and returns it.
 */
typedef int (*vm_run_fn)(const struct vm_vma *v, uintptr_t addr, uint64_t len, uint64_t delta,
			 void *arg);
int vm_for_each_uncopied(const struct vm_vma *v, uintptr_t addr, uint64_t len, vm_run_fn fn,
			 void *arg);

/*
 * [signal-safe] A vm_run_fn: the run stops showing media (its page
 * references are dropped) and becomes reservation: the next access faults.
 */
int vm_reset_run(const struct vm_vma *v, uintptr_t addr, uint64_t len, uint64_t delta, void *arg);
/*
 * [signal-safe] What the page at @addr in @v shows into *@shown (media pfn + 1
 * | VM_SHOWN_WRITABLE, 0: nothing); false if the page has no shown-table entry.
 */
bool vm_shown_get(const struct vm_vma *v, uintptr_t addr, uint64_t *shown);
/* [signal-safe] Drops what [addr, +len) of @v shows from the shown table (and its references). */
void vm_release_pages(const struct vm_vma *v, uintptr_t addr, uint64_t len);
/* [signal-safe] The faulting page cannot show what the table says: forget it. */
void vm_forget_faulting_page(const struct vm_vma *v, uintptr_t addr, bool write);

#endif
