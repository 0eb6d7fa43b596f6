// SPDX-License-Identifier: MIT
/*
 * The public file API (udax.h): handles, argument checks, the per-file I/O
 * lock around the DAX core's read/write path, and position bookkeeping.
 * Everything about the file system itself is udaxfs's (src/fs/udaxfs.h).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "dax/index.h"
#include "dax/rw.h"
#include "fs/api/api_internal.h"
#include "fs/udaxfs.h"

#define PAGE	  4096ull
#define LAST_PAGE (DAX_INDEX_LIMIT - 1)

int udax_mkfs(const char *path, uint64_t size, const struct udax_mkfs_opts *opts)
{
	if (!path)
		return udax_err(EFAULT, "mkfs: NULL path");
	return udaxfs_mkfs(path, size, opts ? opts->ninodes : 0, opts ? opts->raw_size : 0);
}

int udax_mount(const char *path, unsigned flags, struct udax_fs **out)
{
	struct udax_fs *ufs;
	int ret;

	if (!path || !out)
		return udax_err(EFAULT, "mount: NULL argument");
	if (flags & ~(UDAX_MOUNT_POPULATE | UDAX_MOUNT_PREZERO))
		return udax_err(EINVAL, "%s: unknown mount flags 0x%x", path, flags);
	ufs = calloc(1, sizeof(*ufs));
	if (!ufs)
		return udax_err(ENOMEM, "%s: mount", path);
	ufs->layout_timeout_ms = -1;
	ret = udaxfs_mount(path, &ufs->fs);
	if (!ret && (flags & UDAX_MOUNT_POPULATE))
		ret = udaxfs_populate(ufs->fs);
	if (!ret && (flags & UDAX_MOUNT_PREZERO))
		ret = udaxfs_prezero(ufs->fs);
	if (ret && ufs->fs)
		udaxfs_unmount(ufs->fs);
	if (ret) {
		free(ufs);
		return ret;
	}
	*out = ufs;
	return 0;
}

int udax_unmount(struct udax_fs *ufs)
{
	int ret;

	if (!ufs)
		return udax_err(EINVAL, "unmount: NULL file system");
	ret = udaxfs_unmount(ufs->fs);
	if (!ret)
		free(ufs);
	return ret;
}

static bool readable(const struct udax_file *f)
{
	return (f->flags & O_ACCMODE) != O_WRONLY;
}

static bool writable(const struct udax_file *f)
{
	return (f->flags & O_ACCMODE) != O_RDONLY;
}

int udax_set_layout_timeout(struct udax_fs *ufs, int timeout_ms)
{
	if (!ufs)
		return udax_err(EFAULT, "layout timeout: NULL fs");
	__atomic_store_n(&ufs->layout_timeout_ms, timeout_ms < 0 ? -1 : timeout_ms,
			 __ATOMIC_RELAXED);
	return 0;
}

void udax_cancel_layout_waits(struct udax_fs *ufs)
{
	if (ufs) {
		atomic_fetch_add(&ufs->layout_cancel, 1);
		udaxfs_wake_layout_waiters(ufs->fs);
	}
}

/* Truncates to @size under the node lock, after breaking the layout past it. */
static int truncate_locked(struct udax_file *f, uint64_t size)
{
	struct api_layout lo;
	/* as truncate_pagecache: pages from the new end, rounded up, go */
	int ret = api_break_layout(f, (size + PAGE - 1) / PAGE, LAST_PAGE, &lo);

	if (ret)
		return ret;
	ret = udaxfs_truncate(f->node, size);
	api_layout_end(&lo);
	return ret;
}

/* O_TRUNC of an existing regular file, under its I/O lock like ftruncate. */
static int open_truncate(struct udax_file *f)
{
	int ret;

	udaxfs_node_write_lock(f->node);
	ret = truncate_locked(f, 0);
	udaxfs_node_write_unlock(f->node);
	return ret;
}

int udax_open(struct udax_fs *ufs, const char *path, int flags, unsigned mode,
	      struct udax_file **out)
{
	struct udax_stat st;
	struct udax_file *f;
	int ret;

