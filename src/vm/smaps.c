// SPDX-License-Identifier: MIT
/*
 * PMD coverage as the kernel reports it in /proc/self/smaps: for each kernel
 * VMA (one per window, or per run of merged windows) inside the range, Rss is
 * what is mapped, and FilePmdMapped (fs-dax, devdax, page-cache THP),
 * ShmemPmdMapped (huge tmpfs, memfd) and AnonHugePages (private copies) what
 * is mapped by 2 MiB entries; on hugetlbfs (KernelPageSize 2048 kB or more),
 * whose pages smaps counts in Shared_Hugetlb and Private_Hugetlb, not Rss,
 * all of it is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "vm/vm.h"

struct smaps_vma {
	bool inside;
	uint64_t rss, pmd, hugetlb, kernel_page_kb;
};

static void account(const struct smaps_vma *v, struct vm_pmd_coverage *cov)
{
	if (!v->inside)
		return;
	cov->mapped += (v->rss + v->hugetlb) << 10;
	cov->pmd_mapped += (v->kernel_page_kb >= 2048 ? v->rss + v->hugetlb : v->pmd) << 10;
}

static void parse_field(const char *line, struct smaps_vma *v)
{
	static const char *const pmd_fields[] = {
		"FilePmdMapped:", "ShmemPmdMapped:", "AnonHugePages:"};
	unsigned long long kb;
	char name[64];

	if (sscanf(line, "%63s %llu kB", name, &kb) != 2)
		return;
	if (!strcmp(name, "Rss:"))
		v->rss = kb;
	else if (!strcmp(name, "KernelPageSize:"))
		v->kernel_page_kb = kb;
	else if (!strcmp(name, "Shared_Hugetlb:") || !strcmp(name, "Private_Hugetlb:"))
		v->hugetlb += kb;
	for (size_t i = 0; i < sizeof(pmd_fields) / sizeof(pmd_fields[0]); i++)
		if (!strcmp(name, pmd_fields[i]))
			v->pmd += kb;
}

int vm_pmd_coverage(const void *addr, size_t len, struct vm_pmd_coverage *cov)
{
	uintptr_t lo = (uintptr_t)addr, hi = lo + len;
	struct smaps_vma v = {0};
	unsigned long long start, end;
	FILE *f = fopen("/proc/self/smaps", "re");
	char *line = NULL;
	size_t cap = 0;

	if (!f)
		return udax_err(errno, "/proc/self/smaps: %m");
	memset(cov, 0, sizeof(*cov));
	while (getline(&line, &cap, f) > 0) {
		if (sscanf(line, "%llx-%llx ", &start, &end) == 2 && strchr(line, '-') &&
		    line[strspn(line, "0123456789abcdef")] == '-') {
			account(&v, cov);
			v = (struct smaps_vma){.inside = start >= lo && end <= hi};
		} else {
			parse_field(line, &v);
		}
	}
	account(&v, cov);
	free(line);
	fclose(f);
	return 0;
}
