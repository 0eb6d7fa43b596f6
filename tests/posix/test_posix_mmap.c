// SPDX-License-Identifier: MIT
/*
 * mmap of udax files through the shim, run under LD_PRELOAD (run_shim.sh):
 * data seen both ways between mappings and read/write, private copies,
 * munmap/mprotect/mremap/msync/madvise on udax ranges, the program's own
 * SIGSEGV handler installed after udax's, SIGBUS past EOF, MAP_SYNC.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shim_test.h"

#define PAGE 4096
#define SIZE 10000 /* the file: two pages and part of a third */

static unsigned char data[SIZE];
static sigjmp_buf env;
static volatile sig_atomic_t got_sig, got_code;
static void *volatile got_addr;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got_sig = sig;
	got_code = si->si_code;
	got_addr = si->si_addr;
	siglongjmp(env, 1);
}

/* store - *p = v; returns the signal it raised (0: none), with its code and address. */
static int store(volatile unsigned char *p, unsigned char v)
{
	got_sig = 0;
	if (!sigsetjmp(env, 1))
		*p = v;
	return got_sig;
}

static int load(const volatile unsigned char *p)
{
	got_sig = 0;
	if (!sigsetjmp(env, 1))
		(void)*p;
	return got_sig;
}

static int make_file(const char *name)
{
	int fd = open(upath(name), O_CREAT | O_TRUNC | O_RDWR, 0644);

	CHECK(fd >= 0);
	CHECK_EQ(write(fd, data, SIZE), SIZE);
	return fd;
}

static void test_shared_private(void)
{
	unsigned char buf[SIZE], zero[3 * PAGE - SIZE] = {0};
	int fd = make_file("map");
	unsigned char *s, *p;

	s = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(s != MAP_FAILED);
	CHECK(!memcmp(s, data, SIZE));
	CHECK(!memcmp(s + SIZE, zero, sizeof(zero))); /* the rest of the last page */
	/* stores through MAP_SHARED are the file's */
	memcpy(s + 100, "shared", 6);
	CHECK_EQ(pread(fd, buf, 6, 100), 6);
	CHECK(!memcmp(buf, "shared", 6));
	CHECK_EQ(msync(s, 3 * PAGE, MS_SYNC), 0);
	CHECK_EQ(msync(s, PAGE, MS_ASYNC), 0);
	CHECK_ERRNO(msync(s, PAGE, MS_SYNC | MS_ASYNC), EINVAL);
	CHECK_ERRNO(msync(s + 1, PAGE, MS_SYNC), EINVAL);
	/* write(2) is seen by the mapping */
	CHECK_EQ(pwrite(fd, "written", 7, 5000), 7);
	CHECK(!memcmp(s + 5000, "written", 7));
	/* MAP_PRIVATE stores stay in the mapping */
	p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(p != MAP_FAILED);
	CHECK(!memcmp(p + 100, "shared", 6));
	memcpy(p + 200, "private", 7);
	CHECK(!memcmp(p + 200, "private", 7));
	CHECK_EQ(pread(fd, buf, 7, 200), 7);
	CHECK(!memcmp(buf, data + 200, 7));
	CHECK(!memcmp(s + 200, data + 200, 7));
	/* hints pass, advice that would touch the pool does not */
	CHECK_EQ(madvise(s, PAGE, MADV_WILLNEED), 0);
	CHECK_ERRNO(madvise(s, PAGE, MADV_REMOVE), EINVAL);
	CHECK_ERRNO(madvise(s, PAGE, MADV_FREE), EINVAL);
	/* the mappings keep the file open after close, as on Linux */
	CHECK_EQ(close(fd), 0);
	CHECK(!memcmp(s + 5000, "written", 7));
	s[6000] = 'x';
	CHECK_EQ(munmap(p, SIZE), 0);
	CHECK_EQ(munmap(s, 3 * PAGE), 0);
	/* the range is free again: a mapping that must not replace anything fits */
	CHECK(mmap(s, 3 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1,
		   0) == s);
	CHECK_EQ(s[0], 0);
	CHECK_EQ(munmap(s, 3 * PAGE), 0);
	fd = open(upath("map"), O_RDONLY);
	CHECK_EQ(pread(fd, buf, SIZE, 0), SIZE);
	CHECK_EQ(buf[6000], 'x');
	CHECK_EQ(close(fd), 0);
}

