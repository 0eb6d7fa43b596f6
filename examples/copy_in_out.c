// SPDX-License-Identifier: MIT
/*
 * copy_in_out - copy a host file into a udax pool and read it back.
 *
 *   copy_in_out POOL HOSTFILE
 *
 * Makes a 16 MiB udaxfs pool at POOL, copies HOSTFILE to /copy with
 * udax_write (durable when it returns: non-temporal stores and a drain),
 * unmounts, mounts again and compares /copy with HOSTFILE byte for byte.
 * Build: cc copy_in_out.c $(pkg-config --cflags --libs udax)
 */
#define _POSIX_C_SOURCE 200809L /* pread, with -std=c11 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <udax.h>

static int die(const char *what)
{
	fprintf(stderr, "copy_in_out: %s: %s\n", what, udax_errormsg());
	return 1;
}

static int copy_in(struct udax_fs *fs, int fd)
{
	static char buf[1 << 16];
	struct udax_file *f;
	ssize_t n;
	int ret = 0;

	if (udax_open(fs, "/copy", O_WRONLY | O_CREAT | O_TRUNC, 0644, &f) < 0)
		return die("create /copy");
	while (!ret && (n = read(fd, buf, sizeof(buf))) > 0)
		if (udax_write(f, buf, (size_t)n) != n)
			ret = die("write");
	udax_close(f);
	return ret;
}

static int compare(struct udax_fs *fs, int fd)
{
	static char a[1 << 16], b[1 << 16];
	struct udax_file *f;
	off_t off = 0;
	ssize_t n;

	if (udax_open(fs, "/copy", O_RDONLY, 0, &f) < 0)
		return die("open /copy");
	while ((n = pread(fd, a, sizeof(a), off)) > 0) {
		if (udax_pread(f, b, (size_t)n, off) != n || memcmp(a, b, (size_t)n)) {
			fprintf(stderr, "copy_in_out: /copy differs near byte %lld\n",
				(long long)off);
			udax_close(f);
			return 1;
		}
		off += n;
	}
	printf("%lld bytes copied in and read back after a remount\n", (long long)off);
	udax_close(f);
	return 0;
}

int main(int argc, char **argv)
{
	struct udax_fs *fs;
	int fd, ret;

	if (argc != 3) {
		fprintf(stderr, "usage: copy_in_out POOL HOSTFILE\n");
		return 2;
	}
	fd = open(argv[2], O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "copy_in_out: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (udax_mkfs(argv[1], 16u << 20, NULL) < 0 || udax_mount(argv[1], 0, &fs) < 0)
		return die("mkfs and mount");
	ret = copy_in(fs, fd);
	if (udax_unmount(fs) < 0)
		return die("unmount");
	if (!ret && udax_mount(argv[1], 0, &fs) < 0)
		return die("mount again");
	if (!ret) {
		ret = compare(fs, fd);
		udax_unmount(fs);
	}
	close(fd);
	return ret;
}
