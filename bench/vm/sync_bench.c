// SPDX-License-Identifier: MIT
/*
 * sync_bench - what durability of stores made through mappings costs
 * (docs/durability-bench.md), each part against a named baseline measured in
 * the same run:
 *  1 holes   MAP_SHARED_VALIDATE|MAP_SYNC 4 KiB stores into holes, one into a
 *            random page of each 2 MiB region of a sparse file, regions in
 *            random order (so each store allocates and commits), then
 *            udax_persist of the page; also MAP_SHARED + udax_msync of the
 *            page. Baseline: udax's own 4 KiB append + udax_fdatasync.
 *  2 kernel  the same hole workload with mmap(2) on a kernel file in DIR:
 *            MAP_SHARED_VALIDATE|MAP_SYNC + clwb + sfence where the kernel
 *            grants it (ext4 -o dax), else MAP_SHARED + msync of the page;
 *            also on ext4 on a loop device (root, without -d).
 *  3 fsync   udax_fsync after dirtying k random 4 KiB pages of a mapped, fully
 *            allocated file, against flushing (clwb + one sfence) the bytes of
 *            the dirty entries (whole 2 MiB blocks) and the k x 4 KiB stored;
 *            and the kernel's msync(MS_SYNC) of the same workload on a
 *            huge=always tmpfs, on ext4 on a loop device and in DIR (-d).
 *  4 steady  random 8-byte stores into dirty pages of a udax mapping against
 *            an anonymous buffer; the first store into each 2 MiB block after
 *            an fsync (a write-protect fault) against the same store again.
 *
 * usage: sync_bench [-d DIR] [-H] [-a] [-z] [-s MiB] [-n STORES] [-r ROUNDS] [-p PARTS]
 *   -d DIR  pool and kernel files in DIR (e.g. ext4 -o dax in the kvm-dax
 *           guest) instead of /dev/shm; no loop device, no tmpfs mount
 *   -H      pool on the huge=always tmpfs this program mounts (root), so the
 *           kernel maps udax's 2 MiB windows with PMDs, as on pmem; default:
 *           /dev/shm (4 KiB pages)
 *   -a      aged pool: every free block is written once before the parts, so
 *           no free space is known to be zero and every allocation zeroes;
 *           default: a fresh pool (its free space known-zero), mounted with
 *           UDAX_MOUNT_POPULATE in both cases so the backing's pages exist
 *           and are mapped, as on a DAX device
 *   -z      mount with UDAX_MOUNT_PREZERO, and before the parts wait until
 *           its thread has zeroed what it can (with -a: every free group)
 *   -s MiB  size of the part 3/4 file (default 1024)
 *   -n N    stores of parts 1 and 2 (default 1024)
 *   -r R    rounds of part 3 and 4 (median; default 3)
 *   -p P    parts to run, e.g. 134 (default 1234)
 *
 * Under bench/perf-sections.sh, perf samples only the udax MAP_SYNC column of
 * part 1 (its stores, and per 128 of them a truncate and a new mapping) and the
 * udax_fsync calls of part 3 (bench_profile).
 *
 * The pool is forced to the cache-line flush path (UDAX_FORCE_FLUSH=1), so
 * every persist and writeback really flushes. The parent process makes the
 * kernel file systems (root only), runs the parts in a child and removes
 * everything it made however the child ends, also on SIGINT, SIGTERM and SIGHUP.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "pmem/pmem.h"
#include "udax.h"

#define BLK	   4096ull
#define PMD	   (2ull << 20)
#define MiB	   (1ull << 20)
#define HOLE_SIZE  (256 * MiB) /* the sparse file of parts 1 and 2: 128 regions */
#define MAX_ROUNDS 15
#define NKDIR	   3

static const uint64_t ks[] = {1, 10, 100, 1000, 10000, 100000};
#define NK (sizeof(ks) / sizeof(ks[0]))

/* A kernel file system the kernel columns use. */
struct kdir {
	const char *name;
	char path[300];
	bool on;
};

enum { KD_DIR, KD_EXT4, KD_HUGE };

static struct kdir kdirs[NKDIR] = {
	{.name = "tmpfs (DIR)"}, {.name = "ext4 (loop)"}, {.name = "tmpfs huge=always"}};
static char work_dir[300] = "/dev/shm";
static char pool_path[400], img_path[128], loopdev[64];
static char ext4_mnt[] = "/tmp/sync_bench.ext4.XXXXXX", huge_mnt[] = "/tmp/sync_bench.huge.XXXXXX";
static int setup_stage; /* bits: 1 image, 2 loop, 4 ext4 mounted, 8 huge mounted */
static uint64_t file_size = 1024 * MiB, nstores = 1024;
static int rounds = 3;
static const char *parts = "1234";
static bool given_dir, pool_huge, aged, prezero;
static volatile pid_t child;

static struct udax_fs *ufs;
static struct pmem *flush_pm; /* a forced-flush handle: clwb + sfence on any address */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static void die(const char *what, long ret)
{
	fprintf(stderr, "sync_bench: %s: %s %s\n", what, strerror((int)(ret < 0 ? -ret : ret)),
		udax_errormsg());
	exit(1);
}

static void check(long ret, const char *what)
{
	if (ret < 0)
		die(what, ret);
}

static long sys_ret(long ret)
{
	return ret < 0 ? -errno : ret;
}

