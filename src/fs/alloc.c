// SPDX-License-Identifier: MIT
/*
 * Free-space bitmap and the 2 MiB-aware block allocator.
 *
 * The media is divided into 2 MiB groups (512 blocks, 2 MiB aligned). Huge
 * allocations take a whole free group, so a file offset mapped by it can be
 * mapped by a PMD. Small allocations fill groups that are already partly used
 * first and only open a free group when none has room, so that aging with
 * small files does not scatter blocks over every group (WineFS's lesson).
 *
 * Known-zero free space: every block at or above the zero mark (fs->zero_mark,
 * durable as sb.zero_start) is free and reads as zero, so the caller only
 * zeroes the part of a new run below the mark as it stood before the
 * allocation. The mark does not change which groups the policy picks (see
 * alloc_huge for why freed groups are not passed over for zero ones).
 *
 * The bitmap is read and changed through the transaction, like every other
 * metadata block; callers hold fs->lock.
 */
#include "common/err.h"
#include "fs/fs.h"

#define BITS_PER_BLOCK (UDAXFS_BLOCK * 8ull)
#define GROUP_WORDS    (UDAXFS_PMD_BLOCKS / 64)

static uint64_t bitmap_blk(const struct udaxfs *fs, uint64_t blk)
{
	return fs->sb.bitmap_start + blk / BITS_PER_BLOCK;
}

/* The 64-bit word holding @blk's bit, as the transaction sees it. */
static const uint64_t *bitmap_word(struct udaxfs *fs, uint64_t blk)
{
	const uint64_t *b = tx_read(fs, bitmap_blk(fs, blk));

	return b + (blk % BITS_PER_BLOCK) / 64;
}

bool alloc_test(struct udaxfs *fs, uint64_t blk)
{
	return *bitmap_word(fs, blk) >> (blk % 64) & 1;
}

int alloc_set(struct udaxfs *fs, uint64_t blk, uint64_t len, bool used)
{
	uint64_t *words = NULL, cur = UINT64_MAX;
	int ret;

	if (blk < fs->sb.data_start || blk + len > fs->sb.nblocks || blk + len < blk)
		return udax_err(EUCLEAN, "blocks %llu+%llu outside the data area",
				(unsigned long long)blk, (unsigned long long)len);
	/* a 64-bit word at a time: the bits of [b, b + n) that share one word */
	for (uint64_t b = blk, n; b < blk + len; b += n) {
		uint64_t mask, wrong, *w;

		n = 64 - b % 64 < blk + len - b ? 64 - b % 64 : blk + len - b;
		mask = (n == 64 ? ~0ull : ((1ull << n) - 1)) << (b % 64);
		if (bitmap_blk(fs, b) != cur) {
			cur = bitmap_blk(fs, b);
			ret = tx_write(fs, cur, (void **)&words);
			if (ret)
				return ret;
		}
		w = &words[(b % BITS_PER_BLOCK) / 64];
		wrong = (used ? *w : ~*w) & mask;
		if (wrong)
			return udax_err(EUCLEAN, "block %llu is already %s",
					(unsigned long long)(b - b % 64 + (uint64_t)__builtin_ctzll(wrong)),
					used ? "in use" : "free");
		*w ^= mask;
	}
	/* blocks in use are below the mark; the commit makes the raise durable first */
	if (used && blk + len > fs->zero_mark)
		fs->zero_mark = blk + len;
	if (used)
		prezero_used(fs, blk, len);
	else
		prezero_freed(fs);
	return 0;
}

uint64_t alloc_ngroups(const struct udaxfs *fs)
{
	return (fs->sb.nblocks + UDAXFS_PMD_BLOCKS - 1) / UDAXFS_PMD_BLOCKS;
}

/* Free blocks in group @g (the last group may be short; its tail counts as used). */
static unsigned group_free(struct udaxfs *fs, uint64_t g)
{
	const uint64_t *w = bitmap_word(fs, g * UDAXFS_PMD_BLOCKS);
	uint64_t end = fs->sb.nblocks - g * UDAXFS_PMD_BLOCKS;
	unsigned nfree = 0;

	for (unsigned i = 0; i < GROUP_WORDS; i++) {
		uint64_t used = w[i];

		if (end < (i + 1) * 64ull)
			used |= end <= i * 64ull ? ~0ull : ~0ull << (end - i * 64);
		nfree += 64 - (unsigned)__builtin_popcountll(used);
	}
	return nfree;
}

bool alloc_group_is_free(struct udaxfs *fs, uint64_t g)
{
	return group_free(fs, g) == UDAXFS_PMD_BLOCKS;
}

