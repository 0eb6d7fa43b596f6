// SPDX-License-Identifier: MIT
/*
 * udax bench: the headline workloads, quick, each against a named kernel
 * baseline measured in the same run on the same backing: a file in the same
 * directory, mapped with mmap(2) or written with pwrite(2)
 * (docs/man/udax-bench.md). The full benchmarks are in bench/.
 *
 * Every workload is run ROUNDS times (the k-page fsyncs more), alternating
 * udax and the kernel, and the median round is reported. Afterwards the
 * process's own fault and writeback counters show what the runs cost udax.
 * The scratch directory (cli.h) is removed on every exit path.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define MiB	 ((uint64_t)1 << 20)
#define PG	 ((uint64_t)4096)
#define PMD	 (2 * MiB)
#define ROUNDS	 5
#define SYNC_RDS 15   /* rounds of the k-page fsyncs: each is short */
#define N_APPEND 256  /* appends per round */
#define N_PREAD	 4096 /* preads per round */
#define LOG_SIZE PMD  /* the MAP_SYNC log: one page per store */

#define SIZE_MIN     4
#define SIZE_MAX_MIB 1024
#define SIZE_DEFAULT 64

enum { W_TOUCH, W_HOLE, W_APPEND, W_PREAD, W_FSYNC1, W_FSYNC100, W_MAPSYNC, NR_W };

struct result {
	double udax, kernel; /* ns per op, medians */
	char baseline[160];  /* what the kernel column ran */
	char failed[256];    /* why the workload failed, empty if it did not */
};

static const struct {
	const char *key, *title, *unit;
} work[NR_W] = {
	[W_TOUCH] = {"first-touch", "first touch, read 4 KiB pages of an allocated file",
		     "ns/page"},
	[W_HOLE] = {"hole-fill", "fill a hole through a mapping, 4 KiB pages", "ns/page"},
	[W_APPEND] = {"append-fdatasync", "4 KiB append + fdatasync", "ns/op"},
	[W_PREAD] = {"random-pread", "4 KiB random pread", "ns/op"},
	[W_FSYNC1] = {"fsync-1", "dirty 1 random mapped 4 KiB page + fsync", "ns/op"},
	[W_FSYNC100] = {"fsync-100", "dirty 100 random mapped 4 KiB pages + fsync", "ns/op"},
	[W_MAPSYNC] = {"map-sync-store", "MAP_SYNC 4 KiB store + persist", "ns/op"},
};

struct bench {
	bool json;
	uint64_t size; /* bytes of the mapped and read files */
	bool huge;     /* a huge=always tmpfs is mounted on the directory */
	char why[256];
	struct udax_fs *fs;
	struct udax_info info;
	struct result res[NR_W];
	struct result *cur;
	struct udax_pmd_coverage cov, kcov; /* seen by first touch, udax and kernel */
	bool kcov_ok;
	uint64_t rng;
	uint8_t *buf; /* PG bytes of data to write */
};

/* ---- small helpers ---------------------------------------------------------------------- */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t next_rand(struct bench *b)
{
	b->rng ^= b->rng << 13;
	b->rng ^= b->rng >> 7;
	b->rng ^= b->rng << 17;
	return b->rng;
}

/* Records the first failure of the current workload; returns @cond. */
__attribute__((format(printf, 3, 4))) static bool check(struct bench *b, bool cond, const char *fmt,
							...)
{
	va_list ap;

	if (cond || b->cur->failed[0])
		return cond;
	va_start(ap, fmt);
	vsnprintf(b->cur->failed, sizeof(b->cur->failed), fmt, ap);
	va_end(ap);
	return false;
}

static bool lib_ok(struct bench *b, long ret, const char *what)
{
	return check(b, ret >= 0, "%s: %s", what, udax_errormsg());
}

