// SPDX-License-Identifier: MIT
/*
 * stdio on udax files. glibc's fopen opens files with internal calls the
 * shim cannot see, so fopen, fopen64 and fdopen are interposed: a udax file
 * becomes a fopencookie() stream over a udax descriptor, registered in
 * shim_streams so that fileno() returns that descriptor.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "posix/shim.h"

struct cookie {
	int fd;
	FILE *fp;
};

static ssize_t ck_read(void *c, char *buf, size_t len)
{
	return shim_chunk_io(((struct cookie *)c)->fd, buf, len, NULL, false);
}

static ssize_t ck_write(void *c, const char *buf, size_t len)
{
	ssize_t r = shim_chunk_io(((struct cookie *)c)->fd, (void *)buf, len, NULL, true);

	return r < 0 ? 0 : r; /* a cookie write reports errors as 0 */
}

static int ck_seek(void *c, off64_t *pos, int whence)
{
	long r = ON_UFILE(((struct cookie *)c)->fd, ufile_lseek(uf, *pos, whence));

	if (r < 0)
		return -1;
	*pos = r;
	return 0;
}

static int ck_close(void *c)
{
	struct cookie *ck = c;
	int r = 0;

	ptrreg_del(&shim_streams, ck->fp);
	if (ck->fd >= 0)
		r = (int)shim_ret(fd_close(ck->fd));
	free(ck);
	return r;
}

static const cookie_io_functions_t ck_funcs = {ck_read, ck_write, ck_seek, ck_close};

/* parse_mode - open(2) flags of a fopen mode, and the mode fopencookie gets. */
static int parse_mode(const char *mode, int *flags, char ck_mode[3])
{
	bool plus = false;
	int f;

	switch (mode[0]) {
	case 'r':
		f = 0;
		break;
	case 'w':
		f = O_CREAT | O_TRUNC;
		break;
	case 'a':
		f = O_CREAT | O_APPEND;
		break;
	default:
		return -EINVAL;
	}
	for (const char *p = mode + 1; *p && *p != ','; p++) {
		if (*p == '+')
			plus = true;
		else if (*p == 'x')
			f |= O_EXCL;
		else if (*p == 'e')
			f |= O_CLOEXEC;
	}
	f |= plus ? O_RDWR : mode[0] == 'r' ? O_RDONLY : O_WRONLY;
	*flags = f;
	ck_mode[0] = mode[0];
	ck_mode[1] = plus ? '+' : '\0';
	ck_mode[2] = '\0';
	return 0;
}

/* A stream over the udax descriptor @fd (which it owns if this succeeds). */
static FILE *stream(int fd, const char *ck_mode)
{
	struct cookie *ck = malloc(sizeof(*ck));
	FILE *fp = NULL;

	if (ck) {
		ck->fd = fd;
		fp = fopencookie(ck, ck_mode, ck_funcs);
	}
	if (fp && ptrreg_add(&shim_streams, fp, ck) == 0) {
		ck->fp = fp;
		return fp;
	}
	if (fp) {
		/* fclose would close @fd: detach the cookie first. */
		ck->fd = -1;
		fclose(fp);
	} else {
		free(ck);
	}
	errno = ENOMEM;
	return NULL;
}

static FILE *udax_fopen(const char *pp, const char *mode)
{
	char ck_mode[3];
	int flags, fd;
	FILE *fp;

	if (shim_ret(parse_mode(mode, &flags, ck_mode)) < 0)
		return NULL;
	fd = shim_open(pp, flags, 0666);
	if (fd < 0)
		return NULL;
	fp = stream(fd, ck_mode);
	if (!fp) {
		fd_close(fd);
		errno = ENOMEM;
	}
	return fp;
}

SHIM_API FILE *fopen(const char *path, const char *mode)
{
	char pp[SHIM_PATH_MAX];
	int r = path_resolve(AT_FDCWD, path, pp);

	if (r == 0)
		return REAL(fopen)(path, mode);
	if (r < 0)
		return shim_ret(r), NULL;
	return udax_fopen(pp, mode);
}

SHIM_API FILE *fopen64(const char *path, const char *mode) __attribute__((alias("fopen")));

static long check_fdopen(struct ufile *uf, int flags)
{
	int acc = __atomic_load_n(&uf->flags, __ATOMIC_RELAXED) & O_ACCMODE;

	if ((flags & O_ACCMODE) == O_RDWR && acc != O_RDWR)
		return -EINVAL;
	if ((flags & O_ACCMODE) != O_RDWR && acc != O_RDWR && acc != (flags & O_ACCMODE))
		return -EINVAL;
	return 0;
}

SHIM_API FILE *fdopen(int fd, const char *mode)
{
	char ck_mode[3];
	int flags;

	if (!fd_is_udax(fd))
		return REAL(fdopen)(fd, mode);
	if (shim_ret(parse_mode(mode, &flags, ck_mode)) < 0 ||
	    ON_UFILE(fd, check_fdopen(uf, flags)) < 0)
		return NULL;
	return stream(fd, ck_mode);
}

static FILE *no_freopen(const char *what)
{
	shim_warn("freopen involving udax file %s is not supported", what);
	errno = ENOTSUP;
	return NULL;
}

SHIM_API FILE *freopen(const char *path, const char *mode, FILE *fp)
{
	char pp[SHIM_PATH_MAX];

	if (ptrreg_find(&shim_streams, fp))
		return no_freopen("stream");
	if (path_resolve(AT_FDCWD, path, pp) != 0)
		return no_freopen(path);
	return REAL(freopen)(path, mode, fp);
}

SHIM_API FILE *freopen64(const char *path, const char *mode, FILE *fp)
	__attribute__((alias("freopen")));

static int stream_fd(FILE *fp)
{
	struct cookie *ck = ptrreg_find(&shim_streams, fp);

	return ck ? ck->fd : -1;
}

SHIM_API int fileno(FILE *fp)
{
	int fd = stream_fd(fp);

	return fd >= 0 ? fd : REAL(fileno)(fp);
}

SHIM_API int fileno_unlocked(FILE *fp)
{
	int fd = stream_fd(fp);

	return fd >= 0 ? fd : REAL(fileno_unlocked)(fp);
}
