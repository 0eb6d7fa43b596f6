/* SPDX-License-Identifier: MIT */
/* The application's SIGSEGV/SIGBUS dispositions beside udax's handler (signal.c). */
#ifndef UDAX_VM_SIGNAL_H
#define UDAX_VM_SIGNAL_H

#include <signal.h>
#include <ucontext.h>

/* Installs @handler for SIGSEGV once; the action it replaces becomes the application's. */
int vm_signal_install(void (*handler)(int, siginfo_t *, void *));
/* [signal-safe] Runs the application's SIGSEGV action for a fault that is not udax's. */
void vm_signal_chain(int sig, siginfo_t *si, void *uc);
/*
 * [signal-safe] Queues SIGBUS (BUS_ADRERR at @addr) to this thread; the
 * application's action runs when the SIGSEGV handler returns, with the
 * context of the faulting access (@uc, whose mask is fixed up as the kernel's
 * force_sig_fault would).
 */
void vm_deliver_sigbus(void *addr, ucontext_t *uc);

#endif