static bool part_on(char p)
{
	return strchr(parts, p) != NULL;
}

/* @n distinct random values below @range, in random order (a partial shuffle). */
static uint64_t *pick(uint64_t n, uint64_t range)
{
	uint64_t *all = malloc(range * sizeof(*all));

	if (!all)
		die("malloc", -ENOMEM);
	for (uint64_t i = 0; i < range; i++)
		all[i] = i;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t j = i + xorshift(&rng_state) % (range - i), t = all[i];

		all[i] = all[j];
		all[j] = t;
	}
	return all;
}

/* ---- part 1 and 2: 4 KiB stores into holes ---- */

enum persist_how { BY_UDAX_PERSIST, BY_UDAX_MSYNC, BY_FLUSH, BY_MSYNC, BY_NONE };

struct lat {
	const char *name;
	double *ns; /* one per operation */
	uint64_t n;
	uint64_t alloc_bytes; /* allocated by the operations */
	const char *note;
	bool profile; /* a profile section (bench_profile) around each operation */
};

static void persist_page(char *page, enum persist_how how)
{
	switch (how) {
	case BY_UDAX_PERSIST:
		udax_persist(page, BLK);
		break;
	case BY_UDAX_MSYNC:
		check(udax_msync(page, BLK, MS_SYNC), "udax_msync");
		break;
	case BY_FLUSH:
		pmem_persist(flush_pm, page, BLK);
		break;
	case BY_MSYNC:
		check(sys_ret(msync(page, BLK, MS_SYNC)), "msync");
		break;
	case BY_NONE:
		break;
	}
}

/* One store into a random page of each 2 MiB region of @p, regions in random order. */
static void store_holes(char *p, uint64_t nreg, enum persist_how how, struct lat *l)
{
	uint64_t *order = pick(nreg, nreg);

	for (uint64_t i = 0; i < nreg && l->n < nstores; i++) {
		char *page = p + order[i] * PMD + xorshift(&rng_state) % (PMD / BLK) * BLK;
		double t = now_ns();

		memset(page, (int)(i | 1), BLK);
		persist_page(page, how);
		l->ns[l->n++] = now_ns() - t;
	}
	free(order);
}

static void lat_init(struct lat *l, const char *name)
{
	*l = (struct lat){.name = name, .ns = calloc(nstores, sizeof(double))};
	if (!l->ns)
		die("calloc", -ENOMEM);
}

static void holes_udax(int flags, enum persist_how how, struct lat *l)
{
	uint64_t nreg = HOLE_SIZE / PMD;
	struct udax_stat st;
	struct udax_file *f;
	void *p;

	check(udax_open(ufs, "/holes", O_CREAT | O_RDWR | O_TRUNC, 0644, &f), "open /holes");
	/* per round, not per store: switching perf costs more than a store */
	bench_profile(l->profile);
	while (l->n < nstores) {
		check(udax_ftruncate(f, (off_t)HOLE_SIZE), "ftruncate /holes");
		check(udax_mmap(f, NULL, HOLE_SIZE, PROT_READ | PROT_WRITE, flags, 0, &p),
		      "udax_mmap /holes");
		store_holes(p, nreg, how, l);
		check(udax_fstat(f, &st), "fstat");
		l->alloc_bytes += st.blocks * BLK;
		check(udax_munmap(p, HOLE_SIZE), "udax_munmap");
		check(udax_ftruncate(f, 0), "ftruncate 0");
	}
	if (l->profile)
		bench_profile(false);
	check(udax_close(f), "close");
	check(udax_unlink(ufs, "/holes"), "unlink");
}

/* The hole workload through udax_pwrite + udax_fdatasync: the same allocations, no fault. */
static void pwrite_holes_udax(struct lat *l)
{
	static char block[BLK];
	uint64_t nreg = HOLE_SIZE / PMD, *order;
	struct udax_stat st;
	struct udax_file *f;

	check(udax_open(ufs, "/pholes", O_CREAT | O_RDWR | O_TRUNC, 0644, &f), "open /pholes");
	while (l->n < nstores) {
		check(udax_ftruncate(f, (off_t)HOLE_SIZE), "ftruncate /pholes");
		order = pick(nreg, nreg);
		for (uint64_t i = 0; i < nreg && l->n < nstores; i++) {
			uint64_t off = order[i] * PMD + xorshift(&rng_state) % (PMD / BLK) * BLK;
			double t = now_ns();
			ssize_t ret;

			memset(block, (int)(i | 1), BLK);
			ret = udax_pwrite(f, block, BLK, (off_t)off);
			if (ret != (ssize_t)BLK)
				die("udax_pwrite", ret < 0 ? ret : -EIO);
			check(udax_fdatasync(f), "udax_fdatasync");
			l->ns[l->n++] = now_ns() - t;
		}
		free(order);
		check(udax_fstat(f, &st), "fstat");
		l->alloc_bytes += st.blocks * BLK;
		check(udax_ftruncate(f, 0), "ftruncate 0");
	}
	check(udax_close(f), "close");
	check(udax_unlink(ufs, "/pholes"), "unlink");
}

