/* SPDX-License-Identifier: MIT */
/*
 * Minimal test harness. A test is a program: exit 0 = pass, 77 = skipped (with
 * the reason printed), anything else = fail. CHECK* abort the test at the first
 * failed assertion, printing the expression, the values and the location.
 */
#ifndef UDAX_TESTLIB_H
#define UDAX_TESTLIB_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_SKIP_CODE 77

__attribute__((noreturn, format(printf, 3, 4))) void test_fail(const char *file, int line,
							       const char *fmt, ...);
__attribute__((noreturn, format(printf, 1, 2))) void test_skip(const char *fmt, ...);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			test_fail(__FILE__, __LINE__, "CHECK(%s) failed", #cond);                  \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long _a = (long long)(a), _b = (long long)(b);                                \
		if (_a != _b)                                                                      \
			test_fail(__FILE__, __LINE__, "%s == %s failed: %lld != %lld", #a, #b, _a, \
				  _b);                                                             \
	} while (0)

/* CHECK_ERR(expr, E): expr must return -E (the udax convention). */
#define CHECK_ERR(expr, e)                                                                         \
	do {                                                                                       \
		long long _r = (long long)(expr);                                                  \
		if (_r != -(long long)(e))                                                         \
			test_fail(__FILE__, __LINE__, "%s returned %lld (%s), expected -%s", #expr,  \
				  _r, _r < 0 ? strerror((int)-_r) : "success", #e);                \
	} while (0)

/* CHECK_OK(expr): expr must return >= 0; prints udax_errormsg() if not. */
#define CHECK_OK(expr)                                                                             \
	do {                                                                                       \
		long long _r = (long long)(expr);                                                  \
		if (_r < 0)                                                                        \
			test_fail(__FILE__, __LINE__, "%s failed: %s (%s)", #expr,                 \
				  strerror((int)-_r), test_errormsg());                            \
	} while (0)

const char *test_errormsg(void);

/* A fresh directory under $TMPDIR (or /tmp), removed with its contents at exit. */
const char *test_tmpdir(void);

/* Abort the whole test (a failure) after @seconds: no test may hang. */
void test_watchdog(unsigned seconds);

/* Deterministic per-run random numbers; the seed is printed so a failure can be replayed. */
uint64_t test_rand(void);
void test_seed(uint64_t seed);

#endif
