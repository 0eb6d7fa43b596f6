// SPDX-License-Identifier: MIT
/*
 * Layout changes seen through live mappings of a real udaxfs file:
 *  - after a truncate down (and the blocks going to another file), the old
 *    mapping never shows the freed blocks: past EOF it is SIGBUS, and after
 *    the file grows again it reads the new hole as zeros;
 *  - after a punch, the punched range reads as zeros through the mapping;
 *  - a udax_pwrite into a hole that a mapping shows as the zero window is
 *    visible through that mapping (xfstests' t_mmap_stale_pmd, udaxfs side).
 * Single-threaded: concurrent faults during a layout change are the
 * durability issue's layout-breaking work.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "udax.h"
#include "testlib.h"

#define MiB (1ull << 20)

static sigjmp_buf env;
static volatile sig_atomic_t sigbus_seen;

static void on_sigbus(int sig)
{
	(void)sig;
	sigbus_seen = 1;
	siglongjmp(env, 1);
}

/* Reads one byte through a mapping; -1 if the read raised SIGBUS. */
static int read_byte(const volatile char *p)
{
	sigbus_seen = 0;
	if (sigsetjmp(env, 1))
		return -1;
	return (unsigned char)*p;
}

static struct udax_file *create(struct udax_fs *fs, const char *name, int c, size_t len)
{
	char *buf = malloc(len);
	struct udax_file *f;

	CHECK(buf);
	memset(buf, c, len);
	CHECK_OK(udax_open(fs, name, O_CREAT | O_RDWR, 0644, &f));
	CHECK_EQ(udax_pwrite(f, buf, len, 0), (long long)len);
	free(buf);
	return f;
}

static void truncate_then_reuse(struct udax_fs *fs)
{
	struct udax_file *f = create(fs, "/t", 'A', 4 * MiB), *g;
	char *p;
	void *out;

	CHECK_OK(udax_mmap(f, NULL, 4 * MiB, PROT_READ, MAP_SHARED, 0, &out));
	p = out;
	CHECK_EQ(read_byte(p), 'A');
	CHECK_EQ(read_byte(p + 3 * MiB), 'A');
	CHECK_OK(udax_ftruncate(f, 0));
	g = create(fs, "/u", 'B', 4 * MiB); /* may take the freed blocks */
	CHECK_EQ(read_byte(p), -1);	    /* past EOF */
	CHECK_OK(udax_ftruncate(f, 4 * MiB));
	CHECK_EQ(read_byte(p), 0); /* a hole again, not 'A' nor 'B' */
	CHECK_EQ(read_byte(p + 3 * MiB), 0);
	CHECK_OK(udax_munmap(out, 4 * MiB));
	CHECK_OK(udax_close(g));
	CHECK_OK(udax_close(f));
}

static void punch(struct udax_fs *fs)
{
	struct udax_file *f = create(fs, "/p", 'C', 4 * MiB);
	char *p;
	void *out;

	CHECK_OK(udax_mmap(f, NULL, 4 * MiB, PROT_READ, MAP_SHARED, 0, &out));
	p = out;
	CHECK_EQ(read_byte(p + 2 * MiB), 'C');
	CHECK_OK(udax_fallocate(f, 0x3 /* PUNCH_HOLE | KEEP_SIZE */, 2 * MiB, 1 * MiB));
	CHECK_EQ(read_byte(p + 2 * MiB), 0);
	CHECK_EQ(read_byte(p + 3 * MiB - 1), 0);
	CHECK_EQ(read_byte(p + 3 * MiB), 'C');
	CHECK_OK(udax_munmap(out, 4 * MiB));
	CHECK_OK(udax_close(f));
}

static void write_into_mapped_hole(struct udax_fs *fs)
{
	struct udax_file *f;
	char *p;
	void *out;

	CHECK_OK(udax_open(fs, "/h", O_CREAT | O_RDWR, 0644, &f));
	CHECK_OK(udax_ftruncate(f, 4 * MiB));
	CHECK_OK(udax_mmap(f, NULL, 4 * MiB, PROT_READ, MAP_SHARED, 0, &out));
	p = out;
	CHECK_EQ(read_byte(p + 2 * MiB + 5), 0); /* the zero window */
	CHECK_EQ(read_byte(p + 5), 0);
	CHECK_EQ(udax_pwrite(f, "x", 1, 2 * MiB + 5), 1);
	CHECK_EQ(udax_pwrite(f, "y", 1, 5), 1);
	CHECK_EQ(read_byte(p + 2 * MiB + 5), 'x');
	CHECK_EQ(read_byte(p + 5), 'y');
	CHECK_OK(udax_munmap(out, 4 * MiB));
	CHECK_OK(udax_close(f));
}

int main(void)
{
	char path[256];
	struct udax_fs *fs;

	test_watchdog(30);
	signal(SIGBUS, on_sigbus);
	snprintf(path, sizeof(path), "%s/pool", test_tmpdir());
	CHECK_OK(udax_mkfs(path, 64 * MiB, NULL));
	CHECK_OK(udax_mount(path, 0, &fs));
	truncate_then_reuse(fs);
	punch(fs);
	write_into_mapped_hole(fs);
	CHECK_OK(udax_unmount(fs));
	return 0;
}