static void append_udax(struct lat *l)
{
	static char block[BLK];
	struct udax_stat st;
	struct udax_file *f;

	memset(block, 0x5a, sizeof(block));
	check(udax_open(ufs, "/append", O_CREAT | O_WRONLY | O_TRUNC, 0644, &f), "open /append");
	while (l->n < nstores) {
		double t = now_ns();
		ssize_t ret = udax_pwrite(f, block, BLK, (off_t)(l->n * BLK));

		if (ret != (ssize_t)BLK)
			die("udax_pwrite", ret < 0 ? ret : -EIO);
		check(udax_fdatasync(f), "udax_fdatasync");
		l->ns[l->n++] = now_ns() - t;
	}
	check(udax_fstat(f, &st), "fstat");
	l->alloc_bytes = st.blocks * BLK;
	check(udax_close(f), "close");
	check(udax_unlink(ufs, "/append"), "unlink");
}

/*
 * The trap floor: what any store into a hole costs that user space serves by
 * a SIGSEGV, with no file system at all. A file beside the pool, its pages
 * made once; a PROT_NONE reservation; the handler maps the 2 MiB window of
 * the file under the faulting address (one mmap, as udax's fault does) and
 * the store retries. Timed as the udax MAP_SYNC row: memset of 4 KiB and a
 * flush of it. The handler is installed under udax's (glibc's __sigaction,
 * as udax itself) and udax's is put back after.
 */
extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *oldact);

static struct {
	char *base;
	int fd, flags;
} floor_win;

static void floor_segv(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr & ~(uintptr_t)(PMD - 1);

	(void)sig, (void)uc;
	if (syscall(SYS_mmap, a, PMD, PROT_READ | PROT_WRITE, floor_win.flags | MAP_FIXED,
		    floor_win.fd, (off_t)(a - (uintptr_t)floor_win.base)) == -1)
		abort(); /* the store would fault for ever */
}

static void holes_floor(struct lat *l)
{
	struct sigaction ours = {.sa_sigaction = floor_segv, .sa_flags = SA_SIGINFO | SA_NODEFER},
			 saved;
	char path[420];
	void *p;

	snprintf(path, sizeof(path), "%s.floor", pool_path);
	floor_win.fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	check(sys_ret(floor_win.fd), path);
	unlink(path);
	check(sys_ret(ftruncate(floor_win.fd, (off_t)HOLE_SIZE)), "ftruncate floor");
	/* as udax's pool windows: MAP_SYNC where the kernel grants it (a DAX file) */
	floor_win.flags = MAP_SHARED_VALIDATE | MAP_SYNC;
	p = mmap(NULL, HOLE_SIZE, PROT_READ | PROT_WRITE, floor_win.flags, floor_win.fd, 0);
	if (p == MAP_FAILED) {
		floor_win.flags = MAP_SHARED;
		p = mmap(NULL, HOLE_SIZE, PROT_READ | PROT_WRITE, floor_win.flags, floor_win.fd, 0);
	}
	if (p == MAP_FAILED)
		die("mmap floor", -errno);
	memset(p, 0, HOLE_SIZE); /* the file's pages exist, as the populated pool's */
	munmap(p, HOLE_SIZE);
	sigemptyset(&ours.sa_mask);
	check(sys_ret(__sigaction(SIGSEGV, &ours, &saved)), "sigaction floor");
	while (l->n < nstores) {
		char *res = mmap(NULL, HOLE_SIZE + PMD, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (res == MAP_FAILED)
			die("mmap floor reservation", -errno);
		floor_win.base = (char *)(((uintptr_t)res + PMD - 1) & ~(uintptr_t)(PMD - 1));
		store_holes(floor_win.base, HOLE_SIZE / PMD, BY_FLUSH, l);
		munmap(res, HOLE_SIZE + PMD);
	}
	check(sys_ret(__sigaction(SIGSEGV, &saved, NULL)), "sigaction restore");
	close(floor_win.fd);
	l->note = "no udax; 2 MiB windows, MAP_SYNC";
	if (floor_win.flags == MAP_SHARED)
		l->note = "no udax; 2 MiB windows, MAP_SHARED";
}

static void kpath(const struct kdir *d, const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "%s/sync_bench.%s.%d", d->path, name, getpid());
}

/* The hole workload on a kernel file: MAP_SYNC + clwb where granted, else msync. */
static void holes_kernel(const struct kdir *d, struct lat *l)
{
	enum persist_how how = BY_FLUSH;
	char path[400];
	struct stat st;
	int fd;

	kpath(d, "holes", path, sizeof(path));
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	check(sys_ret(fd), path);
	l->note = "MAP_SYNC + clwb + sfence";
	while (l->n < nstores) {
		char *p;

		check(sys_ret(ftruncate(fd, (off_t)HOLE_SIZE)), "ftruncate");
		check(sys_ret(fsync(fd)), "fsync");
		p = mmap(NULL, HOLE_SIZE, PROT_READ | PROT_WRITE,
			 how == BY_FLUSH ? MAP_SHARED_VALIDATE | MAP_SYNC : MAP_SHARED, fd, 0);
		if (p == MAP_FAILED && errno == EOPNOTSUPP && how == BY_FLUSH) {
			how = BY_MSYNC;
			l->note = "MAP_SYNC refused (EOPNOTSUPP): MAP_SHARED + msync of the page";
			continue;
		}
		check(p == MAP_FAILED ? -errno : 0, "mmap");
		store_holes(p, HOLE_SIZE / PMD, how, l);
		check(sys_ret(fstat(fd, &st)), "fstat");
		l->alloc_bytes += (uint64_t)st.st_blocks * 512;
		munmap(p, HOLE_SIZE);
		check(sys_ret(ftruncate(fd, 0)), "ftruncate 0");
	}
	close(fd);
	unlink(path);
}

