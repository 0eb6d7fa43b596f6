// SPDX-License-Identifier: MIT
/*
 * The journal: a redo log of the changed lines of metadata blocks.
 *
 * An operation changes shadow copies of metadata blocks (tx_write). Commit
 * compares each shadow with the media in 64-byte lines and stages a record
 * per run of changed lines (or the whole block, when smaller). Then, with one
 * fence per transaction:
 *
 *  1. fence: the previous transaction's copies home, and any zeroing of the
 *     blocks this one allocates, are durable before its log is overwritten;
 *  2. the log and the header (state COMMITTED, record count, log length and
 *     the log's crc) are flushed together, then fenced: the commit point. A
 *     crash inside this epoch leaves a header that is torn (its own crc
 *     fails), or the old one over a partly rewritten log, or the new one over
 *     a partly written log (the log crc fails): recovery discards all three
 *     as a transaction that never committed;
 *  3. the records are copied home and flushed, with no fence: until the next
 *     fence, a crash replays the log, which is idempotent because each record
 *     holds the bytes themselves.
 *
 * The header stays COMMITTED after the copy home. Replaying an applied log is
 * harmless only while nothing changes its lines outside a transaction, so a
 * store in place (inode_set_size, super_write) first settles the journal:
 * a fence, then the header marked EMPTY, flushed in the same epoch as the
 * store itself (journal_settle).
 *
 * A transaction that raised the zero mark (alloc.c) journals the primary
 * superblock with the new mark, so the primary's mark is durable exactly when
 * the allocation is, and stores the backup with the new mark in place in the
 * commit's epoch. A mark above the truth is safe (those blocks are merely
 * zeroed again when allocated), one below is not, and so the backup is never
 * below the primary; only one superblock is in flight in each epoch: the
 * backup before the commit point, the primary after it.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#include "common/err.h"
#include "pmem/pmem.h"
#include "fs/crc32c.h"
#include "fs/fs.h"

static uint8_t *jblock(struct udaxfs *fs, uint64_t i)
{
	return fs->base + blk_off(fs->sb.journal_start + i);
}

/* Metadata blocks, and the primary superblock (for the zero mark). */
static bool journaled_blk(const struct udaxfs *fs, uint64_t blk)
{
	return blk == 0 ||
	       (blk >= fs->sb.journal_start + fs->sb.journal_blocks && blk < fs->sb.nblocks);
}

void tx_begin(struct udaxfs *fs)
{
	fs->tx.n = 0;
	fs->zero_mark = fs->sb.zero_start;
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
		/* the last slot is the superblock's, which the commit may add */
		if (fs->tx.n == UDAXFS_TX_MAX - (blk != 0))
			return udax_err(ENOSPC, "operation changes more than %u metadata blocks",
					UDAXFS_TX_MAX - 1);
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
	fs->zero_mark = fs->sb.zero_start;
}

void journal_fini(struct udaxfs *fs)
{
	pmem_drain(fs->pm); /* the last copies home */
	while (fs->tx_nspare)
		free(fs->tx_spare[--fs->tx_nspare]);
	free(fs->jlog);
	fs->jlog = NULL;
}

/* Writes the header; the caller fences it. */
static void jheader_write(struct udaxfs *fs, uint32_t state, uint32_t nrec, uint32_t data_crc,
			  uint32_t log_len)
{
	struct udaxfs_jheader h = {
		.magic = UDAXFS_JRNL_MAGIC,
		.seq = fs->jseq,
		.state = state,
		.nrec = nrec,
		.data_crc = data_crc,
		.log_len = log_len,
	};

	h.crc = crc32c_skip(&h, sizeof(h), offsetof(struct udaxfs_jheader, crc));
	pmem_memcpy_nodrain(fs->pm, jblock(fs, 0), &h, sizeof(h));
}

/*
 * Before a store in place into metadata: makes the last transaction's copies
 * home durable and marks its log EMPTY (keeping its count, crc and length,
 * which help debugging and let tests turn it back into a committed one), so
 * that no replay can later write its older lines over the store. The header
 * is only flushed: the caller's fence covers it and the store together, and a
 * crash that keeps the store without it replays the log over a store whose
 * operation had not returned.
 */
void journal_settle(struct udaxfs *fs)
{
	struct udaxfs_jheader h;

#ifdef UDAX_BROKEN_JOURNAL_NO_SETTLE
	return;
#endif
	if (!fs->jlive)
		return;
	pmem_drain(fs->pm);
	memcpy(&h, jblock(fs, 0), sizeof(h));
	jheader_write(fs, UDAXFS_J_EMPTY, h.nrec, h.data_crc, h.log_len);
	fs->jlive = false;
}

