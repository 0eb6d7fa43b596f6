// SPDX-License-Identifier: MIT
/*
 * pin_copy - hand mapped memory to a "device" with udax_pin.
 *
 *   pin_copy POOL
 *
 * Makes a pool at POOL, creates /buf of 2 MiB, maps it and pins its first
 * 64 KiB for writing. A second thread plays a DMA engine: it writes into the
 * pinned pages through its own view of the pool's backing (the places
 * udax_pin_media_offset gives), never through the mapping. Meanwhile the main
 * thread truncates the file: the truncate waits until the device is done and
 * the pin is dropped, so the device never writes into blocks that another
 * file could already own. Prints how long the truncate waited.
 * Build: cc pin_copy.c $(pkg-config --cflags --libs udax) -lpthread
 */
#define _POSIX_C_SOURCE 200809L /* pread, nanosleep, clock_gettime, with -std=c11 */

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <udax.h>

#define PIN_BYTES (64u << 10)

struct device {
	const char *pool;
	struct udax_pin *pin;
	int ok;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The "DMA": writes every pinned page through the backing, slowly, then unpins. */
static void *dma(void *arg)
{
	struct device *d = arg;
	int fd = open(d->pool, O_RDWR);

	for (uint64_t i = 0; fd >= 0 && i < udax_pin_pages(d->pin); i++) {
		char page[4096];

		memset(page, 'D', sizeof(page));
		d->ok = pwrite(fd, page, sizeof(page), udax_pin_media_offset(d->pin, i)) ==
			(ssize_t)sizeof(page);
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL); /* a slow device */
	}
	if (fd >= 0)
		close(fd);
	udax_unpin(d->pin); /* the transfer is over: the blocks may go */
	return NULL;
}

int main(int argc, char **argv)
{
	struct device d = {.pool = argc == 2 ? argv[1] : NULL};
	struct udax_file *f;
	struct udax_fs *fs;
	pthread_t thread;
	char *p;
	double t;

	if (argc != 2) {
		fprintf(stderr, "usage: pin_copy POOL\n");
		return 2;
	}
	if (udax_mkfs(argv[1], 16u << 20, NULL) || udax_mount(argv[1], 0, &fs) ||
	    udax_open(fs, "/buf", O_CREAT | O_RDWR, 0644, &f) || udax_ftruncate(f, 2u << 20) ||
	    udax_mmap(f, NULL, 2u << 20, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p) ||
	    udax_pin(p, PIN_BYTES, UDAX_PIN_WRITE, &d.pin)) {
		fprintf(stderr, "pin_copy: %s\n", udax_errormsg());
		return 1;
	}
	pthread_create(&thread, NULL, dma, &d);
	t = now_ms();
	if (udax_ftruncate(f, 0)) { /* waits for the unpin */
		fprintf(stderr, "pin_copy: truncate: %s\n", udax_errormsg());
		return 1;
	}
	t = now_ms() - t;
	pthread_join(thread, NULL);
	printf("device wrote %u pinned pages: %s; the truncate waited %s\n",
	       PIN_BYTES / 4096, d.ok ? "ok" : "FAILED",
	       t >= 10.0 * (PIN_BYTES / 4096) * 0.9 ? "for the device" : "too little");
	udax_munmap(p, 2u << 20);
	udax_close(f);
	udax_unmount(fs);
	return d.ok ? 0 : 1;
}
