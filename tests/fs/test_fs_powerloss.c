// SPDX-License-Identifier: MIT
/*
 * Power loss. Each workload runs on a pool whose media stores, flushes and
 * fences are recorded (pmem.h, "Power-loss recording"). At every fence (a
 * crash point) and after every operation returns, crash images are made: the
 * persisted media plus random subsets of the pending and in-flight lines. Each
 * image is mounted (recovery runs) and compared with a shadow model of the
 * tree, then unmounted and fsck must find nothing wrong:
 *  - after an operation returned, the tree is exactly the model after it;
 *  - during a metadata operation, exactly the model before or after it;
 *  - during a write (and a ZERO_RANGE, which zeroes in place), every other
 *    file is as before; the file's size is the old or the new one; each byte
 *    of the range holds its old or its new value, and every other byte its
 *    old value (zero past the old size); an extending write whose new size is
 *    not yet durable shows nothing it stored (a write that also overwrites
 *    makes its size durable first; an append's bytes may lie past EOF, which
 *    the next check covers);
 *  - in every image, each file grown after recovery reads zeros past its old
 *    end (bytes a crash left past EOF must never come back into a file).
 * The live tree must also equal the model after each operation.
 *
 * With --expect-bug, the test passes when it catches an inconsistency (run
 * against a library with a deliberate ordering bug) and fails when it does not.
 */
#include <stdarg.h>

#include "pmem/pmem.h"
#include "fstest.h"

#define POOL_SIZE (8 * MIB)
#define MAXENT	  48
#define PATHLEN	  48

struct ment {
	char path[PATHLEN];
	bool dir;
	uint64_t size;
	uint8_t *data; /* size bytes */
};

struct model {
	unsigned n;
	struct ment e[MAXENT];
};

enum op_kind {
	OP_CREATE,
	OP_MKDIR,
	OP_UNLINK,
	OP_RMDIR,
	OP_RENAME,
	OP_WRITE,
	OP_APPEND,
	OP_TRUNCATE,
	OP_FALLOC,
	OP_UNLINK_OPEN, /* unlink while open, write to the orphan, close it */
};

struct op {
	enum op_kind kind;
	const char *a, *b;
	uint64_t off, len; /* write, fallocate; truncate: off is the size */
	int mode;	   /* fallocate */
	unsigned seed;	   /* write pattern */
};

/* The transition in progress: what a crash image may show. */
static struct {
	const struct model *before, *after;
	const struct op *op; /* NULL between operations */
	unsigned index;	     /* of op in its workload */
} now;

static const char *pool, *image_path;
static struct pmem_recorder *rec;
static uint8_t *image;
static bool expect_bug;
static unsigned random_images = 3;
static uint64_t images_checked, points_checked, points_pending, points_in_flight;
static unsigned ops_run[OP_UNLINK_OPEN + 1]; /* per kind, for the summary */

/* A mismatch: fatal normally; with --expect-bug, the expected outcome. */
__attribute__((format(printf, 1, 2))) static void found(const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (expect_bug) {
		fprintf(stderr, "caught the bug after %llu images: %s\n",
			(unsigned long long)images_checked, why);
		exit(0);
	}
	test_fail(__FILE__, __LINE__, "%s", why);
}

/* ---- the shadow model ---- */

/* The entry named @path; the caller decides whether it may change it. */
static struct ment *m_find(const struct model *m, const char *path)
{
	for (unsigned i = 0; i < m->n; i++)
		if (!strcmp(m->e[i].path, path))
			return (struct ment *)&m->e[i];
	return NULL;
}

static void m_resize(struct ment *e, uint64_t size)
{
	e->data = realloc(e->data, size ? size : 1);
	CHECK(e->data);
	if (size > e->size)
		memset(e->data + e->size, 0, size - e->size);
	e->size = size;
}

static void m_add(struct model *m, const char *path, bool dir)
{
	struct ment *e = &m->e[m->n++];

	CHECK(m->n <= MAXENT);
	memset(e, 0, sizeof(*e));
	snprintf(e->path, sizeof(e->path), "%s", path);
	e->dir = dir;
	m_resize(e, 0);
}

static void m_remove(struct model *m, const char *path)
{
	struct ment *e = m_find(m, path);

	free(e->data);
	*e = m->e[--m->n];
}

/* Length of the parent directory's part of @path: 1 ("/") for a name in the root. */
static size_t parent_len(const char *path)
{
	size_t n = (size_t)(strrchr(path, '/') - path);

	return n ? n : 1;
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && path[n] == '/';
}

