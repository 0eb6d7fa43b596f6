// SPDX-License-Identifier: MIT
/*
 * udax demo: the DAX story end to end on a pool it makes for the occasion
 * (docs/man/udax-demo.md). Every number it prints comes from the library's
 * counters or from a clock around the call; every step checks what it shows
 * and the exit status says whether all the checks held.
 *
 * Everything it creates (a directory, a tmpfs mounted on it, the files in it)
 * is listed in `scratch` (cli.h), which the handler of SIGINT, SIGTERM, SIGHUP and SIGPIPE
 * can undo with system calls alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "pmem/pmem.h"
#include "udax_devdax.h"

#define KiB ((uint64_t)1 << 10)
#define MiB ((uint64_t)1 << 20)
#define PG  ((uint64_t)4096)
#define PMD (2 * MiB)

#define POOL_SIZE   (64 * MiB) /* the main pool */
#define PL_SIZE	    (16 * MiB) /* the pool that loses power (recorded: kept small) */
#define DATA_SIZE   (16 * MiB) /* the file of steps 2, 3 and 6 */
#define HOLE_SIZE   (4 * MiB)
#define PIN_SIZE    (4 * MiB)
#define REGION_SIZE (8 * MiB)
#define TMPFS_OPTS  "huge=always,size=256m,mode=0700"

#define PIN_DELAY_MS	200   /* how long the pin is held after the truncate starts */
#define PIN_PROBE_MS	50    /* the bounded truncate that must time out */
#define LAYOUT_BOUND_MS 10000 /* no wait of the demo may hang it */

struct demo {
	bool json;
	bool huge;	     /* a huge=always tmpfs is mounted on the directory */
	char why[256];	     /* why this backing */
	char pool[PATH_MAX]; /* the main pool */
	FILE *jf;	     /* the JSON document, printed at the end with --json */
	char *jbuf;
	size_t jlen;
	char failed[512]; /* the first check of the current step that did not hold */
	/* shared by the steps */
	struct udax_fs *fs;
	struct udax_info info;
	struct udax_file *data; /* /data, steps 2, 3 and 6 */
	uint8_t *map;		/* its mapping, steps 3 and 6 */
};

