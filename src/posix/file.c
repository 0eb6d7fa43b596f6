// SPDX-License-Identifier: MIT
/*
 * Descriptor calls: open, close, the read/write family, lseek, truncate,
 * fallocate, sync, dup, fcntl, flock, ioctl(FS_IOC_FIEMAP) and
 * copy_file_range. Each one tests its descriptor with fd_is_udax() and otherwise
 * calls libc's definition (the read/write family with the udax parts of its
 * buffers pinned, pin.c).
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/fiemap.h>
#include <linux/close_range.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "posix/shim.h"

/* Flags F_GETFL reports and F_SETFL may change. */
#define STATUS_FLAGS (O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | O_SYNC | O_DSYNC)
#define SETFL_FLAGS  (O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME)
#define UNSUPP_RWF   (~(RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND))
#define COPY_CHUNK   (256 * 1024)
/* Open flags passed to udax; like the kernel, open ignores unknown ones. */
#define OPEN_FLAGS                                                                                 \
	(O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_DIRECTORY | O_NOFOLLOW | O_NOCTTY | O_SYNC |   \
	 O_DSYNC | O_DIRECT | O_NOATIME | O_NONBLOCK)

static int uflags(struct ufile *uf)
{
	return __atomic_load_n(&uf->flags, __ATOMIC_RELAXED);
}

/* ---- open ---------------------------------------------------------------- */

int shim_open(const char *ppath, int flags, mode_t mode)
{
	struct udax_file *file;
	struct udax_fs *fs;
	struct ufile *uf;
	int ret, fd;

	if ((flags & O_TMPFILE) == O_TMPFILE) {
		shim_warn("O_TMPFILE is not supported on udax files (%s)", ppath);
		return (int)shim_ret(-EOPNOTSUPP);
	}
	if (flags & O_PATH)
		flags = O_RDONLY | (flags & (O_DIRECTORY | O_CLOEXEC));
	ret = shim_fs(&fs);
	if (!ret)
		ret = udax_open(fs, ppath, flags & OPEN_FLAGS, mode & ~shim_umask(), &file);
	if (ret)
		return (int)shim_ret(ret);
	uf = ufile_new(file, flags & (O_ACCMODE | STATUS_FLAGS), ppath);
	if (!uf) {
		udax_close(file);
		return (int)shim_ret(-ENOMEM);
	}
	fd = fd_install(uf, 0, flags & O_CLOEXEC);
	ufile_put(uf);
	return (int)shim_ret(fd);
}

static int open_at(int dirfd, const char *path, int flags, mode_t mode)
{
	char pp[SHIM_PATH_MAX];
	int r = path_resolve(dirfd, path, pp);

	if (r == 0)
		return REAL(openat)(dirfd, path, flags, mode);
	if (r < 0)
		return (int)shim_ret(r);
	return shim_open(pp, flags, mode);
}

static mode_t open_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

SHIM_API int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return open_at(AT_FDCWD, path, flags, mode);
}

SHIM_API int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return open_at(dirfd, path, flags, mode);
}

SHIM_API int open64(const char *path, int flags, ...) __attribute__((alias("open")));
SHIM_API int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

/* The _FORTIFY_SOURCE entry points (flags without O_CREAT: no mode). */
int __open_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);

SHIM_API int __open_2(const char *path, int flags)
{
	return open_at(AT_FDCWD, path, flags, 0);
}

SHIM_API int __openat_2(int dirfd, const char *path, int flags)
{
	return open_at(dirfd, path, flags, 0);
}

SHIM_API int __open64_2(const char *path, int flags) __attribute__((alias("__open_2")));
SHIM_API int __openat64_2(int dirfd, const char *path, int flags)
	__attribute__((alias("__openat_2")));

