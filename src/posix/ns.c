// SPDX-License-Identifier: MIT
/*
 * Name-space calls on paths: unlink, rename, link, mkdir, rmdir, truncate,
 * chdir, attribute changes, symbolic links and exec.
 */
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "posix/shim.h"

SHIM_API int unlinkat(int dirfd, const char *path, int flags)
{
	if (flags & ~AT_REMOVEDIR)
		return (int)shim_ret(-EINVAL);
	return (int)ON_PATH(dirfd, path, REAL(unlinkat)(dirfd, path, flags),
			    flags ? FS_CALL(udax_rmdir, pp) : FS_CALL(udax_unlink, pp));
}

SHIM_API int unlink(const char *path)
{
	return (int)ON_PATH(AT_FDCWD, path, REAL(unlink)(path), FS_CALL(udax_unlink, pp));
}

SHIM_API int rmdir(const char *path)
{
	return (int)ON_PATH(AT_FDCWD, path, REAL(rmdir)(path), FS_CALL(udax_rmdir, pp));
}

SHIM_API int mkdirat(int dirfd, const char *path, mode_t mode)
{
	return (int)ON_PATH(dirfd, path, REAL(mkdirat)(dirfd, path, mode),
			    FS_CALL(udax_mkdir, pp, mode & ~shim_umask() & 07777));
}

SHIM_API int mkdir(const char *path, mode_t mode)
{
	return (int)ON_PATH(AT_FDCWD, path, REAL(mkdir)(path, mode),
			    FS_CALL(udax_mkdir, pp, mode & ~shim_umask() & 07777));
}

/*
 * Two-path calls: 1 (both udax, pool paths in @op, @np), 0 (neither), or
 * -EXDEV (one of each: the kernel's answer for two file systems).
 */
static int resolve2(int od, const char *o, int nd, const char *n, char *op, char *np)
{
	int a = path_resolve(od, o, op), b = path_resolve(nd, n, np);

	if (a < 0 || b < 0)
		return a < 0 ? a : b;
	if (a != b)
		return -EXDEV;
	return a;
}

static long udax_rename2(const char *op, const char *np, unsigned flags)
{
	struct udax_stat st;
	long r;

	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL;
	if (flags) {
		r = FS_CALL(udax_stat, np, &st);
		if (r != -ENOENT)
			return r ? r : -EEXIST;
	}
	return FS_CALL(udax_rename, op, np);
}

SHIM_API int renameat2(int od, const char *o, int nd, const char *n, unsigned flags)
{
	char op[SHIM_PATH_MAX], np[SHIM_PATH_MAX];
	int r = resolve2(od, o, nd, n, op, np);

	if (r == 0)
		return REAL(renameat2)(od, o, nd, n, flags);
	return (int)shim_ret(r < 0 ? r : udax_rename2(op, np, flags));
}

SHIM_API int renameat(int od, const char *o, int nd, const char *n)
{
	char op[SHIM_PATH_MAX], np[SHIM_PATH_MAX];
	int r = resolve2(od, o, nd, n, op, np);

	if (r == 0)
		return REAL(renameat)(od, o, nd, n);
	return (int)shim_ret(r < 0 ? r : udax_rename2(op, np, 0));
}

SHIM_API int rename(const char *o, const char *n)
{
	char op[SHIM_PATH_MAX], np[SHIM_PATH_MAX];
	int r = resolve2(AT_FDCWD, o, AT_FDCWD, n, op, np);

	if (r == 0)
		return REAL(rename)(o, n);
	return (int)shim_ret(r < 0 ? r : udax_rename2(op, np, 0));
}

SHIM_API int linkat(int od, const char *o, int nd, const char *n, int flags)
{
	char op[SHIM_PATH_MAX], np[SHIM_PATH_MAX];
	int r = resolve2(od, o, nd, n, op, np);

	if (r == 0)
		return REAL(linkat)(od, o, nd, n, flags);
	if (r > 0 && (flags & ~AT_SYMLINK_FOLLOW))
		r = -EINVAL;
	return (int)shim_ret(r < 0 ? r : FS_CALL(udax_link, op, np));
}

SHIM_API int link(const char *o, const char *n)
{
	char op[SHIM_PATH_MAX], np[SHIM_PATH_MAX];
	int r = resolve2(AT_FDCWD, o, AT_FDCWD, n, op, np);

	if (r == 0)
		return REAL(link)(o, n);
	return (int)shim_ret(r < 0 ? r : FS_CALL(udax_link, op, np));
}

