// SPDX-License-Identifier: MIT
/*
 * Memory mappings of udax files (udax.h, "Memory mappings"): the file API's
 * side of the fault engine (src/vm, docs/vm.md).
 *
 * Each inode mapped in this process gets a mapping index in one
 * process-local DAX arena, found by (node, inode number). The index
 * describes only what this process's mappings show, so when an inode is
 * mapped again after all its mappings are gone, its index starts empty (the
 * node may meanwhile be another file's). A mapping uses the node of the file
 * it was made from: it must not outlive every open file of its inode.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/err.h"
#include "dax/entry_lock.h"
#include "dax/index.h"
#include "dax/layout.h"
#include "dax/writeback.h"
#include "fs/api/api_internal.h"
#include "fs/udaxfs.h"
#include "pmem/pmem.h"
#include "vm/vm.h"

#define ARENA_NODES   (1u << 17) /* 64 MiB of index, reserved, touched as used */
#define ARENA_WAITERS 1024u

struct mapped_inode {
	struct udaxfs_node *node;
	uint64_t ino;
	struct dax_fault_file file;
	struct mapped_inode *next;
};

static pthread_mutex_t inodes_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mapped_inode *inodes;
static struct dax_arena *arena;

/*
 * The fault core's host is the mapped_inode; these forward to udaxfs with
 * the node, so that fsync_range finds the index it writes back.
 */
static uint64_t mi_size(void *host)
{
	const struct mapped_inode *mi = host;
	uint64_t size;

	return udaxfs_size(mi->node, &size) ? 0 : size;
}

static int mi_iomap_begin(void *host, uint64_t pos, uint64_t len, unsigned flags,
			  struct iomap *iomap)
{
	const struct mapped_inode *mi = host;

	return udaxfs_iomap_ops.iomap_begin(mi->node, pos, len, flags, iomap);
}

static int mi_iomap_end(void *host, uint64_t pos, uint64_t len, uint64_t written, unsigned flags,
			struct iomap *iomap)
{
	const struct mapped_inode *mi = host;

	return udaxfs_iomap_ops.iomap_end(mi->node, pos, len, written, flags, iomap);
}

static const struct iomap_ops mi_iomap_ops = {
	.iomap_begin = mi_iomap_begin,
	.iomap_end = mi_iomap_end,
};

static void wrprotect(void *arg, struct dax_mapping *m, uint64_t index, uint64_t nr)
{
	(void)arg;
	vm_wrprotect_mapping_range(m, index, nr);
}

static const struct dax_writeback_ops writeback_ops = {.wrprotect = wrprotect};

/* Process-wide writeback counters (udax_writeback_stats). */
static _Atomic uint64_t wb_calls, wb_entries, wb_bytes;

/* Writes back the dirty entries of pages [first, last]; volatile media has none to flush. */
static void mi_writeback(const struct mapped_inode *mi, uint64_t first, uint64_t last)
{
	const struct dax_fault_file *f = &mi->file;
	struct dax_writeback_stats st = {0};

	if (pmem_get_info(f->pm)->method == PMEM_METHOD_NONE)
		return;
	dax_writeback_range(arena, f->mapping, f->pm, f->media, first, last, &writeback_ops, &st);
	atomic_fetch_add(&wb_calls, 1);
	atomic_fetch_add(&wb_entries, st.entries);
	atomic_fetch_add(&wb_bytes, st.bytes);
}

int udax_writeback_stats(struct udax_writeback_stats *st)
{
	if (!st)
		return udax_err(EFAULT, "writeback stats: NULL argument");
	st->writebacks = atomic_load(&wb_calls);
	st->entries = atomic_load(&wb_entries);
	st->bytes = atomic_load(&wb_bytes);
	return 0;
}

/*
 * udaxfs commits every metadata change before the call that makes it returns
 * (an allocating fault included: it never reports IOMAP_F_DIRTY), so syncing
 * a range is writing back its dirty entries and fencing.
 */
