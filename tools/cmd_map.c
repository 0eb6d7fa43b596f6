// SPDX-License-Identifier: MIT
/*
 * udax map: a file's extents and, per 2 MiB file range, whether udax_mmap can
 * map it with a PMD (docs/man/udax-map.md). The rule is the fault engine's
 * (src/dax/fault.c): the whole range lies in one extent whose media offset is
 * congruent with the file offset modulo 2 MiB, and it does not cross EOF.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

#define PMD  ((uint64_t)2 << 20)
#define PAGE ((uint64_t)4096)

enum range_status { R_PMD, R_HOLE, R_PARTIAL, R_UNALIGNED, R_EOF };

static const char *const status_names[] = {
	[R_PMD] = "pmd",	 [R_HOLE] = "hole",
	[R_PARTIAL] = "partial", [R_UNALIGNED] = "unaligned",
	[R_EOF] = "crosses-eof",
};

struct file_map {
	const char *path;
	uint64_t size;
	struct udax_extent *ext;
	int n;
	struct udax_info in;
};

static void map_usage(FILE *out)
{
	fprintf(out, "usage: udax map [--json] POOL:PATH\n"
		     "  Show a file's extents (file offset, media offset, length, bytes a PMD\n"
		     "  can map) and the status of each 2 MiB file range: pmd (one extent,\n"
		     "  media offset congruent modulo 2 MiB, below EOF), hole, partial (holes\n"
		     "  or several extents), unaligned, crosses-eof. Consecutive ranges with\n"
		     "  the same status are shown as one line.\n"
		     "  --json  one JSON object instead of tables\n"
		     "  exit: 0 shown, 1 failed, 2 usage error\n");
}

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static enum range_status range_status(const struct file_map *m, uint64_t s)
{
	uint64_t e = s + PMD;
	int hits = 0;
	const struct udax_extent *x = NULL;

	for (int i = 0; i < m->n; i++) {
		const struct udax_extent *t = &m->ext[i];

		if (t->logical < e && t->logical + t->length > s) {
			hits++;
			x = t;
		}
	}
	if (!hits)
		return R_HOLE;
	if (hits > 1 || x->logical > s || x->logical + x->length < e)
		return R_PARTIAL;
	if ((x->logical - x->physical) % PMD)
		return R_UNALIGNED;
	if (e > round_up(m->size, PAGE))
		return R_EOF;
	return R_PMD;
}

/* End of the last byte that matters: EOF or the end of the last extent. */
static uint64_t map_end(const struct file_map *m)
{
	uint64_t end = round_up(m->size, PAGE);

	for (int i = 0; i < m->n; i++)
		if (m->ext[i].logical + m->ext[i].length > end)
			end = m->ext[i].logical + m->ext[i].length;
	return round_up(end, PMD);
}

static uint64_t pmd_ranges(const struct file_map *m, uint64_t *below_eof)
{
	uint64_t n = 0;

	*below_eof = round_up(m->size, PAGE) / PMD;
	for (uint64_t k = 0; k < *below_eof; k++)
		n += range_status(m, k * PMD) == R_PMD;
	return n;
}

/* Calls @fn once per run of consecutive 2 MiB ranges with the same status. */
static void for_each_run(const struct file_map *m,
			 void (*fn)(uint64_t start, uint64_t end, enum range_status st, bool first))
{
	uint64_t end = map_end(m), start = 0;
	bool first = true;

	while (start < end) {
		enum range_status st = range_status(m, start);
		uint64_t e = start + PMD;

		while (e < end && range_status(m, e) == st)
			e += PMD;
		fn(start, e, st, first);
		first = false;
		start = e;
	}
}

static void run_line(uint64_t start, uint64_t end, enum range_status st, bool first)
{
	char span[64];

	if (first)
		printf("\n%-27s %s\n", "2 MiB RANGES", "STATUS");
	snprintf(span, sizeof(span), "%" PRIu64 "-%" PRIu64, start, end);
	printf("%-27s %s (%" PRIu64 ")\n", span, status_names[st], (end - start) / PMD);
}