/* ---- time, messages and JSON ---------------------------------------------------------------- */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One indented line of the human report (nothing with --json). */
__attribute__((format(printf, 2, 3))) static void say(struct demo *d, const char *fmt, ...)
{
	va_list ap;

	if (d->json)
		return;
	fputs("   ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Records the first failed check of the step; returns @cond. */
__attribute__((format(printf, 3, 4))) static bool check(struct demo *d, bool cond, const char *fmt,
							...)
{
	va_list ap;

	if (cond || d->failed[0])
		return cond;
	va_start(ap, fmt);
	vsnprintf(d->failed, sizeof(d->failed), fmt, ap);
	va_end(ap);
	return false;
}

/* A library call's result: false (and the step fails with its message) if negative. */
static bool lib_ok(struct demo *d, long ret, const char *what)
{
	return check(d, ret >= 0, "%s: %s", what, udax_errormsg());
}

static void jstr_to(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void ju64(struct demo *d, const char *key, uint64_t v)
{
	fprintf(d->jf, ", \"%s\": %" PRIu64, key, v);
}

static void jms(struct demo *d, const char *key, double ms)
{
	fprintf(d->jf, ", \"%s\": %.3f", key, ms);
}

static void jbool(struct demo *d, const char *key, bool b)
{
	fprintf(d->jf, ", \"%s\": %s", key, json_bool(b));
}

static void jstr(struct demo *d, const char *key, const char *s)
{
	fprintf(d->jf, ", \"%s\": ", key);
	jstr_to(d->jf, s);
}

static const char *size_str(uint64_t bytes)
{
	static char bufs[8][32];
	static unsigned next;

	return human_size(bytes, bufs[next++ % 8], sizeof(bufs[0]));
}

/* ---- what the demo creates, and undoing it -------------------------------------------------- */

/* As root, a huge=always tmpfs on the demo directory: 2 MiB pages, like pmem. */
static void mount_huge_tmpfs(struct demo *d)
{
	int err = scratch_mount_tmpfs("udax-demo", TMPFS_OPTS);

	if (!err) {
		d->huge = true;
		snprintf(d->why, sizeof(d->why),
			 "running as root: a huge=always tmpfs mounted for the demo, whose 2 MiB "
			 "pages the kernel maps with PMDs, as it maps pmem");
	} else {
		snprintf(d->why, sizeof(d->why),
			 "mounting a huge=always tmpfs failed (%s): a plain file instead",
			 strerror(err));
	}
}

static int make_backing(struct demo *d, const char *dir)
{
	int ret = scratch_make_dir("demo", dir ? dir : "/tmp");

	if (ret)
		return ret;
	if (dir)
		snprintf(d->why, sizeof(d->why), "--dir given: a plain file in it, no mount");
	else if (geteuid() != 0)
		snprintf(d->why, sizeof(d->why),
			 "not root, so no huge=always tmpfs can be mounted: a plain file in /tmp");
	else
		mount_huge_tmpfs(d);
	snprintf(d->pool, sizeof(d->pool), "%s", scratch_file("demo.pool"));
	return EXIT_OK;
}

/* ---- step 1: mkfs --------------------------------------------------------------------------- */

static void step_mkfs(struct demo *d)
{
	struct udax_statfs sf;
	double t0, mkfs_ms, mount_ms;

	t0 = now_ms();
	if (!lib_ok(d, udax_mkfs(d->pool, POOL_SIZE, NULL), "mkfs"))
		return;
	mkfs_ms = now_ms() - t0;
	t0 = now_ms();
	if (!lib_ok(d, udax_mount(d->pool, 0, &d->fs), "mount"))
		return;
	mount_ms = now_ms() - t0;
	if (!lib_ok(d, udax_info(d->fs, &d->info), "info") ||
	    !lib_ok(d, udax_statfs(d->fs, &sf), "statfs"))
		return;
	say(d,
	    "made a %s udaxfs in %.1f ms and mounted it in %.1f ms: %" PRIu64
	    " free data blocks, %" PRIu64 " free aligned 2 MiB ranges",
	    size_str(POOL_SIZE), mkfs_ms, mount_ms, sf.blocks_free, sf.pmd_free);
	say(d, "backing %s, PMD capable: %s, stores made durable by: %s (%s)", d->info.kind,
	    d->info.pmd_capable ? "yes" : "no", d->info.persist, d->info.flush_insn);
	say(d, "why: %s", d->info.reason);
	check(d, sf.pmd_free > 0, "a fresh pool has no free aligned 2 MiB range");
	ju64(d, "pool_bytes", POOL_SIZE);
	jms(d, "mkfs_ms", mkfs_ms);
	jms(d, "mount_ms", mount_ms);
	jstr(d, "kind", d->info.kind);
	jbool(d, "pmd_capable", d->info.pmd_capable);
	jstr(d, "persist", d->info.persist);
	jstr(d, "flush_insn", d->info.flush_insn);
	ju64(d, "free_blocks", sf.blocks_free);
	ju64(d, "pmd_free", sf.pmd_free);
}

/* ---- step 2: write a file ------------------------------------------------------------------- */

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off / PG * 31 + off % 251);
}

static void fill_pattern(uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern(i);
}

/* Sums the bytes of @f's extents that a PMD can map; -errno or the number of extents. */
static int pmd_bytes_of(struct udax_file *f, uint64_t *pmd_bytes)
{
	struct udax_extent *ext;
	int n = udax_fiemap(f, NULL, 0);

	*pmd_bytes = 0;
	if (n <= 0)
		return n;
	ext = calloc((size_t)n, sizeof(*ext));
	if (!ext)
		return -ENOMEM;
	n = udax_fiemap(f, ext, (unsigned)n);
	for (int i = 0; i < n; i++)
		*pmd_bytes += ext[i].pmd_bytes;
	free(ext);
	return n;
}

static void step_write(struct demo *d)
{
	uint8_t *buf = malloc(DATA_SIZE), *back = malloc(DATA_SIZE);
	uint64_t pmd_bytes = 0;
	double t0, ms;
	ssize_t n;
	int next;

	if (!check(d, buf && back, "out of memory") || !check(d, d->fs, "no pool (step 1)"))
		goto out;
	fill_pattern(buf, DATA_SIZE);
	if (!lib_ok(d, udax_open(d->fs, "/data", O_CREAT | O_RDWR | O_TRUNC, 0644, &d->data),
		    "open /data"))
		goto out;
	t0 = now_ms();
	n = udax_pwrite(d->data, buf, DATA_SIZE, 0);
	ms = now_ms() - t0;
	if (!lib_ok(d, n, "pwrite /data") ||
	    !check(d, n == (ssize_t)DATA_SIZE, "short write: %zd bytes", n))
		goto out;
	next = pmd_bytes_of(d->data, &pmd_bytes);
	if (!lib_ok(d, next, "fiemap /data"))
		goto out;
	n = udax_pread(d->data, back, DATA_SIZE, 0);
	say(d,
	    "wrote /data, %s, in %.1f ms (%.0f MiB/s): straight to the media with "
	    "non-temporal stores, no page cache, durable at return",
	    size_str(DATA_SIZE), ms, ms > 0 ? (double)DATA_SIZE / MiB / (ms / 1e3) : 0.0);
	say(d, "allocated as %d extent(s); %s of it in aligned 2 MiB ranges a PMD can map", next,
	    size_str(pmd_bytes));
	check(d, n == (ssize_t)DATA_SIZE && !memcmp(buf, back, DATA_SIZE),
	      "reading /data back gave other bytes");
	check(d, pmd_bytes == DATA_SIZE,
	      "only %" PRIu64 " of %" PRIu64 " bytes are in PMD-mappable extents", pmd_bytes,
	      DATA_SIZE);
	ju64(d, "bytes", DATA_SIZE);
	jms(d, "write_ms", ms);
	ju64(d, "extents", (uint64_t)next);
	ju64(d, "pmd_bytes", pmd_bytes);
out:
	free(buf);
	free(back);
}

/* ---- step 3: map it with PMDs --------------------------------------------------------------- */

static void step_map(struct demo *d)
{
	struct udax_fault_stats st;
	struct udax_pmd_coverage cov;
	uint64_t bad = 0;
	double t0, ms;

	if (!check(d, d->data, "no file (step 2)") ||
	    !lib_ok(d,
		    udax_mmap(d->data, NULL, DATA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0,
			      (void **)&d->map),
		    "mmap /data")) {
		d->map = NULL;
		return;
	}
	t0 = now_ms();
	for (uint64_t off = 0; off < DATA_SIZE; off += PG)
		bad += ((volatile uint8_t *)d->map)[off + 7] != pattern(off + 7);
	ms = now_ms() - t0;
	if (!lib_ok(d, udax_fault_stats(d->map, &st), "fault stats") ||
	    !lib_ok(d, udax_pmd_coverage(d->map, DATA_SIZE, &cov), "pmd coverage"))
		return;
	say(d, "read one byte of each of its %" PRIu64 " pages through the mapping in %.2f ms",
	    DATA_SIZE / PG, ms);
	say(d,
	    "udax faults: %" PRIu64 " of 2 MiB order, %" PRIu64 " of 4 KiB; %" PRIu64
	    " more pages mapped ahead of them (the rest of the extent, so no fault per page)",
	    st.faults[1], st.faults[0], st.around_pages);
	say(d, "resident %s, of which %s mapped by the kernel with PMDs (/proc/self/smaps)",
	    size_str(cov.mapped), size_str(cov.pmd_mapped));
	check(d, !bad, "%" PRIu64 " pages read other bytes through the mapping", bad);
	check(d, st.faults[0] + st.faults[1] > 0, "no fault was counted");
	if (d->info.pmd_capable)
		check(d, cov.pmd_mapped > 0,
		      "the backing is PMD capable but nothing is PMD mapped");
	else
		say(d,
		    "no PMD coverage to show here: the kernel maps a %s backing with 4 KiB "
		    "pages only (PMDs need huge tmpfs, hugetlbfs, device-DAX or fs-DAX; as "
		    "root the demo mounts a huge=always tmpfs)",
		    d->info.kind);
	ju64(d, "bytes", DATA_SIZE);
	jms(d, "touch_ms", ms);
	ju64(d, "faults_2m", st.faults[1]);
	ju64(d, "faults_4k", st.faults[0]);
	ju64(d, "mapped_2m", st.mapped[1]);
	ju64(d, "mapped_4k", st.mapped[0]);
	ju64(d, "around_pages", st.around_pages);
	ju64(d, "resident_bytes", cov.mapped);
	ju64(d, "pmd_mapped_bytes", cov.pmd_mapped);
	jbool(d, "pmd_possible", d->info.pmd_capable);
}

/* ---- step 4: a hole ------------------------------------------------------------------------- */

static const char hole_msg[] = "stored into a hole";

static void delta_stats(struct udax_fault_stats *a, const struct udax_fault_stats *b)
{
	for (int o = 0; o < 2; o++) {
		a->faults[o] -= b->faults[o];
		a->zero[o] -= b->zero[o];
		a->alloc[o] -= b->alloc[o];
	}
}

static void show_hole(struct demo *d, struct udax_file *f, uint8_t *p)
{
	struct udax_fault_stats s0, s1, s2;
	struct udax_stat before, during, after;
	char back[sizeof(hole_msg)];
	uint64_t nonzero = 0;

	if (!lib_ok(d, udax_fstat(f, &before), "fstat") ||
	    !lib_ok(d, udax_fault_stats(p, &s0), "fault stats"))
		return;
	for (uint64_t off = 0; off < HOLE_SIZE; off += PG)
		nonzero += ((volatile uint8_t *)p)[off + 99] != 0;
	if (!lib_ok(d, udax_fault_stats(p, &s1), "fault stats") ||
	    !lib_ok(d, udax_fstat(f, &during), "fstat"))
		return;
	memcpy(p + 1 * MiB + 100, hole_msg, sizeof(hole_msg));
	if (!lib_ok(d, udax_fault_stats(p, &s2), "fault stats") ||
	    !lib_ok(d, udax_fstat(f, &after), "fstat") ||
	    !lib_ok(d, udax_pread(f, back, sizeof(back), (off_t)(1 * MiB + 100)), "pread"))
		return;
	delta_stats(&s2, &s1);
	delta_stats(&s1, &s0);
	say(d,
	    "a %s file with no blocks (%" PRIu64 " allocated): reading every page gave "
	    "zeros through %" PRIu64 " zero-page fault(s) (%" PRIu64 " at 2 MiB, %" PRIu64
	    " at 4 KiB); still %" PRIu64 " blocks",
	    size_str(HOLE_SIZE), before.blocks, s1.zero[0] + s1.zero[1], s1.zero[1], s1.zero[0],
	    during.blocks);
	say(d,
	    "one store into it: %" PRIu64 " allocating fault(s) (%" PRIu64 " at 2 MiB, %" PRIu64
	    " at 4 KiB); now %" PRIu64 " blocks (%s) allocated and udax_pread sees the store",
	    s2.alloc[0] + s2.alloc[1], s2.alloc[1], s2.alloc[0], after.blocks,
	    size_str(after.blocks * PG));
	check(d, !nonzero, "%" PRIu64 " pages of the hole did not read as zeros", nonzero);
	check(d, before.blocks == 0 && during.blocks == 0, "reading the hole allocated blocks");
	check(d, s1.zero[0] + s1.zero[1] > 0, "no zero-page fault was counted");
	check(d, s2.alloc[0] + s2.alloc[1] > 0, "the store made no allocating fault");
	check(d, after.blocks > 0, "the store allocated no block");
	check(d, !memcmp(back, hole_msg, sizeof(back)), "udax_pread does not see the store");
	ju64(d, "bytes", HOLE_SIZE);
	ju64(d, "blocks_before", before.blocks);
	ju64(d, "blocks_after_read", during.blocks);
	ju64(d, "zero_2m", s1.zero[1]);
	ju64(d, "zero_4k", s1.zero[0]);
	ju64(d, "alloc_2m", s2.alloc[1]);
	ju64(d, "alloc_4k", s2.alloc[0]);
	ju64(d, "blocks_after_write", after.blocks);
}

static void step_hole(struct demo *d)
{
	struct udax_file *f;
	uint8_t *p;

	if (!check(d, d->fs, "no pool (step 1)") ||
	    !lib_ok(d, udax_open(d->fs, "/sparse", O_CREAT | O_RDWR | O_TRUNC, 0644, &f),
		    "open /sparse"))
		return;
	if (lib_ok(d, udax_ftruncate(f, HOLE_SIZE), "ftruncate /sparse") &&
	    lib_ok(d,
		   udax_mmap(f, NULL, HOLE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0,
			     (void **)&p),
		   "mmap /sparse")) {
		show_hole(d, f, p);
		lib_ok(d, udax_munmap(p, HOLE_SIZE), "munmap /sparse");
	}
	lib_ok(d, udax_close(f), "close /sparse");
	lib_ok(d, udax_unlink(d->fs, "/sparse"), "unlink /sparse");
}

/* ---- step 5: a MAP_SYNC store and a power loss ---------------------------------------------- */

static const char sync_msg[] = "MAP_SYNC store, flushed";
static const char lost_msg[] = "store never flushed";

/* Stores both messages through a MAP_SYNC mapping of a hole; only the first is flushed. */
static bool store_through_map_sync(struct demo *d, struct udax_fs *fs)
{
	struct udax_file *f;
	bool ok = false;
	uint8_t *p;
	int ret;

	if (!lib_ok(d, udax_open(fs, "/log", O_CREAT | O_RDWR, 0644, &f), "open /log"))
		return false;
	if (!lib_ok(d, udax_ftruncate(f, PMD), "ftruncate /log"))
		goto out;
	ret = udax_mmap(f, NULL, PMD, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_SYNC, 0,
			(void **)&p);
	if (!lib_ok(d, ret, "mmap /log MAP_SHARED_VALIDATE|MAP_SYNC"))
		goto out;
	memcpy(p, sync_msg, sizeof(sync_msg)); /* the fault committed the block first */
	udax_persist(p, sizeof(sync_msg));
	memcpy(p + 64 * KiB, lost_msg, sizeof(lost_msg));
	ok = lib_ok(d, udax_munmap(p, PMD), "munmap /log");
out:
	lib_ok(d, udax_close(f), "close /log");
	return ok;
}

/* The crash image of this moment, keeping nothing that was not flushed and fenced. */
static bool write_crash_image(struct demo *d, struct pmem_recorder *rec, const char *path)
{
	struct pmem_record_stats rs;
	uint8_t *img;
	FILE *out;
	bool ok;

	pmem_record_stats(rec, &rs);
	img = malloc(rs.size);
	if (!check(d, img, "out of memory"))
		return false;
	ok = lib_ok(
		d, pmem_record_image(rec, &(struct pmem_crash_pick){.seed = 1, .keep_pct = 0}, img),
		"crash image");
	if (ok) {
		out = fopen(path, "w");
		ok = check(d, out && fwrite(img, 1, rs.size, out) == rs.size && !fclose(out),
			   "%s: %s", path, strerror(errno));
	}
	free(img);
	return ok;
}

static bool read_back_log(struct demo *d, struct udax_fs *fs, char *got, char *lost)
{
	struct udax_file *f;
	bool ok;

	if (!lib_ok(d, udax_open(fs, "/log", O_RDONLY, 0, &f), "open /log in the image"))
		return false;
	ok = lib_ok(d, udax_pread(f, got, sizeof(sync_msg), 0), "pread /log") &&
	     lib_ok(d, udax_pread(f, lost, sizeof(lost_msg), (off_t)(64 * KiB)), "pread /log");
	lib_ok(d, udax_close(f), "close /log");
	return ok;
}

/* Mounts the image as a reboot would, reads /log back and checks the image. */
static void reboot_into(struct demo *d, const char *image, uint64_t fences, uint64_t in_flight,
			double image_ms)
{
	char got[sizeof(sync_msg)] = "", lost[sizeof(lost_msg)] = "";
	struct udax_fs *fs;
	bool found, was_lost;
	double t0 = now_ms(), mount_ms;
	int problems;

	if (!lib_ok(d, udax_mount(image, 0, &fs), "mount the crash image"))
		return;
	mount_ms = now_ms() - t0;
	read_back_log(d, fs, got, lost);
	lib_ok(d, udax_unmount(fs), "unmount the crash image");
	problems = udax_fsck(image, 0, NULL);
	lib_ok(d, problems, "fsck the crash image");
	found = !memcmp(got, sync_msg, sizeof(got));
	was_lost = memcmp(lost, lost_msg, sizeof(lost));
	say(d,
	    "power lost: the recorder's crash image keeps only what was flushed and fenced "
	    "(%" PRIu64 " fences so far; %" PRIu64 " line(s) stored but never flushed), "
	    "made in %.1f ms",
	    fences, in_flight, image_ms);
	say(d,
	    "after the reboot (the image mounted in %.1f ms, journal recovery included): "
	    "block allocated, \"%s\" %s; the unflushed store %s; fsck: %d problem(s)",
	    mount_ms, sync_msg, found ? "found" : "MISSING",
	    was_lost ? "is lost, as a power loss may do" : "survived", problems);
	check(d, found, "the flushed MAP_SYNC store did not survive the power loss");
	check(d, was_lost, "a store never flushed survived an image that keeps nothing unflushed");
	check(d, problems == 0, "fsck found %d problem(s) in the crash image", problems);
	jbool(d, "data_found", found);
	jbool(d, "unflushed_lost", was_lost);
	ju64(d, "fences", fences);
	ju64(d, "in_flight_lines", in_flight);
	jms(d, "image_ms", image_ms);
	jms(d, "recovery_mount_ms", mount_ms);
	ju64(d, "fsck_problems", (uint64_t)(problems < 0 ? 0 : problems));
}

static void step_power_loss(struct demo *d)
{
	const char *pool = scratch_file("powerloss.pool"), *image = scratch_file("powerloss.img");
	struct pmem_recorder *rec = NULL;
	struct pmem_record_stats rs = {0};
	struct udax_fs *fs;
	bool stored, imaged = false;
	double t0, image_ms = 0;

	if (!lib_ok(d, udax_mkfs(pool, PL_SIZE, NULL), "mkfs the power-loss pool") ||
	    !lib_ok(d, pmem_record_arm(pool, NULL, NULL, &rec), "arm the recorder"))
		return;
	if (!lib_ok(d, udax_mount(pool, 0, &fs), "mount the power-loss pool")) {
		pmem_record_free(rec);
		return;
	}
	say(d, "a second pool, %s, whose every store, flush and fence is recorded",
	    size_str(PL_SIZE));
	stored = store_through_map_sync(d, fs);
	if (stored) {
		say(d,
		    "stored \"%s\" into a hole of /log through a MAP_SHARED_VALIDATE|MAP_SYNC "
		    "mapping and flushed it (udax_persist): no msync, no fsync; then \"%s\" "
		    "64 KiB further, without a flush",
		    sync_msg, lost_msg);
		pmem_record_stats(rec, &rs);
		t0 = now_ms();
		imaged = write_crash_image(d, rec, image);
		image_ms = now_ms() - t0;
	}
	lib_ok(d, udax_unmount(fs), "unmount the power-loss pool");
	pmem_record_free(rec);
	if (imaged)
		reboot_into(d, image, rs.fences, rs.in_flight, image_ms);
	unlink(image);
	unlink(pool);
}

/* ---- step 6: fsync ----------------------------------------------------------------------------
 */

static void step_fsync(struct demo *d)
{
	struct udax_writeback_stats w0, w1, w2;
	uint64_t entries, bytes;
	double t0, ms;

	if (!check(d, d->map, "no mapping (step 3)") ||
	    !lib_ok(d, udax_fsync(d->data), "fsync /data") ||
	    !lib_ok(d, udax_writeback_stats(&w0), "writeback stats"))
		return;
	/* two stores, in the first and the fourth of its eight 2 MiB blocks */
	d->map[100] = 'A';
	d->map[3 * PMD + 100] = 'B';
	t0 = now_ms();
	if (!lib_ok(d, udax_fsync(d->data), "fsync /data"))
		return;
	ms = now_ms() - t0;
	if (!lib_ok(d, udax_writeback_stats(&w1), "writeback stats") ||
	    !lib_ok(d, udax_fsync(d->data), "fsync /data") ||
	    !lib_ok(d, udax_writeback_stats(&w2), "writeback stats"))
		return;
	entries = w1.entries - w0.entries;
	bytes = w1.bytes - w0.bytes;
	say(d, "2 stores through the mapping of the %s file (a clean fsync before them)",
	    size_str(DATA_SIZE));
	say(d,
	    "fsync in %.2f ms wrote back %" PRIu64 " dirty entr%s, %s of the %s mapped, and "
	    "write-protected them again",
	    ms, entries, entries == 1 ? "y" : "ies", size_str(bytes), size_str(DATA_SIZE));
	say(d, "a second fsync: %" PRIu64 " entries, %s (nothing was dirty)",
	    w2.entries - w1.entries, size_str(w2.bytes - w1.bytes));
	check(d, entries > 0 && bytes >= 2 * PG, "fsync wrote back %" PRIu64 " bytes", bytes);
	check(d, bytes < DATA_SIZE, "fsync wrote back all %s, not only the dirty entries",
	      size_str(bytes));
	check(d, w2.entries == w1.entries, "a second fsync wrote back %" PRIu64 " entries",
	      w2.entries - w1.entries);
	ju64(d, "file_bytes", DATA_SIZE);
	ju64(d, "stores", 2);
	ju64(d, "entries", entries);
	ju64(d, "bytes", bytes);
	jms(d, "fsync_ms", ms);
	ju64(d, "second_entries", w2.entries - w1.entries);
}

/* ---- step 7: a truncate waits for a pin ----------------------------------------------------- */

struct unpinner {
	struct udax_pin *pin;
	_Atomic double start_ms; /* when the truncate started; 0 until then */
	double unpin_ms;
};

static void sleep_until(double t_ms)
{
	double left;

	while ((left = t_ms - now_ms()) > 0) {
		time_t sec = (time_t)(left / 1e3);
		struct timespec ts = {sec, (long)((left - (double)sec * 1e3) * 1e6)};

		nanosleep(&ts, NULL);
	}
}

/* Waits for the truncate to start, holds the pin PIN_DELAY_MS longer, then unpins. */
static void *unpin_later(void *arg)
{
	struct unpinner *u = arg;
	double start;

	while (!(start = atomic_load(&u->start_ms)))
		sleep_until(now_ms() + 1);
	sleep_until(start + PIN_DELAY_MS);
	u->unpin_ms = now_ms();
	udax_unpin(u->pin);
	return NULL;
}

/* With a short bound, the truncate gives up with ETIMEDOUT and changes nothing. */
static void probe_bounded(struct demo *d, struct udax_file *f, double *probe_ms)
{
	struct udax_stat st;
	double t0;
	int ret;

	if (!lib_ok(d, udax_set_layout_timeout(d->fs, PIN_PROBE_MS), "layout timeout"))
		return;
	t0 = now_ms();
	ret = udax_ftruncate(f, 0);
	*probe_ms = now_ms() - t0;
	lib_ok(d, udax_fstat(f, &st), "fstat /pinned");
	say(d,
	    "bounded to %d ms (udax_set_layout_timeout), a truncate to 0 gave up after %.1f "
	    "ms with %s; the file kept its %s",
	    PIN_PROBE_MS, *probe_ms, ret == -ETIMEDOUT ? "ETIMEDOUT" : strerror(-ret),
	    size_str(st.size));
	check(d, ret == -ETIMEDOUT, "the bounded truncate returned %d, not -ETIMEDOUT", ret);
	check(d, st.size == PIN_SIZE, "a truncate that timed out changed the size");
}

/* The unbounded truncate, racing a thread that unpins PIN_DELAY_MS after it starts. */
static void truncate_against_unpin(struct demo *d, struct udax_file *f, struct udax_pin *pin,
				   double probe_ms)
{
	struct unpinner u = {.pin = pin};
	struct udax_stat st;
	double end, held_ms, truncate_ms;
	pthread_t th;
	int ret;

	if (!lib_ok(d, udax_set_layout_timeout(d->fs, LAYOUT_BOUND_MS), "layout timeout"))
		goto unpin;
	if (!check(d, !pthread_create(&th, NULL, unpin_later, &u), "pthread_create failed"))
		goto unpin;
	atomic_store(&u.start_ms, now_ms());
	ret = udax_ftruncate(f, 0);
	end = now_ms();
	pthread_join(th, NULL);
	truncate_ms = end - u.start_ms;
	held_ms = u.unpin_ms - u.start_ms;
	lib_ok(d, ret, "truncate /pinned");
	lib_ok(d, udax_fstat(f, &st), "fstat /pinned");
	say(d,
	    "unbounded, with a second thread unpinning %.1f ms after the truncate started: the "
	    "truncate returned after %.1f ms, then the file was %" PRIu64 " bytes",
	    held_ms, truncate_ms, st.size);
	check(d, held_ms >= PIN_DELAY_MS, "the pin was held only %.1f ms", held_ms);
	check(d, truncate_ms >= held_ms, "the truncate took %.1f ms, less than the pin's %.1f ms",
	      truncate_ms, held_ms);
	check(d, st.size == 0, "the truncate left %" PRIu64 " bytes", st.size);
	jms(d, "probe_timeout_ms", PIN_PROBE_MS);
	jms(d, "probe_ms", probe_ms);
	jms(d, "pin_held_ms", held_ms);
	jms(d, "truncate_ms", truncate_ms);
	ju64(d, "size_after", st.size);
	return;
unpin:
	udax_unpin(pin);
}

static void pin_and_truncate(struct demo *d, struct udax_file *f, uint8_t *p)
{
	struct udax_pin *pin;
	double probe_ms = 0;
	int64_t media;

	if (!lib_ok(d, udax_pin(p + PMD + 5 * PG, PG, UDAX_PIN_WRITE, &pin), "pin"))
		return;
	media = udax_pin_media_offset(pin, 0);
	say(d,
	    "pinned one page of the mapped /pinned (as for DMA: media offset %" PRId64
	    ", where a device would reach it without the mapping)",
	    media);
	check(d, media >= 0, "pin media offset: %s", udax_errormsg());
	probe_bounded(d, f, &probe_ms);
	truncate_against_unpin(d, f, pin, probe_ms);
	jms(d, "pin_delay_ms", PIN_DELAY_MS);
	fprintf(d->jf, ", \"media_offset\": %" PRId64, media);
}

static void step_truncate(struct demo *d)
{
	uint8_t *buf = malloc(PIN_SIZE), *p;
	struct udax_file *f;

	if (!check(d, buf, "out of memory") || !check(d, d->fs, "no pool (step 1)") ||
	    !lib_ok(d, udax_open(d->fs, "/pinned", O_CREAT | O_RDWR | O_TRUNC, 0644, &f),
		    "open /pinned")) {
		free(buf);
		return;
	}
	fill_pattern(buf, PIN_SIZE);
	if (lib_ok(d, udax_pwrite(f, buf, PIN_SIZE, 0), "pwrite /pinned") &&
	    lib_ok(d,
		   udax_mmap(f, NULL, PIN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p),
		   "mmap /pinned")) {
		pin_and_truncate(d, f, p);
		lib_ok(d, udax_munmap(p, PIN_SIZE), "munmap /pinned");
	}
	udax_set_layout_timeout(d->fs, -1);
	lib_ok(d, udax_close(f), "close /pinned");
	lib_ok(d, udax_unlink(d->fs, "/pinned"), "unlink /pinned");
	free(buf);
}

/* ---- step 8: a device-DAX region ---------------------------------------------------------- */

static sigjmp_buf bus_env;
static volatile sig_atomic_t bus_armed;
static void *volatile bus_addr;
static volatile int bus_code;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!bus_armed) { /* not the demo's probe: die of it */
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	bus_addr = si->si_addr;
	bus_code = si->si_code;
	bus_armed = 0;
	siglongjmp(bus_env, 1);
}

