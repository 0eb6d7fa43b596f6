// SPDX-License-Identifier: MIT
/*
 * map_file - map a udax file and use it with plain loads and stores.
 *
 *   map_file POOL
 *
 * Makes a 16 MiB udaxfs pool at POOL (a file), creates /data of 4 MiB,
 * maps it shared, fills it through the mapping, makes the stores durable
 * with udax_fsync, and reads the bytes back with udax_pread. Prints how much
 * of the mapping the kernel mapped with 2 MiB pages (PMDs).
 * Build: cc map_file.c $(pkg-config --cflags --libs udax)
 */
#define _POSIX_C_SOURCE 200809L /* pread, with -std=c11 */

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <udax.h>

#define FILE_SIZE (4u << 20)

static int die(const char *what)
{
	fprintf(stderr, "map_file: %s: %s\n", what, udax_errormsg());
	return 1;
}

/* The byte stored at offset @i: easy to check, different in every 4 KiB page. */
static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + i / 4096);
}

static int check_by_pread(struct udax_file *f)
{
	static unsigned char buf[FILE_SIZE];

	if (udax_pread(f, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		return die("pread");
	for (size_t i = 0; i < sizeof(buf); i++) {
		if (buf[i] != pattern(i)) {
			fprintf(stderr, "map_file: byte %zu is %u, stored %u\n", i, buf[i],
				pattern(i));
			return 1;
		}
	}
	return 0;
}

static int use_mapping(struct udax_file *f)
{
	struct udax_pmd_coverage cov;
	unsigned char *p;
	void *addr;
	int ret;

	if (udax_mmap(f, NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &addr) < 0)
		return die("mmap");
	p = addr;
	for (size_t i = 0; i < FILE_SIZE; i++)
		p[i] = pattern(i); /* plain stores, straight to the media */
	if (udax_pmd_coverage(addr, FILE_SIZE, &cov) < 0)
		return die("pmd coverage");
	printf("mapped %llu bytes, %llu of them with 2 MiB pages\n", (unsigned long long)cov.mapped,
	       (unsigned long long)cov.pmd_mapped);
	if (udax_fsync(f) < 0)
		return die("fsync");
	if (udax_munmap(addr, FILE_SIZE) < 0)
		return die("munmap");
	ret = check_by_pread(f);
	if (!ret)
		printf("4 MiB stored through the mapping and read back\n");
	return ret;
}

int main(int argc, char **argv)
{
	struct udax_file *f;
	struct udax_fs *fs;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: map_file POOL\n");
		return 2;
	}
	if (udax_mkfs(argv[1], 16u << 20, NULL) < 0)
		return die("mkfs");
	if (udax_mount(argv[1], 0, &fs) < 0)
		return die("mount");
	if (udax_open(fs, "/data", O_RDWR | O_CREAT, 0644, &f) < 0)
		return die("open");
	/* the size first: a file of 2 MiB or more gets 2 MiB extents */
	ret = udax_ftruncate(f, FILE_SIZE) < 0 ? die("ftruncate") : use_mapping(f);
	udax_close(f);
	if (udax_unmount(fs) < 0)
		return die("unmount");
	return ret;
}
