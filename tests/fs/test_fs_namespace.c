// SPDX-License-Identifier: MIT
/* Namespace operations and their POSIX errors; link counts; readdir. */
#include <dirent.h>
#include <sys/wait.h>

#include "fstest.h"

static struct udax_fs *fs;

static void mkfile(const char *path, const char *content)
{
	struct udax_file *f;

	CHECK_OK(udax_open(fs, path, O_CREAT | O_EXCL | O_WRONLY, 0640, &f));
	CHECK_EQ(udax_write(f, content, strlen(content)), strlen(content));
	CHECK_OK(udax_close(f));
}

static void expect_content(const char *path, const char *content)
{
	struct udax_file *f;
	char buf[256] = {0};

	CHECK_OK(udax_open(fs, path, O_RDONLY, 0, &f));
	CHECK_EQ(udax_read(f, buf, sizeof(buf) - 1), strlen(content));
	CHECK(!strcmp(buf, content));
	CHECK_OK(udax_close(f));
}

static uint32_t nlink(const char *path)
{
	struct udax_stat st;

	CHECK_OK(udax_stat(fs, path, &st));
	return st.nlink;
}

static void test_open_errors(void)
{
	struct udax_file *f;
	char name[300];

	CHECK_ERR(udax_open(fs, "/missing", O_RDONLY, 0, &f), ENOENT);
	CHECK_ERR(udax_open(fs, "", O_RDONLY, 0, &f), ENOENT);
	CHECK_ERR(udax_open(fs, "/nodir/x", O_CREAT | O_RDWR, 0644, &f), ENOENT);
	mkfile("/file", "data");
	CHECK_ERR(udax_open(fs, "/file", O_CREAT | O_EXCL | O_RDWR, 0644, &f), EEXIST);
	CHECK_ERR(udax_open(fs, "/file/x", O_CREAT | O_RDWR, 0644, &f), ENOTDIR);
	CHECK_ERR(udax_open(fs, "/file/", O_RDONLY, 0, &f), ENOTDIR);
	CHECK_ERR(udax_open(fs, "/new/", O_CREAT | O_RDWR, 0644, &f), EISDIR);
	CHECK_ERR(udax_open(fs, "/", O_RDWR, 0, &f), EISDIR);
	CHECK_ERR(udax_open(fs, "/file", O_RDWR | 0x40000000, 0, &f), EINVAL);
	CHECK_ERR(udax_open(fs, "/file", O_ACCMODE, 0, &f), EINVAL);
	CHECK_ERR(udax_open(fs, "/file", O_RDWR | O_TMPFILE, 0, &f), EINVAL);
	CHECK_ERR(udax_open(fs, "/file", O_RDONLY | O_DIRECTORY, 0, &f), ENOTDIR);
	CHECK_OK(udax_open(fs, "/", O_RDONLY | O_DIRECTORY, 0, &f));
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_open(fs, "/file", O_RDWR | O_CLOEXEC | O_SYNC | O_NOFOLLOW, 0, &f));
	CHECK_OK(udax_close(f));
	/* 255-byte names work, 256-byte names do not */
	memset(name, 'n', sizeof(name));
	name[0] = '/';
	name[256] = 0;
	CHECK_OK(udax_open(fs, name, O_CREAT | O_RDWR, 0644, &f));
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unlink(fs, name));
	name[257] = 0;
	name[256] = 'n';
	CHECK_ERR(udax_open(fs, name, O_CREAT | O_RDWR, 0644, &f), ENAMETOOLONG);
	CHECK_ERR(udax_mkdir(fs, name, 0755), ENAMETOOLONG);
	expect_content("/file", "data");
	/* a directory opens read-only, but cannot be read like a file */
	CHECK_OK(udax_open(fs, "/", O_RDONLY, 0, &f));
	CHECK_ERR(udax_pread(f, name, 1, 0), EISDIR);
	CHECK_OK(udax_close(f));
}