static void m_rename(struct model *m, const char *from, const char *to)
{
	char tmp[PATHLEN];

	if (m_find(m, to))
		m_remove(m, to);
	for (unsigned i = 0; i < m->n; i++) {
		struct ment *e = &m->e[i];

		if (!strcmp(e->path, from)) {
			snprintf(e->path, sizeof(e->path), "%s", to);
		} else if (under(e->path, from)) {
			snprintf(tmp, sizeof(tmp), "%s%s", to, e->path + strlen(from));
			memcpy(e->path, tmp, sizeof(tmp));
		}
	}
}

static void m_zero(struct ment *e, uint64_t off, uint64_t len)
{
	uint64_t end = off + len < e->size ? off + len : e->size;

	if (off < end)
		memset(e->data + off, 0, end - off);
}

static void m_fallocate(struct ment *e, int mode, uint64_t off, uint64_t len)
{
	uint64_t old = e->size;

	if (mode & UDAX_FALLOC_COLLAPSE_RANGE) {
		memmove(e->data + off, e->data + off + len, old - off - len);
		m_resize(e, old - len);
	} else if (mode & UDAX_FALLOC_INSERT_RANGE) {
		m_resize(e, old + len);
		memmove(e->data + off + len, e->data + off, old - off);
		memset(e->data + off, 0, len);
	} else {
		if (mode & (UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_ZERO_RANGE))
			m_zero(e, off, len);
		if (!(mode & UDAX_FALLOC_KEEP_SIZE) && off + len > old)
			m_resize(e, off + len);
	}
}

static void op_pattern(const struct op *op, uint64_t off, uint8_t *buf)
{
	fill_pattern(buf, op->len, off, op->seed);
}

static void m_apply(struct model *m, const struct op *op)
{
	struct ment *e = op->a ? m_find(m, op->a) : NULL;
	uint64_t off = op->off;

	switch (op->kind) {
	case OP_CREATE:
	case OP_MKDIR:
		m_add(m, op->a, op->kind == OP_MKDIR);
		break;
	case OP_UNLINK:
	case OP_UNLINK_OPEN:
	case OP_RMDIR:
		m_remove(m, op->a);
		break;
	case OP_RENAME:
		m_rename(m, op->a, op->b);
		break;
	case OP_APPEND:
		off = e->size;
		/* fall through */
	case OP_WRITE:
		if (off + op->len > e->size)
			m_resize(e, off + op->len);
		op_pattern(op, off, e->data + off);
		break;
	case OP_TRUNCATE:
		m_resize(e, op->off);
		break;
	case OP_FALLOC:
		m_fallocate(e, op->mode, op->off, op->len);
		break;
	}
}

static void m_copy(struct model *dst, const struct model *src)
{
	for (unsigned i = 0; i < dst->n; i++)
		free(dst->e[i].data);
	*dst = *src;
	for (unsigned i = 0; i < dst->n; i++) {
		dst->e[i].data = malloc(src->e[i].size ? src->e[i].size : 1);
		CHECK(dst->e[i].data);
		memcpy(dst->e[i].data, src->e[i].data, src->e[i].size);
	}
}

/* ---- comparing a mounted tree with the model ---- */

/* A write's byte range, where a crash may leave old or new bytes. */
struct partial {
	const char *path;
	uint64_t off, len;
	bool size_first; /* without the new size, the file shows nothing the write stored */
};

static uint8_t byte_at(const struct ment *e, uint64_t i)
{
	return i < e->size ? e->data[i] : 0;
}

static bool in_range(const struct partial *p, uint64_t i)
{
	return i >= p->off && i < p->off + p->len;
}

/* File contents @buf of @size against the model entry, or a partial write of it. */
static bool file_matches(const uint8_t *buf, uint64_t size, const struct ment *b,
			 const struct ment *a, const struct partial *p)
{
	if (!p)
		return size == b->size && !memcmp(buf, b->data, size);
	if (size != b->size && size != a->size)
		return false;
	if (p->size_first && size < a->size)
		return size == b->size && !memcmp(buf, b->data, size);
	for (uint64_t i = 0; i < size; i++) {
		if (buf[i] == byte_at(b, i))
			continue;
		if (!in_range(p, i) || buf[i] != byte_at(a, i))
			return false;
	}
	return true;
}

