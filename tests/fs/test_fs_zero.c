// SPDX-License-Identifier: MIT
/*
 * Known-zero free space (docs/udaxfs.md, "Allocator"): blocks at or above the
 * superblock's zero mark are free and read as zero, so allocations there skip
 * zeroing and raise the mark durably in their own transaction. Checked here:
 * the mark advances, is durable before the allocating call returns and
 * survives remount; blocks below it are zeroed again when reused (through
 * pwrite, fallocate and mapped stores); mkfs over a pool full of old data gives
 * a data area that reads as zero on each file backing, and goes without the
 * mark when the punch is refused; a corrupt mark fails the mount with EUCLEAN,
 * fsck reports it and --repair raises it past every block that is in use or
 * does not read as zero; a primary torn by a crash during the copy home of a
 * raising transaction is repaired by the replay.
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "pmem/pmem.h"
#include "fstest.h"
#include "pmem_testutil.h"

#define POOL_SIZE (16 * MIB)
#define BLK	  UDAXFS_BLOCK

static struct udax_file *open_rw(struct udax_fs *fs, const char *path)
{
	struct udax_file *f;

	CHECK_OK(udax_open(fs, path, O_CREAT | O_RDWR, 0644, &f));
	return f;
}

/* The media block of file offset @off (which must be mapped). */
static uint64_t media_block(struct udax_file *f, uint64_t off)
{
	struct udax_extent ext[16];
	int n = udax_fiemap(f, ext, 16);

	CHECK(n > 0 && n <= 16);
	for (int i = 0; i < n; i++)
		if (off >= ext[i].logical && off < ext[i].logical + ext[i].length)
			return (ext[i].physical + off - ext[i].logical) / BLK;
	test_fail(__FILE__, __LINE__, "offset %llu is not mapped", (unsigned long long)off);
	return 0;
}

/* Every byte of @f's [from, to) is zero but @len bytes of @data at @at. */
static void check_range(struct udax_file *f, uint64_t from, uint64_t to, uint64_t at,
			const void *data, size_t len)
{
	static uint8_t buf[1 << 20];

	for (uint64_t off = from; off < to; off += sizeof(buf)) {
		size_t n = to - off < sizeof(buf) ? to - off : sizeof(buf);

		CHECK_EQ(udax_pread(f, buf, n, (off_t)off), n);
		for (size_t i = 0; i < n; i++) {
			uint64_t pos = off + i;
			uint8_t want =
				pos >= at && pos < at + len ? ((const uint8_t *)data)[pos - at] : 0;

			if (buf[i] != want)
				test_fail(__FILE__, __LINE__,
					  "byte %llu is 0x%02x, expected 0x%02x",
					  (unsigned long long)pos, buf[i], want);
		}
	}
}

static void check_zero_but(struct udax_file *f, uint64_t size, uint64_t at, const void *data,
			   size_t len)
{
	check_range(f, 0, size, at, data, len);
}

