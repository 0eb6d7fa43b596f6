/* SPDX-License-Identifier: MIT */
/* Error reporting shared by every layer: negative errno + a thread-local message. */
#ifndef UDAX_COMMON_ERR_H
#define UDAX_COMMON_ERR_H

#include <errno.h>

/*
 * udax_err - record a failure and return -err, so callers write
 *	return udax_err(ENOENT, "%s: no such file", path);
 * errno is left as err too. Not async-signal-safe (uses vsnprintf); the fault
 * paths report through their return codes only.
 */
__attribute__((format(printf, 2, 3))) int udax_err(int err, const char *fmt, ...);

/* udax_err_prefix - prepend "what: " to the current message (keeps errno). */
__attribute__((format(printf, 2, 3))) int udax_err_prefix(int err, const char *fmt, ...);

#endif
