// SPDX-License-Identifier: MIT
/* Opening and classifying backings, creation, forced flush mode, and every open error. */
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"
#include "udax.h"
#include "pmem_testutil.h"

#define MiB (1ul << 20)

static char shm_path[64];

static void remove_shm_file(void)
{
	unlink(shm_path);
}

static void check_msg_names(const char *what)
{
	if (!strstr(udax_errormsg(), what))
		test_fail(__FILE__, __LINE__, "message \"%s\" does not name \"%s\"",
			  udax_errormsg(), what);
}

static bool shmem_mode_is(const char *mode)
{
	char buf[128], want[32];
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "r");
	bool yes;

	if (!f)
		return false;
	yes = fgets(buf, sizeof(buf), f) &&
	      (snprintf(want, sizeof(want), "[%s]", mode), strstr(buf, want));
	fclose(f);
	return yes;
}

/* A regular file on the root file system (ext4 here): page cache, msync. */
static void test_regular_file(void)
{
	const char *path = tmp_path("regular");
	struct pmem *pm;
	struct statfs sfs;
	struct stat st;

	if (!tmpdir_on_block_fs("regular-file case"))
		return;
	CHECK_OK(statfs(test_tmpdir(), &sfs));
	CHECK_OK(pmem_open(path, PMEM_O_CREATE, 4 * MiB, &pm));
	CHECK_INFO(pm, .kind = PMEM_KIND_PAGECACHE, .granularity = PMEM_GRAN_PAGE,
		   .method = PMEM_METHOD_MSYNC, .insn = PMEM_INSN_NONE);
	CHECK_EQ(pmem_get_info(pm)->size, 4 * MiB);
	CHECK_EQ(pmem_get_info(pm)->align, 4096);
	CHECK(strstr(pmem_get_info(pm)->reason, "ext4") || sfs.f_type != EXT4_SUPER_MAGIC);
	CHECK(strcmp(pmem_path(pm), path) == 0);
	CHECK_OK(fstat(pmem_fd(pm), &st));
	CHECK_EQ(st.st_size, 4 * MiB);
	CHECK(st.st_blocks * 512 >= (long long)(4 * MiB)); /* blocks allocated at create */
	pmem_close(pm);

	/* reopen without create keeps the size; create with a larger size extends, never shrinks */
	CHECK_OK(pmem_open(path, 0, 0, &pm));
	CHECK_EQ(pmem_get_info(pm)->size, 4 * MiB);
	pmem_close(pm);
	CHECK_OK(pmem_open(path, PMEM_O_CREATE, 6 * MiB, &pm));
	CHECK_EQ(pmem_get_info(pm)->size, 6 * MiB);
	pmem_close(pm);
	CHECK_OK(pmem_open(path, PMEM_O_CREATE, 1 * MiB, &pm));
	CHECK_EQ(pmem_get_info(pm)->size, 6 * MiB);
	pmem_close(pm);

	/* a size that is not a whole number of pages: only whole pages are usable */
	CHECK_OK(truncate(path, 6 * MiB + 100));
	CHECK_OK(pmem_open(path, PMEM_O_RDONLY, 0, &pm));
	CHECK_EQ(pmem_get_info(pm)->size, 6 * MiB);
	pmem_close(pm);
}

static void test_forced_flush(void)
{
	const char *path = tmp_path("forced");
	enum pmem_flush_insn insn = cpu_flush_insn();
	bool file = tmpdir_on_block_fs("forced flush of a page-cache file");
	struct pmem *pm;

	CHECK(insn != PMEM_INSN_NONE);
	if (file) {
		CHECK_OK(pmem_open(path, PMEM_O_CREATE | PMEM_O_FORCE_FLUSH, MiB, &pm));
		CHECK_INFO(pm, .kind = PMEM_KIND_PAGECACHE, .granularity = PMEM_GRAN_CACHE_LINE,
			   .method = PMEM_METHOD_FLUSH, .insn = insn);
		CHECK(strstr(pmem_get_info(pm)->reason, "forced"));
		pmem_close(pm);
	}

	CHECK_OK(setenv("UDAX_FORCE_FLUSH", "1", 1));
	CHECK_OK(pmem_open(shm_path, 0, 0, &pm));
	CHECK_INFO(pm, .kind = pmem_get_info(pm)->kind,
		   .pmd_capable = pmem_get_info(pm)->pmd_capable, .is_volatile = true,
		   .granularity = PMEM_GRAN_CACHE_LINE, .method = PMEM_METHOD_FLUSH, .insn = insn);
	pmem_close(pm);
	CHECK_OK(setenv("UDAX_FORCE_FLUSH", "0", 1));
	if (file) {
		CHECK_OK(pmem_open(path, 0, 0, &pm));
		CHECK_EQ(pmem_get_info(pm)->method, PMEM_METHOD_MSYNC);
		pmem_close(pm);
	}
	CHECK_OK(unsetenv("UDAX_FORCE_FLUSH"));
}

