// SPDX-License-Identifier: MIT
/*
 * The shim's descriptor calls, run under LD_PRELOAD with UDAX_POOL and
 * UDAX_PREFIX set (run_shim.sh): every call with exact errno and data checks.
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim_test.h"

static void fill(unsigned char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(i * 31 + seed * 7 + (i >> 12));
}

static void test_rw(void)
{
	static unsigned char a[1 << 20], b[1 << 20];
	const char *p = upath("rw");
	int fd;

	fd = open(p, O_CREAT | O_EXCL | O_RDWR, 0644);
	CHECK(fd >= 0);
	CHECK_ERRNO(open(p, O_CREAT | O_EXCL | O_RDWR, 0644), EEXIST);
	fill(a, sizeof(a), 1);
	CHECK_EQ(write(fd, a, 100000), 100000);
	CHECK_EQ(write(fd, a + 100000, sizeof(a) - 100000), sizeof(a) - 100000);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), sizeof(a));
	CHECK_EQ(read(fd, b, 10), 0); /* at EOF */
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	CHECK_EQ(read(fd, b, sizeof(b)), sizeof(b));
	CHECK(memcmp(a, b, sizeof(a)) == 0);
	memset(b, 0, sizeof(b));
	CHECK_EQ(pread(fd, b, 4096, 12345), 4096);
	CHECK(memcmp(a + 12345, b, 4096) == 0);
	CHECK_EQ(pread(fd, b, 4096, sizeof(a) - 100), 100);
	CHECK_EQ(pwrite(fd, "xyz", 3, 2 << 20), 3); /* leaves a hole */
	CHECK_EQ(pread(fd, b, 8, (2 << 20) - 5), 8);
	CHECK(memcmp(b, "\0\0\0\0\0xyz", 8) == 0);
	CHECK_EQ(lseek(fd, 0, SEEK_END), (2 << 20) + 3);
	CHECK_EQ(lseek(fd, -3, SEEK_END), 2 << 20);
	CHECK_EQ(lseek(fd, 10, SEEK_DATA), 10);
	CHECK_EQ(lseek(fd, 10, SEEK_HOLE), (2 << 20) + 3);
	CHECK_ERRNO(lseek(fd, (2 << 20) + 3, SEEK_DATA), ENXIO);
	CHECK_ERRNO(lseek(fd, -1, SEEK_SET), EINVAL);
	CHECK_ERRNO(pread(fd, b, 1, -1), EINVAL);
	CHECK_ERRNO(pwrite(fd, b, 1, -1), EINVAL);
	CHECK_EQ(close(fd), 0);
	CHECK_ERRNO(close(fd), EBADF);
	CHECK_ERRNO(read(fd, b, 1), EBADF);

	fd = open(p, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_ERRNO(write(fd, "x", 1), EBADF);
	CHECK_ERRNO(ftruncate(fd, 0), EINVAL);
	CHECK_ERRNO(fallocate(fd, 0, 0, 4096), EBADF);
	CHECK_EQ(close(fd), 0);
	fd = open(p, O_WRONLY);
	CHECK_ERRNO(read(fd, b, 1), EBADF);
	CHECK_EQ(close(fd), 0);
	CHECK_ERRNO(open(upath("missing"), O_RDONLY), ENOENT);
	CHECK_ERRNO(open(upath("missing/x"), O_CREAT | O_RDWR, 0644), ENOENT);
	CHECK_ERRNO(open(p, O_RDONLY | O_DIRECTORY), ENOTDIR);
	CHECK_ERRNO(open(upath(""), O_RDWR), EISDIR);
	/* O_TRUNC and creat */
	fd = creat(p, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(lseek(fd, 0, SEEK_END), 0);
	CHECK_EQ(close(fd), 0);
	CHECK_EQ(unlink(p), 0);
}

static void test_vectors(void)
{
	volatile int bad_count = -1;
	char a[] = "hello ", b[] = "vector ", c[] = "world";
	struct iovec w[3] = {{a, 6}, {b, 7}, {c, 5}};
	char x[6], y[7], z[5], all[32];
	struct iovec r[3] = {{x, 6}, {y, 7}, {z, 5}};
	int fd = open(upath("vec"), O_CREAT | O_TRUNC | O_RDWR, 0600);

	CHECK(fd >= 0);
	CHECK_EQ(writev(fd, w, 3), 18);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 18);
	CHECK_EQ(pwritev(fd, w, 3, 100), 18);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 18); /* pwritev keeps the position */
	CHECK_EQ(preadv(fd, r, 3, 100), 18);
	CHECK(!memcmp(x, a, 6) && !memcmp(y, b, 7) && !memcmp(z, c, 5));
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	memset(x, 0, 6);
	CHECK_EQ(readv(fd, r, 3), 18);
	CHECK(!memcmp(x, a, 6) && !memcmp(z, c, 5));
	/* preadv2/pwritev2: offset -1 is the position; RWF_APPEND appends */
	CHECK_EQ(lseek(fd, 6, SEEK_SET), 6);
	CHECK_EQ(preadv2(fd, r + 1, 1, -1, 0), 7);
	CHECK(!memcmp(y, b, 7));
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 13);
	CHECK_EQ(pwritev2(fd, w + 2, 1, 0, RWF_APPEND | RWF_DSYNC), 5);
	CHECK_EQ(lseek(fd, 0, SEEK_END), 123);
	CHECK_EQ(pread(fd, all, 5, 118), 5);
	CHECK(!memcmp(all, c, 5));
	CHECK_EQ(pwritev2(fd, w, 1, 0, RWF_HIPRI), 6);
	CHECK_ERRNO(pwritev2(fd, w, 1, 0, 0x40000000), EOPNOTSUPP);
	CHECK_ERRNO(preadv(fd, r, bad_count, 0), EINVAL);
	CHECK_EQ(close(fd), 0);
	/* O_APPEND */
	fd = open(upath("vec"), O_WRONLY | O_APPEND);
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	CHECK_EQ(write(fd, "END", 3), 3);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 126);
	CHECK_EQ(fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND), O_WRONLY | O_APPEND);
	CHECK_EQ(fcntl(fd, F_SETFL, 0), 0);
	CHECK_EQ(fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND), O_WRONLY);
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	CHECK_EQ(write(fd, "S", 1), 1);
	CHECK_EQ(close(fd), 0);
	fd = open(upath("vec"), O_RDONLY);
	CHECK_EQ(read(fd, all, 1), 1);
	CHECK_EQ(all[0], 'S');
	CHECK_EQ(pread(fd, all, 3, 123), 3);
	CHECK(!memcmp(all, "END", 3));
	CHECK_EQ(close(fd), 0);
}

