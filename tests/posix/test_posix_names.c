// SPDX-License-Identifier: MIT
/*
 * The shim's path calls, directory streams and stdio, run under LD_PRELOAD
 * by run_shim.sh: name-space calls, openat with a udax directory descriptor,
 * path resolution, readdir and fopen round trips, with exact errno checks.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "shim_test.h"

static void test_namespace(void)
{
	struct stat st;
	char tpath[512];
	int fd;

	CHECK_EQ(mkdir(upath("d"), 0755), 0);
	CHECK_ERRNO(mkdir(upath("d"), 0755), EEXIST);
	CHECK_ERRNO(mkdir(upath("none/d"), 0755), ENOENT);
	CHECK_EQ(stat(upath("d"), &st), 0);
	CHECK(S_ISDIR(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0755);
	fd = open(upath("d/f"), O_CREAT | O_WRONLY, 0600);
	CHECK_EQ(write(fd, "abc", 3), 3);
	CHECK_EQ(close(fd), 0);
	CHECK_ERRNO(rmdir(upath("d")), ENOTEMPTY);
	CHECK_ERRNO(unlink(upath("d")), EISDIR);
	CHECK_ERRNO(rmdir(upath("d/f")), ENOTDIR);
	/* rename, link */
	CHECK_EQ(rename(upath("d/f"), upath("g")), 0);
	CHECK_ERRNO(stat(upath("d/f"), &st), ENOENT);
	CHECK_EQ(link(upath("g"), upath("d/h")), 0);
	CHECK_EQ(stat(upath("g"), &st), 0);
	CHECK_EQ(st.st_nlink, 2);
	CHECK_EQ(st.st_size, 3);
	CHECK_ERRNO(link(upath("g"), upath("d/h")), EEXIST);
	CHECK_ERRNO(renameat2(AT_FDCWD, upath("g"), AT_FDCWD, upath("d/h"), RENAME_NOREPLACE),
		    EEXIST);
	CHECK_ERRNO(renameat2(AT_FDCWD, upath("g"), AT_FDCWD, upath("d/h"), RENAME_EXCHANGE),
		    EINVAL);
	CHECK_EQ(renameat(AT_FDCWD, upath("g"), AT_FDCWD, upath("d/h")), 0); /* same inode */
	CHECK_EQ(unlink(upath("g")), 0);
	CHECK_ERRNO(unlink(upath("g")), ENOENT);
	/* between udax and the real file system: EXDEV */
	snprintf(tpath, sizeof(tpath), "%s/real", test_tmpdir());
	CHECK_ERRNO(rename(upath("d/h"), tpath), EXDEV);
	CHECK_ERRNO(link(upath("d/h"), tpath), EXDEV);
	CHECK_ERRNO(symlink("x", upath("sl")), EPERM);
	CHECK_ERRNO(readlink(upath("d/h"), tpath, sizeof(tpath)), EINVAL);
	CHECK_ERRNO(readlink(upath("nope"), tpath, sizeof(tpath)), ENOENT);
	CHECK_ERRNO(getxattr(upath("d/h"), "user.x", tpath, sizeof(tpath)), ENOTSUP);
	CHECK_ERRNO(lgetxattr(upath("nope"), "user.x", tpath, sizeof(tpath)), ENOENT);
	/* paths are folded lexically */
	CHECK_EQ(stat(upath("d/./../d//h"), &st), 0);
	CHECK_EQ(st.st_size, 3);
	CHECK_EQ(unlink(upath("d/h")), 0);
	CHECK_EQ(rmdir(upath("d")), 0);
	CHECK_ERRNO(rmdir(upath("d")), ENOENT);
}

