// SPDX-License-Identifier: MIT
/*
 * Buffers in udax mappings passed to system calls on other descriptors, run
 * under LD_PRELOAD (run_shim.sh): the kernel cannot take udax's faults, so
 * without the shim's pins these calls fail with EFAULT on pages not faulted
 * in yet. Pipes, socket pairs and a real file, single buffers and vectors
 * mixing udax and ordinary memory, private and read-only mappings, buffers
 * past EOF (EFAULT, no reference leaked), and a truncate that must wait for
 * a read blocked with its buffer in the mapping.
 */
#include <ctype.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim_test.h"

#define PAGE   4096
#define NPAGES 4

static unsigned char pattern[NPAGES * PAGE];

/* A udax file of @size bytes (the pattern), mapped shared and untouched. */
static unsigned char *map_file(const char *name, int *fdp, size_t size, int prot, int flags)
{
	int fd = open(upath(name), O_CREAT | O_TRUNC | O_RDWR, 0644);
	unsigned char *m;

	CHECK(fd >= 0);
	CHECK_EQ(pwrite(fd, pattern, size, 0), (ssize_t)size);
	m = mmap(NULL, NPAGES * PAGE, prot, flags, fd, 0);
	CHECK(m != MAP_FAILED);
	*fdp = fd;
	return m;
}

static void check_file(int fd, off_t off, const void *want, size_t len)
{
	unsigned char buf[NPAGES * PAGE];

	CHECK(len <= sizeof(buf));
	CHECK_EQ(pread(fd, buf, len, off), (ssize_t)len);
	CHECK(!memcmp(buf, want, len));
}

static void readall(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = read(fd, (char *)buf + done, len - done);

		CHECK(r > 0);
		done += (size_t)r;
	}
}

/* write() and send() from untouched pages, into a pipe and a socket pair. */
static void test_from_mapping(void)
{
	unsigned char got[2 * PAGE];
	int fd, p[2], sv[2];
	unsigned char *m = map_file("from", &fd, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);

	CHECK_OK(pipe(p));
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	/* across a page boundary, none of the pages touched */
	CHECK_EQ(write(p[1], m + PAGE - 100, 2 * PAGE), 2 * PAGE);
	readall(p[0], got, 2 * PAGE);
	CHECK(!memcmp(got, pattern + PAGE - 100, 2 * PAGE));
	CHECK_EQ(write(sv[0], m + 3 * PAGE, 1000), 1000);
	readall(sv[1], got, 1000);
	CHECK(!memcmp(got, pattern + 3 * PAGE, 1000));
	CHECK_EQ(send(sv[1], m + 2 * PAGE + 7, 300, 0), 300);
	readall(sv[0], got, 300);
	CHECK(!memcmp(got, pattern + 2 * PAGE + 7, 300));
	CHECK_EQ(sendto(sv[1], m + 5, 10, 0, NULL, 0), 10);
	readall(sv[0], got, 10);
	CHECK(!memcmp(got, pattern + 5, 10));
	munmap(m, NPAGES * PAGE);
	close(fd);
	close(p[0]), close(p[1]), close(sv[0]), close(sv[1]);
}

/* read() and recv() into untouched pages: the data is the file's. */
static void test_into_mapping(void)
{
	unsigned char msg[2 * PAGE];
	int fd, p[2], sv[2];
	unsigned char *m = map_file("into", &fd, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)(i * 7 + 3);
	CHECK_OK(pipe(p));
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	CHECK_EQ(write(p[1], msg, 2 * PAGE), 2 * PAGE);
	CHECK_EQ(read(p[0], m + PAGE / 2, 2 * PAGE), 2 * PAGE);
	check_file(fd, PAGE / 2, msg, 2 * PAGE);
	CHECK_EQ(write(sv[0], msg, 500), 500);
	CHECK_EQ(read(sv[1], m + 3 * PAGE + 1, 500), 500);
	check_file(fd, 3 * PAGE + 1, msg, 500);
	CHECK_EQ(write(sv[0], msg + 9, 64), 64);
	CHECK_EQ(recv(sv[1], m + 100, 64, MSG_WAITALL), 64);
	check_file(fd, 100, msg + 9, 64);
	CHECK_EQ(write(sv[1], msg + 1, 33), 33);
	CHECK_EQ(recvfrom(sv[0], m + 3 * PAGE - 10, 33, MSG_WAITALL, NULL, NULL), 33);
	check_file(fd, 3 * PAGE - 10, msg + 1, 33);
	munmap(m, NPAGES * PAGE);
	close(fd);
	close(p[0]), close(p[1]), close(sv[0]), close(sv[1]);
}

