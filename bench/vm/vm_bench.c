// SPDX-License-Identifier: MIT
/*
 * vm_bench - the fault engine against the kernel's own faults on the same
 * backing, mapped directly (the baseline):
 *   first read   read one byte per 4 KiB of a fully allocated file
 *   then write   write one byte per 4 KiB of the same mapping
 *   hole fill    write one byte per 4 KiB of a file that is one big hole
 *   read BW      sum of every 8-byte word, steady state (all mapped), best of 5
 *   write BW     memset of the whole mapping, steady state, best of 5
 * on 4 KiB tmpfs (/dev/shm), huge=always tmpfs and hugetlbfs (mounted here
 * when running as root; hugetlbfs gets the huge pages it needs and gives
 * them back). The file system is a linear provider: file offset = media
 * offset, allocation in zeroed 2 MiB chunks, as udaxfs allocates large files.
 *
 * usage: vm_bench [-d DIR] [MiB]   (default 256 MiB; -d: only files in DIR,
 *        e.g. an ext4 -o dax mount in the kvm-dax guest)
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dax/arena.h"
#include "pmem/pmem.h"
#include "vm/vm.h"

#define CHUNK DAX_PMD_SIZE

struct linear {
	struct pmem *pm;
	char *base;
	uint64_t size;
	_Atomic unsigned char *allocated; /* per 2 MiB chunk */
	struct dax_fault_file file;
};

static uint64_t lin_size(void *host)
{
	return ((struct linear *)host)->size;
}

static bool chunk_allocated(struct linear *l, uint64_t c)
{
	return atomic_load(&l->allocated[c]);
}

/* The run of chunks around @c that share its state. */
static void chunk_run(struct linear *l, uint64_t c, uint64_t *first, uint64_t *end)
{
	bool a = chunk_allocated(l, c);
	uint64_t n = l->size / CHUNK;

	for (*first = c; *first > 0 && chunk_allocated(l, *first - 1) == a; (*first)--)
		;
	for (*end = c + 1; *end < n && chunk_allocated(l, *end) == a; (*end)++)
		;
}

static int lin_begin(void *host, uint64_t pos, uint64_t len, unsigned flags, struct iomap *m)
{
	struct linear *l = host;
	uint64_t c = pos / CHUNK, first, end;

	memset(m, 0, sizeof(*m));
	m->pm = l->pm;
	m->base = l->base;
	if (!chunk_allocated(l, c) && (flags & IOMAP_WRITE)) {
		for (uint64_t i = c; i <= (pos + len - 1) / CHUNK; i++) {
			unsigned char no = 0;

			if (atomic_compare_exchange_strong(&l->allocated[i], &no, 1))
				pmem_memset_persist(l->pm, l->base + i * CHUNK, 0, CHUNK);
		}
		m->flags = IOMAP_F_NEW;
	}
	chunk_run(l, c, &first, &end);
	m->offset = first * CHUNK;
	m->length = (end - first) * CHUNK;
	m->addr = m->offset;
	m->type = chunk_allocated(l, c) ? IOMAP_MAPPED : IOMAP_HOLE;
	return 0;
}

static int lin_end(void *host, uint64_t pos, uint64_t len, uint64_t written, unsigned flags,
		   struct iomap *m)
{
	(void)host, (void)pos, (void)len, (void)written, (void)flags, (void)m;
	return 0;
}

static const struct iomap_ops lin_ops = {.iomap_begin = lin_begin, .iomap_end = lin_end};

static struct dax_arena *arena;

