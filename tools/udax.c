// SPDX-License-Identifier: MIT
/* udax - command-line tool: one entry per subcommand in the table below. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "udax.h"
#include "pmem/pmem.h"

struct subcommand {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

static int fail(const char *fmt, const char *arg)
{
	fputs("udax: ", stderr);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 1;
}

/* "64M" -> 67108864; K, M and G are binary multiples. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	uint64_t v, mult = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		mult = 1ull << 10;
		end++;
		break;
	case 'm':
	case 'M':
		mult = 1ull << 20;
		end++;
		break;
	case 'g':
	case 'G':
		mult = 1ull << 30;
		end++;
		break;
	}
	if (*end || (v && mult > UINT64_MAX / v))
		return -EINVAL;
	*out = v * mult;
	return 0;
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void print_media_json(const char *path, const struct pmem_info *in)
{
	printf("{\"path\": ");
	json_string(path);
	printf(", \"kind\": \"%s\", \"size\": %" PRIu64 ", \"align\": %" PRIu64
	       ", \"pmd_capable\": %s, \"pud_capable\": %s, \"volatile\": %s"
	       ", \"granularity\": \"%s\", \"method\": \"%s\", \"instruction\": \"%s\", "
	       "\"reason\": ",
	       pmem_kind_name(in->kind), in->size, in->align, in->pmd_capable ? "true" : "false",
	       in->pud_capable ? "true" : "false", in->is_volatile ? "true" : "false",
	       pmem_granularity_name(in->granularity), pmem_method_name(in->method),
	       pmem_insn_name(in->insn));
	json_string(in->reason);
	printf("}\n");
}

static void print_media_table(const char *path, const struct pmem_info *in)
{
	printf("path         %s\n", path);
	printf("kind         %s\n", pmem_kind_name(in->kind));
	printf("size         %" PRIu64 "\n", in->size);
	printf("align        %" PRIu64 "\n", in->align);
	printf("pmd capable  %s\n", in->pmd_capable ? "yes" : "no");
	printf("pud capable  %s\n", in->pud_capable ? "yes" : "no");
	printf("volatile     %s\n", in->is_volatile ? "yes" : "no");
	printf("granularity  %s\n", pmem_granularity_name(in->granularity));
	printf("method       %s\n", pmem_method_name(in->method));
	printf("instruction  %s\n", pmem_insn_name(in->insn));
	printf("reason       %s\n", in->reason);
}

static void media_usage(FILE *out)
{
	fprintf(out, "usage: udax media [--create SIZE] [--force-flush] [--json] PATH\n"
		     "  Classify a media backing: kind, size, alignment, huge-page capability,\n"
		     "  persistence granularity and method, and why.\n"
		     "  --create SIZE  create or extend PATH to SIZE bytes (suffixes K, M, G)\n"
		     "  --force-flush  use the cache-line flush path even on DRAM\n"
		     "  --json         one JSON object instead of a table\n");
}

static int cmd_media(int argc, char **argv)
{
	static const struct option opts[] = {
		{"create", required_argument, NULL, 'c'},
		{"force-flush", no_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int flags = 0, c, ret;
	uint64_t size = 0;
	bool json = false;
	struct pmem *pm;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (parse_size(optarg, &size))
				return fail("media: bad size \"%s\" (a number with K, M or G)",
					    optarg);
			flags |= PMEM_O_CREATE;
			break;
		case 'f':
			flags |= PMEM_O_FORCE_FLUSH;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			media_usage(stdout);
			return 0;
		default:
			media_usage(stderr);
			return 1;
		}
	}
	if (optind != argc - 1) {
		media_usage(stderr);
		return 1;
	}
	ret = pmem_open(argv[optind], flags, size, &pm);
	if (ret)
		return fail("%s", udax_errormsg());
	if (json)
		print_media_json(argv[optind], pmem_get_info(pm));
	else
		print_media_table(argv[optind], pmem_get_info(pm));
	pmem_close(pm);
	return 0;
}

static void mkfs_usage(FILE *out)
{
	fprintf(out, "usage: udax mkfs [--size SIZE] [--inodes N] PATH\n"
		     "  Create an empty udaxfs on the pool at PATH (a file is created or\n"
		     "  extended to SIZE; without --size the whole existing pool is used).\n"
		     "  --size SIZE  pool size, a multiple of 4 KiB, at least 8M (K, M, G)\n"
		     "  --inodes N   number of inodes (default: one per 32 KiB, at most 2^20)\n");
}

static int cmd_mkfs(int argc, char **argv)
{
	static const struct option opts[] = {
		{"size", required_argument, NULL, 's'},
		{"inodes", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct udax_mkfs_opts mo = {0};
	uint64_t size = 0;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_size(optarg, &size) || !size)
				return fail("mkfs: bad size \"%s\" (a number with K, M or G)",
					    optarg);
			break;
		case 'i':
			if (parse_size(optarg, &mo.ninodes) || !mo.ninodes)
				return fail("mkfs: bad inode count \"%s\"", optarg);
			break;
		case 'h':
			mkfs_usage(stdout);
			return 0;
		default:
			mkfs_usage(stderr);
			return 1;
		}
	}
	if (optind != argc - 1) {
		mkfs_usage(stderr);
		return 1;
	}
	if (udax_mkfs(argv[optind], size, &mo) < 0)
		return fail("%s", udax_errormsg());
	printf("udaxfs created on %s\n", argv[optind]);
	return 0;
}

/* Exit codes as e2fsck's: 0 clean, 1 problems repaired, 4 problems left, 8 could not check. */
enum { FSCK_CLEAN = 0, FSCK_REPAIRED = 1, FSCK_UNREPAIRED = 4, FSCK_ERROR = 8 };

