// SPDX-License-Identifier: MIT
/*
 * Directories: an inode whose extent map holds directory blocks of fixed-size
 * entries (15 per block). "." and ".." are not stored: the inode records its
 * parent. Blocks are added when every slot is used and never removed.
 */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "fs/crc32c.h"
#include "fs/fs.h"

int dir_block_check(const struct udaxfs *fs, uint64_t owner, const struct udaxfs_dirblock *b)
{
	if (b->magic != UDAXFS_DIRB_MAGIC || b->owner != owner ||
	    b->crc != crc32c_skip(b, sizeof(*b), offsetof(struct udaxfs_dirblock, crc)))
		return udax_err(EUCLEAN, "directory %llu: corrupt directory block",
				(unsigned long long)owner);
	for (unsigned i = 0; i < UDAXFS_DIRB_ENTRIES; i++) {
		const struct udaxfs_dirent *d = &b->ent[i];

		if (!d->ino)
			continue;
		if (!inode_valid_ino(fs, d->ino) || !d->name_len || d->name_len > UDAXFS_NAME_MAX ||
		    memchr(d->name, '/', d->name_len) || memchr(d->name, 0, d->name_len) ||
		    (d->type != DT_REG && d->type != DT_DIR))
			return udax_err(EUCLEAN, "directory %llu: corrupt entry %u",
					(unsigned long long)owner, i);
	}
	return 0;
}

static void dirb_seal(struct udaxfs_dirblock *b)
{
	b->crc = crc32c_skip(b, sizeof(*b), offsetof(struct udaxfs_dirblock, crc));
}

int dir_scan(struct udaxfs *fs, uint64_t dir, slot_fn fn, void *arg)
{
	struct udaxfs_inode di;
	struct extmap m;
	int ret = inode_read(fs, dir, &di);

	if (!ret && !S_ISDIR(di.mode))
		ret = udax_err(ENOTDIR, "inode %llu is not a directory", (unsigned long long)dir);
	if (!ret)
		ret = extmap_load(fs, dir, &di, &m);
	if (ret)
		return ret;
	for (uint32_t i = 0; i < m.n && !ret; i++) {
		for (uint32_t k = 0; k < m.e[i].len && !ret; k++) {
			uint64_t blk = m.e[i].pblk + k;
			const struct udaxfs_dirblock *b = tx_read(fs, blk);

			ret = dir_block_check(fs, dir, b);
			for (unsigned j = 0; j < UDAXFS_DIRB_ENTRIES && !ret; j++)
				ret = fn(b, blk, j,
					 ((uint64_t)m.e[i].lblk + k) * UDAXFS_DIRB_ENTRIES + j,
					 arg);
		}
	}
	extmap_free(&m);
	return ret;
}

/* 0 and the entry, -ENOENT (no message: the caller names the path), or an error. */
int dir_lookup(struct udaxfs *fs, uint64_t dir, const char *name, unsigned len, uint64_t *ino,
	       struct dir_slot *slot)
{
	const struct udaxfs_dirblock *b;
	struct dcache_dir *d;
	struct dir_slot s;
	int ret = dcache_get(fs, dir, &d);

	if (!ret)
		ret = dcache_lookup(fs, d, name, len, &s);
	if (ret)
		return ret;
	b = tx_read(fs, s.blk);
	*ino = b->ent[s.idx].ino;
	if (slot)
		*slot = s;
	return 0;
}

static int dirb_init(struct udaxfs *fs, uint64_t dir, uint64_t blk)
{
	struct udaxfs_dirblock *b;
	int ret = tx_write(fs, blk, (void **)&b);

	if (ret)
		return ret;
	memset(b, 0, sizeof(*b));
	b->magic = UDAXFS_DIRB_MAGIC;
	b->owner = dir;
	dirb_seal(b);
	return 0;
}

/* Empties a block of @dir behind its name index, which is dropped. */
int dir_block_init(struct udaxfs *fs, uint64_t dir, uint64_t blk)
{
	dcache_forget(fs, dir);
	return dirb_init(fs, dir, blk);
}

/* Appends a fresh directory block to @dir; *slot is its first slot, the others go to @d. */
static int dir_grow(struct udaxfs *fs, uint64_t dir, struct udaxfs_inode *ddi, struct dcache_dir *d,
		    struct dir_slot *slot)
{
	struct extmap m;
	uint64_t blk, got;
	int ret;

