// SPDX-License-Identifier: MIT
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dax/futex.h"

#define DAX_MUTEX_SPINS 200

/* Tells the CPU we are spinning (frees the sibling hyperthread, saves power). */
static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

void dax_futex_wait(_Atomic uint32_t *word, uint32_t val)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, val, NULL, NULL, 0);
}

void dax_futex_wake(_Atomic uint32_t *word, int nr)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, nr, NULL, NULL, 0);
}

static int mutex_trylock(struct dax_mutex *mu)
{
	uint32_t unlocked = 0;

	return atomic_compare_exchange_strong_explicit(&mu->state, &unlocked, 1,
						       memory_order_acquire, memory_order_relaxed);
}

void dax_mutex_lock(struct dax_mutex *mu)
{
	/* Spin reading (not writing) the word while a short holder finishes. */
	for (int i = 0; i < DAX_MUTEX_SPINS; i++) {
		if (atomic_load_explicit(&mu->state, memory_order_relaxed) == 0 &&
		    mutex_trylock(mu))
			return;
		cpu_relax();
	}
	while (atomic_exchange_explicit(&mu->state, 2, memory_order_acquire) != 0)
		dax_futex_wait(&mu->state, 2);
}

void dax_mutex_unlock(struct dax_mutex *mu)
{
	if (atomic_exchange_explicit(&mu->state, 0, memory_order_release) == 2)
		dax_futex_wake(&mu->state, 1);
}