static bool entry_matches(struct udax_fs *fs, const struct ment *b, const struct ment *a,
			  const struct partial *p)
{
	static uint8_t *buf;
	static size_t cap;
	struct udax_file *f;
	struct udax_stat st;
	bool ok;

	if (udax_stat(fs, b->path, &st) || S_ISDIR(st.mode) != b->dir)
		return false;
	if (b->dir)
		return true;
	if (st.size > cap) {
		cap = st.size;
		buf = realloc(buf, cap);
		CHECK(buf);
	}
	if (udax_open(fs, b->path, O_RDONLY, 0, &f))
		return false;
	ok = udax_pread(f, buf, st.size, 0) == (ssize_t)st.size &&
	     file_matches(buf, st.size, b, a, p);
	CHECK_OK(udax_close(f));
	return ok;
}

static unsigned dir_count(struct udax_fs *fs, const char *path)
{
	struct udax_dirent ent;
	struct udax_dir *d;
	unsigned n = 0;

	if (udax_opendir(fs, path, &d))
		return ~0u;
	while (udax_readdir(d, &ent) == 1)
		n += strcmp(ent.name, ".") && strcmp(ent.name, "..");
	CHECK_OK(udax_closedir(d));
	return n;
}

static unsigned m_children(const struct model *m, const char *dir)
{
	unsigned n = 0;

	for (unsigned i = 0; i < m->n; i++) {
		size_t len = parent_len(m->e[i].path);

		n += strlen(dir) == len && !strncmp(m->e[i].path, dir, len);
	}
	return n;
}

/* Every model name is there with its contents, and directories hold nothing else. */
static bool tree_matches(struct udax_fs *fs, const struct model *m, const struct model *after,
			 const struct partial *p)
{
	if (dir_count(fs, "/") != m_children(m, "/"))
		return false;
	for (unsigned i = 0; i < m->n; i++) {
		const struct ment *e = &m->e[i];
		bool part = p && !strcmp(p->path, e->path);

		if (!entry_matches(fs, e, part ? m_find(after, e->path) : e, part ? p : NULL))
			return false;
		if (e->dir && dir_count(fs, e->path) != m_children(m, e->path))
			return false;
	}
	return true;
}

/* Writes, appends and ZERO_RANGE store data in place: a crash may leave them half done. */
static bool stores_in_place(const struct op *op)
{
	return op && (op->kind == OP_WRITE || op->kind == OP_APPEND ||
		      (op->kind == OP_FALLOC && (op->mode & UDAX_FALLOC_ZERO_RANGE)));
}

static struct partial partial_of(const struct op *op, const struct model *before)
{
	const struct ment *e = m_find(before, op->a);

	return (struct partial){
		.path = op->a,
		.off = op->kind == OP_APPEND ? e->size : op->off,
		.len = op->len,
		.size_first = op->kind != OP_FALLOC,
	};
}

/*
 * Bytes past EOF must read as zeros once the file grows over them, whatever
 * a crash left there (a write's data that reached the media before its size
 * would show here, while a plain read stops at EOF): each file of the image
 * is truncated up by GROW_CHECK and the new range read.
 */
#define GROW_CHECK (256 * 1024)

static bool grows_as_zeros(struct udax_fs *fs, const char *path)
{
	static uint8_t buf[GROW_CHECK];
	struct udax_file *f;
	struct udax_stat st;
	ssize_t n;
	bool ok;

	if (udax_stat(fs, path, &st) || S_ISDIR(st.mode))
		return true; /* not in this image */
	CHECK_OK(udax_open(fs, path, O_RDWR, 0, &f));
	CHECK_OK(udax_ftruncate(f, (off_t)(st.size + GROW_CHECK)));
	n = udax_pread(f, buf, GROW_CHECK, (off_t)st.size);
	ok = n == GROW_CHECK;
	for (ssize_t i = 0; ok && i < n; i++)
		ok = !buf[i];
	CHECK_OK(udax_close(f));
	return ok;
}

static bool grown_files_zero(struct udax_fs *fs)
{
	const struct model *m[2] = {now.before, now.after};

	for (unsigned k = 0; k < 2; k++)
		for (unsigned i = 0; m[k] && i < m[k]->n; i++)
			if (!m[k]->e[i].dir && !grows_as_zeros(fs, m[k]->e[i].path))
				return false;
	return true;
}

static bool crash_state_ok(struct udax_fs *fs)
{
	struct partial p;

	if (stores_in_place(now.op)) {
		p = partial_of(now.op, now.before);
		return tree_matches(fs, now.before, now.after, &p);
	}
	return tree_matches(fs, now.before, now.before, NULL) ||
	       (now.after != now.before && tree_matches(fs, now.after, now.after, NULL));
}