SHIM_API int creat(const char *path, mode_t mode)
{
	return open_at(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

SHIM_API int creat64(const char *path, mode_t mode) __attribute__((alias("creat")));

SHIM_API int close(int fd)
{
	if (!fd_is_udax(fd))
		return REAL(close)(fd);
	return (int)shim_ret(fd_close(fd));
}

/* close_range and closefrom close in the kernel; the table follows. */
SHIM_API int close_range(unsigned first, unsigned last, int flags)
{
	int r = REAL(close_range)(first, last, flags);

	if (!r && !(flags & CLOSE_RANGE_CLOEXEC) && first <= last)
		fd_forget_range(first, last);
	return r;
}

SHIM_API void closefrom(int lowfd)
{
	REAL(closefrom)(lowfd);
	fd_forget_range(lowfd < 0 ? 0 : (unsigned)lowfd, SHIM_FD_MAX - 1);
}

/* ---- data I/O -------------------------------------------------------------- */

ssize_t ufile_io(struct ufile *uf, const struct iovec *iov, int cnt, off_t off, bool write,
		 bool append)
{
	int acc = uflags(uf) & O_ACCMODE;
	bool use_pos = off < 0;
	size_t total = 0;
	ssize_t done = 0, r = 0;
	off_t pos = off;

	if (cnt < 0 || cnt > IOV_MAX)
		return -EINVAL;
	for (int i = 0; i < cnt; i++) {
		if (iov[i].iov_len > (size_t)SSIZE_MAX - total)
			return -EINVAL;
		total += iov[i].iov_len;
	}
	if (acc == (write ? O_RDONLY : O_WRONLY))
		return -EBADF;
	if (uf->is_dir)
		return write ? -EBADF : -EISDIR;
	append = write && (append || (uflags(uf) & O_APPEND));
	if (use_pos || append)
		pthread_mutex_lock(&uf->lock);
	if (append)
		pos = udax_lseek(uf->file, 0, SEEK_END);
	else if (use_pos)
		pos = udax_lseek(uf->file, 0, SEEK_CUR);
	for (int i = 0; pos >= 0 && i < cnt; i++) {
		if (write)
			r = udax_pwrite(uf->file, iov[i].iov_base, iov[i].iov_len, pos);
		else
			r = udax_pread(uf->file, iov[i].iov_base, iov[i].iov_len, pos);
		if (r < 0)
			break;
		done += r;
		pos += r;
		if ((size_t)r < iov[i].iov_len)
			break;
	}
	if (pos >= 0 && use_pos)
		udax_lseek(uf->file, pos, SEEK_SET);
	if (use_pos || append)
		pthread_mutex_unlock(&uf->lock);
	if (pos < 0)
		return pos;
	return done ? done : (r < 0 ? r : 0);
}

/*
 * io - the body of every read/write variant: @off < 0 means the file
 * position, except for the p* calls (@positional) where it is EINVAL.
 */
static ssize_t io(int fd, const struct iovec *iov, int cnt, off_t off, bool positional, bool write,
		  int rwf)
{
	if (positional && off < 0)
		return shim_ret(-EINVAL);
	if (rwf & UNSUPP_RWF)
		return shim_ret(-EOPNOTSUPP);
	return ON_UFILE(fd, ufile_io(uf, iov, cnt, off, write, rwf & RWF_APPEND));
}

#define IOV1(buf, len) (&(struct iovec){.iov_base = (void *)(buf), .iov_len = (len)})
/* PINNED(iov, cnt, .op = ..., fields) - the call on a real descriptor, udax buffers pinned. */
#define PINNED(iov, cnt, ...) pin_call(&(struct pin_call){.fd = fd, __VA_ARGS__}, iov, cnt)

SHIM_API ssize_t read(int fd, void *buf, size_t len)
{
	if (!fd_is_udax(fd) && !buf_maybe_udax(buf, len))
		return REAL(read)(fd, buf, len);
	if (!fd_is_udax(fd))
		return PINNED(IOV1(buf, len), 1, .op = PIN_READ);
	return io(fd, IOV1(buf, len), 1, -1, false, false, 0);
}

SHIM_API ssize_t write(int fd, const void *buf, size_t len)
{
	if (!fd_is_udax(fd) && !buf_maybe_udax(buf, len))
		return REAL(write)(fd, buf, len);
	if (!fd_is_udax(fd))
		return PINNED(IOV1(buf, len), 1, .op = PIN_WRITE);
	return io(fd, IOV1(buf, len), 1, -1, false, true, 0);
}

SHIM_API ssize_t pread(int fd, void *buf, size_t len, off_t off)
{
	if (!fd_is_udax(fd) && !buf_maybe_udax(buf, len))
		return REAL(pread)(fd, buf, len, off);
	if (!fd_is_udax(fd))
		return PINNED(IOV1(buf, len), 1, .op = PIN_PREAD, .off = off);
	return io(fd, IOV1(buf, len), 1, off, true, false, 0);
}

SHIM_API ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	if (!fd_is_udax(fd) && !buf_maybe_udax(buf, len))
		return REAL(pwrite)(fd, buf, len, off);
	if (!fd_is_udax(fd))
		return PINNED(IOV1(buf, len), 1, .op = PIN_PWRITE, .off = off);
	return io(fd, IOV1(buf, len), 1, off, true, true, 0);
}

SHIM_API ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	if (!fd_is_udax(fd) && !iov_maybe_udax(iov, cnt))
		return REAL(readv)(fd, iov, cnt);
	if (!fd_is_udax(fd))
		return PINNED(iov, cnt, .op = PIN_READV);
	return io(fd, iov, cnt, -1, false, false, 0);
}