/* udaxfs has no symbolic links. */
SHIM_API int symlinkat(const char *target, int dirfd, const char *path)
{
	return (int)ON_PATH(dirfd, path, REAL(symlinkat)(target, dirfd, path), -EPERM);
}

SHIM_API int symlink(const char *target, const char *path)
{
	return (int)ON_PATH(AT_FDCWD, path, REAL(symlink)(target, path), -EPERM);
}

static long not_a_link(const char *pp)
{
	struct udax_stat st;
	long r = FS_CALL(udax_stat, pp, &st);

	return r ? r : -EINVAL;
}

SHIM_API ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t len)
{
	return ON_PATH(dirfd, path, KSTORES(buf, len, REAL(readlinkat)(dirfd, path, buf, len)),
		       not_a_link(pp));
}

SHIM_API ssize_t readlink(const char *path, char *buf, size_t len)
{
	return ON_PATH(AT_FDCWD, path, KSTORES(buf, len, REAL(readlink)(path, buf, len)),
		       not_a_link(pp));
}

static long udax_truncate(const char *pp, off_t len)
{
	struct udax_file *f;
	long r;

	if (len < 0)
		return -EINVAL;
	r = FS_CALL(udax_open, pp, O_WRONLY, 0, &f);
	if (r)
		return r;
	r = udax_ftruncate(f, len);
	udax_close(f);
	return r;
}

SHIM_API int truncate(const char *path, off_t len)
{
	return (int)ON_PATH(AT_FDCWD, path, REAL(truncate)(path, len), udax_truncate(pp, len));
}

SHIM_API int truncate64(const char *path, off_t len) __attribute__((alias("truncate")));

/* ---- working directory --------------------------------------------------- */

static long no_chdir(const char *what)
{
	shim_warn("chdir into udax directory %s is not supported", what);
	return -ENOTSUP;
}

SHIM_API int chdir(const char *path)
{
	int r = (int)ON_PATH(AT_FDCWD, path, REAL(chdir)(path), no_chdir(pp));

	if (!r)
		path_cwd_changed();
	return r;
}

SHIM_API int fchdir(int fd)
{
	int r;

	if (fd_is_udax(fd))
		return (int)ON_UFILE(fd, no_chdir(uf->path));
	r = REAL(fchdir)(fd);
	if (!r)
		path_cwd_changed();
	return r;
}

/* ---- attributes: udaxfs keeps mode, owner and times as created -------------- */

static long same_attr(const struct udax_stat *st, long r, mode_t mode, uid_t uid, gid_t gid)
{
	if (r)
		return r;
	if (mode != (mode_t)-1 && (mode & 07777) != (st->mode & 07777))
		return -EOPNOTSUPP;
	if ((uid != (uid_t)-1 && uid != st->uid) || (gid != (gid_t)-1 && gid != st->gid))
		return -EOPNOTSUPP;
	return 0;
}

static long path_attr(const char *pp, mode_t mode, uid_t uid, gid_t gid)
{
	struct udax_stat st;

	return same_attr(&st, FS_CALL(udax_stat, pp, &st), mode, uid, gid);
}

static long file_attr(struct ufile *uf, mode_t mode, uid_t uid, gid_t gid)
{
	struct udax_stat st;

	return same_attr(&st, udax_fstat(uf->file, &st), mode, uid, gid);
}

SHIM_API int fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	return (int)ON_PATH(dirfd, path, REAL(fchmodat)(dirfd, path, mode, flags),
			    path_attr(pp, mode, -1, -1));
}

SHIM_API int chmod(const char *path, mode_t mode)
{
	return (int)ON_PATH(AT_FDCWD, path, REAL(chmod)(path, mode), path_attr(pp, mode, -1, -1));
}

SHIM_API int fchmod(int fd, mode_t mode)
{
	if (!fd_is_udax(fd))
		return REAL(fchmod)(fd, mode);
	return (int)ON_UFILE(fd, file_attr(uf, mode, -1, -1));
}

SHIM_API int fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	return (int)ON_PATH(dirfd, path, REAL(fchownat)(dirfd, path, uid, gid, flags),
			    path_attr(pp, -1, uid, gid));
}

SHIM_API int chown(const char *path, uid_t uid, gid_t gid)
{
	return (int)ON_PATH(AT_FDCWD, path, REAL(chown)(path, uid, gid),
			    path_attr(pp, -1, uid, gid));
}

