// SPDX-License-Identifier: MIT
/*
 * sigaction() and signal() for the whole process: libudax's interposers
 * (vm/signal.c), which record a program's SIGSEGV action beside udax's fault
 * handler instead of letting it replace that handler.
 *
 * The udax layers are linked into the shim with hidden symbols, so the shim
 * compiles vm/signal.c itself with these two declared exported; every symbol
 * of the archive's signal.o is then defined here and that copy is never
 * linked. glibc's other names of signal() are exported as well.
 */
#include <signal.h>

#include "posix/shim.h"

SHIM_API int sigaction(int sig, const struct sigaction *act, struct sigaction *oldact);
SHIM_API sighandler_t signal(int sig, sighandler_t handler);

#include "vm/signal.c"

SHIM_API sighandler_t bsd_signal(int sig, sighandler_t handler) __attribute__((alias("signal")));
SHIM_API sighandler_t ssignal(int sig, sighandler_t handler) __attribute__((alias("signal")));

/* System V semantics, as glibc's: reset to SIG_DFL on delivery, not blocked in the handler. */
SHIM_API sighandler_t __sysv_signal(int sig, sighandler_t handler)
{
	struct sigaction act = {.sa_handler = handler, .sa_flags = SA_RESETHAND | SA_NODEFER}, old;

	sigemptyset(&act.sa_mask);
	if (sigaction(sig, &act, &old))
		return SIG_ERR;
	return old.sa_handler;
}

SHIM_API sighandler_t sysv_signal(int sig, sighandler_t handler)
	__attribute__((alias("__sysv_signal")));