/* /dev/shm: tmpfs, volatile, nothing to persist; huge only if shmem_enabled=force. */
static void test_shm_file(void)
{
	bool huge = shmem_mode_is("force");
	struct pmem *pm;

	snprintf(shm_path, sizeof(shm_path), "/dev/shm/udax-test-%d", getpid());
	atexit(remove_shm_file);
	CHECK_OK(pmem_open(shm_path, PMEM_O_CREATE, 2 * MiB, &pm));
	CHECK_INFO(pm, .kind = huge ? PMEM_KIND_HUGE_TMPFS : PMEM_KIND_TMPFS, .pmd_capable = huge,
		   .is_volatile = true, .granularity = PMEM_GRAN_PAGE, .method = PMEM_METHOD_NONE,
		   .insn = PMEM_INSN_NONE);
	CHECK_EQ(pmem_get_info(pm)->size, 2 * MiB);
	pmem_close(pm);
}

static struct timespec atime_of(const char *path)
{
	struct stat st;

	CHECK_OK(stat(path, &st));
	return st.st_atim;
}

/* Sets @path's access time to the epoch, so that relatime updates it at its next access. */
static void age_atime(const char *path)
{
	struct timespec ts[2] = {{.tv_sec = 0}, {.tv_nsec = UTIME_OMIT}};

	CHECK_OK(utimensat(AT_FDCWD, path, ts, 0));
	CHECK_EQ(atime_of(path).tv_sec, 0);
}

/*
 * Windows of a backing opened by path do not touch its access time (O_NOATIME,
 * as the owner); a plain mmap of the same file does, so the check can fail.
 * A user who does not own the file still opens it, without O_NOATIME.
 */
static void test_noatime(void)
{
	struct pmem *pm;
	void *addr;
	int fd, status;
	pid_t pid;

	CHECK_OK(pmem_open(shm_path, 0, 0, &pm));
	CHECK(fcntl(pmem_fd(pm), F_GETFL) & O_NOATIME);
	age_atime(shm_path);
	CHECK_OK(pmem_map(pm, 0, 2 * MiB, PROT_READ | PROT_WRITE, &addr));
	CHECK_OK(pmem_unmap(addr, 2 * MiB));
	CHECK_EQ(atime_of(shm_path).tv_sec, 0);
	pmem_close(pm);

	fd = open(shm_path, O_RDWR);
	CHECK(fd >= 0);
	addr = mmap(NULL, 2 * MiB, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(addr != MAP_FAILED);
	munmap(addr, 2 * MiB);
	close(fd);
	CHECK(atime_of(shm_path).tv_sec != 0);

	if (geteuid() != 0) {
		printf("test_noatime: the open by a user who does not own the file needs root\n");
		return;
	}
	CHECK_OK(chmod(shm_path, 0666));
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (setresuid(65534, 65534, 65534) || pmem_open(shm_path, 0, 0, &pm))
			_exit(1);
		_exit(fcntl(pmem_fd(pm), F_GETFL) & O_NOATIME ? 2 : 0);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	CHECK_OK(chmod(shm_path, 0600));
}

/* memfd: by descriptor and by its /proc/self/fd path; huge pages follow shmem_enabled. */
static void test_memfd(void)
{
	bool huge = shmem_mode_is("always") || shmem_mode_is("within_size") ||
		    shmem_mode_is("advise") || shmem_mode_is("force");
	int fd = memfd_create("udax-test", MFD_CLOEXEC);
	char proc[64];
	struct pmem *pm;

	CHECK(fd >= 0);
	CHECK_OK(ftruncate(fd, 4 * MiB));
	CHECK_OK(pmem_open_fd(fd, 0, &pm));
	CHECK_INFO(pm, .kind = PMEM_KIND_MEMFD, .pmd_capable = huge, .is_volatile = true,
		   .granularity = PMEM_GRAN_PAGE, .method = PMEM_METHOD_NONE,
		   .insn = PMEM_INSN_NONE);
	CHECK_EQ(pmem_get_info(pm)->size, 4 * MiB);
	CHECK(pmem_fd(pm) != fd); /* duplicated */
	CHECK(strncmp(pmem_path(pm), "/memfd:udax-test", 16) == 0);
	pmem_close(pm);
	CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC); /* the caller's descriptor survives */

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	CHECK_OK(pmem_open(proc, 0, 0, &pm));
	CHECK_EQ(pmem_get_info(pm)->kind, PMEM_KIND_MEMFD);
	pmem_close(pm);
	close(fd);
}

