// SPDX-License-Identifier: MIT
#include <signal.h>
#include <stdarg.h>
#include <unistd.h>
#include <ftw.h>

#include "udax.h"
#include "testlib.h"

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void test_skip(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "SKIP: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(TEST_SKIP_CODE);
}

const char *test_errormsg(void)
{
	return udax_errormsg();
}

static char tmpdir[256];
static pid_t tmpdir_owner;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_tmpdir(void)
{
	if (tmpdir[0] && getpid() == tmpdir_owner)
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *test_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	if (tmpdir[0])
		return tmpdir;
	snprintf(tmpdir, sizeof(tmpdir), "%s/udax-test.XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(tmpdir))
		test_fail(__FILE__, __LINE__, "mkdtemp(%s): %s", tmpdir, strerror(errno));
	tmpdir_owner = getpid();
	atexit(rm_tmpdir);
	return tmpdir;
}

static void watchdog_fired(int sig)
{
	static const char msg[] = "FAIL: watchdog expired (test hung)\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(2);
}

void test_watchdog(unsigned seconds)
{
	signal(SIGALRM, watchdog_fired);
	alarm(seconds);
}

static uint64_t rng_state;

void test_seed(uint64_t seed)
{
	const char *env = getenv("UDAX_TEST_SEED");

	if (env)
		seed = strtoull(env, NULL, 0);
	rng_state = seed ? seed : 0x9e3779b97f4a7c15ull;
	fprintf(stderr, "seed %llu (UDAX_TEST_SEED to replay)\n", (unsigned long long)rng_state);
}

uint64_t test_rand(void)
{
	/* splitmix64: small, fast, good enough to drive tests */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