static void test_dirs(void)
{
	struct udax_dirent ent;
	struct udax_dir *d;
	struct udax_file *f;
	int seen = 0, ret;

	CHECK_EQ(nlink("/"), 2);
	CHECK_OK(udax_mkdir(fs, "/d", 0755));
	CHECK_EQ(nlink("/"), 3);
	CHECK_EQ(nlink("/d"), 2);
	CHECK_ERR(udax_mkdir(fs, "/d", 0755), EEXIST);
	CHECK_ERR(udax_mkdir(fs, "/file", 0755), EEXIST);
	CHECK_ERR(udax_mkdir(fs, "/x/y", 0755), ENOENT);
	CHECK_ERR(udax_mkdir(fs, "/file/y", 0755), ENOTDIR);
	CHECK_OK(udax_mkdir(fs, "/d/e", 0700));
	CHECK_EQ(nlink("/d"), 3);
	CHECK_ERR(udax_rmdir(fs, "/d"), ENOTEMPTY);
	CHECK_ERR(udax_rmdir(fs, "/file"), ENOTDIR);
	CHECK_ERR(udax_rmdir(fs, "/nope"), ENOENT);
	CHECK_ERR(udax_rmdir(fs, "/"), EBUSY);
	CHECK_ERR(udax_unlink(fs, "/d"), EISDIR);
	CHECK_ERR(udax_opendir(fs, "/file", &d), ENOTDIR);
	/* 40 entries span several directory blocks */
	for (int i = 0; i < 40; i++) {
		char p[32];

		snprintf(p, sizeof(p), "/d/f%02d", i);
		CHECK_OK(udax_open(fs, p, O_CREAT | O_WRONLY, 0600, &f));
		CHECK_OK(udax_close(f));
	}
	CHECK_OK(udax_opendir(fs, "/d/", &d));
	while ((ret = udax_readdir(d, &ent)) == 1) {
		if (!strcmp(ent.name, ".") || !strcmp(ent.name, "..") || !strcmp(ent.name, "e"))
			CHECK_EQ(ent.type, DT_DIR);
		else
			CHECK(ent.type == DT_REG && ent.name[0] == 'f');
		seen++;
	}
	CHECK_EQ(ret, 0);
	CHECK_EQ(seen, 43);
	CHECK_OK(udax_closedir(d));
	for (int i = 0; i < 40; i++) {
		char p[32];

		snprintf(p, sizeof(p), "/d/./f%02d", i);
		CHECK_OK(udax_unlink(fs, p));
	}
	CHECK_ERR(udax_unlink(fs, "/d/f00"), ENOENT);
	CHECK_OK(udax_rmdir(fs, "/d/e/../e"));
	CHECK_EQ(nlink("/d"), 2);
	CHECK_OK(udax_rmdir(fs, "/d"));
	CHECK_EQ(nlink("/"), 2);
}

static void test_links_and_unlink_open(void)
{
	struct udax_file *f;
	struct udax_statfs before, after;
	char buf[8] = {0};

	CHECK_OK(udax_link(fs, "/file", "/hard"));
	CHECK_EQ(nlink("/file"), 2);
	CHECK_ERR(udax_link(fs, "/file", "/hard"), EEXIST);
	CHECK_ERR(udax_link(fs, "/", "/rootlink"), EPERM);
	CHECK_OK(udax_unlink(fs, "/file"));
	CHECK_EQ(nlink("/hard"), 1);
	expect_content("/hard", "data");
	/* an unlinked open file keeps its data until the last close */
	CHECK_OK(udax_statfs(fs, &before));
	CHECK_OK(udax_open(fs, "/hard", O_RDWR, 0, &f));
	CHECK_OK(udax_unlink(fs, "/hard"));
	CHECK_ERR(udax_open(fs, "/hard", O_RDONLY, 0, &f), ENOENT);
	CHECK_EQ(udax_pwrite(f, "more", 4, 4), 4);
	CHECK_EQ(udax_pread(f, buf, 8, 0), 8);
	CHECK(!memcmp(buf, "datamore", 8));
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_statfs(fs, &after));
	CHECK_EQ(after.inodes_free, before.inodes_free + 1);
	CHECK_EQ(after.blocks_free, before.blocks_free + 1);
}

static void test_rename(void)
{
	CHECK_OK(udax_mkdir(fs, "/a", 0755));
	CHECK_OK(udax_mkdir(fs, "/b", 0755));
	mkfile("/a/x", "x-data");
	mkfile("/b/y", "y-data");
	/* over an existing file, across directories: y's old inode is freed */
	CHECK_OK(udax_rename(fs, "/a/x", "/b/y"));
	CHECK_ERR(udax_stat(fs, "/a/x", &(struct udax_stat){0}), ENOENT);
	expect_content("/b/y", "x-data");
	CHECK_EQ(nlink("/b/y"), 1);
	/* renaming onto itself (a hard link of itself) changes nothing */
	CHECK_OK(udax_rename(fs, "/b/y", "/b/y"));
	expect_content("/b/y", "x-data");
	CHECK_ERR(udax_rename(fs, "/nope", "/b/z"), ENOENT);
	CHECK_ERR(udax_rename(fs, "/b/y", "/nodir/z"), ENOENT);
	CHECK_ERR(udax_rename(fs, "/b/y", "/a"), EISDIR);
	CHECK_ERR(udax_rename(fs, "/a", "/b/y"), ENOTDIR);
	CHECK_ERR(udax_rename(fs, "/a", "/a/sub"), EINVAL);
	CHECK_ERR(udax_rename(fs, "/", "/z"), EBUSY);
	/* a directory moves across parents: link counts follow */
	CHECK_OK(udax_mkdir(fs, "/a/sub", 0755));
	CHECK_EQ(nlink("/a"), 3);
	CHECK_ERR(udax_rename(fs, "/a/sub", "/b"), ENOTEMPTY);
	CHECK_OK(udax_rename(fs, "/a/sub", "/b/sub"));
	CHECK_EQ(nlink("/a"), 2);
	CHECK_EQ(nlink("/b"), 3);
	CHECK_OK(udax_stat(fs, "/b/sub/..", &(struct udax_stat){0}));
	/* a directory replaces an empty directory */
	CHECK_OK(udax_rename(fs, "/b/sub", "/a"));
	CHECK_EQ(nlink("/"), 4);
	CHECK_EQ(nlink("/b"), 2);
	CHECK_OK(udax_rmdir(fs, "/a"));
	CHECK_OK(udax_rename(fs, "/b/y", "/y"));
	CHECK_OK(udax_rmdir(fs, "/b"));
	expect_content("/y", "x-data");
}