SHIM_API ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	if (!fd_is_udax(fd) && !iov_maybe_udax(iov, cnt))
		return REAL(writev)(fd, iov, cnt);
	if (!fd_is_udax(fd))
		return PINNED(iov, cnt, .op = PIN_WRITEV);
	return io(fd, iov, cnt, -1, false, true, 0);
}

SHIM_API ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	if (!fd_is_udax(fd) && !iov_maybe_udax(iov, cnt))
		return REAL(preadv)(fd, iov, cnt, off);
	if (!fd_is_udax(fd))
		return PINNED(iov, cnt, .op = PIN_PREADV, .off = off);
	return io(fd, iov, cnt, off, true, false, 0);
}

SHIM_API ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	if (!fd_is_udax(fd) && !iov_maybe_udax(iov, cnt))
		return REAL(pwritev)(fd, iov, cnt, off);
	if (!fd_is_udax(fd))
		return PINNED(iov, cnt, .op = PIN_PWRITEV, .off = off);
	return io(fd, iov, cnt, off, true, true, 0);
}

/* preadv2/pwritev2: offset -1 means the file position. */
SHIM_API ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int rwf)
{
	if (!fd_is_udax(fd) && !iov_maybe_udax(iov, cnt))
		return REAL(preadv2)(fd, iov, cnt, off, rwf);
	if (!fd_is_udax(fd))
		return PINNED(iov, cnt, .op = PIN_PREADV2, .off = off, .flags = rwf);
	return io(fd, iov, cnt, off, off != -1, false, rwf);
}

SHIM_API ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int rwf)
{
	if (!fd_is_udax(fd) && !iov_maybe_udax(iov, cnt))
		return REAL(pwritev2)(fd, iov, cnt, off, rwf);
	if (!fd_is_udax(fd))
		return PINNED(iov, cnt, .op = PIN_PWRITEV2, .off = off, .flags = rwf);
	return io(fd, iov, cnt, off, off != -1, true, rwf);
}

SHIM_API ssize_t pread64(int fd, void *buf, size_t len, off_t off) __attribute__((alias("pread")));
SHIM_API ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
	__attribute__((alias("pwrite")));
SHIM_API ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off_t off)
	__attribute__((alias("preadv")));
SHIM_API ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
	__attribute__((alias("pwritev")));
SHIM_API ssize_t preadv64v2(int fd, const struct iovec *iov, int cnt, off_t off, int rwf)
	__attribute__((alias("preadv2")));
SHIM_API ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off_t off, int rwf)
	__attribute__((alias("pwritev2")));

/* The _FORTIFY_SOURCE entry points: libc checks the buffer size and aborts. */
ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen);
ssize_t __pread_chk(int fd, void *buf, size_t len, off_t off, size_t buflen);

SHIM_API ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	if ((!fd_is_udax(fd) && !buf_maybe_udax(buf, len)) || len > buflen)
		return REAL(__read_chk)(fd, buf, len, buflen);
	if (!fd_is_udax(fd))
		return PINNED(IOV1(buf, len), 1, .op = PIN_READ);
	return io(fd, IOV1(buf, len), 1, -1, false, false, 0);
}

SHIM_API ssize_t __pread_chk(int fd, void *buf, size_t len, off_t off, size_t buflen)
{
	if ((!fd_is_udax(fd) && !buf_maybe_udax(buf, len)) || len > buflen)
		return REAL(__pread_chk)(fd, buf, len, off, buflen);
	if (!fd_is_udax(fd))
		return PINNED(IOV1(buf, len), 1, .op = PIN_PREAD, .off = off);
	return io(fd, IOV1(buf, len), 1, off, true, false, 0);
}

SHIM_API ssize_t __pread64_chk(int fd, void *buf, size_t len, off_t off, size_t buflen)
	__attribute__((alias("__pread_chk")));

/* ---- position, size, allocation, sync ------------------------------------ */