static void test_stat(void)
{
	struct stat st, st2;
	struct statx sx;
	struct statfs sf;
	int fd = open(upath("st"), O_CREAT | O_RDWR | O_TRUNC, 0640);

	CHECK_EQ(pwrite(fd, "abc", 3, 8190), 3);
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0640 & ~test_umask);
	CHECK_EQ(st.st_size, 8193);
	CHECK_EQ(st.st_nlink, 1);
	CHECK_EQ(st.st_blksize, 4096);
	CHECK(st.st_blocks >= 8);
	CHECK_EQ(st.st_dev, makedev(0, 0xdaf));
	CHECK_EQ(stat(upath("st"), &st2), 0);
	CHECK_EQ(st2.st_ino, st.st_ino);
	CHECK_EQ(lstat(upath("st"), &st2), 0);
	CHECK_EQ(st2.st_size, 8193);
	CHECK_EQ(fstatat(AT_FDCWD, upath("st"), &st2, 0), 0);
	CHECK_EQ(st2.st_ino, st.st_ino);
	CHECK_EQ(fstatat(fd, "", &st2, AT_EMPTY_PATH), 0);
	CHECK_EQ(st2.st_ino, st.st_ino);
	CHECK_EQ(statx(AT_FDCWD, upath("st"), 0, STATX_BASIC_STATS, &sx), 0);
	CHECK_EQ(sx.stx_ino, st.st_ino);
	CHECK_EQ(sx.stx_size, 8193);
	CHECK_EQ(sx.stx_mask & STATX_BASIC_STATS, STATX_BASIC_STATS);
	CHECK_EQ(sx.stx_mtime.tv_sec, st.st_mtim.tv_sec);
	CHECK_ERRNO(stat(upath("nope"), &st2), ENOENT);
	CHECK_ERRNO(stat(upath("st/x"), &st2), ENOTDIR);
	CHECK_EQ(stat(test_prefix, &st2), 0);
	CHECK(S_ISDIR(st2.st_mode));
	CHECK_EQ(statfs(test_prefix, &sf), 0);
	CHECK_EQ(sf.f_type, 0x58414455);
	CHECK_EQ(sf.f_bsize, 4096);
	CHECK(sf.f_bfree > 0 && sf.f_bfree < sf.f_blocks);
	CHECK_EQ(fstatfs(fd, &sf), 0);
	CHECK_EQ(sf.f_type, 0x58414455);
	/* access */
	CHECK_EQ(access(upath("st"), F_OK), 0);
	CHECK_EQ(access(upath("st"), R_OK | W_OK), 0);
	CHECK_ERRNO(access(upath("nope"), F_OK), ENOENT);
	CHECK_ERRNO(access(upath("st"), 0100), EINVAL);
	CHECK_EQ(faccessat(AT_FDCWD, upath("st"), R_OK, AT_EACCESS), 0);
	/* attributes udaxfs cannot change */
	CHECK_EQ(fchmod(fd, st.st_mode & 07777), 0);
	CHECK_ERRNO(fchmod(fd, 0777), EOPNOTSUPP);
	CHECK_ERRNO(chmod(upath("st"), 0600 ^ (st.st_mode & 0777)), EOPNOTSUPP);
	CHECK_EQ(chown(upath("st"), st.st_uid, (gid_t)-1), 0);
	CHECK_ERRNO(futimens(fd, NULL), EOPNOTSUPP);
	CHECK_EQ(close(fd), 0);
}

