// SPDX-License-Identifier: MIT
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"
#include "pmem_testutil.h"

void check_info(const char *file, int line, const struct pmem *pm, struct expect_info e)
{
	const struct pmem_info *in = pmem_get_info(pm);

	if (in->kind != e.kind || in->pmd_capable != e.pmd_capable ||
	    in->pud_capable != e.pud_capable || in->is_volatile != e.is_volatile ||
	    in->granularity != e.granularity || in->method != e.method || in->insn != e.insn)
		test_fail(file, line,
			  "%s: got kind %s pmd %d pud %d volatile %d gran %s method %s insn %s, "
			  "expected %s %d %d %d %s %s %s (reason: %s)",
			  pmem_path(pm), pmem_kind_name(in->kind), in->pmd_capable, in->pud_capable,
			  in->is_volatile, pmem_granularity_name(in->granularity),
			  pmem_method_name(in->method), pmem_insn_name(in->insn),
			  pmem_kind_name(e.kind), e.pmd_capable, e.pud_capable, e.is_volatile,
			  pmem_granularity_name(e.granularity), pmem_method_name(e.method),
			  pmem_insn_name(e.insn), in->reason);
	if (!in->reason[0] || strchr(in->reason, '\n'))
		test_fail(file, line, "%s: reason must be one non-empty line: \"%s\"",
			  pmem_path(pm), in->reason);
}

enum pmem_flush_insn cpu_flush_insn(void)
{
	enum pmem_flush_insn best = PMEM_INSN_NONE;
	char line[8192];
	FILE *f = fopen("/proc/cpuinfo", "r");

	CHECK(f);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		if (strstr(line, " clwb"))
			best = PMEM_INSN_CLWB;
		else if (strstr(line, " clflushopt"))
			best = PMEM_INSN_CLFLUSHOPT;
		else if (strstr(line, " clflush"))
			best = PMEM_INSN_CLFLUSH;
		break;
	}
	fclose(f);
	return best;
}

long smaps_kb(const void *addr, const char *field)
{
	char line[512], want[80];
	unsigned long start, end;
	bool in_vma = false;
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	CHECK(f);
	snprintf(want, sizeof(want), "%s: %%ld kB", field);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in_vma = start == (unsigned long)addr;
			continue;
		}
		if (in_vma && sscanf(line, want, &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

bool tmpdir_on_block_fs(const char *what)
{
	struct statfs sfs;

	CHECK_OK(statfs(test_tmpdir(), &sfs));
	if (sfs.f_type == EXT4_SUPER_MAGIC || sfs.f_type == XFS_SUPER_MAGIC ||
	    sfs.f_type == BTRFS_SUPER_MAGIC)
		return true;
	printf("note: %s is not on ext4/xfs/btrfs (f_type 0x%lx); %s not run\n", test_tmpdir(),
	       (long)sfs.f_type, what);
	return false;
}

const char *tmp_path(const char *name)
{
	static char path[32][512];
	static int next;
	char *p = path[next++ % 32];

	snprintf(p, sizeof(path[0]), "%s/%s", test_tmpdir(), name);
	return p;
}

#define CHILD_DEADLINE_MS 60000

/* What the parent must undo, prepared in advance so the signal handler only makes syscalls. */
static struct {
	pid_t owner, child;
	char dir[64];
	bool mounted;
	char old_nr[32];
	size_t old_nr_len;
} guard;

static void write_nr_hugepages(const char *val, size_t len)
{
	int fd = open("/proc/sys/vm/nr_hugepages", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, val, len) < 0) {
			/* nothing more can be done from a cleanup path */
		}
		close(fd);
	}
}

static void undo_setup(void)
{
	if (getpid() != guard.owner)
		return;
	if (guard.mounted && umount2(guard.dir, MNT_DETACH) == 0)
		guard.mounted = false;
	if (guard.dir[0] && !guard.mounted && rmdir(guard.dir) == 0)
		guard.dir[0] = '\0';
	if (guard.old_nr_len) {
		write_nr_hugepages(guard.old_nr, guard.old_nr_len);
		guard.old_nr_len = 0;
	}
}

static void undo_on_signal(int sig)
{
	if (guard.child > 0) {
		kill(guard.child, SIGKILL);
		waitpid(guard.child, NULL, 0);
	}
	undo_setup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static long read_nr_hugepages(void)
{
	long n = -1;
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "r");

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

static void reserve_hugepages(long extra)
{
	char val[32];
	long old = read_nr_hugepages(), now;

	if (old < 0)
		test_skip("cannot read /proc/sys/vm/nr_hugepages");
	guard.old_nr_len = (size_t)snprintf(guard.old_nr, sizeof(guard.old_nr), "%ld\n", old);
	write_nr_hugepages(val, (size_t)snprintf(val, sizeof(val), "%ld\n", old + extra));
	now = read_nr_hugepages();
	if (now < old + extra)
		test_skip("could reserve only %ld of %ld extra 2 MiB huge pages", now - old, extra);
}

/* The parent keeps its own deadline (no alarm of its own) so that it always gets to undo. */
static void wait_child(pid_t pid, int *status)
{
	struct timespec tick = {0, 10000000};

	alarm(0);
	for (long ms = 0; waitpid(pid, status, WNOHANG) == 0; ms += 10) {
		if (ms > CHILD_DEADLINE_MS) {
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			undo_setup();
			test_fail(__FILE__, __LINE__, "test body still running after %d ms",
				  CHILD_DEADLINE_MS);
		}
		nanosleep(&tick, NULL);
	}
}

int run_with_mount(const char *fstype, const char *opts, long hugepages,
		   int (*body)(const char *dir))
{
	int status;
	pid_t pid;

	if (geteuid() != 0)
		test_skip("mounting %s needs root", fstype);
	guard.owner = getpid();
	atexit(undo_setup);
	signal(SIGTERM, undo_on_signal);
	signal(SIGINT, undo_on_signal);
	signal(SIGHUP, undo_on_signal);
	if (hugepages)
		reserve_hugepages(hugepages);
	snprintf(guard.dir, sizeof(guard.dir), "/tmp/udax-mnt.XXXXXX");
	if (!mkdtemp(guard.dir)) {
		guard.dir[0] = '\0';
		test_skip("mkdtemp: %s", strerror(errno));
	}
	if (mount(fstype, guard.dir, fstype, 0, opts))
		test_skip("mount -t %s -o %s: %s", fstype, opts, strerror(errno));
	guard.mounted = true;
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		exit(body(guard.dir));
	guard.child = pid;
	wait_child(pid, &status);
	undo_setup();
	CHECK(!guard.mounted);
	if (WIFSIGNALED(status))
		test_fail(__FILE__, __LINE__, "test body killed by signal %d", WTERMSIG(status));
	return WEXITSTATUS(status);
}