/* A fresh pool starts at data_start; allocations raise the mark, durably, in both superblocks. */
static void test_mark_advances(void)
{
	const char *pool = fstest_pool("advance.pool", POOL_SIZE);
	struct udaxfs_super sb = read_super(pool, 0);
	struct udax_fs *fs;
	struct udax_file *f, *g;
	uint64_t big, mark;

	CHECK_EQ(sb.version, UDAXFS_VERSION);
	CHECK_EQ(sb.zero_start, sb.data_start);
	CHECK_EQ(read_super(pool, 1).zero_start, sb.data_start);
	fs = fstest_mount(pool);
	f = open_rw(fs, "/big");
	/* a 4 KiB write at 5 MiB: a 2 MiB group, taken from above the mark */
	CHECK_EQ(udax_pwrite(f, "x", 1, 5 * MIB), 1);
	big = media_block(f, 5 * MIB) & ~(uint64_t)(UDAXFS_PMD_BLOCKS - 1);
	CHECK(big >= sb.data_start);
	/* durable when the call returned: both superblocks, while still mounted */
	mark = read_super(pool, 0).zero_start;
	CHECK_EQ(mark, big + UDAXFS_PMD_BLOCKS);
	CHECK_EQ(read_super(pool, 1).zero_start, mark);
	check_zero_but(f, 5 * MIB + 1, 5 * MIB, "x", 1);
	/* a small file goes into the partly used group below the mark */
	g = open_rw(fs, "/small");
	CHECK_EQ(udax_pwrite(g, "y", 1, 8192), 1);
	CHECK(media_block(g, 8192) < mark);
	CHECK_EQ(read_super(pool, 0).zero_start, mark);
	CHECK_OK(udax_close(g));
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));
	/* it survives the remount, and the next group continues from it */
	CHECK_EQ(read_super(pool, 0).zero_start, mark);
	CHECK_EQ(read_super(pool, 1).zero_start, mark);
	fs = fstest_mount(pool);
	f = open_rw(fs, "/big");
	CHECK_OK(udax_fallocate(f, UDAX_FALLOC_KEEP_SIZE, 8 * MIB, 2 * MIB));
	CHECK_EQ(media_block(f, 8 * MIB), mark);
	CHECK_EQ(read_super(pool, 0).zero_start, mark + UDAXFS_PMD_BLOCKS);
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));
	fstest_fsck_clean(pool);
}

/* Fills the pool's free space with @byte through one file, then deletes it. */
static void dirty_free_space(struct udax_fs *fs, uint8_t byte)
{
	static uint8_t buf[1 << 20];
	struct udax_statfs st;
	struct udax_file *f = open_rw(fs, "/dirt");
	uint64_t len;

	CHECK_OK(udax_statfs(fs, &st));
	len = (st.blocks_free - 8) * BLK; /* room for the extent blocks */
	memset(buf, byte, sizeof(buf));
	for (uint64_t off = 0; off < len; off += sizeof(buf)) {
		size_t n = len - off < sizeof(buf) ? len - off : sizeof(buf);

		CHECK_EQ(udax_pwrite(f, buf, n, (off_t)off), n);
	}
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unlink(fs, "/dirt"));
}

/*
 * Blocks freed with data in them lie below the mark and are zeroed when
 * reused, whichever path allocates them: stale data is never exposed.
 */
static void test_reuse_zeroes(void)
{
	const char *pool = fstest_pool("reuse.pool", POOL_SIZE);
	struct udaxfs_super sb;
	struct udax_statfs st;
	struct udax_fs *fs = fstest_mount(pool);
	struct udax_file *f;
	uint8_t *p;

	dirty_free_space(fs, 0xa5);
	sb = read_super(pool, 0);
	CHECK(sb.zero_start > sb.nblocks - 64); /* nearly everything was used once */
	/* pwrite into a small file's hole, and a big file's */
	f = open_rw(fs, "/small");
	CHECK_EQ(udax_pwrite(f, "abc", 3, 5000), 3);
	check_zero_but(f, 5003, 5000, "abc", 3);
	CHECK_OK(udax_close(f));
	f = open_rw(fs, "/big");
	CHECK_EQ(udax_pwrite(f, "def", 3, 3 * MIB + 7), 3);
	check_zero_but(f, 3 * MIB + 10, 3 * MIB + 7, "def", 3);
	/* a store through a mapping into a hole */
	CHECK_OK(udax_ftruncate(f, 6 * MIB));
	CHECK_OK(udax_mmap(f, NULL, 6 * MIB, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p));
	p[5 * MIB + 1] = 'g';
	CHECK_OK(udax_msync(p, 6 * MIB, MS_SYNC));
	CHECK_OK(udax_munmap(p, 6 * MIB));
	for (uint64_t off = 4 * MIB; off < 6 * MIB; off += BLK)
		CHECK(media_block(f, off) < sb.zero_start);
	check_zero_but(f, 4 * MIB, 3 * MIB + 7, "def", 3);
	check_range(f, 4 * MIB, 6 * MIB, 5 * MIB + 1, "g", 1);
	CHECK_OK(udax_close(f));
	/* fallocate, plain and ZERO_RANGE, over the rest of the pool */
	CHECK_OK(udax_statfs(fs, &st));
	f = open_rw(fs, "/rest");
	CHECK_OK(udax_fallocate(f, UDAX_FALLOC_ZERO_RANGE, 0, 2 * MIB + 3 * BLK));
	CHECK_OK(udax_fallocate(f, 0, 0, (st.blocks_free - 8) * BLK));
	check_zero_but(f, (st.blocks_free - 8) * BLK, 0, NULL, 0);
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));
	fstest_fsck_clean(pool);
}

