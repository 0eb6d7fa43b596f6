// SPDX-License-Identifier: MIT
/*
 * The descriptor table. A udax descriptor is a real kernel descriptor (an
 * O_PATH descriptor of /dev/null, always close-on-exec) that the shim
 * reserves so that the program's own files never get its number; the table
 * maps the number to the open file (struct ufile), which dup'd descriptors
 * share. Readers test an entry with one relaxed load (fd_is_udax); taking a
 * reference and every update happen under table_lock.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "posix/shim.h"

_Atomic(struct ufile *) fd_table[SHIM_FD_MAX];
static bool fd_cloexec[SHIM_FD_MAX]; /* FD_CLOEXEC as the program sees it */
static pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;

struct ufile *ufile_new(struct udax_file *file, int flags, const char *path)
{
	size_t len = strlen(path) + 1;
	struct udax_stat st;
	struct ufile *uf = malloc(sizeof(*uf) + len);

	if (!uf)
		return NULL;
	atomic_init(&uf->refs, 1);
	pthread_mutex_init(&uf->lock, NULL);
	uf->file = file;
	uf->flags = flags;
	uf->is_dir = !udax_fstat(file, &st) && (st.mode & 0170000) == 0040000;
	uf->ino = st.ino;
	atomic_init(&uf->rw_hint, 0);
	memcpy(uf->path, path, len);
	return uf;
}

void ufile_put(struct ufile *uf)
{
	if (atomic_fetch_sub(&uf->refs, 1) != 1)
		return;
	/* A forked child must not touch the parent's pool state. */
	if (!shim_forked()) {
		lock_release_all(uf);
		udax_close(uf->file);
	}
	pthread_mutex_destroy(&uf->lock);
	free(uf);
}

struct ufile *fd_get(int fd)
{
	struct ufile *uf = NULL;

	if ((unsigned)fd >= SHIM_FD_MAX || shim_check_fork())
		return NULL;
	pthread_rwlock_rdlock(&table_lock);
	uf = atomic_load(&fd_table[fd]);
	if (uf)
		ufile_get(uf);
	pthread_rwlock_unlock(&table_lock);
	return uf;
}

/* Under the write lock: point @fd at @uf (NULL: free it); returns the old file. */
static struct ufile *set_entry(int fd, struct ufile *uf, bool cloexec)
{
	struct ufile *old = atomic_load(&fd_table[fd]);

	if (uf)
		ufile_get(uf);
	fd_cloexec[fd] = cloexec;
	atomic_store(&fd_table[fd], uf);
	return old;
}

int fd_install(struct ufile *uf, int min, bool cloexec)
{
	int fd, ph;

	ph = REAL(open)("/dev/null", O_PATH | O_CLOEXEC);
	if (ph < 0)
		return -errno;
	fd = ph;
	if (min > 0) {
		fd = REAL(fcntl)(ph, F_DUPFD_CLOEXEC, min);
		REAL(close)(ph);
		if (fd < 0)
			return -errno;
	}
	if (fd >= SHIM_FD_MAX) {
		REAL(close)(fd);
		shim_warn("descriptor %d is beyond the shim's table (%d)", fd, SHIM_FD_MAX);
		return -EMFILE;
	}
	pthread_rwlock_wrlock(&table_lock);
	set_entry(fd, uf, cloexec);
	pthread_rwlock_unlock(&table_lock);
	return fd;
}

int fd_dup_to(int src, struct ufile *uf, int newfd, bool cloexec)
{
	struct ufile *old;
	int ret = newfd;

	if (newfd < 0)
		return -EBADF;
	if (uf && newfd >= SHIM_FD_MAX)
		return -EMFILE;
	pthread_rwlock_wrlock(&table_lock);
	if (REAL(dup3)(src, newfd, uf || cloexec ? O_CLOEXEC : 0) < 0) {
		ret = -errno;
		old = NULL;
	} else {
		old = newfd < SHIM_FD_MAX ? set_entry(newfd, uf, cloexec) : NULL;
	}
	pthread_rwlock_unlock(&table_lock);
	if (old)
		ufile_put(old);
	return ret;
}

int fd_close(int fd)
{
	struct ufile *old;
	int ret;

	if ((unsigned)fd >= SHIM_FD_MAX)
		return -EBADF;
	pthread_rwlock_wrlock(&table_lock);
	old = set_entry(fd, NULL, false);
	ret = REAL(close)(fd) ? -errno : 0;
	pthread_rwlock_unlock(&table_lock);
	if (!old)
		return ret;
	ufile_put(old);
	return 0;
}

int fd_get_cloexec(int fd)
{
	int v;

	pthread_rwlock_rdlock(&table_lock);
	v = fd_cloexec[fd] ? FD_CLOEXEC : 0;
	pthread_rwlock_unlock(&table_lock);
	return v;
}

void fd_set_cloexec(int fd, bool on)
{
	pthread_rwlock_wrlock(&table_lock);
	fd_cloexec[fd] = on;
	pthread_rwlock_unlock(&table_lock);
}

void fd_forget_range(unsigned first, unsigned last)
{
	struct ufile *old;

	if (last >= SHIM_FD_MAX)
		last = SHIM_FD_MAX - 1;
	for (unsigned fd = first; fd <= last; fd++) {
		if (!fd_is_udax((int)fd))
			continue;
		pthread_rwlock_wrlock(&table_lock);
		old = set_entry((int)fd, NULL, false);
		pthread_rwlock_unlock(&table_lock);
		if (old)
			ufile_put(old);
	}
}
