// SPDX-License-Identifier: MIT
/*
 * udax rm, mv and mkdir: namespace changes inside a pool, each durable when
 * the command returns (docs/man/udax-rm.md, udax-mv.md, udax-mkdir.md).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static bool is_root(const char *path)
{
	return path[strspn(path, "/")] == 0;
}

static void rm_usage(FILE *out)
{
	fprintf(out, "usage: udax rm [-r] POOL:PATH\n"
		     "  Remove a file, or with -r a directory and everything below it.\n"
		     "  -r, --recursive  remove directories and their contents\n"
		     "  exit: 0 removed, 1 failed, 2 usage error\n");
}

/* Removes the tree at @path, a shared buffer of 4096 bytes each level extends. */
static int remove_tree(struct udax_fs *fs, char *path)
{
	size_t n, len = strlen(path);
	struct dir_entry *v;
	int ret = list_dir(fs, path, &v, &n);

	if (ret)
		return ret;
	for (size_t i = 0; !ret && i < n; i++) {
		if (!path_push(path, 4096, v[i].name))
			ret = fail("%s/%s: path too long", path, v[i].name);
		else if (S_ISDIR(v[i].st.mode))
			ret = remove_tree(fs, path);
		else if (udax_unlink(fs, path) < 0)
			ret = fail("%s", udax_errormsg());
		path[len] = 0;
	}
	free(v);
	if (!ret && udax_rmdir(fs, path) < 0)
		ret = fail("%s", udax_errormsg());
	return ret;
}

static int rm_path(struct udax_fs *fs, const char *path, bool recursive)
{
	struct udax_stat st;

	if (udax_stat(fs, path, &st) < 0)
		return fail("%s", udax_errormsg());
	if (S_ISDIR(st.mode) && !recursive)
		return fail("rm: %s: is a directory (use -r)", path);
	if (S_ISDIR(st.mode)) {
		static char buf[4096];

		snprintf(buf, sizeof(buf), "%s", path);
		return remove_tree(fs, buf);
	}
	if (udax_unlink(fs, path) < 0)
		return fail("%s", udax_errormsg());
	return EXIT_OK;
}

int cmd_rm(int argc, char **argv)
{
	static const struct option opts[] = {
		{"recursive", no_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct pool_ref ref;
	bool recursive = false;
	struct udax_fs *fs;
	int ret = parse_flag_opt(argc, argv, "hr", opts, rm_usage, &recursive);

	if (ret)
		return ret < 0 ? EXIT_OK : ret;
	if (optind != argc - 1)
		return usage_error(rm_usage, "rm: expected one POOL:PATH");
	ret = need_path("rm", argv[optind], rm_usage, &ref);
	if (ret)
		return ret;
	if (is_root(ref.path))
		return fail("rm: refusing to remove the root directory");
	if (mount_pool(ref.pool, &fs))
		return EXIT_FAIL;
	return unmount_pool(fs, rm_path(fs, ref.path, recursive));
}

static void mkdir_usage(FILE *out)
{
	fprintf(out, "usage: udax mkdir [-p] POOL:PATH\n"
		     "  Create a directory (mode 0755).\n"
		     "  -p, --parents  create missing parents; no error if it exists\n"
		     "  exit: 0 created, 1 failed, 2 usage error\n");
}

/* mkdir -p: each prefix of @path in turn, existing directories accepted. */
static int mkdir_parents(struct udax_fs *fs, const char *path)
{
	char buf[4096];
	struct udax_stat st;
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return fail("%s: path too long", path);
	memcpy(buf, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != 0)
			continue;
		if (buf[i - 1] == '/')
			continue;
		buf[i] = 0;
		if (udax_mkdir(fs, buf, 0755) < 0 &&
		    (udax_stat(fs, buf, &st) < 0 || !S_ISDIR(st.mode)))
			return fail("%s", udax_errormsg());
		buf[i] = path[i];
	}
	return EXIT_OK;
}

int cmd_mkdir(int argc, char **argv)
{
	static const struct option opts[] = {
		{"parents", no_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct pool_ref ref;
	bool parents = false;
	struct udax_fs *fs;
	int ret = parse_flag_opt(argc, argv, "hp", opts, mkdir_usage, &parents);

	if (ret)
		return ret < 0 ? EXIT_OK : ret;
	if (optind != argc - 1)
		return usage_error(mkdir_usage, "mkdir: expected one POOL:PATH");
	ret = need_path("mkdir", argv[optind], mkdir_usage, &ref);
	if (ret)
		return ret;
	if (mount_pool(ref.pool, &fs))
		return EXIT_FAIL;
	if (parents)
		ret = mkdir_parents(fs, ref.path);
	else if (udax_mkdir(fs, ref.path, 0755) < 0)
		ret = fail("%s", udax_errormsg());
	return unmount_pool(fs, ret);
}

static void mv_usage(FILE *out)
{
	fprintf(out, "usage: udax mv POOL:SRC POOL:DST\n"
		     "  Rename SRC to DST inside one pool, atomically. If DST is a directory,\n"
		     "  SRC moves into it; an existing file DST is replaced.\n"
		     "  exit: 0 moved, 1 failed, 2 usage error\n");
}

/* DST, or DST/basename(SRC) when DST is an existing directory (as mv(1)). */
static int mv_target(struct udax_fs *fs, const char *src, const char *dst, char *buf, size_t len)
{
	const char *base = strrchr(src, '/');
	struct udax_stat st;

	snprintf(buf, len, "%s", dst);
	if (udax_stat(fs, dst, &st) < 0 || !S_ISDIR(st.mode))
		return 0;
	base = base ? base + 1 : src;
	if (!path_join(buf, len, dst, base))
		return fail("%s/%s: path too long", dst, base);
	return 0;
}

int cmd_mv(int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct pool_ref src, dst;
	char target[4096];
	bool unused = false;
	struct udax_fs *fs;
	int ret = parse_flag_opt(argc, argv, "h", opts, mv_usage, &unused);

	if (ret)
		return ret < 0 ? EXIT_OK : ret;
	if (optind != argc - 2)
		return usage_error(mv_usage, "mv: expected POOL:SRC and POOL:DST");
	ret = need_path("mv", argv[optind], mv_usage, &src);
	if (!ret)
		ret = need_path("mv", argv[optind + 1], mv_usage, &dst);
	if (ret)
		return ret;
	if (strcmp(src.pool, dst.pool))
		return fail("mv: %s and %s are in different pools (use cp and rm)", argv[optind],
			    argv[optind + 1]);
	if (mount_pool(src.pool, &fs))
		return EXIT_FAIL;
	ret = mv_target(fs, src.path, dst.path, target, sizeof(target));
	if (!ret && udax_rename(fs, src.path, target) < 0)
		ret = fail("%s", udax_errormsg());
	return unmount_pool(fs, ret);
}