/* Writes @mark into both superblocks, with valid checksums. */
static void expect_bad_mark(const char *pool, uint64_t mark, const char *msg)
{
	struct udax_fs *fs;

	set_zero_mark(pool, mark);
	CHECK_ERR(udax_mount(pool, 0, &fs), EUCLEAN);
	CHECK(strstr(test_errormsg(), msg));
	CHECK_EQ(fsck_count(pool, 0), 1);
	CHECK_EQ(fsck_count(pool, UDAX_FSCK_REPAIR), 1);
	CHECK_EQ(fsck_count(pool, 0), 0);
	fs = fstest_mount(pool);
	CHECK_OK(udax_unmount(fs));
}

/*
 * A mark out of bounds or below blocks in use: mount refuses, fsck reports,
 * repair raises it past what is in use and what does not read as zero.
 */
static void test_corrupt_mark(void)
{
	const char *pool = fstest_pool("corrupt.pool", POOL_SIZE);
	struct udaxfs_super sb = read_super(pool, 0);
	struct udax_fs *fs = fstest_mount(pool);
	struct udax_file *f;
	uint64_t dirty_end, used_end, mark;

	/* a big file's group, freed with data in it, above a small file's block */
	f = open_rw(fs, "/small");
	CHECK_EQ(udax_pwrite(f, "s", 1, 0), 1);
	used_end = media_block(f, 0) + 1;
	CHECK_OK(udax_close(f));
	f = open_rw(fs, "/big");
	CHECK_OK(udax_fallocate(f, 0, 0, 2 * MIB));
	CHECK_EQ(udax_pwrite(f, "stale", 5, 2 * MIB - BLK), 5);
	dirty_end = media_block(f, 2 * MIB - BLK) + 1;
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unlink(fs, "/big"));
	CHECK_OK(udax_unmount(fs));
	CHECK(dirty_end > used_end);
	mark = read_super(pool, 0).zero_start;
	CHECK_EQ(mark, dirty_end);

	expect_bad_mark(pool, sb.data_start - 1, "zero mark");
	CHECK_EQ(read_super(pool, 0).zero_start, dirty_end); /* not just past /small */
	expect_bad_mark(pool, sb.nblocks + 1, "outside the data area");
	CHECK_EQ(read_super(pool, 0).zero_start, sb.nblocks);
	CHECK_EQ(read_super(pool, 1).zero_start, sb.nblocks);
	expect_bad_mark(pool, sb.data_start, "in use above the zero mark");
	CHECK_EQ(read_super(pool, 0).zero_start, dirty_end);

	/* after the repair, reusing the stale group reads zeros */
	fs = fstest_mount(pool);
	f = open_rw(fs, "/again");
	/* every free group: the stale one below the mark (lowest first) and those above it */
	CHECK_OK(udax_fallocate(f, 0, 0, 12 * MIB));
	CHECK(media_block(f, 0) < dirty_end);
	check_zero_but(f, 12 * MIB, 0, NULL, 0);
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));
	fstest_fsck_clean(pool);
}

