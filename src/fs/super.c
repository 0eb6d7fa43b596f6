// SPDX-License-Identifier: MIT
/*
 * Superblocks, mkfs, attaching to a pool (exclusive lock, mapping, journal
 * recovery) and the mounted state.
 *
 * One process mounts a pool at a time: attaching takes flock(LOCK_EX) on the
 * pool's descriptor, which fails for a second open of the same pool in this or
 * any other process. The superblock's state says MOUNTED while a mount is
 * live; finding it MOUNTED with the lock free means the last mounter died, and
 * the mount recovers (journal replay, orphan release) before going on.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "pmem/pmem.h"
#include "fs/crc32c.h"
#include "fs/fs.h"
#include "fs/udaxfs.h"

#define MIN_POOL_BLOCKS	   (4 * UDAXFS_PMD_BLOCKS) /* 8 MiB */
#define BYTES_PER_INODE	   (32u << 10)
#define DEFAULT_INODES_MAX (1u << 20) /* mount scans the table for orphans */

static uint8_t *super_ptr(struct udaxfs *fs, unsigned which)
{
	return fs->base + blk_off(which);
}

static uint32_t super_crc(const struct udaxfs_super *sb)
{
	return crc32c_skip(sb, sizeof(*sb), offsetof(struct udaxfs_super, crc));
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

static uint64_t bitmap_blocks_for(uint64_t nblocks)
{
	return div_up(div_up(nblocks, UDAXFS_PMD_BLOCKS) * UDAXFS_PMD_BLOCKS, UDAXFS_BLOCK * 8ull);
}

/* Checks one superblock against the size of the media; NULL if sound. */
static const char *super_invalid(const struct udaxfs_super *sb, uint64_t media_size)
{
	if (sb->magic != UDAXFS_SUPER_MAGIC)
		return "bad magic (not a udaxfs pool?)";
	if (sb->crc != super_crc(sb))
		return "checksum mismatch";
	if (sb->version != UDAXFS_VERSION)
		return "unsupported format version";
	if (sb->block_size != UDAXFS_BLOCK || sb->nblocks < MIN_POOL_BLOCKS ||
	    sb->nblocks > media_size / UDAXFS_BLOCK)
		return "block size or count does not fit the media";
	if (sb->journal_start != 2 || sb->journal_blocks != UDAXFS_JOURNAL_BLKS ||
	    sb->bitmap_start != sb->journal_start + sb->journal_blocks ||
	    sb->bitmap_blocks != bitmap_blocks_for(sb->nblocks) ||
	    sb->itable_start != sb->bitmap_start + sb->bitmap_blocks)
		return "bad journal or bitmap geometry";
	if (sb->ninodes < 2 || sb->ninodes > sb->nblocks * UDAXFS_INODES_PER_BLOCK ||
	    sb->itable_blocks != div_up(sb->ninodes, UDAXFS_INODES_PER_BLOCK) ||
	    sb->data_start < sb->itable_start + sb->itable_blocks ||
	    sb->data_start % UDAXFS_PMD_BLOCKS || sb->data_start >= sb->nblocks)
		return "bad inode table or data area geometry";
	if (sb->root_ino != UDAXFS_ROOT_INO)
		return "bad root inode number";
	if (sb->state != UDAXFS_STATE_CLEAN && sb->state != UDAXFS_STATE_MOUNTED)
		return "bad state";
	return NULL;
}

/* The backup may lag in state and mount count (a crash between the two writes). */
static bool same_geometry(const struct udaxfs_super *a, const struct udaxfs_super *b)
{
	struct udaxfs_super x = *a, y = *b;

	x.crc = y.crc = 0;
	x.state = y.state = 0;
	x.mount_count = y.mount_count = 0;
	/* ... and in the zero mark (a raise reaches the backup before the primary) */
	x.zero_start = y.zero_start = 0;
	return !memcmp(&x, &y, sizeof(x));
}

/*
 * Picks the sound superblock of the two at the start of @path's media of
 * @media_size bytes: the primary, else the backup (with a note saying why).
 */
static int super_choose(const char *path, uint64_t media_size, const struct udaxfs_super sb[2],
			struct udaxfs_super *out, char *note, unsigned note_len)
{
	const char *why[2];

	note[0] = 0;
	for (unsigned i = 0; i < 2; i++)
		why[i] = super_invalid(&sb[i], media_size);
	if (!why[0]) {
		*out = sb[0];
		if (why[1] || !same_geometry(&sb[0], &sb[1]))
			snprintf(note, note_len, "backup superblock differs from the primary");
		return 0;
	}
	if (!why[1]) {
		*out = sb[1];
		snprintf(note, note_len, "primary superblock: %s; using the backup", why[0]);
		return 0;
	}
	return udax_err(EUCLEAN, "%s: superblock: %s; backup: %s", path, why[0], why[1]);
}

int super_read(struct udaxfs *fs, char *note, unsigned note_len)
{
	struct udaxfs_super sb[2];

	for (unsigned i = 0; i < 2; i++)
		memcpy(&sb[i], super_ptr(fs, i), sizeof(sb[i]));
	return super_choose(pmem_path(fs->pm), fs->size, sb, &fs->sb, note, note_len);
}

/* Writes the primary, then the backup: one of them is always whole. */
int super_write(struct udaxfs *fs)
{
	journal_settle(fs); /* the last log may hold older lines of the primary */
	fs->sb.crc = super_crc(&fs->sb);
	for (unsigned i = 0; i < 2; i++)
		pmem_memcpy_persist(fs->pm, super_ptr(fs, i), &fs->sb, sizeof(fs->sb));
	return 0;
}

/* The superblock as it would be with @zero_start, sealed, into @out (a block). */
void super_image(const struct udaxfs *fs, uint64_t zero_start, void *out)
{
	struct udaxfs_super sb = fs->sb;

	sb.zero_start = zero_start;
	sb.crc = super_crc(&sb);
	memcpy(out, &sb, sizeof(sb));
}

void super_store_backup_nodrain(struct udaxfs *fs, uint64_t zero_start)
{
	struct udaxfs_super sb;

	super_image(fs, zero_start, &sb);
	pmem_memcpy_nodrain(fs->pm, super_ptr(fs, 1), &sb, sizeof(sb));
}

int super_check_zero_mark(struct udaxfs *fs)
{
	const struct udaxfs_super *sb = &fs->sb;
	uint64_t used_end;

	if (sb->zero_start < sb->data_start || sb->zero_start > sb->nblocks)
		return udax_err(
			EUCLEAN,
			"%s: superblock: zero mark %llu outside the data area [%llu, %llu]; "
			"fsck --repair raises it",
			pmem_path(fs->pm), (unsigned long long)sb->zero_start,
			(unsigned long long)sb->data_start, (unsigned long long)sb->nblocks);
	tx_begin(fs);
	used_end = alloc_used_end(fs);
	if (used_end > sb->zero_start)
		return udax_err(EUCLEAN,
				"%s: block %llu is in use above the zero mark %llu; fsck --repair "
				"raises it",
				pmem_path(fs->pm), (unsigned long long)used_end - 1,
				(unsigned long long)sb->zero_start);
	return 0;
}

static int lock_pool(struct pmem *pm)
{
	if (flock(pmem_fd(pm), LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK)
		return udax_err(EBUSY, "%s: pool is already mounted (or being checked)",
				pmem_path(pm));
	return udax_err(errno, "%s: flock: %s", pmem_path(pm), strerror(errno));
}

static int check_pool_size(const char *path, uint64_t bytes)
{
	if (bytes >= MIN_POOL_BLOCKS * (uint64_t)UDAXFS_BLOCK)
		return 0;
	return udax_err(EINVAL, "%s: %llu bytes is too small for udaxfs (minimum %u)", path,
			(unsigned long long)bytes, MIN_POOL_BLOCKS * UDAXFS_BLOCK);
}

/* Opens, locks and maps a pool; the caller reads the superblock. */
static int pool_open(const char *path, int flags, uint64_t create_size, struct udaxfs **out)
{
	struct udaxfs *fs = calloc(1, sizeof(*fs));
	void *addr;
	int ret;

	if (!fs)
		return udax_err(ENOMEM, "%s: mount state", path);
	ret = pmem_open(path, flags, create_size, &fs->pm);
	if (ret)
		goto free;
	ret = lock_pool(fs->pm);
	if (ret)
		goto close;
	fs->size = pmem_get_info(fs->pm)->size & ~(uint64_t)(PMEM_PAGE_SIZE - 1);
	ret = check_pool_size(path, fs->size);
	if (ret)
		goto close;
	ret = pmem_map(fs->pm, 0, fs->size, PROT_READ | PROT_WRITE, &addr);
	if (ret)
		goto close;
	fs->base = addr;
	pthread_mutex_init(&fs->lock, NULL);
	*out = fs;
	return 0;
close:
	pmem_close(fs->pm);
free:
	free(fs);
	return ret;
}

void udaxfs_detach(struct udaxfs *fs)
{
	prezero_stop(fs);
	dcache_drop(fs);
	journal_fini(fs);
	pmem_unmap(fs->base, fs->size);
	pmem_close(fs->pm);
	pthread_mutex_destroy(&fs->lock);
	free(fs);
}

int udaxfs_attach(const char *path, bool for_fsck, struct udaxfs **out)
{
	struct udaxfs *fs;
	char note[200];
	bool replayed;
	int ret;

	ret = pool_open(path, 0, 0, &fs);
	if (ret)
		return ret;
	ret = super_read(fs, note, sizeof(note));
	if (!ret && !for_fsck)
		ret = journal_recover(fs, &replayed);
	if (ret) {
		udaxfs_detach(fs);
		return ret;
	}
	*out = fs;
	return 0;
}

static void mkfs_layout(struct udaxfs_super *sb, uint64_t nblocks, uint64_t ninodes)
{
	memset(sb, 0, sizeof(*sb));
	sb->magic = UDAXFS_SUPER_MAGIC;
	sb->version = UDAXFS_VERSION;
	sb->block_size = UDAXFS_BLOCK;
	sb->nblocks = nblocks;
	sb->journal_start = 2;
	sb->journal_blocks = UDAXFS_JOURNAL_BLKS;
	sb->bitmap_start = sb->journal_start + sb->journal_blocks;
	sb->bitmap_blocks = bitmap_blocks_for(nblocks);
	sb->itable_start = sb->bitmap_start + sb->bitmap_blocks;
	sb->itable_blocks = div_up(ninodes, UDAXFS_INODES_PER_BLOCK);
	sb->ninodes = sb->itable_blocks * UDAXFS_INODES_PER_BLOCK;
	sb->data_start =
		div_up(sb->itable_start + sb->itable_blocks, UDAXFS_PMD_BLOCKS) * UDAXFS_PMD_BLOCKS;
	sb->root_ino = UDAXFS_ROOT_INO;
	sb->state = UDAXFS_STATE_CLEAN;
	sb->zero_start = nblocks; /* nothing known to be zero until mkfs_zero_data says so */
	/* The uuid only tells pools apart: zeros if no randomness is available. */
	if (getrandom(sb->uuid, sizeof(sb->uuid), 0) != (ssize_t)sizeof(sb->uuid))
		memset(sb->uuid, 0, sizeof(sb->uuid));
}

/* Metadata area, root directory and bitmap: everything but the superblocks. */
static int mkfs_write_metadata(struct udaxfs *fs)
{
	struct udaxfs_inode root;

	pmem_memset_persist(fs->pm, fs->base, 0, blk_off(fs->sb.data_start));
	journal_init(fs);
	/* The metadata area is marked in use directly (data_start is a multiple of 8). */
	pmem_memset_persist(fs->pm, fs->base + blk_off(fs->sb.bitmap_start), 0xff,
			    fs->sb.data_start / 8);
	tx_begin(fs);
	memset(&root, 0, sizeof(root));
	root.mode = S_IFDIR | 0755;
	root.nlink = 2;
	root.parent = UDAXFS_ROOT_INO;
	root.uid = (uint32_t)geteuid();
	root.gid = (uint32_t)getegid();
	root.atime_ns = root.mtime_ns = root.ctime_ns = udaxfs_now_ns();
	return tx_end(fs, inode_write(fs, UDAXFS_ROOT_INO, &root));
}

/*
 * The bytes of a @pool-byte pool left to the file system by a raw region of
 * @raw bytes at its end: the region starts at the largest multiple of its
 * alignment (udaxfs_raw_align) that leaves it room.
 */
static int plan_raw(const char *path, uint64_t pool, uint64_t raw, uint64_t *fs_bytes)
{
	uint64_t a = udaxfs_raw_align(raw), start;

	*fs_bytes = pool;
	if (!raw)
		return 0;
	if (raw % UDAXFS_RAW_UNIT)
		return udax_err(EINVAL, "%s: raw region size %llu is not a multiple of 2 MiB", path,
				(unsigned long long)raw);
	if (raw / UDAXFS_RAW_UNIT > UINT32_MAX)
		return udax_err(EINVAL, "%s: raw region size %llu is more than udaxfs can record",
				path, (unsigned long long)raw);
	start = raw < pool ? (pool - raw) / a * a : 0;
	if (start < MIN_POOL_BLOCKS * (uint64_t)UDAXFS_BLOCK)
		return udax_err(EINVAL,
				"%s: a raw region of %llu bytes (%llu-aligned) leaves %llu of the "
				"pool's %llu bytes to the file system (minimum %u)",
				path, (unsigned long long)raw, (unsigned long long)a,
				(unsigned long long)start, (unsigned long long)pool,
				MIN_POOL_BLOCKS * UDAXFS_BLOCK);
	*fs_bytes = start;
	return 0;
}

/*
 * Lays out @sb for a pool of @pool bytes with a raw region of @raw bytes;
 * refuses sizes that cannot hold the inodes and one PMD of data.
 */
static int mkfs_plan(const char *path, uint64_t pool, uint64_t ninodes, uint64_t raw,
		     struct udaxfs_super *sb)
{
	uint64_t fs_bytes, nblocks;
	int ret = check_pool_size(path, pool);

	if (!ret)
		ret = plan_raw(path, pool, raw, &fs_bytes);
	if (ret)
		return ret;
	nblocks = fs_bytes / UDAXFS_BLOCK;
	if (!ninodes) {
		ninodes = nblocks * UDAXFS_BLOCK / BYTES_PER_INODE;
		if (ninodes > DEFAULT_INODES_MAX)
			ninodes = DEFAULT_INODES_MAX;
	}
	if (ninodes < 16)
		ninodes = 16;
	if (ninodes > UINT32_MAX)
		return udax_err(EINVAL, "%s: %llu inodes is more than udaxfs can hold", path,
				(unsigned long long)ninodes);
	mkfs_layout(sb, nblocks, ninodes);
	sb->raw_units = (uint32_t)(raw / UDAXFS_RAW_UNIT);
	if (sb->data_start + UDAXFS_PMD_BLOCKS > nblocks)
		return udax_err(EINVAL, "%s: %llu bytes cannot hold %llu inodes and 2 MiB of data",
				path, (unsigned long long)nblocks * UDAXFS_BLOCK,
				(unsigned long long)ninodes);
	return 0;
}

/* Zeroes [from, to) of the media, a part of the data area no punch covers. */
static void mkfs_zero_bytes(struct udaxfs *fs, uint64_t from, uint64_t to)
{
	if (from < to)
		pmem_memset_persist(fs->pm, fs->base + from, 0, to - from);
}

/*
 * Makes the data area of a file backing read as zero: a hole punched over the
 * pages that lie wholly inside it (hugetlbfs punches whole huge pages only),
 * the ragged ends zeroed by hand. On a backing that keeps data across a power
 * loss, the range is allocated again (unwritten extents on ext4 and XFS: they
 * read as zero), so the space pmem_open reserved stays reserved and a later
 * store cannot meet a full host file system; then the change is made durable
 * before the superblock that relies on it.
 */
static int mkfs_punch_data(struct udaxfs *fs)
{
	const struct pmem_info *in = pmem_get_info(fs->pm);
	uint64_t align = in->align > UDAXFS_BLOCK ? in->align : UDAXFS_BLOCK;
	uint64_t from = blk_off(fs->sb.data_start), to = blk_off(fs->sb.nblocks);
	uint64_t a = (from + align - 1) / align * align, b = to / align * align;

	if (a < b) {
		if (fallocate(pmem_fd(fs->pm), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)a,
			      (off_t)(b - a)))
			return -errno;
		if (!in->is_volatile &&
		    (fallocate(pmem_fd(fs->pm), FALLOC_FL_KEEP_SIZE, (off_t)a, (off_t)(b - a)) ||
		     fsync(pmem_fd(fs->pm))))
			return -errno;
	} else {
		a = b = to;
	}
	mkfs_zero_bytes(fs, from, a);
	mkfs_zero_bytes(fs, b, to);
	return 0;
}

/*
 * Sets the zero mark (docs/udaxfs.md, "mkfs"): data_start once the data area
 * is known to read as zero, else nblocks (nothing known, every allocation
 * zeroes). A device-DAX device is never assumed to be zero, and zeroing all of
 * it would cost as much as the allocations it saves; on a file backing the
 * punch makes old data go away cheaply, and if the file system refuses it the
 * pool simply goes without the mark.
 */
static void mkfs_zero_mark(struct udaxfs *fs)
{
	fs->sb.zero_start = fs->sb.nblocks;
	if (pmem_get_info(fs->pm)->kind == PMEM_KIND_DEVDAX)
		return;
	if (!mkfs_punch_data(fs))
		fs->sb.zero_start = fs->sb.data_start;
}

int udaxfs_mkfs(const char *path, uint64_t size, uint64_t ninodes, uint64_t raw_size)
{
	struct udaxfs_super sb;
	struct udaxfs *fs;
	int ret;

	if (size % UDAXFS_BLOCK)
		return udax_err(EINVAL, "%s: size %llu is not a multiple of %u", path,
				(unsigned long long)size, UDAXFS_BLOCK);
	/* plan before creating anything, so a refused mkfs leaves no file behind */
	if (size) {
		ret = mkfs_plan(path, size, ninodes, raw_size, &sb);
		if (ret)
			return ret;
	}
	ret = pool_open(path, size ? PMEM_O_CREATE : 0, size, &fs);
	if (ret)
		return ret;
	/* an existing pool is checked before anything is written to it */
	ret = mkfs_plan(path, size ? size : fs->size, ninodes, raw_size, &fs->sb);
	if (!ret)
		mkfs_zero_mark(fs);
	if (!ret)
		ret = mkfs_write_metadata(fs);
	if (!ret)
		ret = super_write(fs);
	udaxfs_detach(fs);
	return ret;
}

/* Reads the superblocks of @pm (not locked: a mounted pool reads the same). */
static int raw_region_read(struct pmem *pm, uint64_t *off, uint64_t *len)
{
	uint64_t media = pmem_get_info(pm)->size & ~(uint64_t)(PMEM_PAGE_SIZE - 1);
	struct udaxfs_super sb[2], use = {0};
	char note[200];
	ssize_t n;
	int ret;

	if (media < 2 * UDAXFS_BLOCK)
		return udax_err(EUCLEAN, "%s: %llu bytes cannot hold a udaxfs superblock",
				pmem_path(pm), (unsigned long long)media);
	for (unsigned i = 0; i < 2; i++) {
		n = pmem_read(pm, blk_off(i), &sb[i], sizeof(sb[i]));
		if (n < 0)
			return (int)n;
	}
	ret = super_choose(pmem_path(pm), media, sb, &use, note, sizeof(note));
	if (ret)
		return ret;
	if (!use.raw_units)
		return udax_err(ENOENT, "%s: the pool has no raw region", pmem_path(pm));
	if (!udaxfs_raw_fits(&use, media))
		return udax_err(EUCLEAN,
				"%s: superblock: raw region [%llu, +%llu) ends past the %llu bytes "
				"of media",
				pmem_path(pm), (unsigned long long)udaxfs_raw_start(&use),
				(unsigned long long)udaxfs_raw_len(&use),
				(unsigned long long)media);
	*off = udaxfs_raw_start(&use);
	*len = udaxfs_raw_len(&use);
	return 0;
}

int udaxfs_raw_region(const char *path, uint64_t *off, uint64_t *len)
{
	struct pmem *pm;
	int ret = pmem_open(path, PMEM_O_RDONLY, 0, &pm);

	if (ret)
		return ret;
	ret = raw_region_read(pm, off, len);
	pmem_close(pm);
	return ret;
}

int udaxfs_mount(const char *path, struct udaxfs **out)
{
	struct udaxfs *fs;
	unsigned orphans;
	int ret;

	ret = udaxfs_attach(path, false, &fs);
	if (ret)
		return ret;
	ret = super_check_zero_mark(fs);
	if (ret) {
		udaxfs_detach(fs);
		return ret;
	}
	ret = orphans_release(fs, &orphans);
	if (ret) {
		udaxfs_detach(fs);
		return udax_err_prefix(-ret, "%s: mount", path);
	}
	fs->sb.state = UDAXFS_STATE_MOUNTED;
	fs->sb.mount_count++;
	super_write(fs);
	*out = fs;
	return 0;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/*
 * Populates the pool, and on a tmpfs of 4 KiB pages also moves it into 2 MiB
 * pages (pmem_collapse), so the read/write path's copies take no TLB miss per
 * random block. The move is best effort: a kernel without it, or short of
 * free huge pages, keeps the 4 KiB pages, which only costs speed.
 */
int udaxfs_populate(struct udaxfs *fs)
{
	if (madvise(fs->base, blk_off(fs->sb.nblocks), MADV_POPULATE_WRITE))
		return udax_err(errno, "%s: populate: %s", pmem_path(fs->pm), strerror(errno));
	fs->populated = true;
	pmem_collapse(fs->pm, fs->base,
		      blk_off(fs->sb.nblocks & ~(uint64_t)(UDAXFS_PMD_BLOCKS - 1)));
	return 0;
}

int udaxfs_unmount(struct udaxfs *fs)
{
	if (fs->nodes)
		return udax_err(EBUSY, "%s: files are still open", pmem_path(fs->pm));
	fs->sb.state = UDAXFS_STATE_CLEAN;
	super_write(fs);
	udaxfs_detach(fs);
	return 0;
}

static uint64_t free_inodes(struct udaxfs *fs)
{
	uint64_t n = 0;

	for (uint64_t ino = UDAXFS_ROOT_INO; ino < fs->sb.ninodes; ino++) {
		const uint8_t *b = tx_read(fs, fs->sb.itable_start + ino / UDAXFS_INODES_PER_BLOCK);

		n += ((const struct udaxfs_inode *)b)[ino % UDAXFS_INODES_PER_BLOCK].mode == 0;
	}
	return n;
}

static int statfs_locked(struct udaxfs *fs, struct udax_statfs *st)
{
	memset(st, 0, sizeof(*st));
	st->block_size = UDAXFS_BLOCK;
	st->blocks = fs->sb.nblocks - fs->sb.data_start;
	st->blocks_free = alloc_count_free(fs, &st->pmd_free);
	st->pmd_prezeroed = prezero_count(fs);
	st->inodes = fs->sb.ninodes - UDAXFS_ROOT_INO;
	st->inodes_free = free_inodes(fs);
	st->name_max = UDAXFS_NAME_MAX;
	return 0;
}

int udaxfs_statfs(struct udaxfs *fs, struct udax_statfs *st)
{
	fs_enter(fs);
	return fs_leave(fs, statfs_locked(fs, st));
}
