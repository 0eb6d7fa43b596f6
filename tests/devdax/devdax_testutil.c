// SPDX-License-Identifier: MIT
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "devdax_testutil.h"
#include "pmem_testutil.h"
#include "testlib.h"

static _Thread_local sigjmp_buf bus_env;
static _Thread_local volatile sig_atomic_t bus_armed;
static _Thread_local struct bus_event bus_last;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!bus_armed) { /* an unexpected SIGBUS: die of it */
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	bus_last.addr = si->si_addr;
	bus_last.code = si->si_code;
	bus_armed = 0;
	siglongjmp(bus_env, 1);
}

void bus_catch_install(void)
{
	struct sigaction sa = {.sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO};

	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGBUS, &sa, NULL) == 0);
}

bool access_bus(volatile uint8_t *p, bool write, uint8_t *val, struct bus_event *ev)
{
	if (sigsetjmp(bus_env, 1)) {
		*ev = bus_last;
		return true;
	}
	bus_armed = 1;
	if (write)
		*p = *val;
	else
		*val = *p;
	bus_armed = 0;
	return false;
}

struct udax_devdax *open_file_region(const char *name, uint64_t align, uint64_t capacity,
				     uint64_t size)
{
	struct udax_devdax_opts o = {
		.align = align, .size = size, .capacity = capacity, .flags = UDAX_DEVDAX_CREATE};
	struct udax_devdax *dd;

	CHECK_OK(udax_devdax_open(tmp_path(name), &o, &dd));
	return dd;
}

#define NR_1G "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages"

static struct {
	pid_t owner, wrapper;
	long added; /* pages to give back */
} g1;

static long read_nr(void)
{
	long n = -1;
	FILE *f = fopen(NR_1G, "r");

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

static void write_nr(const char *val, size_t len)
{
	int fd = open(NR_1G, O_WRONLY);

	if (fd >= 0) {
		if (write(fd, val, len) < 0) {
			/* a cleanup path has nothing better to do */
		}
		close(fd);
	}
}

/*
 * Gives back the pages this test added, not the old value: another test
 * changing the pool at the same time keeps its own pages. Signal-safe enough
 * for the handlers below (no allocation; snprintf of a long).
 */
static void restore_nr(void)
{
	char val[32];
	long now;
	int fd;

	if (getpid() != g1.owner || !g1.added)
		return;
	fd = open(NR_1G, O_RDONLY);
	now = -1;
	if (fd >= 0) {
		ssize_t n = read(fd, val, sizeof(val) - 1);

		now = n > 0 ? strtol((val[n] = 0, val), NULL, 10) : -1;
		close(fd);
	}
	if (now >= 0)
		write_nr(val, (size_t)snprintf(val, sizeof(val), "%ld\n",
					       now > g1.added ? now - g1.added : 0));
	g1.added = 0;
}

static void restore_on_signal(int sig)
{
	if (g1.wrapper > 0) { /* its own handler unmounts */
		kill(g1.wrapper, SIGTERM);
		waitpid(g1.wrapper, NULL, 0);
	}
	restore_nr();
	signal(sig, SIG_DFL);
	raise(sig);
}

int run_with_1g_hugetlbfs(long pages, int (*body)(const char *dir))
{
	long old, now;
	char val[32];
	int status;

	if (geteuid() != 0)
		test_skip("reserving 1 GiB huge pages needs root");
	old = read_nr();
	if (old < 0)
		test_skip("no 1 GiB huge page pool (%s)", NR_1G);
	g1.owner = getpid();
	atexit(restore_nr);
	signal(SIGTERM, restore_on_signal);
	signal(SIGINT, restore_on_signal);
	signal(SIGHUP, restore_on_signal);
	g1.added = pages;
	write_nr(val, (size_t)snprintf(val, sizeof(val), "%ld\n", old + pages));
	now = read_nr();
	if (now < old + pages) {
		g1.added = now > old ? now - old : 0;
		restore_nr();
		test_skip("the kernel gave only %ld of %ld 1 GiB huge pages", now - old, pages);
	}
	fflush(NULL);
	g1.wrapper = fork();
	CHECK(g1.wrapper >= 0);
	if (g1.wrapper == 0)
		exit(run_with_mount("hugetlbfs", "pagesize=1G", 0, body));
	CHECK(waitpid(g1.wrapper, &status, 0) == g1.wrapper);
	g1.wrapper = 0;
	restore_nr();
	if (WIFSIGNALED(status))
		test_fail(__FILE__, __LINE__, "mount wrapper killed by signal %d",
			  WTERMSIG(status));
	return WEXITSTATUS(status);
}