static void test_size(void)
{
	unsigned char buf[8192];
	struct stat st;
	int fd = open(upath("size"), O_CREAT | O_RDWR | O_TRUNC, 0600);

	CHECK_EQ(ftruncate(fd, 100000), 0);
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK_EQ(st.st_size, 100000);
	CHECK_ERRNO(ftruncate(fd, -1), EINVAL);
	CHECK_EQ(truncate(upath("size"), 5000), 0);
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK_EQ(st.st_size, 5000);
	CHECK_ERRNO(truncate(upath("nope"), 1), ENOENT);
	CHECK_EQ(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 20), 0);
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK_EQ(st.st_size, 5000);
	CHECK(st.st_blocks >= (1 << 20) / 512);
	CHECK_EQ(fallocate(fd, 0, 0, 3 << 20), 0);
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK_EQ(st.st_size, 3 << 20);
	memset(buf, 0xab, sizeof(buf));
	CHECK_EQ(pwrite(fd, buf, sizeof(buf), 0), sizeof(buf));
	CHECK_EQ(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 5000), 0);
	CHECK_EQ(pread(fd, buf, sizeof(buf), 0), sizeof(buf));
	for (int i = 0; i < 8192; i++)
		CHECK_EQ(buf[i], i >= 100 && i < 5100 ? 0 : 0xab);
	CHECK_ERRNO(fallocate(fd, 0, 0, 0), EINVAL);
	CHECK_ERRNO(fallocate(fd, 0x40, 0, 4096), EOPNOTSUPP);
	CHECK_EQ(posix_fallocate(fd, 0, (3 << 20) + 1), 0);
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK_EQ(st.st_size, (3 << 20) + 1);
	CHECK_EQ(posix_fallocate(fd, 0, 0), EINVAL); /* the error number, not -1 */
	CHECK_EQ(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	CHECK_EQ(posix_fadvise(fd, 0, 0, 99), EINVAL);
	CHECK_EQ(fsync(fd), 0);
	CHECK_EQ(fdatasync(fd), 0);
	CHECK_EQ(sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE), 0);
	CHECK_ERRNO(sync_file_range(fd, 0, 0, 0x80), EINVAL);
	CHECK_EQ(syncfs(fd), 0);
	CHECK_EQ(close(fd), 0);
	CHECK_ERRNO(fsync(fd), EBADF);
}

