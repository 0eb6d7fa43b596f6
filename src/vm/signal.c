// SPDX-License-Identifier: MIT
/*
 * The application's SIGSEGV disposition, kept apart from udax's handler.
 *
 * udax's handler stays installed from the first mapping on. sigaction() and
 * signal() are defined here, so a program linked with libudax that installs
 * its own SIGSEGV handler, before or after udax, has it recorded instead and
 * gets its previous action back in oldact; udax chains to it for every fault
 * that is not udax's. Other signals go straight to the next definition
 * (a sanitizer's interceptor or libc). udax itself installs with glibc's
 * __sigaction, below any interceptor: under ASan, whose SIGSEGV handler is
 * installed before main, that handler becomes the "application's" one and
 * still reports the program's own wild accesses.
 *
 * The recorded action is read by the handler without locks: writers (under
 * app_lock) fill the inactive copy and flip app_cur; a reader copies the
 * current one and retries if app_seq moved meanwhile. app_lock is never held
 * while touching caller memory, so no fault can interrupt its holder, and
 * the handler may take it (SA_RESETHAND).
 *
 * udax has no SIGBUS handler: the application's SIGBUS action is installed
 * as it asks, and udax delivers SIGBUS through it (vm_deliver_sigbus).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vm/signal.h"

extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *oldact);

static pthread_mutex_t app_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction app_act[2];
static _Atomic int app_cur;
static _Atomic uint64_t app_seq;
static _Atomic bool udax_installed;
/*
 * The action the application installed before udax, as it sees it: under
 * a sanitizer the kernel holds the sanitizer's wrapper instead (which udax
 * chains to), but oldact must still name the application's own handler.
 * Valid until the application installs another one. Guarded by app_lock.
 */
static struct sigaction app_seen;
static bool app_seen_valid;

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);

static sigaction_fn next_sigaction(void)
{
	static _Atomic(sigaction_fn) fn;
	sigaction_fn f = atomic_load(&fn);

	if (!f) {
		f = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
		atomic_store(&fn, f ? f : __sigaction);
		f = atomic_load(&fn);
	}
	return f;
}

/* [signal-safe] A consistent copy of the application's SIGSEGV action. */
static void app_action(struct sigaction *out)
{
	uint64_t s;

	do {
		s = atomic_load(&app_seq);
		*out = app_act[atomic_load(&app_cur)];
	} while (atomic_fetch_add(&app_seq, 0) != s); /* orders the copy before it */
}

/* Callers hold app_lock. */
static void set_app_action(const struct sigaction *act)
{
	int next = !atomic_load(&app_cur);

	atomic_fetch_add(&app_seq, 1);
	app_act[next] = *act;
	atomic_store(&app_cur, next);
	atomic_fetch_add(&app_seq, 1);
}

int vm_signal_install(void (*handler)(int, siginfo_t *, void *))
{
	struct sigaction ours = {.sa_sigaction = handler, .sa_flags = SA_SIGINFO | SA_NODEFER};
	struct sigaction prev;
	int ret = 0;

	pthread_mutex_lock(&app_lock);
	if (!atomic_load(&udax_installed)) {
		sigemptyset(&ours.sa_mask);
		app_seen_valid = !next_sigaction()(SIGSEGV, NULL, &app_seen);
		ret = __sigaction(SIGSEGV, &ours, &prev);
		if (!ret) {
			set_app_action(&prev);
			atomic_store(&udax_installed, true);
		}
	}
	pthread_mutex_unlock(&app_lock);
	return ret ? -errno : 0;
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *oldact)
{
	struct sigaction prev, new;

	if (sig != SIGSEGV)
		return next_sigaction()(sig, act, oldact);
	if (act)
		new = *act;
	pthread_mutex_lock(&app_lock);
	if (!atomic_load(&udax_installed)) {
		pthread_mutex_unlock(&app_lock);
		return next_sigaction()(sig, act, oldact);
	}
	app_action(&prev);
	if (app_seen_valid)
		prev = app_seen;
	if (act) {
		set_app_action(&new);
		app_seen_valid = false;
	}
	pthread_mutex_unlock(&app_lock);
	if (oldact)
		*oldact = prev;
	return 0;
}

/* BSD semantics, as glibc's signal(): restart system calls, block the signal in the handler. */
sighandler_t signal(int sig, sighandler_t handler)
{
	struct sigaction act = {.sa_handler = handler, .sa_flags = SA_RESTART}, old;

	sigemptyset(&act.sa_mask);
	sigaddset(&act.sa_mask, sig);
	if (sigaction(sig, &act, &old))
		return SIG_ERR;
	return old.sa_handler;
}

static pid_t gettid_raw(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* [signal-safe] The default action of @sig happens to this thread now (or at its retry). */
static void default_action(int sig, const siginfo_t *si)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t unblock;

	sigemptyset(&dfl.sa_mask);
	__sigaction(sig, &dfl, NULL);
	sigemptyset(&unblock);
	sigaddset(&unblock, sig);
	pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
	/* A fault repeats when the handler returns; a sent signal must be sent again. */
	if (si->si_code <= 0)
		syscall(SYS_tgkill, getpid(), gettid_raw(), sig);
}

/*
 * The application's handler runs with its sa_mask blocked, but never with
 * SIGSEGV blocked, even without SA_NODEFER: it must be able to touch udax
 * mappings. The difference from the kernel: a second wild access inside that
 * handler re-enters it instead of killing the process at once.
 */
void vm_signal_chain(int sig, siginfo_t *si, void *uc)
{
	struct sigaction act;
	sigset_t mask, old;

	app_action(&act);
	if (act.sa_handler == SIG_IGN && si->si_code <= 0)
		return;
	if (act.sa_handler == SIG_DFL || act.sa_handler == SIG_IGN) {
		default_action(sig, si); /* a faulting SIGSEGV cannot be ignored */
		return;
	}
	if (act.sa_flags & SA_RESETHAND) {
		struct sigaction dfl = {.sa_handler = SIG_DFL};

		pthread_mutex_lock(&app_lock);
		set_app_action(&dfl);
		app_seen_valid = false;
		pthread_mutex_unlock(&app_lock);
	}
	mask = act.sa_mask;
	sigdelset(&mask, SIGSEGV);
	pthread_sigmask(SIG_BLOCK, &mask, &old);
	if (act.sa_flags & SA_SIGINFO)
		act.sa_sigaction(sig, si, uc);
	else
		act.sa_handler(sig);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void vm_deliver_sigbus(void *addr, ucontext_t *uc)
{
	struct sigaction cur;
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_signo = SIGBUS;
	si.si_code = BUS_ADRERR;
	si.si_addr = addr;
	/* As force_sig_fault: a blocked or ignored SIGBUS kills instead. */
	__sigaction(SIGBUS, NULL, &cur);
	if (cur.sa_handler == SIG_IGN || sigismember(&uc->uc_sigmask, SIGBUS)) {
		cur.sa_handler = SIG_DFL;
		cur.sa_flags = 0;
		__sigaction(SIGBUS, &cur, NULL);
		sigdelset(&uc->uc_sigmask, SIGBUS);
	}
	syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid_raw(), SIGBUS, &si);
}