static bool sys_ok(struct bench *b, bool ok, const char *what)
{
	return check(b, ok, "%s: %s", what, strerror(errno));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* A file of the kernel baseline, in the scratch directory. */
static int kernel_open(struct bench *b, const char *name)
{
	int fd = open(scratch_file(name), O_CREAT | O_RDWR | O_TRUNC, 0600);

	sys_ok(b, fd >= 0, "open kernel file");
	return fd;
}

static bool kernel_fill(struct bench *b, int fd, uint64_t size)
{
	for (uint64_t off = 0; off < size; off += PG)
		if (!sys_ok(b, pwrite(fd, b->buf, PG, (off_t)off) == (ssize_t)PG, "pwrite"))
			return false;
	return sys_ok(b, !fsync(fd), "fsync");
}

static bool udax_fill(struct bench *b, struct udax_file *f, uint64_t size)
{
	for (uint64_t off = 0; off < size; off += MiB) {
		ssize_t n = 0;

		for (uint64_t o = 0; o < MiB && n >= 0; o += PG)
			n = udax_pwrite(f, b->buf, PG, (off_t)(off + o));
		if (!lib_ok(b, n, "pwrite"))
			return false;
	}
	return lib_ok(b, udax_fsync(f), "fsync");
}

/* ---- first touch, hole fill ------------------------------------------------------------- */

/* Reads one byte of each page; returns the ns it took per page, and how many were wrong. */
static double read_pages(const uint8_t *p, uint64_t size, uint64_t *bad)
{
	double t0 = now_ns();

	for (uint64_t off = 0; off < size; off += PG)
		*bad += ((const volatile uint8_t *)p)[off + 7] != 0x5a;
	return (now_ns() - t0) / (double)(size / PG);
}

static double store_pages(uint8_t *p, uint64_t size)
{
	double t0 = now_ns();

	for (uint64_t off = 0; off < size; off += PG)
		((volatile uint8_t *)p)[off + 9] = 0xa5;
	return (now_ns() - t0) / (double)(size / PG);
}

static void udax_touch_round(struct bench *b, struct udax_file *f, double *ns)
{
	uint64_t bad = 0;
	uint8_t *p;

	if (!lib_ok(b, udax_mmap(f, NULL, b->size, PROT_READ, MAP_SHARED, 0, (void **)&p),
		    "udax_mmap"))
		return;
	*ns = read_pages(p, b->size, &bad);
	lib_ok(b, udax_pmd_coverage(p, b->size, &b->cov), "udax_pmd_coverage");
	check(b, !bad, "udax: %" PRIu64 " pages read other bytes", bad);
	lib_ok(b, udax_munmap(p, b->size), "udax_munmap");
}

static void kernel_touch_round(struct bench *b, int fd, double *ns)
{
	uint8_t *p = mmap(NULL, b->size, PROT_READ, MAP_SHARED, fd, 0);
	uint64_t bad = 0;

	if (!sys_ok(b, p != MAP_FAILED, "mmap kernel file"))
		return;
	*ns = read_pages(p, b->size, &bad);
	/* the same smaps reading, for the kernel's own mapping */
	b->kcov_ok = !udax_pmd_coverage(p, b->size, &b->kcov);
	check(b, !bad, "kernel: %" PRIu64 " pages read other bytes", bad);
	munmap(p, b->size);
}

static void run_touch(struct bench *b, struct udax_file *f, int fd)
{
	double u[ROUNDS] = {0}, k[ROUNDS] = {0};

	snprintf(b->cur->baseline, sizeof(b->cur->baseline),
		 "mmap(2) of a file in the directory, the same reads");
	if (!udax_fill(b, f, b->size) || !kernel_fill(b, fd, b->size))
		return;
	for (int r = 0; r < ROUNDS && !b->cur->failed[0]; r++) {
		udax_touch_round(b, f, &u[r]);
		kernel_touch_round(b, fd, &k[r]);
	}
	b->cur->udax = median(u, ROUNDS);
	b->cur->kernel = median(k, ROUNDS);
}

static void udax_hole_round(struct bench *b, struct udax_file *f, double *ns)
{
	uint8_t *p;

	if (!lib_ok(b, udax_ftruncate(f, 0), "udax_ftruncate") ||
	    !lib_ok(b, udax_ftruncate(f, (off_t)b->size), "udax_ftruncate") ||
	    !lib_ok(b,
		    udax_mmap(f, NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p),
		    "udax_mmap"))
		return;
	*ns = store_pages(p, b->size);
	check(b, p[b->size - PG + 9] == 0xa5, "udax: the last store is not there");
	lib_ok(b, udax_munmap(p, b->size), "udax_munmap");
}

static void kernel_hole_round(struct bench *b, int fd, double *ns)
{
	uint8_t *p;

	if (!sys_ok(b, !ftruncate(fd, 0) && !ftruncate(fd, (off_t)b->size), "ftruncate"))
		return;
	p = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!sys_ok(b, p != MAP_FAILED, "mmap kernel file"))
		return;
	*ns = store_pages(p, b->size);
	munmap(p, b->size);
}

static void run_hole(struct bench *b, struct udax_file *f, int fd)
{
	double u[ROUNDS] = {0}, k[ROUNDS] = {0};

	snprintf(b->cur->baseline, sizeof(b->cur->baseline),
		 "mmap(2) of a sparse file in the directory, the same stores");
	for (int r = 0; r < ROUNDS && !b->cur->failed[0]; r++) {
		udax_hole_round(b, f, &u[r]);
		kernel_hole_round(b, fd, &k[r]);
	}
	b->cur->udax = median(u, ROUNDS);
	b->cur->kernel = median(k, ROUNDS);
}

/* ---- append + fdatasync, random pread --------------------------------------------------- */

static double udax_append_round(struct bench *b, struct udax_file *f)
{
	double t0;
	long ret = udax_ftruncate(f, 0);

	if (!lib_ok(b, ret, "udax_ftruncate"))
		return 0;
	t0 = now_ns();
	for (uint64_t i = 0; i < N_APPEND && ret >= 0; i++) {
		ret = udax_pwrite(f, b->buf, PG, (off_t)(i * PG));
		if (ret >= 0)
			ret = udax_fdatasync(f);
	}
	if (!lib_ok(b, ret, "udax append"))
		return 0;
	return (now_ns() - t0) / N_APPEND;
}