/*
 * The first free group. A group the pre-zeroing thread has zeroed comes first
 * (*@zero: the caller need not zero it). Then the lowest, below or above the
 * zero mark alike, unless every page of the pool is mapped (udaxfs_populate):
 * a group freed below the mark has its backing pages in place, while one
 * above it may be a hole of the backing (mkfs punched it) that the host
 * populates page by page on first touch, which on tmpfs costs more than the
 * zeroing it saves for a file written densely (docs/udaxfs.md, "Allocator").
 * With the pages there, groups from the mark on come first: they need no
 * zeroing at all. The group being pre-zeroed is passed over unless it is the
 * only one left.
 */
int alloc_huge(struct udaxfs *fs, uint64_t *blk, bool *zero)
{
	uint64_t n = alloc_ngroups(fs), first = 0, g;

	*zero = prezero_take(fs, &g);
	if (*zero) {
		*blk = g * UDAXFS_PMD_BLOCKS;
		return alloc_set(fs, *blk, UDAXFS_PMD_BLOCKS, true);
	}
	if (fs->populated)
		first = (fs->zero_mark + UDAXFS_PMD_BLOCKS - 1) / UDAXFS_PMD_BLOCKS % n;
	do {
		for (uint64_t i = 0; i < n; i++) {
			g = (first + i) % n;
			if (alloc_group_is_free(fs, g) && !prezero_busy(fs, g)) {
				*blk = g * UDAXFS_PMD_BLOCKS;
				return alloc_set(fs, *blk, UDAXFS_PMD_BLOCKS, true);
			}
		}
	} while (prezero_steal(fs));
	return -ENOSPC;
}

/* The first block in [b, end) whose bit is @used, or end; a 64-bit word at a time. */
static uint64_t find_bit(struct udaxfs *fs, uint64_t b, uint64_t end, bool used)
{
	while (b < end) {
		uint64_t w = *bitmap_word(fs, b) >> (b % 64);

		w = (used ? w : ~w) & (b % 64 ? ~0ull >> (b % 64) : ~0ull);
		if (w) {
			b += (uint64_t)__builtin_ctzll(w);
			return b < end ? b : end;
		}
		b += 64 - b % 64;
	}
	return end;
}

/* First free run in group @g, at most @want blocks long. */
static uint64_t group_run(struct udaxfs *fs, uint64_t g, uint64_t want, uint64_t *start)
{
	uint64_t b = g * UDAXFS_PMD_BLOCKS, end = b + UDAXFS_PMD_BLOCKS, stop;

	if (end > fs->sb.nblocks)
		end = fs->sb.nblocks;
	*start = find_bit(fs, b, end, false);
	stop = find_bit(fs, *start, end, true);
	return stop - *start < want ? stop - *start : want;
}

/*
 * Small runs fill partly used groups first; a free group is opened only when
 * none has room, and one the pre-zeroing thread has not zeroed (nor is
 * zeroing) is preferred, since zeroed groups save a huge allocation its
 * zeroing.
 */
int alloc_small(struct udaxfs *fs, uint64_t want, uint64_t *blk, uint64_t *got)
{
	uint64_t n = alloc_ngroups(fs), first = fs->small_hint % n, spare, zeroed;

again:
	spare = zeroed = UINT64_MAX;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t g = (first + i) % n;
		unsigned nfree = group_free(fs, g);

		if (nfree == UDAXFS_PMD_BLOCKS && !prezero_busy(fs, g)) {
			if (!prezero_is_zero(fs, g))
				spare = spare == UINT64_MAX ? g : spare;
			else
				zeroed = zeroed == UINT64_MAX ? g : zeroed;
		}
		if (nfree == 0 || nfree == UDAXFS_PMD_BLOCKS)
			continue;
		*got = group_run(fs, g, want, blk);
		fs->small_hint = g;
		return alloc_set(fs, *blk, *got, true);
	}
	if (spare == UINT64_MAX)
		spare = zeroed;
	if (spare == UINT64_MAX && prezero_steal(fs))
		goto again;
	if (spare == UINT64_MAX)
		return udax_err(ENOSPC, "no free blocks");
	*got = group_run(fs, spare, want, blk);
	fs->small_hint = spare;
	return alloc_set(fs, *blk, *got, true);
}

uint64_t alloc_count_free(struct udaxfs *fs, uint64_t *free_pmd)
{
	uint64_t nfree = 0;

	*free_pmd = 0;
	for (uint64_t g = 0; g < alloc_ngroups(fs); g++) {
		unsigned f = group_free(fs, g);

		nfree += f;
		*free_pmd += f == UDAXFS_PMD_BLOCKS;
	}
	return nfree;
}

uint64_t alloc_used_end(struct udaxfs *fs)
{
	for (uint64_t b = fs->sb.nblocks; b > fs->sb.data_start;) {
		uint64_t w;

		b = (b - 1) & ~63ull; /* data_start is a multiple of 64 */
		w = *bitmap_word(fs, b);
		if (b + 64 > fs->sb.nblocks)
			w &= ~(~0ull << (fs->sb.nblocks - b));
		if (w)
			return b + 64 - (uint64_t)__builtin_clzll(w);
	}
	return fs->sb.data_start;
}
