// SPDX-License-Identifier: MIT
/*
 * udax ls, tree and stat: read-only views of a pool's namespace
 * (docs/man/udax-ls.md, udax-tree.md, udax-stat.md).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

/* Parses and mounts the single pool argument. */
static int open_arg(const char *arg, struct pool_ref *ref, struct udax_fs **fs)
{
	if (!parse_pool_arg(arg, ref))
		return EXIT_FAIL;
	return mount_pool(ref->pool, fs);
}

static void ls_usage(FILE *out)
{
	fprintf(out, "usage: udax ls [--json] POOL[:PATH]\n"
		     "  List a directory of a pool (the root without PATH), sorted by name,\n"
		     "  or one file: mode, links, size, 4 KiB blocks, modification time, name.\n"
		     "  --json  a JSON array of objects instead of a table\n"
		     "  exit: 0 listed, 1 failed, 2 usage error\n");
}

static void ls_json_entry(const char *name, const struct udax_stat *st, bool first)
{
	printf("%s{\"name\": ", first ? "" : ",\n ");
	json_string(name);
	printf(", \"type\": \"%s\", \"ino\": %" PRIu64 ", \"mode\": \"%04o\", \"nlink\": %u"
	       ", \"size\": %" PRIu64 ", \"blocks\": %" PRIu64 ", \"mtime_ns\": %" PRId64 "}",
	       type_name(st->mode), st->ino, st->mode & 07777, st->nlink, st->size, st->blocks,
	       st->mtime_ns);
}

static void ls_line(const char *name, const struct udax_stat *st)
{
	char mode[11], when[64];

	printf("%s %3u %12" PRIu64 " %8" PRIu64 " %s %s%s\n", mode_string(st->mode, mode),
	       st->nlink, st->size, st->blocks, time_string(st->mtime_ns, when, sizeof(when)), name,
	       S_ISDIR(st->mode) ? "/" : "");
}

static void ls_print(const struct dir_entry *v, size_t n, bool json)
{
	if (json) {
		putchar('[');
		for (size_t i = 0; i < n; i++)
			ls_json_entry(v[i].name, &v[i].st, !i);
		printf("]\n");
		return;
	}
	for (size_t i = 0; i < n; i++)
		ls_line(v[i].name, &v[i].st);
}

static int ls_path(struct udax_fs *fs, const char *path, bool json)
{
	struct dir_entry one, *v;
	size_t n;
	int ret;

	if (udax_stat(fs, path, &one.st) < 0)
		return fail("%s", udax_errormsg());
	if (!S_ISDIR(one.st.mode)) {
		snprintf(one.name, sizeof(one.name), "%s", path);
		ls_print(&one, 1, json);
		return EXIT_OK;
	}
	ret = list_dir(fs, path, &v, &n);
	if (ret)
		return ret;
	ls_print(v, n, json);
	free(v);
	return EXIT_OK;
}

int cmd_ls(int argc, char **argv)
{
	struct pool_ref ref;
	struct udax_fs *fs;
	bool json = false;
	int ret = parse_json_opt(argc, argv, "ls: expected one POOL[:PATH]", ls_usage, &json);

	if (ret)
		return ret < 0 ? EXIT_OK : ret;
	if (open_arg(argv[optind], &ref, &fs))
		return EXIT_FAIL;
	return unmount_pool(fs, ls_path(fs, ref.path, json));
}

static void tree_usage(FILE *out)
{
	fprintf(out, "usage: udax tree [--json] POOL[:DIR]\n"
		     "  Show the directory tree below DIR (the root without it), sorted by name,\n"
		     "  with file sizes, then the number of directories and files.\n"
		     "  --json  nested JSON objects instead of the drawing\n"
		     "  exit: 0 shown, 1 failed, 2 usage error\n");
}

/* Paths are at most 4095 bytes, so at most 2048 levels of 4 columns. */
#define TREE_PATH_MAX	4096
#define TREE_PREFIX_MAX (4 * 2048 + 1)

struct tree_count {
	uint64_t dirs, files;
};

