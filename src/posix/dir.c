// SPDX-License-Identifier: MIT
/*
 * Directory streams of udax directories: opendir/fdopendir return a DIR
 * pointer the shim allocates (registered in shim_dirs); readdir, closedir,
 * dirfd, rewinddir, telldir and seekdir recognise it and pass any other
 * DIR to libc. The stream owns a udax descriptor, as fdopendir requires.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "posix/shim.h"

struct udir {
	struct udax_dir *dir;
	int fd;
	long pos; /* entries returned so far (telldir) */
	struct dirent ent;
};

static int udir_reopen(struct udir *d, struct ufile *uf)
{
	struct udax_dir *dir;
	int r = (int)FS_CALL(udax_opendir, uf->path, &dir);

	if (r)
		return r;
	if (d->dir)
		udax_closedir(d->dir);
	d->dir = dir;
	d->pos = 0;
	return 0;
}

/* Make a stream of the udax descriptor @fd, which it then owns. */
static long new_udir(struct ufile *uf, int fd, DIR **out)
{
	struct udir *d;
	int r;

	if (!uf->is_dir)
		return -ENOTDIR;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->fd = fd;
	r = udir_reopen(d, uf);
	if (!r)
		r = ptrreg_add(&shim_dirs, d, d);
	if (r) {
		if (d->dir)
			udax_closedir(d->dir);
		free(d);
		return r;
	}
	*out = (DIR *)d;
	return 0;
}

SHIM_API DIR *fdopendir(int fd)
{
	DIR *d = NULL;

	if (!fd_is_udax(fd))
		return REAL(fdopendir)(fd);
	return ON_UFILE(fd, new_udir(uf, fd, &d)) < 0 ? NULL : d;
}

SHIM_API DIR *opendir(const char *path)
{
	char pp[SHIM_PATH_MAX];
	int r = path_resolve(AT_FDCWD, path, pp), fd;
	DIR *d = NULL;

	if (r == 0)
		return REAL(opendir)(path);
	if (r < 0)
		return shim_ret(r), NULL;
	fd = shim_open(pp, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	if (ON_UFILE(fd, new_udir(uf, fd, &d)) < 0) {
		int err = errno;

		fd_close(fd);
		errno = err;
		return NULL;
	}
	return d;
}

static struct udir *udir_of(DIR *dir)
{
	return ptrreg_find(&shim_dirs, dir);
}

/* next - the next entry, or NULL at the end (errno unchanged) or on error. */
static struct dirent *next(struct udir *d)
{
	struct udax_dirent ue;
	int r = shim_check_fork();

	if (!r)
		r = udax_readdir(d->dir, &ue);
	if (r <= 0) {
		if (r < 0)
			shim_ret(r);
		return NULL;
	}
	d->pos++;
	memset(&d->ent, 0, offsetof(struct dirent, d_name));
	d->ent.d_ino = ue.ino;
	d->ent.d_off = d->pos;
	d->ent.d_reclen = sizeof(d->ent);
	d->ent.d_type = ue.type;
	strcpy(d->ent.d_name, ue.name);
	return &d->ent;
}

SHIM_API struct dirent *readdir(DIR *dir)
{
	struct udir *d = udir_of(dir);

	return d ? next(d) : REAL(readdir)(dir);
}

/* struct dirent64 and struct dirent are the same on 64-bit Linux. */
SHIM_API struct dirent64 *readdir64(DIR *dir)
{
	struct udir *d = udir_of(dir);

	return d ? (struct dirent64 *)next(d) : REAL(readdir64)(dir);
}

SHIM_API int closedir(DIR *dir)
{
	struct udir *d = ptrreg_del(&shim_dirs, dir);
	int r;

	if (!d)
		return REAL(closedir)(dir);
	if (!shim_forked())
		udax_closedir(d->dir);
	r = fd_close(d->fd);
	free(d);
	return (int)shim_ret(r);
}

SHIM_API int dirfd(DIR *dir)
{
	struct udir *d = udir_of(dir);

	return d ? d->fd : REAL(dirfd)(dir);
}

static void seek_to(struct udir *d, long pos)
{
	if (ON_UFILE(d->fd, udir_reopen(d, uf)) < 0)
		return;
	while (d->pos < pos && next(d))
		;
}

SHIM_API void rewinddir(DIR *dir)
{
	struct udir *d = udir_of(dir);

	if (d)
		seek_to(d, 0);
	else
		REAL(rewinddir)(dir);
}

SHIM_API long telldir(DIR *dir)
{
	struct udir *d = udir_of(dir);

	return d ? d->pos : REAL(telldir)(dir);
}

SHIM_API void seekdir(DIR *dir, long pos)
{
	struct udir *d = udir_of(dir);

	if (d)
		seek_to(d, pos);
	else
		REAL(seekdir)(dir, pos);
}
