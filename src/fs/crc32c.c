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
/*
 * Three interleaved streams: the crc32 instruction has a latency of three
 * cycles and a throughput of one, so a 4 KiB block is checksummed as three
 * independent runs whose registers are then combined. Combining shifts a
 * register over the bytes that follow it, which is multiplying it by a fixed
 * GF(2) operator: "append N zero bytes", turned into four byte tables.
 */
#define STRIDE_LONG  1024u
#define STRIDE_SHORT 128u
#define STRIDE_TINY  64u /* an inode (256 bytes) is three of these and a tail */

static uint32_t zeros_long[4][256], zeros_short[4][256], zeros_tiny[4][256];

static uint32_t gf2_times(const uint32_t *mat, uint32_t vec)
{
	uint32_t sum = 0;

	for (; vec; vec >>= 1, mat++)
		if (vec & 1)
			sum ^= *mat;
	return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *mat)
{
	for (int n = 0; n < 32; n++)
		square[n] = gf2_times(mat, mat[n]);
}

/* Tables of the operator that appends @len (a power of two) zero bytes. */
static void build_zeros(uint32_t zeros[4][256], size_t len)
{
	uint32_t odd[32], even[32], *op = even;

	odd[0] = CRC32C_POLY; /* one zero bit */
	for (int n = 1; n < 32; n++)
		odd[n] = 1u << (n - 1);
	gf2_square(even, odd); /* two bits */
	gf2_square(odd, even); /* four bits */
	for (;;) {
		gf2_square(even, odd); /* 8, 32, ... bits: 1, 4, ... bytes */
		op = even;
		len >>= 1;
		if (!len)
			break;
		gf2_square(odd, even);
		op = odd;
		len >>= 1;
		if (!len)
			break;
	}
	for (uint32_t n = 0; n < 256; n++)
		for (int k = 0; k < 4; k++)
			zeros[k][n] = gf2_times(op, n << (8 * k));
}

static uint32_t shift(uint32_t zeros[4][256], uint32_t crc)
{
	return zeros[0][crc & 0xff] ^ zeros[1][(crc >> 8) & 0xff] ^ zeros[2][(crc >> 16) & 0xff] ^
	       zeros[3][crc >> 24];
}

__attribute__((target("sse4.2"))) static uint64_t
crc32c_3way(uint32_t zeros[4][256], uint64_t c0, const uint8_t **pp, size_t *len, size_t stride)
{
	const uint8_t *p = *pp;

	for (; *len >= 3 * stride; *len -= 3 * stride, p += 3 * stride) {
		uint64_t c1 = 0, c2 = 0, w0, w1, w2;

		for (size_t i = 0; i < stride; i += 8) {
			memcpy(&w0, p + i, 8);
			memcpy(&w1, p + stride + i, 8);
			memcpy(&w2, p + 2 * stride + i, 8);
			c0 = _mm_crc32_u64(c0, w0);
			c1 = _mm_crc32_u64(c1, w1);
			c2 = _mm_crc32_u64(c2, w2);
		}
		c0 = shift(zeros, (uint32_t)c0) ^ c1;
		c0 = shift(zeros, (uint32_t)c0) ^ c2;
	}
	*pp = p;
	return c0;
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *p,
							       size_t len)
{
	uint64_t c = crc, w;

	c = crc32c_3way(zeros_long, c, &p, &len, STRIDE_LONG);
	c = crc32c_3way(zeros_short, c, &p, &len, STRIDE_SHORT);
	c = crc32c_3way(zeros_tiny, c, &p, &len, STRIDE_TINY);
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
	if (__builtin_cpu_supports("sse4.2")) {
		build_zeros(zeros_long, STRIDE_LONG);
		build_zeros(zeros_short, STRIDE_SHORT);
		build_zeros(zeros_tiny, STRIDE_TINY);
		crc32c_fn = crc32c_sse42;
	}
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
