// SPDX-License-Identifier: MIT
/*
 * udax - the command-line tool: one entry per subcommand in the table below,
 * each in a tools/cmd_*.c file. Exit codes and conventions: docs/man/udax.md.
 */
#include <string.h>

#include "cli.h"

static const struct subcommand subcommands[] = {
	{"media", "classify a media backing (device-DAX, file, tmpfs, hugetlbfs, memfd)",
	 cmd_media},
	{"mkfs", "create an empty udaxfs on a pool", cmd_mkfs},
	{"fsck", "check (and repair) an unmounted pool", cmd_fsck},
	{"info", "superblock, backing, usage and free-space shape of a pool", cmd_info},
	{"ls", "list a directory of a pool (POOL[:PATH])", cmd_ls},
	{"tree", "show a pool's directory tree (POOL[:DIR])", cmd_tree},
	{"stat", "show a file's attributes (POOL:PATH)", cmd_stat},
	{"map", "show a file's extents and its PMD-eligible 2 MiB ranges", cmd_map},
	{"cp", "copy a file into or out of a pool (POOL:PATH)", cmd_cp},
	{"rm", "remove a file or, with -r, a directory tree (POOL:PATH)", cmd_rm},
	{"mv", "rename inside a pool (POOL:SRC POOL:DST)", cmd_mv},
	{"mkdir", "create a directory (POOL:PATH)", cmd_mkdir},
	{"demo", "the DAX story end to end on a pool it makes and removes", cmd_demo},
	{"bench", "udax against the kernel on the same backing, with fault and writeback counters",
	 cmd_bench},
};

#define NR_SUBCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: udax COMMAND [ARGS]   (udax COMMAND --help for details)\n");
	for (size_t i = 0; i < NR_SUBCOMMANDS; i++)
		fprintf(out, "  %-6s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(out, "exit: 0 success, 1 failure, 2 usage error (fsck: as e2fsck)\n");
}

int main(int argc, char **argv)
{
	static char name[64];

	if (argc < 2) {
		fail("no command given");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < NR_SUBCOMMANDS; i++) {
		if (strcmp(argv[1], subcommands[i].name))
			continue;
		/* getopt names the program in its messages: "udax mkfs: ..." */
		snprintf(name, sizeof(name), "udax %s", subcommands[i].name);
		argv[1] = name;
		return subcommands[i].run(argc - 1, argv + 1);
	}
	fail("unknown command \"%s\"", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