static const char *op_name(const struct op *op)
{
	static const char *const names[] = {"create",	 "mkdir",      "unlink", "rmdir",
					    "rename",	 "write",      "append", "truncate",
					    "fallocate", "unlink-open"};

	return op ? names[op->kind] : "between operations";
}

/* "op 3 fallocate /f 0x3 1000+10000": where a failure happened. */
static const char *describe(const struct op *op)
{
	static char buf[160];

	if (!op)
		return "between operations";
	snprintf(buf, sizeof(buf), "op %u %s %s %s 0x%x %llu+%llu", now.index, op_name(op), op->a,
		 op->b ? op->b : "", op->mode, (unsigned long long)op->off,
		 (unsigned long long)op->len);
	return buf;
}

static const char *pick_name(const struct pmem_crash_pick *how)
{
	static char buf[96];

	snprintf(buf, sizeof(buf), "seed %llu keep %u%% tear %u%%", (unsigned long long)how->seed,
		 how->keep_pct, how->tear_pct);
	return buf;
}

/* Mount the image (recovery), compare, unmount, fsck. */
static void check_image(uint64_t fence, const struct pmem_crash_pick *how)
{
	struct udax_fs *fs;
	char *report = NULL;
	int fd = open(image_path, O_RDWR | O_CREAT | O_TRUNC, 0600), ret;

	CHECK(fd >= 0);
	CHECK_EQ(pwrite(fd, image, POOL_SIZE, 0), POOL_SIZE);
	close(fd);
	images_checked++;
	ret = udax_mount(image_path, 0, &fs);
	if (ret)
		found("fence %llu (%s), image %s: mount: %s", (unsigned long long)fence,
		      describe(now.op), pick_name(how), test_errormsg());
	if (!crash_state_ok(fs))
		found("fence %llu (%s), image %s: the tree matches neither the state before "
		      "nor after",
		      (unsigned long long)fence, describe(now.op), pick_name(how));
	else if (!grown_files_zero(fs))
		found("fence %llu (%s), image %s: a file grown after the crash shows bytes "
		      "that were past its end",
		      (unsigned long long)fence, describe(now.op), pick_name(how));
	CHECK_OK(udax_unmount(fs));
	ret = udax_fsck(image_path, 0, &report);
	if (ret)
		found("fence %llu (%s), image %s: fsck: %d: %s %s", (unsigned long long)fence,
		      describe(now.op), pick_name(how), ret, report ? report : "",
		      ret < 0 ? test_errormsg() : "");
	free(report);
}

/* Crash images of this moment: keep nothing, everything, and random subsets, some torn. */
static void check_crash_point(uint64_t fence)
{
	static const struct pmem_crash_pick picks[] = {
		{.keep_pct = 0},
		{.keep_pct = 100},
		{.keep_pct = 50, .tear_pct = 25},
		{.keep_pct = 90, .tear_pct = 50},
		{.keep_pct = 10, .tear_pct = 50},
	};
	struct pmem_record_stats st;
	unsigned n;

	pmem_record_stats(rec, &st);
	n = st.pending + st.in_flight ? 2 + random_images : 1;
	points_checked++;
	points_pending += st.pending > 0;
	points_in_flight += st.in_flight > 0;
	for (unsigned i = 0; i < n; i++) {
		struct pmem_crash_pick how = picks[i];

		how.seed = test_rand();
		CHECK_OK(pmem_record_image(rec, &how, image));
		check_image(fence, &how);
	}
}

static void on_fence(struct pmem_recorder *r, uint64_t fence, void *arg)
{
	(void)r;
	(void)arg;
	check_crash_point(fence);
}

/* ---- running operations ---- */

static struct udax_file *open_file(struct udax_fs *fs, const char *path, int flags)
{
	struct udax_file *f;

	CHECK_OK(udax_open(fs, path, flags, 0644, &f));
	return f;
}

static void run_io(struct udax_fs *fs, const struct op *op, uint64_t off)
{
	struct udax_file *f = open_file(fs, op->a, O_RDWR | (op->kind == OP_APPEND ? O_APPEND : 0));
	uint8_t *buf = NULL;

	if (op->kind == OP_WRITE || op->kind == OP_APPEND) {
		buf = malloc(op->len);
		CHECK(buf);
		op_pattern(op, off, buf);
		CHECK_EQ(op->kind == OP_APPEND ? udax_write(f, buf, op->len)
					       : udax_pwrite(f, buf, op->len, (off_t)off),
			 op->len);
	} else if (op->kind == OP_TRUNCATE) {
		CHECK_OK(udax_ftruncate(f, (off_t)op->off));
	} else {
		CHECK_OK(udax_fallocate(f, op->mode, (off_t)op->off, (off_t)op->len));
	}
	free(buf);
	CHECK_OK(udax_close(f));
}