SHIM_API int lchown(const char *path, uid_t uid, gid_t gid)
{
	return (int)ON_PATH(AT_FDCWD, path, REAL(lchown)(path, uid, gid),
			    path_attr(pp, -1, uid, gid));
}

SHIM_API int fchown(int fd, uid_t uid, gid_t gid)
{
	if (!fd_is_udax(fd))
		return REAL(fchown)(fd, uid, gid);
	return (int)ON_UFILE(fd, file_attr(uf, -1, uid, gid));
}

/* Times cannot be set: only a call that changes nothing succeeds. */
static long set_times(const struct timespec *ts)
{
	if (ts && ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec == UTIME_OMIT)
		return 0;
	return -EOPNOTSUPP;
}

SHIM_API int utimensat(int dirfd, const char *path, const struct timespec ts[2], int flags)
{
	if (!path && fd_is_udax(dirfd))
		return (int)ON_UFILE(dirfd, set_times(ts));
	return (int)ON_PATH(dirfd, path, REAL(utimensat)(dirfd, path, ts, flags),
			    path_attr(pp, -1, -1, -1) ?: set_times(ts));
}

SHIM_API int futimens(int fd, const struct timespec ts[2])
{
	if (!fd_is_udax(fd))
		return REAL(futimens)(fd, ts);
	return (int)ON_UFILE(fd, set_times(ts));
}

/* ---- extended attributes: udaxfs has none ------------------------------------- */

static long no_xattr(const char *pp)
{
	return path_attr(pp, -1, -1, -1) ?: -ENOTSUP;
}

SHIM_API ssize_t getxattr(const char *path, const char *name, void *val, size_t len)
{
	return ON_PATH(AT_FDCWD, path, KSTORES(val, len, REAL(getxattr)(path, name, val, len)),
		       no_xattr(pp));
}

SHIM_API ssize_t lgetxattr(const char *path, const char *name, void *val, size_t len)
{
	return ON_PATH(AT_FDCWD, path, KSTORES(val, len, REAL(lgetxattr)(path, name, val, len)),
		       no_xattr(pp));
}

SHIM_API ssize_t fgetxattr(int fd, const char *name, void *val, size_t len)
{
	if (!fd_is_udax(fd))
		return KSTORES(val, len, REAL(fgetxattr)(fd, name, val, len));
	return ON_UFILE(fd, -ENOTSUP);
}

SHIM_API ssize_t listxattr(const char *path, char *list, size_t len)
{
	return ON_PATH(AT_FDCWD, path, KSTORES(list, len, REAL(listxattr)(path, list, len)),
		       no_xattr(pp));
}

SHIM_API ssize_t llistxattr(const char *path, char *list, size_t len)
{
	return ON_PATH(AT_FDCWD, path, KSTORES(list, len, REAL(llistxattr)(path, list, len)),
		       no_xattr(pp));
}

SHIM_API ssize_t flistxattr(int fd, char *list, size_t len)
{
	if (!fd_is_udax(fd))
		return KSTORES(list, len, REAL(flistxattr)(fd, list, len));
	return ON_UFILE(fd, -ENOTSUP);
}

/* ---- exec: a udax file cannot be executed (the kernel cannot read it) ------ */

static long no_exec(const char *pp)
{
	shim_warn("cannot execute udax file %s", pp);
	return -EACCES;
}

SHIM_API int execve(const char *path, char *const argv[], char *const envp[])
{
	return (int)ON_PATH(AT_FDCWD, path, REAL(execve)(path, argv, envp), no_exec(pp));
}

SHIM_API int execv(const char *path, char *const argv[])
{
	return (int)ON_PATH(AT_FDCWD, path, REAL(execv)(path, argv), no_exec(pp));
}

/* execvp searches $PATH only for names without '/'; $PATH entries are not checked. */
SHIM_API int execvp(const char *file, char *const argv[])
{
	if (!strchr(file, '/'))
		return REAL(execvp)(file, argv);
	return (int)ON_PATH(AT_FDCWD, file, REAL(execvp)(file, argv), no_exec(pp));
}

SHIM_API int fexecve(int fd, char *const argv[], char *const envp[])
{
	if (!fd_is_udax(fd))
		return REAL(fexecve)(fd, argv, envp);
	return (int)ON_UFILE(fd, no_exec(uf->path));
}
