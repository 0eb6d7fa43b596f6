// SPDX-License-Identifier: MIT
/*
 * The power-loss recorder: which stores a crash image may keep or drop.
 * Each case stores into its own cache line, so the images tell them apart:
 *  - a store never flushed is kept in some images and dropped in others;
 *  - a flushed and fenced store is in every image;
 *  - a flushed store not yet fenced is in some images and not in others;
 *  - a line flushed twice before a fence shows either snapshot or neither;
 *  - a line flushed, then stored again, shows the old, flushed or last contents.
 * Keeping nothing gives exactly the persisted contents, keeping everything
 * the live media; a torn write-back splits a line only at 8-byte words; the
 * fence callback sees the state just before its fence.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "pmem_testutil.h"
#include "testlib.h"

#define SIZE   (64 * 1024)
#define LINE   64
#define IMAGES 200

enum line_id { NOFLUSH, FENCED, UNFENCED, COPIED, TWICE, RESTORED, NLINES };

static uint8_t *base;
static uint8_t image[SIZE];

static uint8_t *line(enum line_id id)
{
	return base + 4096 + id * LINE;
}

/* Fills line @id with byte @v (through the mapping, no flush). */
static void store(enum line_id id, uint8_t v)
{
	memset(line(id), v, LINE);
}

/* The byte that fills line @id of the image, or -1 if it is mixed. */
static int image_byte(enum line_id id)
{
	const uint8_t *l = image + 4096 + id * LINE;

	for (int i = 1; i < LINE; i++)
		if (l[i] != l[0])
			return -1;
	return l[0];
}

static void make_image(struct pmem_recorder *rec, uint64_t seed, unsigned keep, unsigned tear)
{
	struct pmem_crash_pick how = {.seed = seed, .keep_pct = keep, .tear_pct = tear};

	CHECK_OK(pmem_record_image(rec, &how, image));
}

/* Per line, which of the values 0..3 were seen across images. */
static unsigned seen[NLINES];

static void tally_images(struct pmem_recorder *rec)
{
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < IMAGES; i++) {
		make_image(rec, 1000 + i, 50, 0);
		for (int id = 0; id < NLINES; id++) {
			int b = image_byte(id);

			CHECK(b >= 0 && b <= 3);
			seen[id] |= 1u << b;
		}
	}
}

static void check_stats(struct pmem_recorder *rec, uint64_t fences, uint64_t pending,
			uint64_t in_flight)
{
	struct pmem_record_stats st;

	pmem_record_stats(rec, &st);
	CHECK_EQ(st.size, SIZE);
	CHECK_EQ(st.fences, fences);
	CHECK_EQ(st.pending, pending);
	CHECK_EQ(st.in_flight, in_flight);
	CHECK_EQ(st.unknown, 0);
	CHECK(st.attached);
}

static uint64_t callback_fences;
static int callback_old, callback_new;

/* At the fence: the unfenced line is old when nothing is kept, new when all is. */
static void on_fence(struct pmem_recorder *rec, uint64_t fence, void *arg)
{
	(void)arg;
	CHECK_EQ(fence, callback_fences);
	callback_fences++;
	make_image(rec, 1, 0, 0);
	callback_old = image_byte(UNFENCED);
	make_image(rec, 1, 100, 0);
	callback_new = image_byte(UNFENCED);
}

/*
 * Torn write-backs: the unfenced line (all 1s over all 0s) comes out mixed in
 * some images, but always in whole 8-byte words.
 */
static void check_torn(struct pmem_recorder *rec)
{
	unsigned mixed = 0;

	for (int i = 0; i < IMAGES; i++) {
		const uint8_t *l = image + 4096 + UNFENCED * LINE;

		make_image(rec, 2000 + i, 100, 100);
		mixed += image_byte(UNFENCED) < 0;
		for (int w = 0; w < LINE; w += 8)
			for (int b = 1; b < 8; b++)
				CHECK_EQ(l[w + b], l[w]);
	}
	CHECK(mixed > 0);
}