/* Loads one byte of @p; true if that raised SIGBUS (what it said is in bus_addr/bus_code). */
static bool load_raises_sigbus(volatile uint8_t *p)
{
	struct sigaction sa = {.sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO}, old;
	volatile bool raised = false;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(bus_env, 1)) {
		raised = true;
	} else {
		bus_armed = 1;
		(void)*p;
		bus_armed = 0;
	}
	sigaction(SIGBUS, &old, NULL);
	return raised;
}

static void revoke_region(struct demo *d, struct udax_devdax *dd, uint8_t *p)
{
	bool raised;
	void *q;
	int ret;

	if (!lib_ok(d, udax_devdax_disable(dd), "devdax disable"))
		return;
	raised = load_raises_sigbus(p + PMD + 1);
	ret = udax_devdax_mmap(dd, NULL, PMD, PROT_READ, MAP_SHARED, 0, &q);
	if (!ret)
		udax_devdax_munmap(q, PMD);
	say(d,
	    "revoked (udax_devdax_disable, as kill_dev_dax): the next load %s, and a new "
	    "mmap got %s",
	    raised ? (bus_code == BUS_ADRERR && bus_addr == p + PMD + 1
			      ? "raised SIGBUS (BUS_ADRERR at its address), caught"
			      : "raised SIGBUS, but not BUS_ADRERR at its address")
		   : "did NOT raise SIGBUS",
	    ret == -ENXIO ? "ENXIO"
	    : ret	  ? strerror(-ret)
			  : "a mapping");
	check(d, raised, "a load from the revoked region did not raise SIGBUS");
	check(d, bus_code == BUS_ADRERR && bus_addr == p + PMD + 1,
	      "SIGBUS had code %d at %p, not BUS_ADRERR at %p", bus_code, bus_addr, p + PMD + 1);
	check(d, ret == -ENXIO, "mmap of a revoked region returned %d, not -ENXIO", ret);
	jbool(d, "sigbus", raised && bus_code == BUS_ADRERR && bus_addr == p + PMD + 1);
	jbool(d, "enxio", ret == -ENXIO);
}

