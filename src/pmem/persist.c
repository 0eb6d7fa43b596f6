// SPDX-License-Identifier: MIT
/*
 * Persistence primitives: cache-line flushes, fences, msync, and copies that
 * leave their destination persistent. Everything here is async-signal-safe:
 * no locks, no allocation, only instructions and raw system calls.
 */
#include <cpuid.h>
#include <emmintrin.h>
#include <string.h>
#include <sys/mman.h>

#include "pmem/pmem_internal.h"

#if !defined(__x86_64__)
#error "the pmem layer implements x86-64 cache flushing only"
#endif

#define CACHE_LINE 64ul

static atomic_int detected_insn = -1;

/* clwb keeps the line cached, clflushopt is unordered, clflush is the serialized fallback. */
enum pmem_flush_insn pmem_detect_flush_insn(void)
{
	unsigned a, b, c, d;
	int insn = atomic_load_explicit(&detected_insn, memory_order_relaxed);

	if (insn >= 0)
		return (enum pmem_flush_insn)insn;
	insn = PMEM_INSN_NONE;
	if (__get_cpuid(1, &a, &b, &c, &d) && (d & (1u << 19)) /* CLFSH */)
		insn = PMEM_INSN_CLFLUSH;
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
		if (b & bit_CLFLUSHOPT)
			insn = PMEM_INSN_CLFLUSHOPT;
		if (b & bit_CLWB)
			insn = PMEM_INSN_CLWB;
	}
	atomic_store_explicit(&detected_insn, insn, memory_order_relaxed);
	return (enum pmem_flush_insn)insn;
}

/* One loop per instruction: the choice is made once per call, not per line. */
#define FLUSH_LINES(insn, p, end)                                                                  \
	do {                                                                                       \
		for (; (p) < (end); (p) += CACHE_LINE)                                             \
			__asm__ volatile(insn " %0" : "+m"(*(volatile char *)(p)));                \
	} while (0)

void pmem_flush_lines(enum pmem_flush_insn insn, const void *addr, size_t len)
{
	uintptr_t p = (uintptr_t)addr & ~(CACHE_LINE - 1);
	uintptr_t end = (uintptr_t)addr + len;

	switch (insn) {
	case PMEM_INSN_CLWB:
		FLUSH_LINES("clwb", p, end);
		break;
	case PMEM_INSN_CLFLUSHOPT:
		FLUSH_LINES("clflushopt", p, end);
		break;
	case PMEM_INSN_CLFLUSH:
		FLUSH_LINES("clflush", p, end);
		break;
	case PMEM_INSN_NONE:
		break;
	}
}

static void msync_range(const void *addr, size_t len)
{
	uintptr_t start = (uintptr_t)addr & ~(PMEM_PAGE_SIZE - 1);

	/* a void interface: a write-back error resurfaces at the next fsync of the file */
	(void)msync((void *)start, (uintptr_t)addr + len - start, MS_SYNC);
}

static void flush_media(const struct pmem *pm, const void *addr, size_t len)
{
	if (!len)
		return;
	if (pm->info.method == PMEM_METHOD_FLUSH)
		pmem_flush_lines(pm->info.insn, addr, len);
	else if (pm->info.method == PMEM_METHOD_MSYNC)
		msync_range(addr, len);
}

/*
 * The power-loss recorder's hooks: one predictable branch when none is
 * attached. They follow what the caller asked for, whatever the method does,
 * so the model is the same on every backing.
 */
static inline bool recording(const struct pmem *pm)
{
	return __builtin_expect(pm->rec != NULL, 0);
}

static void record_flush(const struct pmem *pm, const void *addr, size_t len)
{
	if (recording(pm) && len)
		pmem_record_flush(pm->rec, addr, len);
}

void pmem_flush(const struct pmem *pm, const void *addr, size_t len)
{
	flush_media(pm, addr, len);
	record_flush(pm, addr, len);
}

void pmem_drain(const struct pmem *pm)
{
	if (recording(pm))
		pmem_record_fence(pm->rec);
	if (pm->info.method == PMEM_METHOD_FLUSH || pm->info.method == PMEM_METHOD_FENCE)
		_mm_sfence();
}

void pmem_persist(const struct pmem *pm, const void *addr, size_t len)
{
	pmem_flush(pm, addr, len);
	pmem_drain(pm);
}

/* A destination split into a partial first line, whole lines, and a partial last line. */
struct line_split {
	size_t head, body, tail;
};