off_t ufile_lseek(struct ufile *uf, off_t off, int whence)
{
	struct udax_stat st;
	off_t r;

	pthread_mutex_lock(&uf->lock);
	if (whence == SEEK_DATA || whence == SEEK_HOLE) {
		/* Holes read as zeros: the whole file is reported as data. */
		r = udax_fstat(uf->file, &st);
		if (!r && (off < 0 || (uint64_t)off >= st.size))
			r = -ENXIO;
		else if (!r)
			r = udax_lseek(uf->file, whence == SEEK_DATA ? off : (off_t)st.size,
				       SEEK_SET);
	} else {
		r = udax_lseek(uf->file, off, whence);
	}
	pthread_mutex_unlock(&uf->lock);
	return r;
}

SHIM_API off_t lseek(int fd, off_t off, int whence)
{
	if (!fd_is_udax(fd))
		return REAL(lseek)(fd, off, whence);
	return ON_UFILE(fd, ufile_lseek(uf, off, whence));
}

SHIM_API off_t lseek64(int fd, off_t off, int whence) __attribute__((alias("lseek")));

static bool writable(struct ufile *uf)
{
	return (uflags(uf) & O_ACCMODE) != O_RDONLY;
}

static long do_ftruncate(struct ufile *uf, off_t len)
{
	if (len < 0 || !writable(uf) || uf->is_dir)
		return -EINVAL;
	return udax_ftruncate(uf->file, len);
}

SHIM_API int ftruncate(int fd, off_t len)
{
	if (!fd_is_udax(fd))
		return REAL(ftruncate)(fd, len);
	return (int)ON_UFILE(fd, do_ftruncate(uf, len));
}

SHIM_API int ftruncate64(int fd, off_t len) __attribute__((alias("ftruncate")));

static long do_fallocate(struct ufile *uf, int mode, off_t off, off_t len)
{
	if (off < 0 || len <= 0)
		return -EINVAL;
	if (!writable(uf))
		return -EBADF;
	if (uf->is_dir)
		return -EISDIR;
	return udax_fallocate(uf->file, mode, off, len);
}

SHIM_API int fallocate(int fd, int mode, off_t off, off_t len)
{
	if (!fd_is_udax(fd))
		return REAL(fallocate)(fd, mode, off, len);
	return (int)ON_UFILE(fd, do_fallocate(uf, mode, off, len));
}

SHIM_API int fallocate64(int fd, int mode, off_t off, off_t len)
	__attribute__((alias("fallocate")));

/* posix_fallocate and posix_fadvise return the error number itself. */
SHIM_API int posix_fallocate(int fd, off_t off, off_t len)
{
	if (!fd_is_udax(fd))
		return REAL(posix_fallocate)(fd, off, len);
	return ON_UFILE(fd, do_fallocate(uf, 0, off, len)) < 0 ? errno : 0;
}

SHIM_API int posix_fallocate64(int fd, off_t off, off_t len)
	__attribute__((alias("posix_fallocate")));

/* Page-cache advice has no meaning on DAX: validated and ignored. */
SHIM_API int posix_fadvise(int fd, off_t off, off_t len, int advice)
{
	if (!fd_is_udax(fd))
		return REAL(posix_fadvise)(fd, off, len, advice);
	if (advice < POSIX_FADV_NORMAL || advice > POSIX_FADV_NOREUSE || len < 0)
		return EINVAL;
	return ON_UFILE(fd, 0) < 0 ? errno : 0;
}

SHIM_API int posix_fadvise64(int fd, off_t off, off_t len, int advice)
	__attribute__((alias("posix_fadvise")));

SHIM_API ssize_t readahead(int fd, off64_t off, size_t len)
{
	if (!fd_is_udax(fd))
		return REAL(readahead)(fd, off, len);
	return ON_UFILE(fd, 0);
}

static long do_sync(struct ufile *uf, bool data)
{
	if (uf->is_dir)
		return 0; /* namespace changes are durable when they return */
	return data ? udax_fdatasync(uf->file) : udax_fsync(uf->file);
}

SHIM_API int fsync(int fd)
{
	if (!fd_is_udax(fd))
		return REAL(fsync)(fd);
	return (int)ON_UFILE(fd, do_sync(uf, false));
}

SHIM_API int fdatasync(int fd)
{
	if (!fd_is_udax(fd))
		return REAL(fdatasync)(fd);
	return (int)ON_UFILE(fd, do_sync(uf, true));
}