static void fault_region(struct demo *d, struct udax_devdax *dd, uint8_t *p)
{
	struct udax_devdax_info in;
	struct udax_fault_stats st;
	struct udax_pmd_coverage cov;
	double t0, ms;

	if (!lib_ok(d, udax_devdax_get_info(dd, &in), "devdax info"))
		return;
	t0 = now_ms();
	for (uint64_t u = 0; u < REGION_SIZE / PMD; u++)
		p[u * PMD + 1] = (uint8_t)(u + 1);
	ms = now_ms() - t0;
	if (!lib_ok(d, udax_fault_stats(p, &st), "fault stats") ||
	    !lib_ok(d, udax_pmd_coverage(p, REGION_SIZE, &cov), "pmd coverage"))
		return;
	say(d, "region of %s over a %s file (alignment %s; the kernel maps it with %s pages)",
	    size_str(in.size), in.kind, size_str(in.align), size_str(in.page_size));
	say(d,
	    "stored into each of its %" PRIu64 " 2 MiB units in %.2f ms: %" PRIu64
	    " fault(s) in all (%" PRIu64 " at 2 MiB): one fault mapped the whole run; %s "
	    "resident, %s through PMDs",
	    REGION_SIZE / PMD, ms, st.faults[0] + st.faults[1], st.faults[1], size_str(cov.mapped),
	    size_str(cov.pmd_mapped));
	check(d, st.faults[0] + st.faults[1] == 1, "%" PRIu64 " faults, not one",
	      st.faults[0] + st.faults[1]);
	check(d, p[3 * PMD + 1] == 4, "the last unit does not hold what was stored");
	if (in.page_size >= PMD)
		check(d, cov.pmd_mapped > 0, "2 MiB pages, but nothing is PMD mapped");
	ju64(d, "region_bytes", in.size);
	ju64(d, "align", in.align);
	ju64(d, "page_size", in.page_size);
	jstr(d, "kind", in.kind);
	jms(d, "store_ms", ms);
	ju64(d, "faults_2m", st.faults[1]);
	ju64(d, "faults_4k", st.faults[0]);
	ju64(d, "pmd_mapped_bytes", cov.pmd_mapped);
}

