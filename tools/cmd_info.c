// SPDX-License-Identifier: MIT
/*
 * udax info: a pool's superblock, backing, usage and free-space shape
 * (docs/man/udax-info.md). The "pmd eligible" share is the part of the free
 * space that lies in whole free 2 MiB groups: what the allocator can still
 * hand out as extents a PMD can map.
 */
#include <inttypes.h>

#include "cli.h"

struct pool_facts {
	const char *pool;
	struct udax_info in;
	struct udax_statfs sf;
};

static void info_usage(FILE *out)
{
	fprintf(out, "usage: udax info [--json] POOL\n"
		     "  Mount POOL and show its superblock, how its backing persists stores\n"
		     "  and whether it can map 2 MiB pages (PMDs), usage, and the shape of the\n"
		     "  free space: free runs and the share of free space in whole free\n"
		     "  2 MiB groups (PMD-eligible), and the raw region reserved for\n"
		     "  device-DAX, if any.\n"
		     "  --json  one JSON object instead of a table\n"
		     "  exit: 0 shown, 1 failed (no such pool, corrupt pool), 2 usage error\n");
}

static const char *uuid_string(const uint8_t u[16], char buf[37])
{
	char *p = buf;

	for (int i = 0; i < 16; i++) {
		p += sprintf(p, "%02x", u[i]);
		if (i == 3 || i == 5 || i == 7 || i == 9)
			*p++ = '-';
	}
	*p = 0;
	return buf;
}

/* @part of @whole in tenths of a percent; 0 when @whole is 0. */
static unsigned permille(uint64_t part, uint64_t whole)
{
	return whole ? (unsigned)((part * 1000 + whole / 2) / whole) : 0;
}

static uint64_t pmd_free_blocks(const struct pool_facts *f)
{
	return f->sf.pmd_free * 512;
}

/* The raw region: where it is, or that a corrupt superblock puts it past the media. */
static void print_raw_region(const struct udax_info *in)
{
	char h[32];

	if (!in->raw_size) {
		printf("raw region          none\n");
		return;
	}
	printf("raw region          %" PRIu64 " bytes (%s) at offset %" PRIu64 "%s\n", in->raw_size,
	       human_size(in->raw_size, h, sizeof(h)), in->raw_offset,
	       in->raw_offset > in->media_size || in->raw_size > in->media_size - in->raw_offset
		       ? " (past the media end: corrupt)"
		       : "");
}

static void info_table(const struct pool_facts *f)
{
	const struct udax_info *in = &f->in;
	const struct udax_statfs *sf = &f->sf;
	uint64_t used = sf->blocks - sf->blocks_free;
	unsigned pm;
	char u[37], h[32];

	printf("pool                %s\n", f->pool);
	printf("uuid                %s\n", uuid_string(in->uuid, u));
	printf("format version      %u\n", in->version);
	printf("mount count         %" PRIu64 "\n", in->mount_count);
	printf("block size          %" PRIu64 "\n", in->block_size);
	printf("size                %" PRIu64 " blocks (%s)\n", in->nblocks,
	       human_size(in->nblocks * in->block_size, h, sizeof(h)));
	printf("journal             %" PRIu64 " blocks\n", in->journal_blocks);
	printf("bitmap              %" PRIu64 " blocks\n", in->bitmap_blocks);
	printf("inode table         %" PRIu64 " blocks\n", in->itable_blocks);
	printf("data start          block %" PRIu64 "\n", in->data_start);
	print_raw_region(in);
	printf("backing             %s\n", in->kind);
	printf("media size          %" PRIu64 "\n", in->media_size);
	printf("volatile            %s\n", in->is_volatile ? "yes" : "no");
	printf("granularity         %s\n", in->granularity);
	printf("persist method      %s\n", in->persist);
	printf("flush instruction   %s\n", in->flush_insn);
	printf("pmd capable         %s\n", in->pmd_capable ? "yes" : "no");
	printf("pud capable         %s\n", in->pud_capable ? "yes" : "no");
	printf("why                 %s\n", in->reason);
	pm = permille(used, sf->blocks);
	printf("data blocks         %" PRIu64 " (%s)\n", sf->blocks,
	       human_size(sf->blocks * in->block_size, h, sizeof(h)));
	printf("used                %" PRIu64 " blocks (%u.%u%%)\n", used, pm / 10, pm % 10);
	printf("free                %" PRIu64 " blocks (%s)\n", sf->blocks_free,
	       human_size(sf->blocks_free * in->block_size, h, sizeof(h)));
	printf("inodes              %" PRIu64 " (%" PRIu64 " free)\n", sf->inodes, sf->inodes_free);
	printf("free runs           %" PRIu64 " (%" PRIu64 " under 64 KiB)\n", in->free_runs,
	       in->free_runs_small);
	printf("longest free run    %" PRIu64 " blocks (%s)\n", in->free_run_max,
	       human_size(in->free_run_max * in->block_size, h, sizeof(h)));
	pm = permille(pmd_free_blocks(f), sf->blocks_free);
	printf("free 2 MiB groups   %" PRIu64 "\n", sf->pmd_free);
	printf("pmd eligible free   %u.%u%%\n", pm / 10, pm % 10);
	printf("known-zero free     %" PRIu64 " blocks (%s) from block %" PRIu64 "\n",
	       in->nblocks - in->zero_start,
	       human_size((in->nblocks - in->zero_start) * in->block_size, h, sizeof(h)),
	       in->zero_start);
}