	if (!ufs || !out)
		return udax_err(EFAULT, "open: NULL argument");
	f = calloc(1, sizeof(*f));
	if (!f)
		return udax_err(ENOMEM, "open %s", path ? path : "");
	ret = udaxfs_open(ufs->fs, path, flags, mode, &f->node);
	if (ret) {
		free(f);
		return ret;
	}
	f->flags = flags;
	f->ufs = ufs;
	ret = udaxfs_getattr(f->node, &st);
	f->is_dir = !ret && S_ISDIR(st.mode);
	if (!ret && (flags & O_TRUNC) && writable(f) && !f->is_dir)
		ret = open_truncate(f);
	if (ret) {
		udaxfs_close(f->node);
		free(f);
		return ret;
	}
	pthread_mutex_init(&f->pos_lock, NULL);
	*out = f;
	return 0;
}

/*
 * The last close of an unlinked file frees its blocks: pins on them are
 * waited for first (always, whatever the timeout: the close cannot fail and
 * leave the file half-released).
 */
static void close_last_unlinked(struct udax_file *f)
{
	struct api_layout lo;

	/* only a file mapped here can have pins; most closes stop at one load */
	if (f->is_dir || !api_was_mapped(f) || !udaxfs_node_is_last(f->node))
		return;
	udaxfs_node_write_lock(f->node);
	if (!api_break_layout_wait(f, 0, LAST_PAGE, -1, &lo))
		api_layout_end(&lo);
	udaxfs_node_write_unlock(f->node);
}

int udax_close(struct udax_file *f)
{
	int ret;

	if (!f)
		return udax_err(EBADF, "close: NULL file");
	close_last_unlinked(f);
	ret = udaxfs_close(f->node);
	pthread_mutex_destroy(&f->pos_lock);
	free(f);
	return ret;
}

static int check_io(const struct udax_file *f, bool write, off_t off)
{
	if (!f)
		return udax_err(EBADF, "NULL file");
	if (write ? !writable(f) : !readable(f))
		return udax_err(EBADF, "file not open for %s", write ? "writing" : "reading");
	if (f->is_dir)
		return udax_err(EISDIR, "cannot %s a directory", write ? "write" : "read");
	if (off < 0)
		return udax_err(EINVAL, "negative offset %lld", (long long)off);
	return 0;
}

static ssize_t file_read(struct udax_file *f, void *buf, size_t len, uint64_t off)
{
	/* udaxfs reports the size with each extent (IOMAP_F_SIZE) */
	struct dax_iocb iocb = {
		.host = f->node, .ops = &udaxfs_iomap_ops, .pos = off, .i_size = UINT64_MAX};
	ssize_t ret = udaxfs_read_fast(f->node, buf, len, off);

	if (ret != -EAGAIN)
		return ret;
	udaxfs_node_read_lock(f->node);
	ret = dax_iomap_rw(&iocb, buf, len);
	udaxfs_node_read_unlock(f->node);
	return ret;
}

/*
 * After a write to [start, end) of a mapped file: if it allocated blocks, the
 * mappings that showed those holes as the zero window must fault again
 * (invalidate_inode_pages2_range in dax_iomap_iter).
 */
static void note_allocation(struct udax_file *f, const struct udax_stat *before, uint64_t start,
			    uint64_t end)
{
	struct udax_stat after;

	if (!udaxfs_getattr(f->node, &after) && after.blocks != before->blocks)
		api_blocks_allocated(f, start / PAGE, (end - 1) / PAGE);
}

/* Writes at @off, or at the end of file if @append; *end is where it stopped. */
static ssize_t file_write(struct udax_file *f, const void *buf, size_t len, uint64_t off,
			  bool append, uint64_t *end)
{
	struct dax_iocb iocb = {.host = f->node, .ops = &udaxfs_iomap_ops, .write = true};
	struct udax_stat before;
	bool mapped = false;
	uint64_t old_size, n = len;
	ssize_t ret;
	int err;

	udaxfs_node_write_lock(f->node);
	iocb.pos = off;
	ret = udaxfs_write_prepare(f->node, append, &iocb.pos, &n, &old_size);
	len = (size_t)n;
	*end = iocb.pos;
	if (!ret && (mapped = api_is_mapped(f)))
		ret = udaxfs_getattr(f->node, &before);
	if (!ret) {
		ret = dax_iomap_rw(&iocb, (void *)buf, len);
		if (mapped && ret > 0)
			note_allocation(f, &before, *end, iocb.pos);
		if (ret < (ssize_t)len) {
			err = udaxfs_write_short(f->node, old_size, iocb.pos);
			ret = ret < 0 ? ret : err ? err : ret;
		}
		*end = iocb.pos;
	}
	udaxfs_node_write_unlock(f->node);
	return ret;
}

