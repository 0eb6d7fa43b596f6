// SPDX-License-Identifier: MIT
/*
 * Faults inside udax: a copy made while holding a lock that the fault path
 * also takes (here the provider's inode lock, taken by iomap_begin) must not
 * serve faults. vm_copy_nofault stops short at the first page that needs one;
 * the caller drops its lock, faults the page in and retries. A fault on an
 * address that is not udax's still reaches the application's handler.
 */
#include <sys/mman.h>

#include "fake_fs.h"
#include "testlib.h"

#define PG DAX_PAGE_SIZE

/*
 * The read/write path's shape: the inode lock held around the copy from the
 * user buffer into the file's media at @pos (an allocated extent).
 */
static void rw_write(struct fake_fs *fs, uint64_t media, const char *src, size_t len, int *retries)
{
	size_t done = 0;

	pthread_mutex_lock(&fs->lock);
	while (done < len) {
		done += vm_copy_nofault(fs->base + media + done, src + done, len - done);
		if (done == len)
			break;
		pthread_mutex_unlock(&fs->lock);
		(*retries)++;
		vm_fault_in(src + done, 1, false);
		pthread_mutex_lock(&fs->lock);
	}
	pthread_mutex_unlock(&fs->lock);
}

static char *own_page;

static void copy_from_own(void *arg)
{
	(void)arg;
	vm_copy_nofault(arg, own_page, 16);
}

int main(void)
{
	struct fake_fs *fs = fake_new(16 * MiB, 4 * MiB);
	char *p, buf[3 * PG];
	siginfo_t si;
	int retries = 0;

	test_watchdog(30);
	fake_add(fs, 0, 2 * MiB, 2 * MiB, IOMAP_MAPPED);
	fake_add(fs, 8 * MiB, 4 * MiB, 8 * MiB, IOMAP_MAPPED); /* the destination */
	for (uint64_t i = 0; i < 2 * MiB; i++)
		fs->base[2 * MiB + i] = (char)(i % 251);
	CHECK_OK(vm_mmap(&fs->file, NULL, 4 * MiB, PROT_READ, MAP_SHARED, 0, (void **)&p));

	/* Nothing mapped yet: not a byte is copied, no fault is served. */
	CHECK_EQ(vm_copy_nofault(buf, p + 100, 100), 0);
	CHECK_EQ(fake_entry(fs, 0), 0);
	CHECK_EQ(atomic_load(&fs->begins), 0);
	/* The extent mapped, the hole after it not: the copy stops at the page boundary. */
	vm_fault_in(p, 1, false);
	CHECK_EQ(vm_copy_nofault(buf, p + 2 * MiB - PG + 100, 2 * PG), PG - 100);
	CHECK_EQ(buf[0], (char)((2 * MiB - PG + 100) % 251));

	/* The write path with its lock held, reading from the mapping of the same file. */
	rw_write(fs, 8 * MiB, p + 2 * MiB - 2 * PG, 4 * PG, &retries);
	CHECK_EQ(retries, 1);
	for (uint64_t i = 0; i < 2 * PG; i++)
		CHECK_EQ(fs->base[8 * MiB + i], (char)((2 * MiB - 2 * PG + i) % 251));
	for (uint64_t i = 2 * PG; i < 4 * PG; i++)
		CHECK_EQ(fs->base[8 * MiB + i], 0);

	/* Not udax's address: the application's handler gets it. */
	own_page = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(own_page != MAP_FAILED);
	CHECK_EQ(catch_signal(copy_from_own, buf, &si), SIGSEGV);
	CHECK(si.si_addr == own_page);
	/* The jump out of that copy ended it: a udax fault now is served again. */
	CHECK_EQ(p[3 * MiB], 0);
	CHECK_EQ(fake_entry(fs, 512) & (DAX_PMD | DAX_ZERO), DAX_PMD | DAX_ZERO);
	CHECK_EQ(vm_copy_nofault(buf, p, 64), 64);

	CHECK_OK(vm_munmap(p, 4 * MiB));
	fake_free(fs);
	printf("ok\n");
	return 0;
}
