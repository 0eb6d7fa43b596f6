// SPDX-License-Identifier: MIT
/*
 * The SIGSEGV handler: the user-space page fault.
 *
 * Why it is safe to serve a fault from a signal handler. A SIGSEGV for a
 * udax address is synchronous: the interrupted thread was executing a load
 * or store of a udax mapping. udax never touches a udax mapping while it
 * holds a lock (the read/write path copies with vm_copy_nofault, which makes
 * this handler jump back instead of serving), and neither libc's malloc nor
 * its other internal locks are held around loads and stores of application
 * buffers, except stdio's FILE locks, which nothing below takes. So at the
 * interrupted point the thread holds no lock that the fault path takes: the
 * mapping lock and entry locks (futexes in the arena), the registry pins
 * (atomics), and the iomap provider's own locks, which a provider likewise
 * never holds while touching a udax mapping. Other threads may hold those
 * locks; the handler then waits for them as normal code would. The handler
 * calls no stdio, allocates nothing itself, and maps with raw system calls.
 * errno is saved and restored.
 *
 * Under sanitizers: udax installs with glibc's __sigaction, so neither ASan's
 * nor TSan's sigaction interceptor wraps the handler; ASan's own SIGSEGV
 * handler (handle_segv=1, installed before main) is recorded as the
 * application's and still reports wild accesses. TSan delays only
 * asynchronous signals, and this one is synchronous and not routed through
 * TSan at all (docs/vm.md).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "vm/install.h"
#include "vm/linear.h"
#include "vm/signal.h"
#include "vm/vma.h"

/* The no-fault copy of the calling thread (initial-exec: no allocation on access). */
struct nofault {
	volatile sig_atomic_t active;
	sigjmp_buf env;
};
static _Thread_local struct nofault nofault __attribute__((tls_model("initial-exec")));

#if defined(__x86_64__)
static bool fault_is_write(const ucontext_t *uc)
{
	return uc->uc_mcontext.gregs[REG_ERR] & 0x2; /* page fault error code: W/R */
}
#elif defined(__aarch64__)
static bool fault_is_write(const ucontext_t *uc)
{
	const struct _aarch64_ctx *h = (const void *)uc->uc_mcontext.__reserved;

	for (; h->magic; h = (const void *)((const char *)h + h->size))
		if (h->magic == ESR_MAGIC)
			return ((const struct esr_context *)h)->esr & (1u << 6); /* WnR */
	return false;
}
#else
#error "the fault engine decodes the access type on x86-64 and arm64 only"
#endif

/* One attempt at @order, counted. */
static enum dax_fault_ret fault_order(struct vm_vma *v, uintptr_t addr, bool write,
				      unsigned int order)
{
	struct dax_vm_fault vmf = {
		.file = &v->obj->file,
		.vm = &vm_dax_ops,
		.vma = v,
		.address = addr,
		.vm_start = v->start,
		.vm_end = v->end,
		.vm_pgoff = v->pgoff,
		.write = write,
		.shared = v->shared,
		.fault_around = true,
		.write_on_read = v->prot & PROT_WRITE,
		.sync = v->obj->sync,
	};
	enum dax_fault_ret ret = dax_iomap_fault(&vmf, order);

	vm_count_fault(v->obj, order ? VM_ORDER_PMD : VM_ORDER_PTE, vmf.events, vmf.around_pages);
	return ret;
}

/* handle_mm_fault for a pinned udax area: PMD first, then PTE. Unpins @v. */
static void serve(struct vm_vma *v, siginfo_t *si, ucontext_t *uc)
{
	uintptr_t addr = (uintptr_t)si->si_addr;
	bool write = fault_is_write(uc);
	enum dax_fault_ret ret;

	if (v->prot == PROT_NONE || (write && !(v->prot & PROT_WRITE))) {
		vm_count_segv(v->obj);
		vma_put(v);
		si->si_code = SEGV_ACCERR;
		vm_signal_chain(SIGSEGV, si, uc);
		return;
	}
	if (vm_object_is_linear(v->obj)) {
		vm_linear_serve(v, si, uc);
		return;
	}
	vm_forget_faulting_page(v, addr, write);
	ret = fault_order(v, addr, write, DAX_PMD_ORDER);
	if (ret == DAX_FAULT_FALLBACK)
		ret = fault_order(v, addr, write, 0);
	vma_put(v);
	if (ret != DAX_FAULT_NOPAGE)
		vm_deliver_sigbus(si->si_addr, uc);
}

static void vm_segv_handler(int sig, siginfo_t *si, void *uc)
{
	int saved_errno = errno;
	struct vm_vma v;

	if (si->si_code <= 0 || !vma_get((uintptr_t)si->si_addr, &v)) {
		/* Sent by someone, or not a udax address. The application's handler
		 * may jump out of a no-fault copy: it then no longer runs. */
		sig_atomic_t in_copy = nofault.active;

		nofault.active = 0;
		vm_signal_chain(sig, si, uc);
		nofault.active = in_copy;
	} else if (nofault.active) {
		vma_put(&v);
		nofault.active = 0;
		siglongjmp(nofault.env, 1);
	} else {
		serve(&v, si, uc);
	}
	errno = saved_errno;
}

int vm_install_handler(void)
{
	int ret = vm_zero_init();

	return ret ? ret : vm_signal_install(vm_segv_handler);
}

static size_t page_left(const void *p)
{
	return DAX_PAGE_SIZE - (uintptr_t)p % DAX_PAGE_SIZE;
}

size_t vm_copy_nofault(void *dst, const void *src, size_t len)
{
	volatile size_t done = 0;
	size_t n;

	if (sigsetjmp(nofault.env, 1))
		return done;
	nofault.active = 1;
	while (done < len) {
		n = len - done;
		n = n < page_left((const char *)src + done) ? n
							    : page_left((const char *)src + done);
		n = n < page_left((char *)dst + done) ? n : page_left((char *)dst + done);
		memcpy((char *)dst + done, (const char *)src + done, n);
		done += n;
	}
	nofault.active = 0;
	return done;
}

void vm_fault_in(const void *addr, size_t len, bool write)
{
	const char *p = addr, *end = p + len;

	for (; p < end; p += page_left(p)) {
		if (write)
			__atomic_fetch_add((char *)p, 0, __ATOMIC_RELAXED);
		else
			(void)*(const volatile char *)p;
	}
}

int vm_fault_at(const void *addr, bool write)
{
	struct vm_vma v;
	enum dax_fault_ret ret;

	if (!vma_get((uintptr_t)addr, &v))
		return -EFAULT;
	if (v.prot == PROT_NONE || (write && !(v.prot & PROT_WRITE))) {
		vma_put(&v);
		return -EFAULT;
	}
	ret = fault_order(&v, (uintptr_t)addr, write, DAX_PMD_ORDER);
	if (ret == DAX_FAULT_FALLBACK)
		ret = fault_order(&v, (uintptr_t)addr, write, 0);
	vma_put(&v);
	return ret == DAX_FAULT_NOPAGE ? 0 : -EFAULT;
}
