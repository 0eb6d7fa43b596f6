// SPDX-License-Identifier: MIT
/*
 * flock(2) and open-file-description (F_OFD_*) locks on udax files, emulated
 * inside the process (one process mounts a pool at a time). Both are owned by
 * the open file (struct ufile), as in Linux, and live in separate name spaces
 * (a flock never conflicts with a range lock). Classic POSIX record locks
 * (F_SETLK) belong to the process, so in a single process they never
 * conflict; fcntl() only validates them (file.c).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/file.h>

#include "posix/shim.h"

enum lock_space { LS_FLOCK, LS_OFD };

struct lock {
	struct lock *next;
	struct ufile *owner;
	uint64_t ino;
	enum lock_space space;
	short type;	     /* F_RDLCK or F_WRLCK */
	uint64_t start, end; /* [start, end) */
};

static struct lock *locks;
static pthread_mutex_t locks_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t locks_cond = PTHREAD_COND_INITIALIZER;

static struct lock *conflict(struct ufile *uf, enum lock_space sp, short type, uint64_t start,
			     uint64_t end)
{
	for (struct lock *l = locks; l; l = l->next)
		if (l->owner != uf && l->ino == uf->ino && l->space == sp && l->start < end &&
		    start < l->end && (type == F_WRLCK || l->type == F_WRLCK))
			return l;
	return NULL;
}

static struct lock *new_lock(struct ufile *uf, enum lock_space sp, short type, uint64_t start,
			     uint64_t end)
{
	struct lock *l = malloc(sizeof(*l));

	if (l)
		*l = (struct lock){locks, uf, uf->ino, sp, type, start, end};
	return l;
}

/* Remove @uf's locks from [start, end), splitting the ones that straddle it. */
static int unlock_range(struct ufile *uf, enum lock_space sp, uint64_t start, uint64_t end)
{
	for (struct lock **pp = &locks; *pp;) {
		struct lock *l = *pp;

		if (l->owner != uf || l->space != sp || l->end <= start || end <= l->start) {
			pp = &l->next;
			continue;
		}
		if (l->start < start && end < l->end) {
			struct lock *tail = new_lock(uf, sp, l->type, end, l->end);

			if (!tail)
				return -ENOLCK;
			tail->next = l->next;
			l->end = start;
			l->next = tail;
			return 0;
		}
		if (l->start < start) {
			l->end = start;
		} else if (end < l->end) {
			l->start = end;
		} else {
			*pp = l->next;
			free(l);
			continue;
		}
		pp = &l->next;
	}
	return 0;
}

static int set_lock(struct ufile *uf, enum lock_space sp, short type, uint64_t start, uint64_t end,
		    bool wait)
{
	struct lock *l;
	int ret;

	pthread_mutex_lock(&locks_mutex);
	while (type != F_UNLCK && conflict(uf, sp, type, start, end)) {
		if (!wait) {
			pthread_mutex_unlock(&locks_mutex);
			return -EAGAIN;
		}
		pthread_cond_wait(&locks_cond, &locks_mutex);
	}
	ret = unlock_range(uf, sp, start, end);
	if (!ret && type != F_UNLCK) {
		l = new_lock(uf, sp, type, start, end);
		if (l)
			locks = l;
		else
			ret = -ENOLCK;
	}
	pthread_cond_broadcast(&locks_cond);
	pthread_mutex_unlock(&locks_mutex);
	return ret;
}

int lock_flock(struct ufile *uf, int op)
{
	bool wait = !(op & LOCK_NB);

	switch (op & ~LOCK_NB) {
	case LOCK_SH:
		return set_lock(uf, LS_FLOCK, F_RDLCK, 0, UINT64_MAX, wait);
	case LOCK_EX:
		return set_lock(uf, LS_FLOCK, F_WRLCK, 0, UINT64_MAX, wait);
	case LOCK_UN:
		return set_lock(uf, LS_FLOCK, F_UNLCK, 0, UINT64_MAX, false);
	default:
		return -EINVAL;
	}
}

int lock_range(struct ufile *uf, const struct flock *fl, uint64_t *start, uint64_t *end)
{
	struct udax_stat st;
	int64_t base;
	int ret;

	switch (fl->l_whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = ufile_lseek(uf, 0, SEEK_CUR);
		break;
	case SEEK_END:
		ret = udax_fstat(uf->file, &st);
		if (ret)
			return ret;
		base = (int64_t)st.size;
		break;
	default:
		return -EINVAL;
	}
	if (base < 0)
		return (int)base;
	base += fl->l_start;
	if (fl->l_len < 0) {
		if (base + fl->l_len < 0)
			return -EINVAL;
		*start = (uint64_t)(base + fl->l_len);
		*end = (uint64_t)base;
	} else {
		if (base < 0)
			return -EINVAL;
		*start = (uint64_t)base;
		*end = fl->l_len ? (uint64_t)base + (uint64_t)fl->l_len : UINT64_MAX;
	}
	if (fl->l_type == F_RDLCK && (uf->flags & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	if (fl->l_type == F_WRLCK && (uf->flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	if (fl->l_type != F_RDLCK && fl->l_type != F_WRLCK && fl->l_type != F_UNLCK)
		return -EINVAL;
	return 0;
}

int lock_ofd(struct ufile *uf, int cmd, struct flock *fl)
{
	uint64_t start, end;
	struct lock *l;
	int ret;

	if (fl->l_pid != 0)
		return -EINVAL;
	ret = lock_range(uf, fl, &start, &end);
	if (ret)
		return ret;
	if (cmd != F_OFD_GETLK)
		return set_lock(uf, LS_OFD, fl->l_type, start, end, cmd == F_OFD_SETLKW);
	if (fl->l_type == F_UNLCK)
		return -EINVAL;
	pthread_mutex_lock(&locks_mutex);
	l = conflict(uf, LS_OFD, fl->l_type, start, end);
	if (l) {
		fl->l_type = l->type;
		fl->l_whence = SEEK_SET;
		fl->l_start = (off_t)l->start;
		fl->l_len = l->end == UINT64_MAX ? 0 : (off_t)(l->end - l->start);
		fl->l_pid = -1;
	} else {
		fl->l_type = F_UNLCK;
	}
	pthread_mutex_unlock(&locks_mutex);
	return 0;
}

void lock_release_all(struct ufile *uf)
{
	set_lock(uf, LS_FLOCK, F_UNLCK, 0, UINT64_MAX, false);
	set_lock(uf, LS_OFD, F_UNLCK, 0, UINT64_MAX, false);
}