static void test_descriptors(void)
{
	char buf[16];
	int fd, real, d, d2, raw;

	fd = open(upath("fd"), O_CREAT | O_RDWR | O_TRUNC, 0600);
	CHECK(fd >= 0);
	/* the number is reserved: a real open gets another one */
	real = open("/dev/null", O_RDONLY);
	CHECK(real >= 0 && real != fd);
	CHECK_EQ(fcntl(fd, F_GETFD), 0);
	/* non-interposed access (a raw system call) fails clearly */
	CHECK_ERRNO(syscall(SYS_read, fd, buf, 1), EBADF);
	CHECK_EQ(write(fd, "0123456789", 10), 10);
	/* dup shares the position */
	d = dup(fd);
	CHECK(d >= 0 && d != fd && d != real);
	CHECK_EQ(lseek(d, 2, SEEK_SET), 2);
	CHECK_EQ(read(fd, buf, 3), 3);
	CHECK(!memcmp(buf, "234", 3));
	CHECK_EQ(lseek(d, 0, SEEK_CUR), 5);
	CHECK_EQ(close(fd), 0);
	CHECK_EQ(read(d, buf, 2), 2); /* still open through the duplicate */
	CHECK(!memcmp(buf, "56", 2));
	/* dup2 onto a real descriptor replaces it */
	CHECK_EQ(dup2(d, real), real);
	CHECK_EQ(read(real, buf, 1), 1);
	CHECK_EQ(buf[0], '7');
	CHECK_EQ(dup2(d, d), d);
	CHECK_ERRNO(dup3(d, d, 0), EINVAL);
	/* dup3 with O_CLOEXEC, F_DUPFD with a minimum */
	d2 = dup3(d, 200, O_CLOEXEC);
	CHECK_EQ(d2, 200);
	CHECK_EQ(fcntl(d2, F_GETFD), FD_CLOEXEC);
	CHECK_EQ(fcntl(d2, F_SETFD, 0), 0);
	CHECK_EQ(fcntl(d2, F_GETFD), 0);
	fd = fcntl(d, F_DUPFD, 150);
	CHECK(fd >= 150);
	CHECK_EQ(fcntl(fd, F_GETFD), 0);
	CHECK_EQ(close(fd), 0);
	fd = fcntl(d, F_DUPFD_CLOEXEC, 150);
	CHECK(fd >= 150);
	CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	CHECK_EQ(close(fd), 0);
	CHECK_EQ(lseek(d2, 0, SEEK_CUR), 8);
	/* a real descriptor dup2'd onto a udax one makes it real again */
	raw = open("/dev/zero", O_RDONLY);
	CHECK_EQ(dup2(raw, d2), d2);
	CHECK_EQ(read(d2, buf, 4), 4);
	CHECK(!memcmp(buf, "\0\0\0\0", 4));
	CHECK_EQ(close(d2), 0);
	CHECK_EQ(close(raw), 0);
	CHECK_EQ(close(real), 0);
	CHECK_EQ(close(d), 0);
	CHECK_ERRNO(dup(d), EBADF);
	CHECK_ERRNO(fcntl(d, F_GETFD), EBADF);
	/* MAP_ANONYMOUS ignores the descriptor, udax or not (mappings: test_posix_mmap) */
	fd = open(upath("fd"), O_RDWR);
	void *anon = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, fd, 0);
	CHECK(anon != MAP_FAILED);
	CHECK_EQ(munmap(anon, 4096), 0);
	CHECK_ERRNO(ioctl(fd, FIONREAD, &raw), ENOTTY);
	/* close_range closes udax descriptors too; their numbers become real again */
	CHECK_EQ(close_range(fd, fd, 0), 0);
	CHECK_ERRNO(fsync(fd), EBADF);
	raw = open("/dev/zero", O_RDONLY);
	CHECK_EQ(raw, fd);
	CHECK_EQ(read(raw, buf, 2), 2);
	CHECK_EQ(close(raw), 0);
}