ssize_t udax_pread(struct udax_file *f, void *buf, size_t len, off_t off)
{
	int ret = check_io(f, false, off);

	if (ret || !len)
		return ret;
	return file_read(f, buf, len, (uint64_t)off);
}

ssize_t udax_pwrite(struct udax_file *f, const void *buf, size_t len, off_t off)
{
	uint64_t end;
	int ret = check_io(f, true, off);

	if (ret || !len)
		return ret;
	return file_write(f, buf, len, (uint64_t)off, f->flags & O_APPEND, &end);
}

ssize_t udax_read(struct udax_file *f, void *buf, size_t len)
{
	ssize_t ret = check_io(f, false, 0);

	if (ret || !len)
		return ret;
	pthread_mutex_lock(&f->pos_lock);
	ret = file_read(f, buf, len, f->pos);
	if (ret > 0)
		f->pos += (uint64_t)ret;
	pthread_mutex_unlock(&f->pos_lock);
	return ret;
}

ssize_t udax_write(struct udax_file *f, const void *buf, size_t len)
{
	ssize_t ret = check_io(f, true, 0);
	uint64_t end;

	if (ret || !len)
		return ret;
	pthread_mutex_lock(&f->pos_lock);
	ret = file_write(f, buf, len, f->pos, f->flags & O_APPEND, &end);
	if (ret > 0)
		f->pos = end;
	pthread_mutex_unlock(&f->pos_lock);
	return ret;
}

off_t udax_lseek(struct udax_file *f, off_t off, int whence)
{
	struct udax_stat st;
	int64_t base;
	off_t ret;

	if (!f)
		return udax_err(EBADF, "lseek: NULL file");
	pthread_mutex_lock(&f->pos_lock);
	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = (int64_t)f->pos;
		break;
	case SEEK_END:
		ret = udaxfs_getattr(f->node, &st);
		base = ret ? -1 : (int64_t)st.size;
		break;
	default:
		base = -1;
	}
	if (base < 0 || (off > 0 && base > INT64_MAX - off) || base + off < 0) {
		ret = udax_err(EINVAL, "lseek: bad whence %d or offset %lld", whence,
			       (long long)off);
	} else {
		f->pos = (uint64_t)(base + off);
		ret = (off_t)f->pos;
	}
	pthread_mutex_unlock(&f->pos_lock);
	return ret;
}

int udax_ftruncate(struct udax_file *f, off_t size)
{
	int ret;

	if (!f)
		return udax_err(EBADF, "ftruncate: NULL file");
	if (!writable(f) || f->is_dir || size < 0)
		return udax_err(EINVAL, "ftruncate: %s",
				size < 0 ? "negative size" : "not a file open for writing");
	udaxfs_node_write_lock(f->node);
	ret = truncate_locked(f, (uint64_t)size);
	udaxfs_node_write_unlock(f->node);
	return ret;
}

/*
 * The last page whose blocks a fallocate may free, move or replace: the
 * range's last page, or every page after @off for the modes that shift data.
 * Allocating modes are included too: the pages they fill are holes that a
 * mapping may show as the zero window.
 */
static uint64_t fallocate_last_page(int mode, off_t off, off_t len)
{
	if (mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE) || len > INT64_MAX - off)
		return LAST_PAGE;
	return ((uint64_t)off + (uint64_t)len - 1) / PAGE;
}

int udax_fallocate(struct udax_file *f, int mode, off_t off, off_t len)
{
	struct api_layout lo;
	int ret;

	if (!f || !writable(f))
		return udax_err(EBADF, "fallocate: file not open for writing");
	if (f->is_dir)
		return udax_err(EISDIR, "fallocate: is a directory");
	udaxfs_node_write_lock(f->node);
	if (off >= 0 && len > 0)
		ret = api_break_layout(f, (uint64_t)off / PAGE, fallocate_last_page(mode, off, len),
				       &lo);
	else
		ret = 0, lo.mi = NULL;
	if (!ret) {
		ret = udaxfs_fallocate(f->node, mode, (uint64_t)off, (uint64_t)len);
		api_layout_end(&lo);
	}
	udaxfs_node_write_unlock(f->node);
	return ret;
}