SHIM_API int sync_file_range(int fd, off64_t off, off64_t len, unsigned flags)
{
	const unsigned valid =
		SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;

	if (!fd_is_udax(fd))
		return REAL(sync_file_range)(fd, off, len, flags);
	if ((flags & ~valid) || off < 0 || len < 0)
		return (int)shim_ret(-EINVAL);
	return (int)ON_UFILE(fd, do_sync(uf, true));
}

SHIM_API int syncfs(int fd)
{
	if (!fd_is_udax(fd))
		return REAL(syncfs)(fd);
	return (int)ON_UFILE(fd, 0);
}

/* ---- descriptors ------------------------------------------------------------ */

SHIM_API int dup(int fd)
{
	if (!fd_is_udax(fd))
		return REAL(dup)(fd);
	return (int)ON_UFILE(fd, fd_install(uf, 0, false));
}

static int dup_to(int oldfd, int newfd, int flags)
{
	if (flags & ~O_CLOEXEC)
		return (int)shim_ret(-EINVAL);
	if (fd_is_udax(oldfd))
		return (int)ON_UFILE(oldfd, fd_dup_to(oldfd, uf, newfd, flags & O_CLOEXEC));
	/* A real descriptor replaces a udax one: drop the udax file. */
	return (int)shim_ret(fd_dup_to(oldfd, NULL, newfd, flags & O_CLOEXEC));
}

SHIM_API int dup2(int oldfd, int newfd)
{
	if (oldfd == newfd && fd_is_udax(oldfd))
		return newfd;
	if (oldfd == newfd || (!fd_is_udax(oldfd) && !fd_is_udax(newfd)))
		return REAL(dup2)(oldfd, newfd);
	return dup_to(oldfd, newfd, 0);
}

SHIM_API int dup3(int oldfd, int newfd, int flags)
{
	if (oldfd == newfd || (!fd_is_udax(oldfd) && !fd_is_udax(newfd)))
		return REAL(dup3)(oldfd, newfd, flags);
	return dup_to(oldfd, newfd, flags);
}

/* Classic POSIX record locks belong to the process: nothing to conflict with. */
static long posix_lock(struct ufile *uf, int cmd, struct flock *fl)
{
	uint64_t start, end;
	long r = lock_range(uf, fl, &start, &end);

	if (!r && cmd == F_GETLK) {
		if (fl->l_type == F_UNLCK)
			return -EINVAL;
		fl->l_type = F_UNLCK;
	}
	return r;
}

static long setfl(struct ufile *uf, int flags)
{
	pthread_mutex_lock(&uf->lock);
	__atomic_store_n(&uf->flags, (uf->flags & ~SETFL_FLAGS) | (flags & SETFL_FLAGS),
			 __ATOMIC_RELAXED);
	pthread_mutex_unlock(&uf->lock);
	return 0;
}

/*
 * Write-lifetime hints (RocksDB sets them on every file): validated as the
 * kernel does and kept, per open file rather than per inode, for F_GET_RW_HINT.
 * The argument need not be aligned (the kernel copies it; RocksDB's is not).
 */
static long rw_hint(struct ufile *uf, int cmd, void *arg)
{
	uint64_t hint;

	if (!arg)
		return -EFAULT;
	if (cmd == F_GET_RW_HINT) {
		hint = atomic_load(&uf->rw_hint);
		memcpy(arg, &hint, sizeof(hint));
		return 0;
	}
	memcpy(&hint, arg, sizeof(hint));
	if (hint > RWH_WRITE_LIFE_EXTREME)
		return -EINVAL;
	atomic_store(&uf->rw_hint, hint);
	return 0;
}

static long udax_fcntl(int fd, struct ufile *uf, int cmd, void *arg)
{
	int iarg = (int)(long)arg;

	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		if (iarg < 0)
			return -EINVAL;
		return fd_install(uf, iarg, cmd == F_DUPFD_CLOEXEC);
	case F_GETFD:
		return fd_get_cloexec(fd);
	case F_SETFD:
		fd_set_cloexec(fd, iarg & FD_CLOEXEC);
		return 0;
	case F_GETFL:
		return uflags(uf);
	case F_SETFL:
		return setfl(uf, iarg);
	case F_GETLK:
	case F_SETLK:
	case F_SETLKW:
		return posix_lock(uf, cmd, arg);
	case F_OFD_GETLK:
	case F_OFD_SETLK:
	case F_OFD_SETLKW:
		return lock_ofd(uf, cmd, arg);
	case F_GETLEASE:
		return F_UNLCK;
	case F_GET_RW_HINT:
	case F_SET_RW_HINT:
		return rw_hint(uf, cmd, arg);
	default:
		shim_warn("fcntl command %d is not supported on udax descriptors", cmd);
		return -EINVAL;
	}
}