static void test_open_fd_access(void)
{
	int fd = open(shm_path, O_RDONLY);
	struct pmem *pm;
	void *addr;

	CHECK(fd >= 0);
	CHECK_ERR(pmem_open_fd(fd, 0, &pm), EACCES);
	check_msg_names(shm_path);
	CHECK_ERR(pmem_open_fd(fd, PMEM_O_CREATE, &pm), EINVAL);
	CHECK_ERR(pmem_open_fd(fd, 0x40, &pm), EINVAL);
	CHECK_OK(pmem_open_fd(fd, PMEM_O_RDONLY, &pm));
	CHECK_ERR(pmem_map(pm, 0, 4096, PROT_READ | PROT_WRITE, &addr), EACCES);
	CHECK_OK(pmem_map(pm, 0, 4096, PROT_READ, &addr));
	CHECK_OK(pmem_unmap(addr, 4096));
	pmem_close(pm);
	close(fd);
	CHECK_ERR(pmem_open_fd(fd, 0, &pm), EBADF);
}

#define expect_open_error(path, flags, size, err)                                                  \
	do {                                                                                       \
		struct pmem *_pm = NULL;                                                           \
		const char *_path = (path);                                                        \
		CHECK_ERR(pmem_open(_path, flags, size, &_pm), err);                               \
		CHECK(_pm == NULL);                                                                \
		check_msg_names(_path);                                                            \
	} while (0)

static const char *make_socket(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *path = tmp_path("sock");
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	CHECK(s >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	CHECK_OK(bind(s, (struct sockaddr *)&sa, sizeof(sa)));
	close(s);
	return path;
}

/* Root bypasses permission bits, so the EACCES case runs as "nobody" in a child. */
static void test_eacces(void)
{
	const char *path = tmp_path("private");
	struct pmem *pm;
	int status;
	pid_t pid;

	CHECK_OK(pmem_open(path, PMEM_O_CREATE, MiB, &pm));
	pmem_close(pm);
	CHECK_OK(chmod(test_tmpdir(), 0755));
	CHECK_OK(chmod(path, 0600));
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0 && setresuid(65534, 65534, 65534))
			_exit(3);
		_exit(pmem_open(path, 0, 0, &pm) == -EACCES && strstr(udax_errormsg(), path) ? 0
											     : 1);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
}

static void test_errors(void)
{
	const char *empty = tmp_path("empty"), *tiny = tmp_path("tiny"), *fifo = tmp_path("fifo");
	const char *dir = test_tmpdir();
	struct stat st;
	int fd;

	expect_open_error(tmp_path("missing"), 0, 0, ENOENT);
	expect_open_error(tmp_path("no/such/dir"), PMEM_O_CREATE, MiB, ENOENT);
	expect_open_error(dir, 0, 0, EISDIR);
	expect_open_error(dir, PMEM_O_CREATE, MiB, EISDIR);
	CHECK_OK(mkfifo(fifo, 0600));
	expect_open_error(fifo, 0, 0, ENODEV);
	expect_open_error(make_socket(), 0, 0, ENODEV);
	expect_open_error("/dev/null", 0, 0, ENODEV);
	if (stat("/dev/vda", &st) == 0 && S_ISBLK(st.st_mode))
		expect_open_error("/dev/vda", PMEM_O_RDONLY, 0, ENODEV);
	expect_open_error(empty, 0x100, 0, EINVAL);
	expect_open_error(empty, PMEM_O_CREATE | PMEM_O_RDONLY, MiB, EINVAL);
	expect_open_error(empty, PMEM_O_CREATE, 0, EINVAL);
	expect_open_error(empty, PMEM_O_CREATE, 4096 + 1, EINVAL); /* not whole pages */

	/* too small: the message states the minimum */
	fd = open(empty, O_CREAT | O_RDWR, 0600);
	CHECK(fd >= 0);
	close(fd);
	expect_open_error(empty, 0, 0, EINVAL);
	CHECK(strstr(udax_errormsg(), "minimum is 4096"));
	fd = open(tiny, O_CREAT | O_RDWR, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "abc", 3), 3);
	close(fd);
	expect_open_error(tiny, 0, 0, EINVAL);
	CHECK(strstr(udax_errormsg(), "3 bytes"));
	test_eacces();
}

int main(void)
{
	test_watchdog(30);
	test_regular_file();
	test_shm_file();
	test_noatime();
	test_forced_flush();
	test_memfd();
	test_open_fd_access();
	test_errors();
	return 0;
}
