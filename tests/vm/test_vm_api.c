// SPDX-License-Identifier: MIT
/*
 * The public mapping calls over a real udaxfs pool: data written with
 * udax_pwrite is seen through a mapping and stores through a shared mapping
 * are seen by udax_pread; holes read as zeros; access past EOF is SIGBUS;
 * udax_pwrite/udax_pread whose buffer is itself a udax mapping (of the same
 * file or another) give correct data without deadlock; counters and PMD
 * coverage come through the API; argument and access-mode errors.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "udax.h"
#include "testlib.h"

#define MiB (1ull << 20)
#define PG  4096ull

static sigjmp_buf env;
static siginfo_t caught;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	caught = *si;
	siglongjmp(env, 1);
}

static void pattern(char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)(i * 7 + seed);
}

static char path[128];

/* at exit, also after a failed check: the pool is 128 MiB of /dev/shm */
static void remove_pool(void)
{
	unlink(path);
}

int main(void)
{
	struct sigaction act = {.sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO};
	char *buf = malloc(8 * MiB), *chk = malloc(8 * MiB), *p;
	char *volatile q; /* changed between sigsetjmp and the jump */
	struct udax_fault_stats st;
	struct udax_pmd_coverage cov;
	struct udax_file *f, *g, *ro;
	struct udax_fs *fs;
	void *out;

	test_watchdog(30);
	snprintf(path, sizeof(path), "/dev/shm/udax-vm-api.%d", getpid());
	atexit(remove_pool);
	CHECK_OK(udax_mkfs(path, 128 * MiB, NULL));
	CHECK_OK(udax_mount(path, 0, &fs));
	CHECK_OK(udax_open(fs, "/a", O_CREAT | O_RDWR, 0644, &f));
	CHECK_OK(udax_open(fs, "/b", O_CREAT | O_RDWR, 0644, &g));
	pattern(buf, 4 * MiB, 1);
	CHECK_EQ(udax_pwrite(f, buf, 4 * MiB, 0), 4 * MiB);
	CHECK_OK(udax_ftruncate(f, 8 * MiB)); /* [4M, 8M) is a hole */

	CHECK_OK(udax_mmap(f, NULL, 8 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &out));
	p = out;
	CHECK_EQ((uintptr_t)p % (2 * MiB), 0);
	CHECK(!memcmp(p, buf, 4 * MiB));
	/* the hole shows zeros; udax_pwrite fills [6M, 7M) below, and the mapping
	 * must then show the data, not the zero window */
	for (uint64_t off = 4 * MiB; off < 8 * MiB; off += PG)
		CHECK_EQ(p[off], 0);
	CHECK_OK(udax_fault_stats(p, &st));
	CHECK(st.faults[1] >= 1);
	CHECK_EQ(st.sigbus[0] + st.sigbus[1], 0);
	/* Stores through the mapping reach the file, also into the hole. */
	p[10] = 'x';
	p[5 * MiB + 3] = 'y';
	CHECK_EQ(udax_pread(f, chk, 1, 10), 1);
	CHECK_EQ(chk[0], 'x');
	CHECK_EQ(udax_pread(f, chk, 1, 5 * MiB + 3), 1);
	CHECK_EQ(chk[0], 'y');
	CHECK_OK(udax_fault_stats(p, &st));
	CHECK(st.alloc[0] + st.alloc[1] >= 1);
	CHECK_OK(udax_pmd_coverage(p, 8 * MiB, &cov));
	CHECK(cov.pmd_mapped <= cov.mapped);

	/* Buffers that are udax mappings: of another file, then of the same file. */
	CHECK_EQ(udax_pwrite(g, p, 4 * MiB, 0), 4 * MiB);
	CHECK_EQ(udax_pread(g, chk, 4 * MiB, 0), 4 * MiB);
	buf[10] = 'x';
	CHECK(!memcmp(chk, buf, 4 * MiB));
	CHECK_EQ(udax_pwrite(f, p, 1 * MiB, 6 * MiB), 1 * MiB);
	CHECK(!memcmp(p + 6 * MiB, buf, 1 * MiB));
	CHECK_OK(udax_mmap(g, NULL, 4 * MiB, PROT_READ, MAP_PRIVATE, 0, &out));
	q = out;

	/* Past EOF: SIGBUS, BUS_ADRERR, the faulting address. */
	sigemptyset(&act.sa_mask);
	CHECK_OK(sigaction(SIGBUS, &act, NULL));
	if (!sigsetjmp(env, 1)) {
		(void)*(volatile char *)(q + 4 * MiB - 1);
		CHECK_OK(udax_munmap(q, 4 * MiB));
		CHECK_OK(udax_mmap(g, NULL, 8 * MiB, PROT_READ, MAP_SHARED, 0, &out));
		q = out;
		(void)*(volatile char *)(q + 4 * MiB + 100);
		CHECK(!"no SIGBUS");
	}
	CHECK_EQ(caught.si_code, BUS_ADRERR);
	CHECK(caught.si_addr == q + 4 * MiB + 100);

	/* Errors. */
	CHECK_OK(udax_open(fs, "/a", O_RDONLY, 0, &ro));
	CHECK_ERR(udax_mmap(ro, NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &out), EACCES);
	CHECK_OK(udax_mmap(ro, NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0, &out));
	CHECK_OK(udax_munmap(out, PG));
	CHECK_ERR(udax_mmap(f, NULL, PG, PROT_READ, MAP_SHARED_VALIDATE | MAP_SYNC, 0, &out),
		  EOPNOTSUPP);
	CHECK_ERR(udax_mmap(f, NULL, PG, PROT_READ, MAP_SHARED, -4096, &out), EINVAL);
	CHECK_ERR(udax_munmap(buf, PG), EINVAL);

	CHECK_OK(udax_munmap(p, 8 * MiB));
	CHECK_OK(udax_munmap(q, 8 * MiB));
	CHECK_OK(udax_close(ro));
	CHECK_OK(udax_close(f));
	CHECK_OK(udax_close(g));
	CHECK_OK(udax_unmount(fs));
	free(buf);
	free(chk);
	printf("ok\n");
	return 0;
}
