/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the udax subcommands (tools/cmd_*.c): messages, exit
 * codes, sizes, JSON output, POOL:PATH arguments and mounting.
 */
#ifndef UDAX_TOOLS_CLI_H
#define UDAX_TOOLS_CLI_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "udax.h"

/* Exit codes of every subcommand but fsck (docs/man/udax.md). */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* One subcommand: its name, a line for `udax --help`, and its entry point. */
struct subcommand {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

int cmd_media(int argc, char **argv);
int cmd_mkfs(int argc, char **argv);
int cmd_fsck(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_tree(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_cp(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_mv(int argc, char **argv);
int cmd_mkdir(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* "udax: <message>" on stderr; returns EXIT_FAIL. */
__attribute__((format(printf, 1, 2))) int fail(const char *fmt, ...);
/* The first line of @usage's text ("usage: udax ...") on stderr; returns EXIT_USAGE. */
int usage_line(void (*usage)(FILE *));
/* "udax: <message>" then the usage line on stderr; returns EXIT_USAGE. */
__attribute__((format(printf, 2, 3))) int usage_error(void (*usage)(FILE *), const char *fmt, ...);

/* "64M" -> 67108864; K, M, G and T are binary multiples. */
int parse_size(const char *s, uint64_t *out);
/* "16.0 MiB": @bytes in the largest binary unit that keeps it >= 1. */
const char *human_size(uint64_t bytes, char *buf, size_t len);
/* "-rw-r--r--" */
const char *mode_string(uint32_t mode, char buf[11]);
/* "2026-11-21 07:24:40" in local time */
const char *time_string(int64_t ns, char *buf, size_t len);
const char *type_name(uint32_t mode);

void json_string(const char *s);
const char *json_bool(bool b);

/*
 * A pool argument: POOL or POOL:PATH. POOL is a file (the pool); PATH is
 * absolute inside it ("/" when absent). When the text before a ':' is not an
 * existing file but the whole argument is, the argument is the pool (a pool
 * file whose name has a ':').
 */
struct pool_ref {
	char pool[4096];
	const char *path;
	bool has_path;
};

/* Splits @arg; false (with a message) if it is not a pool reference. */
bool parse_pool_arg(const char *arg, struct pool_ref *ref);
/* For cp: true only if @arg is POOL:PATH with an existing POOL. */
bool is_pool_path(const char *arg, struct pool_ref *ref);

struct option;
/*
 * The options of subcommands that take --help and at most one flag (any
 * other option in @opts, which sets *flag): 0, -1 after --help, else the exit
 * code of a usage error.
 */
int parse_flag_opt(int argc, char **argv, const char *shortopts, const struct option *opts,
		   void (*usage)(FILE *), bool *flag);
/*
 * The options of subcommands that take only --json and --help, and exactly
 * one argument (at argv[optind] on return 0): -1 after --help, else the exit
 * code of a usage error (@expected is its message).
 */
int parse_json_opt(int argc, char **argv, const char *expected, void (*usage)(FILE *),
		   bool *json);
/* A POOL:PATH argument naming a path: 0, or the exit code after the message. */
int need_path(const char *cmd, const char *arg, void (*usage)(FILE *), struct pool_ref *ref);

/* Mounts @pool, printing the library's message on failure; 0 or EXIT_FAIL. */
int mount_pool(const char *pool, struct udax_fs **fs);
/* Unmounts; a failure is reported and turns @ret into EXIT_FAIL. */
int unmount_pool(struct udax_fs *fs, int ret);

/* @dir joined with @name into @buf; false if it does not fit. */
bool path_join(char *buf, size_t len, const char *dir, const char *name);

/* Appends "/@name" to @path (of @cap bytes) in place; false if it does not fit. */
bool path_push(char *path, size_t cap, const char *name);

/* The entries of a directory, "." and ".." left out, sorted by name. */
struct dir_entry {
	char name[256];
	struct udax_stat st;
};

int list_dir(struct udax_fs *fs, const char *path, struct dir_entry **out, size_t *n);

/*
 * The scratch space of a subcommand that makes its own pool (demo, bench): a
 * new directory, maybe a tmpfs mounted on it, and files in it. scratch_undo()
 * removes them; so does the handler scratch_catch_signals() installs for
 * SIGINT, SIGTERM, SIGHUP and SIGPIPE, with system calls alone.
 */
#define SCRATCH_DIR_MAX (PATH_MAX - 64)
#define SCRATCH_FILES	8

extern struct scratch {
	char dir[SCRATCH_DIR_MAX];
	volatile sig_atomic_t have_dir, mounted;
	char files[SCRATCH_FILES][PATH_MAX];
	volatile sig_atomic_t nfiles;
} scratch;

/* Makes "@base/udax-@who.XXXXXX"; messages start with "@who: ". 0 or EXIT_FAIL. */
int scratch_make_dir(const char *who, const char *base);
/* Mounts a tmpfs with @opts on the directory; 0 or the errno of mount(2). */
int scratch_mount_tmpfs(const char *source, const char *opts);
/*
 * The start of a run on a scratch pool (demo, bench): checks that --dir
 * @dir (may be NULL) leaves room for the names made in it, and sets
 * UDAX_FORCE_FLUSH=1 so the flush path of real pmem runs. 0 or EXIT_FAIL.
 */
int scratch_begin(const char *who, const char *dir);
/* Notes @name in the directory as a file to remove; returns its path. */
const char *scratch_file(const char *name);
/* Removes everything listed; false if something could not be. */
bool scratch_undo(void);
/* Signals that end the command undo the scratch space first; ignored ones stay ignored. */
void scratch_catch_signals(void);

#endif