static double kernel_append_round(struct bench *b, int fd)
{
	double t0;
	bool ok = !ftruncate(fd, 0);

	t0 = now_ns();
	for (uint64_t i = 0; i < N_APPEND && ok; i++)
		ok = pwrite(fd, b->buf, PG, (off_t)(i * PG)) == (ssize_t)PG && !fdatasync(fd);
	if (!sys_ok(b, ok, "kernel append"))
		return 0;
	return (now_ns() - t0) / N_APPEND;
}

static void run_append(struct bench *b, struct udax_file *f, int fd)
{
	double u[ROUNDS] = {0}, k[ROUNDS] = {0};

	snprintf(b->cur->baseline, sizeof(b->cur->baseline),
		 "pwrite(2) + fdatasync(2) on a file in the directory");
	for (int r = 0; r < ROUNDS && !b->cur->failed[0]; r++) {
		u[r] = udax_append_round(b, f);
		k[r] = kernel_append_round(b, fd);
	}
	b->cur->udax = median(u, ROUNDS);
	b->cur->kernel = median(k, ROUNDS);
}

/* The same random offsets for both, so both read the same pages. */
static void random_pages(struct bench *b, uint64_t *offs, int n)
{
	for (int i = 0; i < n; i++)
		offs[i] = next_rand(b) % (b->size / PG) * PG;
}

static void run_pread(struct bench *b, struct udax_file *f, int fd)
{
	double u[ROUNDS] = {0}, k[ROUNDS] = {0}, t0;
	static uint64_t offs[N_PREAD];
	uint8_t page[PG];
	bool ok = true;

	snprintf(b->cur->baseline, sizeof(b->cur->baseline),
		 "pread(2) of a file in the directory, the same offsets");
	for (int r = 0; r < ROUNDS && ok; r++) {
		random_pages(b, offs, N_PREAD);
		t0 = now_ns();
		for (int i = 0; i < N_PREAD && ok; i++)
			ok = udax_pread(f, page, PG, (off_t)offs[i]) == (ssize_t)PG;
		u[r] = (now_ns() - t0) / N_PREAD;
		if (!check(b, ok && page[7] == 0x5a, "udax_pread: %s", udax_errormsg()))
			break;
		t0 = now_ns();
		for (int i = 0; i < N_PREAD && ok; i++)
			ok = pread(fd, page, PG, (off_t)offs[i]) == (ssize_t)PG;
		k[r] = (now_ns() - t0) / N_PREAD;
		sys_ok(b, ok && page[7] == 0x5a, "pread");
	}
	b->cur->udax = median(u, ROUNDS);
	b->cur->kernel = median(k, ROUNDS);
}

/* ---- fsync of k dirty pages ------------------------------------------------------------- */

static void dirty_pages(struct bench *b, uint8_t *p, int k, uint8_t v)
{
	for (int i = 0; i < k; i++)
		((volatile uint8_t *)p)[next_rand(b) % (b->size / PG) * PG + 11] = v;
}

static void run_fsync(struct bench *b, struct udax_file *f, int fd, int k)
{
	double u[SYNC_RDS] = {0}, kn[SYNC_RDS] = {0}, t0;
	uint8_t *up, *kp;

	snprintf(b->cur->baseline, sizeof(b->cur->baseline),
		 "the same stores to mmap(2) of a file in the directory + msync(MS_SYNC)");
	if (!lib_ok(b,
		    udax_mmap(f, NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, 0,
			      (void **)&up),
		    "udax_mmap"))
		return;
	kp = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!sys_ok(b, kp != MAP_FAILED, "mmap kernel file"))
		goto out;
	/* start both from a clean, fully mapped state */
	store_pages(up, b->size);
	store_pages(kp, b->size);
	lib_ok(b, udax_fsync(f), "udax_fsync");
	sys_ok(b, !msync(kp, b->size, MS_SYNC), "msync");
	for (int r = 0; r < SYNC_RDS && !b->cur->failed[0]; r++) {
		t0 = now_ns();
		dirty_pages(b, up, k, (uint8_t)r);
		lib_ok(b, udax_fsync(f), "udax_fsync");
		u[r] = now_ns() - t0;
		t0 = now_ns();
		dirty_pages(b, kp, k, (uint8_t)r);
		sys_ok(b, !msync(kp, b->size, MS_SYNC), "msync");
		kn[r] = now_ns() - t0;
	}
	b->cur->udax = median(u, SYNC_RDS);
	b->cur->kernel = median(kn, SYNC_RDS);
	munmap(kp, b->size);
out:
	lib_ok(b, udax_munmap(up, b->size), "udax_munmap");
}

/* ---- a MAP_SYNC store + persist --------------------------------------------------------- */

