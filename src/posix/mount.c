// SPDX-License-Identifier: MIT
/*
 * Configuration (UDAX_POOL, UDAX_PREFIX), the pool mounted at the first call
 * under the prefix, and the state of a forked child.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "posix/shim.h"

const char *shim_prefix;
const char *shim_prefix_base;
size_t shim_prefix_len;

static char prefix_buf[SHIM_PATH_MAX];
static const char *pool_path;
static struct udax_fs *pool_fs;
static int mount_err;
static pthread_mutex_t mount_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t config_once = PTHREAD_ONCE_INIT;
static atomic_bool forked;
static _Atomic mode_t cur_umask;

void *real_lookup(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p) {
		shim_warn("libc has no symbol %s", name);
		abort();
	}
	return p;
}

void shim_warn(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(msg) - 2)
		n = (int)sizeof(msg) - 2;
	msg[n++] = '\n';
	/* write(2) goes through the shim's own write: fd 2 is not udax's. */
	if (write(STDERR_FILENO, "udax shim: ", 11) < 0 || write(STDERR_FILENO, msg, n) < 0)
		return;
}

static void child_after_fork(void)
{
	atomic_store(&forked, true);
}

static void config_init(void)
{
	const char *prefix = getenv("UDAX_PREFIX");
	char pool_pp[SHIM_PATH_MAX];
	size_t len;

	mode_t mask = REAL(umask)(0);

	REAL(umask)(mask);
	atomic_store(&cur_umask, mask);
	pool_path = getenv("UDAX_POOL");
	if (!prefix || !*prefix)
		return;
	if (prefix[0] != '/' || !pool_path || !*pool_path) {
		shim_warn("UDAX_PREFIX must be an absolute path and UDAX_POOL must be set; "
			  "the shim is inactive");
		return;
	}
	len = strlen(prefix);
	while (len > 1 && prefix[len - 1] == '/')
		len--;
	if (len >= sizeof(prefix_buf) || len == 1) {
		shim_warn("UDAX_PREFIX \"%s\" is not usable; the shim is inactive", prefix);
		return;
	}
	memcpy(prefix_buf, prefix, len);
	prefix_buf[len] = '\0';
	shim_prefix_len = len;
	shim_prefix_base = strrchr(prefix_buf, '/') + 1;
	shim_prefix = prefix_buf;
	path_cwd_changed();
	if (path_resolve(AT_FDCWD, pool_path, pool_pp) != 0) {
		shim_warn("UDAX_POOL \"%s\" lies under UDAX_PREFIX; the shim is inactive",
			  pool_path);
		shim_prefix = NULL;
		return;
	}
	pthread_atfork(NULL, NULL, child_after_fork);
}

void shim_config(void)
{
	pthread_once(&config_once, config_init);
}

__attribute__((constructor)) static void shim_init(void)
{
	shim_config();
}

bool shim_forked(void)
{
	return atomic_load(&forked);
}

int shim_check_fork(void)
{
	static atomic_bool warned;

	if (!shim_forked())
		return 0;
	if (!atomic_exchange(&warned, true))
		shim_warn("udax files cannot be used in a forked child (the pool is mounted by "
			  "the parent process); udax calls fail with EIO");
	return -EIO;
}

int shim_fs(struct udax_fs **fs)
{
	int ret = shim_check_fork();

	if (ret)
		return ret;
	pthread_mutex_lock(&mount_lock);
	if (!pool_fs && !mount_err) {
		ret = udax_mount(pool_path, 0, &pool_fs);
		if (ret) {
			mount_err = ret;
			shim_warn("cannot mount UDAX_POOL %s: %s", pool_path, udax_errormsg());
		}
	}
	ret = mount_err;
	*fs = pool_fs;
	pthread_mutex_unlock(&mount_lock);
	return ret;
}

const char *shim_pool_path(void)
{
	return pool_path;
}

mode_t shim_umask(void)
{
	return atomic_load(&cur_umask);
}

SHIM_API mode_t umask(mode_t mask)
{
	mode_t old = REAL(umask)(mask);

	atomic_store(&cur_umask, mask & 0777);
	return old;
}