/*
 * Once the name is gone, the rest (a write to the orphan, the close that
 * frees it) must leave the tree as it is after the unlink.
 */
static void unlink_open(struct udax_fs *fs, const struct op *op)
{
	struct udax_file *f = open_file(fs, op->a, O_RDWR);
	uint8_t buf[4096];

	CHECK_OK(udax_unlink(fs, op->a));
	now.before = now.after;
	memset(buf, 0x5a, sizeof(buf));
	CHECK_EQ(udax_pwrite(f, buf, sizeof(buf), 50000), sizeof(buf));
	CHECK_OK(udax_close(f));
}

static void run_op(struct udax_fs *fs, const struct op *op, uint64_t size)
{
	switch (op->kind) {
	case OP_CREATE:
		CHECK_OK(udax_close(open_file(fs, op->a, O_CREAT | O_EXCL | O_RDWR)));
		break;
	case OP_MKDIR:
		CHECK_OK(udax_mkdir(fs, op->a, 0755));
		break;
	case OP_UNLINK:
		CHECK_OK(udax_unlink(fs, op->a));
		break;
	case OP_RMDIR:
		CHECK_OK(udax_rmdir(fs, op->a));
		break;
	case OP_RENAME:
		CHECK_OK(udax_rename(fs, op->a, op->b));
		break;
	case OP_UNLINK_OPEN:
		unlink_open(fs, op);
		break;
	default:
		run_io(fs, op, op->kind == OP_APPEND ? size : op->off);
	}
}

static struct model cur, next;

/* One operation under recording: crash points at its fences and after it returns. */
static void step(struct udax_fs *fs, const struct op *op)
{
	const struct ment *e = op->a ? m_find(&cur, op->a) : NULL;

	m_copy(&next, &cur);
	m_apply(&next, op);
	now.before = &cur;
	now.after = &next;
	now.op = op;
	run_op(fs, op, e ? e->size : 0);
	ops_run[op->kind]++;
	if (!tree_matches(fs, &next, &next, NULL))
		test_fail(__FILE__, __LINE__, "%s: the live tree differs from the model",
			  describe(op));
	m_copy(&cur, &next);
	now.before = now.after = &cur;
	now.op = NULL;
	check_crash_point(~0ull);
}

/* Runs @ops on a pool prepared by @setup (not recorded), recording everything from the mount. */
static void workload(const char *name, const struct op *setup, unsigned nsetup,
		     const struct op *ops, unsigned nops)
{
	uint64_t images = images_checked;
	struct udax_fs *fs;

	for (unsigned i = 0; i < cur.n; i++)
		free(cur.e[i].data);
	cur.n = 0;
	now.before = now.after = &cur;
	now.op = NULL;
	pool = fstest_pool("powerloss.pool", POOL_SIZE);
	fs = fstest_mount(pool);
	for (unsigned i = 0; i < nsetup; i++) {
		const struct ment *e = setup[i].a ? m_find(&cur, setup[i].a) : NULL;

		run_op(fs, &setup[i], e ? e->size : 0);
		m_apply(&cur, &setup[i]);
	}
	CHECK_OK(udax_unmount(fs));
	CHECK_OK(pmem_record_arm(pool, on_fence, NULL, &rec));
	fs = fstest_mount(pool);
	for (now.index = 0; now.index < nops; now.index++)
		step(fs, &ops[now.index]);
	CHECK_OK(udax_unmount(fs));
	pmem_record_free(rec);
	fprintf(stderr, "%-10s %3u ops, %5llu images\n", name, nops,
		(unsigned long long)(images_checked - images));
}

#define RUN(name, setup, ops)                                                                      \
	workload(name, setup, sizeof(setup) / sizeof(setup[0]), ops, sizeof(ops) / sizeof(ops[0]))

/* ---- workloads ---- */

#define W(p, o, l, s)                                                                              \
	{                                                                                          \
		.kind = OP_WRITE, .a = p, .off = o, .len = l, .seed = s                            \
	}
#define FA(p, m, o, l)                                                                             \
	{                                                                                          \
		.kind = OP_FALLOC, .a = p, .mode = m, .off = o, .len = l                           \
	}

