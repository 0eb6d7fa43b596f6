// SPDX-License-Identifier: MIT
/*
 * A real /dev/daxX.Y (the first one found; UDAX_TEST_DAX=/dev/daxX.Y picks
 * one): size and alignment come from sysfs, mappings follow the same rules
 * as emulated regions, and the device cannot be resized through udax. The
 * test reads and restores the bytes it writes. Skips without a device.
 */
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>

#include "devdax_testutil.h"
#include "pmem_testutil.h"
#include "testlib.h"

static const char *find_device(void)
{
	static char path[64];
	const char *env = getenv("UDAX_TEST_DAX");
	glob_t g;

	if (env)
		return env;
	if (glob("/dev/dax*", 0, NULL, &g))
		return NULL;
	snprintf(path, sizeof(path), "%s", g.gl_pathv[0]);
	globfree(&g);
	return path;
}

int main(void)
{
	const char *dev = find_device();
	struct udax_devdax_info info;
	struct udax_devdax *dd;
	uint8_t *p, old;
	void *q;
	int ret;

	test_watchdog(30);
	if (!dev)
		test_skip("no /dev/daxX.Y on this machine (set UDAX_TEST_DAX to name one)");
	ret = udax_devdax_open(dev, NULL, &dd);
	if (ret == -EACCES)
		test_skip("%s: %s", dev, test_errormsg());
	CHECK_OK(ret);
	CHECK_OK(udax_devdax_get_info(dd, &info));
	CHECK(info.real);
	CHECK_EQ(info.page_size, info.align);
	CHECK_EQ(info.size % info.align, 0);
	CHECK_ERR(udax_devdax_resize(dd, info.size - info.align), EOPNOTSUPP);
	CHECK_ERR(
		udax_devdax_mmap(dd, NULL, info.align, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0, &q),
		EINVAL);
	if (info.align > 4096)
		CHECK_ERR(udax_devdax_mmap(dd, NULL, info.align, PROT_READ, MAP_SHARED, 4096, &q),
			  EINVAL);
	CHECK_OK(udax_devdax_mmap(dd, NULL, info.align, PROT_READ | PROT_WRITE, MAP_SHARED, 0,
				  (void **)&p));
	old = p[100];
	p[100] = (uint8_t)~old;
	CHECK_EQ(p[100], (uint8_t)~old);
	p[100] = old;
	CHECK_OK(udax_devdax_munmap(p, info.align));
	CHECK_OK(udax_devdax_close(dd));
	return 0;
}