static void step_devdax(struct demo *d)
{
	struct udax_devdax_opts o = {
		.align = PMD, .capacity = REGION_SIZE, .flags = UDAX_DEVDAX_CREATE};
	const char *path = scratch_file("region.dax");
	struct udax_devdax *dd;
	uint8_t *p;

	if (!lib_ok(d, udax_devdax_open(path, &o, &dd), "devdax open"))
		return;
	if (lib_ok(d,
		   udax_devdax_mmap(dd, NULL, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0,
				    (void **)&p),
		   "devdax mmap")) {
		fault_region(d, dd, p);
		revoke_region(d, dd, p);
		lib_ok(d, udax_devdax_munmap(p, REGION_SIZE), "devdax munmap");
	}
	udax_devdax_close(dd);
	unlink(path);
}

/* ---- the steps, and the command ------------------------------------------------------------ */

struct step {
	const char *name;
	const char *headline;
	void (*run)(struct demo *d);
};

static const struct step steps[] = {
	{"mkfs", "mkfs: a udaxfs on the pool", step_mkfs},
	{"write", "write a file", step_write},
	{"map", "map it: PMD coverage", step_map},
	{"hole", "a hole: read as the zero page, allocated on write", step_hole},
	{"power-loss", "a MAP_SYNC store survives a simulated power loss", step_power_loss},
	{"fsync", "fsync flushes only the dirty entries", step_fsync},
	{"truncate", "a truncate waits for a pinned page", step_truncate},
	{"devdax", "a device-DAX region", step_devdax},
};

