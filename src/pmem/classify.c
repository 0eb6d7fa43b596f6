// SPDX-License-Identifier: MIT
/*
 * Backing classification: what kind of media a descriptor refers to, whether
 * the kernel can map it with huge pages, and how stores become persistent.
 */
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/err.h"
#include "pmem/pmem_internal.h"

static int read_sysfs_str(const char *path, char *buf, size_t n)
{
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	got = read(fd, buf, n - 1);
	close(fd);
	if (got < 0)
		return -errno;
	buf[got] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int pmem_read_sysfs_u64(const char *path, uint64_t *val)
{
	char buf[64], *end;
	int ret = read_sysfs_str(path, buf, sizeof(buf));

	if (ret)
		return ret;
	errno = 0;
	*val = strtoull(buf, &end, 0);
	return errno || end == buf ? -EINVAL : 0;
}

/* The bracketed word of /sys/kernel/mm/transparent_hugepage/shmem_enabled. */
static void shmem_enabled_mode(char *mode, size_t n)
{
	char buf[128], *open_b, *close_b;

	mode[0] = '\0';
	if (read_sysfs_str("/sys/kernel/mm/transparent_hugepage/shmem_enabled", buf, sizeof(buf)))
		return;
	open_b = strchr(buf, '[');
	close_b = open_b ? strchr(open_b, ']') : NULL;
	if (close_b && (size_t)(close_b - open_b) <= n) {
		memcpy(mode, open_b + 1, (size_t)(close_b - open_b - 1));
		mode[close_b - open_b - 1] = '\0';
	}
}

/* File system type and super-block options of the mount holding @fd (mountinfo). */
static void mount_of_fd(int fd, char *fstype, size_t tn, char *opts, size_t on)
{
	char path[64], line[4096];
	long mnt_id = -1;
	FILE *f;

	snprintf(fstype, tn, "unknown");
	opts[0] = '\0';
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "mnt_id: %ld", &mnt_id) == 1)
			break;
	fclose(f);
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");
		char type[64], src[256], sopts[512];

		if (!sep || strtol(line, NULL, 10) != mnt_id)
			continue;
		if (sscanf(sep + 3, "%63s %255s %511s", type, src, sopts) == 3) {
			snprintf(fstype, tn, "%s", type);
			snprintf(opts, on, "%s", sopts);
		}
		break;
	}
	fclose(f);
}

