// SPDX-License-Identifier: MIT
/*
 * devdax_bench - map and first-touch a device-DAX region with udax, against
 * the kernel mapping the same backing directly (mmap MAP_SHARED at an
 * address aligned like the region), in one run, with ratios.
 *
 * usage: devdax_bench [-s SIZE] [-r REPS] PATH...
 *   PATH: a directory (a file of SIZE bytes is created in it, filled once
 *         so that no run pays for allocating the backing, and removed at
 *         exit) or a /dev/daxX.Y (its alignment; the first SIZE bytes).
 *   SIZE: bytes, with an optional K, M or G suffix (default 4G).
 * Each row is one backing and alignment; "udax run=unit" bounds every fault
 * to one alignment unit (the kernel device-DAX's own fault size), "udax
 * run=all" is udax's default (one fault maps to the end of the mapping).
 * Times are the best of REPS (default 3): mmap, a store to every 4 KiB page,
 * munmap. bench/devdax/run.sh sets up huge tmpfs and hugetlbfs backings.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "udax_devdax.h"
#include "vm/vm.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)

static uint64_t size = 4 * GiB;
static int reps = 3;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void touch(volatile uint8_t *p, uint64_t len)
{
	for (uint64_t off = 0; off < len; off += 4 * KiB)
		p[off] = (uint8_t)off + 1;
}

/* The kernel's own mapping of @fd at an @align-aligned address; ms, or -1. */
static double kernel_run(int fd, uint64_t len, uint64_t align)
{
	uint64_t a = align > 2 * MiB ? align : 2 * MiB;
	double t0 = now_ms();
	uint8_t *res = mmap(NULL, len + a, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			    -1, 0),
		*p;

	if (res == MAP_FAILED)
		return -1;
	p = (uint8_t *)(((uintptr_t)res + a - 1) & ~(a - 1));
	if (mmap(p, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
		munmap(res, len + a);
		return -1;
	}
	madvise(p, len, MADV_HUGEPAGE);
	touch(p, len);
	munmap(res, len + a);
	return now_ms() - t0;
}

/* udax's mapping of region @dd; ms, and the faults it took in *@faults. */
static double udax_run(struct udax_devdax *dd, uint64_t len, uint64_t *faults)
{
	struct vm_fault_stats st;
	double t0 = now_ms();
	void *p;

	if (udax_devdax_mmap(dd, NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &p))
		return -1;
	touch(p, len);
	vm_fault_stats(p, &st);
	udax_devdax_munmap(p, len);
	*faults = st.faults[0] + st.faults[1];
	return now_ms() - t0;
}

static double best(double a, double b)
{
	return a < 0 ? b : b < a ? b : a;
}

static void bench_row(const char *path, int fd, uint64_t align, uint64_t run)
{
	struct udax_devdax_opts o = {.align = align, .map_run = run};
	struct udax_devdax_info info;
	struct udax_devdax *dd;
	double k = -1, u = -1;
	uint64_t faults = 0, len;

	if (udax_devdax_open(path, &o, &dd)) {
		printf("%-12s %6llu KiB  %-9s  (not possible: %s)\n", "",
		       (unsigned long long)(align >> 10), run ? "unit" : "all", udax_errormsg());
		return;
	}
	udax_devdax_get_info(dd, &info);
	len = size < info.size ? size - size % info.align : info.size; /* a device may be larger */
	for (int i = 0; i < reps; i++) {
		k = best(k, kernel_run(fd, len, info.align));
		u = best(u, udax_run(dd, len, &faults));
	}
	printf("%-12s %6llu KiB  %-9s %9.1f %9.1f %7.2f %9llu %6llu KiB\n", info.kind,
	       (unsigned long long)(info.align >> 10), run ? "unit" : "all", k, u, u / k,
	       (unsigned long long)faults, (unsigned long long)(info.page_size >> 10));
	udax_devdax_close(dd);
}

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	switch (*end) {
	case 'G':
	case 'g':
		return v << 30;
	case 'M':
	case 'm':
		return v << 20;
	case 'K':
	case 'k':
		return v << 10;
	default:
		return v;
	}
}

/* The backing file for @dir, filled once; NULL on failure. */
static const char *make_backing(const char *dir, char *path, size_t n)
{
	int fd;
	void *p;

	snprintf(path, n, "%s/devdax-bench", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)size)) {
		perror(path);
		return NULL;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		close(fd);
		unlink(path);
		return NULL;
	}
	madvise(p, size, MADV_HUGEPAGE);
	touch(p, size);
	munmap(p, size);
	close(fd);
	return path;
}

static void bench_path(const char *arg)
{
	static const uint64_t aligns[] = {4 * KiB, 2 * MiB, 1 * GiB};
	char buf[4096];
	const char *path = arg;
	struct stat st;
	int fd;

	if (stat(arg, &st)) {
		perror(arg);
		return;
	}
	if (S_ISDIR(st.st_mode) && !(path = make_backing(arg, buf, sizeof(buf))))
		return;
	fd = open(path, O_RDWR);
	printf("# %s\n", arg);
	if (S_ISCHR(st.st_mode)) { /* a device has one alignment: its own */
		struct udax_devdax_info in = {0};
		struct udax_devdax *dd;

		if (!udax_devdax_open(path, NULL, &dd)) {
			udax_devdax_get_info(dd, &in);
			udax_devdax_close(dd);
		}
		bench_row(path, fd, 0, 0);
		bench_row(path, fd, 0, in.align);
	}
	for (int i = 0; i < 3 && !S_ISCHR(st.st_mode); i++) {
		bench_row(path, fd, aligns[i], 0);
		bench_row(path, fd, aligns[i], aligns[i]);
	}
	close(fd);
	if (S_ISDIR(st.st_mode))
		unlink(path);
}

int main(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "s:r:")) != -1) {
		if (c == 's')
			size = parse_size(optarg);
		else if (c == 'r')
			reps = atoi(optarg);
		else
			return 2;
	}
	if (optind == argc || !size || reps < 1) {
		fprintf(stderr, "usage: %s [-s SIZE] [-r REPS] DIR|/dev/daxX.Y...\n", argv[0]);
		return 2;
	}
	printf("map + store to every 4 KiB page + munmap, best of %d, %llu MiB per run\n", reps,
	       (unsigned long long)(size >> 20));
	printf("%-12s %10s  %-9s %9s %9s %7s %9s %10s\n", "backing", "align", "udax run",
	       "kernel ms", "udax ms", "ratio", "faults", "page");
	for (int i = optind; i < argc; i++)
		bench_path(argv[i]);
	return 0;
}
