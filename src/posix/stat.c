// SPDX-License-Identifier: MIT
/*
 * The stat family, statfs/statvfs and access, filled from udax_stat and
 * udax_statfs. st_dev is SHIM_DEV for every udax file; st_blksize is 4096.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "posix/shim.h"

#define SHIM_DEV_MAJOR 0
#define SHIM_DEV_MINOR 0xdaf
#define SHIM_FS_MAGIC  0x58414455 /* "UDAX" */
#define SHIM_BLKSIZE   4096

static struct timespec ts(int64_t ns)
{
	return (struct timespec){.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
}

static long fill_stat(long r, const struct udax_stat *u, struct stat *st)
{
	if (r)
		return r;
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(SHIM_DEV_MAJOR, SHIM_DEV_MINOR);
	st->st_ino = u->ino;
	st->st_mode = u->mode;
	st->st_nlink = u->nlink;
	st->st_uid = u->uid;
	st->st_gid = u->gid;
	st->st_size = (off_t)u->size;
	st->st_blksize = SHIM_BLKSIZE;
	st->st_blocks = (blkcnt_t)(u->blocks * 8);
	st->st_atim = ts(u->atime_ns);
	st->st_mtim = ts(u->mtime_ns);
	st->st_ctim = ts(u->ctime_ns);
	return 0;
}

static struct statx_timestamp stx_ts(int64_t ns)
{
	struct timespec t = ts(ns);