static void test_fiemap_copy(void)
{
	struct {
		struct fiemap fm;
		struct fiemap_extent fe[8];
	} m;
	static unsigned char a[300000], b[300000];
	int fd, fd2, tfd;
	off64_t in = 1000, out = 0;
	char tpath[512];

	fd = open(upath("fm"), O_CREAT | O_RDWR | O_TRUNC, 0600);
	fill(a, sizeof(a), 3);
	CHECK_EQ(write(fd, a, sizeof(a)), sizeof(a));
	memset(&m, 0, sizeof(m));
	m.fm.fm_length = ~0ull;
	CHECK_EQ(ioctl(fd, FS_IOC_FIEMAP, &m.fm), 0);
	CHECK(m.fm.fm_mapped_extents >= 1);
	m.fm.fm_extent_count = 8;
	CHECK_EQ(ioctl(fd, FS_IOC_FIEMAP, &m.fm), 0);
	CHECK_EQ(m.fe[0].fe_logical, 0);
	CHECK(m.fe[m.fm.fm_mapped_extents - 1].fe_flags & FIEMAP_EXTENT_LAST);
	CHECK(m.fe[m.fm.fm_mapped_extents - 1].fe_logical +
		      m.fe[m.fm.fm_mapped_extents - 1].fe_length >=
	      sizeof(a));
	m.fm.fm_flags = FIEMAP_FLAG_XATTR;
	CHECK_ERRNO(ioctl(fd, FS_IOC_FIEMAP, &m.fm), EBADR);
	/* copy_file_range udax -> udax (explicit offsets) and udax -> real (positions) */
	fd2 = open(upath("fm2"), O_CREAT | O_RDWR | O_TRUNC, 0600);
	CHECK_EQ(copy_file_range(fd, &in, fd2, &out, sizeof(a), 0), sizeof(a) - 1000);
	CHECK_EQ(in, sizeof(a));
	CHECK_EQ(out, sizeof(a) - 1000);
	CHECK_EQ(pread(fd2, b, sizeof(b), 0), sizeof(a) - 1000);
	CHECK(!memcmp(a + 1000, b, sizeof(a) - 1000));
	snprintf(tpath, sizeof(tpath), "%s/copy", test_tmpdir());
	tfd = open(tpath, O_CREAT | O_RDWR, 0600);
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	CHECK_EQ(copy_file_range(fd, NULL, tfd, NULL, sizeof(a), 0), sizeof(a));
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), sizeof(a));
	CHECK_EQ(pread(tfd, b, sizeof(b), 0), sizeof(a));
	CHECK(!memcmp(a, b, sizeof(a)));
	CHECK_ERRNO(copy_file_range(fd, NULL, tfd, NULL, 1, 1), EINVAL);
	close(tfd);
	close(fd2);
	close(fd);
}