static const struct op base_setup[] = {
	{.kind = OP_MKDIR, .a = "/d"},	  {.kind = OP_MKDIR, .a = "/e"},
	{.kind = OP_CREATE, .a = "/f"},	  W("/f", 0, 20000, 1),
	{.kind = OP_CREATE, .a = "/g"},	  W("/g", 0, 5000, 2),
	{.kind = OP_CREATE, .a = "/d/h"}, W("/d/h", 100, 9000, 3),
};

static void workload_namespace(void)
{
	static const struct op ops[] = {
		{.kind = OP_CREATE, .a = "/new"},
		{.kind = OP_CREATE, .a = "/d/new"},
		{.kind = OP_UNLINK, .a = "/g"},
		{.kind = OP_RENAME, .a = "/new", .b = "/new2"},	 /* new name */
		{.kind = OP_RENAME, .a = "/new2", .b = "/f"},	 /* over a file */
		{.kind = OP_RENAME, .a = "/d/h", .b = "/e/h"},	 /* across directories */
		{.kind = OP_RENAME, .a = "/d/new", .b = "/e/h"}, /* across, over a file */
		{.kind = OP_MKDIR, .a = "/d/sub"},
		{.kind = OP_RENAME, .a = "/e", .b = "/d/sub2"},	    /* directory, new parent */
		{.kind = OP_RENAME, .a = "/d/sub2", .b = "/d/sub"}, /* over an empty directory */
		{.kind = OP_RENAME, .a = "/d", .b = "/top"},	    /* directory with contents */
		{.kind = OP_UNLINK, .a = "/top/sub/h"},
		{.kind = OP_RMDIR, .a = "/top/sub"},
		{.kind = OP_UNLINK_OPEN, .a = "/f"},
		{.kind = OP_RMDIR, .a = "/top"},
	};

	RUN("namespace", base_setup, ops);
}

static void workload_data(void)
{
	static const struct op ops[] = {
		W("/f", 1000, 3000, 10), /* overwrite inside a block */
		W("/f", 4090, 9000, 11), /* overwrite across blocks */
		{.kind = OP_APPEND, .a = "/g", .len = 100, .seed = 12},
		{.kind = OP_APPEND, .a = "/g", .len = 7000, .seed = 13},
		W("/d/h", 30000, 5000, 14),			 /* extend past a hole */
		{.kind = OP_TRUNCATE, .a = "/f", .off = 6000},	 /* down, partial block */
		{.kind = OP_TRUNCATE, .a = "/f", .off = 15000},	 /* up */
		{.kind = OP_TRUNCATE, .a = "/d/h", .off = 8192}, /* down, block boundary */
		{.kind = OP_TRUNCATE, .a = "/g", .off = 0},
		W("/g", 0, 600, 15),
	};

	RUN("data", base_setup, ops);
}

static void workload_fallocate(void)
{
	static const struct op ops[] = {
		FA("/f", 0, 18000, 10000),		      /* extends */
		FA("/f", UDAX_FALLOC_KEEP_SIZE, 40000, 8192), /* past EOF */
		FA("/f", UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE, 1000, 10000),
		FA("/f", UDAX_FALLOC_ZERO_RANGE, 20000, 3000),
		FA("/f", UDAX_FALLOC_ZERO_RANGE | UDAX_FALLOC_KEEP_SIZE, 100, 200),
		FA("/f", UDAX_FALLOC_ZERO_RANGE, 27000, 5000), /* extends */
		FA("/f", UDAX_FALLOC_COLLAPSE_RANGE, 4096, 8192),
		FA("/f", UDAX_FALLOC_INSERT_RANGE, 8192, 4096),
		W("/f", 9000, 100, 20),
		FA("/g", UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE, 0, 5000),
	};

	RUN("fallocate", base_setup, ops);
}

/*
 * Appends into blocks allocated already (preallocated past EOF, and the rest
 * of a 2 MiB group), which commit nothing: the size and the data share one
 * epoch (docs/udaxfs.md, zero_from), so images keep the data without the
 * size, and only the growth check can tell whether those bytes come back.
 */
