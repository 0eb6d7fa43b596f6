// SPDX-License-Identifier: MIT
/*
 * pmem_bench - persistence primitives side by side: udax, libpmem2 (when built
 * with it) and plain memcpy + clwb + sfence, all flushing cache lines on the
 * same DRAM-backed file (udax and libpmem2 are both forced to cache-line
 * granularity). Also measures the temporal/non-temporal crossover that sets
 * PMEM_NT_THRESHOLD.
 *
 * usage: pmem_bench [FILE]   (default: a file in /dev/shm, removed at exit)
 */
#include <emmintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LIBPMEM2
#include <libpmem2.h>
#endif

#include "udax.h"
#include "pmem/pmem_internal.h"

#define MiB	  (1ul << 20)
#define FILE_SIZE (64 * MiB)
#define WORKSET	  (32 * MiB) /* destinations rotate through this much media */
#define ROUNDS	  3	     /* best of, to shed noise from other load */
#define ROUND_NS  30000000ll /* time spent per round and measurement */

typedef void (*copy_fn)(void *dst, const void *src, size_t len);
typedef void (*flush_fn)(const void *addr, size_t len);

static struct pmem *pm;
static char *udax_base, *src_buf;
#ifdef HAVE_LIBPMEM2
static char *pmem2_base;
static pmem2_memcpy_fn pmem2_memcpy;
static pmem2_persist_fn pmem2_persist;
#endif

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void udax_copy(void *dst, const void *src, size_t len)
{
	pmem_memcpy_persist(pm, dst, src, len);
}

static void udax_copy_temporal(void *dst, const void *src, size_t len)
{
	pmem_copy_temporal(pm, dst, src, len);
	pmem_drain(pm);
}

static void udax_copy_nt(void *dst, const void *src, size_t len)
{
	pmem_copy_nt(pm, dst, src, len);
	pmem_drain(pm);
}

static void plain_flush(const void *addr, size_t len)
{
	for (uintptr_t p = (uintptr_t)addr & ~63ul; p < (uintptr_t)addr + len; p += 64)
		__asm__ volatile("clwb %0" : "+m"(*(volatile char *)p));
	_mm_sfence();
}

static void plain_copy(void *dst, const void *src, size_t len)
{
	memcpy(dst, src, len);
	plain_flush(dst, len);
}

static void udax_flush(const void *addr, size_t len)
{
	pmem_persist(pm, addr, len);
}

#ifdef HAVE_LIBPMEM2
static void pmem2_copy(void *dst, const void *src, size_t len)
{
	pmem2_memcpy(dst, src, len, 0);
}

static void pmem2_flush(const void *addr, size_t len)
{
	pmem2_persist(addr, len);
}
#define PMEM2_OP(fn) fn
#else
#define PMEM2_OP(fn) NULL
#endif

/* Best-of-rounds nanoseconds per persistent copy of @len bytes. */
static double time_copy(copy_fn fn, char *base, size_t len)
{
	size_t stride = (len + 63) & ~63ul, slots = WORKSET / stride;
	double best = 1e30;

	for (int r = 0; r < ROUNDS; r++) {
		long long start = now_ns(), t;
		size_t n = 0;

		do {
			for (int i = 0; i < 16; i++, n++)
				fn(base + (n % slots) * stride, src_buf, len);
			t = now_ns() - start;
		} while (t < ROUND_NS);
		if ((double)t / (double)n < best)
			best = (double)t / (double)n;
	}
	return best;
}

/* Best-of-rounds nanoseconds to persist @len freshly dirtied bytes (the dirtying is not timed). */
static double time_flush(flush_fn fn, char *base, size_t len)
{
	size_t slots = WORKSET / len;
	double best = 1e30;

	for (int r = 0; r < ROUNDS; r++) {
		long long spent = 0, start = now_ns();
		size_t n = 0;

		while (now_ns() - start < ROUND_NS) {
			char *p = base + (n++ % slots) * len;
			long long t0;

			for (size_t i = 0; i < len; i += 64)
				p[i]++;
			t0 = now_ns();
			fn(p, len);
			spent += now_ns() - t0;
		}
		if ((double)spent / (double)n < best)
			best = (double)spent / (double)n;
	}
	return best;
}

static void print_cell(double ns, size_t len)
{
	printf(" %10.1f ns %7.2f GB/s", ns, (double)len / ns);
}

static void print_size(size_t len)
{
	if (len >= MiB)
		printf("%5zu MiB", len / MiB);
	else if (len >= 1024)
		printf("%5zu KiB", len / 1024);
	else
		printf("%5zu B  ", len);
}

static void print_header(void)
{
	printf("size     | udax                       | plain (memcpy+)clwb+sfence |");
#ifdef HAVE_LIBPMEM2
	printf(" libpmem2                   | udax/libpmem2");
#endif
	printf(" | udax/plain\n");
}

/* One benchmarked operation: a copy or a flush, by udax, by hand and by libpmem2. */
enum impl { UDAX, PLAIN, PMEM2, NR_IMPLS };

struct op_row {
	copy_fn copy[NR_IMPLS];	  /* set for a copy */
	flush_fn flush[NR_IMPLS]; /* set for a flush */
};