static void kernel_append(const struct kdir *d, struct lat *l)
{
	static char block[BLK];
	char path[400];
	int fd;

	kpath(d, "append", path, sizeof(path));
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	check(sys_ret(fd), path);
	memset(block, 0x5a, sizeof(block));
	while (l->n < nstores) {
		double t = now_ns();

		if (pwrite(fd, block, BLK, (off_t)(l->n * BLK)) != (ssize_t)BLK)
			die("pwrite", -errno);
		check(sys_ret(fdatasync(fd)), "fdatasync");
		l->ns[l->n++] = now_ns() - t;
	}
	close(fd);
	unlink(path);
}

struct lat_sum {
	double ops, p50, p99;
};

static struct lat_sum lat_row(struct lat *l)
{
	double total = 0;
	struct lat_sum s;

	for (uint64_t i = 0; i < l->n; i++)
		total += l->ns[i];
	s.ops = (double)l->n / (total / 1e9);
	s.p50 = quantile(l->ns, l->n, 0.5) / 1e3;
	s.p99 = quantile(l->ns, l->n, 0.99) / 1e3;
	printf("  %-40s %10.0f %9.2f %9.2f %9.0f  %s\n", l->name, s.ops, s.p50, s.p99,
	       (double)l->alloc_bytes / (double)l->n / 1024, l->note ? l->note : "");
	free(l->ns);
	return s;
}

/* Kernel columns of part 2: tmpfs refuses MAP_SYNC and its msync does nothing, so none there. */
static bool hole_column(int i)
{
	return kdirs[i].on && i != KD_HUGE && (i != KD_DIR || given_dir);
}

/* -a: writes the pool's free space once and frees it: nothing is known-zero any more. */
static void age_pool(void)
{
	struct udax_statfs sf;
	struct udax_file *f;
	uint64_t len;
	void *p;

	check(udax_statfs(ufs, &sf), "statfs");
	len = (sf.blocks_free - 1024) * BLK / PMD * PMD;
	check(udax_open(ufs, "/warm", O_CREAT | O_RDWR, 0644, &f), "open /warm");
	check(udax_fallocate(f, 0, 0, (off_t)len), "fallocate /warm");
	/* stores reach every block, also where a file system below keeps unwritten extents */
	check(udax_mmap(f, NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &p), "mmap /warm");
	memset(p, 0, len);
	check(udax_fsync(f), "fsync /warm");
	check(udax_munmap(p, len), "munmap /warm");
	check(udax_close(f), "close");
	check(udax_unlink(ufs, "/warm"), "unlink");
}

static uint64_t prezeroed_now(void)
{
	struct udax_statfs sf;

	check(udax_statfs(ufs, &sf), "statfs");
	return sf.pmd_prezeroed;
}

/* -z: until the pre-zeroing thread has zeroed no more groups for 100 ms (at most 60 s). */
static void wait_prezeroed(void)
{
	uint64_t last = UINT64_MAX, now;

	for (int i = 0; i < 600 && (now = prezeroed_now()) != last; i++) {
		last = now;
		usleep(100 * 1000);
	}
}

/* A new pool, mounted; fresh (its free space known-zero) unless -a. */
static void pool_make(void)
{
	uint64_t pool = file_size + HOLE_SIZE + nstores * BLK + 64 * MiB;

	check(udax_mkfs(pool_path, (pool + PMD - 1) / PMD * PMD, NULL), "mkfs");
	/* the backing's pages exist and are mapped, as on a DAX device */
	check(udax_mount(pool_path, UDAX_MOUNT_POPULATE | (prezero ? UDAX_MOUNT_PREZERO : 0), &ufs),
	      "mount");
	if (aged)
		age_pool();
	if (prezero)
		wait_prezeroed();
}

/* Each allocating column starts from the same pool state, not the last one's leftovers. */
static void pool_reset(void)
{
	check(udax_unmount(ufs), "unmount");
	pool_make();
}