static void die(const char *what, int err)
{
	fprintf(stderr, "vm_bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static struct pmem *media_new(const char *dir, uint64_t size)
{
	char path[512];
	struct pmem *pm;
	int ret;

	snprintf(path, sizeof(path), "%s/vm_bench.%d", dir, getpid());
	ret = pmem_open(path, PMEM_O_CREATE, size, &pm);
	if (ret)
		die(path, ret);
	unlink(path);
	return pm;
}

static struct linear *linear_new(const char *dir, uint64_t size, bool allocated)
{
	struct linear *l = calloc(1, sizeof(*l));
	int ret;

	l->pm = media_new(dir, size);
	l->size = size;
	l->allocated = calloc(size / CHUNK, 1);
	ret = pmem_map(l->pm, 0, size, PROT_READ | PROT_WRITE, (void **)&l->base);
	if (ret)
		die("map media", ret);
	if (allocated) {
		memset(l->base, 1, size); /* the blocks exist and hold data */
		memset((void *)l->allocated, 1, size / CHUNK);
	}
	l->file = (struct dax_fault_file){.arena = arena,
					  .mapping = dax_mapping_create(arena),
					  .host = l,
					  .ops = &lin_ops,
					  .i_size = lin_size};
	return l;
}

static void linear_free(struct linear *l)
{
	pmem_unmap(l->base, l->size);
	pmem_close(l->pm);
	free((void *)l->allocated);
	free(l);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double touch_pages(char *p, uint64_t size, bool write)
{
	double t = now_ms();
	unsigned sum = 0;

	for (uint64_t off = 0; off < size; off += DAX_PAGE_SIZE) {
		if (write)
			((volatile char *)p)[off] = 2;
		else
			sum += ((volatile char *)p)[off];
	}
	(void)sum;
	return now_ms() - t;
}

static uint64_t sink;

/* Best of five passes, in GiB/s: the machine is shared, the best pass is the least disturbed. */
static double best_bw(char *p, uint64_t size, bool write)
{
	double best = 0;

	for (int r = 0; r < 5; r++) {
		double t = now_ms(), bw;
		uint64_t sum = 0;

		if (write)
			memset(p, r, size);
		else
			for (uint64_t i = 0; i < size / 8; i++)
				sum += ((uint64_t *)p)[i];
		sink += sum;
		bw = size / ((now_ms() - t) / 1e3) / (1 << 30);
		best = bw > best ? bw : best;
	}
	return best;
}

struct result {
	double first_read, then_write, hole_fill, rbw, wbw;
	uint64_t pmd_bytes, faults_pmd, faults_pte;
};

static char *raw_map(struct pmem *pm, uint64_t size)
{
	void *p;
	int ret = pmem_map(pm, 0, size, PROT_READ | PROT_WRITE, &p);

	if (ret)
		die("raw map", ret);
	return p;
}

static void run_raw(const char *dir, uint64_t size, struct result *r)
{
	struct vm_pmd_coverage cov;
	struct pmem *pm = media_new(dir, size);
	char *fill = raw_map(pm, size), *p;

	memset(fill, 1, size);
	pmem_unmap(fill, size);
	p = raw_map(pm, size);
	r->first_read = touch_pages(p, size, false);
	r->then_write = touch_pages(p, size, true);
	r->rbw = best_bw(p, size, false);
	r->wbw = best_bw(p, size, true);
	vm_pmd_coverage(p, size, &cov);
	r->pmd_bytes = cov.pmd_mapped;
	pmem_unmap(p, size);
	pmem_close(pm);
	pm = media_new(dir, size);
	p = raw_map(pm, size);
	r->hole_fill = touch_pages(p, size, true);
	pmem_unmap(p, size);
	pmem_close(pm);
}

static char *udax_map(struct linear *l)
{
	void *p;
	int ret = vm_mmap(&l->file, NULL, l->size, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &p);

	if (ret)
		die("vm_mmap", ret);
	return p;
}

static void run_udax(const char *dir, uint64_t size, struct result *r)
{
	struct linear *l = linear_new(dir, size, true);
	struct vm_pmd_coverage cov;
	struct vm_fault_stats st;
	char *p = udax_map(l);

	r->first_read = touch_pages(p, size, false);
	r->then_write = touch_pages(p, size, true);
	r->rbw = best_bw(p, size, false);
	r->wbw = best_bw(p, size, true);
	vm_pmd_coverage(p, size, &cov);
	vm_fault_stats(p, &st);
	r->pmd_bytes = cov.pmd_mapped;
	r->faults_pmd = st.faults[VM_ORDER_PMD];
	r->faults_pte = st.faults[VM_ORDER_PTE];
	vm_munmap(p, size);
	linear_free(l);
	l = linear_new(dir, size, false);
	p = udax_map(l);
	r->hole_fill = touch_pages(p, size, true);
	vm_munmap(p, size);
	linear_free(l);
}

static void row(const char *what, double raw, double udax, const char *unit)
{
	printf("  %-12s %10.1f %10.1f %8.3f  %s\n", what, raw, udax, udax / raw, unit);
}

static void bench_backing(const char *name, const char *dir, uint64_t size)
{
	struct result raw = {0}, udax = {0};

	run_raw(dir, size, &raw);
	run_udax(dir, size, &udax);
	printf("%s (%s), %llu MiB\n", name, dir, (unsigned long long)(size >> 20));
	printf("  %-12s %10s %10s %8s\n", "", "kernel", "udax", "ratio");
	row("first read", raw.first_read, udax.first_read, "ms");
	row("then write", raw.then_write, udax.then_write, "ms");
	row("hole fill", raw.hole_fill, udax.hole_fill, "ms");
	row("read BW", raw.rbw, udax.rbw, "GiB/s");
	row("write BW", raw.wbw, udax.wbw, "GiB/s");
	printf("  PMD-mapped: kernel %llu MiB, udax %llu MiB; udax faults: %llu PMD, %llu PTE\n\n",
	       (unsigned long long)(raw.pmd_bytes >> 20),
	       (unsigned long long)(udax.pmd_bytes >> 20), (unsigned long long)udax.faults_pmd,
	       (unsigned long long)udax.faults_pte);
}

/* Mounts @type at a new directory under /tmp; NULL if not possible. */
static const char *mount_tmp(const char *type, const char *opts, char *dir, size_t n)
{
	snprintf(dir, n, "/tmp/vm_bench.%s.%d", type, getpid());
	if (mkdir(dir, 0700))
		return NULL;
	if (mount("vm_bench", dir, type, 0, opts)) {
		rmdir(dir);
		return NULL;
	}
	return dir;
}

static void unmount_tmp(const char *dir)
{
	umount2(dir, MNT_DETACH);
	rmdir(dir);
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static bool write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	bool ok = f && fprintf(f, "%ld\n", v) > 0;

	if (f)
		ok = !fclose(f) && ok;
	return ok;
}

int main(int argc, char **argv)
{
	const char *only = argc > 2 && !strcmp(argv[1], "-d") ? argv[2] : NULL;
	int arg = only ? 3 : 1;
	uint64_t size = (argc > arg ? strtoull(argv[arg], NULL, 0) : 256) << 20;
	size_t asize = dax_arena_size(8192, 256);
	const char *nr_path = "/proc/sys/vm/nr_hugepages";
	long nr_huge = read_long(nr_path);
	char dir[256], opts[64];
	void *mem;
	int ret;

	size = (size + CHUNK - 1) / CHUNK * CHUNK;
	mem = mmap(NULL, asize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || (ret = dax_arena_format(mem, asize, 256, &arena)))
		die("arena", mem == MAP_FAILED ? errno : ret);
	if (only) {
		bench_backing("files in the given directory", only, size);
		return 0;
	}
	bench_backing("tmpfs, 4 KiB pages", "/dev/shm", size);
	snprintf(opts, sizeof(opts), "huge=always,size=%llum",
		 (unsigned long long)(3 * size >> 20));
	if (mount_tmp("tmpfs", opts, dir, sizeof(dir))) {
		bench_backing("tmpfs huge=always", dir, size);
		unmount_tmp(dir);
	} else {
		printf("huge=always tmpfs: cannot mount (%s), skipped\n\n", strerror(errno));
	}
	if (nr_huge >= 0 && write_long(nr_path, nr_huge + (long)(size / CHUNK) + 4) &&
	    read_long(nr_path) >= nr_huge + (long)(size / CHUNK) + 4 &&
	    mount_tmp("hugetlbfs", "pagesize=2M", dir, sizeof(dir))) {
		bench_backing("hugetlbfs, 2 MiB pages", dir, size);
		unmount_tmp(dir);
	} else {
		printf("hugetlbfs: no huge pages or no mount (%s), skipped\n", strerror(errno));
	}
	if (nr_huge >= 0)
		write_long(nr_path, nr_huge);
	return 0;
}