static void tree_node_json(const char *name, const struct udax_stat *st)
{
	printf("{\"name\": ");
	json_string(name);
	printf(", \"type\": \"%s\", \"size\": %" PRIu64, type_name(st->mode), st->size);
}

/*
 * Draws (or prints as JSON) the children of the directory @path. @path and
 * @prefix (the indentation so far) are shared buffers that each level extends
 * and restores, so deep trees cost no stack per level beyond the frame.
 */
static int tree_walk(struct udax_fs *fs, char *path, char *prefix, size_t plen, bool json,
		     struct tree_count *cnt)
{
	size_t n, len = strlen(path);
	struct dir_entry *v;
	int ret = list_dir(fs, path, &v, &n);

	if (ret)
		return ret;
	if (json)
		printf(", \"children\": [");
	for (size_t i = 0; !ret && i < n; i++) {
		bool last = i + 1 == n, dir = S_ISDIR(v[i].st.mode);

		cnt->dirs += dir;
		cnt->files += !dir;
		if (json) {
			printf("%s", i ? ", " : "");
			tree_node_json(v[i].name, &v[i].st);
		} else if (dir) {
			printf("%s%s%s/\n", prefix, last ? "`-- " : "|-- ", v[i].name);
		} else {
			printf("%s%s%s (%" PRIu64 ")\n", prefix, last ? "`-- " : "|-- ", v[i].name,
			       v[i].st.size);
		}
		if (dir) {
			char *end = path + len;

			if (!path_push(path, TREE_PATH_MAX, v[i].name) ||
			    plen + 5 > TREE_PREFIX_MAX) {
				*end = 0;
				ret = fail("%s/%s: path too long", path, v[i].name);
				break;
			}
			strcpy(prefix + plen, last ? "    " : "|   ");
			ret = tree_walk(fs, path, prefix, plen + 4, json, cnt);
			prefix[plen] = 0;
			*end = 0;
		}
		if (json)
			putchar('}');
	}
	if (json)
		putchar(']');
	free(v);
	return ret;
}

static int tree_path(struct udax_fs *fs, const char *path, bool json)
{
	static char walk_path[TREE_PATH_MAX], prefix[TREE_PREFIX_MAX];
	struct tree_count cnt = {0, 0};
	struct udax_stat st;
	int ret;

	if (udax_stat(fs, path, &st) < 0)
		return fail("%s", udax_errormsg());
	if (!S_ISDIR(st.mode))
		return fail("tree: %s: not a directory", path);
	if (json)
		tree_node_json(path, &st);
	else
		printf("%s\n", path);
	snprintf(walk_path, sizeof(walk_path), "%s", path);
	ret = tree_walk(fs, walk_path, prefix, 0, json, &cnt);
	if (ret)
		return ret;
	if (json)
		printf(", \"directories\": %" PRIu64 ", \"files\": %" PRIu64 "}\n", cnt.dirs,
		       cnt.files);
	else
		printf("\n%" PRIu64 " director%s, %" PRIu64 " file%s\n", cnt.dirs,
		       cnt.dirs == 1 ? "y" : "ies", cnt.files, cnt.files == 1 ? "" : "s");
	return EXIT_OK;
}

int cmd_tree(int argc, char **argv)
{
	struct pool_ref ref;
	struct udax_fs *fs;
	bool json = false;
	int ret = parse_json_opt(argc, argv, "tree: expected one POOL[:PATH]", tree_usage, &json);

	if (ret)
		return ret < 0 ? EXIT_OK : ret;
	if (open_arg(argv[optind], &ref, &fs))
		return EXIT_FAIL;
	return unmount_pool(fs, tree_path(fs, ref.path, json));
}

static void stat_usage(FILE *out)
{
	fprintf(out, "usage: udax stat [--json] POOL:PATH\n"
		     "  Show a file's or directory's attributes; for a regular file also its\n"
		     "  extent count and the bytes a PMD (2 MiB) mapping can cover.\n"
		     "  --json  one JSON object instead of a table\n"
		     "  exit: 0 shown, 1 failed, 2 usage error\n");
}

struct extent_sum {
	int count;
	uint64_t pmd_bytes;
};

