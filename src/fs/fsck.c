// SPDX-License-Identifier: MIT
/*
 * fsck: checks every invariant of an unmounted pool and, with repair, fixes
 * what it can. The pass order matters: inodes and their blocks first (so the
 * directory pass knows which inodes are sound), then directory entries, then
 * reachability from the root, then parents and link counts, then the bitmap
 * against the blocks actually referenced. A committed journal transaction is replayed
 * first, as a mount would: it is recovery, not a problem.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "fs/fs.h"
#include "fs/udaxfs.h"

enum ino_state { INO_FREE, INO_SOUND, INO_BAD };

struct fsck {
	struct udaxfs *fs;
	bool repair;
	int problems;
	char *text;
	size_t len;
	uint32_t *owner;    /* per block: owning inode, 0 = none */
	uint8_t *state;	    /* per inode: enum ino_state */
	uint32_t *links;    /* per inode: names found */
	uint32_t *subdirs;  /* per directory: child directories found */
	uint64_t *found_in; /* per inode: the (first) directory naming it */
	uint8_t *reached;   /* per inode: reachable from the root */
};

/* Reports one problem; @fixable: repair mode fixes it (the line says so). */
__attribute__((format(printf, 3, 4))) static void problem(struct fsck *c, bool fixable,
							  const char *fmt, ...)
{
	char line[400];
	va_list ap;
	int n;
	char *t;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->problems++;
	if (n < 0)
		return;
	fixable = fixable && c->repair;
	t = realloc(c->text, c->len + (size_t)n + 2 + (fixable ? 11 : 0));
	if (!t)
		return;
	c->text = t;
	c->len += (size_t)sprintf(t + c->len, "%s%s\n", line, fixable ? " (repaired)" : "");
}

/* Runs one repair as its own transaction (a repair may be interrupted safely). */
static void repair_commit(struct fsck *c, int ret)
{
	if (tx_end(c->fs, ret))
		problem(c, false, "repair failed: %s", udax_errormsg());
	tx_begin(c->fs);
}

static int clear_inode(struct udaxfs *fs, uint64_t ino)
{
	uint8_t *b;
	int ret = tx_write(fs, fs->sb.itable_start + ino / UDAXFS_INODES_PER_BLOCK, (void **)&b);

	if (!ret)
		memset(b + ino % UDAXFS_INODES_PER_BLOCK * sizeof(struct udaxfs_inode), 0,
		       sizeof(struct udaxfs_inode));
	return ret;
}

/* Records @blk as @ino's; a block claimed twice is reported once per claim. */
static void claim(struct fsck *c, uint64_t ino, uint64_t blk, uint64_t len)
{
	for (uint64_t b = blk; b < blk + len; b++) {
		if (c->owner[b])
			problem(c, false, "block %llu is used by inode %u and inode %llu",
				(unsigned long long)b, c->owner[b], (unsigned long long)ino);
		else
			c->owner[b] = (uint32_t)ino;
	}
}

/* Pass 1: every inode sound, its extents inside the device and not shared. */
static void check_inode(struct fsck *c, uint64_t ino)
{
	struct udaxfs *fs = c->fs;
	const uint8_t *b = tx_read(fs, fs->sb.itable_start + ino / UDAXFS_INODES_PER_BLOCK);
	uint64_t chain[UDAXFS_EXT_CHAIN_MAX];
	struct udaxfs_inode di;
	struct extmap m;
	int n;

	memcpy(&di, b + ino % UDAXFS_INODES_PER_BLOCK * sizeof(di), sizeof(di));
	if (!di.mode)
		return;
	if (inode_check(fs, ino, &di) || extmap_load(fs, ino, &di, &m)) {
		c->state[ino] = INO_BAD;
		problem(c, true, "%s; repair clears the inode", udax_errormsg());
		if (c->repair) {
			repair_commit(c, clear_inode(fs, ino));
			c->state[ino] = INO_FREE;
		}
		return;
	}
	c->state[ino] = INO_SOUND;
	n = extmap_chain_blocks(fs, ino, &di, chain, UDAXFS_EXT_CHAIN_MAX);
	for (int i = 0; i < n; i++)
		claim(c, ino, chain[i], 1);
	for (uint32_t i = 0; i < m.n; i++)
		claim(c, ino, m.e[i].pblk, m.e[i].len);
	extmap_free(&m);
}