/* The record at @pos of a log known to be well formed, and its data. */
static struct udaxfs_jrec log_rec(const uint8_t *log, uint32_t pos, const uint8_t **data)
{
	struct udaxfs_jrec r;

	memcpy(&r, log + pos, sizeof(r));
	*data = log + pos + sizeof(r);
	return r;
}

/*
 * Copies the records of a well-formed log home, flushed, not fenced. @log is
 * the journal's (recovery) or the identical staging copy it was written from
 * (commit), which is still in the cache.
 */
static void journal_apply(struct udaxfs *fs, const uint8_t *log, uint32_t len)
{
	const uint8_t *data;

	for (uint32_t pos = 0; pos < len;) {
		struct udaxfs_jrec r = log_rec(log, pos, &data);

		pmem_memcpy_nodrain(fs->pm, fs->base + blk_off(r.blk) + r.off, data, r.len);
		pos += (uint32_t)sizeof(r) + r.len;
	}
}

/* True if the 64-byte lines at @a and @b differ. */
#if defined(__x86_64__)
static bool line_differs(const uint8_t *a, const uint8_t *b)
{
	__m128i d = _mm_setzero_si128();

	for (unsigned i = 0; i < UDAXFS_JLINE; i += 16)
		d = _mm_or_si128(d, _mm_xor_si128(_mm_loadu_si128((const __m128i *)(a + i)),
						  _mm_loadu_si128((const __m128i *)(b + i))));
	return _mm_movemask_epi8(_mm_cmpeq_epi8(d, _mm_setzero_si128())) != 0xffff;
}
#else
static bool line_differs(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, UDAXFS_JLINE) != 0;
}
#endif

/*
 * Appends to @log at *len the records of shadow @b, one per run of changed
 * 64-byte lines. Returns the records added (0: the shadow equals the media).
 * A block never takes more than its image and one record header: each gap
 * between two runs saves a line and costs a header.
 */
