// SPDX-License-Identifier: MIT
/*
 * The name index: per directory, a hash table from names to directory slots
 * and a stack of free slots, built by one validating scan of the directory at
 * its first lookup and kept for the mount, so lookups and inserts stop
 * scanning every directory block.
 *
 * The index holds no names and no inode numbers, only slots: a lookup compares
 * the name in the slot through tx_read, so it always sees the open
 * transaction. It changes together with the directory blocks (dir.c), under
 * fs->lock; an aborted transaction that changed an index drops every index
 * (they are rebuilt on demand), and freeing a directory inode drops its own.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "fs/fs.h"

struct dcache_ent {
	uint64_t blk; /* 0: empty (block 0 is never a directory block) */
	uint32_t idx;
	uint32_t hash;
};

struct dcache_dir {
	uint64_t ino;
	struct dcache_ent *tab;
	uint32_t cap, used; /* cap is a power of two, used <= cap / 2 */
	struct dir_slot *free;
	uint32_t nfree, free_cap;
	struct dcache_dir *next;
};

static uint32_t name_hash(const char *name, unsigned len)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (unsigned i = 0; i < len; i++)
		h = (h ^ (uint8_t)name[i]) * 16777619u;
	return h;
}

static void dir_free(struct dcache_dir *d)
{
	free(d->tab);
	free(d->free);
	free(d);
}

void dcache_drop(struct udaxfs *fs)
{
	while (fs->dcache) {
		struct dcache_dir *d = fs->dcache;

		fs->dcache = d->next;
		dir_free(d);
	}
	fs->dcache_dirty = false;
}

void dcache_forget(struct udaxfs *fs, uint64_t dir)
{
	for (struct dcache_dir **pp = &fs->dcache; *pp; pp = &(*pp)->next) {
		if ((*pp)->ino == dir) {
			struct dcache_dir *d = *pp;

			*pp = d->next;
			dir_free(d);
			return;
		}
	}
}

static void tab_put(struct dcache_ent *tab, uint32_t cap, const struct dcache_ent *e)
{
	uint32_t i = e->hash & (cap - 1);

	while (tab[i].blk)
		i = (i + 1) & (cap - 1);
	tab[i] = *e;
}

static int tab_grow(struct dcache_dir *d)
{
	uint32_t cap = d->cap ? d->cap * 2 : 64;
	struct dcache_ent *tab = calloc(cap, sizeof(*tab));

	if (!tab)
		return udax_err(ENOMEM, "name index of directory %llu", (unsigned long long)d->ino);
	for (uint32_t i = 0; i < d->cap; i++)
		if (d->tab[i].blk)
			tab_put(tab, cap, &d->tab[i]);
	free(d->tab);
	d->tab = tab;
	d->cap = cap;
	return 0;
}

static int index_add(struct dcache_dir *d, const struct dir_slot *slot, uint32_t hash)
{
	struct dcache_ent e = {.blk = slot->blk, .idx = slot->idx, .hash = hash};
	int ret = (d->used + 1) * 2 > d->cap ? tab_grow(d) : 0;

	if (ret)
		return ret;
	tab_put(d->tab, d->cap, &e);
	d->used++;
	return 0;
}

static int free_push(struct dcache_dir *d, const struct dir_slot *slot)
{
	if (d->nfree == d->free_cap) {
		uint32_t cap = d->free_cap ? d->free_cap * 2 : 16;
		struct dir_slot *f = realloc(d->free, cap * sizeof(*f));

		if (!f)
			return udax_err(ENOMEM, "free slots of directory %llu",
					(unsigned long long)d->ino);
		d->free = f;
		d->free_cap = cap;
	}
	d->free[d->nfree++] = *slot;
	return 0;
}

static int build_fn(const struct udaxfs_dirblock *b, uint64_t blk, unsigned idx, uint64_t pos,
		    void *arg)
{
	const struct udaxfs_dirent *e = &b->ent[idx];
	struct dir_slot slot = {blk, idx};
	int ret;

	(void)pos;
	if (e->ino)
		ret = index_add(arg, &slot, name_hash(e->name, e->name_len));
	else
		ret = free_push(arg, &slot);
	return ret < 0 ? ret : 0;
}

