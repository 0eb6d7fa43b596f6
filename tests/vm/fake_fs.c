// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dax/entry_lock.h"
#include "dax/index.h"
#include "fake_fs.h"
#include "testlib.h"

static uint64_t fake_i_size(void *host)
{
	return atomic_load(&((struct fake_fs *)host)->size);
}

static const struct fake_extent *find(struct fake_fs *fs, uint64_t pos, uint64_t *hole_end)
{
	*hole_end = UINT64_MAX >> 8;
	for (int i = 0; i < fs->nr; i++) {
		if (pos >= fs->ext[i].off && pos < fs->ext[i].off + fs->ext[i].len)
			return &fs->ext[i];
		if (fs->ext[i].off > pos && fs->ext[i].off < *hole_end)
			*hole_end = fs->ext[i].off;
	}
	return NULL;
}

static void add_locked(struct fake_fs *fs, uint64_t off, uint64_t len, uint64_t media,
		       uint16_t type)
{
	if (fs->nr == FAKE_MAX_EXTENTS)
		abort();
	fs->ext[fs->nr++] =
		(struct fake_extent){.off = off, .len = len, .media = media, .type = type};
}

/* Allocates zeroed media for [pos, +len) of a hole ending at @hole_end. */
static const struct fake_extent *alloc(struct fake_fs *fs, uint64_t pos, uint64_t len,
				       uint64_t hole_end)
{
	uint64_t a = fs->alloc_align, media = (fs->next_alloc + a - 1) / a * a;

	pos &= ~(DAX_PAGE_SIZE - 1);
	len = (len + DAX_PAGE_SIZE - 1) & ~(DAX_PAGE_SIZE - 1);
	if (pos + len > hole_end)
		len = hole_end - pos;
	if (media + len > fs->media_size)
		return NULL;
	fs->next_alloc = media + len;
	memset(fs->base + media, 0, len);
	add_locked(fs, pos, len, media, IOMAP_MAPPED);
	atomic_fetch_add(&fs->allocs, 1);
	return &fs->ext[fs->nr - 1];
}

