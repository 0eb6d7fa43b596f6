// SPDX-License-Identifier: MIT
/*
 * Memory mappings: mmap of udax descriptors goes to udax_mmap; munmap,
 * mprotect, mremap, msync and madvise on addresses inside udax mappings go
 * to the udax calls (docs/posix-shim.md, "Memory mappings").
 *
 * The shim keeps its own registry of the udax ranges: sorted, disjoint
 * [start, end) entries, each holding a reference to the open file it maps
 * (so, as on Linux, a mapping keeps its file open after close). The hot path
 * for other addresses is two relaxed loads: the bounds of all entries.
 *
 * Recursion: udax's mapping calls themselves call mmap/munmap/mprotect/mremap
 * on udax ranges (reservations, windows). They bind to this module too, so
 * while the shim is inside a udax mapping call (op_lock held, in_udax set on
 * this thread) every mapping call of the thread goes straight to libc. The
 * fault handler maps with raw system calls and never comes here.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "posix/shim.h"

/* As the fault engine's registry (docs/vm.md): each entry holds at least one of its areas. */
#define UMAP_MAX  1024
#define UDAX_PAGE 4096UL
/* Flags Linux ignores on file mappings; udax_mmap would refuse them. */
#define MAP_IGNORED (MAP_DENYWRITE | MAP_EXECUTABLE | MAP_NONBLOCK | MAP_STACK | MAP_LOCKED)

struct umap {
	uintptr_t start, end;
	struct ufile *uf; /* one reference per entry */
};

static struct umap maps[UMAP_MAX];
static int nmaps;
/*
 * op_lock serializes the udax mapping calls and all changes of the registry.
 * reg_lock guards the entries for readers that do not hold op_lock; it is
 * never held across a udax call, so the mapping calls udaxfs makes on other
 * addresses (the pool's windows) while holding its own locks never wait for
 * a udax call in progress.
 */
static pthread_mutex_t op_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
/* References of removed entries, dropped by leave() (a last close takes udaxfs locks). */
static struct ufile *dropped[UMAP_MAX];
static int ndropped;
/* Bounds of all entries (lo > hi when there are none), for the lock-free tests (shim.h). */
_Atomic uintptr_t shim_maps_lo = UINTPTR_MAX, shim_maps_hi;
static _Thread_local bool in_udax __attribute__((tls_model("initial-exec")));

static uintptr_t range_end(const void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr;

	/* A zero length still names the page at @addr (the calls then fail as udax's). */
	len = len ? len : 1;
	return len > UINTPTR_MAX - a ? UINTPTR_MAX : a + len;
}