static void part_holes(void)
{
	struct lat sync, msy, pw, app, flr, kern[NKDIR], kapp[NKDIR];
	struct lat_sum s_sync, s_app, s_flr, s_k;
	bool kernel = part_on('2');

	lat_init(&sync, "udax MAP_SYNC + udax_persist");
	lat_init(&msy, "udax MAP_SHARED + udax_msync(page)");
	lat_init(&pw, "udax pwrite into the holes + fdatasync");
	lat_init(&app, "udax pwrite append + fdatasync (base)");
	lat_init(&flr, "trap floor: SIGSEGV + mmap + fault + clwb");
	sync.profile = true;
	holes_udax(MAP_SHARED_VALIDATE | MAP_SYNC, BY_UDAX_PERSIST, &sync);
	pool_reset();
	holes_udax(MAP_SHARED, BY_UDAX_MSYNC, &msy);
	pool_reset();
	pwrite_holes_udax(&pw);
	pool_reset();
	append_udax(&app);
	holes_floor(&flr);
	for (int i = 0; kernel && i < NKDIR; i++) {
		if (!hole_column(i))
			continue;
		lat_init(&kern[i], i == KD_DIR ? "kernel mmap, DIR" : "kernel mmap, ext4 (loop)");
		lat_init(&kapp[i], i == KD_DIR ? "kernel pwrite + fdatasync, DIR"
					       : "kernel pwrite + fdatasync, ext4 (loop)");
		holes_kernel(&kdirs[i], &kern[i]);
		kernel_append(&kdirs[i], &kapp[i]);
	}
	printf("\n1%s. 4 KiB stores into holes: one per 2 MiB region of a %llu MiB sparse file,\n"
	       "   random order, each store allocating; %llu operations per column\n",
	       kernel ? "+2" : "", (unsigned long long)(HOLE_SIZE / MiB),
	       (unsigned long long)nstores);
	printf("  %-40s %10s %9s %9s %9s\n", "", "ops/s", "p50 us", "p99 us", "KiB alloc");
	s_sync = lat_row(&sync);
	lat_row(&msy);
	lat_row(&pw);
	s_app = lat_row(&app);
	s_flr = lat_row(&flr);
	printf("  udax MAP_SYNC p50 / append+fdatasync p50 = %.2f (target <= 2: %s)\n",
	       s_sync.p50 / s_app.p50, s_sync.p50 <= 2 * s_app.p50 ? "met" : "MISSED");
	printf("  trap floor p50 / append+fdatasync p50 = %.2f; udax MAP_SYNC p50 - floor p50 = "
	       "%.2f us\n",
	       s_flr.p50 / s_app.p50, s_sync.p50 - s_flr.p50);
	for (int i = 0; kernel && i < NKDIR; i++) {
		if (!hole_column(i))
			continue;
		s_k = lat_row(&kern[i]);
		lat_row(&kapp[i]);
		printf("  udax MAP_SYNC ops/s / %s ops/s = %.2f (target >= 5 against ext4 -o dax "
		       "MAP_SYNC%s)\n",
		       kern[i].name, s_sync.ops / s_k.ops,
		       given_dir ? "" : "; this column is not that baseline");
	}
	fflush(stdout);
}

/* ---- part 3: fsync after dirtying k random pages ---- */

static void dirty_pages(char *p, const uint64_t *pages, uint64_t k, int val)
{
	for (uint64_t i = 0; i < k; i++)
		memset(p + pages[i] * BLK, val, BLK);
}

/* The 2 MiB blocks that @pages touch, as a list; returns how many. */
static uint64_t touched_blocks(const uint64_t *pages, uint64_t k, uint64_t *blocks)
{
	uint64_t nb = file_size / PMD, n = 0;
	unsigned char *seen = calloc(nb, 1);

	for (uint64_t i = 0; i < k; i++)
		if (!seen[pages[i] * BLK / PMD]++)
			blocks[n++] = pages[i] * BLK / PMD;
	free(seen);
	return n;
}

static double flush_time(char *p, const uint64_t *units, uint64_t n, uint64_t unit)
{
	double t = now_ns();

	for (uint64_t i = 0; i < n; i++)
		pmem_flush(flush_pm, p + units[i] * unit, unit);
	pmem_drain(flush_pm);
	return now_ns() - t;
}

struct fsync_row {
	uint64_t blocks;
	double udax, entries, stored; /* ns */
	double kernel[NKDIR];	      /* ns */
};

/* A kernel file of file_size bytes, written and synced, mapped shared. */
struct kmap {
	int fd;
	char *p;
	char path[400];
};

