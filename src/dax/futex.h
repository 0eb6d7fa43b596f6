/* SPDX-License-Identifier: MIT */
/*
 * Futex words and a futex mutex for arena memory.
 *
 * Every operation uses the shared (non-private) futex ops, because an arena may
 * be mapped MAP_SHARED by several processes. Nothing here allocates or uses
 * stdio, so all of it may run in a SIGSEGV handler.
 */
#ifndef UDAX_DAX_FUTEX_H
#define UDAX_DAX_FUTEX_H

#include <stdatomic.h>
#include <stdint.h>

/* Sleeps while *word == val (returns at once if it differs; may wake spuriously). */
void dax_futex_wait(_Atomic uint32_t *word, uint32_t val);
/* Wakes up to nr sleepers of word. */
void dax_futex_wake(_Atomic uint32_t *word, int nr);

/*
 * struct dax_mutex - a mutex that lives in arena memory (zero = unlocked).
 * state: 0 unlocked, 1 locked, 2 locked with possible sleepers. It spins briefly,
 * then sleeps on the state word. Not recursive: see docs/dax-index.md for why a
 * fault handler can never find its own thread holding one.
 */
struct dax_mutex {
	_Atomic uint32_t state;
};

void dax_mutex_lock(struct dax_mutex *mu);
void dax_mutex_unlock(struct dax_mutex *mu);

#endif