int udax_fsync(struct udax_file *f)
{
	return udax_fdatasync(f);
}

/*
 * Metadata is durable at each operation's return and data written with
 * udax_write at its return: what is left is the stores made through
 * mappings (their dirty entries), and a drain.
 */
int udax_fdatasync(struct udax_file *f)
{
	if (!f)
		return udax_err(EBADF, "fsync: NULL file");
	api_writeback(f);
	udaxfs_sync(f->node);
	return 0;
}

int udax_stat(struct udax_fs *ufs, const char *path, struct udax_stat *st)
{
	if (!ufs || !st)
		return udax_err(EFAULT, "stat: NULL argument");
	return udaxfs_stat(ufs->fs, path, st);
}

int udax_fstat(struct udax_file *f, struct udax_stat *st)
{
	if (!f)
		return udax_err(EBADF, "fstat: NULL file");
	if (!st)
		return udax_err(EFAULT, "fstat: NULL argument");
	return udaxfs_getattr(f->node, st);
}

int udax_unlink(struct udax_fs *ufs, const char *path)
{
	return ufs ? udaxfs_unlink(ufs->fs, path) : udax_err(EFAULT, "unlink: NULL fs");
}

int udax_link(struct udax_fs *ufs, const char *oldpath, const char *newpath)
{
	return ufs ? udaxfs_link(ufs->fs, oldpath, newpath) : udax_err(EFAULT, "link: NULL fs");
}

int udax_rename(struct udax_fs *ufs, const char *oldpath, const char *newpath)
{
	return ufs ? udaxfs_rename(ufs->fs, oldpath, newpath) : udax_err(EFAULT, "rename: NULL fs");
}

int udax_mkdir(struct udax_fs *ufs, const char *path, unsigned mode)
{
	return ufs ? udaxfs_mkdir(ufs->fs, path, mode) : udax_err(EFAULT, "mkdir: NULL fs");
}

int udax_rmdir(struct udax_fs *ufs, const char *path)
{
	return ufs ? udaxfs_rmdir(ufs->fs, path) : udax_err(EFAULT, "rmdir: NULL fs");
}

int udax_opendir(struct udax_fs *ufs, const char *path, struct udax_dir **out)
{
	struct udax_dir *d;
	int ret;

	if (!ufs || !out)
		return udax_err(EFAULT, "opendir: NULL argument");
	d = calloc(1, sizeof(*d));
	if (!d)
		return udax_err(ENOMEM, "opendir %s", path ? path : "");
	ret = udaxfs_opendir(ufs->fs, path, &d->node);
	if (ret) {
		free(d);
		return ret;
	}
	*out = d;
	return 0;
}

int udax_readdir(struct udax_dir *d, struct udax_dirent *ent)
{
	if (!d)
		return udax_err(EBADF, "readdir: NULL directory");
	if (!ent)
		return udax_err(EFAULT, "readdir: NULL entry");
	return udaxfs_readdir(d->node, &d->pos, ent);
}

int udax_closedir(struct udax_dir *d)
{
	int ret;

	if (!d)
		return udax_err(EBADF, "closedir: NULL directory");
	ret = udaxfs_close(d->node);
	free(d);
	return ret;
}

int udax_statfs(struct udax_fs *ufs, struct udax_statfs *st)
{
	if (!ufs || !st)
		return udax_err(EFAULT, "statfs: NULL argument");
	return udaxfs_statfs(ufs->fs, st);
}

int udax_fiemap(struct udax_file *f, struct udax_extent *ext, unsigned max)
{
	if (!f)
		return udax_err(EBADF, "fiemap: NULL file");
	if (!ext && max)
		return udax_err(EFAULT, "fiemap: NULL array");
	return udaxfs_fiemap(f->node, ext, max);
}

int udax_fsck(const char *path, unsigned flags, char **report)
{
	if (!path)
		return udax_err(EFAULT, "fsck: NULL path");
	if (flags & ~UDAX_FSCK_REPAIR)
		return udax_err(EINVAL, "fsck: unknown flags 0x%x", flags);
	return udaxfs_fsck(path, flags, report);
}
