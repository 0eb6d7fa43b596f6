// SPDX-License-Identifier: MIT
/*
 * The journal: a redo log of whole metadata block images.
 *
 * An operation changes shadow copies of metadata blocks (tx_write). Commit
 * writes the changed images and their target block numbers into the journal
 * area and drains; then writes the header (state COMMITTED, count, crc of the
 * targets and images) and persists it: that persist is the commit point. The
 * images are then copied home and persisted, and the header returns to EMPTY.
 * Recovery replays a COMMITTED journal again from the start, which is
 * idempotent because the records are whole block images.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "pmem/pmem.h"
#include "fs/crc32c.h"
#include "fs/fs.h"

static uint8_t *jblock(struct udaxfs *fs, uint64_t i)
{
	return fs->base + blk_off(fs->sb.journal_start + i);
}

static bool journaled_blk(const struct udaxfs *fs, uint64_t blk)
{
	return blk >= fs->sb.journal_start + fs->sb.journal_blocks && blk < fs->sb.nblocks;
}

void tx_begin(struct udaxfs *fs)
{
	fs->tx.n = 0;
	fs->dcache_dirty = false;
}

static struct tx_block *tx_find(struct udaxfs *fs, uint64_t blk)
{
	for (unsigned i = 0; i < fs->tx.n; i++)
		if (fs->tx.blocks[i].blk == blk)
			return &fs->tx.blocks[i];
	return NULL;
}

bool tx_has(struct udaxfs *fs, uint64_t blk)
{
	return tx_find(fs, blk) != NULL;
}

const void *tx_read(struct udaxfs *fs, uint64_t blk)
{
	struct tx_block *b = tx_find(fs, blk);

	return b ? b->buf : fs->base + blk_off(blk);
}

int tx_write(struct udaxfs *fs, uint64_t blk, void **buf)
{
	struct tx_block *b = tx_find(fs, blk);

	if (!b) {
		if (!journaled_blk(fs, blk))
			return udax_err(EUCLEAN, "metadata block %llu outside the metadata area",
					(unsigned long long)blk);
		if (fs->tx.n == UDAXFS_TX_MAX)
			return udax_err(ENOSPC, "operation changes more than %u metadata blocks",
					UDAXFS_TX_MAX);
		b = &fs->tx.blocks[fs->tx.n];
		b->buf = fs->tx_nspare ? fs->tx_spare[--fs->tx_nspare] : malloc(UDAXFS_BLOCK);
		if (!b->buf)
			return udax_err(ENOMEM, "transaction buffer");
		memcpy(b->buf, fs->base + blk_off(blk), UDAXFS_BLOCK);
		b->blk = blk;
		fs->tx.n++;
	}
	*buf = b->buf;
	return 0;
}

/* Keeps a few shadow buffers for the next transactions instead of freeing them. */
static void tx_buf_put(struct udaxfs *fs, uint8_t *buf)
{
	if (fs->tx_nspare < TX_SPARE_MAX)
		fs->tx_spare[fs->tx_nspare++] = buf;
	else
		free(buf);
}

void tx_abort(struct udaxfs *fs)
{
	for (unsigned i = 0; i < fs->tx.n; i++)
		tx_buf_put(fs, fs->tx.blocks[i].buf);
	fs->tx.n = 0;
}

void journal_fini(struct udaxfs *fs)
{
	while (fs->tx_nspare)
		free(fs->tx_spare[--fs->tx_nspare]);
}

static void jheader_write(struct udaxfs *fs, uint32_t state, uint32_t n, uint32_t data_crc)
{
	struct udaxfs_jheader h = {
		.magic = UDAXFS_JRNL_MAGIC,
		.seq = fs->jseq,
		.state = state,
		.nblocks = n,
		.data_crc = data_crc,
	};

	h.crc = crc32c_skip(&h, sizeof(h), offsetof(struct udaxfs_jheader, crc));
	pmem_memcpy_persist(fs->pm, jblock(fs, 0), &h, sizeof(h));
}

/*
 * Copies the images home, then marks the journal EMPTY. The header keeps the
 * count and crc of the transaction, which helps debugging and lets tests turn
 * the last transaction back into a committed one. @images are the journal's
 * images (recovery) or the identical shadow copies they were written from
 * (commit), which are still in the cache.
 */
static void journal_apply(struct udaxfs *fs, const uint64_t *targets, const void *const *images,
			  uint32_t n, uint32_t data_crc)
{
	for (uint32_t i = 0; i < n; i++)
		pmem_memcpy_nodrain(fs->pm, fs->base + blk_off(targets[i]), images[i],
				    UDAXFS_BLOCK);
	pmem_drain(fs->pm);
	jheader_write(fs, UDAXFS_J_EMPTY, n, data_crc);
}

/* crc32c of the @n targets, then the @n images. */
static uint32_t journal_data_crc(const uint64_t *targets, const void *const *images, uint32_t n)
{
	uint32_t crc = crc32c(0, targets, n * sizeof(uint64_t));

	for (uint32_t i = 0; i < n; i++)
		crc = crc32c(crc, images[i], UDAXFS_BLOCK);
	return crc;
}

/* The images as they lie in the journal. */
static void journal_images(struct udaxfs *fs, const void **images, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		images[i] = jblock(fs, 2 + i);
}