/* A pool file of @size bytes full of @byte, made through the media layer (works on hugetlbfs). */
static void old_pool(const char *path, uint64_t size, uint8_t byte)
{
	struct pmem *pm;
	void *p;

	CHECK_OK(pmem_open(path, PMEM_O_CREATE, size, &pm));
	CHECK_OK(pmem_map(pm, 0, size, PROT_READ | PROT_WRITE, &p));
	memset(p, byte, size);
	CHECK_OK(pmem_unmap(p, size));
	pmem_close(pm);
}

/* Every byte of the pool's data area is zero. */
static void check_data_area_zero(const char *path, const struct udaxfs_super *sb)
{
	static uint8_t buf[1 << 20];
	struct pmem *pm;
	uint8_t *p;
	uint64_t size = sb->nblocks * BLK;

	CHECK_OK(pmem_open(path, 0, 0, &pm));
	CHECK_OK(pmem_map(pm, 0, size, PROT_READ, (void **)&p));
	for (uint64_t off = sb->data_start * BLK; off < size; off += sizeof(buf))
		if (memcmp(p + off, buf, size - off < sizeof(buf) ? size - off : sizeof(buf)))
			test_fail(__FILE__, __LINE__, "%s: data area not zero near %llu", path,
				  (unsigned long long)off);
	CHECK_OK(pmem_unmap(p, size));
	pmem_close(pm);
}

/* A file system on @path reads as zero wherever nothing was written. */
static void check_files_read_zero(const char *path)
{
	struct udax_fs *fs = fstest_mount(path);
	struct udax_file *f = open_rw(fs, "/big");

	CHECK_OK(udax_fallocate(f, 0, 0, 4 * MIB));
	CHECK_EQ(udax_pwrite(f, "z", 1, 7 * MIB), 1);
	check_zero_but(f, 7 * MIB + 1, 7 * MIB, "z", 1);
	CHECK_OK(udax_close(f));
	f = open_rw(fs, "/small");
	CHECK_EQ(udax_pwrite(f, "q", 1, 3 * BLK), 1);
	check_zero_but(f, 3 * BLK + 1, 3 * BLK, "q", 1);
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));
	fstest_fsck_clean(path);
}

/* mkfs over a pool full of old data in @dir: the punch leaves a zero data area. */
static int mkfs_over_data(const char *dir)
{
	char path[512];
	struct udaxfs_super sb;

	snprintf(path, sizeof(path), "%s/old.pool", dir);
	old_pool(path, POOL_SIZE, 0xee);
	CHECK_OK(udax_mkfs(path, 0, NULL));
	sb = read_super(path, 0);
	CHECK_EQ(sb.zero_start, sb.data_start);
	check_data_area_zero(path, &sb);
	check_files_read_zero(path);
	/* again over a pool that was in use: the punch also drops what the fs wrote */
	CHECK_OK(udax_mkfs(path, 0, NULL));
	CHECK_EQ(read_super(path, 0).zero_start, sb.data_start);
	check_data_area_zero(path, &sb);
	CHECK_OK(unlink(path));
	return 0;
}

/* Runs mkfs_over_data on a private mount; the mount helper skips when not root. */
static void mkfs_over_data_mounted(const char *fstype, const char *opts, long hugepages)
{
	int ret = run_with_mount(fstype, opts, hugepages, mkfs_over_data);

	if (ret == 77)
		fprintf(stderr, "mkfs over old data on %s (%s): skipped\n", fstype, opts);
	else
		CHECK_EQ(ret, 0);
}

static void test_mkfs_over_data(void)
{
	char dir[256];

	mkfs_over_data(test_tmpdir());
	/* /dev/shm: tmpfs with 4 KiB pages */
	snprintf(dir, sizeof(dir), "/dev/shm/udax-zero.%d", (int)getpid());
	if (mkdir(dir, 0700) == 0) {
		mkfs_over_data(dir);
		rmdir(dir);
	}
	mkfs_over_data_mounted("tmpfs", "huge=always,size=64m", 0);
	mkfs_over_data_mounted("hugetlbfs", "pagesize=2M", POOL_SIZE / (2 * MIB) + 2);
}

