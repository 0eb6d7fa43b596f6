/* SPDX-License-Identifier: MIT */
/*
 * udaxfs on-media format, version 3 (docs/udaxfs.md describes it byte by byte).
 * All integers are little-endian; every structure has a fixed size checked at
 * compile time. The media is an array of 4 KiB blocks:
 *
 *   0                superblock
 *   1                backup superblock
 *   2 .. 2+J         journal (header, descriptor, UDAXFS_TX_MAX images)
 *   bitmap_start     free-space bitmap, bit n = block n in use
 *   itable_start     inode table, 16 inodes per block
 *   data_start       (2 MiB aligned) data, extent and directory blocks
 *   zero_start       known-zero free space: every block from here to nblocks
 *                    is free and reads as zero (allocations there skip zeroing)
 *   nblocks          end of the file system
 *   raw region       optional, raw_units x 2 MiB at udaxfs_raw_start (after nblocks)
 */
#ifndef UDAX_FS_FORMAT_H
#define UDAX_FS_FORMAT_H

#include <assert.h>
#include <stdint.h>

#define UDAXFS_BLOCK	    4096u
#define UDAXFS_BLOCK_SHIFT  12
#define UDAXFS_PMD_BLOCKS   512u /* 2 MiB */
#define UDAXFS_VERSION	    4u	 /* 4: inode zero_from (an append's size and data in one epoch) */
#define UDAXFS_NAME_MAX	    255u
#define UDAXFS_ROOT_INO	    1u
#define UDAXFS_TX_MAX	    256u /* block images per transaction */
#define UDAXFS_JOURNAL_BLKS (2u + UDAXFS_TX_MAX)

#define UDAXFS_SUPER_MAGIC 0x46584455u /* "UDXF" */
#define UDAXFS_JRNL_MAGIC  0x4c4e524au /* "JRNL" */
#define UDAXFS_EXTB_MAGIC  0x42545845u /* "EXTB" */
#define UDAXFS_DIRB_MAGIC  0x42524944u /* "DIRB" */

enum udaxfs_state {
	UDAXFS_STATE_CLEAN = 1,	  /* unmounted cleanly */
	UDAXFS_STATE_MOUNTED = 2, /* mounted, or its last mounter died */
};

struct udaxfs_super {
	uint32_t magic;
	uint32_t version;
	uint32_t crc; /* crc32c of this structure with crc = 0 */
	uint32_t block_size;
	uint64_t nblocks;
	uint64_t journal_start;
	uint64_t journal_blocks;
	uint64_t bitmap_start;
	uint64_t bitmap_blocks;
	uint64_t itable_start;
	uint64_t itable_blocks;
	uint64_t data_start;
	uint64_t ninodes;
	uint64_t root_ino;
	uint32_t state;
	uint32_t raw_units; /* raw region after the file system, in 2 MiB units; 0 = none */
	uint64_t mount_count;
	uint8_t uuid[16];
	/*
	 * The zero mark: every block in [zero_start, nblocks) is free in the
	 * bitmap and reads as zero on the media. data_start <= zero_start <=
	 * nblocks; nblocks means nothing is known to be zero. Only allocations
	 * raise it, durably before the transaction that allocates commits.
	 */
	uint64_t zero_start;
};
static_assert(sizeof(struct udaxfs_super) == 136, "superblock layout");

/*
 * The raw region (docs/devdax.md, "Regions inside a pool"): media that the
 * file system never uses, for device-DAX. It starts at the file system's end
 * rounded up to 1 GiB if its length is a multiple of 1 GiB, else to 2 MiB
 * (mkfs makes nblocks end exactly there), so it can be mapped in units of its
 * own alignment. Only its length is stored: the start follows from nblocks.
 */
#define UDAXFS_RAW_UNIT	   (2ull << 20)
#define UDAXFS_RAW_UNIT_1G (1ull << 30)

static inline uint64_t udaxfs_raw_len(const struct udaxfs_super *sb)
{
	return (uint64_t)sb->raw_units * UDAXFS_RAW_UNIT;
}

/* The largest alignment the raw region's start and length allow. */
static inline uint64_t udaxfs_raw_align(uint64_t len)
{
	return len % UDAXFS_RAW_UNIT_1G ? UDAXFS_RAW_UNIT : UDAXFS_RAW_UNIT_1G;
}

static inline uint64_t udaxfs_raw_start(const struct udaxfs_super *sb)
{
	uint64_t a = udaxfs_raw_align(udaxfs_raw_len(sb));

	return (sb->nblocks * UDAXFS_BLOCK + a - 1) / a * a;
}

/* True if the raw region (if any) lies inside @media_size bytes of backing. */
static inline int udaxfs_raw_fits(const struct udaxfs_super *sb, uint64_t media_size)
{
	uint64_t start = udaxfs_raw_start(sb);

	return !sb->raw_units || (start <= media_size && udaxfs_raw_len(sb) <= media_size - start);
}