static int mi_fsync_range(void *host, uint64_t pos, uint64_t len)
{
	struct mapped_inode *mi = host;

	if (len)
		mi_writeback(mi, pos >> DAX_PAGE_SHIFT, (pos + len - 1) >> DAX_PAGE_SHIFT);
	udaxfs_sync(mi->node);
	return 0;
}

/* Mappings and pins hold references on the media pages (src/pmem/pagemap.c). */
static void mi_page_ref(void *host, uint64_t pfn, uint64_t nr, int delta)
{
	const struct mapped_inode *mi = host;

	if (delta > 0)
		pmem_page_get(mi->file.pm, pfn, nr);
	else
		pmem_page_put(mi->file.pm, pfn, nr);
}

/* Where MAP_SYNC keeps its promise: flushed CPU stores reach persistence. */
static bool media_map_sync(const struct pmem *pm)
{
	enum pmem_method method = pmem_get_info(pm)->method;

	return method == PMEM_METHOD_FLUSH || method == PMEM_METHOD_FENCE;
}

static int arena_init(void)
{
	size_t size = dax_arena_size(ARENA_NODES, ARENA_WAITERS);
	void *mem;

	if (arena)
		return 0;
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (mem == MAP_FAILED)
		return udax_err(errno, "mmap: index arena of %zu bytes: %m", size);
	return dax_arena_format(mem, size, ARENA_WAITERS, &arena);
}

/* A new record for @node (inode @ino), with an empty index; NULL if no room. */
static struct mapped_inode *inode_new(struct udaxfs_node *node, uint64_t ino)
{
	struct dax_mapping *m = dax_mapping_create(arena);
	struct mapped_inode *mi = m ? malloc(sizeof(*mi)) : NULL;
	struct pmem *pm;
	void *media;

	if (!mi) {
		if (m)
			dax_mapping_destroy(arena, m);
		return NULL;
	}
	udaxfs_media(node, &pm, &media);
	*mi = (struct mapped_inode){.node = node,
				    .ino = ino,
				    .next = inodes,
				    .file = {.arena = arena,
					     .mapping = m,
					     .host = mi,
					     .ops = &mi_iomap_ops,
					     .i_size = mi_size,
					     .page_ref = mi_page_ref,
					     .fsync_range = mi_fsync_range,
					     .map_sync = media_map_sync(pm),
					     .pm = pm,
					     .media = media}};
	__atomic_store_n(&inodes, mi, __ATOMIC_RELEASE); /* read unlocked by mapped_inode() */
	return mi;
}

/* The record of inode @ino opened as @node, or NULL. Caller holds inodes_lock. */
static struct mapped_inode *inode_lookup(struct udaxfs_node *node, uint64_t ino)
{
	struct mapped_inode *mi;

	for (mi = inodes; mi && (mi->node != node || mi->ino != ino); mi = mi->next)
		;
	return mi;
}

/* The fault file of @f's inode; its index emptied if nothing maps it. */
static int inode_file(struct udax_file *f, const struct dax_fault_file **out)
{
	uint64_t ino = udaxfs_node_ino(f->node);
	struct mapped_inode *mi = NULL;
	int ret;

	pthread_mutex_lock(&inodes_lock);
	ret = arena_init();
	if (!ret) {
		mi = inode_lookup(f->node, ino);
		if (!mi)
			mi = inode_new(f->node, ino);
		if (!mi)
			ret = udax_err(ENOMEM, "mmap: no room for another file's index");
	}
	if (!ret) {
		if (!vm_mapping_is_mapped(mi->file.mapping)) {
			/* stores made through earlier mappings stay owed to fsync */
			mi_writeback(mi, 0, DAX_INDEX_LIMIT - 1);
			dax_delete_range(arena, mi->file.mapping, 0, DAX_INDEX_LIMIT - 1);
		}
		*out = &mi->file;
	}
	pthread_mutex_unlock(&inodes_lock);
	return ret;
}