/* In this process, fallocate(2) fails with EOPNOTSUPP from now on. */
static void refuse_fallocate(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_fallocate, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EOPNOTSUPP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

	CHECK_OK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	CHECK_OK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog));
}

/*
 * A backing that refuses the punch: mkfs goes without the mark (nblocks) and
 * leaves the old data in place, and allocations zero it.
 */
static void test_punch_refused(void)
{
	char path[512];
	pid_t pid;
	int status;

	snprintf(path, sizeof(path), "%s/nopunch.pool", test_tmpdir());
	old_pool(path, POOL_SIZE, 0x3c);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct udaxfs_super sb;

		refuse_fallocate();
		CHECK_OK(udax_mkfs(path, 0, NULL));
		sb = read_super(path, 0);
		CHECK_EQ(sb.zero_start, sb.nblocks);
		check_files_read_zero(path);
		_exit(0); /* the parent owns the temporary directory */
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A version 1 pool (no zero mark) is refused as another format version. */
static long minor_faults(void)
{
	struct rusage ru;

	CHECK_OK(getrusage(RUSAGE_SELF, &ru));
	return ru.ru_minflt;
}

/*
 * A 2 MiB file written, deleted, then another: where the second one lands,
 * and how many page faults writing it took.
 */
static void write_twice(unsigned flags, uint64_t *first, uint64_t *second, long *faults)
{
	const char *pool = fstest_pool("populate.pool", POOL_SIZE);
	static uint8_t buf[2 * MIB];
	struct udax_file *f;
	struct udax_fs *fs;
	long before;

	CHECK_OK(udax_mount(pool, flags, &fs));
	memset(buf, 0xa5, sizeof(buf));
	f = open_rw(fs, "/a");
	CHECK_EQ(udax_pwrite(f, buf, sizeof(buf), 0), sizeof(buf));
	*first = media_block(f, 0);
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unlink(fs, "/a"));
	f = open_rw(fs, "/b");
	before = minor_faults();
	CHECK_EQ(udax_pwrite(f, "e", 1, 2 * MIB - 1), 1); /* 2 MiB long: a whole group */
	CHECK_EQ(udax_pwrite(f, "b", 1, 0), 1);
	*faults = minor_faults() - before;
	*second = media_block(f, 0);
	/* wherever it landed, nothing of /a shows */
	check_range(f, 0, 2 * MIB - 1, 0, "b", 1);
	check_range(f, 2 * MIB - 1, 2 * MIB, 2 * MIB - 1, "e", 1);
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));
	fstest_fsck_clean(pool);
}

/* A pool bigger than its tmpfs: populating fails cleanly and leaves the pool mountable. */
static int populate_too_big(const char *dir)
{
	struct udax_fs *fs;
	char path[512];
	int ret;

	snprintf(path, sizeof(path), "%s/big.pool", dir);
	CHECK_OK(udax_mkfs(path, 4 * POOL_SIZE, NULL)); /* sparse: tmpfs reserves nothing */
	ret = udax_mount(path, UDAX_MOUNT_POPULATE, &fs);
	CHECK(ret == -ENOMEM || ret == -EFAULT);
	CHECK(strstr(test_errormsg(), "populate"));
	CHECK_OK(udax_mount(path, 0, &fs)); /* the failed mount let go of the pool */
	CHECK_OK(udax_unmount(fs));
	fstest_fsck_clean(path);
	return 0;
}

