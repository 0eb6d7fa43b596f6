/* SPDX-License-Identifier: MIT */
/* Helpers of the programs that run under the shim (run_shim.sh sets the environment). */
#ifndef UDAX_SHIM_TEST_H
#define UDAX_SHIM_TEST_H

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "testlib.h"

/* CHECK_ERRNO(expr, E): expr must return -1 (or NULL) with errno E. */
#define CHECK_ERRNO(expr, e)                                                                       \
	do {                                                                                       \
		errno = 0;                                                                         \
		long long _r = (long long)(expr);                                                  \
		int _e = errno;                                                                    \
		if (_r != -1 || _e != (e))                                                         \
			test_fail(__FILE__, __LINE__,                                              \
				  "%s returned %lld errno %d (%s), expected %s", #expr, _r, _e,    \
				  strerror(_e), #e);                                               \
	} while (0)

static const char *test_prefix;
static mode_t test_umask;

/* upath - "$UDAX_PREFIX/name" in a rotating static buffer. */
static inline const char *upath(const char *name)
{
	static char buf[8][512];
	static unsigned n;
	char *b = buf[n++ % 8];

	snprintf(b, sizeof(buf[0]), "%s/%s", test_prefix, name);
	return b;
}

static inline void shim_test_init(void)
{
	test_prefix = getenv("UDAX_PREFIX");
	if (!test_prefix || !getenv("LD_PRELOAD"))
		test_skip("run me through run_shim.sh (UDAX_PREFIX and LD_PRELOAD unset)");
	test_umask = umask(022);
	test_umask = 022;
	test_watchdog(120);
}

#endif