enum udaxfs_jstate {
	UDAXFS_J_EMPTY = 0,
	UDAXFS_J_COMMITTED = 1,
};

/* Journal block 0. The log of records starts at journal block 1. */
struct udaxfs_jheader {
	uint32_t magic;
	uint32_t crc; /* of this structure with crc = 0 */
	uint64_t seq;
	uint32_t state;
	uint32_t nrec;	   /* records in the committed transaction */
	uint32_t data_crc; /* of the log's log_len bytes */
	uint32_t log_len;  /* bytes of log */
};
static_assert(sizeof(struct udaxfs_jheader) == 32, "journal header layout");

/*
 * A log record: the new contents of bytes [off, off+len) of metadata block
 * blk, which follow the record. off and len are multiples of UDAXFS_JLINE.
 * The records of one block never take more than its image plus one record
 * (runs are separated by at least one unchanged line), so a transaction of
 * UDAXFS_TX_MAX blocks always fits the log.
 */
struct udaxfs_jrec {
	uint64_t blk;
	uint32_t off;
	uint32_t len;
};
static_assert(sizeof(struct udaxfs_jrec) == 16, "journal record layout");

#define UDAXFS_JLINE	64u
#define UDAXFS_JLOG_MAX ((UDAXFS_JOURNAL_BLKS - 1u) * UDAXFS_BLOCK)
static_assert(UDAXFS_TX_MAX * (UDAXFS_BLOCK + sizeof(struct udaxfs_jrec)) <= UDAXFS_JLOG_MAX,
	      "a full transaction fits the log");

struct udaxfs_extent {
	uint64_t pblk; /* first media block */
	uint32_t lblk; /* first file block */
	uint32_t len;  /* blocks, > 0 */
};
static_assert(sizeof(struct udaxfs_extent) == 16, "extent layout");

#define UDAXFS_INLINE_EXTENTS 8u

struct udaxfs_inode {
	uint32_t mode; /* 0 = free */
	uint32_t uid;
	uint32_t gid;
	uint32_t nlink;
	uint64_t size;
	int64_t atime_ns;
	int64_t mtime_ns;
	int64_t ctime_ns;
	uint64_t generation;
	uint64_t parent;    /* directories: the parent directory */
	uint64_t ext_block; /* first extent block, 0 = none */
	uint32_t nextents;
	uint32_t flags; /* UDAXFS_INODE_* */
	struct udaxfs_extent ext[UDAXFS_INLINE_EXTENTS];
	/*
	 * Every byte of the file at or past max(zero_from, size rounded up to
	 * a block) reads as zero: raised (durably) before an append stores data
	 * past it, so the append's size need not be durable before its data.
	 */
	uint64_t zero_from;
	uint8_t reserved[36];
	uint32_t crc; /* udaxfs_inode_crc */
};
static_assert(sizeof(struct udaxfs_inode) == 256, "inode layout");
/*
 * The inode crc: crc32c of the 256 bytes with crc, size, mtime, ctime and
 * zero_from taken as zero. Those four are stored in place, one aligned 8-byte
 * store each, which a checksum could not follow atomically (docs/udaxfs.md).
 */
uint32_t udaxfs_inode_crc(const struct udaxfs_inode *di);
/* Set with the last name's removal: mount frees an orphan (nlink 0) still carrying it. */
#define UDAXFS_INODE_ORPHAN	0x1u
#define UDAXFS_INODES_PER_BLOCK (UDAXFS_BLOCK / sizeof(struct udaxfs_inode))

struct udaxfs_extblock {
	uint32_t magic;
	uint32_t crc; /* of the block with crc = 0 */
	uint64_t owner;
	uint64_t next; /* next extent block, 0 = last */
	uint32_t count;
	uint32_t reserved;
	struct udaxfs_extent ext[254];
};
static_assert(sizeof(struct udaxfs_extblock) == UDAXFS_BLOCK, "extent block layout");
#define UDAXFS_EXTB_EXTENTS  254u
#define UDAXFS_EXT_CHAIN_MAX 64u /* extent blocks per file */

struct udaxfs_dirent {
	uint64_t ino; /* 0 = free slot */
	uint16_t name_len;
	uint8_t type; /* DT_REG, DT_DIR */
	uint8_t reserved[5];
	char name[256]; /* not NUL-terminated on media */
};
static_assert(sizeof(struct udaxfs_dirent) == 272, "dirent layout");

struct udaxfs_dirblock {
	uint32_t magic;
	uint32_t crc;
	uint64_t owner;
	struct udaxfs_dirent ent[15];
};
static_assert(sizeof(struct udaxfs_dirblock) == UDAXFS_BLOCK, "directory block layout");
#define UDAXFS_DIRB_ENTRIES 15u

#endif