/* Drops shadows equal to the media, so untouched blocks cost no journal space. */
static void tx_drop_unchanged(struct udaxfs *fs)
{
	unsigned k = 0;

	for (unsigned i = 0; i < fs->tx.n; i++) {
		struct tx_block *b = &fs->tx.blocks[i];

		if (!memcmp(b->buf, fs->base + blk_off(b->blk), UDAXFS_BLOCK))
			tx_buf_put(fs, b->buf);
		else
			fs->tx.blocks[k++] = *b;
	}
	fs->tx.n = k;
}

int tx_commit(struct udaxfs *fs)
{
	uint64_t targets[UDAXFS_TX_MAX];
	const void *images[UDAXFS_TX_MAX];
	uint32_t n, crc;

	tx_drop_unchanged(fs);
	n = fs->tx.n;
	if (!n)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		targets[i] = fs->tx.blocks[i].blk;
		images[i] = fs->tx.blocks[i].buf;
		pmem_memcpy_nodrain(fs->pm, jblock(fs, 2 + i), images[i], UDAXFS_BLOCK);
	}
	pmem_memcpy_nodrain(fs->pm, jblock(fs, 1), targets, n * sizeof(uint64_t));
#ifndef UDAX_BROKEN_JOURNAL_NO_FENCE /* the images must be durable before the commit record */
	pmem_drain(fs->pm);
#endif
	fs->jseq++;
	crc = journal_data_crc(targets, images, n);
	jheader_write(fs, UDAXFS_J_COMMITTED, n, crc);
	journal_apply(fs, targets, images, n, crc);
	tx_abort(fs);
	return 0;
}

static bool jheader_torn(const struct udaxfs_jheader *h)
{
	return h->crc != crc32c_skip(h, sizeof(*h), offsetof(struct udaxfs_jheader, crc));
}

/* Validates a committed journal; 0 and *n = images to replay, or -EUCLEAN. */
static int journal_validate(struct udaxfs *fs, uint32_t *n, uint32_t *crc, char *why,
			    unsigned why_len)
{
	struct udaxfs_jheader h;
	const uint64_t *targets = (const uint64_t *)jblock(fs, 1);
	const void *images[UDAXFS_TX_MAX];

	*n = 0;
	memcpy(&h, jblock(fs, 0), sizeof(h));
	if (h.magic != UDAXFS_JRNL_MAGIC) {
		snprintf(why, why_len, "journal header: bad magic 0x%08x", h.magic);
		return -EUCLEAN;
	}
	/* A torn header was never a completed commit: the crc says it is not one. */
	if (jheader_torn(&h))
		return 0;
	fs->jseq = h.seq;
	if (h.state == UDAXFS_J_EMPTY)
		return 0;
	if (h.state != UDAXFS_J_COMMITTED || h.nblocks == 0 || h.nblocks > UDAXFS_TX_MAX) {
		snprintf(why, why_len, "journal header: bad state %u or count %u", h.state,
			 h.nblocks);
		return -EUCLEAN;
	}
	journal_images(fs, images, h.nblocks);
	if (journal_data_crc(targets, images, h.nblocks) != h.data_crc) {
		snprintf(why, why_len, "journal transaction %llu: checksum mismatch",
			 (unsigned long long)h.seq);
		return -EUCLEAN;
	}
	for (uint32_t i = 0; i < h.nblocks; i++) {
		if (!journaled_blk(fs, targets[i])) {
			snprintf(why, why_len, "journal transaction %llu: target %llu out of range",
				 (unsigned long long)h.seq, (unsigned long long)targets[i]);
			return -EUCLEAN;
		}
	}
	*n = h.nblocks;
	*crc = h.data_crc;
	return 0;
}

void journal_init(struct udaxfs *fs)
{
	jheader_write(fs, UDAXFS_J_EMPTY, 0, 0);
}

int journal_check(struct udaxfs *fs, char *why, unsigned why_len)
{
	uint32_t n, crc;

	return journal_validate(fs, &n, &crc, why, why_len);
}

int journal_recover(struct udaxfs *fs, bool *replayed)
{
	uint64_t targets[UDAXFS_TX_MAX];
	const void *images[UDAXFS_TX_MAX];
	char why[160];
	uint32_t n, crc;
	int ret;

	*replayed = false;
	ret = journal_validate(fs, &n, &crc, why, sizeof(why));
	if (ret)
		return udax_err(EUCLEAN, "%s", why);
	if (n) {
		memcpy(targets, jblock(fs, 1), n * sizeof(uint64_t));
		journal_images(fs, images, n);
		journal_apply(fs, targets, images, n, crc);
		*replayed = true;
	} else if (jheader_torn((const struct udaxfs_jheader *)jblock(fs, 0))) {
		journal_init(fs);
	}
	return 0;
}

int tx_end(struct udaxfs *fs, int ret)
{
	int err;

	if (ret < 0) {
		tx_abort(fs);
		/* the name indexes may hold changes the media never got */
		if (fs->dcache_dirty)
			dcache_drop(fs);
		fs->tx.ntouch = 0;
		return ret;
	}
	err = tx_commit(fs);
	if (!err)
		inode_touch_commit(fs);
	fs->tx.ntouch = 0;
	return err ? err : ret;
}

void fs_enter(struct udaxfs *fs)
{
	pthread_mutex_lock(&fs->lock);
	tx_begin(fs);
}

int fs_leave(struct udaxfs *fs, int ret)
{
	ret = tx_end(fs, ret);
	pthread_mutex_unlock(&fs->lock);
	return ret;
}