static void workload_append(void)
{
	static const struct op setup[] = {
		{.kind = OP_CREATE, .a = "/p"},
		FA("/p", UDAX_FALLOC_KEEP_SIZE, 0, 65536),
		{.kind = OP_CREATE, .a = "/q"},
		W("/q", 0, 2 * 1024 * 1024 + 100, 30), /* into its second 2 MiB group */
	};
	static const struct op ops[] = {
		{.kind = OP_APPEND, .a = "/p", .len = 5000, .seed = 31},
		{.kind = OP_APPEND, .a = "/p", .len = 100, .seed = 32},
		{.kind = OP_APPEND, .a = "/p", .len = 12000, .seed = 33},
		{.kind = OP_APPEND, .a = "/q", .len = 9000, .seed = 34},
		{.kind = OP_APPEND, .a = "/q", .len = 4096, .seed = 35},
		{.kind = OP_TRUNCATE, .a = "/p", .off = 3000},
		{.kind = OP_APPEND, .a = "/p", .len = 7000, .seed = 36},
	};

	RUN("append", setup, ops);
}

/* Enough names to need a second directory block, and a file of 2 MiB extents. */
static void workload_large(void)
{
	static const char *const names[] = {"/d/0", "/d/1", "/d/2", "/d/3", "/d/4", "/d/5",
					    "/d/6", "/d/7", "/d/8", "/d/9", "/d/a", "/d/b",
					    "/d/c", "/d/d", "/d/e", "/d/f", "/d/g"};
	static struct op ops[sizeof(names) / sizeof(names[0]) + 4];
	static const struct op setup[] = {{.kind = OP_MKDIR, .a = "/d"},
					  {.kind = OP_CREATE, .a = "/big"}};
	unsigned n = 0;

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ops[n++] = (struct op){.kind = OP_CREATE, .a = names[i]};
	ops[n++] = (struct op)FA("/big", 0, 0, 2 * MIB);
	ops[n++] = (struct op)W("/big", 2 * MIB - 100, 5000, 30);
	ops[n++] = (struct op){.kind = OP_UNLINK, .a = "/big"};
	ops[n++] = (struct op){.kind = OP_UNLINK, .a = "/d/g"};
	workload("large", setup, sizeof(setup) / sizeof(setup[0]), ops, n);
}

/*
 * The zero mark (docs/udaxfs.md, "Allocator"): the setup leaves a 2 MiB group
 * and two small blocks freed with data in them, below the mark. The ops then
 * allocate a group above the mark (no zeroing: the blocks must read as zero in
 * every image) and reuse the stale group and blocks (zeroed before the commit:
 * no image may show the old data).
 */
static void workload_zero_mark(void)
{
	static const struct op setup[] = {
		{.kind = OP_CREATE, .a = "/old"},
		W("/old", 0, 2 * MIB + 5000, 40),
		{.kind = OP_UNLINK, .a = "/old"},
	};
	static const struct op ops[] = {
		{.kind = OP_CREATE, .a = "/n1"},
		W("/n1", 3 * MIB, 4096, 41), /* a group above the mark */
		FA("/n1", 0, 0, 2 * MIB),    /* the stale group below it */
		{.kind = OP_CREATE, .a = "/n2"},
		W("/n2", 100, 9000, 42), /* the stale small blocks */
		FA("/n2", UDAX_FALLOC_ZERO_RANGE, 20000, 8192),
	};

	RUN("zero-mark", setup, ops);
}

/* ---- random sequences ---- */

static const char *const rnd_names[] = {"/a", "/b", "/c", "/x/a", "/x/b", "/y/a", "/y/x/a"};
static const char *const rnd_dirs[] = {"/x", "/y", "/y/x"};

static bool parent_exists(const char *path)
{
	char dir[PATHLEN];

	snprintf(dir, sizeof(dir), "%.*s", (int)parent_len(path), path);
	return !strcmp(dir, "/") || m_find(&cur, dir);
}

static const char *any_of(const char *const *names, unsigned n)
{
	return names[test_rand() % n];
}

#define ANY(arr) any_of(arr, sizeof(arr) / sizeof(arr[0]))

/* A random fallocate of a file of @size bytes, valid for its mode, or false. */
static bool random_fallocate(struct op *op, uint64_t size)
{
	static const int modes[] = {
		0,
		UDAX_FALLOC_KEEP_SIZE,
		UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
		UDAX_FALLOC_ZERO_RANGE,
		UDAX_FALLOC_ZERO_RANGE | UDAX_FALLOC_KEEP_SIZE,
		UDAX_FALLOC_COLLAPSE_RANGE,
		UDAX_FALLOC_INSERT_RANGE,
	};

	op->kind = OP_FALLOC;
	op->mode = modes[test_rand() % (sizeof(modes) / sizeof(modes[0]))];
	op->off = test_rand() % 40000;
	op->len = 1 + test_rand() % 10000;
	if (op->mode == UDAX_FALLOC_COLLAPSE_RANGE || op->mode == UDAX_FALLOC_INSERT_RANGE) {
		op->off &= ~(uint64_t)(UDAXFS_BLOCK - 1);
		op->len = UDAXFS_BLOCK * (1 + test_rand() % 3);
	}
	if (op->mode == UDAX_FALLOC_COLLAPSE_RANGE)
		return op->off + op->len < size;
	if (op->mode == UDAX_FALLOC_INSERT_RANGE)
		return op->off < size && size < 60000;
	return true;
}

