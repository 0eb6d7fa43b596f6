// SPDX-License-Identifier: MIT
/*
 * touch_bench - where the first touch of a fully allocated file goes, phase
 * by phase, for profiling the fault engine (perf record -g on this program
 * sees nothing but the phases below):
 *   kernel first  read one byte per 4 KiB of a fresh direct mapping (kernel faults)
 *   kernel floor  the same loop again over the now populated mapping: pure loads
 *   udax fault    the first access of a fresh udax mapping: the one user-space
 *                 fault, which maps the whole extent
 *   udax rest     the rest of the first read loop (no more user-space faults)
 *   udax floor    the loop again over the populated udax mapping
 *   udax munmap   vm_munmap of the whole mapping (drops the references)
 * Medians of -r rounds. The file is one MAPPED extent at media offset 0 (file
 * offset = media offset); page references go to the media's own counts
 * (pmem_page_get/put), as udaxfs does, unless -n.
 *
 * usage: touch_bench [-d DIR | -H | -T] [-s MiB] [-r ROUNDS] [-n]
 *   -d DIR  media file in DIR (default /dev/shm, 4 KiB pages)
 *   -H      media on a huge=always tmpfs mounted here (root)
 *   -T      media on hugetlbfs mounted here, with the huge pages it needs (root)
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../bench_util.h"
#include "dax/arena.h"
#include "dax/entry_lock.h"
#include "pmem/pmem.h"
#include "vm/vm.h"

#define MAX_ROUNDS 256

struct one_extent {
	struct pmem *pm;
	char *base;
	uint64_t size;
};

static uint64_t ext_size(void *host)
{
	return ((struct one_extent *)host)->size;
}

static int ext_begin(void *host, uint64_t pos, uint64_t len, unsigned flags, struct iomap *m)
{
	struct one_extent *x = host;

	(void)pos, (void)len, (void)flags;
	memset(m, 0, sizeof(*m));
	m->pm = x->pm;
	m->base = x->base;
	m->offset = 0;
	m->length = x->size;
	m->addr = 0;
	m->type = IOMAP_MAPPED;
	return 0;
}

static int ext_end(void *host, uint64_t pos, uint64_t len, uint64_t written, unsigned flags,
		   struct iomap *m)
{
	(void)host, (void)pos, (void)len, (void)written, (void)flags, (void)m;
	return 0;
}

static const struct iomap_ops ext_ops = {.iomap_begin = ext_begin, .iomap_end = ext_end};

static void ext_page_ref(void *host, uint64_t pfn, uint64_t nr, int delta)
{
	struct one_extent *x = host;

	if (delta > 0)
		pmem_page_get(x->pm, pfn, nr);
	else
		pmem_page_put(x->pm, pfn, nr);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "touch_bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static double touch(const char *p, uint64_t from, uint64_t size)
{
	double t = now_ns();
	unsigned sum = 0;

	for (uint64_t off = from; off < size; off += 4096)
		sum += ((const volatile char *)p)[off];
	(void)sum;
	return (now_ns() - t) / 1e6;
}

enum { K_FIRST, K_FLOOR, U_FAULT, U_REST, U_FIRST, U_FLOOR, U_MUNMAP, NR_PHASES };
static const char *const phase_name[NR_PHASES] = {
	"kernel first read", "kernel floor",	"udax fault (1st access)",
	"udax rest of loop", "udax first read", "udax floor",
	"udax munmap",
};

static void round_kernel(struct one_extent *x, double *t)
{
	void *p;
	int ret = pmem_map(x->pm, 0, x->size, PROT_READ | PROT_WRITE, &p);

	if (ret)
		die("map", ret);
	t[K_FIRST] = touch(p, 0, x->size);
	t[K_FLOOR] = touch(p, 0, x->size);
	pmem_unmap(p, x->size);
}

static void round_udax(struct one_extent *x, const struct dax_fault_file *f, double *t)
{
	void *p;
	int ret = vm_mmap(f, NULL, x->size, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &p);
	double s;

	if (ret)
		die("vm_mmap", ret);
	t[U_FAULT] = touch(p, 0, 1);
	t[U_REST] = touch(p, 4096, x->size);
	t[U_FIRST] = t[U_FAULT] + t[U_REST];
	t[U_FLOOR] = touch(p, 0, x->size);
	s = now_ns();
	vm_munmap(p, x->size);
	t[U_MUNMAP] = (now_ns() - s) / 1e6;
}

static char mounted[256];

static const char *mount_here(const char *type, const char *opts)
{
	snprintf(mounted, sizeof(mounted), "/tmp/touch_bench.%s.%d", type, getpid());
	if (mkdir(mounted, 0700))
		die(mounted, errno);
	if (mount("touch_bench", mounted, type, 0, opts)) {
		int e = errno;

		rmdir(mounted);
		die("mount", e);
	}
	return mounted;
}

static void unmount_here(void)
{
	if (mounted[0]) {
		umount2(mounted, MNT_DETACH);
		rmdir(mounted);
	}
}

static long nr_huge_saved = -1;

static void set_nr_huge(long v)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "r+");

	if (!f)
		die("nr_hugepages", errno);
	if (v < 0) {
		if (fscanf(f, "%ld", &nr_huge_saved) != 1)
			die("nr_hugepages", EIO);
		rewind(f);
		v = nr_huge_saved;
	}
	fprintf(f, "%ld\n", v);
	fclose(f);
}

int main(int argc, char **argv)
{
	const char *dir = "/dev/shm";
	uint64_t size = 1024ull << 20;
	int rounds = 5, opt, ret;
	bool refs = true, huge = false, hugetlb = false;
	size_t asize = dax_arena_size(8192, 256);
	static double t[NR_PHASES][MAX_ROUNDS];
	double one[NR_PHASES];
	struct dax_arena *arena;
	struct one_extent x = {0};
	char path[512];
	void *mem;

	while ((opt = getopt(argc, argv, "d:HTs:r:n")) != -1) {
		switch (opt) {
		case 'd':
			dir = optarg;
			break;
		case 'H':
			huge = true;
			break;
		case 'T':
			hugetlb = true;
			break;
		case 's':
			size = strtoull(optarg, NULL, 0) << 20;
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'n':
			refs = false;
			break;
		default:
			fprintf(stderr,
				"usage: touch_bench [-d DIR | -H | -T] [-s MiB] [-r N] [-n]\n");
			return 2;
		}
	}
	rounds = rounds < 1 ? 1 : rounds > MAX_ROUNDS ? MAX_ROUNDS : rounds;
	size = (size + (2u << 20) - 1) & ~((2ull << 20) - 1);
	if (huge) {
		char opts[64];

		snprintf(opts, sizeof(opts), "huge=always,size=%llum",
			 (unsigned long long)(2 * size >> 20));
		dir = mount_here("tmpfs", opts);
	} else if (hugetlb) {
		set_nr_huge(-1);
		set_nr_huge(nr_huge_saved + (long)(size >> 21) + 2);
		dir = mount_here("hugetlbfs", "pagesize=2M");
	}
	mem = mmap(NULL, asize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || (ret = dax_arena_format(mem, asize, 256, &arena)))
		die("arena", mem == MAP_FAILED ? errno : ret);
	snprintf(path, sizeof(path), "%s/touch_bench.%d", dir, getpid());
	ret = pmem_open(path, PMEM_O_CREATE, size, &x.pm);
	if (ret)
		die(path, ret);
	unlink(path);
	x.size = size;
	ret = pmem_map(x.pm, 0, size, PROT_READ | PROT_WRITE, (void **)&x.base);
	if (ret)
		die("map media", ret);
	memset(x.base, 1, size); /* every block exists and holds data */

	struct dax_fault_file f = {.arena = arena,
				   .mapping = dax_mapping_create(arena),
				   .host = &x,
				   .ops = &ext_ops,
				   .i_size = ext_size,
				   .page_ref = refs ? ext_page_ref : NULL};

	for (int r = 0; r < rounds; r++) {
		round_kernel(&x, one);
		round_udax(&x, &f, one);
		dax_delete_range(arena, f.mapping, 0, (size >> 12) - 1);
		for (int i = 0; i < NR_PHASES; i++)
			t[i][r] = one[i];
	}
	print_machine();
	printf("%s, %llu MiB, page references %s, median of %d rounds (ms)\n", dir,
	       (unsigned long long)(size >> 20), refs ? "on" : "off", rounds);
	for (int i = 0; i < NR_PHASES; i++)
		printf("  %-24s %8.3f\n", phase_name[i], median(t[i], rounds));
	pmem_unmap(x.base, size);
	pmem_close(x.pm);
	unmount_here();
	if (hugetlb)
		set_nr_huge(nr_huge_saved);
	return 0;
}
