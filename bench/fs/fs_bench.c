// SPDX-License-Identifier: MIT
/*
 * fs_bench - file system workloads side by side, in one run:
 *  - udax:  udaxfs on a pool in /dev/shm, media forced to the cache-line flush
 *           path (UDAX_FORCE_FLUSH=1), so every persist really flushes, and
 *           mounted with UDAX_MOUNT_POPULATE, so the pool's pages exist and
 *           are mapped as on a DAX device (on /dev/shm, in 2 MiB pages);
 *  - tmpfs: POSIX calls in a /dev/shm directory (volatile, no syncs needed);
 *  - ext4:  POSIX calls on ext4 on a loop device over a /dev/shm file, with
 *           fdatasync/fsync wherever udax is durable on return (root only);
 *  - raw:   pmem_memcpy_persist / memcpy of 4 KiB on the same media, mapped
 *           the same way (moved into 2 MiB pages where the pool is).
 * Each workload runs for a fixed time per round; the table shows the median
 * ops/s over the rounds, the spread, the ratios and the targets of
 * docs/udaxfs.md ("Performance").
 *
 * usage: fs_bench [-t SECONDS_PER_WORKLOAD] [-r ROUNDS] [-u] [-a] [-H | -d DIR]
 *   -u: udax alone (for profiling; the other columns and the targets show "-"/n/a)
 *   -a: an aged pool: 3/4 of the pool written once and freed before the runs,
 *       so that free space is no longer known to be zero and allocations from
 *       it zero (by default the pool is fresh: its free space is known-zero)
 *   -H: put the udax pool and the raw file on a huge=always tmpfs this
 *       program mounts (root), whose pages are 2 MiB from the start; the
 *       tmpfs column stays in /dev/shm
 *   -d: put the udax pool, the raw file and the ext4 column's files in a fresh
 *       directory under DIR, an existing file system (ext4 -o dax in the
 *       kvm-dax guest), instead of /dev/shm and a loop device
 *
 * The parent process sets ext4 up, runs the workloads in a child and removes
 * everything it made (mount, mount point, loop device, files in /dev/shm)
 * however the child ends, also on SIGINT, SIGTERM and SIGHUP.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "udax.h"
#include "pmem/pmem.h"

#define BLK	   4096
#define MiB	   (1ull << 20)
#define POOL_SIZE  (1024 * MiB)
#define EXT4_SIZE  (1024 * MiB)
#define RAW_SIZE   (128 * MiB)
#define DATA_SIZE  (64 * MiB)	    /* the file of the random workloads */
#define APPEND_MAX (RAW_SIZE / BLK) /* blocks one append round writes at most */
#define META_MAX   20000	    /* files one create round makes at most */
#define MAX_ROUNDS 9
#define NSYS	   4

enum sys_kind { SYS_UDAX, SYS_TMPFS, SYS_EXT4, SYS_RAW };

struct sys {
	enum sys_kind kind;
	bool on;
	bool sync;	 /* POSIX: fsync where udax is durable on return */
	char root[128];	 /* POSIX: the directory; udax: "" */
	unsigned nfiles; /* files made by the last create round */
	struct udax_fs *ufs;
};

union fh {
	struct udax_file *uf;
	int fd;
};

static struct sys systems[NSYS];
static struct pmem *raw_pm;
static char *raw_base;
static char block[BLK];
static double run_secs = 0.3;
static bool aged;
static uint64_t rng = 88172645463325252ull;

/* ---- the ext4 scratch file system and every file the run makes ---- */

static char img_path[128], pool_path[300], raw_path[300], tmpfs_dir[128], work_dir[256];
static char huge_dir[] = "/tmp/udax-fsbench-huge-XXXXXX";
static int huge_stage; /* 1 directory made, 2 mounted */
static char loopdev[64], mnt_dir[300] = "/tmp/udax-fsbench-XXXXXX";
static int ext4_stage; /* 1 image, 2 loop device, 3 mount point, 4 mounted */
static volatile sig_atomic_t got_signal;
static volatile pid_t child;

static void on_signal(int sig)
{
	got_signal = sig;
	if (child > 0)
		kill(child, sig);
}