/*
 * The record of @f's inode if it was ever mapped in this process, else NULL
 * (one load while no file ever was): layout changes, writeback and the
 * invalidation after allocating writes need nothing more for the others.
 */
static struct mapped_inode *known_inode(struct udax_file *f)
{
	struct mapped_inode *mi;

	if (!__atomic_load_n(&inodes, __ATOMIC_ACQUIRE))
		return NULL;
	pthread_mutex_lock(&inodes_lock);
	mi = inode_lookup(f->node, udaxfs_node_ino(f->node));
	pthread_mutex_unlock(&inodes_lock);
	return mi;
}

static struct mapped_inode *mapped_inode(struct udax_file *f)
{
	struct mapped_inode *mi = known_inode(f);

	return mi && vm_mapping_is_mapped(mi->file.mapping) ? mi : NULL;
}

/*
 * fsync and fdatasync: the dirty entries of the file's index, whether or not
 * a mapping still shows them (stores made before munmap are owed too).
 */
void api_writeback(struct udax_file *f)
{
	struct mapped_inode *mi = known_inode(f);

	if (mi)
		mi_writeback(mi, 0, DAX_INDEX_LIMIT - 1);
}

/*
 * Any inode ever mapped here may still have pinned pages, mapped or not
 * (a pin outlives munmap): the protocol runs for it even with no mapping.
 */
static int break_layout(struct udax_file *f, uint64_t first, uint64_t last, int timeout_ms,
			const _Atomic uint32_t *cancel, struct api_layout *lo)
{
	struct dax_layout_wait w = {.timeout_ms = timeout_ms,
				    .cancel = cancel,
				    .cancel_seen = cancel ? atomic_load(cancel) : 0};
	struct mapped_inode *mi = known_inode(f);
	int ret;

	lo->mi = mi;
	if (!mi)
		return 0;
	ret = dax_break_layout(&mi->file, first, last, vm_unmap_mapping_range, &w);
	if (ret) {
		lo->mi = NULL;
		return udax_err(-ret, "layout change: %s",
				ret == -ETIMEDOUT ? "pages of the range are still pinned (timed out)"
				: ret == -EINTR	  ? "the wait for pinned pages was cancelled"
						  : strerror(-ret));
	}
	return 0;
}

int api_break_layout(struct udax_file *f, uint64_t first, uint64_t last, struct api_layout *lo)
{
	return break_layout(f, first, last,
			    __atomic_load_n(&f->ufs->layout_timeout_ms, __ATOMIC_RELAXED),
			    &f->ufs->layout_cancel, lo);
}

int api_break_layout_wait(struct udax_file *f, uint64_t first, uint64_t last, int timeout_ms,
			  struct api_layout *lo)
{
	return break_layout(f, first, last, timeout_ms, NULL, lo);
}

void api_layout_end(struct api_layout *lo)
{
	if (lo->mi)
		dax_invalidate_unlock(lo->mi->file.mapping);
}

bool api_is_mapped(struct udax_file *f)
{
	return mapped_inode(f) != NULL;
}

bool api_was_mapped(struct udax_file *f)
{
	return known_inode(f) != NULL;
}

void api_blocks_allocated(struct udax_file *f, uint64_t first, uint64_t last)
{
	struct mapped_inode *mi = mapped_inode(f);

	if (mi)
		vm_invalidate_range(&mi->file, first, last - first + 1);
}

static int check_access(const struct udax_file *f, int prot, int flags)
{
	int acc = f->flags & O_ACCMODE;

	if (f->is_dir)
		return udax_err(EACCES, "mmap: a directory");
	if (acc == O_WRONLY)
		return udax_err(EACCES, "mmap: file not open for reading");
	if ((prot & PROT_WRITE) && (flags & MAP_TYPE) != MAP_PRIVATE && acc != O_RDWR)
		return udax_err(EACCES,
				"mmap: shared writable mapping of a file not open read-write");
	return 0;
}

