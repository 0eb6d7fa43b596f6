// SPDX-License-Identifier: MIT
/*
 * Revocation and resize of mapped regions, at each alignment.
 *
 * Disable (kill_dev_dax): every mapping of the region, touched or not, raises
 * SIGBUS (BUS_ADRERR at the address) from then on, and every handle of it
 * gets ENXIO; a new open makes a new region over the same media.
 * Shrink while mapped: the bytes past the new end raise SIGBUS in every
 * mapping, even when that media is written again behind the region's back,
 * and their media is released; growing again shows what the media holds.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devdax_testutil.h"
#include "pmem_testutil.h"
#include "testlib.h"
#include "vm/vm.h"

#define RW (PROT_READ | PROT_WRITE)

static void check_disable(uint64_t a, uint64_t units)
{
	uint64_t size = units * a;
	struct udax_devdax *dd, *dd2, *dd3;
	struct udax_devdax_info info;
	uint8_t *rw, *ro, *never;
	char name[64];

	snprintf(name, sizeof(name), "revoke-%llu", (unsigned long long)a);
	dd = open_file_region(name, a, size, 0);
	CHECK_OK(udax_devdax_open(tmp_path(name), NULL, &dd2)); /* a second handle, same region */
	CHECK_OK(udax_devdax_mmap(dd, NULL, size, RW, MAP_SHARED, 0, (void **)&rw));
	CHECK_OK(udax_devdax_mmap(dd2, NULL, size, PROT_READ, MAP_SHARED, 0, (void **)&ro));
	CHECK_OK(
		udax_devdax_mmap(dd2, NULL, a, RW, MAP_SHARED, (off_t)(size - a), (void **)&never));
	for (uint64_t u = 0; u < units; u++)
		rw[u * a + 7] = pattern(u * a + 7, 2);
	for (uint64_t u = 0; u < units; u++)
		CHECK_EQ(ro[u * a + 7], pattern(u * a + 7, 2));

	CHECK_OK(udax_devdax_disable(dd2));
	CHECK_SIGBUS(rw, true);
	CHECK_SIGBUS(rw + 7, false);
	CHECK_SIGBUS(rw + size - 1, true);
	CHECK_SIGBUS(ro + a, false);
	CHECK_SIGBUS(never + a / 2, true);

	for (int i = 0; i < 2; i++) {
		struct udax_devdax *h = i ? dd2 : dd;
		void *p;

		CHECK_ERR(udax_devdax_mmap(h, NULL, a, RW, MAP_SHARED, 0, &p), ENXIO);
		CHECK_ERR(udax_devdax_resize(h, a), ENXIO);
		CHECK_ERR(udax_devdax_fsync(h), ENXIO);
		CHECK_OK(udax_devdax_get_info(h, &info));
		CHECK_EQ(info.enabled, 0);
	}
	CHECK_OK(udax_devdax_disable(dd)); /* twice is fine */

	/* a new open makes a new region; the media kept its bytes */
	CHECK_OK(udax_devdax_open(tmp_path(name), &(struct udax_devdax_opts){.align = a}, &dd3));
	CHECK_OK(udax_devdax_get_info(dd3, &info));
	CHECK_EQ(info.enabled, 1);
	CHECK_OK(udax_devdax_mmap(dd3, NULL, size, PROT_READ, MAP_SHARED, 0, (void **)&ro));
	for (uint64_t u = 0; u < units; u++)
		CHECK_EQ(ro[u * a + 7], pattern(u * a + 7, 2));
	CHECK_SIGBUS(rw, false); /* the old mappings stay revoked */
	CHECK_OK(udax_devdax_close(dd3));
	CHECK_EQ(ro[7], pattern(7, 2));
	CHECK_OK(udax_devdax_munmap(ro, size));

	CHECK_OK(udax_devdax_munmap(rw, size));
	CHECK_OK(udax_devdax_munmap(never, a));
	CHECK_OK(udax_devdax_close(dd));
	CHECK_OK(udax_devdax_close(dd2));
}

/* Reads one byte of the backing file, behind the region's back. */
static uint8_t file_byte(const char *path, uint64_t off)
{
	uint8_t b = 0xff;
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0);
	CHECK_EQ(pread(fd, &b, 1, (off_t)off), 1);
	close(fd);
	return b;
}

static void file_write_byte(const char *path, uint64_t off, uint8_t b)
{
	int fd = open(path, O_WRONLY);

	CHECK(fd >= 0);
	CHECK_EQ(pwrite(fd, &b, 1, (off_t)off), 1);
	close(fd);
}