static int fake_begin(void *host, uint64_t pos, uint64_t len, unsigned flags, struct iomap *m)
{
	struct fake_fs *fs = host;
	const struct fake_extent *e;
	uint64_t hole_end;
	int ret = 0;

	atomic_fetch_add(&fs->begins, 1);
	pthread_mutex_lock(&fs->lock);
	memset(m, 0, sizeof(*m));
	m->pm = fs->pm;
	m->base = fs->base;
	e = find(fs, pos, &hole_end);
	if (!e && (flags & IOMAP_WRITE)) {
		e = alloc(fs, pos, len, hole_end);
		m->flags = IOMAP_F_NEW;
		if (!e)
			ret = -ENOSPC;
		else if (fs->dirty_meta)
			fs->ext[fs->nr - 1].uncommitted = true;
	}
	if (e && e->uncommitted)
		m->flags |= IOMAP_F_DIRTY;
	if (e) {
		m->offset = e->off;
		m->length = e->len;
		m->addr = e->media;
		m->type = e->type;
	} else {
		m->offset = pos & ~(DAX_PAGE_SIZE - 1);
		m->length = hole_end - m->offset;
		m->type = IOMAP_HOLE;
	}
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

static int fake_end(void *host, uint64_t pos, uint64_t len, uint64_t written, unsigned flags,
		    struct iomap *m)
{
	(void)pos, (void)len, (void)written, (void)flags, (void)m;
	atomic_fetch_add(&((struct fake_fs *)host)->ends, 1);
	return 0;
}

static void fake_page_ref(void *host, uint64_t pfn, uint64_t nr, int delta)
{
	struct fake_fs *fs = host;

	for (uint64_t i = 0; i < nr; i++)
		if (atomic_fetch_add(&fs->refs[pfn + i], delta) + delta < 0)
			abort(); /* a reference dropped that was never taken */
}

bool fake_refs_are(struct fake_fs *fs, uint64_t pfn, uint64_t nr, int each)
{
	for (uint64_t i = 0; i < nr; i++)
		if (atomic_load(&fs->refs[pfn + i]) != each)
			return false;
	return true;
}

static const struct iomap_ops fake_ops = {.iomap_begin = fake_begin, .iomap_end = fake_end};

static void fake_wrprotect(void *arg, struct dax_mapping *m, uint64_t index, uint64_t nr)
{
	(void)arg;
	vm_wrprotect_mapping_range(m, index, nr);
}

static const struct dax_writeback_ops fake_wb_ops = {.wrprotect = fake_wrprotect};

/* Commits every allocation (the journal), then writes back the range's dirty entries. */
int fake_fsync(struct fake_fs *fs, uint64_t pos, uint64_t len)
{
	uint64_t first = pos >> DAX_PAGE_SHIFT, last = (pos + len - 1) >> DAX_PAGE_SHIFT, i = first;

	atomic_fetch_add(&fs->syncs, 1);
	if (dax_find_marked(fs->arena, fs->mapping, &i, last, DAX_DIRTY))
		atomic_fetch_add(&fs->dirty_at_sync, 1);
	pthread_mutex_lock(&fs->lock);
	for (int e = 0; e < fs->nr; e++)
		fs->ext[e].uncommitted = false;
	pthread_mutex_unlock(&fs->lock);
	dax_writeback_range(fs->arena, fs->mapping, fs->pm, fs->base, first, last, &fake_wb_ops,
			    &fs->wb);
	return 0;
}

static int fake_fsync_range(void *host, uint64_t pos, uint64_t len)
{
	return fake_fsync(host, pos, len);
}

struct fake_fs *fake_new(uint64_t media_size, uint64_t size)
{
	return fake_new_in("/dev/shm", PMEM_O_FORCE_FLUSH, media_size, size);
}

struct fake_fs *fake_new_in(const char *dir, int pmem_flags, uint64_t media_size, uint64_t size)
{
	struct fake_fs *fs = calloc(1, sizeof(*fs));
	size_t asize = dax_arena_size(4096, 256);
	char path[256];
	void *mem;

	CHECK(fs);
	snprintf(path, sizeof(path), "%s/udax-vm-test.%d", dir, getpid());
	CHECK_OK(pmem_open(path, PMEM_O_CREATE | pmem_flags, media_size, &fs->pm));
	unlink(path);
	CHECK_OK(pmem_map(fs->pm, 0, media_size, PROT_READ | PROT_WRITE, (void **)&fs->base));
	mem = mmap(NULL, asize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(mem != MAP_FAILED);
	CHECK_OK(dax_arena_format(mem, asize, 256, &fs->arena));
	fs->mapping = dax_mapping_create(fs->arena);
	CHECK(fs->mapping);
	fs->media_size = media_size;
	fs->refs = calloc(media_size / DAX_PAGE_SIZE, sizeof(*fs->refs));
	CHECK(fs->refs);
	fs->size = size;
	fs->alloc_align = DAX_PMD_SIZE;
	pthread_mutex_init(&fs->lock, NULL);
	fs->file = (struct dax_fault_file){.arena = fs->arena,
					   .mapping = fs->mapping,
					   .host = fs,
					   .ops = &fake_ops,
					   .i_size = fake_i_size,
					   .page_ref = fake_page_ref,
					   .fsync_range = fake_fsync_range,
					   .map_sync = pmem_get_info(fs->pm)->method == PMEM_METHOD_FLUSH,
					   .pm = fs->pm,
					   .media = fs->base};
	return fs;
}

void fake_free(struct fake_fs *fs)
{
	dax_delete_range(fs->arena, fs->mapping, 0, DAX_INDEX_LIMIT - 1);
	munmap(fs->arena, dax_arena_size(4096, 256));
	pmem_unmap(fs->base, fs->media_size);
	pmem_close(fs->pm);
	free((void *)fs->refs);
	free(fs);
}

void fake_add(struct fake_fs *fs, uint64_t off, uint64_t len, uint64_t media, uint16_t type)
{
	pthread_mutex_lock(&fs->lock);
	add_locked(fs, off, len, media, type);
	if (media + len > fs->next_alloc)
		fs->next_alloc = media + len;
	pthread_mutex_unlock(&fs->lock);
}

void fake_truncate(struct fake_fs *fs, uint64_t size)
{
	uint64_t first = (size + DAX_PAGE_SIZE - 1) >> DAX_PAGE_SHIFT;

	atomic_store(&fs->size, size);
	vm_unmap_mapping_range(fs->mapping, first, DAX_INDEX_LIMIT - first);
	dax_delete_range(fs->arena, fs->mapping, first, DAX_INDEX_LIMIT - 1);
	pthread_mutex_lock(&fs->lock);
	for (int i = 0; i < fs->nr; i++) {
		if (fs->ext[i].off >= first << DAX_PAGE_SHIFT)
			fs->ext[i--] = fs->ext[--fs->nr];
		else if (fs->ext[i].off + fs->ext[i].len > first << DAX_PAGE_SHIFT)
			fs->ext[i].len = (first << DAX_PAGE_SHIFT) - fs->ext[i].off;
	}
	pthread_mutex_unlock(&fs->lock);
}

void fake_write(struct fake_fs *fs, uint64_t pos, const void *buf, uint64_t len)
{
	struct iomap m;
	uint64_t first = pos >> DAX_PAGE_SHIFT;
	uint64_t nr = ((pos + len + DAX_PAGE_SIZE - 1) >> DAX_PAGE_SHIFT) - first;

	CHECK_OK(fake_begin(fs, pos, len, IOMAP_WRITE, &m));
	CHECK(m.type == IOMAP_MAPPED && m.offset + m.length >= pos + len);
	if (m.flags & IOMAP_F_NEW)
		vm_invalidate_range(&fs->file, first, nr);
	memcpy(fs->base + m.addr + pos - m.offset, buf, len);
	fake_end(fs, pos, len, len, IOMAP_WRITE, &m);
	if (pos + len > atomic_load(&fs->size))
		atomic_store(&fs->size, pos + len);
}

dax_entry_t fake_entry(struct fake_fs *fs, uint64_t index)
{
	dax_entry_t e;

	dax_mutex_lock(&fs->mapping->lock);
	e = dax_index_lookup(fs->arena, fs->mapping, index, 0);
	dax_mutex_unlock(&fs->mapping->lock);
	return e;
}

static sigjmp_buf catch_env;
static siginfo_t catch_info;

static void catch_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	catch_info = *si;
	siglongjmp(catch_env, sig);
}

int catch_signal(void (*fn)(void *), void *arg, siginfo_t *info)
{
	struct sigaction act = {.sa_sigaction = catch_handler, .sa_flags = SA_SIGINFO}, old_segv,
			 old_bus;
	volatile int sig;

	sigemptyset(&act.sa_mask);
	CHECK_OK(sigaction(SIGSEGV, &act, &old_segv));
	CHECK_OK(sigaction(SIGBUS, &act, &old_bus));
	sig = sigsetjmp(catch_env, 1);
	if (!sig)
		fn(arg);
	CHECK_OK(sigaction(SIGSEGV, &old_segv, NULL));
	CHECK_OK(sigaction(SIGBUS, &old_bus, NULL));
	if (info)
		*info = catch_info;
	return sig;
}

void touch_read(void *addr)
{
	(void)*(volatile char *)addr;
}

void touch_write(void *addr)
{
	*(volatile char *)addr = 1;
}