/* UDAX_MOUNT_POPULATE: no fault on udax's own accesses, and zero groups first. */
static void test_populate(void)
{
	uint64_t first, second;
	struct udax_fs *fs;
	long faults;
	int ret;

	CHECK_ERR(udax_mount(fstest_pool("flags.pool", POOL_SIZE), 0x4, &fs), EINVAL);
	/* without it: the freed group is reused (lowest first), its pages fault in */
	write_twice(0, &first, &second, &faults);
	CHECK_EQ(second, first);
	/* with it: a group from the zero mark on, and no page fault on the pool */
	write_twice(UDAX_MOUNT_POPULATE, &first, &second, &faults);
	CHECK(second != first);
	CHECK(second >= first + UDAXFS_PMD_BLOCKS);
	/* (a few come from the process's own heap; a 4 KiB backing would need 512) */
	CHECK(faults < (long)UDAXFS_PMD_BLOCKS / 16);
	ret = run_with_mount("tmpfs", "size=32m", 0, populate_too_big);
	if (ret == 77)
		fprintf(stderr, "populate of a pool bigger than its tmpfs: skipped\n");
	else
		CHECK_EQ(ret, 0);
}

/* Bytes of shmem this process maps with PMDs (/proc/self/smaps_rollup). */
static long shmem_pmd_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	CHECK(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "ShmemPmdMapped: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Can this kernel move a tmpfs file's pages into 2 MiB pages (pmem_collapse)? */
static bool kernel_collapses_tmpfs(const char *path)
{
	struct pmem *pm;
	void *p;
	bool ok;

	CHECK_OK(pmem_open(path, PMEM_O_CREATE, 2 * MIB, &pm));
	CHECK_OK(unlink(path));
	CHECK_OK(pmem_map(pm, 0, 2 * MIB, PROT_READ | PROT_WRITE, &p));
	memset(p, 1, 2 * MIB);
	ok = !pmem_collapse(pm, p, 2 * MIB);
	CHECK_OK(pmem_unmap(p, 2 * MIB));
	pmem_close(pm);
	return ok;
}

/*
 * UDAX_MOUNT_POPULATE on a tmpfs pool of 4 KiB pages also puts the pool into
 * 2 MiB pages mapped by PMDs, as a DAX device maps pmem, keeping its contents.
 */
static char collapse_pool[64];

static void remove_collapse_pool(void)
{
	unlink(collapse_pool);
}

static void test_populate_collapses(void)
{
	const char *pool = collapse_pool;
	struct udax_file *f;
	struct udax_fs *fs;
	long before;
	char buf[5];

	if (access("/dev/shm", W_OK)) {
		fprintf(stderr, "populate into 2 MiB pages: skipped: no writable /dev/shm\n");
		return;
	}
	snprintf(collapse_pool, sizeof(collapse_pool), "/dev/shm/udax-test-collapse-%d.pool",
		 (int)getpid());
	if (!kernel_collapses_tmpfs(collapse_pool)) {
		fprintf(stderr, "populate into 2 MiB pages: skipped: the kernel refuses "
				"MADV_COLLAPSE on tmpfs\n");
		return;
	}
	atexit(remove_collapse_pool); /* also when a check fails */
	CHECK_OK(udax_mkfs(pool, POOL_SIZE, NULL));
	CHECK_OK(udax_mount(pool, 0, &fs));
	f = open_rw(fs, "/kept");
	CHECK_EQ(udax_pwrite(f, "kept!", 5, 3 * MIB), 5);
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));
	/* without the flag, nothing changes */
	before = shmem_pmd_kib();
	CHECK_OK(udax_mount(pool, 0, &fs));
	CHECK_EQ(shmem_pmd_kib(), before);
	CHECK_OK(udax_unmount(fs));
	/* with it, the 2 MiB-aligned part of the pool (all of its 16 MiB) is PMD-mapped */
	CHECK_OK(udax_mount(pool, UDAX_MOUNT_POPULATE, &fs));
	CHECK_EQ(shmem_pmd_kib() - before, (long)(POOL_SIZE / 1024));
	f = open_rw(fs, "/kept");
	CHECK_EQ(udax_pread(f, buf, 5, 3 * MIB), 5);
	CHECK(!memcmp(buf, "kept!", 5));
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));
	fstest_fsck_clean(pool);
}