static void check_cases(struct pmem *pm, struct pmem_recorder *rec)
{
	uint8_t buf[LINE];

	store(NOFLUSH, 1);
	store(FENCED, 1);
	pmem_persist(pm, line(FENCED), LINE);
	CHECK_EQ(callback_old, 0);
	CHECK_EQ(callback_new, 0); /* the fence callback ran before the fence took effect */
	check_stats(rec, 1, 0, 1);
	store(UNFENCED, 1);
	pmem_flush(pm, line(UNFENCED), LINE);
	memset(buf, 1, LINE);
	pmem_memcpy_nodrain(pm, line(COPIED), buf, LINE);
	store(TWICE, 1);
	pmem_flush(pm, line(TWICE), LINE);
	store(TWICE, 2);
	pmem_flush(pm, line(TWICE), LINE);
	store(RESTORED, 1);
	pmem_flush(pm, line(RESTORED), LINE);
	store(RESTORED, 2);
	check_stats(rec, 1, 5, 2);

	tally_images(rec);
	CHECK_EQ(seen[NOFLUSH], 0x3);  /* dropped and kept */
	CHECK_EQ(seen[FENCED], 0x2);   /* always kept */
	CHECK_EQ(seen[UNFENCED], 0x3); /* some and not others */
	CHECK_EQ(seen[COPIED], 0x3);
	CHECK_EQ(seen[TWICE], 0x7);    /* neither, first or second snapshot */
	CHECK_EQ(seen[RESTORED], 0x7); /* old, flushed or last store */

	make_image(rec, 7, 0, 100);
	for (int id = 0; id < NLINES; id++)
		CHECK_EQ(image_byte(id), id == FENCED);
	make_image(rec, 7, 100, 0);
	CHECK(!memcmp(image, base, SIZE));
	check_torn(rec);

	/* the fence: its callback still sees the unfenced line as optional */
	pmem_drain(pm);
	CHECK_EQ(callback_old, 0);
	CHECK_EQ(callback_new, 1);
	check_stats(rec, 2, 0, 2);
	tally_images(rec);
	CHECK_EQ(seen[UNFENCED], 0x2);
	CHECK_EQ(seen[COPIED], 0x2);
	CHECK_EQ(seen[TWICE], 0x4);
	CHECK_EQ(seen[RESTORED], 0x6); /* flushed snapshot for sure, last store maybe */
	CHECK_EQ(seen[NOFLUSH], 0x3);
}

int main(void)
{
	const char *path = tmp_path("record.media");
	struct pmem_recorder *rec, *other;
	struct pmem_record_stats st;
	struct pmem *pm;
	void *addr;

	test_watchdog(60);
	CHECK_OK(pmem_open(path, PMEM_O_CREATE, SIZE, &pm));
	pmem_close(pm);
	CHECK_OK(pmem_record_arm(path, on_fence, NULL, &rec));
	CHECK_ERR(pmem_record_arm(path, NULL, NULL, &other), EBUSY);
	CHECK_ERR(pmem_record_image(rec, &(struct pmem_crash_pick){.keep_pct = 50}, image),
		  EINVAL); /* not opened yet */
	CHECK_OK(pmem_open(path, 0, 0, &pm));
	CHECK_OK(pmem_map(pm, 0, SIZE, PROT_READ | PROT_WRITE, &addr));
	base = addr;
	check_cases(pm, rec);

	/* a flush of memory that is not the media is ignored and counted */
	pmem_flush(pm, image, 1);
	pmem_record_stats(rec, &st);
	CHECK_EQ(st.unknown, 1);

	/* after the close, images are still made, and the backing no longer records */
	CHECK_OK(pmem_unmap(addr, SIZE));
	pmem_close(pm);
	pmem_record_stats(rec, &st);
	CHECK(!st.attached);
	make_image(rec, 3, 0, 0);
	CHECK_EQ(image_byte(FENCED), 1);
	pmem_record_free(rec);

	/* freed: another recorder can be armed */
	CHECK_OK(pmem_record_arm(path, NULL, NULL, &rec));
	pmem_record_free(rec);
	return 0;
}