static void check_resize(uint64_t a)
{
	const uint64_t units = 6, keep = 2, size = units * a;
	struct udax_devdax_info info;
	struct udax_devdax *dd;
	uint8_t *p, *q;
	char name[64];
	const char *path;

	snprintf(name, sizeof(name), "resize-%llu", (unsigned long long)a);
	path = tmp_path(name);
	dd = open_file_region(name, a, size, 0);
	CHECK_OK(udax_devdax_mmap(dd, NULL, size, RW, MAP_SHARED, 0, (void **)&p));
	CHECK_OK(udax_devdax_mmap(dd, NULL, size, RW, MAP_SHARED, 0, (void **)&q));
	for (uint64_t u = 0; u < units; u++)
		p[u * a] = p[u * a + a - 1] = pattern(u * a, 3);
	CHECK_EQ(q[a], pattern(a, 3)); /* q is faulted in up to the end */

	CHECK_ERR(udax_devdax_resize(dd, keep * a + 1), EINVAL);
	CHECK_ERR(udax_devdax_resize(dd, size + a), ENOSPC);
	CHECK_OK(udax_devdax_resize(dd, keep * a));
	CHECK_OK(udax_devdax_get_info(dd, &info));
	CHECK_EQ(info.size, keep * a);
	/* below the new end: untouched */
	CHECK_EQ(p[keep * a - 1], pattern((keep - 1) * a, 3));
	CHECK_EQ(q[0], pattern(0, 3));
	/* past it: SIGBUS in every mapping, loads and stores */
	CHECK_SIGBUS(p + keep * a, false);
	CHECK_SIGBUS(p + size - 1, true);
	CHECK_SIGBUS(q + keep * a + a / 2, true);
	/* the freed media was released, and what is written there later stays out of reach */
	CHECK_EQ(file_byte(path, keep * a), 0);
	file_write_byte(path, (keep + 1) * a, 0x77);
	CHECK_SIGBUS(p + (keep + 1) * a, false);
	/* a new mapping may cover the gap; touching it is SIGBUS too */
	{
		uint8_t *r;

		CHECK_OK(udax_devdax_mmap(dd, NULL, a, PROT_READ, MAP_SHARED,
					  (off_t)((keep + 1) * a), (void **)&r));
		CHECK_SIGBUS(r, false);
		CHECK_OK(udax_devdax_munmap(r, a));
	}

	/* growing again: the old mappings reach the media, which holds what it holds now */
	CHECK_OK(udax_devdax_resize(dd, size));
	CHECK_EQ(p[keep * a], 0);
	CHECK_EQ(q[(keep + 1) * a], 0x77);
	CHECK_EQ(q[size - 1], 0);
	p[size - 1] = 0x42;
	CHECK_EQ(q[size - 1], 0x42);
	CHECK_EQ(p[0], pattern(0, 3));

	/* shrink to nothing: everything is out of reach */
	CHECK_OK(udax_devdax_resize(dd, 0));
	CHECK_SIGBUS(p, false);
	CHECK_SIGBUS(q + a - 1, true);
	CHECK_OK(udax_devdax_munmap(p, size));
	CHECK_OK(udax_devdax_munmap(q, size));
	CHECK_OK(udax_devdax_close(dd));
}

/*
 * udax_mremap's generic vm_mremap knows nothing of linear objects: what it
 * makes of a device-DAX mapping must fail safely (SIGBUS), never reach
 * memory it should not.
 */
static void check_generic_mremap(void)
{
	struct udax_devdax *dd = open_file_region("generic-mremap", 2 * MiB, 8 * MiB, 0);
	uint8_t *p, *q;

	CHECK_OK(udax_devdax_mmap(dd, NULL, 4 * MiB, RW, MAP_SHARED, 0, (void **)&p));
	p[0] = 1;
	CHECK_OK(vm_mremap(p, 4 * MiB, 6 * MiB, MREMAP_MAYMOVE, NULL, (void **)&q));
	CHECK_SIGBUS(q, false);
	CHECK_SIGBUS(q + 5 * MiB, true);
	CHECK_OK(udax_devdax_munmap(q, 6 * MiB));
	CHECK_OK(udax_devdax_close(dd));
}

int main(void)
{
	test_watchdog(60);
	bus_catch_install();
	check_disable(4 * KiB, 8);
	check_disable(2 * MiB, 4);
	check_disable(1 * GiB, 2);
	check_resize(4 * KiB);
	check_resize(2 * MiB);
	check_resize(1 * GiB);
	check_generic_mremap();
	return 0;
}