/* The kernel's flush of a MAP_SYNC store, where it grants MAP_SYNC (an fs-DAX directory). */
static void kernel_persist(const void *addr, size_t len)
{
#if defined(__x86_64__)
	for (uintptr_t a = (uintptr_t)addr & ~(uintptr_t)63; a < (uintptr_t)addr + len; a += 64)
		__builtin_ia32_clflush((const void *)a);
	__builtin_ia32_sfence();
#else
	msync((void *)((uintptr_t)addr & ~(PG - 1)), len, MS_SYNC);
#endif
}

static void udax_log_round(struct bench *b, struct udax_file *f, double *ns)
{
	uint8_t *p;
	double t0;

	if (!lib_ok(b, udax_ftruncate(f, 0), "udax_ftruncate") ||
	    !lib_ok(b, udax_ftruncate(f, LOG_SIZE), "udax_ftruncate") ||
	    !lib_ok(b,
		    udax_mmap(f, NULL, LOG_SIZE, PROT_READ | PROT_WRITE,
			      MAP_SHARED_VALIDATE | MAP_SYNC, 0, (void **)&p),
		    "udax_mmap MAP_SHARED_VALIDATE|MAP_SYNC"))
		return;
	t0 = now_ns();
	for (uint64_t off = 0; off < LOG_SIZE; off += PG) {
		memcpy(p + off, b->buf, PG);
		udax_persist(p + off, PG);
	}
	*ns = (now_ns() - t0) / (double)(LOG_SIZE / PG);
	check(b, p[LOG_SIZE - PG + 7] == 0x5a, "udax: the last store is not there");
	lib_ok(b, udax_munmap(p, LOG_SIZE), "udax_munmap");
}

