// SPDX-License-Identifier: MIT
/*
 * Corrupt images, at random: bytes of metadata blocks are changed, half of
 * the time with the block's checksum fixed up so that the semantic checks
 * (bounds, counts, types) are reached. Bytes of the journal's log are changed
 * too, with the last transaction turned back into a committed one, so that
 * recovery parses the damaged records. Mount, a walk of the whole tree, a few
 * changes, fsck and fsck --repair must then return errors, never crash or
 * touch memory out of bounds (this test is meant for the ASan build too).
 */
#include <dirent.h>

#include "fstest.h"

#define POOL  (8 * MIB)
#define ITERS 200

static const char *pool;
static uint8_t *image;
static struct udaxfs_super sb;

static void populate(void)
{
	static uint8_t buf[64 * 1024];
	struct udax_fs *fs = fstest_mount(pool);
	struct udax_file *f;
	char path[64];

	CHECK_OK(udax_mkdir(fs, "/a", 0755));
	CHECK_OK(udax_mkdir(fs, "/a/b", 0755));
	for (int i = 0; i < 20; i++) {
		snprintf(path, sizeof(path), "/a/f%d", i);
		CHECK_OK(udax_open(fs, path, O_CREAT | O_RDWR, 0644, &f));
		fill_pattern(buf, sizeof(buf), (uint64_t)i, 5);
		CHECK_EQ(udax_pwrite(f, buf, 100 + (size_t)i * 300, 0), 100 + i * 300);
		CHECK_OK(udax_close(f));
	}
	/* a file of 20 separate extents: inline ones and an extent block */
	CHECK_OK(udax_open(fs, "/a/b/frag", O_CREAT | O_RDWR, 0644, &f));
	for (int i = 0; i < 20; i++)
		CHECK_EQ(udax_pwrite(f, buf, 4096, (off_t)i * 8192), 4096);
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));
}

/* A data-area block holding a structure with @magic. */
static uint64_t find_block(uint32_t magic)
{
	for (;;) {
		uint64_t blk = sb.data_start + test_rand() % (sb.nblocks - sb.data_start);
		uint32_t m;

		memcpy(&m, image + blk * UDAXFS_BLOCK, sizeof(m));
		if (m == magic)
			return blk;
	}
}

/* The header of the journal in @img. */
static struct udaxfs_jheader *jheader(uint8_t *img)
{
	return (struct udaxfs_jheader *)(img + sb.journal_start * UDAXFS_BLOCK);
}

/* A byte of the last transaction's log (the header keeps its length after the commit). */
static uint64_t pick_log(uint64_t *blk)
{
	uint32_t len = jheader(image)->log_len;
	uint64_t o = len ? test_rand() % len : 0;

	*blk = sb.journal_start + 1 + o / UDAXFS_BLOCK;
	return o % UDAXFS_BLOCK;
}

/* A metadata byte worth changing: *blk and the offset in it, aimed at fields. */
static uint64_t pick(uint64_t *blk)
{
	switch (test_rand() % 7) {
	case 6:
		return pick_log(blk);
	case 0:
		*blk = test_rand() % 2;
		return test_rand() % sizeof(struct udaxfs_super);
	case 1:
		*blk = sb.journal_start;
		return test_rand() % sizeof(struct udaxfs_jheader);
	case 2:
		*blk = sb.bitmap_start;
		return test_rand() % UDAXFS_BLOCK;
	case 3: /* inodes 0..31: header and extents */
		*blk = sb.itable_start + test_rand() % 2;
		return test_rand() % 16 * 256 + test_rand() % 208;
	case 4: /* a directory entry's header */
		*blk = find_block(UDAXFS_DIRB_MAGIC);
		return test_rand() % 4 ? 16 + test_rand() % 15 * 272 + test_rand() % 16
				       : test_rand() % 16;
	default:
		*blk = find_block(UDAXFS_EXTB_MAGIC);
		return test_rand() % 2
			       ? test_rand() % 32
			       : 32 + test_rand() % UDAXFS_EXTB_EXTENTS * 16 + test_rand() % 16;
	}
}

/* Fixes the checksum of whatever structure @blk holds (see docs/udaxfs.md). */
static void reseal(uint8_t *img, uint64_t blk, uint64_t off)
{
	uint8_t *b = img + blk * UDAXFS_BLOCK;
	uint32_t magic;

	memcpy(&magic, b, sizeof(magic));
	if (blk > sb.journal_start && blk < sb.journal_start + sb.journal_blocks) {
		struct udaxfs_jheader *h = jheader(img);

		/* an earlier change of this image may have damaged the length itself */
		if (h->log_len <= UDAXFS_JLOG_MAX)
			h->data_crc =
				crc32c(0, img + (sb.journal_start + 1) * UDAXFS_BLOCK, h->log_len);
		h->crc = crc32c_skip(h, sizeof(*h), offsetof(struct udaxfs_jheader, crc));
	} else if (blk < 2) {
		struct udaxfs_super *s = (void *)b;

		s->crc = crc32c_skip(s, sizeof(*s), offsetof(struct udaxfs_super, crc));
	} else if (blk >= sb.itable_start && blk < sb.itable_start + sb.itable_blocks) {
		struct udaxfs_inode *di = (void *)(b + off / 256 * 256);

		di->crc = udaxfs_inode_crc(di);
	} else if (magic == UDAXFS_DIRB_MAGIC || magic == UDAXFS_EXTB_MAGIC) {
		((uint32_t *)b)[1] = 0;
		((uint32_t *)b)[1] = crc32c_skip(b, UDAXFS_BLOCK, 4);
	}
}