static void test_openat(void)
{
	struct stat st;
	char buf[8];
	int dfd, fd, sub;

	CHECK_EQ(mkdir(upath("at"), 0700), 0);
	dfd = open(upath("at"), O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0);
	CHECK_EQ(fstat(dfd, &st), 0);
	CHECK(S_ISDIR(st.st_mode));
	CHECK_ERRNO(read(dfd, buf, 1), EISDIR);
	fd = openat(dfd, "x", O_CREAT | O_RDWR, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "openat", 6), 6);
	CHECK_ERRNO(openat(fd, "y", O_RDONLY), ENOTDIR);
	CHECK_EQ(close(fd), 0);
	CHECK_EQ(stat(upath("at/x"), &st), 0);
	CHECK_EQ(st.st_size, 6);
	CHECK_EQ(fstatat(dfd, "x", &st, 0), 0);
	CHECK_EQ(st.st_size, 6);
	CHECK_EQ(mkdirat(dfd, "sub", 0700), 0);
	sub = openat(dfd, "sub", O_RDONLY | O_DIRECTORY);
	CHECK(sub >= 0);
	fd = openat(sub, "../x", O_RDONLY); /* ".." inside the pool */
	CHECK(fd >= 0);
	CHECK_EQ(read(fd, buf, 6), 6);
	CHECK(!memcmp(buf, "openat", 6));
	CHECK_EQ(close(fd), 0);
	CHECK_ERRNO(openat(sub, "../../../etc/passwd", O_RDONLY), ENOTSUP);
	CHECK_EQ(renameat(dfd, "x", sub, "x2"), 0);
	CHECK_EQ(faccessat(sub, "x2", R_OK, 0), 0);
	CHECK_EQ(unlinkat(sub, "x2", 0), 0);
	CHECK_ERRNO(unlinkat(dfd, "sub", 0), EISDIR);
	CHECK_EQ(close(sub), 0);
	CHECK_EQ(unlinkat(dfd, "sub", AT_REMOVEDIR), 0);
	CHECK_ERRNO(fstatat(dfd, "sub", &st, 0), ENOENT);
	CHECK_ERRNO(fchdir(dfd), ENOTSUP);
	CHECK_EQ(close(dfd), 0);
	CHECK_EQ(rmdir(upath("at")), 0);
}

