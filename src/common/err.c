// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "udax.h"
#include "common/err.h"

#define UDAX_ERRMSG_MAX 512

static _Thread_local char errmsg[UDAX_ERRMSG_MAX];

const char *udax_errormsg(void)
{
	return errmsg;
}

int udax_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	errno = err;
	return -err;
}

int udax_err_prefix(int err, const char *fmt, ...)
{
	char old[UDAX_ERRMSG_MAX];
	va_list ap;
	int n;

	memcpy(old, errmsg, sizeof(old));
	va_start(ap, fmt);
	n = vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(errmsg))
		snprintf(errmsg + n, sizeof(errmsg) - (size_t)n, ": %s", old);
	errno = err;
	return -err;
}
