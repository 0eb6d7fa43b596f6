// SPDX-License-Identifier: MIT
/*
 * Power-loss recording: a model of x86 persistence at cache-line granularity
 * fed by the persistence primitives of a recorded backing (pmem.h, section
 * "Power-loss recording").
 *
 * Three copies of the media are compared:
 *  - persisted: what survives a power loss for sure (contents as of the last
 *    fence, plus everything that was on the media when recording began);
 *  - flushed: persisted with every pending line applied, in order;
 *  - live: the media itself, through the recorder's own read-only mapping.
 * A pending line is a snapshot taken by a flush or a non-temporal store since
 * the last fence; a line whose live contents differ from flushed holds stores
 * that no flush has covered ("in flight"). A power loss writes back any
 * subset of the pending snapshots (a later snapshot of a line wins over an
 * earlier one) and of the in-flight lines, each whole or torn into 8-byte
 * words.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/err.h"
#include "pmem/pmem_internal.h"

#define LINE	    64ul
#define MAX_WINDOWS 16

struct record_window {
	uintptr_t addr;
	uint64_t off;
	size_t len;
};

struct record_line {
	uint64_t off;
	uint8_t data[LINE];
};

struct pmem_recorder {
	dev_t dev; /* the armed backing */
	ino_t ino;
	pmem_fence_fn fn;
	void *arg;
	struct pmem *pm; /* attached backing, NULL before the open and after the close */
	size_t size;
	const uint8_t *live;
	uint8_t *persisted, *flushed;
	struct record_line *pending;
	size_t npending, cap;
	struct record_window win[MAX_WINDOWS];
	unsigned nwin;
	uint64_t fences, unknown;
	bool in_fn, nomem;
};

/* One recorder may be armed at a time; pmem_open attaches it to its backing. */
static pthread_mutex_t armed_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pmem_recorder *armed;

int pmem_record_arm(const char *path, pmem_fence_fn fn, void *arg, struct pmem_recorder **out)
{
	struct pmem_recorder *rec;
	struct stat st;
	int ret = 0;

	if (stat(path, &st))
		return udax_err(errno, "%s: cannot record: %s", path, strerror(errno));
	rec = calloc(1, sizeof(*rec));
	if (!rec)
		return udax_err(ENOMEM, "%s: recorder", path);
	rec->dev = st.st_dev;
	rec->ino = st.st_ino;
	rec->fn = fn;
	rec->arg = arg;
	pthread_mutex_lock(&armed_lock);
	if (armed)
		ret = udax_err(EBUSY, "%s: another recorder is armed", path);
	else
		armed = rec;
	pthread_mutex_unlock(&armed_lock);
	if (ret)
		free(rec);
	else
		*out = rec;
	return ret;
}

static void release_media_copies(struct pmem_recorder *rec)
{
	if (rec->live)
		munmap((void *)rec->live, rec->size);
	free(rec->persisted);
	free(rec->flushed);
	free(rec->pending);
	rec->live = NULL;
	rec->persisted = rec->flushed = NULL;
	rec->pending = NULL;
	rec->npending = rec->cap = 0;
}

void pmem_record_free(struct pmem_recorder *rec)
{
	if (!rec)
		return;
	pthread_mutex_lock(&armed_lock);
	if (armed == rec)
		armed = NULL;
	pthread_mutex_unlock(&armed_lock);
	if (rec->pm)
		rec->pm->rec = NULL;
	release_media_copies(rec);
	free(rec);
}

/* Everything on the media when recording begins counts as persisted. */
static int take_media_copies(struct pmem_recorder *rec, struct pmem *pm)
{
	void *live;

	rec->size = pm->info.size;
	live = mmap(NULL, rec->size, PROT_READ, MAP_SHARED, pm->fd, 0);
	if (live == MAP_FAILED)
		return udax_err(errno, "%s: recorder mapping: %s", pm->path, strerror(errno));
	rec->live = live;
	rec->persisted = malloc(rec->size);
	rec->flushed = malloc(rec->size);
	if (!rec->persisted || !rec->flushed) {
		release_media_copies(rec);
		return udax_err(ENOMEM, "%s: recorder copies of %zu bytes", pm->path, rec->size);
	}
	memcpy(rec->persisted, rec->live, rec->size);
	memcpy(rec->flushed, rec->live, rec->size);
	return 0;
}

int pmem_record_attach(struct pmem *pm, const struct stat *st)
{
	struct pmem_recorder *rec;
	int ret = 0;

	pthread_mutex_lock(&armed_lock);
	rec = armed;
	if (rec && !rec->pm && !rec->live && rec->dev == st->st_dev && rec->ino == st->st_ino) {
		ret = take_media_copies(rec, pm);
		if (!ret) {
			rec->pm = pm;
			pm->rec = rec;
		}
	}
	pthread_mutex_unlock(&armed_lock);
	return ret;
}

/* Images can still be made after the close: the recorder keeps its own mapping. */
void pmem_record_detach(struct pmem *pm)
{
	pm->rec->nwin = 0;
	pm->rec->pm = NULL;
	pm->rec = NULL;
}

