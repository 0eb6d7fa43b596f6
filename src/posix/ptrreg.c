// SPDX-License-Identifier: MIT
/*
 * Registries of the DIR and FILE objects the shim created, so that readdir,
 * closedir, dirfd and fileno recognise them. An empty registry is tested
 * with one load; a non-empty one is searched under its mutex.
 */
#include <stdlib.h>

#include "posix/shim.h"

struct ptrreg {
	pthread_mutex_t lock;
	atomic_size_t count;
	size_t cap;
	struct {
		const void *p;
		void *val;
	} * v;
};

struct ptrreg shim_dirs = {.lock = PTHREAD_MUTEX_INITIALIZER};
struct ptrreg shim_streams = {.lock = PTHREAD_MUTEX_INITIALIZER};

int ptrreg_add(struct ptrreg *r, const void *p, void *val)
{
	size_t n;
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	n = atomic_load(&r->count);
	if (n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		void *v = realloc(r->v, cap * sizeof(*r->v));

		if (v) {
			r->v = v;
			r->cap = cap;
		} else {
			ret = -ENOMEM;
		}
	}
	if (!ret) {
		r->v[n].p = p;
		r->v[n].val = val;
		atomic_store(&r->count, n + 1);
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

/* Under r->lock: the index of @p, or -1. */
static long slot(struct ptrreg *r, const void *p)
{
	size_t n = atomic_load(&r->count);

	for (size_t i = 0; i < n; i++)
		if (r->v[i].p == p)
			return (long)i;
	return -1;
}

void *ptrreg_find(struct ptrreg *r, const void *p)
{
	void *val = NULL;
	long i;

	if (!atomic_load_explicit(&r->count, memory_order_relaxed))
		return NULL;
	pthread_mutex_lock(&r->lock);
	i = slot(r, p);
	if (i >= 0)
		val = r->v[i].val;
	pthread_mutex_unlock(&r->lock);
	return val;
}

void *ptrreg_del(struct ptrreg *r, const void *p)
{
	void *val = NULL;
	long i;

	pthread_mutex_lock(&r->lock);
	i = slot(r, p);
	if (i >= 0) {
		size_t last = atomic_load(&r->count) - 1;

		val = r->v[i].val;
		r->v[i] = r->v[last];
		atomic_store(&r->count, last);
	}
	pthread_mutex_unlock(&r->lock);
	return val;
}