static uint32_t log_block(struct udaxfs *fs, const struct tx_block *b, uint8_t *log, uint32_t *len)
{
	const uint8_t *home = fs->base + blk_off(b->blk);
	uint32_t off[UDAXFS_BLOCK / UDAXFS_JLINE], rlen[UDAXFS_BLOCK / UDAXFS_JLINE];
	uint32_t n = 0;

	for (uint32_t o = 0; o < UDAXFS_BLOCK; o += UDAXFS_JLINE) {
		if (!line_differs(b->buf + o, home + o))
			continue;
		if (n && off[n - 1] + rlen[n - 1] == o) {
			rlen[n - 1] += UDAXFS_JLINE;
		} else {
			off[n] = o;
			rlen[n++] = UDAXFS_JLINE;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		struct udaxfs_jrec r = {.blk = b->blk, .off = off[i], .len = rlen[i]};

		memcpy(log + *len, &r, sizeof(r));
		memcpy(log + *len + sizeof(r), b->buf + off[i], rlen[i]);
		*len += (uint32_t)sizeof(r) + rlen[i];
	}
	return n;
}

/* Adds the primary superblock with the raised zero mark to the transaction. */
static int tx_raise_mark(struct udaxfs *fs)
{
	void *buf;
	int ret = tx_write(fs, 0, &buf);

	if (!ret)
		super_image(fs, fs->zero_mark, buf);
	return ret;
}

int tx_commit(struct udaxfs *fs)
{
	uint32_t nrec = 0, len = 0, crc;
	bool raise = fs->zero_mark != fs->sb.zero_start;
	int ret;

	if (!fs->tx.n) {
		fs->zero_mark = fs->sb.zero_start;
		return 0;
	}
	if (!fs->jlog && !(fs->jlog = malloc(UDAXFS_JLOG_MAX)))
		return udax_err(ENOMEM, "journal staging buffer");
	for (unsigned i = 0; i < fs->tx.n; i++)
		nrec += log_block(fs, &fs->tx.blocks[i], fs->jlog, &len);
	/* a raise with no block changed allocated nothing that stayed: drop it */
	if (!nrec) {
		tx_abort(fs);
		return 0;
	}
	if (raise) {
		ret = tx_raise_mark(fs);
		if (ret) {
			tx_abort(fs);
			return ret;
		}
		nrec += log_block(fs, &fs->tx.blocks[fs->tx.n - 1], fs->jlog, &len);
	}
	pmem_drain(fs->pm); /* the last transaction is home, before its log is overwritten */
	if (raise)
		super_store_backup_nodrain(fs, fs->zero_mark);
	pmem_memcpy_nodrain(fs->pm, jblock(fs, 1), fs->jlog, len);
	fs->jseq++;
	crc = crc32c(0, fs->jlog, len);
	jheader_write(fs, UDAXFS_J_COMMITTED, nrec, crc, len);
	pmem_drain(fs->pm); /* the commit point */
	fs->sb.zero_start = fs->zero_mark;
	journal_apply(fs, fs->jlog, len);
	fs->jlive = true;
	tx_abort(fs);
	return 0;
}

static bool jheader_torn(const struct udaxfs_jheader *h)
{
	return h->crc != crc32c_skip(h, sizeof(*h), offsetof(struct udaxfs_jheader, crc));
}

/* Checks that the @len bytes of @log are exactly @nrec records of in-range targets. */
static int log_check(const struct udaxfs *fs, const uint8_t *log, uint32_t len, uint32_t nrec,
		     char *why, unsigned why_len)
{
	uint32_t pos = 0, n = 0;
	struct udaxfs_jrec r;

	while (pos < len) {
		if (len - pos < sizeof(r)) {
			snprintf(why, why_len, "journal record %u: truncated", n);
			return -EUCLEAN;
		}
		memcpy(&r, log + pos, sizeof(r));
		pos += (uint32_t)sizeof(r);
		if (!journaled_blk(fs, r.blk) || !r.len || (r.off | r.len) % UDAXFS_JLINE ||
		    r.off >= UDAXFS_BLOCK || r.len > UDAXFS_BLOCK - r.off || r.len > len - pos) {
			snprintf(why, why_len,
				 "journal record %u: block %llu bytes %u+%u out of range", n,
				 (unsigned long long)r.blk, r.off, r.len);
			return -EUCLEAN;
		}
		pos += r.len;
		n++;
	}
	if (n != nrec) {
		snprintf(why, why_len, "journal: %u records where the header says %u", n, nrec);
		return -EUCLEAN;
	}
	return 0;
}

/* Validates a committed journal; 0 and *h->nrec records to replay, or -EUCLEAN. */
static int journal_validate(struct udaxfs *fs, struct udaxfs_jheader *h, char *why,
			    unsigned why_len)
{
	const uint8_t *log = jblock(fs, 1);

	memcpy(h, jblock(fs, 0), sizeof(*h));
	if (h->magic != UDAXFS_JRNL_MAGIC) {
		snprintf(why, why_len, "journal header: bad magic 0x%08x", h->magic);
		return -EUCLEAN;
	}
	/* A torn header was never a completed commit: the crc says it is not one. */
	if (jheader_torn(h)) {
		h->nrec = 0;
		return 0;
	}
	fs->jseq = h->seq;
	if (h->state == UDAXFS_J_EMPTY) {
		h->nrec = 0;
		return 0;
	}
	if (h->state != UDAXFS_J_COMMITTED || !h->nrec || h->log_len > UDAXFS_JLOG_MAX) {
		snprintf(why, why_len, "journal header: bad state %u, count %u or length %u",
			 h->state, h->nrec, h->log_len);
		return -EUCLEAN;
	}
#ifndef UDAX_BROKEN_JOURNAL_NO_LOG_CRC
	/* written in the commit's epoch, so a crash there may leave it partly old */
	if (crc32c(0, log, h->log_len) != h->data_crc) {
		h->nrec = 0;
		return 0;
	}
#endif
	return log_check(fs, log, h->log_len, h->nrec, why, why_len);
}

void journal_init(struct udaxfs *fs)
{
	jheader_write(fs, UDAXFS_J_EMPTY, 0, 0, 0);
	pmem_drain(fs->pm);
	fs->jlive = false;
}

int journal_check(struct udaxfs *fs, char *why, unsigned why_len)
{
	struct udaxfs_jheader h;

	return journal_validate(fs, &h, why, why_len);
}

/*
 * Replays a committed log, then marks the journal EMPTY, so that stores in
 * place (the mount's superblock) are not undone by a later replay. The
 * superblock is read again: the log may have held its zero mark, or repaired
 * a primary torn while the log was copied home.
 */
int journal_recover(struct udaxfs *fs, bool *replayed)
{
	struct udaxfs_jheader h;
	char why[160];
	int ret;

	*replayed = false;
	ret = journal_validate(fs, &h, why, sizeof(why));
	if (ret)
		return udax_err(EUCLEAN, "%s", why);
	if (h.nrec) {
		journal_apply(fs, jblock(fs, 1), h.log_len);
		pmem_drain(fs->pm);
		jheader_write(fs, UDAXFS_J_EMPTY, h.nrec, h.data_crc, h.log_len);
		pmem_drain(fs->pm);
		*replayed = true;
		return super_read(fs, why, sizeof(why));
	}
	memcpy(&h, jblock(fs, 0), sizeof(h));
	if (h.state != UDAXFS_J_EMPTY || jheader_torn(&h))
		journal_init(fs);
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