static struct line_split split_lines(const void *dst, size_t len)
{
	struct line_split s;
	size_t mis = (uintptr_t)dst & (CACHE_LINE - 1);

	s.head = mis ? CACHE_LINE - mis : 0;
	if (s.head > len)
		s.head = len;
	s.body = (len - s.head) & ~(CACHE_LINE - 1);
	s.tail = len - s.head - s.body;
	return s;
}

static void stream_copy_lines(char *dst, const char *src, size_t len)
{
	for (size_t i = 0; i < len; i += CACHE_LINE) {
		const __m128i *s = (const __m128i *)(src + i);
		__m128i *d = (__m128i *)(dst + i);
		__m128i x0 = _mm_loadu_si128(s), x1 = _mm_loadu_si128(s + 1);
		__m128i x2 = _mm_loadu_si128(s + 2), x3 = _mm_loadu_si128(s + 3);

		_mm_stream_si128(d, x0);
		_mm_stream_si128(d + 1, x1);
		_mm_stream_si128(d + 2, x2);
		_mm_stream_si128(d + 3, x3);
	}
}

static void stream_set_lines(char *dst, int c, size_t len)
{
	__m128i x = _mm_set1_epi8((char)c);

	for (size_t i = 0; i < len; i += CACHE_LINE) {
		__m128i *d = (__m128i *)(dst + i);

		_mm_stream_si128(d, x);
		_mm_stream_si128(d + 1, x);
		_mm_stream_si128(d + 2, x);
		_mm_stream_si128(d + 3, x);
	}
}

void pmem_copy_temporal(const struct pmem *pm, void *dst, const void *src, size_t len)
{
	memcpy(dst, src, len);
	pmem_flush_lines(pm->info.insn, dst, len);
}

/* Whole lines bypass the cache; the partial edge lines are stored normally and flushed. */
void pmem_copy_nt(const struct pmem *pm, void *dst, const void *src, size_t len)
{
	struct line_split s = split_lines(dst, len);
	char *d = dst;
	const char *sp = src;

	pmem_copy_temporal(pm, d, sp, s.head);
	stream_copy_lines(d + s.head, sp + s.head, s.body);
	pmem_copy_temporal(pm, d + s.head + s.body, sp + s.head + s.body, s.tail);
}

static void set_temporal(const struct pmem *pm, void *dst, int c, size_t len)
{
	memset(dst, c, len);
	pmem_flush_lines(pm->info.insn, dst, len);
}

static void set_nt(const struct pmem *pm, void *dst, int c, size_t len)
{
	struct line_split s = split_lines(dst, len);
	char *d = dst;

	set_temporal(pm, d, c, s.head);
	stream_set_lines(d + s.head, c, s.body);
	set_temporal(pm, d + s.head + s.body, c, s.tail);
}

/* Page-cache and volatile backings are copied normally: bypassing the cache buys nothing. */
static bool wants_cache_bypass(const struct pmem *pm, size_t len)
{
	return (pm->info.method == PMEM_METHOD_FLUSH || pm->info.method == PMEM_METHOD_FENCE) &&
	       len >= PMEM_NT_THRESHOLD;
}

void *pmem_memcpy_nodrain(const struct pmem *pm, void *dst, const void *src, size_t len)
{
	if (wants_cache_bypass(pm, len)) {
		pmem_copy_nt(pm, dst, src, len);
	} else {
		memcpy(dst, src, len);
		flush_media(pm, dst, len);
	}
	/* both paths leave the lines pending until the next fence */
	record_flush(pm, dst, len);
	return dst;
}

void *pmem_memset_nodrain(const struct pmem *pm, void *dst, int c, size_t len)
{
	if (wants_cache_bypass(pm, len)) {
		set_nt(pm, dst, c, len);
	} else {
		memset(dst, c, len);
		flush_media(pm, dst, len);
	}
	record_flush(pm, dst, len);
	return dst;
}

void *pmem_memcpy_persist(const struct pmem *pm, void *dst, const void *src, size_t len)
{
	pmem_memcpy_nodrain(pm, dst, src, len);
	pmem_drain(pm);
	return dst;
}

void *pmem_memset_persist(const struct pmem *pm, void *dst, int c, size_t len)
{
	pmem_memset_nodrain(pm, dst, c, len);
	pmem_drain(pm);
	return dst;
}
