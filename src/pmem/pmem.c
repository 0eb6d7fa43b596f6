// SPDX-License-Identifier: MIT
/* Opening a backing: argument checks, creation, classification, forced flush mode. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "pmem/pmem_internal.h"

#define PMEM_O_ALL (PMEM_O_CREATE | PMEM_O_RDONLY | PMEM_O_FORCE_FLUSH)

static int check_flags(const char *what, int flags)
{
	if (flags & ~PMEM_O_ALL)
		return udax_err(EINVAL, "%s: unknown flags 0x%x", what, flags & ~PMEM_O_ALL);
	if ((flags & PMEM_O_CREATE) && (flags & PMEM_O_RDONLY))
		return udax_err(EINVAL, "%s: PMEM_O_CREATE and PMEM_O_RDONLY exclude each other",
				what);
	return 0;
}

/* Only regular files and device-DAX character devices are media. */
static int check_file_type(const char *path, const struct stat *st)
{
	if (S_ISREG(st->st_mode) || S_ISCHR(st->st_mode))
		return 0;
	if (S_ISDIR(st->st_mode))
		return udax_err(EISDIR, "%s: is a directory, not a media backing", path);
	if (S_ISBLK(st->st_mode))
		return udax_err(ENODEV,
				"%s: block devices are mapped through the page cache; use a "
				"device-DAX (/dev/daxX.Y) or a file",
				path);
	return udax_err(ENODEV, "%s: unsupported file type (fifo, socket or other special file)",
			path);
}

static bool force_flush_requested(int flags)
{
	const char *env = getenv("UDAX_FORCE_FLUSH");

	return (flags & PMEM_O_FORCE_FLUSH) || (env && strcmp(env, "1") == 0);
}

/* Choose the flush instruction and the method actually used by pmem_persist(). */
static void finish_persistence(struct pmem *pm)
{
	struct pmem_info *in = &pm->info;
	size_t n = strlen(in->reason);

	if (force_flush_requested(pm->flags)) {
		in->method = PMEM_METHOD_FLUSH;
		in->granularity = PMEM_GRAN_CACHE_LINE;
		snprintf(in->reason + n, sizeof(in->reason) - n, "; cache-line flush forced");
	}
	in->insn = in->method == PMEM_METHOD_FLUSH ? pmem_detect_flush_insn() : PMEM_INSN_NONE;
}

/* Grow a regular file to @size; blocks are allocated on persistent kinds so ENOSPC shows now. */
static int extend_file(struct pmem *pm, uint64_t size)
{
	struct pmem_info *in = &pm->info;

	if (in->kind == PMEM_KIND_DEVDAX) {
		if (size > in->size)
			return udax_err(
				EINVAL, "%s: cannot grow a device-DAX to %llu bytes (it has %llu)",
				pm->path, (unsigned long long)size, (unsigned long long)in->size);
		return 0;
	}
	if (size % in->align)
		return udax_err(EINVAL, "%s: size %llu is not a multiple of the page size %llu",
				pm->path, (unsigned long long)size, (unsigned long long)in->align);
	if (size <= in->size)
		return 0;
	if (ftruncate(pm->fd, (off_t)size))
		return udax_err(errno, "%s: cannot extend to %llu bytes: %s", pm->path,
				(unsigned long long)size, strerror(errno));
	/* fallocate(2), not posix_fallocate: no slow emulation where the fs lacks it */
	if (!in->is_volatile && fallocate(pm->fd, 0, (off_t)in->size, (off_t)(size - in->size)) &&
	    errno != EOPNOTSUPP)
		return udax_err(errno, "%s: cannot allocate %llu bytes: %s", pm->path,
				(unsigned long long)size, strerror(errno));
	in->size = size;
	return 0;
}

static int setup(struct pmem *pm, uint64_t create_size)
{
	struct stat st;
	uint64_t bytes;
	int ret;

	if (fstat(pm->fd, &st))
		return udax_err(errno, "%s: fstat: %s", pm->path, strerror(errno));
	ret = check_file_type(pm->path, &st);
	if (!ret)
		ret = pmem_classify(pm, &st);
	if (!ret && (pm->flags & PMEM_O_CREATE))
		ret = extend_file(pm, create_size);
	if (ret)
		return ret;
	/* usable bytes: whole pages of the backing only */
	bytes = pm->info.size;
	pm->info.size -= bytes % pm->info.align;
	if (pm->info.size < pm->info.align)
		return udax_err(EINVAL, "%s: backing too small: %llu bytes, the minimum is %llu",
				pm->path, (unsigned long long)bytes,
				(unsigned long long)pm->info.align);
	finish_persistence(pm);
	return pmem_record_attach(pm, &st);
}

static struct pmem *pmem_alloc(int fd, int flags)
{
	struct pmem *pm = calloc(1, sizeof(*pm));

	if (!pm)
		return NULL;
	pm->fd = fd;
	pm->flags = flags;
	pmem_badblocks_init(&pm->bb);
	pthread_mutex_init(&pm->rw_lock, NULL);
	return pm;
}

/* Takes ownership of @fd. */
static int open_common(int fd, const char *path, int flags, uint64_t create_size, struct pmem **out)
{
	struct pmem *pm = pmem_alloc(fd, flags);
	int ret;

	if (!pm) {
		close(fd);
		return udax_err(ENOMEM, "%s: out of memory", path);
	}
	snprintf(pm->path, sizeof(pm->path), "%s", path);
	ret = setup(pm, create_size);
	if (!ret)
		ret = pmem_pages_init(pm);
	if (ret) {
		pmem_close(pm);
		return ret;
	}
	*out = pm;
	return 0;
}