static double time_op(const struct op_row *op, enum impl who, size_t len)
{
	char *base = who == PMEM2 ? pmem2_base : udax_base;

	return op->copy[who] ? time_copy(op->copy[who], base, len)
			     : time_flush(op->flush[who], base, len);
}

static void op_table(const char *title, const struct op_row *op, const size_t *sizes, size_t n)
{
	printf("\n%s\n", title);
	print_header();
	for (size_t i = 0; i < n; i++) {
		double u = time_op(op, UDAX, sizes[i]);
		double p = time_op(op, PLAIN, sizes[i]);

		print_size(sizes[i]);
		print_cell(u, sizes[i]);
		print_cell(p, sizes[i]);
#ifdef HAVE_LIBPMEM2
		double l = time_op(op, PMEM2, sizes[i]);

		print_cell(l, sizes[i]);
		printf("  %5.2f", u / l);
#endif
		printf("  %5.2f\n", u / p);
	}
}

static void copy_table(void)
{
	static const size_t sizes[] = {64, 256, 4096, 64 * 1024, 2 * MiB};
	static const struct op_row copy = {.copy = {udax_copy, plain_copy, PMEM2_OP(pmem2_copy)}};

	op_table("memcpy-persist (latency per call, throughput; ratio = udax time / other time)",
		 &copy, sizes, sizeof(sizes) / sizeof(sizes[0]));
}

static void flush_table(void)
{
	static const size_t sizes[] = {4096, 2 * MiB};
	static const struct op_row flush = {
		.flush = {udax_flush, plain_flush, PMEM2_OP(pmem2_flush)}};

	op_table("persist (flush + fence) of freshly dirtied lines", &flush, sizes,
		 sizeof(sizes) / sizeof(sizes[0]));
}

/* The crossover between ordinary stores + clwb and non-temporal stores. */
static void threshold_table(void)
{
	static const size_t sizes[] = {64, 128, 256, 320, 384, 448, 512, 640, 1024, 4096};

	printf("\nudax copy strategies (threshold now %d bytes)\n", PMEM_NT_THRESHOLD);
	printf("size     | temporal (memcpy+clwb)     | non-temporal (movntdq)     | "
	       "nt/temporal\n");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double t = time_copy(udax_copy_temporal, udax_base, sizes[i]);
		double n = time_copy(udax_copy_nt, udax_base, sizes[i]);

		print_size(sizes[i]);
		print_cell(t, sizes[i]);
		print_cell(n, sizes[i]);
		printf("  %5.2f\n", n / t);
	}
}

#ifdef HAVE_LIBPMEM2
static int open_libpmem2(int fd)
{
	struct pmem2_config *cfg;
	struct pmem2_source *src;
	struct pmem2_map *map;

	/* DRAM: make libpmem2 flush cache lines as it would on real pmem */
	setenv("PMEM2_FORCE_GRANULARITY", "CACHE_LINE", 1);
	if (pmem2_config_new(&cfg) || pmem2_source_from_fd(&src, fd) ||
	    pmem2_config_set_required_store_granularity(cfg, PMEM2_GRANULARITY_PAGE) ||
	    pmem2_map_new(&map, cfg, src)) {
		pmem2_perror("libpmem2");
		return -1;
	}
	if (pmem2_map_get_store_granularity(map) != PMEM2_GRANULARITY_CACHE_LINE) {
		fprintf(stderr, "libpmem2 did not take cache-line granularity\n");
		return -1;
	}
	pmem2_base = pmem2_map_get_address(map);
	pmem2_memcpy = pmem2_get_memcpy_fn(map);
	pmem2_persist = pmem2_get_persist_fn(map);
	return 0;
}
#endif

int main(int argc, char **argv)
{
	char path[128];
	const struct pmem_info *in;

	if (argc > 1)
		snprintf(path, sizeof(path), "%s", argv[1]);
	else
		snprintf(path, sizeof(path), "/dev/shm/udax-bench-%d", getpid());
	if (pmem_open(path, PMEM_O_CREATE | PMEM_O_FORCE_FLUSH, FILE_SIZE, &pm) ||
	    pmem_map(pm, 0, FILE_SIZE, PROT_READ | PROT_WRITE, (void **)&udax_base)) {
		fprintf(stderr, "pmem_bench: %s\n", udax_errormsg());
		return 1;
	}
	if (argc == 1)
		unlink(path);
	in = pmem_get_info(pm);
	printf("media: %s (%s; udax forced to %s with %s)\n", path, pmem_kind_name(in->kind),
	       pmem_method_name(in->method), pmem_insn_name(in->insn));
#ifdef HAVE_LIBPMEM2
	if (open_libpmem2(pmem_fd(pm)))
		return 1;
	printf("libpmem2: forced cache-line granularity, same file\n");
#else
	printf("libpmem2: not found at configure time, column omitted\n");
#endif
	src_buf = aligned_alloc(64, 2 * MiB);
	memset(src_buf, 0x5a, 2 * MiB);
	memset(udax_base, 0, FILE_SIZE); /* fault everything in before timing */
	copy_table();
	flush_table();
	threshold_table();
	free(src_buf);
	pmem_close(pm);
	return 0;
}