static bool has_option(const char *opts, const char *opt)
{
	size_t n = strlen(opt);

	for (const char *p = opts; (p = strstr(p, opt)); p += n)
		if ((p == opts || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

static bool fd_is_memfd(int fd)
{
	char path[64], target[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	return n > 7 && strncmp(target, "/memfd:", 7) == 0;
}

/* MAP_SYNC is accepted only where the file is mapped directly (DAX). */
static bool map_sync_works(int fd, bool rdonly)
{
	int prot = rdonly ? PROT_READ : PROT_READ | PROT_WRITE;
	void *p = mmap(NULL, PMEM_PAGE_SIZE, prot, MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);

	if (p == MAP_FAILED)
		return false;
	munmap(p, PMEM_PAGE_SIZE);
	return true;
}

/*
 * Walk up from sysfs directory @dir to the nd region that holds the
 * persistence_domain attribute; "" if there is none (not an nvdimm region).
 */
static void find_region_dir(const char *dir, char *region, size_t n)
{
	char cur[PATH_MAX], attr[PATH_MAX + 32];

	region[0] = '\0';
	if (!realpath(dir, cur))
		return;
	while (strcmp(cur, "/sys") && strcmp(cur, "/") && cur[0]) {
		snprintf(attr, sizeof(attr), "%s/persistence_domain", cur);
		if (access(attr, R_OK) == 0) {
			snprintf(region, n, "%s", cur);
			return;
		}
		*strrchr(cur, '/') = '\0';
	}
}

/*
 * Real persistent memory: flush + fence, or a fence only when the region says
 * the CPU caches are inside the persistence domain (eADR). Appends the why.
 */
static void set_pmem_persistence(struct pmem *pm, const char *region)
{
	struct pmem_info *in = &pm->info;
	char attr[PATH_MAX + 32], domain[64] = "";
	size_t n = strlen(in->reason);

	if (region[0]) {
		snprintf(attr, sizeof(attr), "%s/persistence_domain", region);
		read_sysfs_str(attr, domain, sizeof(domain));
	}
	in->is_volatile = false;
	if (strcmp(domain, "cpu_cache") == 0) {
		in->granularity = PMEM_GRAN_BYTE;
		in->method = PMEM_METHOD_FENCE;
		snprintf(in->reason + n, sizeof(in->reason) - n,
			 "; persistence_domain cpu_cache (eADR): a fence suffices");
	} else {
		in->granularity = PMEM_GRAN_CACHE_LINE;
		in->method = PMEM_METHOD_FLUSH;
		snprintf(in->reason + n, sizeof(in->reason) - n,
			 "; persistence_domain %s: cache lines must be flushed",
			 domain[0] ? domain : "unknown");
	}
}

/* Where the device starts inside its region: region badblocks are region-relative. */
static int start_in_region(const char *dir, const char *region, uint64_t *start)
{
	char path[PATH_MAX + 16];
	uint64_t dev_res, reg_res;

	snprintf(path, sizeof(path), "%s/resource", dir);
	if (pmem_read_sysfs_u64(path, &dev_res))
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/resource", region);
	if (pmem_read_sysfs_u64(path, &reg_res) || dev_res < reg_res)
		return -ENOENT;
	*start = dev_res - reg_res;
	return 0;
}

static void set_volatile(struct pmem *pm)
{
	pm->info.is_volatile = true;
	pm->info.granularity = PMEM_GRAN_PAGE;
	pm->info.method = PMEM_METHOD_NONE;
}

static bool is_dax_char_dev(const struct stat *st)
{
	char path[96], target[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/subsystem", major(st->st_rdev),
		 minor(st->st_rdev));
	if (!realpath(path, target))
		return false;
	return strcmp(strrchr(target, '/'), "/dax") == 0;
}

/* Device alignment: newer kernels expose it on the device, older on the region. */
static int devdax_align(const char *dir, uint64_t *align)
{
	static const char *const attrs[] = {"align", "device/align", "device/dax_region/align"};
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, attrs[i]);
		if (pmem_read_sysfs_u64(path, align) == 0 && *align)
			return 0;
	}
	return -ENOENT;
}

static int classify_devdax(struct pmem *pm, const struct stat *st)
{
	struct pmem_info *in = &pm->info;
	char dir[64], path[PATH_MAX], region[PATH_MAX];
	uint64_t size, start;

	snprintf(dir, sizeof(dir), "/sys/dev/char/%u:%u", major(st->st_rdev), minor(st->st_rdev));
	snprintf(path, sizeof(path), "%s/size", dir);
	if (pmem_read_sysfs_u64(path, &size))
		return udax_err(ENODEV, "%s: device-DAX without a readable %s", pm->path, path);
	if (devdax_align(dir, &in->align))
		return udax_err(ENODEV, "%s: device-DAX without an align attribute in %s", pm->path,
				dir);
	if (size % in->align)
		return udax_err(EINVAL,
				"%s: device-DAX size %llu is not a multiple of its alignment %llu",
				pm->path, (unsigned long long)size, (unsigned long long)in->align);
	in->kind = PMEM_KIND_DEVDAX;
	in->size = size;
	in->pmd_capable = in->align >= PMEM_PMD_SIZE;
	in->pud_capable = in->align >= PMEM_PUD_SIZE;
	snprintf(in->reason, sizeof(in->reason), "character device on the dax bus, align %llu",
		 (unsigned long long)in->align);
	find_region_dir(dir, region, sizeof(region));
	set_pmem_persistence(pm, region);
	if (!region[0] || start_in_region(dir, region, &start))
		return 0;
	return pmem_badblocks_load_sysfs(pm, region, start);
}

static void classify_fsdax(struct pmem *pm, const struct stat *st, const char *fstype)
{
	struct pmem_info *in = &pm->info;
	char dir[64], region[PATH_MAX];

	snprintf(dir, sizeof(dir), "/sys/dev/block/%u:%u", major(st->st_dev), minor(st->st_dev));
	in->kind = PMEM_KIND_FSDAX;
	in->pmd_capable = true;
	snprintf(in->reason, sizeof(in->reason), "file on %s with DAX (MAP_SYNC accepted)", fstype);
	find_region_dir(dir, region, sizeof(region));
	set_pmem_persistence(pm, region);
}

/* tmpfs and memfd: huge pages by mount option, or the shmem_enabled override. */
static bool shmem_is_huge(const char *opts, bool internal_mount, char *why, size_t n)
{
	static const char *const huge_opts[] = {"huge=always", "huge=within_size", "huge=advise"};
	char mode[32];

	shmem_enabled_mode(mode, sizeof(mode));
	if (!strcmp(mode, "deny") || !strcmp(mode, "force")) {
		snprintf(why, n, "shmem_enabled=%s", mode);
		return strcmp(mode, "force") == 0;
	}
	if (internal_mount) {
		snprintf(why, n, "memfd follows shmem_enabled=%s", mode[0] ? mode : "?");
		return !strcmp(mode, "always") || !strcmp(mode, "within_size") ||
		       !strcmp(mode, "advise");
	}
	for (size_t i = 0; i < sizeof(huge_opts) / sizeof(huge_opts[0]); i++) {
		if (has_option(opts, huge_opts[i])) {
			snprintf(why, n, "mounted %s", huge_opts[i]);
			return true;
		}
	}
	snprintf(why, n, "mounted without huge= and shmem_enabled=%s", mode[0] ? mode : "?");
	return false;
}

/*
 * True where shmem gives a mapping huge pages without MADV_HUGEPAGE: mounted
 * huge=always or shmem_enabled=force (memfd: shmem_enabled=always or force).
 * Elsewhere (within_size, advise) the media layer asks for them per window.
 */
static bool shmem_huge_unasked(const char *opts, bool internal_mount)
{
	char mode[32];

	shmem_enabled_mode(mode, sizeof(mode));
	if (!strcmp(mode, "force"))
		return true;
	if (internal_mount)
		return !strcmp(mode, "always");
	return strcmp(mode, "deny") && has_option(opts, "huge=always");
}

static void classify_shmem(struct pmem *pm, const char *opts, bool memfd)
{
	struct pmem_info *in = &pm->info;
	char why[128];

	in->pmd_capable = shmem_is_huge(opts, memfd, why, sizeof(why));
	pm->huge_advise = in->pmd_capable && !shmem_huge_unasked(opts, memfd);
	in->kind = memfd	     ? PMEM_KIND_MEMFD
		   : in->pmd_capable ? PMEM_KIND_HUGE_TMPFS
				     : PMEM_KIND_TMPFS;
	set_volatile(pm);
	snprintf(in->reason, sizeof(in->reason), "%s, %s (%s pages): volatile, nothing to persist",
		 memfd ? "memfd" : "tmpfs file", why, in->pmd_capable ? "2 MiB" : "4 KiB");
}

static void classify_hugetlbfs(struct pmem *pm, const struct statfs *sfs, bool memfd)
{
	struct pmem_info *in = &pm->info;

	in->kind = memfd ? PMEM_KIND_MEMFD : PMEM_KIND_HUGETLBFS;
	in->align = (uint64_t)sfs->f_bsize;
	in->pmd_capable = in->align >= PMEM_PMD_SIZE;
	in->pud_capable = in->align >= PMEM_PUD_SIZE;
	set_volatile(pm);
	snprintf(in->reason, sizeof(in->reason),
		 "%s on hugetlbfs, %llu KiB pages (statfs f_bsize): volatile, nothing to persist",
		 memfd ? "memfd" : "file", (unsigned long long)in->align >> 10);
}

static void classify_pagecache(struct pmem *pm, const char *fstype)
{
	struct pmem_info *in = &pm->info;

	in->kind = PMEM_KIND_PAGECACHE;
	in->is_volatile = false;
	in->granularity = PMEM_GRAN_PAGE;
	in->method = PMEM_METHOD_MSYNC;
	snprintf(in->reason, sizeof(in->reason),
		 "regular file on %s, no DAX (MAP_SYNC refused): stores reach the media only "
		 "through msync of whole pages",
		 fstype);
}

static int classify_regular(struct pmem *pm, const struct stat *st)
{
	char fstype[64], opts[512];
	bool memfd = fd_is_memfd(pm->fd);
	struct statfs sfs;

	if (fstatfs(pm->fd, &sfs))
		return udax_err(errno, "%s: fstatfs: %s", pm->path, strerror(errno));
	pm->info.size = (uint64_t)st->st_size;
	pm->info.align = PMEM_PAGE_SIZE;
	if (sfs.f_type == HUGETLBFS_MAGIC) {
		classify_hugetlbfs(pm, &sfs, memfd);
		return 0;
	}
	mount_of_fd(pm->fd, fstype, sizeof(fstype), opts, sizeof(opts));
	if (sfs.f_type == TMPFS_MAGIC)
		classify_shmem(pm, opts, memfd);
	else if (map_sync_works(pm->fd, pm->flags & PMEM_O_RDONLY))
		classify_fsdax(pm, st, fstype);
	else
		classify_pagecache(pm, fstype);
	return 0;
}

int pmem_classify(struct pmem *pm, const struct stat *st)
{
	if (S_ISCHR(st->st_mode) && !is_dax_char_dev(st))
		return udax_err(ENODEV, "%s: character device %u:%u is not a device-DAX", pm->path,
				major(st->st_rdev), minor(st->st_rdev));
	if (S_ISCHR(st->st_mode))
		return classify_devdax(pm, st);
	return classify_regular(pm, st);
}