static void test_calls(void)
{
	int fd = make_file("calls"), wr, rd;
	unsigned char *s, *q;

	s = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(s != MAP_FAILED);
	CHECK_ERRNO(munmap(s + 1, PAGE), EINVAL);
	CHECK_ERRNO(mprotect(s, PAGE, PROT_READ | PROT_EXEC), EINVAL);
	/* mremap grows (moving if it must) and keeps the data */
	q = mremap(s, 2 * PAGE, 3 * PAGE, MREMAP_MAYMOVE);
	CHECK(q != MAP_FAILED);
	CHECK(!memcmp(q, data, SIZE));
	CHECK_EQ(munmap(q, 3 * PAGE), 0);
	/* mapping requests the kernel would refuse */
	CHECK_ERRNO(mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 1), EINVAL);
	CHECK_ERRNO(mmap(NULL, 0, PROT_READ, MAP_SHARED, fd, 0), EINVAL);
	CHECK_ERRNO(mmap(NULL, PAGE, PROT_READ, MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0), EOPNOTSUPP);
	s = mmap(NULL, PAGE, PROT_READ, MAP_SHARED | MAP_SYNC, fd,
		 0); /* ignored without VALIDATE */
	CHECK(s != MAP_FAILED);
	CHECK_EQ(munmap(s, PAGE), 0);
	wr = open(upath("calls"), O_WRONLY);
	rd = open(upath("calls"), O_RDONLY);
	CHECK_ERRNO(mmap(NULL, PAGE, PROT_READ, MAP_SHARED, wr, 0), EACCES);
	CHECK_ERRNO(mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, rd, 0), EACCES);
	s = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, rd, 0);
	CHECK(s != MAP_FAILED);
	CHECK_EQ(munmap(s, PAGE), 0);
	CHECK_EQ(mkdir(upath("mapdir"), 0755), 0);
	int dir = open(upath("mapdir"), O_RDONLY | O_DIRECTORY);
	CHECK_ERRNO(mmap(NULL, PAGE, PROT_READ, MAP_SHARED, dir, 0), ENODEV);
	CHECK_EQ(close(dir), 0);
	CHECK_EQ(close(wr), 0);
	CHECK_EQ(close(rd), 0);
	CHECK_EQ(close(fd), 0);
}

static void test_signals(void)
{
	struct sigaction act = {.sa_sigaction = on_signal, .sa_flags = SA_SIGINFO}, old, cur;
	int fd = make_file("sig");
	unsigned char *s, *fresh, *own;

	/* the first udax mapping installs udax's handler; the program's comes after */
	s = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(s != MAP_FAILED);
	CHECK_EQ(s[0], data[0]);
	sigemptyset(&act.sa_mask);
	CHECK_EQ(sigaction(SIGSEGV, &act, &old), 0);
	CHECK_EQ(sigaction(SIGBUS, &act, NULL), 0);
	CHECK_EQ(sigaction(SIGSEGV, NULL, &cur), 0);
	CHECK(cur.sa_sigaction == on_signal);
	/* udax still serves its faults: a new mapping's first touch reaches no handler */
	fresh = mmap(NULL, SIZE, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(fresh != MAP_FAILED);
	CHECK_EQ(load(fresh + PAGE + 1), 0);
	CHECK(!memcmp(fresh, data, SIZE));
	/* a store to a read-only udax range is the program's SIGSEGV */
	CHECK_EQ(mprotect(s, 2 * PAGE, PROT_READ), 0);
	CHECK_EQ(store(s + PAGE + 3, 1), SIGSEGV);
	CHECK_EQ(got_code, SEGV_ACCERR);
	CHECK(got_addr == s + PAGE + 3);
	CHECK_EQ(s[PAGE + 3], data[PAGE + 3]);
	CHECK_EQ(mprotect(s, 2 * PAGE, PROT_READ | PROT_WRITE), 0);
	CHECK_EQ(store(s + PAGE + 3, 0xab), 0);
	CHECK_EQ(s[PAGE + 3], 0xab);
	/* the program's own wild accesses still reach it */
	own = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(own != MAP_FAILED);
	CHECK_EQ(load(own + 8), SIGSEGV);
	CHECK_EQ(got_code, SEGV_ACCERR);
	CHECK(got_addr == own + 8);
	CHECK_EQ(munmap(own, PAGE), 0);
	/* past the page that holds EOF: SIGBUS */
	CHECK_EQ(load(s + 2 * PAGE + 5), 0);
	CHECK_EQ(load(s + 3 * PAGE + 5), SIGBUS);
	CHECK_EQ(got_code, BUS_ADRERR);
	CHECK(got_addr == s + 3 * PAGE + 5);
	CHECK_EQ(store(s + 3 * PAGE, 1), SIGBUS);
	/* signal() goes the same way and returns the program's handler */
	CHECK(signal(SIGSEGV, SIG_DFL) == cur.sa_handler);
	CHECK_EQ(sigaction(SIGSEGV, &old, NULL), 0);
	act.sa_handler = SIG_DFL;
	act.sa_flags = 0;
	CHECK_EQ(sigaction(SIGBUS, &act, NULL), 0);
	CHECK_EQ(munmap(fresh, SIZE), 0);
	CHECK_EQ(munmap(s, 4 * PAGE), 0);
	CHECK_EQ(close(fd), 0);
}

int main(void)
{
	shim_test_init();
	for (size_t i = 0; i < SIZE; i++)
		data[i] = (unsigned char)(i * 131 + (i >> 9) + 1);
	test_shared_private();
	test_calls();
	test_signals();
	printf("ok\n");
	return 0;
}