struct dcache_dir *dcache_find(struct udaxfs *fs, uint64_t dir)
{
	struct dcache_dir *d;

	for (d = fs->dcache; d && d->ino != dir; d = d->next)
		;
	return d;
}

int dcache_get(struct udaxfs *fs, uint64_t dir, struct dcache_dir **out)
{
	struct dcache_dir *d = dcache_find(fs, dir);
	int ret;

	*out = d;
	if (d)
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d)
		return udax_err(ENOMEM, "name index of directory %llu", (unsigned long long)dir);
	d->ino = dir;
	ret = dir_scan(fs, dir, build_fn, d);
	if (ret) {
		dir_free(d);
		return ret;
	}
	/* Free slots are used from the start of the directory, as a scan would. */
	for (uint32_t i = 0; i < d->nfree / 2; i++) {
		struct dir_slot t = d->free[i];

		d->free[i] = d->free[d->nfree - 1 - i];
		d->free[d->nfree - 1 - i] = t;
	}
	d->next = fs->dcache;
	fs->dcache = d;
	/* built from blocks this transaction changed: it must go if the transaction does */
	if (fs->tx.n)
		fs->dcache_dirty = true;
	*out = d;
	return 0;
}

static bool slot_has(struct udaxfs *fs, const struct dcache_ent *e, const char *name, unsigned len)
{
	const struct udaxfs_dirblock *b = tx_read(fs, e->blk);
	const struct udaxfs_dirent *d = &b->ent[e->idx];

	return d->ino && d->name_len == len && !memcmp(d->name, name, len);
}

int dcache_lookup(struct udaxfs *fs, struct dcache_dir *d, const char *name, unsigned len,
		  struct dir_slot *slot)
{
	uint32_t hash = name_hash(name, len);

	for (uint32_t i = hash & (d->cap - 1); d->cap && d->tab[i].blk;
	     i = (i + 1) & (d->cap - 1)) {
		if (d->tab[i].hash == hash && slot_has(fs, &d->tab[i], name, len)) {
			slot->blk = d->tab[i].blk;
			slot->idx = d->tab[i].idx;
			return 0;
		}
	}
	return -ENOENT;
}

int dcache_insert(struct udaxfs *fs, struct dcache_dir *d, const struct dir_slot *slot,
		  const char *name, unsigned len)
{
	fs->dcache_dirty = true;
	return index_add(d, slot, name_hash(name, len));
}

/* Backward-shift deletion keeps every probe chain unbroken. */
int dcache_remove(struct udaxfs *fs, struct dcache_dir *d, const struct dir_slot *slot,
		  const char *name, unsigned len)
{
	uint32_t mask = d->cap - 1, i = name_hash(name, len) & mask, j;

	fs->dcache_dirty = true;
	while (d->cap && d->tab[i].blk &&
	       (d->tab[i].blk != slot->blk || d->tab[i].idx != slot->idx))
		i = (i + 1) & mask;
	if (!d->cap || !d->tab[i].blk)
		return udax_err(EUCLEAN, "directory %llu: name index lost an entry",
				(unsigned long long)d->ino);
	d->tab[i].blk = 0;
	d->used--;
	for (j = (i + 1) & mask; d->tab[j].blk; j = (j + 1) & mask) {
		uint32_t home = d->tab[j].hash & mask;

		/* Move j back into the hole at i unless its home lies in (i, j]. */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			d->tab[i] = d->tab[j];
			d->tab[j].blk = 0;
			i = j;
		}
	}
	return free_push(d, slot);
}

bool dcache_take_free(struct udaxfs *fs, struct dcache_dir *d, struct dir_slot *slot)
{
	if (!d->nfree)
		return false;
	fs->dcache_dirty = true;
	*slot = d->free[--d->nfree];
	return true;
}

int dcache_add_free(struct udaxfs *fs, struct dcache_dir *d, const struct dir_slot *slot)
{
	fs->dcache_dirty = true;
	return free_push(d, slot);
}
