// SPDX-License-Identifier: MIT
/* udax - command-line tool: one entry per subcommand in the table below. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static const struct subcommand subcommands[] = {
	{"media", "classify a media backing (device-DAX, file, tmpfs, hugetlbfs, memfd)",
	 cmd_media},
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