/* MAP_SYNC where the kernel grants it (fs-DAX), else MAP_SHARED and msync of each page. */
static void kernel_log_round(struct bench *b, int fd, double *ns)
{
	uint8_t *p;
	bool sync, ok = true;
	double t0;

	if (!sys_ok(b, !ftruncate(fd, 0) && !ftruncate(fd, LOG_SIZE), "ftruncate"))
		return;
	p = mmap(NULL, LOG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
	sync = p != MAP_FAILED;
	if (!sync)
		p = mmap(NULL, LOG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!sys_ok(b, p != MAP_FAILED, "mmap kernel file"))
		return;
	snprintf(b->cur->baseline, sizeof(b->cur->baseline), "%s",
		 sync ? "mmap(2) MAP_SYNC of a file in the directory, store + clflush + sfence"
		      : "mmap(2) of a file in the directory (MAP_SYNC refused there), store + "
			"msync(MS_SYNC) of the page");
	t0 = now_ns();
	for (uint64_t off = 0; off < LOG_SIZE && ok; off += PG) {
		memcpy(p + off, b->buf, PG);
		if (sync)
			kernel_persist(p + off, PG);
		else
			ok = !msync(p + off, PG, MS_SYNC);
	}
	*ns = (now_ns() - t0) / (double)(LOG_SIZE / PG);
	sys_ok(b, ok, "msync");
	munmap(p, LOG_SIZE);
}

static void run_mapsync(struct bench *b, struct udax_file *f, int fd)
{
	double u[ROUNDS] = {0}, k[ROUNDS] = {0};

	for (int r = 0; r < ROUNDS && !b->cur->failed[0]; r++) {
		udax_log_round(b, f, &u[r]);
		kernel_log_round(b, fd, &k[r]);
	}
	b->cur->udax = median(u, ROUNDS);
	b->cur->kernel = median(k, ROUNDS);
}

/* ---- the run ---------------------------------------------------------------------------- */

struct files {
	struct udax_file *data, *hole, *log, *append;
	int kdata, khole, klog, kappend;
};

static bool open_files(struct bench *b, struct files *fl)
{
	static const int flags = O_CREAT | O_RDWR | O_TRUNC;

	fl->kdata = kernel_open(b, "kernel.data");
	fl->khole = kernel_open(b, "kernel.hole");
	fl->kappend = kernel_open(b, "kernel.append");
	fl->klog = kernel_open(b, "kernel.log");
	return fl->kdata >= 0 && fl->khole >= 0 && fl->kappend >= 0 && fl->klog >= 0 &&
	       lib_ok(b, udax_open(b->fs, "/data", flags, 0644, &fl->data), "open /data") &&
	       lib_ok(b, udax_open(b->fs, "/hole", flags, 0644, &fl->hole), "open /hole") &&
	       lib_ok(b, udax_open(b->fs, "/append", flags, 0644, &fl->append), "open /append") &&
	       lib_ok(b, udax_open(b->fs, "/log", flags, 0644, &fl->log), "open /log");
}

static void close_files(struct files *fl)
{
	struct udax_file *uf[] = {fl->data, fl->hole, fl->log, fl->append};
	int kf[] = {fl->kdata, fl->khole, fl->klog, fl->kappend};

	for (int i = 0; i < 4; i++) {
		if (uf[i])
			udax_close(uf[i]);
		if (kf[i] >= 0)
			close(kf[i]);
	}
}

static void run_workloads(struct bench *b)
{
	struct files fl = {.kdata = -1, .khole = -1, .klog = -1, .kappend = -1};

	b->cur = &b->res[0];
	if (!open_files(b, &fl)) {
		for (int w = 1; w < NR_W; w++)
			snprintf(b->res[w].failed, sizeof(b->res[w].failed), "%s",
				 b->res[0].failed);
		close_files(&fl);
		return;
	}
	b->cur = &b->res[W_TOUCH];
	run_touch(b, fl.data, fl.kdata);
	b->cur = &b->res[W_HOLE];
	run_hole(b, fl.hole, fl.khole);
	b->cur = &b->res[W_APPEND];
	run_append(b, fl.append, fl.kappend);
	b->cur = &b->res[W_PREAD];
	if (check(b, !b->res[W_TOUCH].failed[0], "needs the file first touch wrote"))
		run_pread(b, fl.data, fl.kdata);
	b->cur = &b->res[W_FSYNC1];
	if (check(b, !b->res[W_TOUCH].failed[0], "needs the file first touch wrote"))
		run_fsync(b, fl.data, fl.kdata, 1);
	b->cur = &b->res[W_FSYNC100];
	if (check(b, !b->res[W_TOUCH].failed[0], "needs the file first touch wrote"))
		run_fsync(b, fl.data, fl.kdata, 100);
	b->cur = &b->res[W_MAPSYNC];
	run_mapsync(b, fl.log, fl.klog);
	close_files(&fl);
	for (int w = 0; w < NR_W; w++) {
		b->cur = &b->res[w];
		check(b, b->res[w].udax > 0 && b->res[w].kernel > 0, "a time was not measured");
	}
}

/* ---- the backing ------------------------------------------------------------------------ */

static uint64_t pool_bytes(const struct bench *b)
{
	/* /data, /hole, /append (1 MiB), /log (2 MiB) and room for the metadata */
	return 2 * b->size + 32 * MiB;
}

static int make_backing(struct bench *b, const char *dir)
{
	char opts[96];
	int ret = scratch_make_dir("bench", dir ? dir : "/tmp"), err;

	if (ret)
		return ret;
	if (dir) {
		snprintf(b->why, sizeof(b->why), "--dir given: plain files in it, no mount");
		return EXIT_OK;
	}
	if (geteuid() != 0) {
		snprintf(b->why, sizeof(b->why),
			 "not root, so no huge=always tmpfs can be mounted: plain files in /tmp");
		return EXIT_OK;
	}
	/* the pool and the kernel's files, which are as large as udax's */
	snprintf(opts, sizeof(opts), "huge=always,size=%" PRIu64 "m,mode=0700",
		 (2 * pool_bytes(b)) / MiB);
	err = scratch_mount_tmpfs("udax-bench", opts);
	b->huge = !err;
	if (b->huge)
		snprintf(b->why, sizeof(b->why),
			 "running as root: a huge=always tmpfs mounted for the run, whose 2 MiB "
			 "pages the kernel maps with PMDs, as it maps pmem");
	else
		snprintf(b->why, sizeof(b->why),
			 "mounting a huge=always tmpfs failed (%s): plain files instead",
			 strerror(err));
	return EXIT_OK;
}

static int mount_bench_pool(struct bench *b)
{
	const char *pool = scratch_file("bench.pool");

	if (udax_mkfs(pool, pool_bytes(b), NULL) < 0 || udax_mount(pool, 0, &b->fs) < 0 ||
	    udax_info(b->fs, &b->info) < 0)
		return fail("bench: %s: %s", pool, udax_errormsg());
	return EXIT_OK;
}

/* ---- output ------------------------------------------------------------------------------ */

struct machine {
	char cpu[128];
	long cpus;
	char kernel[65];
};

static void get_machine(struct machine *m)
{
	char line[256];
	struct utsname u;
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(m->cpu, sizeof(m->cpu), "unknown");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && colon) {
			snprintf(m->cpu, sizeof(m->cpu), "%s", colon + 2);
			m->cpu[strcspn(m->cpu, "\n")] = 0;
			break;
		}
	}
	if (f)
		fclose(f);
	m->cpus = sysconf(_SC_NPROCESSORS_ONLN);
	snprintf(m->kernel, sizeof(m->kernel), "%s", uname(&u) ? "unknown" : u.release);
}

static double ratio(const struct result *r)
{
	return r->kernel > 0 ? r->udax / r->kernel : 0;
}