static void test_locks(void)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100};
	int a = open(upath("lk"), O_CREAT | O_RDWR, 0600), b = open(upath("lk"), O_RDWR);
	int ro = open(upath("lk"), O_RDONLY), ad = dup(a);

	/* flock: per open file, shared by duplicates */
	CHECK_EQ(flock(a, LOCK_EX | LOCK_NB), 0);
	CHECK_EQ(flock(ad, LOCK_EX | LOCK_NB), 0);
	CHECK_ERRNO(flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	CHECK_ERRNO(flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK);
	CHECK_EQ(flock(a, LOCK_UN), 0);
	CHECK_EQ(flock(b, LOCK_SH | LOCK_NB), 0);
	CHECK_EQ(flock(ro, LOCK_SH | LOCK_NB), 0);
	CHECK_ERRNO(flock(a, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	CHECK_ERRNO(flock(a, 99), EINVAL);
	CHECK_EQ(close(b), 0); /* the last close releases b's lock */
	CHECK_EQ(flock(ro, LOCK_UN), 0);
	CHECK_EQ(flock(a, LOCK_EX | LOCK_NB), 0);
	/* OFD locks conflict between open files, by range */
	b = open(upath("lk"), O_RDWR);
	CHECK_EQ(fcntl(a, F_OFD_SETLK, &fl), 0);
	fl.l_start = 50;
	CHECK_ERRNO(fcntl(b, F_OFD_SETLK, &fl), EAGAIN);
	fl.l_start = 100;
	CHECK_EQ(fcntl(b, F_OFD_SETLK, &fl), 0);
	fl = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 1};
	CHECK_EQ(fcntl(b, F_OFD_GETLK, &fl), 0);
	CHECK_EQ(fl.l_type, F_WRLCK);
	CHECK_EQ(fl.l_start, 0);
	CHECK_EQ(fl.l_len, 100);
	CHECK_EQ(fl.l_pid, -1);
	/* unlock the middle of a's lock: the range splits */
	fl = (struct flock){.l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 20, .l_len = 10};
	CHECK_EQ(fcntl(a, F_OFD_SETLK, &fl), 0);
	fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 20, .l_len = 10};
	CHECK_EQ(fcntl(b, F_OFD_SETLK, &fl), 0);
	fl.l_start = 30;
	CHECK_ERRNO(fcntl(b, F_OFD_SETLK, &fl), EAGAIN);
	fl.l_pid = 1;
	CHECK_ERRNO(fcntl(b, F_OFD_SETLK, &fl), EINVAL);
	/* classic POSIX locks belong to the process: no conflict within it */
	fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
	CHECK_EQ(fcntl(a, F_SETLK, &fl), 0);
	CHECK_EQ(fcntl(b, F_SETLKW, &fl), 0);
	CHECK_EQ(fcntl(b, F_GETLK, &fl), 0);
	CHECK_EQ(fl.l_type, F_UNLCK);
	fl.l_type = F_WRLCK;
	CHECK_ERRNO(fcntl(ro, F_SETLK, &fl), EBADF);
	fl.l_type = 42;
	CHECK_ERRNO(fcntl(a, F_SETLK, &fl), EINVAL);
	close(a);
	close(ad);
	close(b);
	close(ro);
}

struct worker {
	int fd, id;
	const char *tmp; /* upath() is not thread-safe */
};

static void *writer(void *arg)
{
	struct worker *w = arg;
	unsigned char buf[4096], chk[4096];

	for (int i = 0; i < 64; i++) {
		off_t off = (off_t)(i * 4 + w->id) * 4096;

		fill(buf, sizeof(buf), (unsigned)(w->id * 1000 + i));
		if (pwrite(w->fd, buf, sizeof(buf), off) != (ssize_t)sizeof(buf) ||
		    pread(w->fd, chk, sizeof(chk), off) != (ssize_t)sizeof(chk) ||
		    memcmp(buf, chk, sizeof(buf)))
			return (void *)1;
		/* open/close churn beside the I/O */
		int t = open(w->tmp, O_CREAT | O_RDWR, 0600);

		if (t < 0 || close(t))
			return (void *)1;
	}
	return NULL;
}