/* Past MAX_WINDOWS (no user needs as many), flushes through a window count as unknown. */
void pmem_record_window(struct pmem_recorder *rec, void *addr, uint64_t off, size_t len)
{
	if (rec->nwin < MAX_WINDOWS)
		rec->win[rec->nwin++] = (struct record_window){(uintptr_t)addr, off, len};
}

/* Media offset of @addr, newest window first; false if no window covers it. */
static bool media_offset(const struct pmem_recorder *rec, uintptr_t addr, uint64_t *off)
{
	for (unsigned i = rec->nwin; i-- > 0;) {
		const struct record_window *w = &rec->win[i];

		if (addr >= w->addr && addr - w->addr < w->len) {
			*off = w->off + (addr - w->addr);
			return true;
		}
	}
	return false;
}

static bool grow_pending(struct pmem_recorder *rec)
{
	size_t cap = rec->cap ? 2 * rec->cap : 1024;
	struct record_line *p = realloc(rec->pending, cap * sizeof(*p));

	if (!p)
		return false;
	rec->pending = p;
	rec->cap = cap;
	return true;
}

static void snapshot_line(struct pmem_recorder *rec, uint64_t off)
{
	struct record_line *l;

	if (off + LINE > rec->size)
		return;
	if (rec->npending == rec->cap && !grow_pending(rec)) {
		rec->nomem = true;
		return;
	}
	l = &rec->pending[rec->npending++];
	l->off = off;
	memcpy(l->data, rec->live + off, LINE);
	memcpy(rec->flushed + off, l->data, LINE);
}

void pmem_record_flush(struct pmem_recorder *rec, const void *addr, size_t len)
{
	uintptr_t p = (uintptr_t)addr & ~(LINE - 1), end = (uintptr_t)addr + len;
	uint64_t off;

	for (; p < end; p += LINE) {
		if (media_offset(rec, p, &off))
			snapshot_line(rec, off);
		else
			rec->unknown++;
	}
}

/* The callback sees the crash state just before the fence takes effect. */
void pmem_record_fence(struct pmem_recorder *rec)
{
	if (rec->fn && !rec->in_fn) {
		rec->in_fn = true;
		rec->fn(rec, rec->fences, rec->arg);
		rec->in_fn = false;
	}
	for (size_t i = 0; i < rec->npending; i++)
		memcpy(rec->persisted + rec->pending[i].off, rec->pending[i].data, LINE);
	rec->npending = 0;
	rec->fences++;
}

static uint64_t next_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static bool line_in_flight(const struct pmem_recorder *rec, uint64_t off)
{
	return memcmp(rec->live + off, rec->flushed + off, LINE) != 0;
}

/* Calls @fn for every in-flight line; pages are compared whole first, for speed. */
static uint64_t
for_each_in_flight(const struct pmem_recorder *rec,
		   void (*fn)(const struct pmem_recorder *rec, uint64_t off, void *arg), void *arg)
{
	uint64_t n = 0;

	for (uint64_t pg = 0; pg < rec->size; pg += PMEM_PAGE_SIZE) {
		if (!memcmp(rec->live + pg, rec->flushed + pg, PMEM_PAGE_SIZE))
			continue;
		for (uint64_t off = pg; off < pg + PMEM_PAGE_SIZE; off += LINE) {
			if (line_in_flight(rec, off)) {
				n++;
				if (fn)
					fn(rec, off, arg);
			}
		}
	}
	return n;
}

struct image_pick {
	uint8_t *out;
	uint64_t state;
	struct pmem_crash_pick how;
};

static bool chance(struct image_pick *p, unsigned pct)
{
	return next_rand(&p->state) % 100 < pct;
}

/* Maybe writes @line back into the image: whole, or torn into its 8-byte words. */
static void write_back(struct image_pick *p, uint64_t off, const uint8_t *line)
{
	if (!chance(p, p->how.keep_pct))
		return;
	if (!chance(p, p->how.tear_pct)) {
		memcpy(p->out + off, line, LINE);
		return;
	}
	for (unsigned w = 0; w < LINE; w += 8)
		if (next_rand(&p->state) & 1)
			memcpy(p->out + off + w, line + w, 8);
}

static void write_back_in_flight(const struct pmem_recorder *rec, uint64_t off, void *arg)
{
	write_back(arg, off, rec->live + off);
}

int pmem_record_image(const struct pmem_recorder *rec, const struct pmem_crash_pick *how, void *out)
{
	struct image_pick p = {out, how->seed, *how};

	if (!rec->live)
		return udax_err(EINVAL, "recorder: the armed backing was never opened");
	if (rec->nomem)
		return udax_err(ENOMEM, "recorder: pending lines were lost (out of memory)");
	memcpy(out, rec->persisted, rec->size);
	for (size_t i = 0; i < rec->npending; i++)
		write_back(&p, rec->pending[i].off, rec->pending[i].data);
	for_each_in_flight(rec, write_back_in_flight, &p);
	return 0;
}

void pmem_record_stats(const struct pmem_recorder *rec, struct pmem_record_stats *st)
{
	st->size = rec->size;
	st->fences = rec->fences;
	st->pending = rec->npending;
	st->in_flight = rec->live ? for_each_in_flight(rec, NULL, NULL) : 0;
	st->unknown = rec->unknown;
	st->attached = rec->pm != NULL;
}