static void run_json(uint64_t start, uint64_t end, enum range_status st, bool first)
{
	printf("%s{\"start\": %" PRIu64 ", \"end\": %" PRIu64 ", \"status\": \"%s\"}",
	       first ? "" : ", ", start, end, status_names[st]);
}

static void map_table(const struct file_map *m)
{
	uint64_t below, pmd = pmd_ranges(m, &below);

	printf("path      %s\n", m->path);
	printf("size      %" PRIu64 "\n", m->size);
	printf("extents   %d\n", m->n);
	printf("backing   %s (pmd capable: %s)\n", m->in.kind, m->in.pmd_capable ? "yes" : "no");
	if (m->n)
		printf("\n%14s %14s %14s %14s\n", "LOGICAL", "PHYSICAL", "LENGTH", "PMD BYTES");
	for (int i = 0; i < m->n; i++)
		printf("%14" PRIu64 " %14" PRIu64 " %14" PRIu64 " %14" PRIu64 "\n",
		       m->ext[i].logical, m->ext[i].physical, m->ext[i].length,
		       m->ext[i].pmd_bytes);
	for_each_run(m, run_line);
	printf("\npmd eligible: %" PRIu64 " of %" PRIu64 " whole 2 MiB ranges below EOF\n", pmd,
	       below);
	if (!m->in.pmd_capable && pmd)
		printf("note: the backing maps 4 KiB pages only, so these ranges get PTEs\n");
}

static void map_json(const struct file_map *m)
{
	uint64_t below, pmd = pmd_ranges(m, &below);

	printf("{\"path\": ");
	json_string(m->path);
	printf(", \"size\": %" PRIu64 ", \"backing\": \"%s\", \"pmd_capable\": %s, \"extents\": [",
	       m->size, m->in.kind, json_bool(m->in.pmd_capable));
	for (int i = 0; i < m->n; i++)
		printf("%s{\"logical\": %" PRIu64 ", \"physical\": %" PRIu64
		       ", \"length\": %" PRIu64 ", \"pmd_bytes\": %" PRIu64 "}",
		       i ? ", " : "", m->ext[i].logical, m->ext[i].physical, m->ext[i].length,
		       m->ext[i].pmd_bytes);
	printf("], \"ranges\": [");
	for_each_run(m, run_json);
	printf("], \"pmd_ranges\": %" PRIu64 ", \"ranges_below_eof\": %" PRIu64 "}\n", pmd, below);
}

static int load_map(struct udax_fs *fs, struct file_map *m)
{
	struct udax_file *f;
	struct udax_stat st;
	int ret = EXIT_OK;

	if (udax_info(fs, &m->in) < 0 || udax_open(fs, m->path, O_RDONLY, 0, &f) < 0)
		return fail("%s", udax_errormsg());
	if (udax_fstat(f, &st) < 0) {
		ret = fail("%s", udax_errormsg());
	} else if (!S_ISREG(st.mode)) {
		ret = fail("map: %s: not a regular file", m->path);
	} else {
		m->size = st.size;
		m->n = udax_fiemap(f, NULL, 0);
		if (m->n > 0 && !(m->ext = calloc((size_t)m->n, sizeof(*m->ext))))
			ret = fail("%s: out of memory", m->path);
		else if (m->n > 0)
			m->n = udax_fiemap(f, m->ext, (unsigned)m->n);
		if (!ret && m->n < 0)
			ret = fail("%s", udax_errormsg());
	}
	udax_close(f);
	return ret;
}

int cmd_map(int argc, char **argv)
{
	struct file_map m = {0};
	struct pool_ref ref;
	struct udax_fs *fs;
	bool json = false;
	int ret = parse_json_opt(argc, argv, "map: expected one POOL:PATH", map_usage, &json);

	if (ret)
		return ret < 0 ? EXIT_OK : ret;
	ret = need_path("map", argv[optind], map_usage, &ref);
	if (ret)
		return ret;
	if (mount_pool(ref.pool, &fs))
		return EXIT_FAIL;
	m.path = ref.path;
	ret = load_map(fs, &m);
	if (!ret && json)
		map_json(&m);
	else if (!ret)
		map_table(&m);
	free(m.ext);
	return unmount_pool(fs, ret);
}