static void test_threads(void)
{
	pthread_t t[4];
	struct worker w[4];
	void *ret;
	int fd = open(upath("thr"), O_CREAT | O_RDWR | O_TRUNC, 0600);
	const char *tmp = upath("thr-tmp");

	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){fd, i, tmp};
		CHECK_EQ(pthread_create(&t[i], NULL, writer, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(pthread_join(t[i], &ret), 0);
		CHECK(ret == NULL);
	}
	CHECK_EQ(lseek(fd, 0, SEEK_END), 256 * 4096);
	close(fd);
}

static void test_fork_exec(void)
{
	int fd = open(upath("fork"), O_CREAT | O_RDWR | O_TRUNC, 0700), status;
	char buf[4];
	pid_t pid;

	CHECK_EQ(write(fd, "data", 4), 4);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* in the child udax calls fail with EIO; real files work */
		int ok = pread(fd, buf, 4, 0) == -1 && errno == EIO;

		ok = ok && open(upath("fork"), O_RDONLY) == -1 && errno == EIO;
		ok = ok && write(1, "", 0) == 0;
		ok = ok && close(fd) == 0;
		_exit(ok ? 0 : 1);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	/* the parent is unaffected */
	CHECK_EQ(pread(fd, buf, 4, 0), 4);
	CHECK(!memcmp(buf, "data", 4));
	CHECK_EQ(close(fd), 0);
	CHECK_ERRNO(execv(upath("fork"), (char *[]){"x", NULL}), EACCES);
	CHECK_ERRNO(chdir(test_prefix), ENOTSUP);
}

/* F_SET_RW_HINT / F_GET_RW_HINT (RocksDB sets write-lifetime hints on its files). */
static void test_rw_hint(void)
{
	unsigned char raw[16] __attribute__((aligned(8)));
	uint64_t hint = 99;
	int fd = open(upath("hint"), O_CREAT | O_RDWR, 0600);

	CHECK(fd >= 0);
	CHECK_EQ(fcntl(fd, F_GET_RW_HINT, &hint), 0);
	CHECK_EQ(hint, RWH_WRITE_LIFE_NOT_SET);
	hint = RWH_WRITE_LIFE_SHORT;
	CHECK_EQ(fcntl(fd, F_SET_RW_HINT, &hint), 0);
	hint = 99;
	CHECK_ERRNO(fcntl(fd, F_SET_RW_HINT, &hint), EINVAL);
	CHECK_ERRNO(fcntl(fd, F_SET_RW_HINT, NULL), EFAULT);
	CHECK_ERRNO(fcntl(fd, F_GET_RW_HINT, NULL), EFAULT);
	CHECK_EQ(fcntl(fd, F_GET_RW_HINT, &hint), 0);
	CHECK_EQ(hint, RWH_WRITE_LIFE_SHORT);
	/* the kernel copies the value: it need not be aligned (RocksDB's is not) */
	hint = RWH_WRITE_LIFE_LONG;
	memcpy(raw + 4, &hint, sizeof(hint));
	CHECK_EQ(fcntl(fd, F_SET_RW_HINT, raw + 4), 0);
	memset(raw, 0xff, sizeof(raw));
	CHECK_EQ(fcntl(fd, F_GET_RW_HINT, raw + 4), 0);
	memcpy(&hint, raw + 4, sizeof(hint));
	CHECK_EQ(hint, RWH_WRITE_LIFE_LONG);
	CHECK_EQ(close(fd), 0);
}

int main(void)
{
	shim_test_init();
	test_rw();
	test_vectors();
	test_stat();
	test_size();
	test_descriptors();
	test_rw_hint();
	test_fiemap_copy();
	test_locks();
	test_threads();
	test_fork_exec();
	printf("ok\n");
	return 0;
}
