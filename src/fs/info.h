/* SPDX-License-Identifier: MIT */
/* Read-only facts about a mounted udaxfs for udax_info (include/udax.h). */
#ifndef UDAX_FS_INFO_H
#define UDAX_FS_INFO_H

#include "udax.h"

struct udaxfs;

/* Fills @info from the superblock, the media's classification and the bitmap. */
int udaxfs_info(struct udaxfs *fs, struct udax_info *info);

#endif
