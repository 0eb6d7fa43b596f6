/* SPDX-License-Identifier: MIT */
/* Helpers shared by the pmem tests: expected classifications, smaps, private mounts. */
#ifndef UDAX_PMEM_TESTUTIL_H
#define UDAX_PMEM_TESTUTIL_H

#include <stdbool.h>

#include "pmem/pmem.h"

struct expect_info {
	enum pmem_kind kind;
	bool pmd_capable, pud_capable, is_volatile;
	enum pmem_granularity granularity;
	enum pmem_method method;
	enum pmem_flush_insn insn;
};

/* Every field of @pm's classification must match; the reason must be one non-empty line. */
#define CHECK_INFO(pm, ...) check_info(__FILE__, __LINE__, pm, (struct expect_info){__VA_ARGS__})
void check_info(const char *file, int line, const struct pmem *pm, struct expect_info e);

/* The flush instruction this CPU offers (clwb > clflushopt > clflush), from /proc/cpuinfo. */
enum pmem_flush_insn cpu_flush_insn(void);

/* A smaps field ("ShmemPmdMapped", "KernelPageSize", ...) of the VMA starting at @addr, in kB. */
long smaps_kb(const void *addr, const char *field);

/* Path of @name in the test's temporary directory (valid for the next 31 calls). */
const char *tmp_path(const char *name);

/*
 * True if the test's temporary directory is on ext4, XFS or btrfs, where its
 * files are page-cache files; otherwise (TMPDIR on a tmpfs, say) prints that
 * @what is not run and why.
 */
bool tmpdir_on_block_fs(const char *what);

/*
 * Run @body(dir) in a child process with @fstype mounted (@opts) on a fresh
 * directory; the parent unmounts and removes the directory however the child
 * ends (exit, crash, watchdog, or killed by the parent after 60 s) and on
 * SIGTERM/SIGINT/SIGHUP. With @hugepages > 0 the
 * parent first raises /proc/sys/vm/nr_hugepages by that many and restores the
 * old value afterwards. Skips (exit 77) when not root or when setup fails.
 * Returns only in the parent, with the child's exit status.
 */
int run_with_mount(const char *fstype, const char *opts, long hugepages,
		   int (*body)(const char *dir));

#endif
