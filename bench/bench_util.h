/* SPDX-License-Identifier: MIT */
/* Timing, statistics, a seeded generator and the machine line shared by the benchmarks. */
#ifndef UDAX_BENCH_UTIL_H
#define UDAX_BENCH_UTIL_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* xorshift64: the same sequence every run, so runs compare the same pages. */
static inline uint64_t xorshift(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static inline double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The @q quantile (0..1) of @v[0..n), sorting @v. */
static inline double quantile(double *v, size_t n, double q)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[(size_t)(q * (double)(n - 1) + 0.5)];
}

static inline double median(double *v, int n)
{
	return quantile(v, (size_t)n, 0.5);
}

/*
 * Profile sections. With BENCH_PERF_CTL and BENCH_PERF_ACK naming the fifos of
 * `perf record -D -1 --control=fifo:CTL,ACK`, perf samples only between
 * bench_profile(true) and bench_profile(false), which a benchmark puts around
 * the operation under test (outside its timer): the profile then leaves out
 * set-up, baselines and kernel columns. Without them it does nothing.
 */
static inline void bench_profile(bool on)
{
	static int ctl = -2, ack = -1;
	char reply[16];

	if (ctl == -2) {
		const char *c = getenv("BENCH_PERF_CTL"), *a = getenv("BENCH_PERF_ACK");

		ctl = c && a ? open(c, O_WRONLY | O_CLOEXEC) : -1;
		ack = ctl >= 0 ? open(a, O_RDONLY | O_CLOEXEC) : -1;
		if (ctl >= 0 && ack < 0) {
			close(ctl);
			ctl = -1;
		}
	}
	if (ctl < 0)
		return;
	/* perf answers "ack\n" once it has switched */
	if (write(ctl, on ? "enable\n" : "disable\n", on ? 7 : 8) > 0)
		(void)!read(ack, reply, sizeof(reply));
}

/* One line naming the CPU, its count and the kernel, for the tables' headers. */
static inline void print_machine(void)
{
	char line[256], model[256] = "?";
	struct utsname u;
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "model name", 10)) {
			snprintf(model, sizeof(model), "%s", strchr(line, ':') + 2);
			model[strcspn(model, "\n")] = 0;
			break;
		}
	}
	if (f)
		fclose(f);
	uname(&u);
	printf("machine: %s, %ld CPUs, kernel %s\n", model, sysconf(_SC_NPROCESSORS_ONLN),
	       u.release);
}

#endif