/* Vectors mixing udax pages, ordinary memory and a buffer straddling both. */
static void test_vectors(void)
{
	unsigned char a[100], b[200], got[4 * PAGE], want[4 * PAGE];
	int fd, p[2], sv[2];
	unsigned char *m = map_file("vec", &fd, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);
	struct iovec iov[3];
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 3};
	size_t n;

	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	CHECK_OK(pipe(p));
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	/* writev: ordinary, udax, ordinary */
	iov[0] = (struct iovec){a, sizeof(a)};
	iov[1] = (struct iovec){m + 10, PAGE};
	iov[2] = (struct iovec){b, sizeof(b)};
	n = sizeof(a) + PAGE + sizeof(b);
	CHECK_EQ(writev(p[1], iov, 3), (ssize_t)n);
	readall(p[0], got, n);
	memcpy(want, a, sizeof(a));
	memcpy(want + sizeof(a), pattern + 10, PAGE);
	memcpy(want + sizeof(a) + PAGE, b, sizeof(b));
	CHECK(!memcmp(got, want, n));
	/* readv: udax, ordinary, udax */
	for (size_t i = 0; i < n; i++)
		want[i] = (unsigned char)(i ^ 0x5a);
	CHECK_EQ(write(p[1], want, 300 + sizeof(a) + 700), (ssize_t)(300 + sizeof(a) + 700));
	iov[0] = (struct iovec){m + PAGE + 50, 300};
	iov[1] = (struct iovec){a, sizeof(a)};
	iov[2] = (struct iovec){m + 3 * PAGE + 3, 700};
	CHECK_EQ(readv(p[0], iov, 3), (ssize_t)(300 + sizeof(a) + 700));
	check_file(fd, PAGE + 50, want, 300);
	CHECK(!memcmp(a, want + 300, sizeof(a)));
	check_file(fd, 3 * PAGE + 3, want + 300 + sizeof(a), 700);
	/* sendmsg with a udax page between ordinary buffers */
	memset(a, 'A', sizeof(a));
	iov[0] = (struct iovec){a, sizeof(a)};
	iov[1] = (struct iovec){m + 2 * PAGE, 2 * PAGE};
	iov[2] = (struct iovec){b, sizeof(b)};
	n = sizeof(a) + 2 * PAGE + sizeof(b);
	CHECK_EQ(sendmsg(sv[0], &msg, 0), (ssize_t)n);
	readall(sv[1], got, n);
	check_file(fd, 2 * PAGE, got + sizeof(a), 2 * PAGE);
	CHECK(!memcmp(got, a, sizeof(a)) && !memcmp(got + n - sizeof(b), b, sizeof(b)));
	/* recvmsg into udax, ordinary, udax; msg_flags come back */
	for (size_t i = 0; i < n; i++)
		want[i] = (unsigned char)(i * 13);
	CHECK_EQ(write(sv[1], want, 1000 + sizeof(b) + 1000), (ssize_t)(2000 + sizeof(b)));
	iov[0] = (struct iovec){m + 5, 1000};
	iov[1] = (struct iovec){b, sizeof(b)};
	iov[2] = (struct iovec){m + 2 * PAGE - 500, 1000};
	msg.msg_flags = -1;
	CHECK_EQ(recvmsg(sv[0], &msg, MSG_WAITALL), (ssize_t)(2000 + sizeof(b)));
	CHECK_EQ(msg.msg_flags, 0);
	check_file(fd, 5, want, 1000);
	CHECK(!memcmp(b, want + 1000, sizeof(b)));
	check_file(fd, 2 * PAGE - 500, want + 1000 + sizeof(b), 1000);
	munmap(m, NPAGES * PAGE);
	close(fd);
	close(p[0]), close(p[1]), close(sv[0]), close(sv[1]);
}

