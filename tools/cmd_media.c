// SPDX-License-Identifier: MIT
/* udax media: how the media layer classifies a backing (docs/man/udax-media.md). */
#include <getopt.h>
#include <inttypes.h>

#include "cli.h"
#include "pmem/pmem.h"

static void print_media_json(const char *path, const struct pmem_info *in)
{
	printf("{\"path\": ");
	json_string(path);
	printf(", \"kind\": \"%s\", \"size\": %" PRIu64 ", \"align\": %" PRIu64
	       ", \"pmd_capable\": %s, \"pud_capable\": %s, \"volatile\": %s"
	       ", \"granularity\": \"%s\", \"method\": \"%s\", \"instruction\": \"%s\", "
	       "\"reason\": ",
	       pmem_kind_name(in->kind), in->size, in->align, json_bool(in->pmd_capable),
	       json_bool(in->pud_capable), json_bool(in->is_volatile),
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
		     "  --create SIZE  create or extend PATH to SIZE bytes (suffixes K, M, G, T)\n"
		     "  --force-flush  use the cache-line flush path even on DRAM\n"
		     "  --json         one JSON object instead of a table\n"
		     "  exit: 0 classified, 1 failed, 2 usage error\n");
}

int cmd_media(int argc, char **argv)
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

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (parse_size(optarg, &size))
				return fail("media: bad size \"%s\" (a number with K, M, G or T)",
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
			return EXIT_OK;
		default:
			return usage_line(media_usage);
		}
	}
	if (optind != argc - 1)
		return usage_error(media_usage, "media: expected one PATH");
	ret = pmem_open(argv[optind], flags, size, &pm);
	if (ret)
		return fail("%s", udax_errormsg());
	if (json)
		print_media_json(argv[optind], pmem_get_info(pm));
	else
		print_media_table(argv[optind], pmem_get_info(pm));
	pmem_close(pm);
	return EXIT_OK;
}