#define NR_STEPS ((int)(sizeof(steps) / sizeof(steps[0])))

static bool run_step(struct demo *d, int i)
{
	const struct step *s = &steps[i];
	double t0 = now_ms(), ms;
	bool ok;

	if (!d->json) {
		printf("%d. %s\n", i + 1, s->headline);
		fflush(stdout);
	}
	fprintf(d->jf, "%s\n  {\"step\": %d, \"name\": \"%s\"", i ? "," : "", i + 1, s->name);
	d->failed[0] = 0;
	s->run(d);
	ms = now_ms() - t0;
	ok = !d->failed[0];
	if (!ok) {
		say(d, "FAILED: %s", d->failed);
		jstr(d, "failed", d->failed);
	}
	jms(d, "step_ms", ms);
	fprintf(d->jf, ", \"ok\": %s}", json_bool(ok));
	fflush(stdout);
	return ok;
}

/* Releases what the steps share (the pool, /data and its mapping) or a failed one left. */
static bool teardown(struct demo *d)
{
	bool ok = true;

	if (d->map && udax_munmap(d->map, DATA_SIZE))
		ok = false;
	if (d->data && udax_close(d->data))
		ok = false;
	if (d->fs && udax_unmount(d->fs)) {
		fail("demo: %s", udax_errormsg());
		ok = false;
	}
	d->map = NULL;
	d->data = NULL;
	d->fs = NULL;
	return ok;
}

