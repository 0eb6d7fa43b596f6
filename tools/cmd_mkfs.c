// SPDX-License-Identifier: MIT
/*
 * udax mkfs and udax fsck (docs/man/udax-mkfs.md, docs/man/udax-fsck.md).
 *
 * mkfs has no progress display: it zeroes the metadata area (at most a
 * 256 MiB inode table) and fallocates the pool, measured at 0.9 s for a
 * 32 GiB pool file on ext4, so there is nothing long to show progress of.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void mkfs_usage(FILE *out)
{
	fprintf(out, "usage: udax mkfs [--size SIZE] [--inodes N] [--raw SIZE] PATH\n"
		     "  Create an empty udaxfs on the pool at PATH (a file is created or\n"
		     "  extended to SIZE; without --size the whole existing pool is used).\n"
		     "  --size SIZE  pool size, a multiple of 4 KiB, at least 8M (K, M, G, T)\n"
		     "  --inodes N   number of inodes (default: one per 32 KiB, at most 2^20)\n"
		     "  --raw SIZE   reserve SIZE bytes (a multiple of 2M) at the pool's end as a\n"
		     "               raw region for device-DAX; 1 GiB-aligned if SIZE is a\n"
		     "               multiple of 1G, else 2 MiB-aligned\n"
		     "  exit: 0 created, 1 failed (nothing created), 2 usage error\n");
}

/* Where mkfs put the raw region: what `udax info` and UDAX_DEVDAX_POOL will find. */
static int print_raw_region(const char *path)
{
	uint64_t off, len;
	char h[32];

	if (udax_pool_raw_region(path, &off, &len) < 0)
		return fail("%s", udax_errormsg());
	printf("raw region: %llu bytes (%s) at offset %llu\n", (unsigned long long)len,
	       human_size(len, h, sizeof(h)), (unsigned long long)off);
	return EXIT_OK;
}

int cmd_mkfs(int argc, char **argv)
{
	static const struct option opts[] = {
		{"size", required_argument, NULL, 's'},
		{"inodes", required_argument, NULL, 'i'},
		{"raw", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct udax_mkfs_opts mo = {0};
	uint64_t size = 0;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_size(optarg, &size) || !size)
				return fail("mkfs: bad size \"%s\" (a number with K, M, G or T)",
					    optarg);
			break;
		case 'i':
			if (parse_size(optarg, &mo.ninodes) || !mo.ninodes)
				return fail("mkfs: bad inode count \"%s\"", optarg);
			break;
		case 'r':
			if (parse_size(optarg, &mo.raw_size))
				return fail("mkfs: bad raw region size \"%s\" (a number with K, M, "
					    "G or T)",
					    optarg);
			break;
		case 'h':
			mkfs_usage(stdout);
			return EXIT_OK;
		default:
			return usage_line(mkfs_usage);
		}
	}
	if (optind != argc - 1)
		return usage_error(mkfs_usage, "mkfs: expected one PATH");
	if (udax_mkfs(argv[optind], size, &mo) < 0)
		return fail("%s", udax_errormsg());
	printf("udaxfs created on %s\n", argv[optind]);
	return mo.raw_size ? print_raw_region(argv[optind]) : EXIT_OK;
}

/* Exit codes as e2fsck's: 0 clean, 1 repaired, 4 left, 8 not checked, 16 usage. */
enum { FSCK_CLEAN = 0, FSCK_REPAIRED = 1, FSCK_UNREPAIRED = 4, FSCK_ERROR = 8, FSCK_USAGE = 16 };

static void fsck_usage(FILE *out)
{
	fprintf(out, "usage: udax fsck [--repair] [--json] PATH\n"
		     "  Check an unmounted udaxfs pool; print one line per problem.\n"
		     "  --repair  fix what can be fixed, then check again (blocks claimed by\n"
		     "            two files are reported but not repaired)\n"
		     "  --json    one JSON object: problems found, the report, what is left\n"
		     "  exit: 0 clean, 1 problems repaired, 4 problems left, 8 not checked,\n"
		     "        16 usage error\n");
}

/* One run of the checker: the problem count and the report, or -1 (reported). */
static int run_fsck(const char *path, unsigned flags, char **report)
{
	int n = udax_fsck(path, flags, report);

	if (n < 0) {
		fail("%s", udax_errormsg());
		return -1;
	}
	return n;
}

static void print_json_lines(const char *report)
{
	const char *p = report ? report : "";
	bool first = true;

	putchar('[');
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = strndup(p, len);

		if (line) {
			printf("%s", first ? "" : ", ");
			json_string(line);
			first = false;
			free(line);
		}
		p += len + (nl != NULL);
	}
	putchar(']');
}

static void print_fsck_json(const char *path, int found, const char *report, bool repair, int left,
			    const char *left_report, int code)
{
	printf("{\"pool\": ");
	json_string(path);
	printf(", \"problems\": %d, \"report\": ", found);
	print_json_lines(report);
	printf(", \"repair\": %s", json_bool(repair));
	if (repair && found) {
		printf(", \"left\": %d, \"left_report\": ", left);
		print_json_lines(left_report);
	}
	printf(", \"exit\": %d}\n", code);
}

static void print_count(const char *path, int n, const char *what)
{
	printf("%s: %d problem%s %s\n", path, n, n == 1 ? "" : "s", what);
}

static int fsck_code(int found, bool repair, int left)
{
	if (!found)
		return FSCK_CLEAN;
	if (!repair || left)
		return FSCK_UNREPAIRED;
	return FSCK_REPAIRED;
}

static int fsck_pool(const char *path, bool repair, bool json)
{
	char *report = NULL, *left_report = NULL;
	int found, left = 0, code;

	found = run_fsck(path, repair ? UDAX_FSCK_REPAIR : 0, &report);
	if (found < 0)
		return FSCK_ERROR;
	if (!json) {
		fputs(report ? report : "", stdout);
		print_count(path, found, "found");
	}
	if (found && repair) {
		left = run_fsck(path, 0, &left_report);
		if (left < 0) {
			free(report);
			return FSCK_ERROR;
		}
		if (!json) {
			fputs(left_report ? left_report : "", stdout);
			print_count(path, left, "left after repair");
		}
	}
	code = fsck_code(found, repair, left);
	if (json)
		print_fsck_json(path, found, report, repair, left, left_report, code);
	free(report);
	free(left_report);
	return code;
}

int cmd_fsck(int argc, char **argv)
{
	static const struct option opts[] = {
		{"repair", no_argument, NULL, 'r'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool repair = false, json = false;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			repair = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fsck_usage(stdout);
			return FSCK_CLEAN;
		default:
			usage_line(fsck_usage);
			return FSCK_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage_error(fsck_usage, "fsck: expected one PATH");
		return FSCK_USAGE;
	}
	return fsck_pool(argv[optind], repair, json);
}
