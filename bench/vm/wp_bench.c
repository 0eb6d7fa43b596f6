// SPDX-License-Identifier: MIT
/*
 * wp_bench - two ways to learn which parts of a shared file mapping were
 * stored to since the last sync, measured side by side on the same mapping
 * (docs/durability-bench.md, part 5):
 *  mprotect  what udax does: the sync write-protects each dirty 2 MiB block
 *            with mprotect(PROT_READ); the first store into a block raises
 *            SIGSEGV, whose handler makes the block writable again
 *            (mprotect + MADV_POPULATE_WRITE) and marks it dirty;
 *  uffd-wp   userfaultfd asynchronous write-protect (UFFD_FEATURE_WP_ASYNC):
 *            the kernel resolves write faults on protected pages itself and
 *            records them; the sync is one PAGEMAP_SCAN ioctl that returns
 *            the written pages and write-protects them again
 *            (PM_SCAN_WP_MATCHING).
 * Each cycle stores into k random 4 KiB pages (one 8-byte store each), then
 * syncs; only the tracking is timed, no cache flushes (they are the same
 * for both). Backings: a huge=always tmpfs file (mounted here, root only), a
 * 4 KiB tmpfs file in /dev/shm and a plain file in DIR (default /tmp).
 *
 * usage: wp_bench [-s MiB] [-r ROUNDS] [-d DIR]
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

/* The uAPI of Linux 6.7+, for older installed headers. */
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef PAGEMAP_SCAN
#define PAGE_IS_WRITTEN	      (1 << 1)
#define PAGE_IS_HUGE	      (1 << 6)
#define PM_SCAN_WP_MATCHING   (1 << 0)
#define PM_SCAN_CHECK_WPASYNC (1 << 1)
struct page_region {
	uint64_t start, end, categories;
};
struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define BLK	   4096ull
#define PMD	   (2ull << 20)
#define MiB	   (1ull << 20)
#define MAX_ROUNDS 15
#define NVEC	   4096

static const uint64_t ks[] = {1, 10, 100, 1000, 10000};
#define NK (sizeof(ks) / sizeof(ks[0]))

static uint64_t size = 256 * MiB;
static int rounds = 5;
static char huge_mnt[] = "/tmp/wp_bench.XXXXXX", plain_dir[256] = "/tmp";
static bool huge_mounted;
static uint64_t rng_state = 0x2545f4914f6cdd1dull;

/* The mprotect tracker's state, read by its SIGSEGV handler. */
static char *region;
static unsigned char *dirty; /* per 2 MiB block */

static void cleanup(void)
{
	if (huge_mounted)
		umount2(huge_mnt, MNT_DETACH);
	if (huge_mounted)
		rmdir(huge_mnt);
	huge_mounted = false;
}

static void on_signal(int sig)
{
	cleanup();
	_exit(128 + sig);
}