/* pwrite/pread (and O_DIRECT where the real file system has it) on a real file. */
static void test_real_file(void)
{
	char path[512];
	unsigned char got[PAGE];
	int fd, rfd, dfd;
	unsigned char *m = map_file("real", &fd, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);

	snprintf(path, sizeof(path), "%s/real", test_tmpdir());
	rfd = open(path, O_CREAT | O_RDWR, 0644);
	CHECK(rfd >= 0);
	CHECK_EQ(pwrite(rfd, m + PAGE, PAGE, 0), PAGE);
	CHECK_EQ(pread(rfd, got, PAGE, 0), PAGE);
	CHECK(!memcmp(got, pattern + PAGE, PAGE));
	CHECK_EQ(pread(rfd, m + 3 * PAGE, PAGE, 0), PAGE);
	check_file(fd, 3 * PAGE, pattern + PAGE, PAGE);
	/* O_DIRECT is a flag of the other descriptor: the pages are pinned all the same */
	dfd = open(path, O_RDWR | O_DIRECT);
	if (dfd >= 0) {
		CHECK_EQ(pwrite(dfd, m + 2 * PAGE, PAGE, PAGE), PAGE);
		CHECK_EQ(pread(dfd, m, PAGE, PAGE), PAGE);
		check_file(fd, 0, pattern + 2 * PAGE, PAGE);
		close(dfd);
	} else {
		printf("O_DIRECT not supported in %s (%s): that part skipped\n", test_tmpdir(),
		       strerror(errno));
	}
	close(rfd);
	munmap(m, NPAGES * PAGE);
	close(fd);
}