SHIM_API int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!fd_is_udax(fd))
		return REAL(fcntl)(fd, cmd, arg);
	return (int)ON_UFILE(fd, udax_fcntl(fd, uf, cmd, arg));
}

SHIM_API int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));

SHIM_API int flock(int fd, int op)
{
	if (!fd_is_udax(fd))
		return REAL(flock)(fd, op);
	return (int)ON_UFILE(fd, lock_flock(uf, op));
}

/* ---- ioctl(FS_IOC_FIEMAP) ------------------------------------------------- */

static long fiemap(struct ufile *uf, struct fiemap *fm)
{
	uint64_t start = fm->fm_start, end;
	struct udax_extent *ext;
	unsigned n = 0;
	int cnt;

	if (fm->fm_flags & ~FIEMAP_FLAG_SYNC) {
		fm->fm_flags &= ~FIEMAP_FLAG_SYNC;
		return -EBADR;
	}
	end = fm->fm_length > UINT64_MAX - start ? UINT64_MAX : start + fm->fm_length;
	cnt = udax_fiemap(uf->file, NULL, 0);
	if (cnt < 0)
		return cnt;
	ext = calloc(cnt ? cnt : 1, sizeof(*ext));
	if (!ext)
		return -ENOMEM;
	cnt = udax_fiemap(uf->file, ext, cnt);
	for (int i = 0; i < cnt; i++) {
		struct fiemap_extent *fe;

		if (ext[i].logical + ext[i].length <= start || ext[i].logical >= end)
			continue;
		if (fm->fm_extent_count && n < fm->fm_extent_count) {
			fe = &fm->fm_extents[n];
			memset(fe, 0, sizeof(*fe));
			fe->fe_logical = ext[i].logical;
			fe->fe_physical = ext[i].physical;
			fe->fe_length = ext[i].length;
			fe->fe_flags = i == cnt - 1 ? FIEMAP_EXTENT_LAST : 0;
		} else if (fm->fm_extent_count) {
			break;
		}
		n++;
	}
	free(ext);
	fm->fm_mapped_extents = n;
	return cnt < 0 ? cnt : 0;
}

SHIM_API int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!fd_is_udax(fd))
		return REAL(ioctl)(fd, req, arg);
	if (req != FS_IOC_FIEMAP)
		return (int)ON_UFILE(fd, -ENOTTY);
	return (int)ON_UFILE(fd, fiemap(uf, arg));
}

/* ---- copy_file_range ------------------------------------------------------ */

ssize_t shim_chunk_io(int fd, void *buf, size_t len, off64_t *off, bool is_write)
{
	ssize_t r;

	if (fd_is_udax(fd))
		r = ON_UFILE(fd, ufile_io(uf, IOV1(buf, len), 1, off ? *off : -1, is_write, false));
	else if (is_write)
		r = off ? REAL(pwrite)(fd, buf, len, *off) : REAL(write)(fd, buf, len);
	else
		r = off ? REAL(pread)(fd, buf, len, *off) : REAL(read)(fd, buf, len);
	if (r > 0 && off)
		*off += r;
	return r;
}

SHIM_API ssize_t copy_file_range(int in, off64_t *off_in, int out, off64_t *off_out, size_t len,
				 unsigned flags)
{
	size_t done = 0;
	char *buf;

	if (!fd_is_udax(in) && !fd_is_udax(out))
		return REAL(copy_file_range)(in, off_in, out, off_out, len, flags);
	if (flags || (off_in && *off_in < 0) || (off_out && *off_out < 0))
		return shim_ret(-EINVAL);
	buf = malloc(COPY_CHUNK);
	if (!buf)
		return shim_ret(-ENOMEM);
	while (done < len) {
		size_t n = len - done < COPY_CHUNK ? len - done : COPY_CHUNK;
		ssize_t r = shim_chunk_io(in, buf, n, off_in, false), w;

		if (r <= 0) {
			if (r < 0 && !done)
				done = (size_t)-1;
			break;
		}
		w = shim_chunk_io(out, buf, (size_t)r, off_out, true);
		if (w < 0 && !done)
			done = (size_t)-1;
		if (w <= 0)
			break;
		done += (size_t)w;
		if (w < r)
			break;
	}
	free(buf);
	return (ssize_t)done;
}