static bool kmap_open(const struct kdir *d, struct kmap *m)
{
	kpath(d, "big", m->path, sizeof(m->path));
	m->fd = open(m->path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	check(sys_ret(m->fd), m->path);
	if (posix_fallocate(m->fd, 0, (off_t)file_size)) {
		printf("  %s: cannot allocate %llu MiB, column skipped\n", d->name,
		       (unsigned long long)(file_size / MiB));
		close(m->fd);
		unlink(m->path);
		return false;
	}
	m->p = mmap(NULL, file_size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
	check(m->p == MAP_FAILED ? -errno : 0, "mmap kernel file");
	madvise(m->p, file_size, MADV_HUGEPAGE);
	memset(m->p, 1, file_size);
	check(sys_ret(msync(m->p, file_size, MS_SYNC)), "msync");
	return true;
}

static void kmap_close(struct kmap *m)
{
	munmap(m->p, file_size);
	close(m->fd);
	unlink(m->path);
}

static double fsync_time(struct udax_file *f)
{
	double t;

	bench_profile(true);
	t = now_ns();
	check(udax_fsync(f), "udax_fsync");
	t = now_ns() - t;
	bench_profile(false);
	return t;
}

/* One k: udax and the raw flushes, rounds interleaved; the medians go to @row. */
static void fsync_k(struct udax_file *f, char *p, uint64_t k, struct kmap *km, bool *kon,
		    struct fsync_row *row)
{
	double u[MAX_ROUNDS], e[MAX_ROUNDS], s[MAX_ROUNDS], kn[NKDIR][MAX_ROUNDS];
	uint64_t npages = file_size / BLK, *blocks = malloc(file_size / PMD * sizeof(*blocks));

	for (int r = 0; r < rounds; r++) {
		uint64_t *pages = pick(k, npages);

		row->blocks = touched_blocks(pages, k, blocks);
		dirty_pages(p, pages, k, r + 2); /* faults (write-protected), untimed */
		e[r] = flush_time(p, blocks, row->blocks, PMD);
		dirty_pages(p, pages, k, r + 3); /* still writable: no faults */
		u[r] = fsync_time(f);
		dirty_pages(p, pages, k, r + 4); /* faults again, untimed */
		s[r] = flush_time(p, pages, k, BLK);
		check(udax_fsync(f), "udax_fsync"); /* clean for the next round */
		for (int i = 0; i < NKDIR; i++) {
			double t;

			if (!kon[i])
				continue;
			dirty_pages(km[i].p, pages, k, r + 2);
			t = now_ns();
			check(sys_ret(msync(km[i].p, file_size, MS_SYNC)), "msync");
			kn[i][r] = now_ns() - t;
		}
		free(pages);
	}
	row->udax = median(u, rounds);
	row->entries = median(e, rounds);
	row->stored = median(s, rounds);
	for (int i = 0; i < NKDIR; i++)
		row->kernel[i] = kon[i] ? median(kn[i], rounds) : 0;
	free(blocks);
}

static void fsync_report(const struct fsync_row *rows, uint64_t nk, const bool *kon)
{
	printf("\n3. fsync after dirtying k random 4 KiB pages (memset of each) of a %llu MiB "
	       "mapped,\n   allocated file; median of %d rounds, times in us. entries = flush "
	       "(clwb) of every\n   dirty 2 MiB block + one sfence; stored = flush of the k x "
	       "4 KiB only + sfence\n",
	       (unsigned long long)(file_size / MiB), rounds);
	printf("  %7s %6s %10s %10s %6s %10s %7s", "k", "blocks", "udax_fsync", "entries", "ratio",
	       "stored", "ratio");
	for (int i = 0; i < NKDIR; i++)
		if (kon[i])
			printf(" %17s", kdirs[i].name);
	printf("\n");
	for (uint64_t j = 0; j < nk; j++) {
		const struct fsync_row *r = &rows[j];

		printf("  %7llu %6llu %10.1f %10.1f %6.2f %10.1f %7.1f", (unsigned long long)ks[j],
		       (unsigned long long)r->blocks, r->udax / 1e3, r->entries / 1e3,
		       r->udax / r->entries, r->stored / 1e3, r->udax / r->stored);
		for (int i = 0; i < NKDIR; i++)
			if (kon[i])
				printf(" %17.1f", r->kernel[i] / 1e3);
		printf("\n");
	}
	printf("  target: udax_fsync within 1.5x of 'entries' (the bytes udax tracks as dirty)\n");
	fflush(stdout);
}

/* ---- part 4: steady state ---- */

static double random_stores(char *p, uint64_t size, uint64_t n)
{
	uint64_t mask = size / 8 - 1, x = rng_state;
	volatile uint64_t *w = (volatile uint64_t *)p;
	double t = now_ns();

	for (uint64_t i = 0; i < n; i++)
		w[xorshift(&x) & mask] = i;
	return (double)n / ((now_ns() - t) / 1e9);
}

static uint64_t faults_of(const void *p)
{
	struct udax_fault_stats st;

	check(udax_fault_stats(p, &st), "udax_fault_stats");
	return st.faults[0] + st.faults[1];
}

static double first_stores(char *p, uint64_t size, uint64_t step)
{
	double t = now_ns();

	for (uint64_t off = 0; off < size; off += step)
		((volatile char *)p)[off] = 7;
	return (now_ns() - t) / (double)(size / step);
}

static char *anon_buffer(uint64_t size, int advice)
{
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	check(p == MAP_FAILED ? -errno : 0, "mmap anonymous");
	madvise(p, size, advice);
	memset(p, 1, size);
	return p;
}

static long minor_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static void part_steady(struct udax_file *f, char *p, struct kmap *km, bool *kon)
{
	uint64_t size = file_size < 256 * MiB ? file_size : 256 * MiB, n = 20000000, f0, f1, f2 = 0;
	double ud[MAX_ROUNDS], thp[MAX_ROUNDS], small[MAX_ROUNDS], wp[MAX_ROUNDS],
		again[MAX_ROUNDS], kwp[MAX_ROUNDS];
	char *anon = anon_buffer(size, MADV_HUGEPAGE), *anon4k = anon_buffer(size, MADV_NOHUGEPAGE);
	struct kmap *k = kon[KD_EXT4] ? &km[KD_EXT4] : kon[KD_DIR] ? &km[KD_DIR] : NULL;
	const char *kname = k == &km[KD_EXT4] ? kdirs[KD_EXT4].name : kdirs[KD_DIR].name;
	struct udax_pmd_coverage cov;
	long kflt = 0;

	memset(p, 1, size); /* every block dirty and writable */
	check(udax_pmd_coverage(p, size, &cov), "udax_pmd_coverage");
	f0 = faults_of(p);
	for (int r = 0; r < rounds; r++) {
		ud[r] = random_stores(p, size, n);
		thp[r] = random_stores(anon, size, n);
		small[r] = random_stores(anon4k, size, n);
	}
	f1 = faults_of(p) - f0;
	for (int r = 0; r < rounds; r++) {
		check(udax_fsync(f), "udax_fsync");
		f0 = faults_of(p);
		wp[r] = first_stores(p, size, PMD);
		f2 = faults_of(p) - f0;
		again[r] = first_stores(p, size, PMD);
		if (k) {
			check(sys_ret(msync(k->p, file_size, MS_SYNC)), "msync");
			kflt = minor_faults();
			kwp[r] = first_stores(k->p, size, BLK);
			kflt = minor_faults() - kflt;
		}
	}
	printf("\n4. steady state, %llu MiB region (%llu MiB of it PMD-mapped), median of %d "
	       "rounds\n",
	       (unsigned long long)(size / MiB), (unsigned long long)(cov.pmd_mapped / MiB),
	       rounds);
	printf("  random 8-byte stores, M stores/s: udax dirty region %.1f; anonymous buffer "
	       "with THP %.1f (ratio %.3f),\n  without THP %.1f (ratio %.3f); udax faults "
	       "during %d x %llu stores: %llu\n",
	       median(ud, rounds) / 1e6, median(thp, rounds) / 1e6,
	       median(ud, rounds) / median(thp, rounds), median(small, rounds) / 1e6,
	       median(ud, rounds) / median(small, rounds), rounds, (unsigned long long)n,
	       (unsigned long long)f1);
	printf("  first store per 2 MiB block after udax_fsync: %.0f ns (%llu faults for %llu "
	       "blocks);\n  the same store again: %.0f ns (base)\n",
	       median(wp, rounds), (unsigned long long)f2, (unsigned long long)(size / PMD),
	       median(again, rounds));
	if (k)
		printf("  kernel, %s: first store per 4 KiB page after msync: %.0f ns (%ld minor "
		       "faults for %llu pages), %.0f ns per 2 MiB\n",
		       kname, median(kwp, rounds), kflt, (unsigned long long)(size / BLK),
		       median(kwp, rounds) * (double)(PMD / BLK));
	munmap(anon, size);
	munmap(anon4k, size);
	fflush(stdout);
}

/* ---- parts 3 and 4 share the big file ---- */

static void part_fsync_steady(void)
{
	struct fsync_row rows[NK];
	struct kmap km[NKDIR];
	bool kon[NKDIR] = {false};
	struct udax_file *f;
	uint64_t nk = 0;
	void *p;

	check(udax_open(ufs, "/big", O_CREAT | O_RDWR | O_TRUNC, 0644, &f), "open /big");
	check(udax_fallocate(f, 0, 0, (off_t)file_size), "fallocate /big");
	check(udax_mmap(f, NULL, file_size, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &p), "mmap");
	memset(p, 1, file_size);
	check(udax_fsync(f), "udax_fsync");
	/* plain tmpfs (the default DIR) has nothing to write back: no column */
	for (int i = 0; i < NKDIR && (part_on('3') || part_on('4')); i++)
		kon[i] = kdirs[i].on && (i != KD_DIR || given_dir) && kmap_open(&kdirs[i], &km[i]);
	while (part_on('3') && nk < NK && ks[nk] <= file_size / BLK / 2) {
		fsync_k(f, p, ks[nk], km, kon, &rows[nk]);
		nk++;
	}
	if (part_on('3'))
		fsync_report(rows, nk, kon);
	if (part_on('3') && nk < NK)
		printf("  k >= %llu skipped: more than half the file's pages\n",
		       (unsigned long long)ks[nk]);
	if (part_on('4'))
		part_steady(f, p, km, kon);
	for (int i = 0; i < NKDIR; i++)
		if (kon[i])
			kmap_close(&km[i]);
	check(udax_munmap(p, file_size), "munmap");
	check(udax_close(f), "close");
	check(udax_unlink(ufs, "/big"), "unlink");
}

/* ---- set-up: the pool, the machine, the kernel file systems ---- */

static int bench(void)
{
	struct udax_info info;
	char path[400];

	setenv("UDAX_FORCE_FLUSH", "1", 1);
	snprintf(path, sizeof(path), "%s/sync_bench.flush.%d", work_dir, getpid());
	check(pmem_open(path, PMEM_O_CREATE | PMEM_O_FORCE_FLUSH, PMD, &flush_pm), path);
	unlink(path);
	pool_make();
	check(udax_info(ufs, &info), "info");
	printf("udax pool: %s, %llu MiB, %s media, persist by %s (%s), UDAX_FORCE_FLUSH=1, %s\n",
	       pool_path, (unsigned long long)(info.media_size / MiB), info.kind, info.persist,
	       info.flush_insn,
	       aged ? "aged (every free block written once), remade for each udax column of part 1"
		    : "fresh (free space known-zero), remade for each udax column of part 1");
	if (prezero)
		printf("udax pool mounted with UDAX_MOUNT_PREZERO: %llu free 2 MiB groups zeroed "
		       "ahead\n",
		       (unsigned long long)prezeroed_now());
	for (int i = 0; i < NKDIR; i++)
		if (kdirs[i].on)
			printf("kernel column %s: %s\n", kdirs[i].name, kdirs[i].path);
	fflush(stdout);
	if (part_on('1') || part_on('2'))
		part_holes();
	if (part_on('3') || part_on('4'))
		part_fsync_steady();
	check(udax_unmount(ufs), "unmount");
	pmem_close(flush_pm);
	return 0;
}

/* Runs a shell command (our own paths only); with @out, its first output line goes there. */
static int run(const char *cmd, char *out, size_t outlen)
{
	FILE *f = popen(cmd, "r");
	char line[256] = "";

	if (!f)
		return -1;
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	while (fgetc(f) != EOF)
		;
	if (out)
		snprintf(out, outlen, "%.*s", (int)strcspn(line, "\n"), line);
	return pclose(f) ? -1 : 0;
}

static const char *ext4_setup(void)
{
	int fd = open(img_path, O_CREAT | O_EXCL | O_WRONLY, 0600);
	char cmd[256];

	if (fd < 0)
		return "cannot create the image in /dev/shm";
	setup_stage |= 1;
	if (ftruncate(fd, (off_t)(file_size + HOLE_SIZE + 256 * MiB))) {
		close(fd);
		return "cannot size the image";
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "losetup -f --show %s", img_path);
	if (run(cmd, loopdev, sizeof(loopdev)) || !loopdev[0])
		return "losetup -f --show failed";
	setup_stage |= 2;
	snprintf(cmd, sizeof(cmd), "mkfs.ext4 -q -F %s 2>&1", loopdev);
	if (run(cmd, NULL, 0))
		return "mkfs.ext4 failed";
	if (!mkdtemp(ext4_mnt) || mount(loopdev, ext4_mnt, "ext4", 0, NULL))
		return "mount failed";
	setup_stage |= 4;
	snprintf(kdirs[KD_EXT4].path, sizeof(kdirs[KD_EXT4].path), "%s", ext4_mnt);
	return NULL;
}

static const char *huge_setup(void)
{
	char opts[64];

	/* room for the kernel column's file and, with -H, the pool and the trap floor's file */
	snprintf(opts, sizeof(opts), "huge=always,size=%llum",
		 (unsigned long long)((2 * file_size + 2 * HOLE_SIZE + nstores * BLK) / MiB + 256));
	if (!mkdtemp(huge_mnt) || mount("sync_bench", huge_mnt, "tmpfs", 0, opts))
		return "mount failed";
	setup_stage |= 8;
	snprintf(kdirs[KD_HUGE].path, sizeof(kdirs[KD_HUGE].path), "%s", huge_mnt);
	return NULL;
}

static void teardown(void)
{
	char cmd[128];

	if (setup_stage & 8)
		umount2(huge_mnt, MNT_DETACH);
	if ((setup_stage & 4) && umount(ext4_mnt) && umount2(ext4_mnt, MNT_DETACH))
		fprintf(stderr, "sync_bench: umount %s: %s\n", ext4_mnt, strerror(errno));
	snprintf(cmd, sizeof(cmd), "losetup -d %s", loopdev);
	if ((setup_stage & 2) && run(cmd, NULL, 0))
		fprintf(stderr, "sync_bench: %s failed\n", cmd);
	if (setup_stage & 1)
		unlink(img_path);
	rmdir(ext4_mnt);
	rmdir(huge_mnt);
	unlink(pool_path);
}

static void on_signal(int sig)
{
	if (child > 0)
		kill(child, sig);
}

static void kernel_setup(void)
{
	const char *why;

	snprintf(kdirs[KD_DIR].path, sizeof(kdirs[KD_DIR].path), "%s", work_dir);
	kdirs[KD_DIR].on = true;
	if (given_dir) {
		kdirs[KD_DIR].name = "DIR (-d)";
		return;
	}
	why = geteuid() ? "not root" : ext4_setup();
	kdirs[KD_EXT4].on = !why;
	if (why)
		printf("ext4 (loop): skipped: %s\n", why);
	why = geteuid() ? "not root" : huge_setup();
	kdirs[KD_HUGE].on = !why;
	if (why)
		printf("tmpfs huge=always: skipped: %s\n", why);
}

static int usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [-d DIR] [-H] [-a] [-z] [-s MiB] [-n STORES] [-r ROUNDS 1..%d] [-p "
		"PARTS]\n",
		argv0, MAX_ROUNDS);
	return 2;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal};
	int opt, st = 1;

	while ((opt = getopt(argc, argv, "d:Hazs:n:r:p:")) != -1) {
		if (opt == 'd') {
			snprintf(work_dir, sizeof(work_dir), "%s", optarg);
			given_dir = true;
		} else if (opt == 'H') {
			pool_huge = true;
		} else if (opt == 'a') {
			aged = true;
		} else if (opt == 'z') {
			prezero = true;
		} else if (opt == 's') {
			file_size = strtoull(optarg, NULL, 0) * MiB / PMD * PMD;
		} else if (opt == 'n') {
			nstores = strtoull(optarg, NULL, 0);
		} else if (opt == 'r') {
			rounds = atoi(optarg);
		} else if (opt == 'p') {
			parts = optarg;
		} else {
			return usage(argv[0]);
		}
	}
	if (file_size < 4 * PMD || !nstores || rounds < 1 || rounds > MAX_ROUNDS ||
	    (pool_huge && given_dir))
		return usage(argv[0]);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* the child may die of it; the parent still tears down */
	snprintf(img_path, sizeof(img_path), "/dev/shm/sync_bench.%d.ext4", getpid());
	print_machine();
	kernel_setup();
	if (pool_huge && !kdirs[KD_HUGE].on) {
		fprintf(stderr, "sync_bench: -H needs the huge=always tmpfs (root)\n");
		teardown();
		return 1;
	}
	snprintf(pool_path, sizeof(pool_path), "%s/sync_bench.%d.pool",
		 pool_huge ? kdirs[KD_HUGE].path : work_dir, getpid());
	fflush(stdout);
	child = fork();
	if (child == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		exit(bench());
	}
	while (child > 0 && waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	teardown();
	if (child < 0 || !WIFEXITED(st))
		fprintf(stderr, "sync_bench: the run did not finish\n");
	return child > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
