// SPDX-License-Identifier: MIT
/*
 * Pool facts for udax_info: the superblock, how the media layer classified the
 * backing, and the shape of the free space (runs of free data blocks), which
 * says how much of it the allocator can still hand out as PMD-mappable 2 MiB
 * extents. Reads only; takes fs->lock like statfs.
 */
#include <stdio.h>
#include <string.h>

#include "pmem/pmem.h"
#include "fs/fs.h"
#include "fs/info.h"

#define BITS_PER_BLOCK (UDAXFS_BLOCK * 8ull)
#define SMALL_RUN      16u /* blocks: runs under 64 KiB count as fragments */

struct run_stats {
	uint64_t runs, small, longest, cur;
};

static void run_end(struct run_stats *s)
{
	if (!s->cur)
		return;
	s->runs++;
	s->small += s->cur < SMALL_RUN;
	if (s->cur > s->longest)
		s->longest = s->cur;
	s->cur = 0;
}

/* Adds the @n low bits of @used (1 = in use) to the run statistics. */
static void run_word(struct run_stats *s, uint64_t used, unsigned n)
{
	if (n == 64 && !used) {
		s->cur += 64;
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		if (used >> i & 1)
			run_end(s);
		else
			s->cur++;
	}
}

/* Walks the bitmap one 64-bit word at a time over [data_start, nblocks). */
static void scan_free_runs(struct udaxfs *fs, struct run_stats *s)
{
	uint64_t b = fs->sb.data_start; /* a multiple of 512, so of 64 */

	memset(s, 0, sizeof(*s));
	while (b < fs->sb.nblocks) {
		const uint64_t *w = tx_read(fs, fs->sb.bitmap_start + b / BITS_PER_BLOCK);
		uint64_t left = fs->sb.nblocks - b;

		run_word(s, w[(b % BITS_PER_BLOCK) / 64], left < 64 ? (unsigned)left : 64);
		b += 64;
	}
	run_end(s);
}

static void fill_super(const struct udaxfs *fs, struct udax_info *info)
{
	info->version = fs->sb.version;
	memcpy(info->uuid, fs->sb.uuid, sizeof(info->uuid));
	info->mount_count = fs->sb.mount_count;
	info->block_size = fs->sb.block_size;
	info->nblocks = fs->sb.nblocks;
	info->journal_blocks = fs->sb.journal_blocks;
	info->bitmap_blocks = fs->sb.bitmap_blocks;
	info->itable_blocks = fs->sb.itable_blocks;
	info->data_start = fs->sb.data_start;
	info->zero_start = fs->sb.zero_start;
	if (fs->sb.raw_units) {
		info->raw_offset = udaxfs_raw_start(&fs->sb);
		info->raw_size = udaxfs_raw_len(&fs->sb);
	}
}

static void fill_media(const struct udaxfs *fs, struct udax_info *info)
{
	const struct pmem_info *pi = pmem_get_info(fs->pm);

	info->media_size = pi->size;
	info->kind = pmem_kind_name(pi->kind);
	info->granularity = pmem_granularity_name(pi->granularity);
	info->persist = pmem_method_name(pi->method);
	info->flush_insn = pmem_insn_name(pi->insn);
	info->pmd_capable = pi->pmd_capable;
	info->pud_capable = pi->pud_capable;
	info->is_volatile = pi->is_volatile;
	snprintf(info->reason, sizeof(info->reason), "%s", pi->reason);
}

static int info_locked(struct udaxfs *fs, struct udax_info *info)
{
	struct run_stats s;

	memset(info, 0, sizeof(*info));
	fill_super(fs, info);
	fill_media(fs, info);
	scan_free_runs(fs, &s);
	info->free_runs = s.runs;
	info->free_runs_small = s.small;
	info->free_run_max = s.longest;
	return 0;
}

int udaxfs_info(struct udaxfs *fs, struct udax_info *info)
{
	fs_enter(fs);
	return fs_leave(fs, info_locked(fs, info));
}