static void corrupt(uint8_t *img)
{
	unsigned n = 1 + (unsigned)(test_rand() % 3);
	bool seal = test_rand() % 4;

	for (unsigned i = 0; i < n; i++) {
		uint64_t blk, off = pick(&blk);
		uint8_t *p = img + blk * UDAXFS_BLOCK + off;

		if (test_rand() % 2)
			*p ^= (uint8_t)(1u << (test_rand() % 8));
		else
			*p = (uint8_t)test_rand();
		if (blk > sb.journal_start && blk < sb.journal_start + sb.journal_blocks) {
			/* a committed transaction over the damaged log, its header sound */
			struct udaxfs_jheader *h = jheader(img);

			h->state = UDAXFS_J_COMMITTED;
			h->crc = crc32c_skip(h, sizeof(*h), offsetof(struct udaxfs_jheader, crc));
		}
		if (seal)
			reseal(img, blk, off);
	}
}

static int walk(struct udax_fs *fs, const char *dir, int depth)
{
	static uint8_t buf[128 * 1024];
	struct udax_dirent ent;
	struct udax_dir *d;
	int ret, n = 0;

	if (depth > 8 || udax_opendir(fs, dir, &d))
		return 0;
	while ((ret = udax_readdir(d, &ent)) == 1 && n++ < 100) {
		char path[600];
		struct udax_file *f;

		if (!strcmp(ent.name, ".") || !strcmp(ent.name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "", ent.name);
		udax_stat(fs, path, &(struct udax_stat){0});
		if (ent.type == DT_DIR) {
			walk(fs, path, depth + 1);
		} else if (!udax_open(fs, path, O_RDWR, 0, &f)) {
			udax_pread(f, buf, sizeof(buf), 0);
			udax_pwrite(f, buf, 5000, 3000);
			udax_fiemap(f, NULL, 0);
			udax_ftruncate(f, 1000);
			udax_close(f);
		}
	}
	CHECK(ret <= 1);
	udax_closedir(d);
	return 0;
}

static void exercise(void)
{
	struct udax_fs *fs;
	struct udax_file *f;

	if (udax_mount(pool, 0, &fs))
		return;
	walk(fs, "/", 0);
	if (!udax_open(fs, "/new", O_CREAT | O_RDWR, 0644, &f)) {
		udax_pwrite(f, "data", 4, 3 * MIB);
		udax_close(f);
	}
	udax_mkdir(fs, "/a/b/c", 0755);
	udax_rename(fs, "/a/f1", "/a/b/f1");
	udax_unlink(fs, "/a/f2");
	udax_rmdir(fs, "/a/b");
	udax_statfs(fs, &(struct udax_statfs){0});
	CHECK_OK(udax_unmount(fs));
}

static void remove_shm(void)
{
	unlink(pool);
}

int main(void)
{
	uint8_t *img;
	unsigned mounted = 0;

	test_watchdog(120);
	test_seed(99);
	/* tmpfs when there is one: every repair and mount persists, msync would dominate */
	if (!access("/dev/shm", W_OK)) {
		static char shm[64];

		snprintf(shm, sizeof(shm), "/dev/shm/udax-fuzz.%d", (int)getpid());
		unlink(shm);
		CHECK_OK(udax_mkfs(shm, POOL, NULL));
		atexit(remove_shm);
		pool = shm;
	} else {
		pool = fstest_pool("fuzz.pool", POOL);
	}
	populate();
	sb = read_super(pool, 0);
	image = malloc(POOL);
	img = malloc(POOL);
	CHECK(image && img);
	pool_rw(pool, false, 0, image, POOL);
	for (int it = 0; it < ITERS; it++) {
		struct udax_fs *fs;
		int found;

		memcpy(img, image, POOL);
		corrupt(img);
		pool_rw(pool, true, 0, img, POOL);
		if (!udax_mount(pool, 0, &fs)) {
			mounted++;
			CHECK_OK(udax_unmount(fs));
		}
		exercise();
		found = udax_fsck(pool, 0, NULL);
		if (found >= 0 || found == -EUCLEAN)
			udax_fsck(pool, UDAX_FSCK_REPAIR, NULL);
		exercise();
	}
	fprintf(stderr, "%u of %d corrupt images mounted\n", mounted, ITERS);
	CHECK(mounted > ITERS / 10); /* the checks must not make every image unmountable */
	free(image);
	free(img);
	return 0;
}