int pmem_open(const char *path, int flags, uint64_t create_size, struct pmem **out)
{
	int oflags = O_CLOEXEC | O_NONBLOCK | ((flags & PMEM_O_RDONLY) ? O_RDONLY : O_RDWR);
	struct stat st;
	int ret, fd;

	ret = check_flags(path, flags);
	if (ret)
		return ret;
	if ((flags & PMEM_O_CREATE) && create_size == 0)
		return udax_err(EINVAL, "%s: PMEM_O_CREATE needs a size", path);
	/* reject special files before open(): opening a fifo or socket can block or fail oddly */
	if (stat(path, &st) == 0) {
		ret = check_file_type(path, &st);
		if (ret)
			return ret;
	} else if (errno != ENOENT || !(flags & PMEM_O_CREATE)) {
		return udax_err(errno, "%s: %s", path, strerror(errno));
	}
	if (flags & PMEM_O_CREATE)
		oflags |= O_CREAT;
	fd = open(path, oflags, 0600);
	if (fd < 0)
		return udax_err(errno, "%s: cannot open: %s", path, strerror(errno));
	/*
	 * O_NOATIME where the kernel allows it (the file's owner, or CAP_FOWNER):
	 * every window udax maps is an mmap of this file, and each would update
	 * its access time; on a DAX file system that is a journalled inode update
	 * inside the fault path.
	 */
	oflags = (fcntl(fd, F_GETFL) & ~O_NONBLOCK) | O_NOATIME;
	if (fcntl(fd, F_SETFL, oflags) && fcntl(fd, F_SETFL, oflags & ~O_NOATIME)) {
		close(fd);
		return udax_err(errno, "%s: fcntl: %s", path, strerror(errno));
	}
	return open_common(fd, path, flags, create_size, out);
}

int pmem_open_fd(int fd, int flags, struct pmem **out)
{
	char link[64], path[PATH_MAX];
	int ret, fl, dup;
	ssize_t n;

	ret = check_flags("pmem_open_fd", flags);
	if (ret)
		return ret;
	if (flags & PMEM_O_CREATE)
		return udax_err(EINVAL, "pmem_open_fd: PMEM_O_CREATE needs a path");
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return udax_err(errno, "pmem_open_fd: fd %d: %s", fd, strerror(errno));
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		n = snprintf(path, sizeof(path), "fd %d", fd);
	path[n] = '\0';
	if ((fl & O_ACCMODE) != O_RDWR && !(flags & PMEM_O_RDONLY))
		return udax_err(EACCES, "%s: descriptor is not open read-write; pass PMEM_O_RDONLY",
				path);
	dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup < 0)
		return udax_err(errno, "%s: dup: %s", path, strerror(errno));
	return open_common(dup, path, flags, 0, out);
}

void pmem_close(struct pmem *pm)
{
	if (!pm)
		return;
	if (pm->rw_base)
		munmap(pm->rw_base, pm->rw_len);
	if (pm->rec)
		pmem_record_detach(pm);
	pmem_pages_destroy(pm);
	close(pm->fd);
	pthread_mutex_destroy(&pm->rw_lock);
	pmem_badblocks_destroy(&pm->bb);
	free(pm);
}

const struct pmem_info *pmem_get_info(const struct pmem *pm)
{
	return &pm->info;
}

const char *pmem_path(const struct pmem *pm)
{
	return pm->path;
}

int pmem_fd(const struct pmem *pm)
{
	return pm->fd;
}

const char *pmem_kind_name(enum pmem_kind kind)
{
	static const char *const names[] = {
		[PMEM_KIND_DEVDAX] = "devdax",	       [PMEM_KIND_FSDAX] = "fsdax",
		[PMEM_KIND_PAGECACHE] = "pagecache",   [PMEM_KIND_TMPFS] = "tmpfs",
		[PMEM_KIND_HUGE_TMPFS] = "huge-tmpfs", [PMEM_KIND_HUGETLBFS] = "hugetlbfs",
		[PMEM_KIND_MEMFD] = "memfd",
	};

	return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

const char *pmem_granularity_name(enum pmem_granularity gran)
{
	static const char *const names[] = {
		[PMEM_GRAN_BYTE] = "byte",
		[PMEM_GRAN_CACHE_LINE] = "cache-line",
		[PMEM_GRAN_PAGE] = "page",
	};

	return (unsigned)gran < sizeof(names) / sizeof(names[0]) ? names[gran] : "?";
}

const char *pmem_method_name(enum pmem_method method)
{
	static const char *const names[] = {
		[PMEM_METHOD_NONE] = "none",
		[PMEM_METHOD_FENCE] = "fence",
		[PMEM_METHOD_FLUSH] = "flush",
		[PMEM_METHOD_MSYNC] = "msync",
	};

	return (unsigned)method < sizeof(names) / sizeof(names[0]) ? names[method] : "?";
}

const char *pmem_insn_name(enum pmem_flush_insn insn)
{
	static const char *const names[] = {
		[PMEM_INSN_NONE] = "none",
		[PMEM_INSN_CLFLUSH] = "clflush",
		[PMEM_INSN_CLFLUSHOPT] = "clflushopt",
		[PMEM_INSN_CLWB] = "clwb",
	};

	return (unsigned)insn < sizeof(names) / sizeof(names[0]) ? names[insn] : "?";
}