/* One entry of directory @dir: it must name a sound inode of its type. */
static void check_entry(struct fsck *c, uint64_t dir, uint64_t blk, unsigned idx,
			const struct udaxfs_dirent *d)
{
	struct udaxfs_inode di;
	const char *bad = NULL;

	if (c->state[d->ino] != INO_SOUND)
		bad = "names a free or corrupt inode";
	else if (inode_read(c->fs, d->ino, &di) || (d->type == DT_DIR) != S_ISDIR(di.mode))
		bad = "has the wrong file type";
	else if (S_ISDIR(di.mode) && c->found_in[d->ino])
		bad = "is a second name of a directory";
	if (bad) {
		problem(c, true, "directory %llu: entry '%.*s' (inode %llu) %s",
			(unsigned long long)dir, (int)d->name_len, d->name,
			(unsigned long long)d->ino, bad);
		if (c->repair)
			repair_commit(c, dir_remove(c->fs, &(struct dir_slot){blk, idx}));
		return;
	}
	c->links[d->ino]++;
	if (!c->found_in[d->ino])
		c->found_in[d->ino] = dir;
	if (S_ISDIR(di.mode))
		c->subdirs[dir]++;
}

/* Pass 2: the entries of every sound directory. */
static void check_dir(struct fsck *c, uint64_t dir)
{
	struct udaxfs_inode di;
	struct extmap m;

	if (inode_read(c->fs, dir, &di) || !S_ISDIR(di.mode) || extmap_load(c->fs, dir, &di, &m))
		return;
	for (uint32_t i = 0; i < m.n; i++) {
		for (uint32_t k = 0; k < m.e[i].len; k++) {
			uint64_t blk = m.e[i].pblk + k;
			struct udaxfs_dirblock b;

			memcpy(&b, tx_read(c->fs, blk), sizeof(b));
			if (dir_block_check(c->fs, dir, &b)) {
				problem(c, true, "%s (block %llu); repair empties it",
					udax_errormsg(), (unsigned long long)blk);
				if (c->repair)
					repair_commit(c, dir_block_init(c->fs, dir, blk));
				continue;
			}
			for (unsigned j = 0; j < UDAXFS_DIRB_ENTRIES; j++)
				if (b.ent[j].ino)
					check_entry(c, dir, blk, j, &b.ent[j]);
		}
	}
	extmap_free(&m);
}

/* Marks everything reachable from the root through found_in links. */
static void mark_reached(struct fsck *c)
{
	uint64_t n = c->fs->sb.ninodes;
	bool changed = true;

	c->reached[UDAXFS_ROOT_INO] = 1;
	while (changed) {
		changed = false;
		for (uint64_t ino = UDAXFS_ROOT_INO + 1; ino < n; ino++) {
			if (!c->reached[ino] && c->found_in[ino] && c->reached[c->found_in[ino]]) {
				c->reached[ino] = 1;
				changed = true;
			}
		}
	}
}

/* Links nameless inode @ino into the root as "#<ino>" (pass 4 fixes link counts). */
static int link_lost(struct fsck *c, uint64_t ino, bool is_dir)
{
	struct udaxfs_inode root, di;
	char name[32];
	int len = snprintf(name, sizeof(name), "#%llu", (unsigned long long)ino);
	int ret = inode_read(c->fs, UDAXFS_ROOT_INO, &root);

	if (!ret)
		ret = dir_add(c->fs, UDAXFS_ROOT_INO, &root, name, (unsigned)len, ino,
			      is_dir ? DT_DIR : DT_REG);
	if (ret || !is_dir)
		return ret;
	ret = inode_read(c->fs, ino, &di);
	if (ret)
		return ret;
	di.parent = UDAXFS_ROOT_INO;
	return inode_write(c->fs, ino, &di);
}

/*
 * Pass 3: inodes with links but no name are linked into the root; the tables
 * are updated as if repaired in either mode, so what follows (descendants of
 * a reconnected directory, link counts) is judged on the repaired tree.
 * Whatever is still unreachable then is a directory cycle.
 */
static void reconnect(struct fsck *c)
{
	struct udaxfs_inode di;
	uint64_t n = c->fs->sb.ninodes;

	for (uint64_t ino = UDAXFS_ROOT_INO + 1; ino < n; ino++) {
		if (c->state[ino] != INO_SOUND || c->reached[ino] || c->found_in[ino] ||
		    inode_read(c->fs, ino, &di) || !di.nlink)
			continue;
		problem(c, true, "inode %llu has no name; repair links it as /#%llu",
			(unsigned long long)ino, (unsigned long long)ino);
		if (c->repair)
			repair_commit(c, link_lost(c, ino, S_ISDIR(di.mode)));
		c->links[ino] = 1;
		c->found_in[ino] = UDAXFS_ROOT_INO;
		c->subdirs[UDAXFS_ROOT_INO] += S_ISDIR(di.mode);
	}
	mark_reached(c);
	for (uint64_t ino = UDAXFS_ROOT_INO + 1; ino < n; ino++)
		if (c->state[ino] == INO_SOUND && !c->reached[ino] && c->found_in[ino])
			problem(c, false,
				"inode %llu is in a directory cycle cut off from the root",
				(unsigned long long)ino);
}