static void fsck_usage(FILE *out)
{
	fprintf(out, "usage: udax fsck [--repair] PATH\n"
		     "  Check an unmounted udaxfs pool; print one line per problem.\n"
		     "  --repair  fix what can be fixed, then check again\n"
		     "  exit: 0 clean, 1 problems repaired, 4 problems left, 8 not checked\n");
}

static int run_fsck(const char *path, unsigned flags)
{
	char *report = NULL;
	int n = udax_fsck(path, flags, &report);

	if (n < 0) {
		fail("%s", udax_errormsg());
		return -1;
	}
	if (report)
		fputs(report, stdout);
	free(report);
	return n;
}

static int cmd_fsck(int argc, char **argv)
{
	static const struct option opts[] = {
		{"repair", no_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool repair = false;
	int c, found, left;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			repair = true;
			break;
		case 'h':
			fsck_usage(stdout);
			return 0;
		default:
			fsck_usage(stderr);
			return FSCK_ERROR;
		}
	}
	if (optind != argc - 1) {
		fsck_usage(stderr);
		return FSCK_ERROR;
	}
	found = run_fsck(argv[optind], repair ? UDAX_FSCK_REPAIR : 0);
	if (found < 0)
		return FSCK_ERROR;
	printf("%s: %d problem%s found\n", argv[optind], found, found == 1 ? "" : "s");
	if (!found)
		return FSCK_CLEAN;
	if (!repair)
		return FSCK_UNREPAIRED;
	left = run_fsck(argv[optind], 0);
	if (left < 0)
		return FSCK_ERROR;
	printf("%s: %d problem%s left after repair\n", argv[optind], left, left == 1 ? "" : "s");
	return left ? FSCK_UNREPAIRED : FSCK_REPAIRED;
}

/*
 * A "POOL:PATH" argument names PATH inside the pool file POOL (scp's host:path);
 * anything else is a host path. POOL must exist, so a host file whose name
 * contains ':' is still a host path.
 */
struct pool_ref {
	char pool[4096];
	const char *path;
};

static bool parse_pool_ref(const char *arg, struct pool_ref *ref)
{
	const char *colon = strchr(arg, ':');
	struct stat st;
	size_t n;

	if (!colon || colon == arg || (n = (size_t)(colon - arg)) >= sizeof(ref->pool))
		return false;
	memcpy(ref->pool, arg, n);
	ref->pool[n] = 0;
	if (stat(ref->pool, &st) || S_ISDIR(st.st_mode))
		return false;
	ref->path = colon + 1;
	return true;
}

enum { CP_CHUNK = 1 << 20 };