/*
 * On a persistent file backing, mkfs --size reserves the pool's blocks, and
 * the punch that makes the data area read as zero must not give them back: a
 * store into a hole of the pool file could then meet a full host file system.
 */
static void test_mkfs_keeps_space(void)
{
	char path[512];
	struct pmem *pm;
	struct stat st;
	bool volatile_media;

	snprintf(path, sizeof(path), "%s/reserved.pool", test_tmpdir());
	CHECK_OK(udax_mkfs(path, POOL_SIZE, NULL));
	CHECK_OK(pmem_open(path, 0, 0, &pm));
	volatile_media = pmem_get_info(pm)->is_volatile;
	pmem_close(pm);
	CHECK_OK(stat(path, &st));
	if (volatile_media) {
		printf("mkfs_keeps_space: %s is volatile (no reservation): not checked\n", path);
		return;
	}
	CHECK((uint64_t)st.st_blocks * 512 >= POOL_SIZE);
	CHECK_EQ(read_super(path, 0).zero_start, read_super(path, 0).data_start);
	fstest_fsck_clean(path);
}

static void test_old_version(void)
{
	const char *pool = fstest_pool("v1.pool", POOL_SIZE);
	struct udaxfs_super sb = read_super(pool, 0);
	struct udax_fs *fs;

	sb.version = 1;
	write_supers(pool, &sb);
	CHECK_ERR(udax_mount(pool, 0, &fs), EUCLEAN);
	CHECK(strstr(test_errormsg(), "version"));
}

/*
 * A crash while the log of a raising transaction is copied home can leave the
 * primary superblock torn. The backup got the new mark before the commit
 * point, and the replay repairs the primary: fsck of the crashed pool (which
 * replays before it judges the superblocks) and mount both find it whole.
 */
static void test_torn_primary(void)
{
	const char *pool = fstest_pool("torn.pool", POOL_SIZE);
	struct udax_fs *fs = fstest_mount(pool);
	struct udax_file *f = open_rw(fs, "/big");
	struct udaxfs_super before = read_super(pool, 0), after, torn;
	uint8_t *img = malloc(POOL_SIZE);

	CHECK(img);
	CHECK_EQ(udax_pwrite(f, "x", 1, 5 * MIB), 1); /* a 2 MiB group from the mark */
	after = read_super(pool, 0);
	CHECK(after.zero_start > before.zero_start);
	CHECK_EQ(read_super(pool, 1).zero_start, after.zero_start);
	pool_rw(pool, false, 0, img, POOL_SIZE); /* the crash: the last log is still live */
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));
	torn = after;
	torn.crc = before.crc; /* the new mark reached the media, the new crc did not */
	memcpy(img, &torn, sizeof(torn));
	pool_rw(pool, true, 0, img, POOL_SIZE);
	CHECK_EQ(fsck_count(pool, 0), 0);
	CHECK_EQ(read_super(pool, 0).crc, after.crc);
	CHECK_EQ(read_super(pool, 0).zero_start, after.zero_start);
	/* the same crash, found by mount instead */
	pool_rw(pool, true, 0, img, POOL_SIZE);
	free(img);
	fs = fstest_mount(pool);
	CHECK_EQ(read_super(pool, 0).zero_start, after.zero_start);
	f = open_rw(fs, "/big");
	check_zero_but(f, 5 * MIB + 1, 5 * MIB, "x", 1);
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_unmount(fs));
	fstest_fsck_clean(pool);
}

int main(void)
{
	test_watchdog(120);
	test_mark_advances();
	test_reuse_zeroes();
	test_corrupt_mark();
	test_mkfs_over_data();
	test_punch_refused();
	test_old_version();
	test_populate();
	test_populate_collapses();
	test_mkfs_keeps_space();
	test_torn_primary();
	return 0;
}