static void print_header(const struct bench *b, const struct machine *m)
{
	printf("udax bench in %s: %s\n", scratch.dir, b->huge ? "huge=always tmpfs" : "plain file");
	printf("   machine: %s, %ld CPUs, kernel %s\n", m->cpu, m->cpus, m->kernel);
	printf("   why: %s\n", b->why);
	printf("   pool: %s udaxfs, backing %s, PMD capable: %s, stores made durable by: %s "
	       "(%s)\n",
	       human_size(pool_bytes(b), (char[32]){0}, 32), b->info.kind,
	       b->info.pmd_capable ? "yes" : "no", b->info.persist, b->info.flush_insn);
	printf("   UDAX_FORCE_FLUSH=1: udax takes the cache-line flush path of real pmem, so "
	       "MAP_SYNC is granted on this emulation backing and fsync flushes lines\n");
	printf("   files of %" PRIu64 " MiB; the kernel column is a file in the same directory; "
	       "medians of %d rounds (fsync: %d)\n\n",
	       b->size / MiB, ROUNDS, SYNC_RDS);
}

static void print_table(const struct bench *b)
{
	printf("%-52s %8s %10s %10s %12s\n", "workload", "unit", "udax", "kernel", "udax/kernel");
	for (int w = 0; w < NR_W; w++) {
		const struct result *r = &b->res[w];

		if (r->failed[0]) {
			printf("%-52s FAILED: %s\n", work[w].title, r->failed);
			continue;
		}
		printf("%-52s %8s %10.0f %10.0f %12.3f\n", work[w].title, work[w].unit, r->udax,
		       r->kernel, ratio(r));
	}
	printf("\nkernel baselines:\n");
	for (int w = 0; w < NR_W; w++)
		printf("  %-18s %s\n", work[w].key, b->res[w].baseline);
	printf("udax/kernel is a ratio of times: below 1, udax was faster\n");
}

static const char *order_name[2] = {"4 KiB", "2 MiB"};

static void print_counters(const struct bench *b, const struct udax_fault_stats *st,
			   const struct udax_writeback_stats *wb)
{
	const struct {
		const char *name;
		const uint64_t *v;
	} rows[] = {
		{"faults", st->faults},	 {"mapped", st->mapped},    {"fallback", st->fallback},
		{"zero page", st->zero}, {"allocating", st->alloc}, {"copy-on-write", st->cow},
		{"SIGBUS", st->sigbus},
	};

	printf("\ncounters of the whole run (udax_fault_stats, udax_writeback_stats):\n");
	printf("  %-14s %10s %10s\n", "", order_name[0], order_name[1]);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		printf("  %-14s %10" PRIu64 " %10" PRIu64 "\n", rows[i].name, rows[i].v[0],
		       rows[i].v[1]);
	printf("  pages mapped ahead of faults: %" PRIu64 "; SIGSEGV delivered: %" PRIu64 "\n",
	       st->around_pages, st->segv);
	printf("  writeback: %" PRIu64 " ranges, %" PRIu64 " dirty entries, %" PRIu64
	       " bytes flushed\n",
	       wb->writebacks, wb->entries, wb->bytes);
	printf("  PMD coverage seen at first touch: udax %" PRIu64 " of %" PRIu64
	       " resident bytes through PMDs",
	       b->cov.pmd_mapped, b->cov.mapped);
	if (b->kcov_ok)
		printf("; kernel %" PRIu64 " of %" PRIu64, b->kcov.pmd_mapped, b->kcov.mapped);
	printf("\n");
}

static void json_num(const char *key, double v)
{
	printf("\"%s\": %.1f", key, v);
}

static void json_faults(const struct udax_fault_stats *st, int o)
{
	printf("{\"faults\": %" PRIu64 ", \"mapped\": %" PRIu64 ", \"fallback\": %" PRIu64
	       ", \"zero\": %" PRIu64 ", \"alloc\": %" PRIu64 ", \"cow\": %" PRIu64
	       ", \"sigbus\": %" PRIu64 "}",
	       st->faults[o], st->mapped[o], st->fallback[o], st->zero[o], st->alloc[o], st->cow[o],
	       st->sigbus[o]);
}

