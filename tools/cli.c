// SPDX-License-Identifier: MIT
/* Helpers shared by the udax subcommands (cli.h). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* "udax: <message>\n" on stderr. */
static void vsay(const char *fmt, va_list ap)
{
	fputs("udax: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	return EXIT_FAIL;
}

int usage_line(void (*usage)(FILE *))
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	if (m) {
		usage(m);
		fclose(m);
	}
	if (text)
		fprintf(stderr, "%.*s\n", (int)strcspn(text, "\n"), text);
	free(text);
	return EXIT_USAGE;
}

int usage_error(void (*usage)(FILE *), const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	return usage_line(usage);
}

int parse_flag_opt(int argc, char **argv, const char *shortopts, const struct option *opts,
		   void (*usage)(FILE *), bool *flag)
{
	int c;

	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return -1;
		}
		if (c == '?' || c == ':')
			return usage_line(usage);
		*flag = true;
	}
	return 0;
}

int parse_json_opt(int argc, char **argv, const char *expected, void (*usage)(FILE *), bool *json)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ret = parse_flag_opt(argc, argv, "h", opts, usage, json);

	if (ret)
		return ret;
	if (optind != argc - 1)
		return usage_error(usage, "%s", expected);
	return 0;
}

int need_path(const char *cmd, const char *arg, void (*usage)(FILE *), struct pool_ref *ref)
{
	if (!parse_pool_arg(arg, ref))
		return EXIT_FAIL;
	if (!ref->has_path)
		return usage_error(usage, "%s: expected POOL:PATH, got \"%s\"", cmd, arg);
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "kmgt";
	const char *u;
	uint64_t v, mult = 1;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	if (*end && (u = strchr(units, *end | 0x20)) != NULL) {
		mult = 1ull << (10 * (u - units + 1));
		end++;
	}
	if (*end || (v && mult > UINT64_MAX / v))
		return -EINVAL;
	*out = v * mult;
	return 0;
}

const char *human_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double v = (double)bytes;
	unsigned u = 0;

	while (v >= 1024 && u < 6) {
		v /= 1024;
		u++;
	}
	if (!u)
		snprintf(buf, len, "%" PRIu64 " B", bytes);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

const char *mode_string(uint32_t mode, char buf[11])
{
	static const char rwx[] = "rwxrwxrwx";

	buf[0] = S_ISDIR(mode) ? 'd' : S_ISREG(mode) ? '-' : '?';
	for (int i = 0; i < 9; i++)
		buf[i + 1] = mode & (0400u >> i) ? rwx[i] : '-';
	buf[10] = 0;
	return buf;
}

const char *time_string(int64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "%" PRId64 " ns", ns);
	return buf;
}

const char *type_name(uint32_t mode)
{
	return S_ISDIR(mode) ? "dir" : S_ISREG(mode) ? "file" : "other";
}

void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

const char *json_bool(bool b)
{
	return b ? "true" : "false";
}

static bool is_file(const char *path)
{
	struct stat st;

	return !stat(path, &st) && !S_ISDIR(st.st_mode);
}

static bool split_at_colon(const char *arg, struct pool_ref *ref)
{
	const char *colon = strchr(arg, ':');
	size_t n;

	if (!colon || colon == arg || (n = (size_t)(colon - arg)) >= sizeof(ref->pool))
		return false;
	memcpy(ref->pool, arg, n);
	ref->pool[n] = 0;
	ref->path = colon[1] ? colon + 1 : "/";
	ref->has_path = true;
	return true;
}

bool is_pool_path(const char *arg, struct pool_ref *ref)
{
	return split_at_colon(arg, ref) && is_file(ref->pool);
}

bool parse_pool_arg(const char *arg, struct pool_ref *ref)
{
	if (is_pool_path(arg, ref))
		return true;
	if (is_file(arg) || !split_at_colon(arg, ref)) {
		/* the whole argument names the pool */
		if (strlen(arg) >= sizeof(ref->pool)) {
			fail("%.64s...: pool path too long", arg);
			return false;
		}
		strcpy(ref->pool, arg);
		ref->path = "/";
		ref->has_path = false;
	}
	return true;
}

int mount_pool(const char *pool, struct udax_fs **fs)
{
	if (udax_mount(pool, 0, fs) < 0)
		return fail("%s", udax_errormsg());
	return EXIT_OK;
}

int unmount_pool(struct udax_fs *fs, int ret)
{
	if (udax_unmount(fs) < 0) {
		fail("%s", udax_errormsg());
		return EXIT_FAIL;
	}
	return ret;
}

bool path_join(char *buf, size_t len, const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	int n;

	while (dl && dir[dl - 1] == '/')
		dl--;
	n = snprintf(buf, len, "%.*s/%s", (int)dl, dir, name);
	return n > 0 && (size_t)n < len;
}

bool path_push(char *path, size_t cap, const char *name)
{
	size_t len = strlen(path), nl = strlen(name);
	bool slash = !len || path[len - 1] != '/';

	if (len + slash + nl >= cap)
		return false;
	if (slash)
		path[len++] = '/';
	memcpy(path + len, name, nl + 1);
	return true;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct dir_entry *)a)->name, ((const struct dir_entry *)b)->name);
}

static int add_entry(struct udax_fs *fs, const char *dir, const struct udax_dirent *de,
		     struct dir_entry **v, size_t *n, size_t *cap)
{
	char path[4096];
	int ret;