/* Private mappings are faulted in, not pinned; a read-only one is not written. */
static void test_private_readonly(void)
{
	unsigned char got[PAGE], zero[PAGE] = {0};
	int fd, fd2, p[2];
	unsigned char *m =
		map_file("priv", &fd, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	unsigned char *r;

	CHECK_OK(pipe(p));
	CHECK_EQ(write(p[1], m + PAGE + 1, 100), 100);
	readall(p[0], got, 100);
	CHECK(!memcmp(got, pattern + PAGE + 1, 100));
	CHECK_EQ(write(p[1], "private", 7), 7);
	CHECK_EQ(read(p[0], m + 2 * PAGE, 7), 7);
	CHECK(!memcmp(m + 2 * PAGE, "private", 7));
	check_file(fd, 2 * PAGE, pattern + 2 * PAGE, 7); /* the file is unchanged */
	munmap(m, NPAGES * PAGE);
	/* read-only shared over a hole: the kernel reads zeros, cannot store */
	fd2 = open(upath("holes"), O_CREAT | O_TRUNC | O_RDWR, 0644);
	CHECK(fd2 >= 0);
	CHECK_OK(ftruncate(fd2, NPAGES * PAGE));
	r = mmap(NULL, NPAGES * PAGE, PROT_READ, MAP_SHARED, fd2, 0);
	CHECK(r != MAP_FAILED);
	CHECK_EQ(write(p[1], r + PAGE, PAGE), PAGE);
	readall(p[0], got, PAGE);
	CHECK(!memcmp(got, zero, PAGE));
	CHECK_EQ(write(p[1], "x", 1), 1);
	CHECK_ERRNO(read(p[0], r, 1), EFAULT);
	munmap(r, NPAGES * PAGE);
	close(fd2);
	close(fd);
	close(p[0]), close(p[1]);
}

/* Past EOF: EFAULT as for any unmapped buffer, and no pin is left behind. */
static void test_past_eof(void)
{
	int fd, p[2];
	unsigned char got[PAGE];
	/* a file of one and a half pages in a mapping of four */
	unsigned char *m =
		map_file("eof", &fd, PAGE + PAGE / 2, PROT_READ | PROT_WRITE, MAP_SHARED);
	struct iovec iov[2] = {{got, 10}, {m + PAGE, 2 * PAGE}};

	CHECK_OK(pipe(p));
	CHECK_ERRNO(write(p[1], m + PAGE, 2 * PAGE), EFAULT);
	CHECK_ERRNO(writev(p[1], iov, 2), EFAULT);
	CHECK_EQ(write(p[1], "123", 3), 3);
	CHECK_ERRNO(read(p[0], m + 2 * PAGE, 3), EFAULT);
	CHECK_EQ(read(p[0], got, 3), 3); /* nothing was consumed */
	CHECK(!memcmp(got, "123", 3));
	/* the page holding EOF is the file's up to its end */
	CHECK_EQ(write(p[1], m + PAGE, PAGE), PAGE);
	readall(p[0], got, PAGE);
	CHECK(!memcmp(got, pattern + PAGE, PAGE / 2));
	/* a pin left behind would make this wait for ever (the watchdog fails it) */
	CHECK_OK(ftruncate(fd, 0));
	munmap(m, NPAGES * PAGE);
	close(fd);
	close(p[0]), close(p[1]);
}

/* Other intercepted calls whose buffers the kernel fills: stat, statfs, readlink. */
static void test_kernel_fills(void)
{
	int fd;
	unsigned char *m =
		map_file("fills", &fd, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);
	struct stat want, *st = (struct stat *)(m + PAGE - 16); /* across two pages */
	struct statfs wantfs, *sf = (struct statfs *)(m + 2 * PAGE);
	char link[256];
	ssize_t n;

	CHECK_OK(stat("/", &want));
	CHECK_OK(stat("/", st));
	CHECK(st->st_ino == want.st_ino && st->st_dev == want.st_dev);
	check_file(fd, PAGE - 16, st, sizeof(*st));
	CHECK_OK(fstatat(AT_FDCWD, "/", (struct stat *)(m + 3 * PAGE), 0));
	CHECK_OK(statfs("/", &wantfs));
	CHECK_OK(statfs("/", sf));
	CHECK_EQ(sf->f_type, wantfs.f_type);
	n = readlink("/proc/self/exe", link, sizeof(link));
	CHECK(n > 0);
	CHECK_EQ(readlink("/proc/self/exe", (char *)m + 3 * PAGE + 500, sizeof(link)), n);
	check_file(fd, 3 * PAGE + 500, link, (size_t)n);
	munmap(m, NPAGES * PAGE);
	/* read-only: the kernel cannot store there */
	m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED);
	CHECK_ERRNO(stat("/", (struct stat *)m), EFAULT);
	munmap(m, PAGE);
	close(fd);
}

/* ---- a truncate waits for a read blocked with its buffer in the mapping ---- */

struct trunc_ctx {
	int fd, pipe_rd;
	unsigned char *buf;
	pid_t reader_tid;
	atomic_int reader_ready;
	atomic_int truncated;
	ssize_t got;
	int err;
};

static void *reader(void *arg)
{
	struct trunc_ctx *c = arg;

	atomic_store(&c->reader_tid, (pid_t)syscall(SYS_gettid));
	atomic_store(&c->reader_ready, 1);
	c->got = read(c->pipe_rd, c->buf, 6);
	c->err = errno;
	return NULL;
}

