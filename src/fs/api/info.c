// SPDX-License-Identifier: MIT
/* udax_info (include/udax.h): facts about a mounted pool, for `udax info`. */
#include "common/err.h"
#include "fs/api/api_internal.h"
#include "fs/info.h"

int udax_info(struct udax_fs *ufs, struct udax_info *info)
{
	if (!ufs || !info)
		return udax_err(EFAULT, "info: NULL argument");
	return udaxfs_info(ufs->fs, info);
}