static void print_json(const struct bench *b, const struct machine *m,
		       const struct udax_fault_stats *st, const struct udax_writeback_stats *wb,
		       double secs, bool clean, bool ok)
{
	printf("{\"machine\": {\"cpu\": ");
	json_string(m->cpu);
	printf(", \"cpus\": %ld, \"kernel\": ", m->cpus);
	json_string(m->kernel);
	printf("},\n \"dir\": ");
	json_string(scratch.dir);
	printf(", \"backing\": \"%s\", \"why\": ", b->huge ? "huge-tmpfs" : "file");
	json_string(b->why);
	printf(", \"pool_kind\": ");
	json_string(b->info.kind);
	printf(", \"force_flush\": true, \"size_mib\": %" PRIu64 ",\n \"workloads\": [",
	       b->size / MiB);
	for (int w = 0; w < NR_W; w++) {
		const struct result *r = &b->res[w];

		printf("%s\n  {\"name\": \"%s\", \"title\": \"%s\", \"unit\": \"%s\", ",
		       w ? "," : "", work[w].key, work[w].title, work[w].unit);
		json_num("udax", r->udax);
		printf(", ");
		json_num("kernel", r->kernel);
		printf(", \"ratio\": %.3f, \"baseline\": ", ratio(r));
		json_string(r->baseline);
		if (r->failed[0]) {
			printf(", \"failed\": ");
			json_string(r->failed);
		}
		printf(", \"ok\": %s}", json_bool(!r->failed[0]));
	}
	printf("\n ],\n \"counters\": {\"faults_4k\": ");
	json_faults(st, 0);
	printf(", \"faults_2m\": ");
	json_faults(st, 1);
	printf(",\n  \"around_pages\": %" PRIu64 ", \"segv\": %" PRIu64 ", \"writebacks\": %" PRIu64
	       ", \"writeback_entries\": %" PRIu64 ", \"writeback_bytes\": %" PRIu64
	       ",\n  \"pmd_coverage\": {\"mapped\": %" PRIu64 ", \"pmd_mapped\": %" PRIu64 "}",
	       st->around_pages, st->segv, wb->writebacks, wb->entries, wb->bytes, b->cov.mapped,
	       b->cov.pmd_mapped);
	if (b->kcov_ok)
		printf(", \"kernel_pmd_coverage\": {\"mapped\": %" PRIu64
		       ", \"pmd_mapped\": %" PRIu64 "}",
		       b->kcov.mapped, b->kcov.pmd_mapped);
	printf("},\n \"seconds\": %.3f, \"cleaned_up\": %s, \"ok\": %s}\n", secs, json_bool(clean),
	       json_bool(ok));
}

/* ---- the SVG chart ----------------------------------------------------------------------- */

#define SVG_GROUP 110 /* px per workload */
#define SVG_BAR	  36
#define SVG_H	  300 /* px of the plot area */
#define SVG_TOP	  50
#define SVG_LEFT  60

static void svg_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else
			fputc(*s, f);
	}
}

static void svg_bar(FILE *f, const char *cls, double x, double v, double top)
{
	double h = v / top * SVG_H;

	fprintf(f,
		"    <rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%.1f\"/>\n"
		"    <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.2f</text>\n",
		cls, x, SVG_TOP + SVG_H - h, SVG_BAR, h, x + SVG_BAR / 2.0, SVG_TOP + SVG_H - h - 4,
		v);
}

static void svg_groups(FILE *f, const struct bench *b, double top)
{
	for (int w = 0; w < NR_W; w++) {
		double x = SVG_LEFT + w * SVG_GROUP + 12;

		fprintf(f, "  <g class=\"workload\" id=\"%s\">\n", work[w].key);
		svg_bar(f, "udax", x, ratio(&b->res[w]), top);
		svg_bar(f, "kernel", x + SVG_BAR + 4, b->res[w].kernel > 0 ? 1.0 : 0.0, top);
		fprintf(f,
			"    <text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n"
			"  </g>\n",
			x + SVG_BAR + 2, SVG_TOP + SVG_H + 18, work[w].key);
	}
}

static int write_svg(const struct bench *b, const struct machine *m, FILE *f, const char *path)
{
	int width = SVG_LEFT + NR_W * SVG_GROUP + 20, height = SVG_TOP + SVG_H + 60;
	double top = 1.0;

	for (int w = 0; w < NR_W; w++)
		if (ratio(&b->res[w]) > top)
			top = ratio(&b->res[w]);
	top *= 1.15; /* room for the labels above the bars */
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"font-family=\"sans-serif\" font-size=\"11\">\n"
		"  <style>.udax { fill: #2b6cb0; } .kernel { fill: #a0aec0; }</style>\n"
		"  <text x=\"%d\" y=\"20\" font-size=\"14\">udax bench: time relative to the "
		"kernel on the same backing (kernel = 1, lower is faster)</text>\n"
		"  <text x=\"%d\" y=\"36\">",
		width, height, SVG_LEFT, SVG_LEFT);
	svg_text(f, m->cpu);
	fprintf(f, ", %ld CPUs, kernel ", m->cpus);
	svg_text(f, m->kernel);
	fprintf(f, "; %s, %" PRIu64 " MiB files</text>\n",
		b->huge ? "huge=always tmpfs" : "plain files", b->size / MiB);
	fprintf(f,
		"  <line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e53e3e\" "
		"stroke-dasharray=\"4 3\"/>\n",
		SVG_LEFT, SVG_TOP + SVG_H - SVG_H / top, width - 10, SVG_TOP + SVG_H - SVG_H / top);
	svg_groups(f, b, top);
	fprintf(f,
		"  <rect class=\"udax\" x=\"%d\" y=\"%d\" width=\"12\" height=\"12\"/>\n"
		"  <text x=\"%d\" y=\"%d\">udax</text>\n"
		"  <rect class=\"kernel\" x=\"%d\" y=\"%d\" width=\"12\" height=\"12\"/>\n"
		"  <text x=\"%d\" y=\"%d\">kernel</text>\n</svg>\n",
		SVG_LEFT, height - 22, SVG_LEFT + 16, height - 12, SVG_LEFT + 70, height - 22,
		SVG_LEFT + 86, height - 12);
	if (fclose(f))
		return fail("bench: %s: %s", path, strerror(errno));
	return EXIT_OK;
}