	if (!strcmp(de->name, ".") || !strcmp(de->name, ".."))
		return 0;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct dir_entry *nv = realloc(*v, ncap * sizeof(**v));

		if (!nv)
			return fail("%s: out of memory", dir);
		*v = nv;
		*cap = ncap;
	}
	if (!path_join(path, sizeof(path), dir, de->name))
		return fail("%s/%s: path too long", dir, de->name);
	ret = udax_stat(fs, path, &(*v)[*n].st);
	if (ret < 0)
		return fail("%s", udax_errormsg());
	snprintf((*v)[*n].name, sizeof((*v)[*n].name), "%s", de->name);
	(*n)++;
	return 0;
}

int list_dir(struct udax_fs *fs, const char *path, struct dir_entry **out, size_t *n)
{
	struct dir_entry *v = NULL;
	struct udax_dirent de;
	struct udax_dir *d;
	size_t cap = 0;
	int ret;

	*n = 0;
	if (udax_opendir(fs, path, &d) < 0)
		return fail("%s", udax_errormsg());
	while ((ret = udax_readdir(d, &de)) > 0) {
		ret = add_entry(fs, path, &de, &v, n, &cap);
		if (ret)
			break;
	}
	if (ret < 0)
		ret = fail("%s", udax_errormsg());
	udax_closedir(d);
	if (ret) {
		free(v);
		return ret;
	}
	if (*n)
		qsort(v, *n, sizeof(*v), by_name);
	*out = v;
	return EXIT_OK;
}

/* ---- scratch space (demo, bench) ---- */

struct scratch scratch;

int scratch_begin(const char *who, const char *dir)
{
	if (dir && strlen(dir) >= SCRATCH_DIR_MAX - 32)
		return fail("%s: %s: path too long", who, dir);
	/* no pmem here: take the flush path real pmem needs, so MAP_SYNC and writeback run */
	setenv("UDAX_FORCE_FLUSH", "1", 1);
	return 0;
}

const char *scratch_file(const char *name)
{
	char path[PATH_MAX]; /* not in place: gcc cannot tell the fields of scratch apart */
	int i = scratch.nfiles;

	if (i >= SCRATCH_FILES)
		abort(); /* a programming error: raise SCRATCH_FILES */
	if (!path_join(path, sizeof(path), scratch.dir, name))
		abort(); /* cannot happen: scratch.dir is at most SCRATCH_DIR_MAX */
	memcpy(scratch.files[i], path, sizeof(path));
	scratch.nfiles = i + 1;
	return scratch.files[i];
}

/* System calls only, so a signal handler may call it. */
bool scratch_undo(void)
{
	bool ok = true;

	for (int i = scratch.nfiles - 1; i >= 0; i--)
		if (unlink(scratch.files[i]) && errno != ENOENT)
			ok = false;
	scratch.nfiles = 0;
	if (scratch.mounted) {
		/* a mapping still open (only on a failure path) keeps it busy: detach it */
		if (umount2(scratch.dir, 0) && umount2(scratch.dir, MNT_DETACH))
			ok = false;
		else
			scratch.mounted = 0;
	}
	if (scratch.have_dir) {
		if (rmdir(scratch.dir))
			ok = false;
		else
			scratch.have_dir = 0;
	}
	return ok;
}

static void undo_on_signal(int sig)
{
	int err = errno;

	scratch_undo();
	signal(sig, SIG_DFL);
	errno = err;
	raise(sig);
}

static const int exit_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
#define NR_EXIT_SIGNALS (sizeof(exit_signals) / sizeof(exit_signals[0]))

/* SIGPIPE: `udax demo | head`. One started ignored (nohup, `cmd &`) stays ignored. */
void scratch_catch_signals(void)
{
	struct sigaction sa = {.sa_handler = undo_on_signal}, old;

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NR_EXIT_SIGNALS; i++)
		sigaddset(&sa.sa_mask, exit_signals[i]);
	for (size_t i = 0; i < NR_EXIT_SIGNALS; i++)
		if (!sigaction(exit_signals[i], NULL, &old) && old.sa_handler != SIG_IGN)
			sigaction(exit_signals[i], &sa, NULL);
}

/* Signals that would undo the scratch space are held while it changes. */
static void hold_signals(bool hold, sigset_t *old)
{
	sigset_t set;

	if (!hold) {
		sigprocmask(SIG_SETMASK, old, NULL);
		return;
	}
	sigemptyset(&set);
	for (size_t i = 0; i < NR_EXIT_SIGNALS; i++)
		sigaddset(&set, exit_signals[i]);
	sigprocmask(SIG_BLOCK, &set, old);
}

int scratch_make_dir(const char *who, const char *base)
{
	sigset_t old;
	int n = snprintf(scratch.dir, sizeof(scratch.dir), "%s/udax-%s.XXXXXX", base, who);

	if (n < 0 || (size_t)n >= sizeof(scratch.dir))
		return fail("%s: %s: path too long", who, base);
	hold_signals(true, &old);
	if (mkdtemp(scratch.dir))
		scratch.have_dir = 1;
	hold_signals(false, &old);
	if (!scratch.have_dir)
		return fail("%s: cannot make a directory in %s: %s", who, base, strerror(errno));
	return EXIT_OK;
}

int scratch_mount_tmpfs(const char *source, const char *opts)
{
	sigset_t old;
	int err = 0;

	hold_signals(true, &old);
	if (!mount(source, scratch.dir, "tmpfs", 0, opts))
		scratch.mounted = 1;
	else
		err = errno;
	hold_signals(false, &old);
	return err;
}