/* Runs argv; with @out, its first output line goes there. 0 if it exits 0. */
static int run(char *const argv[], char *out, size_t outlen)
{
	int p[2], st;
	ssize_t n = 0, r;
	pid_t pid;

	if (out && pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		if (out) {
			dup2(p[1], STDOUT_FILENO);
			close(p[0]);
			close(p[1]);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (out) {
		close(p[1]);
		while (pid > 0 && (size_t)n < outlen - 1 &&
		       ((r = read(p[0], out + n, outlen - 1 - (size_t)n)) > 0 || errno == EINTR))
			n += r > 0 ? r : 0;
		out[n] = 0;
		out[strcspn(out, "\n")] = 0;
		close(p[0]);
	}
	if (pid < 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static const char *ext4_setup(void)
{
	char *losetup[] = {"losetup", "-f", "--show", img_path, NULL};
	char *mkfs[] = {"mkfs.ext4", "-q", loopdev, NULL};
	int fd;

	if (geteuid())
		return "not root (losetup and mount need root)";
	fd = open(img_path, O_CREAT | O_EXCL | O_WRONLY, 0600);
	if (fd < 0)
		return "cannot create the image in /dev/shm";
	ext4_stage = 1;
	if (ftruncate(fd, (off_t)EXT4_SIZE)) {
		close(fd);
		return "cannot size the image";
	}
	close(fd);
	if (run(losetup, loopdev, sizeof(loopdev)) || !loopdev[0])
		return "losetup -f --show failed";
	ext4_stage = 2;
	if (run(mkfs, NULL, 0))
		return "mkfs.ext4 failed";
	if (!mkdtemp(mnt_dir))
		return "mkdtemp failed";
	ext4_stage = 3;
	if (mount(loopdev, mnt_dir, "ext4", 0, NULL))
		return "mount failed";
	ext4_stage = 4;
	return NULL;
}

static void teardown(void)
{
	char *detach[] = {"losetup", "-d", loopdev, NULL};
	char *rm[] = {"rm", "-rf", tmpfs_dir, work_dir[0] ? work_dir : NULL, NULL};

	if (ext4_stage >= 4 && umount(mnt_dir) && umount2(mnt_dir, MNT_DETACH))
		fprintf(stderr, "fs_bench: umount %s: %s\n", mnt_dir, strerror(errno));
	if (ext4_stage >= 3)
		rmdir(mnt_dir);
	if (ext4_stage >= 2 && run(detach, NULL, 0))
		fprintf(stderr, "fs_bench: losetup -d %s failed\n", loopdev);
	if (ext4_stage >= 1)
		unlink(img_path);
	unlink(pool_path);
	unlink(raw_path);
	if (huge_stage >= 2 && umount(huge_dir) && umount2(huge_dir, MNT_DETACH))
		fprintf(stderr, "fs_bench: umount %s: %s\n", huge_dir, strerror(errno));
	if (huge_stage >= 1)
		rmdir(huge_dir);
	run(rm, NULL, 0);
}

/* The huge=always tmpfs of -H, big enough for the pool and the raw file. */
static const char *huge_setup(void)
{
	char opts[64];

	if (geteuid())
		return "not root (mount needs root)";
	if (!mkdtemp(huge_dir))
		return "mkdtemp failed";
	huge_stage = 1;
	snprintf(opts, sizeof(opts), "huge=always,size=%llum", (POOL_SIZE + RAW_SIZE) / MiB + 64);
	if (mount("fs_bench", huge_dir, "tmpfs", 0, opts))
		return "mount of a huge=always tmpfs failed";
	huge_stage = 2;
	snprintf(pool_path, sizeof(pool_path), "%s/pool", huge_dir);
	snprintf(raw_path, sizeof(raw_path), "%s/raw", huge_dir);
	return NULL;
}

/* ---- file operations over the three file systems ---- */

static void die(const char *what, long ret)
{
	fprintf(stderr, "fs_bench: %s: %s %s\n", what, strerror((int)-ret), udax_errormsg());
	exit(1);
}

static long posix_ret(long ret)
{
	return ret < 0 ? -errno : ret;
}

static void check(long ret, const char *what)
{
	if (ret < 0)
		die(what, ret);
}

static const char *path_of(const struct sys *s, const char *name, char *buf)
{
	snprintf(buf, 256, "%s/%s", s->root, name);
	return buf;
}

static void f_open(struct sys *s, const char *name, int flags, union fh *f)
{
	char p[256];

	path_of(s, name, p);
	if (s->kind == SYS_UDAX) {
		check(udax_open(s->ufs, p, flags, 0644, &f->uf), p);
	} else {
		f->fd = open(p, flags, 0644);
		check(posix_ret(f->fd), p);
	}
}

static void f_close(struct sys *s, union fh f)
{
	check(s->kind == SYS_UDAX ? udax_close(f.uf) : posix_ret(close(f.fd)), "close");
}

static void f_pwrite(struct sys *s, union fh f, const void *buf, size_t len, uint64_t off)
{
	long ret = s->kind == SYS_UDAX ? udax_pwrite(f.uf, buf, len, (off_t)off)
				       : posix_ret(pwrite(f.fd, buf, len, (off_t)off));

	if (ret != (long)len)
		die("pwrite", ret < 0 ? ret : -EIO);
}

static void f_pread(struct sys *s, union fh f, void *buf, size_t len, uint64_t off)
{
	long ret = s->kind == SYS_UDAX ? udax_pread(f.uf, buf, len, (off_t)off)
				       : posix_ret(pread(f.fd, buf, len, (off_t)off));

	if (ret != (long)len)
		die("pread", ret < 0 ? ret : -EIO);
}

static void f_fdatasync(struct sys *s, union fh f)
{
	check(s->kind == SYS_UDAX ? udax_fdatasync(f.uf) : posix_ret(fdatasync(f.fd)), "fdatasync");
}

static void f_unlink(struct sys *s, const char *name)
{
	char p[256];

	path_of(s, name, p);
	check(s->kind == SYS_UDAX ? udax_unlink(s->ufs, p) : posix_ret(unlink(p)), p);
}

static void f_rename(struct sys *s, const char *from, const char *to)
{
	char p[256], q[256];

	path_of(s, from, p);
	path_of(s, to, q);
	check(s->kind == SYS_UDAX ? udax_rename(s->ufs, p, q) : posix_ret(rename(p, q)), p);
}

/* The directory of the metadata workloads, open for fsync on durable POSIX systems. */
static int meta_dir_open(struct sys *s)
{
	char p[256];
	int fd;

	if (!s->sync)
		return -1;
	fd = open(path_of(s, "m", p), O_RDONLY | O_DIRECTORY);
	check(posix_ret(fd), p);
	return fd;
}

static void meta_dir_sync(int dfd)
{
	if (dfd >= 0)
		check(posix_ret(fsync(dfd)), "fsync of the directory");
}

/* ---- workloads: each returns ops/s ---- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rand_block(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (rng % (DATA_SIZE / BLK)) * BLK;
}

static double w_append(struct sys *s)
{
	double t0 = now(), t;
	uint64_t n = 0;
	union fh f;

	if (s->kind == SYS_RAW) {
		do {
			pmem_memcpy_persist(raw_pm, raw_base + n++ * BLK, block, BLK);
			t = now();
		} while (n < APPEND_MAX && t - t0 < run_secs);
		return (double)n / (t - t0);
	}
	f_open(s, "append", O_CREAT | O_TRUNC | O_WRONLY, &f);
	t0 = now();
	do {
		f_pwrite(s, f, block, BLK, n * BLK);
		f_fdatasync(s, f);
		t = now();
	} while (++n < APPEND_MAX && t - t0 < run_secs);
	f_close(s, f);
	f_unlink(s, "append");
	return (double)n / (t - t0);
}

static double w_random(struct sys *s, bool write)
{
	static char buf[BLK];
	double t0, t;
	uint64_t n = 0;
	union fh f;

	if (s->kind == SYS_RAW) {
		t0 = now();
		do {
			if (write)
				pmem_memcpy_persist(raw_pm, raw_base + rand_block(), block, BLK);
			else
				memcpy(buf, raw_base + rand_block(), BLK);
			n++;
			t = now();
		} while (t - t0 < run_secs);
		return (double)n / (t - t0);
	}
	f_open(s, "data", O_RDWR, &f);
	t0 = now();
	do {
		if (write) {
			f_pwrite(s, f, block, BLK, rand_block());
			f_fdatasync(s, f);
		} else {
			f_pread(s, f, buf, BLK, rand_block());
		}
		n++;
		t = now();
	} while (t - t0 < run_secs);
	f_close(s, f);
	return (double)n / (t - t0);
}

static double w_overwrite(struct sys *s)
{
	return w_random(s, true);
}

static double w_pread(struct sys *s)
{
	return w_random(s, false);
}

static double w_create(struct sys *s)
{
	double t0 = now(), t;
	char name[64];
	unsigned n = 0;
	union fh f;

	do {
		snprintf(name, sizeof(name), "m/f%u", n);
		f_open(s, name, O_CREAT | O_EXCL | O_WRONLY, &f);
		f_pwrite(s, f, block, BLK, 0);
		if (s->sync)
			check(posix_ret(fsync(f.fd)), "fsync");
		f_close(s, f);
		t = now();
	} while (++n < META_MAX && t - t0 < run_secs);
	s->nfiles = n;
	return n / (t - t0);
}

/* Renames (or with @to NULL unlinks) every file of the last create round. */
static double w_names(struct sys *s, const char *from, const char *to)
{
	char a[64], b[64];
	int dfd = meta_dir_open(s);
	double t0 = now(), t;

	for (unsigned i = 0; i < s->nfiles; i++) {
		snprintf(a, sizeof(a), "m/%s%u", from, i);
		if (to) {
			snprintf(b, sizeof(b), "m/%s%u", to, i);
			f_rename(s, a, b);
		} else {
			f_unlink(s, a);
		}
		meta_dir_sync(dfd);
	}
	t = now();
	if (dfd >= 0)
		close(dfd);
	return s->nfiles / (t - t0);
}

static double w_rename(struct sys *s)
{
	return w_names(s, "f", "g");
}

static double w_unlink(struct sys *s)
{
	return w_names(s, "g", NULL);
}

struct workload {
	const char *name;
	double (*fn)(struct sys *s);
	bool raw; /* has a raw-media counterpart */
};

/* create, rename, unlink run in this order: each works on the files of the previous. */
static const struct workload workloads[] = {
	{"4K append+fdatasync", w_append, true},
	{"4K random overwrite", w_overwrite, true},
	{"4K random pread", w_pread, true},
	{"create+4K write+close", w_create, false},
	{"rename", w_rename, false},
	{"unlink", w_unlink, false},
};

#define NWORK (sizeof(workloads) / sizeof(workloads[0]))

/* ---- setup of each system, run, report ---- */

static void data_file(struct sys *s)
{
	static char chunk[MiB];
	union fh f;

	memset(chunk, 0x5a, sizeof(chunk));
	f_open(s, "data", O_CREAT | O_TRUNC | O_WRONLY, &f);
	for (uint64_t off = 0; off < DATA_SIZE; off += MiB)
		f_pwrite(s, f, chunk, MiB, off);
	f_fdatasync(s, f);
	f_close(s, f);
}

static void posix_setup(struct sys *s, const char *root)
{
	char p[256];

	snprintf(s->root, sizeof(s->root), "%s", root);
	check(posix_ret(mkdir(path_of(s, "m", p), 0755)), p);
}

/*
 * The pool is created and then filled and emptied once by a fallocate, so
 * its pages exist and are mapped as on a DAX device: the runs measure the
 * file system, not first-touch page faults of tmpfs.
 */
/* Aged: writes 3/4 of the pool once and frees it, so those blocks are no longer known-zero. */
static void age_pool(struct sys *s)
{
	union fh f;

	f_open(s, "warm", O_CREAT | O_WRONLY, &f);
	for (uint64_t off = 0; off < POOL_SIZE * 3 / 4; off += BLK)
		f_pwrite(s, f, block, BLK, off);
	f_close(s, f);
	f_unlink(s, "warm");
}

static void udax_setup(struct sys *s)
{
	check(udax_mkfs(pool_path, POOL_SIZE, NULL), pool_path);
	/* the backing's pages exist and are mapped, as on a DAX device */
	check(udax_mount(pool_path, UDAX_MOUNT_POPULATE, &s->ufs), pool_path);
	check(udax_mkdir(s->ufs, "/m", 0755), "mkdir /m");
	if (aged)
		age_pool(s);
	printf("udax pool: %s\n",
	       aged ? "aged (3/4 of it written once and freed)" : "fresh (known-zero)");
}

static void raw_setup(void)
{
	const struct pmem_info *info;

	check(pmem_open(raw_path, PMEM_O_CREATE | PMEM_O_FORCE_FLUSH, RAW_SIZE, &raw_pm), raw_path);
	check(pmem_map(raw_pm, 0, RAW_SIZE, PROT_READ | PROT_WRITE, (void **)&raw_base), "map");
	pmem_memset_persist(raw_pm, raw_base, 0x5a, RAW_SIZE);
	info = pmem_get_info(raw_pm);
	/* as UDAX_MOUNT_POPULATE does for the pool on a tmpfs of 4 KiB pages */
	if (!pmem_collapse(raw_pm, raw_base, RAW_SIZE))
		printf("raw: moved into 2 MiB pages, as the pool\n");
	printf("media: %s files (%s), method %s with %s\n", pmem_kind_name(info->kind),
	       info->is_volatile ? "DRAM" : "persistent", pmem_method_name(info->method),
	       pmem_insn_name(info->insn));
}

struct stat_ops {
	double med, spread; /* ops/s; (max - min) / 2 / median */
};

static struct stat_ops summarize(double *v, int n)
{
	double s[MAX_ROUNDS];
	struct stat_ops r;

	memcpy(s, v, sizeof(double) * (size_t)n);
	qsort(s, (size_t)n, sizeof(double), cmp_double);
	r.med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	r.spread = (s[n - 1] - s[0]) / 2 / r.med;
	return r;
}

static void print_cell(bool on, struct stat_ops st)
{
	if (!on)
		printf(" %16s", "-");
	else if (st.med >= 1e6)
		printf(" %8.2fM ±%3.0f%%", st.med / 1e6, st.spread * 100);
	else
		printf(" %8.1fk ±%3.0f%%", st.med / 1e3, st.spread * 100);
}

static void print_ratio(bool on, double a, double b)
{
	if (on)
		printf(" %8.2f", a / b);
	else
		printf(" %8s", "-");
}

static void target(const char *what, bool on, double ratio, double need)
{
	if (!on)
		printf("  %-58s n/a (column not run)\n", what);
	else
		printf("  %-58s %6.2f  %s\n", what, ratio, ratio >= need ? "met" : "NOT met");
}

static void report(struct stat_ops res[NWORK][NSYS], int rounds)
{
	bool ext4 = systems[SYS_EXT4].on, tmpfs = systems[SYS_TMPFS].on, raw = systems[SYS_RAW].on;

	printf("\nops/s, median of %d rounds of %.2f s, ± half the spread (max-min)/2\n", rounds,
	       run_secs);
	printf("%-22s %16s %16s %16s %16s %8s %8s %8s\n", "workload", "udax", "tmpfs", "ext4",
	       "raw", "u/tmpfs", "u/ext4", "u/raw");
	for (unsigned w = 0; w < NWORK; w++) {
		double u = res[w][SYS_UDAX].med;

		printf("%-22s", workloads[w].name);
		for (int s = 0; s < NSYS; s++)
			print_cell(systems[s].on && (s != SYS_RAW || workloads[w].raw), res[w][s]);
		print_ratio(tmpfs, u, res[w][SYS_TMPFS].med);
		print_ratio(ext4, u, res[w][SYS_EXT4].med);
		print_ratio(raw && workloads[w].raw, u, res[w][SYS_RAW].med);
		printf("\n");
	}
	printf("\ntargets (ratio, need):\n");
	target("append+fdatasync >= 5x ext4 (need 5)", ext4,
	       res[0][SYS_UDAX].med / res[0][SYS_EXT4].med, 5);
	target("append+fdatasync within 2x raw memcpy-persist (need 0.5)", raw,
	       res[0][SYS_UDAX].med / res[0][SYS_RAW].med, 0.5);
	target("random pread >= 2x tmpfs (need 2)", tmpfs,
	       res[2][SYS_UDAX].med / res[2][SYS_TMPFS].med, 2);
	for (unsigned w = 3; w < NWORK; w++) {
		char what[80];

		snprintf(what, sizeof(what), "%s >= tmpfs (need 1)", workloads[w].name);
		target(what, tmpfs, res[w][SYS_UDAX].med / res[w][SYS_TMPFS].med, 1);
		snprintf(what, sizeof(what), "%s >= 5x ext4 with fsync (need 5)",
			 workloads[w].name);
		target(what, ext4, res[w][SYS_UDAX].med / res[w][SYS_EXT4].med, 5);
	}
}

static int bench(int rounds)
{
	static double v[NWORK][NSYS][MAX_ROUNDS];
	static struct stat_ops res[NWORK][NSYS];

	setenv("UDAX_FORCE_FLUSH", "1", 1);
	memset(block, 0xa5, sizeof(block));
	if (systems[SYS_RAW].on)
		raw_setup();
	udax_setup(&systems[SYS_UDAX]);
	if (systems[SYS_TMPFS].on)
		posix_setup(&systems[SYS_TMPFS], tmpfs_dir);
	if (systems[SYS_EXT4].on)
		posix_setup(&systems[SYS_EXT4], mnt_dir);
	for (int s = SYS_UDAX; s <= SYS_EXT4; s++)
		if (systems[s].on)
			data_file(&systems[s]);
	for (int r = 0; r < rounds; r++)
		for (unsigned w = 0; w < NWORK; w++)
			for (int s = 0; s < NSYS; s++)
				if (systems[s].on && (s != SYS_RAW || workloads[w].raw))
					v[w][s][r] = workloads[w].fn(&systems[s]);
	for (unsigned w = 0; w < NWORK; w++)
		for (int s = 0; s < NSYS; s++)
			res[w][s] = summarize(v[w][s], rounds);
	report(res, rounds);
	check(udax_unmount(systems[SYS_UDAX].ufs), "unmount");
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal};
	bool udax_only = false, huge = false;
	const char *why;
	int rounds = 3, opt, st = 1;
	pid_t pid;

	while ((opt = getopt(argc, argv, "t:r:uaHd:")) != -1) {
		if (opt == 'H')
			huge = true;
		else if (opt == 'u')
			udax_only = true;
		else if (opt == 'a')
			aged = true;
		else if (opt == 'd')
			snprintf(work_dir, sizeof(work_dir), "%s/udax-fsbench-XXXXXX", optarg);
		else if (opt == 't')
			run_secs = atof(optarg);
		else if (opt == 'r')
			rounds = atoi(optarg);
		if (opt == '?' || run_secs <= 0 || rounds < 1 || rounds > MAX_ROUNDS ||
		    (huge && work_dir[0])) {
			fprintf(stderr,
				"usage: %s [-t SECONDS_PER_WORKLOAD] [-r ROUNDS (1..%d)] [-u] [-a] "
				"[-H | -d DIR]\n",
				argv[0], MAX_ROUNDS);
			return 2;
		}
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	snprintf(img_path, sizeof(img_path), "/dev/shm/udax-fsbench-%d.ext4", getpid());
	snprintf(pool_path, sizeof(pool_path), "/dev/shm/udax-fsbench-%d.pool", getpid());
	snprintf(raw_path, sizeof(raw_path), "/dev/shm/udax-fsbench-%d.raw", getpid());
	snprintf(tmpfs_dir, sizeof(tmpfs_dir), "/dev/shm/udax-fsbench-%d.d", getpid());
	for (int s = 0; s < NSYS; s++)
		systems[s] = (struct sys){.kind = (enum sys_kind)s, .on = true};
	systems[SYS_EXT4].sync = true;
	print_machine();
	if (mkdir(tmpfs_dir, 0755)) {
		fprintf(stderr, "fs_bench: mkdir %s: %s\n", tmpfs_dir, strerror(errno));
		return 1;
	}
	if (work_dir[0] && !mkdtemp(work_dir)) {
		fprintf(stderr, "fs_bench: mkdtemp %s: %s\n", work_dir, strerror(errno));
		work_dir[0] = 0;
		teardown();
		return 1;
	}
	why = huge ? huge_setup() : NULL;
	if (why) {
		fprintf(stderr, "fs_bench: -H: %s\n", why);
		teardown();
		return 1;
	}
	if (work_dir[0]) {
		snprintf(pool_path, sizeof(pool_path), "%s/pool", work_dir);
		snprintf(raw_path, sizeof(raw_path), "%s/raw", work_dir);
		snprintf(mnt_dir, sizeof(mnt_dir), "%s/ext4", work_dir);
	}
	if (udax_only)
		why = "-u";
	else if (work_dir[0])
		why = mkdir(mnt_dir, 0755) ? "cannot create its directory" : NULL;
	else
		why = ext4_setup();
	systems[SYS_EXT4].on = !why;
	systems[SYS_TMPFS].on = systems[SYS_RAW].on = !udax_only;
	if (why)
		printf("ext4: skipped: %s\n", why);
	else if (work_dir[0])
		printf("ext4: %s (given with -d), fdatasync/fsync per operation\n", mnt_dir);
	else
		printf("ext4: %s on %s over %s (data=ordered), fdatasync/fsync per operation\n",
		       mnt_dir, loopdev, img_path);
	printf("udax: pool %s%s, UDAX_FORCE_FLUSH=1; durable on return, no fsync\n", pool_path,
	       huge ? " (huge=always tmpfs: 2 MiB pages)" : "");
	fflush(stdout);
	pid = got_signal ? -1 : fork();
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		exit(bench(rounds));
	}
	child = pid;
	if (got_signal)
		kill(pid, got_signal);
	while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	teardown();
	if (got_signal) {
		fprintf(stderr, "fs_bench: interrupted by signal %d, cleaned up\n",
			(int)got_signal);
		return 128 + got_signal;
	}
	return pid > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