static void info_json(const struct pool_facts *f)
{
	const struct udax_info *in = &f->in;
	const struct udax_statfs *sf = &f->sf;
	char u[37];

	printf("{\"pool\": ");
	json_string(f->pool);
	printf(", \"uuid\": \"%s\", \"version\": %u, \"mount_count\": %" PRIu64
	       ", \"block_size\": %" PRIu64 ", \"blocks\": %" PRIu64
	       ", \"journal_blocks\": %" PRIu64 ", \"bitmap_blocks\": %" PRIu64
	       ", \"itable_blocks\": %" PRIu64 ", \"data_start\": %" PRIu64
	       ", \"raw_offset\": %" PRIu64 ", \"raw_size\": %" PRIu64,
	       uuid_string(in->uuid, u), in->version, in->mount_count, in->block_size, in->nblocks,
	       in->journal_blocks, in->bitmap_blocks, in->itable_blocks, in->data_start,
	       in->raw_offset, in->raw_size);
	printf(", \"backing\": \"%s\", \"media_size\": %" PRIu64 ", \"volatile\": %s"
	       ", \"granularity\": \"%s\", \"persist\": \"%s\", \"flush_instruction\": \"%s\""
	       ", \"pmd_capable\": %s, \"pud_capable\": %s, \"why\": ",
	       in->kind, in->media_size, json_bool(in->is_volatile), in->granularity, in->persist,
	       in->flush_insn, json_bool(in->pmd_capable), json_bool(in->pud_capable));
	json_string(in->reason);
	printf(", \"data_blocks\": %" PRIu64 ", \"free_blocks\": %" PRIu64 ", \"inodes\": %" PRIu64
	       ", \"free_inodes\": %" PRIu64 ", \"free_runs\": %" PRIu64
	       ", \"free_runs_small\": %" PRIu64 ", \"free_run_max\": %" PRIu64
	       ", \"free_pmd_groups\": %" PRIu64 ", \"pmd_eligible_free_permille\": %u"
	       ", \"zero_start\": %" PRIu64 "}\n",
	       sf->blocks, sf->blocks_free, sf->inodes, sf->inodes_free, in->free_runs,
	       in->free_runs_small, in->free_run_max, sf->pmd_free,
	       permille(pmd_free_blocks(f), sf->blocks_free), in->zero_start);
}

int cmd_info(int argc, char **argv)
{
	struct pool_facts f;
	struct udax_fs *fs;
	bool json = false;
	int ret = parse_json_opt(argc, argv, "info: expected one POOL", info_usage, &json);

	if (ret)
		return ret < 0 ? EXIT_OK : ret;
	f.pool = argv[optind];
	if (mount_pool(f.pool, &fs))
		return EXIT_FAIL;
	if (udax_info(fs, &f.in) < 0 || udax_statfs(fs, &f.sf) < 0)
		ret = fail("%s", udax_errormsg());
	else if (json)
		info_json(&f);
	else
		info_table(&f);
	return unmount_pool(fs, ret);
}
