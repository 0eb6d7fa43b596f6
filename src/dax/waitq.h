/* SPDX-License-Identifier: MIT */
/*
 * Entry lock wait queues: the kernel's hashed wait_table[] of fs/dax.c, in the
 * arena, across processes.
 *
 * A waiter is keyed by (mapping number, first index of the entry it waits on);
 * the bucket is chosen by (mapping number, PMD-aligned index), so every key of
 * one 2 MiB range shares a bucket. A bucket holds a FIFO of waiter records; a
 * wake walks it and wakes only records with the waker's key, so a wake-one is
 * never swallowed by a waiter of another key (wake_exceptional_entry_func).
 * Each record has its own futex word, which only its owner sleeps on.
 */
#ifndef UDAX_DAX_WAITQ_H
#define UDAX_DAX_WAITQ_H

#include "dax/arena.h"

struct dax_wait_key {
	uint32_t mapping;
	uint64_t start;
};

enum dax_wake_mode {
	DAX_WAKE_NEXT, /* one waiter: the entry was unlocked */
	DAX_WAKE_ALL,  /* every waiter: the entry was deleted, replaced or downgraded */
};

/*
 * Queues the calling thread as an exclusive waiter for @key
 * (prepare_to_wait_exclusive). The caller holds the mapping lock, has seen the
 * entry locked, and drops the lock before dax_wait_sleep(): the unlocker takes
 * the mapping lock before it wakes, so it finds the waiter queued.
 * -EAGAIN when every waiter record is in use.
 */
int dax_wait_enqueue(struct dax_arena *a, struct dax_wait_key key, uint32_t *waiter);
/* Sleeps until a wake for the key dequeues @waiter, then frees the record. */
void dax_wait_sleep(struct dax_arena *a, uint32_t waiter);
/* Wakes the first (DAX_WAKE_NEXT) or every waiter queued for @key. */
void dax_wake(struct dax_arena *a, struct dax_wait_key key, enum dax_wake_mode mode);

#endif