/* Pass 4: parents and link counts. */
static void check_links(struct fsck *c, uint64_t ino)
{
	struct udaxfs_inode di;
	uint32_t want;
	bool dir;

	if (c->state[ino] != INO_SOUND || inode_read(c->fs, ino, &di))
		return;
	dir = S_ISDIR(di.mode);
	if (dir && ino != UDAXFS_ROOT_INO && c->found_in[ino] && di.parent != c->found_in[ino]) {
		problem(c, true, "directory %llu: parent %llu, but it is named in %llu",
			(unsigned long long)ino, (unsigned long long)di.parent,
			(unsigned long long)c->found_in[ino]);
		di.parent = c->found_in[ino];
		if (c->repair)
			repair_commit(c, inode_write(c->fs, ino, &di));
	}
	if (!di.nlink && !c->links[ino]) {
		if (inode_is_orphan(&di))
			return; /* left by a crash: the next mount frees it */
		problem(c, true,
			"inode %llu: no name and no links, not an orphan; repair makes "
			"it one (mount frees it)",
			(unsigned long long)ino);
		di.flags |= UDAXFS_INODE_ORPHAN;
		if (c->repair)
			repair_commit(c, inode_write(c->fs, ino, &di));
		return;
	}
	want = dir ? 2 + c->subdirs[ino] : c->links[ino];
	if (di.nlink != want) {
		problem(c, true, "inode %llu: link count %u, expected %u", (unsigned long long)ino,
			di.nlink, want);
		di.nlink = want;
		di.flags &= ~UDAXFS_INODE_ORPHAN;
		if (c->repair)
			repair_commit(c, inode_write(c->fs, ino, &di));
	}
}

static void report_range(struct fsck *c, uint64_t from, uint64_t to, bool leaked)
{
	problem(c, true, "blocks %llu-%llu: %s", (unsigned long long)from, (unsigned long long)to,
		leaked ? "marked in use but owned by nothing" : "in use but marked free");
}

/* Pass 5: the bitmap must mark exactly the metadata area and the claimed blocks. */
static void check_bitmap(struct fsck *c)
{
	struct udaxfs *fs = c->fs;
	uint64_t start = 0;
	int kind = 0; /* 0 ok, 1 leaked, 2 in use but free */

	for (uint64_t b = 0; b <= fs->sb.nblocks; b++) {
		int k = 0;

		if (b < fs->sb.nblocks) {
			bool want = b < fs->sb.data_start || c->owner[b];

			k = alloc_test(fs, b) == want ? 0 : want ? 2 : 1;
		}
		if (k == kind)
			continue;
		if (kind)
			report_range(c, start, b - 1, kind == 1);
		if (kind && c->repair)
			repair_commit(c, alloc_set(fs, start, b - start, kind == 2));
		start = b;
		kind = k;
	}
}

/*
 * In use as the bitmap pass leaves it: referenced by an inode. A bit set for
 * an unreferenced block is that pass's problem (repair clears it), not the
 * mark's, so both modes count the same problems.
 */
static bool block_in_use(struct fsck *c, uint64_t b)
{
	return c->owner[b] != 0;
}

static bool block_reads_zero(struct fsck *c, uint64_t b)
{
	const uint64_t *w = (const uint64_t *)(c->fs->base + blk_off(b));

	for (unsigned i = 0; i < UDAXFS_BLOCK / sizeof(*w); i++)
		if (w[i])
			return false;
	return true;
}

/*
 * The mark a repair sets: just past the last block that is in use or does
 * not read as zero, so the invariant holds again exactly, and never below the
 * mark as it was (a repair only raises it: lowering it could claim blocks that
 * were freed with data in them). A mark past the end becomes the end.
 */
static uint64_t repaired_mark(struct fsck *c)
{
	const struct udaxfs_super *sb = &c->fs->sb;
	uint64_t b = sb->nblocks, floor = sb->zero_start;

	if (floor > sb->nblocks)
		return sb->nblocks;
	if (floor < sb->data_start)
		floor = sb->data_start;
	while (b > floor && !block_in_use(c, b - 1) && block_reads_zero(c, b - 1))
		b--;
	return b;
}

/*
 * Pass 6: the zero mark within [data_start, nblocks] and no block at or above
 * it in use (referenced by an extent; the bitmap pass makes the bitmap
 * agree). That the free blocks above it read as zero is only checked by a
 * repair, which reads them to choose the new mark.
 */
