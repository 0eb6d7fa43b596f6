// SPDX-License-Identifier: MIT
/*
 * crc32c: the SSE4.2 crc32 instruction (8 bytes per step) where the CPU has it,
 * else byte-at-a-time over a table built once (reflected polynomial). Both
 * compute the same function; the choice is made once.
 */
#include <pthread.h>
#include <string.h>
#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#include "fs/crc32c.h"

#define CRC32C_POLY 0x82f63b78u

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		table[i] = c;
	}
}

static uint32_t crc32c_table(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *p,
							       size_t len)
{
	uint64_t c = crc, w;

	for (; len >= 8; len -= 8, p += 8) {
		memcpy(&w, p, 8);
		c = _mm_crc32_u64(c, w);
	}
	crc = (uint32_t)c;
	while (len--)
		crc = _mm_crc32_u8(crc, *p++);
	return crc;
}
#endif

static uint32_t (*crc32c_fn)(uint32_t crc, const uint8_t *p, size_t len);

static void crc32c_init(void)
{
	build_table();
	crc32c_fn = crc32c_table;
#if defined(__x86_64__)
	if (__builtin_cpu_supports("sse4.2"))
		crc32c_fn = crc32c_sse42;
#endif
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&table_once, crc32c_init);
	return ~crc32c_fn(~crc, buf, len);
}

uint32_t crc32c_skip(const void *buf, size_t len, size_t crc_off)
{
	static const uint8_t zero[4];
	const uint8_t *p = buf;
	uint32_t crc;

	crc = crc32c(0, p, crc_off);
	crc = crc32c(crc, zero, sizeof(zero));
	return crc32c(crc, p + crc_off + 4, len - crc_off - 4);
}
