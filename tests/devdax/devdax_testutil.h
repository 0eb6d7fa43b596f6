/* SPDX-License-Identifier: MIT */
/* Helpers of the device-DAX tests: catching SIGBUS, opening regions, 1 GiB pages. */
#ifndef UDAX_DEVDAX_TESTUTIL_H
#define UDAX_DEVDAX_TESTUTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "udax_devdax.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)

/* What the application's SIGBUS handler saw. */
struct bus_event {
	void *addr;
	int code;
};

/* Installs the application's SIGBUS handler (the tests' own, as a program would). */
void bus_catch_install(void);

/*
 * One access to @p (a store of @val if @write, else a load into *@val):
 * true if it raised SIGBUS, with what the handler saw in *@ev.
 */
bool access_bus(volatile uint8_t *p, bool write, uint8_t *val, struct bus_event *ev);

/* Checks that an access raises SIGBUS with BUS_ADRERR at exactly @p. */
#define CHECK_SIGBUS(p, write)                                                                     \
	do {                                                                                       \
		struct bus_event _ev;                                                              \
		uint8_t _v = 0x5a;                                                                 \
		CHECK(access_bus((volatile uint8_t *)(p), write, &_v, &_ev));                      \
		CHECK_EQ(_ev.code, BUS_ADRERR);                                                    \
		CHECK_EQ((uintptr_t)_ev.addr, (uintptr_t)(p));                                     \
	} while (0)

/* An emulated region: a new file @name of @capacity bytes in the test's directory. */
struct udax_devdax *open_file_region(const char *name, uint64_t align, uint64_t capacity,
				     uint64_t size);

/* The byte the tests store at region offset @off (a pattern no two nearby offsets share). */
static inline uint8_t pattern(uint64_t off, unsigned salt)
{
	return (uint8_t)((off >> 12) * 31 + (off & 4095) * 7 + salt);
}

/*
 * Runs @body(dir) with @pages 1 GiB huge pages reserved and hugetlbfs
 * (pagesize=1G) mounted on dir; undoes both however it ends. Skips (77) when
 * not root or the pages cannot be reserved. Returns the body's exit status.
 */
int run_with_1g_hugetlbfs(long pages, int (*body)(const char *dir));

#endif
