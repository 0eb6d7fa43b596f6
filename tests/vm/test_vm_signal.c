// SPDX-License-Identifier: MIT
/*
 * The application's own SIGSEGV handlers keep working next to udax's:
 * installed before or after the first udax mapping, with sigaction() or
 * signal(), with SA_RESETHAND, and SIG_DFL still kills with SIGSEGV. The
 * kernel-level handler stays udax's throughout, and udax faults are served.
 */
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_fs.h"
#include "testlib.h"

extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *oldact);

static char *own_page; /* PROT_NONE: the application's own faulting address */
static sigjmp_buf env;
static volatile int hits_a, hits_b, hits_plain;
static void *volatile last_addr;

static void handler_a(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	CHECK_EQ(sig, SIGSEGV);
	hits_a++;
	last_addr = si->si_addr;
	siglongjmp(env, 1);
}

static void handler_b(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	hits_b++;
	last_addr = si->si_addr;
	siglongjmp(env, 1);
}

static char *udax_page; /* read by handler_udax: faults inside the handler */
static volatile char seen;

static void handler_udax(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si, (void)uc;
	seen = udax_page[3 * 4096];
	siglongjmp(env, 1);
}

static void handler_plain(int sig)
{
	CHECK_EQ(sig, SIGSEGV);
	hits_plain++;
	siglongjmp(env, 1);
}

/* Touches the application's own page; true if a handler jumped back. */
static bool touch_own(int off)
{
	if (sigsetjmp(env, 1))
		return true;
	*(volatile char *)(own_page + off) = 1;
	return false;
}

static void install(void (*fn)(int, siginfo_t *, void *), int flags, struct sigaction *old)
{
	struct sigaction act = {.sa_sigaction = fn, .sa_flags = SA_SIGINFO | flags};

	sigemptyset(&act.sa_mask);
	CHECK_OK(sigaction(SIGSEGV, &act, old));
}

static char *udax_map(struct fake_fs *fs)
{
	void *p;

	CHECK_OK(vm_mmap(&fs->file, NULL, 2 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &p));
	return p;
}

static void test_chaining(struct fake_fs *fs)
{
	struct sigaction old, kernel;
	char *p;

	/* Before udax: an ordinary sigaction. */
	install(handler_a, 0, NULL);
	p = udax_map(fs);
	CHECK(touch_own(5));
	CHECK_EQ(hits_a, 1);
	CHECK(last_addr == own_page + 5);
	/* udax's faults do not reach the application. */
	p[100] = 'u';
	CHECK_EQ(p[100], 'u');
	CHECK_EQ(hits_a, 1);
	/* After udax: recorded; oldact is the application's previous handler. */
	install(handler_b, 0, &old);
	CHECK(old.sa_sigaction == handler_a);
	CHECK(old.sa_flags & SA_SIGINFO);
	CHECK(__sigaction(SIGSEGV, NULL, &kernel) == 0);
	CHECK(kernel.sa_sigaction != handler_b && kernel.sa_sigaction != handler_a);
	CHECK(touch_own(7));
	CHECK_EQ(hits_b, 1);
	CHECK(last_addr == own_page + 7);
	p[MiB] = 'v';
	CHECK_EQ(p[MiB], 'v');
	/* signal(): plain handlers, and the previous one returned. */
	CHECK((void *)signal(SIGSEGV, handler_plain) == (void *)handler_b);
	CHECK(touch_own(9));
	CHECK_EQ(hits_plain, 1);
	/* SA_RESETHAND: one delivery, then the default action is recorded. */
	install(handler_a, SA_RESETHAND, &old);
	CHECK(old.sa_handler == handler_plain);
	CHECK(touch_own(11));
	CHECK_EQ(hits_a, 2);
	CHECK_OK(sigaction(SIGSEGV, NULL, &old));
	CHECK(old.sa_handler == SIG_DFL);
	p[2 * MiB - 1] = 'w';
	CHECK_EQ(p[2 * MiB - 1], 'w');
	/* The application's handler may itself fault on a udax mapping. */
	p[3 * 4096] = 'h';
	CHECK_OK(vm_munmap(p, 2 * MiB));
	p = udax_map(fs);
	udax_page = p;
	install(handler_udax, 0, NULL);
	CHECK(touch_own(13));
	CHECK_EQ(seen, 'h');
	CHECK_OK(vm_munmap(p, 2 * MiB));
}

/* With SIG_DFL recorded, a wild access kills with SIGSEGV (and a core, as ever). */
static void test_default_kills(struct fake_fs *fs)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	int status;
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (!pid) {
		char *p = udax_map(fs);

		p[0] = 1; /* udax faults still served */
		sigaction(SIGSEGV, &dfl, NULL);
		*(volatile char *)own_page = 1;
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFSIGNALED(status));
	CHECK_EQ(WTERMSIG(status), SIGSEGV);
}

/* SIGBUS blocked or ignored when udax must deliver it: the process dies of it. */
static void test_sigbus_forced(struct fake_fs *fs, bool ignore)
{
	int status;
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (!pid) {
		char *p = udax_map(fs);
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGBUS);
		if (ignore)
			signal(SIGBUS, SIG_IGN);
		else
			sigprocmask(SIG_BLOCK, &set, NULL);
		atomic_store(&fs->size, 4096);
		*(volatile char *)(p + 8192) = 1;
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFSIGNALED(status));
	CHECK_EQ(WTERMSIG(status), SIGBUS);
}

int main(void)
{
	struct fake_fs *fs;

	test_watchdog(30);
	own_page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(own_page != MAP_FAILED);
	fs = fake_new(8 * MiB, 2 * MiB);
	fake_add(fs, 0, 2 * MiB, 2 * MiB, IOMAP_MAPPED);
	test_chaining(fs);
	test_default_kills(fs);
	test_sigbus_forced(fs, false);
	test_sigbus_forced(fs, true);
	fake_free(fs);
	printf("ok\n");
	return 0;
}