static void die(const char *what)
{
	fprintf(stderr, "wp_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A shared mapping of a new file of @size bytes in @dir, every page written once. */
static char *map_file(const char *dir, int *fdp)
{
	char path[300];
	char *p;
	int fd;

	snprintf(path, sizeof(path), "%s/wp_bench.%d", dir, getpid());
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	if (fd < 0)
		die(path);
	unlink(path);
	if (ftruncate(fd, (off_t)size))
		die("ftruncate");
	/* 2 MiB-aligned, so a huge tmpfs file can be mapped by PMDs */
	p = mmap(NULL, size + PMD, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap reserve");
	p = (char *)(((uintptr_t)p + PMD - 1) & ~(PMD - 1));
	if (mmap(p, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
		die("mmap");
	madvise(p, size, MADV_HUGEPAGE);
	memset(p, 1, size);
	*fdp = fd;
	return p;
}

/* kB of the mapping at @p mapped by PMDs, from /proc/self/smaps. */
static long pmd_kb(const char *p)
{
	char line[256], want[32];
	FILE *f = fopen("/proc/self/smaps", "r");
	bool in = false;
	long kb = 0, v;

	snprintf(want, sizeof(want), "%lx-", (unsigned long)(uintptr_t)p);
	while (f && fgets(line, sizeof(line), f)) {
		if (strchr(line, '-') && strchr(line, '-') < strchr(line, ' '))
			in = !strncmp(line, want, strlen(want));
		else if (in && (sscanf(line, "FilePmdMapped: %ld", &v) == 1 ||
				sscanf(line, "ShmemPmdMapped: %ld", &v) == 1))
			kb += v;
	}
	if (f)
		fclose(f);
	return kb;
}

static void store_pages(char *p, const uint64_t *pages, uint64_t k)
{
	for (uint64_t i = 0; i < k; i++)
		*(volatile uint64_t *)(p + pages[i] * BLK) = i;
}

static uint64_t *pick_pages(uint64_t k)
{
	uint64_t *v = malloc(k * sizeof(*v));

	for (uint64_t i = 0; i < k; i++)
		v[i] = xorshift(&rng_state) % (size / BLK);
	return v;
}

/* ---- mprotect + SIGSEGV, per 2 MiB block ---- */

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr, base = (uintptr_t)region;

	(void)uc;
	if (!region || a < base || a >= base + size) {
		signal(sig, SIG_DFL);
		return;
	}
	a &= ~(PMD - 1);
	syscall(SYS_mprotect, a, PMD, PROT_READ | PROT_WRITE);
	syscall(SYS_madvise, a, PMD, MADV_POPULATE_WRITE);
	dirty[(a - base) / PMD] = 1;
}

/* The sync: write-protect every dirty block and clear its mark. Returns the blocks. */
static uint64_t mprotect_sync(void *arg)
{
	uint64_t n = 0;

	(void)arg;
	for (uint64_t b = 0; b < size / PMD; b++) {
		if (!dirty[b])
			continue;
		if (mprotect(region + b * PMD, PMD, PROT_READ))
			die("mprotect");
		dirty[b] = 0;
		n++;
	}
	return n;
}

struct result {
	bool ok;
	char why[160];
	double store[NK], sync[NK]; /* ns per page stored, ns per sync */
	uint64_t found[NK];	    /* blocks or pages the last sync reported */
	long pmd_before, pmd_after;
};

/* For each k: stores into k random pages, then @sync; medians of the rounds go to @r. */
static void measure(char *p, struct result *r, uint64_t (*sync)(void *), void *arg)
{
	double st[MAX_ROUNDS], sy[MAX_ROUNDS];

	for (unsigned j = 0; j < NK; j++) {
		for (int i = 0; i < rounds; i++) {
			uint64_t *pages = pick_pages(ks[j]);
			double t = now_ns();

			store_pages(p, pages, ks[j]);
			st[i] = (now_ns() - t) / (double)ks[j];
			t = now_ns();
			r->found[j] = sync(arg);
			sy[i] = now_ns() - t;
			free(pages);
		}
		r->store[j] = median(st, rounds);
		r->sync[j] = median(sy, rounds);
	}
}

static void run_mprotect(char *p, struct result *r)
{
	struct sigaction sa = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO};

	region = p;
	dirty = calloc(size / PMD, 1);
	sigaction(SIGSEGV, &sa, NULL);
	r->pmd_before = pmd_kb(p);
	memset(dirty, 1, size / PMD);
	mprotect_sync(NULL);
	measure(p, r, mprotect_sync, NULL);
	r->pmd_after = pmd_kb(p);
	mprotect(p, size, PROT_READ | PROT_WRITE);
	signal(SIGSEGV, SIG_DFL);
	region = NULL;
	free(dirty);
	r->ok = true;
}

/* ---- userfaultfd async write-protect + PAGEMAP_SCAN ---- */

static int uffd_open(char *p, struct result *r)
{
	struct uffdio_api api = {.api = UFFD_API,
				 .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED |
					     UFFD_FEATURE_WP_HUGETLBFS_SHMEM};
	struct uffdio_register reg = {.range = {(uintptr_t)p, size},
				      .mode = UFFDIO_REGISTER_MODE_WP};
	struct uffdio_writeprotect wp = {.range = {(uintptr_t)p, size},
					 .mode = UFFDIO_WRITEPROTECT_MODE_WP};
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);

	if (fd < 0) {
		snprintf(r->why, sizeof(r->why), "userfaultfd: %s", strerror(errno));
		return -1;
	}
	if (ioctl(fd, UFFDIO_API, &api)) {
		snprintf(r->why, sizeof(r->why), "UFFDIO_API with WP_ASYNC: %s", strerror(errno));
	} else if (ioctl(fd, UFFDIO_REGISTER, &reg)) {
		snprintf(r->why, sizeof(r->why), "UFFDIO_REGISTER_MODE_WP: %s", strerror(errno));
	} else if (ioctl(fd, UFFDIO_WRITEPROTECT, &wp)) {
		snprintf(r->why, sizeof(r->why), "UFFDIO_WRITEPROTECT: %s", strerror(errno));
	} else {
		return fd;
	}
	close(fd);
	return -1;
}

/* The sync: report the written pages and write-protect them again; returns the pages. */
struct scan {
	int pm_fd;
	char *p;
	struct page_region *vec;
};

static uint64_t scan_sync(void *arg)
{
	const struct scan *sc = arg;
	struct page_region *vec = sc->vec;
	struct pm_scan_arg a = {.size = sizeof(a),
				.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
				.start = (uintptr_t)sc->p,
				.end = (uintptr_t)sc->p + size,
				.vec = (uintptr_t)vec,
				.vec_len = NVEC,
				.category_mask = PAGE_IS_WRITTEN,
				.return_mask = PAGE_IS_WRITTEN};
	uint64_t pages = 0;
	long n;

	do {
		n = ioctl(sc->pm_fd, PAGEMAP_SCAN, &a);
		if (n < 0)
			die("PAGEMAP_SCAN");
		for (long i = 0; i < n; i++)
			pages += (vec[i].end - vec[i].start) / BLK;
		a.start = a.walk_end;
	} while (a.walk_end < a.end);
	return pages;
}

static void run_uffd(char *p, struct result *r)
{
	struct scan sc = {.pm_fd = open("/proc/self/pagemap", O_RDONLY),
			  .p = p,
			  .vec = calloc(NVEC, sizeof(struct page_region))};
	int ufd;

	if (sc.pm_fd < 0)
		die("/proc/self/pagemap");
	r->pmd_before = pmd_kb(p);
	ufd = uffd_open(p, r);
	if (ufd < 0) {
		close(sc.pm_fd);
		free(sc.vec);
		return;
	}
	scan_sync(&sc);
	measure(p, r, scan_sync, &sc);
	r->pmd_after = pmd_kb(p);
	close(ufd);
	close(sc.pm_fd);
	free(sc.vec);
	r->ok = true;
}

static void print_result(const char *name, const struct result *r, const char *unit)
{
	if (!r->ok) {
		printf("  %-9s does not work here: %s\n", name, r->why);
		return;
	}
	printf("  %-9s PMD-mapped before %ld MiB, after %ld MiB\n", name, r->pmd_before / 1024,
	       r->pmd_after / 1024);
	for (unsigned j = 0; j < NK; j++)
		printf("  %-9s k %6llu: first-store %8.0f ns/page, sync %10.1f us (found %llu "
		       "%s)\n",
		       "", (unsigned long long)ks[j], r->store[j], r->sync[j] / 1e3,
		       (unsigned long long)r->found[j], unit);
}

static void bench_backing(const char *name, const char *dir)
{
	struct result mp = {0}, uf = {0};
	char *p;
	int fd;

	p = map_file(dir, &fd);
	run_mprotect(p, &mp);
	munmap(p, size);
	close(fd);
	p = map_file(dir, &fd);
	run_uffd(p, &uf);
	munmap(p, size);
	close(fd);
	printf("\n%s (%s), %llu MiB shared mapping, median of %d rounds\n", name, dir,
	       (unsigned long long)(size / MiB), rounds);
	print_result("mprotect", &mp, "blocks");
	print_result("uffd-wp", &uf, "pages");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct utsname u;
	int opt;

	while ((opt = getopt(argc, argv, "s:r:d:")) != -1) {
		if (opt == 's')
			size = strtoull(optarg, NULL, 0) * MiB / PMD * PMD;
		else if (opt == 'r')
			rounds = atoi(optarg);
		else if (opt == 'd')
			snprintf(plain_dir, sizeof(plain_dir), "%s", optarg);
		if (opt == '?' || size < PMD || rounds < 1 || rounds > MAX_ROUNDS) {
			fprintf(stderr, "usage: %s [-s MiB] [-r ROUNDS 1..%d] [-d DIR]\n", argv[0],
				MAX_ROUNDS);
			return 2;
		}
	}
	uname(&u);
	printf("wp_bench: kernel %s; times: store = one 8-byte store into each of k random "
	       "4 KiB pages,\nper page; sync = finding what was stored to and write-protecting "
	       "it again (no flush)\n",
	       u.release);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, on_signal); /* e.g. piped into head: unmount all the same */
	atexit(cleanup);
	if (geteuid() || !mkdtemp(huge_mnt) ||
	    mount("wp_bench", huge_mnt, "tmpfs", 0, "huge=always,size=1g"))
		printf("\ntmpfs huge=always: skipped (needs root to mount)\n");
	else
		huge_mounted = true;
	if (huge_mounted && size <= 1024 * MiB - PMD)
		bench_backing("tmpfs huge=always", huge_mnt);
	bench_backing("tmpfs, 4 KiB pages", "/dev/shm");
	bench_backing("file in DIR", plain_dir);
	return 0;
}