/* Extent count and PMD-mappable bytes of a regular file. */
static int sum_extents(struct udax_fs *fs, const char *path, struct extent_sum *sum)
{
	struct udax_extent *ext = NULL;
	struct udax_file *f;
	int n, ret = 0;

	memset(sum, 0, sizeof(*sum));
	if (udax_open(fs, path, O_RDONLY, 0, &f) < 0)
		return fail("%s", udax_errormsg());
	n = udax_fiemap(f, NULL, 0);
	if (n > 0 && !(ext = calloc((size_t)n, sizeof(*ext))))
		ret = fail("%s: out of memory", path);
	if (!ret && n > 0)
		n = udax_fiemap(f, ext, (unsigned)n);
	if (!ret && n < 0)
		ret = fail("%s", udax_errormsg());
	for (int i = 0; !ret && i < n; i++)
		sum->pmd_bytes += ext[i].pmd_bytes;
	sum->count = n;
	free(ext);
	udax_close(f);
	return ret;
}

static void stat_json(const char *path, const struct udax_stat *st, const struct extent_sum *es)
{
	printf("{\"path\": ");
	json_string(path);
	printf(", \"type\": \"%s\", \"ino\": %" PRIu64 ", \"mode\": \"%04o\", \"nlink\": %u"
	       ", \"uid\": %u, \"gid\": %u, \"size\": %" PRIu64 ", \"blocks\": %" PRIu64
	       ", \"atime_ns\": %" PRId64 ", \"mtime_ns\": %" PRId64 ", \"ctime_ns\": %" PRId64,
	       type_name(st->mode), st->ino, st->mode & 07777, st->nlink, st->uid, st->gid,
	       st->size, st->blocks, st->atime_ns, st->mtime_ns, st->ctime_ns);
	if (es)
		printf(", \"extents\": %d, \"pmd_bytes\": %" PRIu64, es->count, es->pmd_bytes);
	printf("}\n");
}

static void stat_table(const char *path, const struct udax_stat *st, const struct extent_sum *es)
{
	char mode[11], t[64];

	printf("path       %s\n", path);
	printf("type       %s\n", type_name(st->mode));
	printf("inode      %" PRIu64 "\n", st->ino);
	printf("mode       %04o (%s)\n", st->mode & 07777, mode_string(st->mode, mode));
	printf("links      %u\n", st->nlink);
	printf("uid        %u\n", st->uid);
	printf("gid        %u\n", st->gid);
	printf("size       %" PRIu64 "\n", st->size);
	printf("blocks     %" PRIu64 " (4 KiB)\n", st->blocks);
	if (es) {
		printf("extents    %d\n", es->count);
		printf("pmd bytes  %" PRIu64 "\n", es->pmd_bytes);
	}
	printf("access     %s\n", time_string(st->atime_ns, t, sizeof(t)));
	printf("modify     %s\n", time_string(st->mtime_ns, t, sizeof(t)));
	printf("change     %s\n", time_string(st->ctime_ns, t, sizeof(t)));
}

static int stat_path(struct udax_fs *fs, const char *path, bool json)
{
	struct extent_sum es;
	struct udax_stat st;
	bool reg;

	if (udax_stat(fs, path, &st) < 0)
		return fail("%s", udax_errormsg());
	reg = S_ISREG(st.mode);
	if (reg && sum_extents(fs, path, &es))
		return EXIT_FAIL;
	if (json)
		stat_json(path, &st, reg ? &es : NULL);
	else
		stat_table(path, &st, reg ? &es : NULL);
	return EXIT_OK;
}

int cmd_stat(int argc, char **argv)
{
	struct pool_ref ref;
	struct udax_fs *fs;
	bool json = false;
	int ret = parse_json_opt(argc, argv, "stat: expected one POOL:PATH", stat_usage, &json);

	if (ret)
		return ret < 0 ? EXIT_OK : ret;
	if (open_arg(argv[optind], &ref, &fs))
		return EXIT_FAIL;
	return unmount_pool(fs, stat_path(fs, ref.path, json));
}