/* The index of the first entry that ends after @a. Callers hold op_lock or reg_lock. */
static int first_after(uintptr_t a)
{
	int lo = 0, hi = nmaps;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (maps[mid].end <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Callers hold op_lock or reg_lock. */
static bool overlaps_locked(uintptr_t s, uintptr_t e)
{
	int i = first_after(s);

	return i < nmaps && maps[i].start < e;
}

static bool overlaps(uintptr_t s, uintptr_t e)
{
	bool ret;

	pthread_mutex_lock(&reg_lock);
	ret = overlaps_locked(s, e);
	pthread_mutex_unlock(&reg_lock);
	return ret;
}

/* Callers hold op_lock and reg_lock. */
static void update_bounds(void)
{
	atomic_store_explicit(&shim_maps_lo, nmaps ? maps[0].start : UINTPTR_MAX,
			      memory_order_relaxed);
	atomic_store_explicit(&shim_maps_hi, nmaps ? maps[nmaps - 1].end : 0, memory_order_relaxed);
}

static void insert_at(int i, uintptr_t s, uintptr_t e, struct ufile *uf)
{
	if (nmaps == UMAP_MAX) {
		shim_warn("more than %d udax mappings", UMAP_MAX);
		abort();
	}
	memmove(&maps[i + 1], &maps[i], (size_t)(nmaps - i) * sizeof(maps[0]));
	maps[i] = (struct umap){.start = s, .end = e, .uf = uf};
	ufile_get(uf);
	nmaps++;
	update_bounds();
}

/* Removes [s, e) from the registry, splitting entries. Callers hold op_lock and reg_lock. */
static void cut_locked(uintptr_t s, uintptr_t e)
{
	int i = first_after(s);

	while (i < nmaps && maps[i].start < e) {
		struct umap *m = &maps[i];

		if (m->start < s && m->end > e) {
			insert_at(i + 1, e, m->end, m->uf);
			maps[i].end = s;
			break;
		}
		if (m->start < s) {
			m->end = s;
			i++;
		} else if (m->end > e) {
			m->start = e;
			break;
		} else {
			dropped[ndropped++] = m->uf;
			memmove(m, m + 1, (size_t)(nmaps - i - 1) * sizeof(maps[0]));
			nmaps--;
		}
	}
	update_bounds();
}

/* Callers hold op_lock. */
static void cut(uintptr_t s, uintptr_t e)
{
	pthread_mutex_lock(&reg_lock);
	cut_locked(s, e);
	pthread_mutex_unlock(&reg_lock);
}

/* Records [s, e) as a mapping of @uf, replacing what was there. Callers hold op_lock. */
static void add(uintptr_t s, uintptr_t e, struct ufile *uf)
{
	pthread_mutex_lock(&reg_lock);
	cut_locked(s, e);
	insert_at(first_after(s), s, e, uf);
	pthread_mutex_unlock(&reg_lock);
}

/* Takes op_lock; until leave(), the thread's mapping calls go straight to libc. */
static void begin(void)
{
	pthread_mutex_lock(&op_lock);
	in_udax = true;
}

static void leave(void)
{
	while (ndropped)
		ufile_put(dropped[--ndropped]);
	in_udax = false;
	pthread_mutex_unlock(&op_lock);
}

/*
 * enter - whether [addr, +len) holds udax mappings: then it has begun (see
 * begin()). False, with nothing held, for other addresses, inside udax's own
 * calls, and in a forked child (the parent's udax state is not the child's:
 * its calls go to the kernel).
 */
static bool enter(const void *addr, size_t len)
{
	uintptr_t s = (uintptr_t)addr, e = range_end(addr, len);

	if (s >= atomic_load_explicit(&shim_maps_hi, memory_order_relaxed) ||
	    e <= atomic_load_explicit(&shim_maps_lo, memory_order_relaxed) || in_udax ||
	    shim_forked() || !overlaps(s, e))
		return false;
	begin();
	if (overlaps_locked(s, e))
		return true;
	leave(); /* unmapped meanwhile */
	return false;
}

bool map_udax_piece(uintptr_t s, uintptr_t e, uintptr_t *ps, uintptr_t *pe)
{
	bool found;
	int i;

	pthread_mutex_lock(&reg_lock);
	i = first_after(s);
	found = i < nmaps && maps[i].start < e;
	if (found) {
		*ps = maps[i].start > s ? maps[i].start : s;
		*pe = maps[i].end < e ? maps[i].end : e;
	}
	pthread_mutex_unlock(&reg_lock);
	return found;
}

/* A call that replaces [addr, +len) with another mapping first drops the udax part. */
static void drop_udax(void *addr, size_t len)
{
	if (!enter(addr, len))
		return;
	if (!udax_munmap(addr, len))
		cut((uintptr_t)addr, range_end(addr, len));
	leave();
}

static long map_file(struct ufile *uf, void *addr, size_t len, int prot, int flags, off_t off,
		     void **out)
{
	long r;

	if (uf->is_dir)
		return -ENODEV;
	flags &= ~MAP_IGNORED;
	if ((flags & MAP_TYPE) != MAP_SHARED_VALIDATE)
		flags &= ~MAP_SYNC; /* only MAP_SHARED_VALIDATE makes the kernel look at it */
	begin();
	r = udax_mmap(uf->file, addr, len, prot, flags, off, out);
	if (!r)
		add((uintptr_t)*out, (uintptr_t)*out + ((len + UDAX_PAGE - 1) & ~(UDAX_PAGE - 1)),
		    uf);
	leave();
	return r;
}

SHIM_API void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = MAP_FAILED;

	if ((flags & MAP_ANONYMOUS) || !fd_is_udax(fd)) {
		if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) == MAP_FIXED)
			drop_udax(addr, len);
		return REAL(mmap)(addr, len, prot, flags, fd, off);
	}
	return ON_UFILE(fd, map_file(uf, addr, len, prot, flags, off, &p)) ? MAP_FAILED : p;
}