static void demo_usage(FILE *out)
{
	fprintf(out, "usage: udax demo [--dir DIR] [--json]\n"
		     "  The DAX story end to end, on a pool made for it in a new temporary\n"
		     "  directory and removed afterwards: mkfs; write a file; map it (PMD\n"
		     "  coverage); a hole read as the zero page, then allocated on write; a\n"
		     "  MAP_SYNC store surviving a simulated power loss; fsync flushing only\n"
		     "  the dirty entries; a truncate waiting for a pinned page; a device-DAX\n"
		     "  region. As root the pool is on a huge=always tmpfs mounted for the\n"
		     "  demo, else a plain file in /tmp. Runs with UDAX_FORCE_FLUSH=1.\n"
		     "  --dir DIR  make the directory in DIR, with a plain file (no mount)\n"
		     "  --json     one JSON document with every step's numbers\n"
		     "  exit: 0 every step's checks held, 1 a step failed, 2 usage error\n");
}

static void print_intro(struct demo *d)
{
	if (d->json)
		return;
	printf("udax demo in %s: %s\n", scratch.dir, d->huge ? "huge=always tmpfs" : "plain file");
	printf("   why: %s\n", d->why);
	printf("   UDAX_FORCE_FLUSH=1: stores take the cache-line flush path of real pmem (flush "
	       "+ fence), so MAP_SYNC is granted and fsync has lines to flush; the memory stays "
	       "volatile, so the power loss is simulated\n");
}