	ret = extmap_load(fs, dir, ddi, &m);
	if (ret)
		return ret;
	/* The size says where the next block goes; it must be a hole there. */
	if (ddi->size / UDAXFS_BLOCK >= UINT32_MAX ||
	    !extmap_hole_len(&m, ddi->size / UDAXFS_BLOCK, 1))
		ret = udax_err(EUCLEAN, "directory %llu: size %llu disagrees with its blocks",
			       (unsigned long long)dir, (unsigned long long)ddi->size);
	if (!ret)
		ret = alloc_small(fs, 1, &blk, &got);
	if (!ret)
		ret = extmap_insert(&m, ddi->size / UDAXFS_BLOCK, blk, 1);
	if (!ret)
		ret = extmap_store(fs, dir, ddi, &m);
	extmap_free(&m);
	if (!ret)
		ret = dirb_init(fs, dir, blk);
	for (unsigned i = UDAXFS_DIRB_ENTRIES - 1; i > 0 && !ret; i--)
		ret = dcache_add_free(fs, d, &(struct dir_slot){blk, i});
	if (ret)
		return ret;
	ddi->size += UDAXFS_BLOCK;
	slot->blk = blk;
	slot->idx = 0;
	return 0;
}

int dir_set(struct udaxfs *fs, const struct dir_slot *slot, uint64_t ino, uint8_t type)
{
	struct udaxfs_dirblock *b;
	int ret = tx_write(fs, slot->blk, (void **)&b);

	if (ret)
		return ret;
	b->ent[slot->idx].ino = ino;
	b->ent[slot->idx].type = type;
	dirb_seal(b);
	return 0;
}

/* Adds an entry to @dir and writes @ddi (the caller's copy of @dir's inode). */
int dir_add(struct udaxfs *fs, uint64_t dir, struct udaxfs_inode *ddi, const char *name,
	    unsigned len, uint64_t ino, uint8_t type)
{
	struct udaxfs_dirblock *b;
	struct dcache_dir *d;
	struct dir_slot slot;
	int ret = dcache_get(fs, dir, &d);

	if (!ret && !dcache_take_free(fs, d, &slot))
		ret = dir_grow(fs, dir, ddi, d, &slot);
	if (!ret)
		ret = tx_write(fs, slot.blk, (void **)&b);
	if (ret)
		return ret;
	memset(&b->ent[slot.idx], 0, sizeof(b->ent[0]));
	b->ent[slot.idx].name_len = (uint16_t)len;
	memcpy(b->ent[slot.idx].name, name, len);
	ret = dir_set(fs, &slot, ino, type);
	if (!ret)
		ret = dcache_insert(fs, d, &slot, name, len);
	inode_touch(ddi, true);
	return ret ? ret : inode_write_lazy(fs, dir, ddi);
}

int dir_remove(struct udaxfs *fs, const struct dir_slot *slot)
{
	struct udaxfs_dirblock *b;
	struct dcache_dir *d;
	int ret = tx_write(fs, slot->blk, (void **)&b);

	d = ret ? NULL : dcache_find(fs, b->owner);
	if (d)
		ret = dcache_remove(fs, d, slot, b->ent[slot->idx].name,
				    b->ent[slot->idx].name_len);
	if (ret)
		return ret;
	memset(&b->ent[slot->idx], 0, sizeof(b->ent[0]));
	dirb_seal(b);
	return 0;
}

static int used_fn(const struct udaxfs_dirblock *b, uint64_t blk, unsigned idx, uint64_t pos,
		   void *arg)
{
	(void)blk;
	(void)pos;
	(void)arg;
	return b->ent[idx].ino != 0;
}

int dir_is_empty(struct udaxfs *fs, uint64_t dir)
{
	int ret = dir_scan(fs, dir, used_fn, NULL);

	return ret < 0 ? ret : !ret;
}

struct entry_arg {
	uint64_t from, pos;
	struct udaxfs_dirent *out;
};

static int entry_fn(const struct udaxfs_dirblock *b, uint64_t blk, unsigned idx, uint64_t pos,
		    void *arg)
{
	struct entry_arg *a = arg;

	(void)blk;
	if (pos < a->from || !b->ent[idx].ino)
		return 0;
	*a->out = b->ent[idx];
	a->pos = pos;
	return 1;
}

/* The first used entry at slot >= *pos: 1 and *pos past it, 0 at the end. */
int dir_entry_at(struct udaxfs *fs, uint64_t dir, uint64_t *pos, struct udaxfs_dirent *out)
{
	struct entry_arg a = {.from = *pos, .out = out};
	int ret = dir_scan(fs, dir, entry_fn, &a);

	if (ret == 1)
		*pos = a.pos + 1;
	return ret;
}
