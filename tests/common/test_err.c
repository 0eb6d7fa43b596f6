// SPDX-License-Identifier: MIT
#include "udax.h"
#include "common/err.h"
#include "testlib.h"

int main(void)
{
	CHECK(strcmp(udax_errormsg(), "") == 0);
	CHECK_ERR(udax_err(ENOENT, "%s: no such file", "/x"), ENOENT);
	CHECK_EQ(errno, ENOENT);
	CHECK(strcmp(udax_errormsg(), "/x: no such file") == 0);
	CHECK_ERR(udax_err_prefix(EIO, "pool %d", 3), EIO);
	CHECK(strcmp(udax_errormsg(), "pool 3: /x: no such file") == 0);
	return 0;
}