SHIM_API void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
	__attribute__((alias("mmap")));

SHIM_API int munmap(void *addr, size_t len)
{
	long r;

	if (!enter(addr, len))
		return REAL(munmap)(addr, len);
	r = udax_munmap(addr, len);
	if (!r)
		cut((uintptr_t)addr, range_end(addr, len));
	leave();
	return (int)shim_ret(r);
}

/* On a range that holds udax mappings, only their part changes protection. */
SHIM_API int mprotect(void *addr, size_t len, int prot)
{
	long r;

	if (!enter(addr, len))
		return REAL(mprotect)(addr, len, prot);
	r = udax_mprotect(addr, len, prot);
	leave();
	return (int)shim_ret(r);
}

SHIM_API void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL, *p = MAP_FAILED;
	struct ufile *uf;
	va_list ap;
	long r;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	if (!enter(old, old_len)) {
		if (flags & MREMAP_FIXED)
			drop_udax(new_addr, new_len);
		return REAL(mremap)(old, old_len, new_len, flags, new_addr);
	}
	r = udax_mremap(old, old_len, new_len, flags, new_addr, &p);
	if (!r) {
		/* The range lay inside one udax mapping: its entry's file maps the new one. */
		uf = maps[first_after((uintptr_t)old)].uf;
		ufile_get(uf);
		cut((uintptr_t)old, range_end(old, old_len));
		add((uintptr_t)p, range_end(p, new_len), uf);
		ufile_put(uf);
	}
	leave();
	return shim_ret(r) ? MAP_FAILED : p;
}

/*
 * The kernel checks the arguments and syncs the rest of the range; MS_SYNC
 * then makes the stores to each udax file in the range durable.
 */
SHIM_API int msync(void *addr, size_t len, int flags)
{
	uintptr_t e = range_end(addr, len);
	struct ufile *prev = NULL;
	long r;

	if (!enter(addr, len))
		return REAL(msync)(addr, len, flags);
	r = REAL(msync)(addr, len, flags) ? -errno : 0;
	for (int i = first_after((uintptr_t)addr);
	     !r && (flags & MS_SYNC) && i < nmaps && maps[i].start < e; i++) {
		if (maps[i].uf != prev)
			r = udax_fdatasync(maps[i].uf->file);
		prev = maps[i].uf;
	}
	leave();
	return (int)shim_ret(r);
}

/*
 * Advice that the kernel applies to the windows as to any file mapping passes
 * through; the rest (MADV_REMOVE would punch the pool file, MADV_POPULATE_*
 * cannot fault udax pages, MADV_FREE is for anonymous memory) gives EINVAL.
 */
static bool madv_passes(int advice)
{
	switch (advice) {
	case MADV_NORMAL:
	case MADV_RANDOM:
	case MADV_SEQUENTIAL:
	case MADV_WILLNEED:
	case MADV_DONTNEED:
	case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE:
	case MADV_DONTDUMP:
	case MADV_DODUMP:
	case MADV_COLD:
		return true;
	default:
		return false;
	}
}

SHIM_API int madvise(void *addr, size_t len, int advice)
{
	if (enter(addr, len)) {
		leave();
		if (!madv_passes(advice)) {
			errno = EINVAL;
			return -1;
		}
	}
	return REAL(madvise)(addr, len, advice);
}
