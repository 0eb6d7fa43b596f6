// SPDX-License-Identifier: MIT
/*
 * Pins (get_user_pages for udax mappings): a reference on each media page
 * under a range of a shared mapping, held until unpin, so that a layout
 * change waits before it frees the page (src/dax/layout.h).
 *
 * Taking the reference races with a layout change that unmaps the page: the
 * pin takes the reference and then checks that the page still shows the
 * same media; the change unmaps and then reads the references. Both are
 * sequentially consistent atomics, so at least one sees the other: either
 * the pin retries (faulting, which waits for the change to finish) or the
 * change waits for the unpin.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "common/err.h"
#include "dax/layout.h"
#include "vm/install.h"
#include "vm/vma.h"

struct vm_pin_page {
	struct vm_object *obj; /* keeps the file's page_ref hook alive */
	uint64_t pfn;
};

struct vm_pin {
	uint64_t nr;
	struct vm_pin_page page[];
};

/*
 * True if @addr, which showed nothing (@s == 0) to a read pin, is a hole:
 * the read fault that maps it leaves it showing nothing (the zero window
 * is not media). A hole has no block to pin, so it is faulted for writing.
 */
static bool s_was_hole(uintptr_t addr, uint64_t s, bool write)
{
	struct vm_vma v;
	bool hole = false;
	uint64_t now;

	if (write || s || vm_fault_at((void *)addr, false) || !vma_get(addr, &v))
		return false;
	hole = vm_shown_get(&v, addr, &now) && !now;
	vma_put(&v);
	return hole;
}

/* Faults @addr in for a pin: -EAGAIN to look again, or -EFAULT. */
static int fault_for_pin(uintptr_t addr, bool write, int prot)
{
	if (write && !(prot & PROT_WRITE))
		return udax_err(EFAULT, "pin: %p is a hole in a read-only mapping: no block to pin",
				(void *)addr);
	if (vm_fault_at((void *)addr, write))
		return udax_err(EFAULT, "pin: no page can be mapped at %p (past EOF?)",
				(void *)addr);
	return -EAGAIN;
}

/* One page: 0 with a reference taken into *pp, -EAGAIN to look again, or -errno. */
static int pin_one(uintptr_t addr, bool write, struct vm_pin_page *pp)
{
	const struct dax_fault_file *f;
	struct vm_vma v;
	uint64_t s = 0, now;
	bool slot;
	int ret = 0;

	if (!vma_get(addr, &v))
		return udax_err(EFAULT, "pin: %p is not in a udax mapping", (void *)addr);
	f = &v.obj->file;
	slot = v.shared && f->page_ref && v.obj->shown && vm_shown_get(&v, addr, &s);
	if (!slot)
		ret = udax_err(EINVAL, "pin: %p is not in a shared mapping of a file", (void *)addr);
	else if (!s || (write && !(s & VM_SHOWN_WRITABLE)))
		ret = -EAGAIN; /* not shown (as needed) yet: fault it in */
	if (ret) {
		vma_put(&v);
		return ret == -EAGAIN ? fault_for_pin(addr, write || s_was_hole(addr, s, write),
						      v.prot)
				      : ret;
	}
	pp->pfn = (s & ~VM_SHOWN_WRITABLE) - 1;
	f->page_ref(f->host, pp->pfn, 1, 1);
	vm_shown_get(&v, addr, &now);
	if ((now & ~VM_SHOWN_WRITABLE) != pp->pfn + 1) {
		f->page_ref(f->host, pp->pfn, 1, -1); /* unmapped meanwhile */
		ret = -EAGAIN;
	} else {
		pp->obj = v.obj;
		vm_object_get(v.obj);
	}
	vma_put(&v);
	return ret;
}

/* Before taking any reference: wait out layout changes of the file at @addr. */
static void gate(uintptr_t addr)
{
	struct dax_mapping *m;
	struct vm_vma v;

	if (!vma_get(addr, &v))
		return;
	m = v.obj->file.mapping; /* indexes live as long as their arena */
	vma_put(&v);
	if (m)
		dax_layout_pin_gate(m);
}

static void unpin_page(struct vm_pin_page *pp)
{
	const struct dax_fault_file *f = &pp->obj->file;

	f->page_ref(f->host, pp->pfn, 1, -1);
	vm_object_put(pp->obj);
}

int vm_pin(const void *addr, size_t len, bool write, struct vm_pin **out)
{
	uintptr_t first = (uintptr_t)addr & ~(DAX_PAGE_SIZE - 1);
	uint64_t nr = len ? ((uintptr_t)addr + len - first + DAX_PAGE_SIZE - 1) >> DAX_PAGE_SHIFT : 0;
	struct vm_pin *pin;
	int ret = 0;

	if (!len || (uintptr_t)addr + len < (uintptr_t)addr)
		return udax_err(EINVAL, "pin(%p, %zu): bad range", addr, len);
	pin = malloc(sizeof(*pin) + nr * sizeof(pin->page[0]));
	if (!pin)
		return udax_err(ENOMEM, "pin: %llu pages", (unsigned long long)nr);
	gate(first);
	for (pin->nr = 0; pin->nr < nr && !ret;) {
		ret = pin_one(first + (pin->nr << DAX_PAGE_SHIFT), write, &pin->page[pin->nr]);
		if (!ret)
			pin->nr++;
		else if (ret == -EAGAIN)
			ret = 0;
	}
	if (ret) {
		vm_unpin(pin);
		return ret;
	}
	*out = pin;
	return 0;
}

void vm_unpin(struct vm_pin *pin)
{
	if (!pin)
		return;
	for (uint64_t i = 0; i < pin->nr; i++)
		unpin_page(&pin->page[i]);
	free(pin);
}

uint64_t vm_pin_pages(const struct vm_pin *pin)
{
	return pin->nr;
}

uint64_t vm_pin_pfn(const struct vm_pin *pin, uint64_t i)
{
	return i < pin->nr ? pin->page[i].pfn : UINT64_MAX;
}