	return (struct statx_timestamp){.tv_sec = t.tv_sec, .tv_nsec = (uint32_t)t.tv_nsec};
}

static long fill_statx(long r, const struct udax_stat *u, struct statx *sx)
{
	if (r)
		return r;
	memset(sx, 0, sizeof(*sx));
	sx->stx_mask = STATX_BASIC_STATS;
	sx->stx_blksize = SHIM_BLKSIZE;
	sx->stx_nlink = u->nlink;
	sx->stx_uid = u->uid;
	sx->stx_gid = u->gid;
	sx->stx_mode = (uint16_t)u->mode;
	sx->stx_ino = u->ino;
	sx->stx_size = u->size;
	sx->stx_blocks = u->blocks * 8;
	sx->stx_atime = stx_ts(u->atime_ns);
	sx->stx_mtime = stx_ts(u->mtime_ns);
	sx->stx_ctime = stx_ts(u->ctime_ns);
	sx->stx_dev_major = SHIM_DEV_MAJOR;
	sx->stx_dev_minor = SHIM_DEV_MINOR;
	return 0;
}

static long file_stat(struct ufile *uf, struct stat *st)
{
	struct udax_stat u;

	return fill_stat(udax_fstat(uf->file, &u), &u, st);
}

static long path_stat(const char *pp, struct stat *st)
{
	struct udax_stat u;

	return fill_stat(FS_CALL(udax_stat, pp, &u), &u, st);
}

/* fstatat with AT_EMPTY_PATH and "" is fstat of @dirfd. */
static bool empty_path(int dirfd, const char *path, int flags)
{
	return (flags & AT_EMPTY_PATH) && path && !path[0] && fd_is_udax(dirfd);
}

/*
 * The two bodies of the stat family. Non-udax calls go to libc's fstat and
 * fstatat, which every variant below is equivalent to; struct stat64 is
 * struct stat on 64-bit Linux. udaxfs has no symbolic links: lstat is stat.
 */
static int stat_at(int dirfd, const char *path, struct stat *st, int flags)
{
	if (empty_path(dirfd, path, flags))
		return (int)ON_UFILE(dirfd, file_stat(uf, st));
	return (int)ON_PATH(dirfd, path,
			    KSTORES(st, sizeof(*st), REAL(fstatat)(dirfd, path, st, flags)),
			    path_stat(pp, st));
}

static int stat_fd(int fd, struct stat *st)
{
	if (!fd_is_udax(fd))
		return (int)KSTORES(st, sizeof(*st), REAL(fstat)(fd, st));
	return (int)ON_UFILE(fd, file_stat(uf, st));
}

SHIM_API int fstat(int fd, struct stat *st)
{
	return stat_fd(fd, st);
}

SHIM_API int fstat64(int fd, struct stat64 *st)
{
	return stat_fd(fd, (struct stat *)st);
}

SHIM_API int stat(const char *path, struct stat *st)
{
	return stat_at(AT_FDCWD, path, st, 0);
}

SHIM_API int stat64(const char *path, struct stat64 *st)
{
	return stat_at(AT_FDCWD, path, (struct stat *)st, 0);
}

SHIM_API int lstat(const char *path, struct stat *st)
{
	return stat_at(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

SHIM_API int lstat64(const char *path, struct stat64 *st)
{
	return stat_at(AT_FDCWD, path, (struct stat *)st, AT_SYMLINK_NOFOLLOW);
}

SHIM_API int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return stat_at(dirfd, path, st, flags);
}

SHIM_API int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	return stat_at(dirfd, path, (struct stat *)st, flags);
}

/*
 * The stat ABI of glibc before 2.33 (__xstat and friends), for old binaries
 * and for sanitizer runtimes, whose stat interceptors call it. On 64-bit
 * Linux every version number means the one struct stat.
 */
int __xstat(int ver, const char *path, struct stat *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __fxstat(int ver, int fd, struct stat *st);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags);

SHIM_API int __xstat(int ver, const char *path, struct stat *st)
{
	(void)ver;
	return stat_at(AT_FDCWD, path, st, 0);
}

SHIM_API int __lxstat(int ver, const char *path, struct stat *st)
{
	(void)ver;
	return stat_at(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

SHIM_API int __fxstat(int ver, int fd, struct stat *st)
{
	(void)ver;
	return stat_fd(fd, st);
}

SHIM_API int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{
	(void)ver;
	return stat_at(dirfd, path, st, flags);
}

SHIM_API int __xstat64(int ver, const char *path, struct stat *st)
	__attribute__((alias("__xstat")));
SHIM_API int __lxstat64(int ver, const char *path, struct stat *st)
	__attribute__((alias("__lxstat")));
SHIM_API int __fxstat64(int ver, int fd, struct stat *st) __attribute__((alias("__fxstat")));
SHIM_API int __fxstatat64(int ver, int dirfd, const char *path, struct stat *st, int flags)
	__attribute__((alias("__fxstatat")));

SHIM_API int statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *sx)
{
	struct udax_stat u;

	if (empty_path(dirfd, path, flags))
		return (int)ON_UFILE(dirfd, fill_statx(udax_fstat(uf->file, &u), &u, sx));
	return (int)ON_PATH(dirfd, path,
			    KSTORES(sx, sizeof(*sx), REAL(statx)(dirfd, path, flags, mask, sx)),
			    fill_statx(FS_CALL(udax_stat, pp, &u), &u, sx));
}

/* ---- statfs, statvfs ------------------------------------------------------- */

static long pool_statfs(struct statfs *sf)
{
	struct udax_statfs u;
	long r = FS_CALL(udax_statfs, &u);

	if (r)
		return r;
	memset(sf, 0, sizeof(*sf));
	sf->f_type = SHIM_FS_MAGIC;
	sf->f_bsize = (long)u.block_size;
	sf->f_frsize = (long)u.block_size;
	sf->f_blocks = u.blocks;
	sf->f_bfree = u.blocks_free;
	sf->f_bavail = u.blocks_free;
	sf->f_files = u.inodes;
	sf->f_ffree = u.inodes_free;
	sf->f_namelen = u.name_max;
	return 0;
}

static long pool_statvfs(struct statvfs *sv)
{
	struct statfs sf;
	long r = pool_statfs(&sf);

	if (r)
		return r;
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = (unsigned long)sf.f_bsize;
	sv->f_frsize = (unsigned long)sf.f_frsize;
	sv->f_blocks = sf.f_blocks;
	sv->f_bfree = sf.f_bfree;
	sv->f_bavail = sf.f_bavail;
	sv->f_files = sf.f_files;
	sv->f_ffree = sf.f_ffree;
	sv->f_favail = sf.f_ffree;
	sv->f_fsid = SHIM_FS_MAGIC;
	sv->f_namemax = (unsigned long)sf.f_namelen;
	return 0;
}

/* The pool path must exist for the path forms. */
static long path_exists(const char *pp)
{
	struct udax_stat u;

	return FS_CALL(udax_stat, pp, &u);
}

SHIM_API int statfs(const char *path, struct statfs *sf)
{
	return (int)ON_PATH(AT_FDCWD, path, KSTORES(sf, sizeof(*sf), REAL(statfs)(path, sf)),
			    path_exists(pp) ?: pool_statfs(sf));
}

SHIM_API int fstatfs(int fd, struct statfs *sf)
{
	if (!fd_is_udax(fd))
		return (int)KSTORES(sf, sizeof(*sf), REAL(fstatfs)(fd, sf));
	return (int)ON_UFILE(fd, pool_statfs(sf));
}

SHIM_API int statvfs(const char *path, struct statvfs *sv)
{
	return (int)ON_PATH(AT_FDCWD, path, KSTORES(sv, sizeof(*sv), REAL(statvfs)(path, sv)),
			    path_exists(pp) ?: pool_statvfs(sv));
}

SHIM_API int fstatvfs(int fd, struct statvfs *sv)
{
	if (!fd_is_udax(fd))
		return (int)KSTORES(sv, sizeof(*sv), REAL(fstatvfs)(fd, sv));
	return (int)ON_UFILE(fd, pool_statvfs(sv));
}

/* The 64 variants: the same structures on 64-bit Linux. */
SHIM_API int statfs64(const char *path, struct statfs64 *sf)
{
	return (int)ON_PATH(AT_FDCWD, path, KSTORES(sf, sizeof(*sf), REAL(statfs64)(path, sf)),
			    path_exists(pp) ?: pool_statfs((struct statfs *)sf));
}

SHIM_API int fstatfs64(int fd, struct statfs64 *sf)
{
	if (!fd_is_udax(fd))
		return (int)KSTORES(sf, sizeof(*sf), REAL(fstatfs64)(fd, sf));
	return (int)ON_UFILE(fd, pool_statfs((struct statfs *)sf));
}

SHIM_API int statvfs64(const char *path, struct statvfs64 *sv)
{
	return (int)ON_PATH(AT_FDCWD, path, KSTORES(sv, sizeof(*sv), REAL(statvfs64)(path, sv)),
			    path_exists(pp) ?: pool_statvfs((struct statvfs *)sv));
}

SHIM_API int fstatvfs64(int fd, struct statvfs64 *sv)
{
	if (!fd_is_udax(fd))
		return (int)KSTORES(sv, sizeof(*sv), REAL(fstatvfs64)(fd, sv));
	return (int)ON_UFILE(fd, pool_statvfs((struct statvfs *)sv));
}

/* ---- access ------------------------------------------------------------------ */

static long check_access(const char *pp, int mode, int flags)
{
	struct udax_stat u;
	long r = FS_CALL(udax_stat, pp, &u);
	uid_t uid = (flags & AT_EACCESS) ? geteuid() : getuid();
	gid_t gid = (flags & AT_EACCESS) ? getegid() : getgid();
	unsigned bits;

	if (r || mode == F_OK)
		return r;
	if (uid == 0) /* root: read and write always, execute if anyone may */
		bits = (mode & X_OK) && !(u.mode & 0111) && !S_ISDIR(u.mode) ? 0 : 7;
	else if (uid == u.uid)
		bits = (u.mode >> 6) & 7;
	else if (gid == u.gid)
		bits = (u.mode >> 3) & 7;
	else
		bits = u.mode & 7;
	return ((unsigned)mode & ~bits) ? -EACCES : 0;
}

SHIM_API int faccessat(int dirfd, const char *path, int mode, int flags)
{
	if (mode & ~(R_OK | W_OK | X_OK))
		return (int)shim_ret(-EINVAL);
	return (int)ON_PATH(dirfd, path, REAL(faccessat)(dirfd, path, mode, flags),
			    check_access(pp, mode, flags));
}

SHIM_API int access(const char *path, int mode)
{
	if (mode & ~(R_OK | W_OK | X_OK))
		return (int)shim_ret(-EINVAL);
	return (int)ON_PATH(AT_FDCWD, path, REAL(access)(path, mode), check_access(pp, mode, 0));
}