static void *truncater(void *arg)
{
	struct trunc_ctx *c = arg;

	CHECK_OK(ftruncate(c->fd, 0));
	atomic_store(&c->truncated, 1);
	return NULL;
}

/* Whether thread @tid is inside system call @nr (from /proc: ordering, not timing). */
static bool in_syscall(pid_t tid, long nr)
{
	char path[64], line[256] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	/* A running thread shows "running", which strtol would read as 0, SYS_read. */
	return isdigit((unsigned char)line[0]) && strtol(line, NULL, 10) == nr;
}

/* Whether the page at @addr still shows a shared file mapping (/proc/self/maps). */
static bool shows_file(const void *addr)
{
	char line[512];
	bool ret = false;
	FILE *f = fopen("/proc/self/maps", "r");

	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) == 3 && (uintptr_t)addr >= s &&
		    (uintptr_t)addr < e)
			ret = perms[3] == 's';
	}
	fclose(f);
	return ret;
}

static void test_truncate_waits(void)
{
	struct trunc_ctx c = {0};
	char fmbuf[sizeof(struct fiemap) + 4 * sizeof(struct fiemap_extent)];
	struct fiemap *fm = (struct fiemap *)fmbuf;
	pthread_t rt, tt;
	int p[2], pool;
	off_t phys;
	unsigned char got[6];

	c.buf = map_file("trunc", &c.fd, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);
	c.buf += PAGE + 123;
	memset(fmbuf, 0, sizeof(fmbuf));
	fm->fm_length = FIEMAP_MAX_OFFSET;
	fm->fm_extent_count = 4;
	CHECK_OK(ioctl(c.fd, FS_IOC_FIEMAP, fm));
	CHECK(fm->fm_mapped_extents >= 1 && fm->fm_extents[0].fe_logical == 0 &&
	      fm->fm_extents[0].fe_length >= 2 * PAGE);
	phys = (off_t)fm->fm_extents[0].fe_physical + PAGE + 123;
	pool = open(getenv("UDAX_POOL"), O_RDONLY);
	CHECK(pool >= 0);
	CHECK_EQ(pread(pool, got, 6, phys), 6); /* the old block, seen in the pool */
	CHECK(!memcmp(got, pattern + PAGE + 123, 6));

	CHECK_OK(pipe(p));
	c.pipe_rd = p[0];
	CHECK_OK(pthread_create(&rt, NULL, reader, &c));
	while (!atomic_load(&c.reader_ready) || !in_syscall(c.reader_tid, SYS_read))
		usleep(1000);	  /* the read is blocked: its buffer is pinned */
	CHECK(shows_file(c.buf)); /* faulted in by the pin; the program never touched it */
	CHECK_OK(pthread_create(&tt, NULL, truncater, &c));
	/* the truncate has begun once it has unmapped the page; then it waits for the pin */
	while (shows_file(c.buf))
		usleep(1000);
	CHECK(!atomic_load(&c.truncated)); /* it waits for the read, however long that takes */
	CHECK_EQ(write(p[1], "landed", 6), 6);
	CHECK_OK(pthread_join(rt, NULL));
	CHECK_EQ(c.got, 6);
	CHECK_OK(pthread_join(tt, NULL));
	CHECK(atomic_load(&c.truncated));
	/* the data went to the old block, which the truncate freed after the read */
	CHECK_EQ(pread(pool, got, 6, phys), 6);
	CHECK(!memcmp(got, "landed", 6));
	close(pool);
	munmap(c.buf - PAGE - 123, NPAGES * PAGE);
	close(c.fd);
	close(p[0]), close(p[1]);
}

int main(void)
{
	shim_test_init();
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (unsigned char)(i * 31 + i / 251);
	test_from_mapping();
	test_into_mapping();
	test_vectors();
	test_real_file();
	test_private_readonly();
	test_past_eof();
	test_kernel_fills();
	test_truncate_waits();
	printf("test_posix_pins: ok\n");
	return 0;
}