static void print_json(struct demo *d, int failed, double secs, bool clean)
{
	fputc('\0', d->jf); /* a NUL so jbuf is a string even if nothing was written */
	fflush(d->jf);
	printf("{\"dir\": ");
	json_string(scratch.dir);
	printf(", \"backing\": \"%s\", \"why\": ", d->huge ? "huge-tmpfs" : "file");
	json_string(d->why);
	printf(", \"force_flush\": true,\n \"steps\": [%s\n ],\n \"seconds\": %.3f, "
	       "\"steps_failed\": %d, \"cleaned_up\": %s, \"ok\": %s}\n",
	       d->jbuf, secs, failed, json_bool(clean), json_bool(!failed && clean));
}

static void print_summary(int failed, const bool *ok, double secs, bool clean)
{
	printf("demo: %d of %d steps held in %.1f s; %s\n", NR_STEPS - failed, NR_STEPS, secs,
	       clean ? "everything it made is removed" : "CLEANUP FAILED");
	if (!failed)
		return;
	printf("failed:");
	for (int i = 0; i < NR_STEPS; i++)
		if (!ok[i])
			printf(" %d (%s)", i + 1, steps[i].name);
	printf("\n");
}

static int run_demo(struct demo *d)
{
	double t0 = now_ms(), secs;
	bool ok[NR_STEPS], clean;
	int failed = 0;

	print_intro(d);
	for (int i = 0; i < NR_STEPS; i++) {
		ok[i] = run_step(d, i);
		failed += !ok[i];
	}
	clean = teardown(d);
	clean = scratch_undo() && clean;
	secs = (now_ms() - t0) / 1e3;
	if (d->json)
		print_json(d, failed, secs, clean);
	else
		print_summary(failed, ok, secs, clean);
	if (!clean)
		fail("demo: could not remove everything in %s", scratch.dir);
	return failed || !clean ? EXIT_FAIL : EXIT_OK;
}

int cmd_demo(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct demo d = {0};
	const char *dir = NULL;
	int c, ret;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'j':
			d.json = true;
			break;
		case 'h':
			demo_usage(stdout);
			return EXIT_OK;
		default:
			return usage_line(demo_usage);
		}
	}
	if (optind != argc)
		return usage_error(demo_usage, "demo: unexpected argument \"%s\"", argv[optind]);
	if (scratch_begin("demo", dir))
		return EXIT_FAIL;
	d.jf = open_memstream(&d.jbuf, &d.jlen);
	if (!d.jf)
		return fail("demo: out of memory");
	scratch_catch_signals();
	ret = make_backing(&d, dir);
	if (!ret)
		ret = run_demo(&d);
	fclose(d.jf);
	free(d.jbuf);
	return ret;
}