static void test_stat(void)
{
	struct udax_stat st;
	struct udax_file *f;
	int64_t t0;

	CHECK_OK(udax_stat(fs, "/y", &st));
	CHECK_EQ(st.mode, S_IFREG | 0640);
	CHECK_EQ(st.uid, geteuid());
	CHECK_EQ(st.gid, getegid());
	CHECK_EQ(st.size, 6);
	t0 = st.mtime_ns;
	CHECK(t0 > 0 && st.ctime_ns >= t0);
	usleep(2000);
	CHECK_OK(udax_open(fs, "/y", O_RDWR, 0, &f));
	CHECK_EQ(udax_pwrite(f, "Z", 1, 0), 1);
	CHECK_OK(udax_fstat(f, &st));
	CHECK(st.mtime_ns > t0);
	CHECK_OK(udax_fsync(f));
	CHECK_OK(udax_fdatasync(f));
	CHECK_OK(udax_close(f));
	CHECK_ERR(udax_stat(fs, "/y/", &st), ENOTDIR);
	CHECK_OK(udax_stat(fs, "/", &st));
	CHECK_EQ(st.mode & S_IFMT, S_IFDIR);
	CHECK_EQ(st.ino, 1);
}

/* Open directories and files survive their removal until closed. */
/* New files belong to the effective ids, as the kernel's fsuid/fsgid (root only). */
static void test_owner_effective(void)
{
	const uid_t nobody = 65534;
	struct udax_file *f;
	struct udax_stat st;

	if (geteuid() != 0) {
		printf("owner by effective ids: skipped, needs root to change them\n");
		return;
	}
	CHECK(!setegid(nobody));
	CHECK(!seteuid(nobody));
	CHECK_OK(udax_open(fs, "/owned", O_CREAT | O_EXCL | O_RDWR, 0600, &f));
	CHECK_OK(udax_mkdir(fs, "/owned-dir", 0700));
	CHECK(!seteuid(0));
	CHECK(!setegid(0));
	CHECK_OK(udax_fstat(f, &st));
	CHECK_EQ(st.uid, nobody);
	CHECK_EQ(st.gid, nobody);
	CHECK_OK(udax_stat(fs, "/owned-dir", &st));
	CHECK_EQ(st.uid, nobody);
	CHECK_EQ(st.gid, nobody);
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unlink(fs, "/owned"));
	CHECK_OK(udax_rmdir(fs, "/owned-dir"));
}

static void test_open_removed(void)
{
	struct udax_statfs before, after;
	struct udax_dirent ent;
	struct udax_file *f;
	struct udax_dir *d;
	char buf[8] = {0};

	CHECK_OK(udax_statfs(fs, &before));
	CHECK_OK(udax_mkdir(fs, "/gone", 0755));
	CHECK_OK(udax_opendir(fs, "/gone", &d));
	CHECK_OK(udax_rmdir(fs, "/gone"));
	CHECK_EQ(udax_readdir(d, &ent), 1); /* "." */
	CHECK_EQ(udax_readdir(d, &ent), 1); /* ".." */
	CHECK_EQ(udax_readdir(d, &ent), 0);
	CHECK_OK(udax_closedir(d));
	/* rename over an open file: the old file stays readable until closed */
	mkfile("/old", "old!");
	mkfile("/new", "new!");
	CHECK_OK(udax_open(fs, "/old", O_RDONLY, 0, &f));
	CHECK_OK(udax_rename(fs, "/new", "/old"));
	CHECK_EQ(udax_pread(f, buf, 4, 0), 4);
	CHECK(!memcmp(buf, "old!", 4));
	CHECK_OK(udax_close(f));
	expect_content("/old", "new!");
	CHECK_OK(udax_unlink(fs, "/old"));
	CHECK_OK(udax_statfs(fs, &after));
	CHECK_EQ(after.inodes_free, before.inodes_free);
	CHECK_EQ(after.blocks_free, before.blocks_free);
}

