// SPDX-License-Identifier: MIT
/*
 * udax_info and udax_pool_raw_region (include/udax.h): facts about a pool,
 * for `udax info` and device-DAX over a pool's raw region.
 */
#include "common/err.h"
#include "fs/api/api_internal.h"
#include "fs/info.h"
#include "fs/udaxfs.h"

int udax_info(struct udax_fs *ufs, struct udax_info *info)
{
	if (!ufs || !info)
		return udax_err(EFAULT, "info: NULL argument");
	return udaxfs_info(ufs->fs, info);
}

int udax_pool_raw_region(const char *pool, uint64_t *off, uint64_t *len)
{
	if (!pool || !off || !len)
		return udax_err(EFAULT, "raw region: NULL argument");
	return udaxfs_raw_region(pool, off, len);
}