int udax_mmap(struct udax_file *f, void *addr, size_t len, int prot, int flags, off_t off,
	      void **out)
{
	const struct dax_fault_file *file;
	int ret;

	if (!f || !out)
		return udax_err(EFAULT, "mmap: NULL argument");
	if (off < 0)
		return udax_err(EINVAL, "mmap: negative offset");
	ret = check_access(f, prot, flags);
	if (!ret)
		ret = inode_file(f, &file);
	return ret ? ret : vm_mmap(file, addr, len, prot, flags, (uint64_t)off, out);
}

int udax_munmap(void *addr, size_t len)
{
	return vm_munmap(addr, len);
}

int udax_mprotect(void *addr, size_t len, int prot)
{
	return vm_mprotect(addr, len, prot);
}

int udax_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr, void **out)
{
	if (!out)
		return udax_err(EFAULT, "mremap: NULL argument");
	return vm_mremap(old, old_len, new_len, flags, new_addr, out);
}

int udax_fault_stats(const void *addr, struct udax_fault_stats *st)
{
	struct vm_fault_stats vs;
	int ret;

	if (!st)
		return udax_err(EFAULT, "fault stats: NULL argument");
	ret = vm_fault_stats(addr, &vs);
	if (ret)
		return ret;
	for (int o = 0; o < VM_NR_ORDERS; o++) {
		st->faults[o] = vs.faults[o];
		st->mapped[o] = vs.events[o][VM_FAULT_MAPPED];
		st->fallback[o] = vs.events[o][VM_FAULT_FALLBACK];
		st->zero[o] = vs.events[o][VM_FAULT_ZERO];
		st->alloc[o] = vs.events[o][VM_FAULT_ALLOC];
		st->cow[o] = vs.events[o][VM_FAULT_COW];
		st->sigbus[o] = vs.events[o][VM_FAULT_SIGBUS];
	}
	st->around_pages = vs.around_pages;
	st->segv = vs.segv;
	return 0;
}

int udax_pmd_coverage(const void *addr, size_t len, struct udax_pmd_coverage *cov)
{
	struct vm_pmd_coverage vc;
	int ret;

	if (!cov)
		return udax_err(EFAULT, "pmd coverage: NULL argument");
	ret = vm_pmd_coverage(addr, len, &vc);
	if (!ret) {
		cov->mapped = vc.mapped;
		cov->pmd_mapped = vc.pmd_mapped;
	}
	return ret;
}

int udax_msync(void *addr, size_t len, int flags)
{
	return vm_msync(addr, len, flags);
}

void udax_persist(const void *addr, size_t len)
{
	vm_persist(addr, len);
}

int udax_pin(const void *addr, size_t len, int flags, struct udax_pin **pin)
{
	if (!pin)
		return udax_err(EFAULT, "pin: NULL argument");
	if (flags & ~UDAX_PIN_WRITE)
		return udax_err(EINVAL, "pin: unknown flags 0x%x", flags);
	return vm_pin(addr, len, flags & UDAX_PIN_WRITE, (struct vm_pin **)pin);
}

void udax_unpin(struct udax_pin *pin)
{
	vm_unpin((struct vm_pin *)pin);
}

uint64_t udax_pin_pages(const struct udax_pin *pin)
{
	return pin ? vm_pin_pages((const struct vm_pin *)pin) : 0;
}

int64_t udax_pin_media_offset(const struct udax_pin *pin, uint64_t i)
{
	uint64_t pfn = pin ? vm_pin_pfn((const struct vm_pin *)pin, i) : UINT64_MAX;

	if (pfn == UINT64_MAX)
		return udax_err(EINVAL, "pin: no page %llu", (unsigned long long)i);
	return (int64_t)(pfn << DAX_PAGE_SHIFT);
}