/* Copies everything from one descriptor-like source to a sink; returns bytes or -errno. */
static int64_t copy_loop(ssize_t (*rd)(void *, void *, size_t), void *src,
			 ssize_t (*wr)(void *, const void *, size_t), void *dst)
{
	static char buf[CP_CHUNK];
	int64_t total = 0;
	ssize_t n, w, done;

	while ((n = rd(src, buf, sizeof(buf))) > 0) {
		for (done = 0; done < n; done += w) {
			w = wr(dst, buf + done, (size_t)(n - done));
			if (w < 0)
				return w;
		}
		total += n;
	}
	return n < 0 ? n : total;
}

static ssize_t host_read(void *fd, void *buf, size_t len)
{
	ssize_t n = read(*(int *)fd, buf, len);

	return n < 0 ? -errno : n;
}

static ssize_t host_write(void *fd, const void *buf, size_t len)
{
	ssize_t n = write(*(int *)fd, buf, len);

	return n < 0 ? -errno : n;
}

static ssize_t pool_read(void *f, void *buf, size_t len)
{
	return udax_read(f, buf, len);
}

static ssize_t pool_write(void *f, const void *buf, size_t len)
{
	return udax_write(f, buf, len);
}

static void cp_usage(FILE *out)
{
	fprintf(out, "usage: udax cp SRC DST\n"
		     "  Copy a file between the host and a pool. Exactly one of SRC and DST is\n"
		     "  POOL:PATH, a path inside the udaxfs pool file POOL; the copy into a pool\n"
		     "  is durable when the command returns.\n");
}

static int cmd_cp(int argc, char **argv)
{
	struct pool_ref src_ref, dst_ref, *ref;
	bool in, out;
	struct udax_fs *fs;
	struct udax_file *f;
	int64_t copied;
	int fd, ret;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		cp_usage(stdout);
		return 0;
	}
	if (argc != 3) {
		cp_usage(stderr);
		return 1;
	}
	out = parse_pool_ref(argv[1], &src_ref);
	in = parse_pool_ref(argv[2], &dst_ref);
	if (in == out)
		return fail("cp: exactly one of SRC and DST must be POOL:PATH (%s)",
			    in ? "both are" : "neither is");
	ref = in ? &dst_ref : &src_ref;
	fd = in ? open(argv[1], O_RDONLY) : open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		fprintf(stderr, "udax: %s: %s\n", in ? argv[1] : argv[2], strerror(errno));
		return 1;
	}
	ret = udax_mount(ref->pool, 0, &fs);
	if (ret < 0) {
		close(fd);
		return fail("%s", udax_errormsg());
	}
	ret = udax_open(fs, ref->path, in ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY, 0644, &f);
	if (ret >= 0) {
		copied = in ? copy_loop(host_read, &fd, pool_write, f)
			    : copy_loop(pool_read, f, host_write, &fd);
		ret = copied < 0 ? (int)copied : 0;
		if (!ret && in)
			ret = udax_fsync(f);
		udax_close(f);
	}
	if (ret < 0)
		fprintf(stderr, "udax: cp: %s\n", udax_errormsg());
	udax_unmount(fs);
	if (close(fd) && !ret) {
		fprintf(stderr, "udax: %s: %s\n", in ? argv[1] : argv[2], strerror(errno));
		return 1;
	}
	return ret < 0;
}

static const struct subcommand subcommands[] = {
	{"media", "classify a media backing (device-DAX, file, tmpfs, hugetlbfs, memfd)",
	 cmd_media},
	{"mkfs", "create an empty udaxfs on a pool", cmd_mkfs},
	{"fsck", "check (and repair) an unmounted pool", cmd_fsck},
	{"cp", "copy a file into or out of a pool (POOL:PATH)", cmd_cp},
};

#define NR_SUBCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: udax COMMAND [ARGS]   (udax COMMAND --help for details)\n");
	for (size_t i = 0; i < NR_SUBCOMMANDS; i++)
		fprintf(out, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < NR_SUBCOMMANDS; i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].run(argc - 1, argv + 1);
	fail("unknown command \"%s\"", argv[1]);
	usage(stderr);
	return 1;
}