/* A random operation that is valid in the current model, or false. */
static bool random_op(struct op *op)
{
	bool want_dir = test_rand() % 4 == 0;
	const char *a = want_dir ? ANY(rnd_dirs) : ANY(rnd_names), *b;
	struct ment *e = m_find(&cur, a), *t;
	uint64_t r = test_rand();

	memset(op, 0, sizeof(*op));
	op->a = a;
	op->seed = (unsigned)r;
	if (!e) {
		op->kind = want_dir ? OP_MKDIR : OP_CREATE;
		return parent_exists(a);
	}
	if (e->dir) {
		b = ANY(rnd_dirs);
		t = m_find(&cur, b);
		if (r % 2 && !under(b, a) && strcmp(a, b) && parent_exists(b) &&
		    (!t || (t->dir && !m_children(&cur, b)))) {
			op->kind = OP_RENAME;
			op->b = b;
			return true;
		}
		op->kind = OP_RMDIR;
		return !m_children(&cur, a);
	}
	switch (r % 8) {
	case 0:
		op->kind = (r >> 8) & 1 ? OP_UNLINK : OP_UNLINK_OPEN;
		return true;
	case 1:
		b = ANY(rnd_names);
		t = m_find(&cur, b);
		op->kind = OP_RENAME;
		op->b = b;
		return strcmp(a, b) && parent_exists(b) && (!t || !t->dir);
	case 2:
	case 3:
		op->kind = OP_WRITE;
		op->off = test_rand() % 40000;
		op->len = 1 + test_rand() % 9000;
		return true;
	case 4:
		op->kind = OP_APPEND;
		op->len = 1 + test_rand() % 5000;
		return e->size < 60000;
	case 5:
		op->kind = OP_TRUNCATE;
		op->off = test_rand() % 50000;
		return true;
	default:
		return random_fallocate(op, e->size);
	}
}

static void workload_random(unsigned nops)
{
	static struct op ops[64];
	unsigned n = 0;

	CHECK(nops <= 64);
	/* generated against the model as it will be when each op runs */
	for (unsigned i = 0; i < cur.n; i++)
		free(cur.e[i].data);
	cur.n = 0;
	while (n < nops) {
		if (random_op(&ops[n]))
			m_apply(&cur, &ops[n++]);
	}
	workload("random", NULL, 0, ops, n);
}

int main(int argc, char **argv)
{
	unsigned rounds = 8;

	expect_bug = argc > 1 && !strcmp(argv[1], "--expect-bug");
	test_watchdog(expect_bug ? 300 : 280);
	/* images are written and mounted by the thousand: keep them off the disk (msync) */
	if (!getenv("TMPDIR") && !access("/dev/shm", W_OK))
		setenv("TMPDIR", "/dev/shm", 1);
	test_seed(20261121);
	image = malloc(POOL_SIZE);
	CHECK(image);
	image_path = strdup(fstest_pool("powerloss.image", POOL_SIZE));
#ifdef __SANITIZE_ADDRESS__
	random_images = 2;
	rounds = 2;
#endif
	workload_namespace();
	workload_data();
	workload_append();
	workload_fallocate();
	workload_large();
	workload_zero_mark();
	for (unsigned i = 0; i < rounds; i++)
		workload_random(24);
	fprintf(stderr,
		"%llu crash points (%llu with pending lines, %llu with lines in flight), "
		"%llu images checked\n",
		(unsigned long long)points_checked, (unsigned long long)points_pending,
		(unsigned long long)points_in_flight, (unsigned long long)images_checked);
	for (unsigned k = 0; k <= OP_UNLINK_OPEN; k++)
		fprintf(stderr, "%s %u%s", op_name(&(struct op){.kind = k}), ops_run[k],
			k < OP_UNLINK_OPEN ? ", " : " operations\n");
	if (expect_bug)
		test_fail(__FILE__, __LINE__, "no crash image showed the bug");
	return 0;
}
