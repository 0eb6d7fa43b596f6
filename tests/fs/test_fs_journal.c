// SPDX-License-Identifier: MIT
/*
 * Journal recovery. The pool is copied before an operation (A) and after it
 * (B); A's metadata with B's journal turned back into a committed transaction
 * is the state of a crash after the commit point and before the checkpoint.
 */
#include "fstest.h"

static uint8_t *load(const char *pool, size_t len)
{
	uint8_t *img = malloc(len);

	CHECK(img);
	pool_rw(pool, false, 0, img, len);
	return img;
}

static void store(const char *pool, const uint8_t *img, size_t len)
{
	pool_rw(pool, true, 0, (void *)img, len);
}

static struct udaxfs_jheader *jheader(uint8_t *img, const struct udaxfs_super *sb)
{
	return (struct udaxfs_jheader *)(img + sb->journal_start * UDAXFS_BLOCK);
}

static void seal(struct udaxfs_jheader *h, uint32_t state)
{
	h->state = state;
	h->crc = crc32c_skip(h, sizeof(*h), offsetof(struct udaxfs_jheader, crc));
}

/* A's blocks with B's journal area, its last transaction marked committed. */
static void crash_image(const char *pool, const uint8_t *a, const uint8_t *b, size_t len,
			const struct udaxfs_super *sb)
{
	size_t joff = sb->journal_start * UDAXFS_BLOCK, jlen = sb->journal_blocks * UDAXFS_BLOCK;
	uint8_t *img = malloc(len);

	memcpy(img, a, len);
	memcpy(img + joff, b + joff, jlen);
	CHECK(jheader(img, sb)->nrec > 0);
	seal(jheader(img, sb), UDAXFS_J_COMMITTED);
	store(pool, img, len);
	free(img);
}

/* Edits the first record of the committed log in the pool with @edit, keeping the crcs valid. */
static void edit_log(const char *pool, size_t len, const struct udaxfs_super *sb,
		     void (*edit)(struct udaxfs_jrec *r, struct udaxfs_jheader *h))
{
	uint8_t *img = load(pool, len), *log = img + (sb->journal_start + 1) * UDAXFS_BLOCK;
	struct udaxfs_jheader *h = jheader(img, sb);
	struct udaxfs_jrec r;

	memcpy(&r, log, sizeof(r));
	edit(&r, h);
	memcpy(log, &r, sizeof(r));
	h->data_crc = crc32c(0, log, h->log_len);
	seal(h, UDAXFS_J_COMMITTED);
	store(pool, img, len);
	free(img);
}

static void rec_outside(struct udaxfs_jrec *r, struct udaxfs_jheader *h)
{
	(void)h;
	r->blk = 1; /* the backup superblock is never journaled */
}

static void rec_past_block(struct udaxfs_jrec *r, struct udaxfs_jheader *h)
{
	(void)h;
	r->off = UDAXFS_BLOCK - UDAXFS_JLINE;
	r->len = 2 * UDAXFS_JLINE;
}

static void rec_misaligned(struct udaxfs_jrec *r, struct udaxfs_jheader *h)
{
	(void)h;
	r->off += 8;
}

static void rec_count(struct udaxfs_jrec *r, struct udaxfs_jheader *h)
{
	(void)r;
	h->nrec++;
}

static void rec_log_too_long(struct udaxfs_jrec *r, struct udaxfs_jheader *h)
{
	(void)r;
	h->log_len = UDAXFS_JLOG_MAX + 1;
}

static bool exists(const char *pool, const char *path)
{
	struct udax_fs *fs = fstest_mount(pool);
	struct udax_stat st;
	int ret = udax_stat(fs, path, &st);

	CHECK(ret == 0 || ret == -ENOENT);
	CHECK_OK(udax_unmount(fs));
	return ret == 0;
}

int main(void)
{
	const size_t len = 16 * MIB;
	const char *pool;
	struct udaxfs_super sb;
	struct udax_fs *fs;
	uint8_t *a, *b;

	test_watchdog(60);
	pool = fstest_pool("journal.pool", len);
	sb = read_super(pool, 0);
	fs = fstest_mount(pool);
	CHECK_OK(udax_mkdir(fs, "/before", 0755));
	CHECK_OK(udax_unmount(fs));
	a = load(pool, len);
	fs = fstest_mount(pool);
	CHECK_OK(udax_rename(fs, "/before", "/after"));
	CHECK_OK(udax_unmount(fs));
	b = load(pool, len);

	/* the log holds the changed lines, not whole block images */
	CHECK(jheader(b, &sb)->log_len > 0);
	CHECK(jheader(b, &sb)->log_len < UDAXFS_BLOCK);

	/* committed, not checkpointed: recovery replays it */
	crash_image(pool, a, b, len, &sb);
	CHECK(exists(pool, "/after"));
	CHECK(!exists(pool, "/before"));
	fstest_fsck_clean(pool);

	/* replaying onto the already applied state changes nothing (idempotent) */
	crash_image(pool, b, b, len, &sb);
	CHECK(exists(pool, "/after"));
	fstest_fsck_clean(pool);

	/* replay interrupted half way, then replayed again */
	crash_image(pool, a, b, len, &sb);
	{
		uint8_t *img = load(pool, len), *log = img + (sb.journal_start + 1) * UDAXFS_BLOCK;
		struct udaxfs_jrec r;

		memcpy(&r, log, sizeof(r));
		memcpy(img + r.blk * UDAXFS_BLOCK + r.off, log + sizeof(r), r.len);
		store(pool, img, len);
		free(img);
	}
	CHECK(exists(pool, "/after"));
	fstest_fsck_clean(pool);

	/* a torn header was never a commit: the transaction is discarded */
	crash_image(pool, a, b, len, &sb);
	{
		uint8_t *img = load(pool, len);

		jheader(img, &sb)->crc ^= 1;
		store(pool, img, len);
		free(img);
	}
	CHECK(exists(pool, "/before"));
	CHECK(!exists(pool, "/after"));
	fstest_fsck_clean(pool);

	/*
	 * A header over a log that does not match its checksum: the log and the
	 * header share the commit's epoch, so this is a commit a crash cut short.
	 * It is discarded, and the journal left EMPTY so no later mount replays it.
	 */
	crash_image(pool, a, b, len, &sb);
	flip_byte(pool, (sb.journal_start + 1) * UDAXFS_BLOCK + 20);
	CHECK_EQ(fsck_count(pool, 0), 0);
	CHECK(exists(pool, "/before"));
	CHECK(!exists(pool, "/after"));
	{
		uint8_t *img = load(pool, len);

		CHECK_EQ(jheader(img, &sb)->state, UDAXFS_J_EMPTY);
		free(img);
	}
	fstest_fsck_clean(pool);

	/* records that checksum but lie outside what they may change: corrupt, never applied */
	{
		void (*edits[])(struct udaxfs_jrec *, struct udaxfs_jheader *) = {
			rec_outside, rec_past_block, rec_misaligned, rec_count, rec_log_too_long};
		const char *msgs[] = {"out of range", "out of range", "out of range", "records where",
				      "bad state"};

		for (unsigned i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
			crash_image(pool, a, b, len, &sb);
			edit_log(pool, len, &sb, edits[i]);
			CHECK_ERR(udax_mount(pool, 0, &fs), EUCLEAN);
			CHECK(strstr(test_errormsg(), msgs[i]));
			CHECK_EQ(fsck_count(pool, UDAX_FSCK_REPAIR), 1);
			CHECK(exists(pool, "/before"));
			fstest_fsck_clean(pool);
		}
	}
	free(a);
	free(b);
	return 0;
}