static void test_path_limits(void)
{
	char *path = malloc(5000);
	struct udax_file *f;

	memset(path, '/', 5000);
	path[4096] = 0;
	CHECK_ERR(udax_open(fs, path, O_RDONLY, 0, &f), ENAMETOOLONG);
	path[4095] = 0;
	CHECK_OK(udax_open(fs, path, O_RDONLY, 0, &f)); /* the root, many slashes */
	CHECK_OK(udax_close(f));
	free(path);
	CHECK_ERR(udax_open(fs, NULL, O_RDONLY, 0, &f), EFAULT);
	CHECK_ERR(udax_rename(fs, "/y/.", "/z"), ENOTDIR);
	CHECK_OK(udax_mkdir(fs, "/dots", 0755));
	CHECK_ERR(udax_rename(fs, "/dots/.", "/z"), EINVAL);
	CHECK_ERR(udax_rmdir(fs, "/dots/."), EINVAL);
	CHECK_OK(udax_rmdir(fs, "dots")); /* relative paths start at the root */
}

/* A process that dies with an unlinked file open leaves an orphan: mount frees it. */
static void test_orphan(const char *pool)
{
	struct udax_statfs before, after;
	pid_t pid;
	int status;

	CHECK_OK(udax_statfs(fs, &before));
	CHECK_OK(udax_unmount(fs));
	pid = fork();
	if (pid == 0) {
		struct udax_file *f;

		fs = fstest_mount(pool);
		CHECK_OK(udax_open(fs, "/orphan", O_CREAT | O_RDWR, 0644, &f));
		CHECK_EQ(udax_pwrite(f, "x", 1, 3 * MIB), 1);
		CHECK_OK(udax_unlink(fs, "/orphan"));
		_exit(0); /* no close, no unmount */
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status));
	CHECK_EQ(read_super(pool, 0).state, UDAXFS_STATE_MOUNTED);
	fstest_fsck_clean(pool); /* an orphan is a normal state after a crash */
	fs = fstest_mount(pool);
	CHECK_OK(udax_statfs(fs, &after));
	CHECK_EQ(after.inodes_free, before.inodes_free);
	CHECK_EQ(after.blocks_free, before.blocks_free);
}

static void test_out_of_inodes(void)
{
	char path[512], name[32];
	struct udax_fs *small;
	struct udax_file *f;
	int n = 0, ret;

	snprintf(path, sizeof(path), "%s/inodes.pool", test_tmpdir());
	CHECK_OK(udax_mkfs(path, 16 * MIB, &(struct udax_mkfs_opts){.ninodes = 16}));
	small = fstest_mount(path);
	for (;;) {
		snprintf(name, sizeof(name), "/f%d", n);
		ret = udax_open(small, name, O_CREAT | O_RDWR, 0644, &f);
		if (ret)
			break;
		CHECK_EQ(udax_pwrite(f, name, strlen(name), 0), strlen(name));
		CHECK_OK(udax_close(f));
		n++;
	}
	CHECK_EQ(ret, -ENOSPC);
	CHECK_EQ(n, 14); /* 16 inodes: 0 is unused, 1 is the root */
	CHECK_ERR(udax_mkdir(small, "/d", 0755), ENOSPC);
	CHECK_ERR(udax_stat(small, "/d", &(struct udax_stat){0}), ENOENT);
	for (int i = 0; i < n; i++) {
		char buf[32] = {0};

		snprintf(name, sizeof(name), "/f%d", i);
		CHECK_OK(udax_open(small, name, O_RDONLY, 0, &f));
		CHECK_EQ(udax_pread(f, buf, sizeof(buf), 0), strlen(name));
		CHECK(!strcmp(buf, name));
		CHECK_OK(udax_close(f));
	}
	CHECK_OK(udax_unmount(small));
	fstest_fsck_clean(path);
}

int main(void)
{
	const char *pool;
	struct udax_file *f;

	test_watchdog(60);
	pool = fstest_pool("ns.pool", 32 * MIB);
	fs = fstest_mount(pool);
	test_open_errors();
	test_dirs();
	test_links_and_unlink_open();
	test_rename();
	test_stat();
	test_owner_effective();
	test_open_removed();
	test_path_limits();
	test_orphan(pool);
	test_out_of_inodes();
	/* unmount refuses while a file is open */
	CHECK_OK(udax_open(fs, "/y", O_RDONLY, 0, &f));
	CHECK_ERR(udax_unmount(fs), EBUSY);
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));
	fstest_fsck_clean(pool);
	fs = fstest_mount(pool);
	expect_content("/y", "Z-data");
	CHECK_OK(udax_unmount(fs));
	return 0;
}