/* A relative path that climbs into the prefix from the real working directory. */
static void test_relative(void)
{
	char rel[600], cwd[512];
	struct stat st;
	int fd;

	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK(cwd[0] == '/');
	rel[0] = '\0';
	for (const char *p = cwd; *p; p++)
		if (*p == '/' && p[1])
			strcat(rel, "../");
	strcat(rel, "..");
	strcat(rel, test_prefix);
	strcat(rel, "/rel");
	fd = open(rel, O_CREAT | O_RDWR, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(close(fd), 0);
	CHECK_EQ(stat(upath("rel"), &st), 0);
	CHECK_EQ(unlink(rel), 0);
	/* a relative path without ".." stays real */
	CHECK_ERRNO(stat("udax-shim-test-no-such-file", &st), ENOENT);
}

static void test_readdir(void)
{
	unsigned seen = 0, n = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	CHECK_EQ(mkdir(upath("rd"), 0755), 0);
	for (int i = 0; i < 40; i++) {
		char name[64];

		snprintf(name, sizeof(name), "rd/f%02d", i);
		fd = open(upath(name), O_CREAT | O_WRONLY, 0644);
		CHECK(fd >= 0);
		CHECK_EQ(close(fd), 0);
	}
	CHECK_EQ(mkdir(upath("rd/sub"), 0755), 0);
	d = opendir(upath("rd"));
	CHECK(d != NULL);
	CHECK_EQ(fstat(dirfd(d), &st), 0);
	CHECK(S_ISDIR(st.st_mode));
	errno = 0;
	while ((de = readdir(d))) {
		int i;

		n++;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			CHECK_EQ(de->d_type, DT_DIR);
		else if (!strcmp(de->d_name, "sub"))
			CHECK_EQ(de->d_type, DT_DIR);
		else {
			CHECK(sscanf(de->d_name, "f%d", &i) == 1 && i >= 0 && i < 40);
			CHECK_EQ(de->d_type, DT_REG);
			seen++;
		}
	}
	CHECK_EQ(errno, 0);
	CHECK_EQ(seen, 40);
	CHECK_EQ(n, 43);
	/* telldir/seekdir/rewinddir */
	rewinddir(d);
	CHECK(readdir(d) != NULL);
	CHECK(readdir(d) != NULL);
	long pos = telldir(d);
	char third[256];

	de = readdir(d);
	CHECK(de != NULL);
	snprintf(third, sizeof(third), "%s", de->d_name);
	seekdir(d, pos);
	de = readdir(d);
	CHECK(de != NULL && !strcmp(de->d_name, third));
	CHECK_EQ(closedir(d), 0);
	/* fdopendir takes over a udax descriptor */
	fd = open(upath("rd/sub"), O_RDONLY | O_DIRECTORY);
	d = fdopendir(fd);
	CHECK(d != NULL);
	CHECK_EQ(dirfd(d), fd);
	n = 0;
	while (readdir64(d))
		n++;
	CHECK_EQ(n, 2);
	CHECK_EQ(closedir(d), 0);
	CHECK_ERRNO(fcntl(fd, F_GETFD), EBADF);
	fd = open(upath("rd/f00"), O_RDONLY);
	CHECK(fdopendir(fd) == NULL);
	CHECK_EQ(errno, ENOTDIR);
	CHECK_EQ(close(fd), 0);
	CHECK(opendir(upath("rd/nope")) == NULL);
	CHECK_EQ(errno, ENOENT);
	/* a real directory still works beside */
	d = opendir("/");
	CHECK(d != NULL);
	CHECK(readdir(d) != NULL);
	CHECK_EQ(closedir(d), 0);
}

static void test_stdio(void)
{
	char line[128];
	struct stat st;
	FILE *f;
	int fd, i;

	f = fopen(upath("io.txt"), "w");
	CHECK(f != NULL);
	fd = fileno(f);
	CHECK(fd >= 0);
	for (i = 0; i < 1000; i++)
		CHECK(fprintf(f, "line %d\n", i) > 0);
	CHECK_EQ(fflush(f), 0);
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK_EQ(st.st_size, 8890);
	CHECK_EQ(fclose(f), 0);
	CHECK_ERRNO(fcntl(fd, F_GETFD), EBADF);
	f = fopen(upath("io.txt"), "a+");
	CHECK(f != NULL);
	CHECK(fputs("tail\n", f) >= 0);
	CHECK_EQ(fseek(f, 0, SEEK_SET), 0);
	CHECK(fgets(line, sizeof(line), f) != NULL);
	CHECK(!strcmp(line, "line 0\n"));
	CHECK_EQ(fclose(f), 0);
	f = fopen(upath("io.txt"), "re");
	CHECK(f != NULL);
	CHECK_EQ(fcntl(fileno(f), F_GETFD), FD_CLOEXEC);
	for (i = 0; fgets(line, sizeof(line), f); i++) {
		char want[32];

		snprintf(want, sizeof(want), i < 1000 ? "line %d\n" : "tail\n", i);
		CHECK(!strcmp(line, want));
	}
	CHECK_EQ(i, 1001);
	CHECK(feof(f));
	CHECK_EQ(fseek(f, -5, SEEK_END), 0);
	CHECK_EQ(ftell(f), 8890);
	CHECK(fgets(line, sizeof(line), f) && !strcmp(line, "tail\n"));
	CHECK(fputs("x", f) == EOF); /* read-only stream */
	CHECK_EQ(fclose(f), 0);
	f = fopen(upath("io.txt"), "wx");
	CHECK(f == NULL);
	CHECK_EQ(errno, EEXIST);
	f = fopen(upath("nope/x"), "r");
	CHECK(f == NULL);
	CHECK_EQ(errno, ENOENT);
	f = fopen(upath("io.txt"), "q");
	CHECK(f == NULL);
	CHECK_EQ(errno, EINVAL);
	/* fdopen of a udax descriptor, binary data through fread/fwrite */
	fd = open(upath("io.bin"), O_CREAT | O_RDWR | O_TRUNC, 0600);
	f = fdopen(fd, "w+");
	CHECK(f != NULL);
	CHECK_EQ(fileno(f), fd);
	unsigned data[4096], back[4096];

	for (i = 0; i < 4096; i++)
		data[i] = (unsigned)i * 2654435761u;
	CHECK_EQ(fwrite(data, sizeof(data), 1, f), 1);
	rewind(f);
	CHECK_EQ(fread(back, sizeof(back), 1, f), 1);
	CHECK(!memcmp(data, back, sizeof(data)));
	CHECK_EQ(fclose(f), 0);
	fd = open(upath("io.bin"), O_RDONLY);
	CHECK(fdopen(fd, "w") == NULL);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(close(fd), 0);
	CHECK(freopen(upath("io.bin"), "r", stdin) == NULL);
	CHECK_EQ(errno, ENOTSUP);
}

/* The aliases, fortify entry points and less common calls. */
int __open_2(const char *path, int flags);

static void test_variants(void)
{
	struct timespec omit[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_nsec = UTIME_OMIT}};
	struct stat64 st64;
	struct statvfs sv;
	struct stat st;
	char cwd[512], list[64];
	int fd;

	umask(077);
	fd = open64(upath("v"), O_CREAT | O_RDWR, 0666);
	CHECK(fd >= 0);
	CHECK_EQ(fstat64(fd, &st64), 0);
	CHECK_EQ(st64.st_mode & 0777, 0600);
	umask(022);
	CHECK_EQ(mkdir(upath("vd"), 0777), 0);
	CHECK_EQ(stat64(upath("vd"), &st64), 0);
	CHECK_EQ(st64.st_mode & 0777, 0755);
	CHECK_EQ(lstat64(upath("v"), &st64), 0);
	CHECK_EQ(fstatat64(AT_FDCWD, upath("v"), &st64, 0), 0);
	CHECK_EQ(ftruncate64(fd, 10000), 0);
	CHECK_EQ(truncate64(upath("v"), 20000), 0);
	CHECK_EQ(lseek64(fd, 0, SEEK_END), 20000);
	CHECK_EQ(readahead(fd, 0, 4096), 0);
	CHECK_EQ(close(fd), 0);
	fd = __open_2(upath("v"), O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(flistxattr(fd, list, sizeof(list)) == -1 && errno == ENOTSUP, 1);
	CHECK_ERRNO(fexecve(fd, (char *[]){"v", NULL}, environ), EACCES);
	CHECK_EQ(close(fd), 0);
	CHECK_EQ(statvfs(upath("vd"), &sv), 0);
	CHECK_EQ(sv.f_bsize, 4096);
	CHECK(sv.f_bfree > 0 && sv.f_bfree < sv.f_blocks);
	CHECK_ERRNO(statvfs(upath("nope"), &sv), ENOENT);
	CHECK_EQ(utimensat(AT_FDCWD, upath("v"), omit, 0), 0);
	CHECK_ERRNO(utimensat(AT_FDCWD, upath("v"), NULL, 0), EOPNOTSUPP);
	CHECK_EQ(stat(upath("v"), &st), 0);
	CHECK_EQ(fchownat(AT_FDCWD, upath("v"), st.st_uid, st.st_gid, 0), 0);
	CHECK_ERRNO(fchownat(AT_FDCWD, upath("v"), st.st_uid + 1, -1, 0), EOPNOTSUPP);
	CHECK_ERRNO(listxattr(upath("v"), list, sizeof(list)), ENOTSUP);
	CHECK_ERRNO(execve(upath("v"), (char *[]){"v", NULL}, environ), EACCES);
	CHECK_ERRNO(execvp(upath("v"), (char *[]){"v", NULL}), EACCES);
	/* chdir to a real directory works, and relative paths follow it */
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK_EQ(chdir("/"), 0);
	CHECK_EQ(stat(upath("v") + 1, &st), 0); /* relative to / */
	CHECK_EQ(st.st_size, 20000);
	CHECK_ERRNO(stat("tmp/../udax-shim-no-such-dir/x", &st), ENOENT);
	CHECK_EQ(chdir(cwd), 0);
	CHECK_ERRNO(stat(upath("v") + 1, &st), ENOENT); /* relative to the real cwd again */
	CHECK_EQ(unlink(upath("v")), 0);
	CHECK_EQ(rmdir(upath("vd")), 0);
}

int main(void)
{
	shim_test_init();
	test_namespace();
	test_openat();
	test_relative();
	test_readdir();
	test_stdio();
	test_variants();
	printf("ok\n");
	return 0;
}