/* ---- the command ------------------------------------------------------------------------- */

static void bench_usage(FILE *out)
{
	fprintf(out,
		"usage: udax bench [--dir DIR] [--size MiB] [--json] [--svg FILE]\n"
		"  udax against the kernel on the same backing, in a new temporary directory\n"
		"  removed afterwards: first touch of an allocated file through a mapping, a\n"
		"  hole filled through a mapping, 4 KiB append + fdatasync, 4 KiB random\n"
		"  pread, fsync after dirtying 1 and 100 mapped pages, a MAP_SYNC 4 KiB store +\n"
		"  persist; then the run's fault and writeback counters and PMD coverage. The\n"
		"  kernel column is a file in the same directory (mmap, pwrite, msync). As\n"
		"  root the directory is a huge=always tmpfs mounted for the run, else /tmp.\n"
		"  Runs with UDAX_FORCE_FLUSH=1.\n"
		"  --dir DIR    make the directory in DIR (plain files, no mount)\n"
		"  --size MiB   size of the mapped and read files, even, %d to %d (default %d)\n"
		"  --json       one JSON object instead of the table\n"
		"  --svg FILE   also write a bar chart of udax/kernel to FILE\n"
		"  exit: 0 every workload ran, 1 one failed, 2 usage error\n",
		SIZE_MIN, SIZE_MAX_MIB, SIZE_DEFAULT);
}

static bool parse_mib(const char *s, uint64_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < SIZE_MIN || v > SIZE_MAX_MIB || v % 2)
		return false;
	*out = v * MiB;
	return true;
}

static int run_bench(struct bench *b, FILE *svg, const char *svg_path)
{
	struct udax_fault_stats st = {0};
	struct udax_writeback_stats wb = {0};
	double t0 = now_ns(), secs;
	struct machine m;
	bool ok = true, clean;
	int ret;

	get_machine(&m);
	ret = mount_bench_pool(b);
	if (!ret) {
		if (!b->json)
			print_header(b, &m);
		fflush(stdout);
		run_workloads(b);
		udax_fault_stats(NULL, &st);
		udax_writeback_stats(&wb);
		for (int w = 0; w < NR_W; w++)
			ok = ok && !b->res[w].failed[0];
	}
	if (b->fs && udax_unmount(b->fs)) {
		fail("bench: %s", udax_errormsg());
		ok = false;
	}
	clean = scratch_undo();
	if (!clean)
		fail("bench: could not remove everything in %s", scratch.dir);
	if (ret) {
		if (svg) { /* no chart without a run */
			fclose(svg);
			unlink(svg_path);
		}
		return ret;
	}
	secs = (now_ns() - t0) / 1e9;
	if (b->json) {
		print_json(b, &m, &st, &wb, secs, clean, ok && clean);
	} else {
		print_table(b);
		print_counters(b, &st, &wb);
		printf("\nbench: %s in %.1f s; %s\n",
		       ok ? "every workload ran" : "A WORKLOAD FAILED", secs,
		       clean ? "everything it made is removed" : "CLEANUP FAILED");
	}
	if (svg && write_svg(b, &m, svg, svg_path))
		ok = false;
	return ok && clean ? EXIT_OK : EXIT_FAIL;
}

int cmd_bench(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'}, {"size", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},      {"svg", required_argument, NULL, 'g'},
		{"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0},
	};
	struct bench b = {.size = SIZE_DEFAULT * MiB, .rng = 0x9e3779b97f4a7c15ull};
	const char *dir = NULL, *svg = NULL;
	FILE *svg_file = NULL;
	int c, ret;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 's':
			if (!parse_mib(optarg, &b.size))
				return usage_error(bench_usage,
						   "bench: bad size \"%s\": an even number of MiB "
						   "from %d to %d",
						   optarg, SIZE_MIN, SIZE_MAX_MIB);
			break;
		case 'j':
			b.json = true;
			break;
		case 'g':
			svg = optarg;
			break;
		case 'h':
			bench_usage(stdout);
			return EXIT_OK;
		default:
			return usage_line(bench_usage);
		}
	}
	if (optind != argc)
		return usage_error(bench_usage, "bench: unexpected argument \"%s\"", argv[optind]);
	if (scratch_begin("bench", dir))
		return EXIT_FAIL;
	b.buf = malloc(PG);
	if (!b.buf)
		return fail("bench: out of memory");
	memset(b.buf, 0x5a, PG);
	/* opened first, so a path that cannot be written fails before the run */
	if (svg && !(svg_file = fopen(svg, "w"))) {
		free(b.buf);
		return fail("bench: %s: %s", svg, strerror(errno));
	}
	scratch_catch_signals();
	ret = make_backing(&b, dir);
	if (!ret)
		ret = run_bench(&b, svg_file, svg);
	else if (svg_file) {
		fclose(svg_file);
		unlink(svg);
	}
	free(b.buf);
	return ret;
}
