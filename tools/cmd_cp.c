// SPDX-License-Identifier: MIT
/* udax cp: copy between the host and a pool (docs/man/udax-cp.md). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/*
 * Copies go in 2 MiB chunks: a write that makes a file at least 2 MiB long
 * gets whole aligned 2 MiB extents (docs/udaxfs.md, "Allocation"), so a large
 * file copied in is PMD-mappable from its first byte; 1 MiB chunks would give
 * its first 2 MiB a small extent.
 */
enum { CP_CHUNK = 2 << 20 };

/* Copies everything from a source to a sink; returns bytes or -errno. */
static int64_t copy_loop(ssize_t (*rd)(void *, void *, size_t), void *src,
			 ssize_t (*wr)(void *, const void *, size_t), void *dst)
{
	static char buf[CP_CHUNK];
	int64_t total = 0;
	ssize_t n, w, done;

	while ((n = rd(src, buf, sizeof(buf))) > 0) {
		for (done = 0; done < n; done += w) {
			w = wr(dst, buf + done, (size_t)(n - done));
			if (w < 0)
				return w;
		}
		total += n;
	}
	return n < 0 ? n : total;
}

static ssize_t host_read(void *fd, void *buf, size_t len)
{
	ssize_t n = read(*(int *)fd, buf, len);

	return n < 0 ? -errno : n;
}

static ssize_t host_write(void *fd, const void *buf, size_t len)
{
	ssize_t n = write(*(int *)fd, buf, len);

	return n < 0 ? -errno : n;
}

static ssize_t pool_read(void *f, void *buf, size_t len)
{
	return udax_read(f, buf, len);
}

static ssize_t pool_write(void *f, const void *buf, size_t len)
{
	return udax_write(f, buf, len);
}

static void cp_usage(FILE *out)
{
	fprintf(out, "usage: udax cp SRC DST\n"
		     "  Copy a file between the host and a pool. Exactly one of SRC and DST is\n"
		     "  POOL:PATH, a path inside the udaxfs pool file POOL; the copy into a pool\n"
		     "  is durable when the command returns.\n"
		     "  exit: 0 copied, 1 failed, 2 usage error\n");
}

/* Copies between the open host file @fd and @ref inside the pool. */
static int cp_pool(const struct pool_ref *ref, int fd, bool in)
{
	struct udax_fs *fs;
	struct udax_file *f;
	int64_t copied;
	int ret;

	if (mount_pool(ref->pool, &fs))
		return EXIT_FAIL;
	ret = udax_open(fs, ref->path, in ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY, 0644, &f);
	if (ret >= 0) {
		copied = in ? copy_loop(host_read, &fd, pool_write, f)
			    : copy_loop(pool_read, f, host_write, &fd);
		ret = copied < 0 ? (int)copied : 0;
		if (!ret && in)
			ret = udax_fsync(f);
		udax_close(f);
	}
	if (ret < 0)
		fail("cp: %s", udax_errormsg());
	return unmount_pool(fs, ret < 0 ? EXIT_FAIL : EXIT_OK);
}

int cmd_cp(int argc, char **argv)
{
	struct pool_ref src_ref, dst_ref;
	const char *host;
	bool in, out;
	int fd, ret;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		cp_usage(stdout);
		return EXIT_OK;
	}
	if (argc != 3)
		return usage_error(cp_usage, "cp: expected SRC and DST");
	out = is_pool_path(argv[1], &src_ref);
	in = is_pool_path(argv[2], &dst_ref);
	if (in == out)
		return fail("cp: exactly one of SRC and DST must be POOL:PATH (%s)",
			    in ? "both are" : "neither is");
	host = in ? argv[1] : argv[2];
	fd = in ? open(host, O_RDONLY) : open(host, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fail("%s: %s", host, strerror(errno));
	ret = cp_pool(in ? &dst_ref : &src_ref, fd, in);
	if (close(fd) && !ret)
		return fail("%s: %s", host, strerror(errno));
	return ret;
}