static void check_zero_mark(struct fsck *c)
{
	struct udaxfs *fs = c->fs;
	uint64_t mark = fs->sb.zero_start, first = 0, last = 0, n = 0, to;
	char why[160];

	if (mark < fs->sb.data_start || mark > fs->sb.nblocks) {
		snprintf(why, sizeof(why), "outside the data area [%llu, %llu]",
			 (unsigned long long)fs->sb.data_start, (unsigned long long)fs->sb.nblocks);
	} else {
		for (uint64_t b = mark; b < fs->sb.nblocks; b++) {
			if (!block_in_use(c, b))
				continue;
			first = n++ ? first : b;
			last = b;
		}
		if (!n)
			return;
		snprintf(why, sizeof(why), "%llu blocks at or above it are in use (%llu-%llu)",
			 (unsigned long long)n, (unsigned long long)first,
			 (unsigned long long)last);
	}
	if (!c->repair) {
		problem(c, true, "zero mark %llu: %s; repair raises it", (unsigned long long)mark,
			why);
		return;
	}
	to = repaired_mark(c);
	problem(c, true, "zero mark %llu: %s; raised to %llu", (unsigned long long)mark, why,
		(unsigned long long)to);
	fs->sb.zero_start = to;
	super_write(fs);
}

static int fsck_alloc(struct fsck *c)
{
	uint64_t nb = c->fs->sb.nblocks, ni = c->fs->sb.ninodes;

	c->owner = calloc(nb, sizeof(*c->owner));
	c->state = calloc(ni, 1);
	c->links = calloc(ni, sizeof(*c->links));
	c->subdirs = calloc(ni, sizeof(*c->subdirs));
	c->found_in = calloc(ni, sizeof(*c->found_in));
	c->reached = calloc(ni, 1);
	if (!c->owner || !c->state || !c->links || !c->subdirs || !c->found_in || !c->reached)
		return udax_err(ENOMEM, "fsck tables");
	return 0;
}

static void fsck_free(struct fsck *c)
{
	free(c->owner);
	free(c->state);
	free(c->links);
	free(c->subdirs);
	free(c->found_in);
	free(c->reached);
}

static void check_journal(struct fsck *c)
{
	char why[160];
	bool replayed;

	if (!journal_check(c->fs, why, sizeof(why))) {
		journal_recover(c->fs, &replayed);
		return;
	}
	problem(c, true, "%s; repair resets the journal", why);
	if (c->repair)
		journal_init(c->fs);
}

/* The raw region is not the file system's: it only has to fit after it in the media. */
static void check_raw_region(struct fsck *c)
{
	const struct udaxfs_super *sb = &c->fs->sb;
	uint64_t media = c->fs->size;

	if (!udaxfs_raw_fits(sb, media))
		problem(c, false, "raw region [%llu, +%llu) ends past the %llu bytes of media",
			(unsigned long long)udaxfs_raw_start(sb),
			(unsigned long long)udaxfs_raw_len(sb), (unsigned long long)media);
}

static void fsck_run(struct fsck *c)
{
	check_raw_region(c);
	uint64_t ni = c->fs->sb.ninodes;

	tx_begin(c->fs);
	for (uint64_t ino = UDAXFS_ROOT_INO; ino < ni; ino++)
		check_inode(c, ino);
	if (c->state[UDAXFS_ROOT_INO] != INO_SOUND) {
		problem(c, false, "the root directory is lost");
		return;
	}
	for (uint64_t ino = UDAXFS_ROOT_INO; ino < ni; ino++)
		if (c->state[ino] == INO_SOUND)
			check_dir(c, ino);
	mark_reached(c);
	reconnect(c);
	for (uint64_t ino = UDAXFS_ROOT_INO; ino < ni; ino++)
		check_links(c, ino);
	check_bitmap(c);
	check_zero_mark(c);
	tx_abort(c->fs);
}

int udaxfs_fsck(const char *path, unsigned flags, char **report)
{
	struct fsck c = {.repair = flags & UDAX_FSCK_REPAIR};
	char note[200];
	int ret;

	if (report)
		*report = NULL;
	ret = udaxfs_attach(path, true, &c.fs);
	if (ret)
		return ret;
	ret = fsck_alloc(&c);
	if (!ret) {
		/* first: replaying the last log repairs a primary torn while it was copied home */
		check_journal(&c);
		if (super_read(c.fs, note, sizeof(note)) == 0 && note[0]) {
			problem(&c, true, "%s", note);
			if (c.repair)
				super_write(c.fs);
		}
		fsck_run(&c);
		ret = c.problems;
	}
	fsck_free(&c);
	udaxfs_detach(c.fs);
	if (report && ret >= 0)
		*report = c.text ? c.text : strdup("");
	else
		free(c.text);
	return ret;
}
