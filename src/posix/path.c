// SPDX-License-Identifier: MIT
/*
 * Path resolution: which (dirfd, path) pairs name udax files, and their pool
 * paths. Resolution is lexical ("." and ".." are folded, symbolic links are
 * not followed: udaxfs has none, and a real link into the prefix is not seen).
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "posix/shim.h"

static pthread_mutex_t cwd_lock = PTHREAD_MUTEX_INITIALIZER;
static char cwd[SHIM_PATH_MAX]; /* the real working directory, "" if unknown */
static atomic_bool cwd_in_prefix;

/* normalize - fold "//", "." and ".." of the absolute @in into @out. */
static int normalize(const char *in, char *out)
{
	size_t len = 0;

	while (*in) {
		const char *end;
		size_t n;

		while (*in == '/')
			in++;
		end = strchrnul(in, '/');
		n = (size_t)(end - in);
		if (n == 0 || (n == 1 && in[0] == '.')) {
			/* nothing */
		} else if (n == 2 && in[0] == '.' && in[1] == '.') {
			while (len > 0 && out[--len] != '/')
				;
		} else {
			if (len + 1 + n >= SHIM_PATH_MAX)
				return -ENAMETOOLONG;
			out[len] = '/';
			memcpy(out + len + 1, in, n);
			len += n + 1;
		}
		in = end;
	}
	out[len] = '\0';
	if (len == 0)
		strcpy(out, "/");
	return 0;
}

/* under_prefix - 1 and the pool path if the normalized @abs is under the prefix. */
static int under_prefix(const char *abs, char *out)
{
	const char *rest = abs + shim_prefix_len;

	if (strncmp(abs, shim_prefix, shim_prefix_len) != 0 || (*rest && *rest != '/'))
		return 0;
	strcpy(out, *rest ? rest : "/");
	return 1;
}

/* Could folding change which directory @path is in? */
static bool needs_folding(const char *path)
{
	return strstr(path, "//") || strstr(path, "/.");
}

static int resolve_abs(const char *path, char *out)
{
	char norm[SHIM_PATH_MAX];
	int ret;

	if (strncmp(path, shim_prefix, shim_prefix_len) != 0 && !needs_folding(path))
		return 0;
	ret = normalize(path, norm);
	if (ret)
		return ret;
	return under_prefix(norm, out);
}

static int join(const char *dir, const char *path, char *out)
{
	size_t dl = strlen(dir), pl = strlen(path);

	if (dl + 1 + pl >= SHIM_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(out, dir, dl);
	out[dl] = '/';
	memcpy(out + dl + 1, path, pl + 1);
	return 0;
}

void path_cwd_changed(void)
{
	char norm[SHIM_PATH_MAX], pp[SHIM_PATH_MAX];
	bool in = false;

	pthread_mutex_lock(&cwd_lock);
	if (REAL(getcwd)(cwd, sizeof(cwd)) && !normalize(cwd, norm))
		in = under_prefix(norm, pp) == 1;
	else
		cwd[0] = '\0';
	atomic_store(&cwd_in_prefix, in);
	pthread_mutex_unlock(&cwd_lock);
}

static int resolve_cwd(const char *path, char *out)
{
	char abs[SHIM_PATH_MAX];
	int ret;

	/*
	 * From outside the prefix, a path can only reach it by naming the
	 * prefix's last component (symbolic links are not followed).
	 */
	if (!atomic_load_explicit(&cwd_in_prefix, memory_order_relaxed) &&
	    !strstr(path, shim_prefix_base))
		return 0;
	pthread_mutex_lock(&cwd_lock);
	ret = cwd[0] ? join(cwd, path, abs) : -ENOENT;
	pthread_mutex_unlock(&cwd_lock);
	return ret ? ret : resolve_abs(abs, out);
}

/*
 * Relative to a udax directory: ".." may not climb out of the pool (the
 * placeholder descriptor cannot stand for a real directory): -ENOTSUP.
 */
static int resolve_dirfd(struct ufile *dir, const char *path, char *out)
{
	char abs[SHIM_PATH_MAX], rel[SHIM_PATH_MAX];
	int ret;

	if (!dir->is_dir)
		return -ENOTDIR;
	ret = join(dir->path, path, rel);
	if (!ret)
		ret = join(shim_prefix, rel, abs);
	if (!ret)
		ret = resolve_abs(abs, out);
	return ret ? ret : -ENOTSUP;
}

int path_resolve(int dirfd, const char *path, char *out)
{
	struct ufile *dir;
	int ret;

	if (!shim_prefix || !path)
		return 0;
	if (path[0] == '/')
		return resolve_abs(path, out);
	if (dirfd == AT_FDCWD)
		return resolve_cwd(path, out);
	if (!fd_is_udax(dirfd))
		return 0;
	dir = fd_get(dirfd);
	if (!dir)
		return shim_check_fork() ? -EIO : 0;
	ret = path[0] ? resolve_dirfd(dir, path, out) : -ENOENT;
	ufile_put(dir);
	return ret;
}
