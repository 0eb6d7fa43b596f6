// SPDX-License-Identifier: MIT
/*
 * Pre-zeroing (UDAX_MOUNT_PREZERO): a thread zeroes freed 2 MiB groups so
 * that the next allocation of one needs no zeroing (alloc_huge).
 *
 * A group below the zero mark that was used and freed holds old data, and
 * its next allocation zeroes it before its extent becomes durable (zero_stale
 * in file.c): about 90 us for 2 MiB here, on the critical path of the write
 * or fault that allocates. The worker does that work ahead of time, on
 * groups that are wholly free and below the durable zero mark, and records
 * the zeroed ones in a bitmap in memory. Nothing of it is on the media: after
 * a remount or a crash every such group is zeroed again when allocated, as
 * without the flag, so the bitmap never has to be recovered.
 *
 * Why a zeroed group stays zero until it is allocated: nothing writes a free
 * block. Blocks are freed only after every mapping of them is gone and no pin
 * holds them (dax_break_layout), metadata is written only into allocated
 * blocks, and the lockless read path only reads.
 *
 * Locking. The bitmap, the claim and the cursor are under fs->lock, which the
 * worker holds only to pick a group and to record it, never while zeroing.
 * While the worker zeroes group @claimed, allocators pass over it; only an
 * allocation that finds no other room takes it back (prezero_steal): it sets
 * @steal, and the worker, which checks @steal before each chunk, stops and
 * clears @busy; the thief waits for that with fs->lock held, which the
 * worker does not need until after it has cleared @busy. The stolen group is
 * then zeroed by its allocation as usual.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/err.h"
#include "pmem/pmem.h"
#include "fs/fs.h"
#include "fs/udaxfs.h"

#define NONE	      UINT64_MAX
#define CHUNK	      (64u << 10) /* bytes zeroed between two looks at @steal */
#define SCAN_PER_LOCK 4096u	  /* groups looked at per hold of fs->lock */

struct prezero {
	pthread_t thread;
	pid_t pid;	     /* the worker's process: a forked child has no worker */
	pthread_cond_t work; /* freed blocks, or stop */
	uint64_t *zero;	     /* a bit per group: free, below the mark, zeroed */
	uint64_t nzero;
	uint64_t claimed; /* the group being zeroed, or NONE */
	uint64_t cursor;  /* where the next scan starts */
	uint64_t idle;	  /* groups scanned since the last one found */
	bool stop;
	_Atomic bool steal, busy;
};

static bool test_bit(const uint64_t *map, uint64_t g)
{
	return map[g / 64] >> (g % 64) & 1;
}

/* A group the worker may zero: wholly free, wholly below the durable mark, not zeroed yet. */
static bool wants_zeroing(struct udaxfs *fs, uint64_t g)
{
	return (g + 1) * UDAXFS_PMD_BLOCKS <= fs->sb.zero_start && !test_bit(fs->pz->zero, g) &&
	       g * UDAXFS_PMD_BLOCKS >= fs->sb.data_start && alloc_group_is_free(fs, g);
}

/* Caller holds fs->lock, with no transaction open. Up to SCAN_PER_LOCK groups. */
static bool pick(struct udaxfs *fs, uint64_t *g)
{
	struct prezero *pz = fs->pz;
	uint64_t n = alloc_ngroups(fs);

	for (unsigned i = 0; i < SCAN_PER_LOCK && pz->idle < n; i++, pz->idle++) {
		uint64_t cand = pz->cursor;

		pz->cursor = (pz->cursor + 1) % n;
		if (wants_zeroing(fs, cand)) {
			*g = cand;
			pz->idle = 0;
			return true;
		}
	}
	return false;
}

/* Zeroes group @g unless stolen meanwhile; true if all of it is zero and durable. */
static bool zero_group(struct udaxfs *fs, uint64_t g)
{
	struct prezero *pz = fs->pz;
	uint8_t *p = fs->base + blk_off(g * UDAXFS_PMD_BLOCKS);
	uint64_t done = 0;

	while (done < PMD_BYTES && !atomic_load(&pz->steal)) {
		pmem_memset_nodrain(fs->pm, p + done, 0, CHUNK);
		done += CHUNK;
	}
	pmem_drain(fs->pm);
	atomic_store(&pz->busy, false); /* no store into @g follows */
	return done == PMD_BYTES;
}

static void *worker(void *arg)
{
	struct udaxfs *fs = arg;
	struct prezero *pz = fs->pz;
	uint64_t g;
	bool zeroed;

	pthread_mutex_lock(&fs->lock);
	while (!pz->stop) {
		if (!pick(fs, &g)) {
			if (pz->idle >= alloc_ngroups(fs))
				pthread_cond_wait(&pz->work, &fs->lock);
			else { /* a long scan lets the file system in between */
				pthread_mutex_unlock(&fs->lock);
				sched_yield();
				pthread_mutex_lock(&fs->lock);
			}
			continue;
		}
		pz->claimed = g;
		atomic_store(&pz->steal, false);
		atomic_store(&pz->busy, true);
		pthread_mutex_unlock(&fs->lock);
		zeroed = zero_group(fs, g);
		pthread_mutex_lock(&fs->lock);
		if (zeroed && pz->claimed == g) {
			pz->zero[g / 64] |= 1ull << (g % 64);
			pz->nzero++;
		}
		pz->claimed = NONE;
	}
	pthread_mutex_unlock(&fs->lock);
	return NULL;
}

int udaxfs_prezero(struct udaxfs *fs)
{
	struct prezero *pz = calloc(1, sizeof(*pz));
	sigset_t all, old;
	int err;

	if (pz)
		pz->zero = calloc((alloc_ngroups(fs) + 63) / 64, sizeof(*pz->zero));
	if (!pz || !pz->zero) {
		free(pz);
		return udax_err(ENOMEM, "pre-zeroing: bitmap of %llu groups",
				(unsigned long long)alloc_ngroups(fs));
	}
	pz->claimed = NONE;
	pz->pid = getpid();
	pthread_cond_init(&pz->work, NULL);
	/* the application's signals are not for this thread: it starts with all blocked */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_mutex_lock(&fs->lock);
	fs->pz = pz;
	err = pthread_create(&pz->thread, NULL, worker, fs);
	if (err)
		fs->pz = NULL;
	else
		pthread_setname_np(pz->thread, "udax-prezero");
	pthread_mutex_unlock(&fs->lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pthread_cond_destroy(&pz->work);
		free(pz->zero);
		free(pz);
		return udax_err(err, "pre-zeroing: cannot start its thread");
	}
	return 0;
}

void prezero_stop(struct udaxfs *fs)
{
	struct prezero *pz = fs->pz;

	if (!pz)
		return;
	pthread_mutex_lock(&fs->lock);
	pz->stop = true;
	atomic_store(&pz->steal, true); /* end a zeroing in progress early */
	pthread_cond_signal(&pz->work);
	pthread_mutex_unlock(&fs->lock);
	pthread_join(pz->thread, NULL);
	fs->pz = NULL;
	pthread_cond_destroy(&pz->work);
	free(pz->zero);
	free(pz);
}

void prezero_freed(struct udaxfs *fs)
{
	if (fs->pz) {
		fs->pz->idle = 0;
		pthread_cond_signal(&fs->pz->work);
	}
}

void prezero_used(struct udaxfs *fs, uint64_t blk, uint64_t len)
{
	struct prezero *pz = fs->pz;

	if (!pz || !len)
		return;
	for (uint64_t g = blk / UDAXFS_PMD_BLOCKS; g <= (blk + len - 1) / UDAXFS_PMD_BLOCKS; g++)
		if (test_bit(pz->zero, g)) {
			pz->zero[g / 64] &= ~(1ull << (g % 64));
			pz->nzero--;
		}
}

bool prezero_take(struct udaxfs *fs, uint64_t *g)
{
	struct prezero *pz = fs->pz;
	uint64_t words = (alloc_ngroups(fs) + 63) / 64;

	if (!pz || !pz->nzero)
		return false;
	for (uint64_t w = 0; w < words; w++)
		if (pz->zero[w]) {
			*g = w * 64 + (uint64_t)__builtin_ctzll(pz->zero[w]);
			return alloc_group_is_free(fs,
						   *g); /* always, unless the rules above broke */
		}
	return false;
}

bool prezero_is_zero(struct udaxfs *fs, uint64_t g)
{
	return fs->pz && test_bit(fs->pz->zero, g);
}

bool prezero_busy(struct udaxfs *fs, uint64_t g)
{
	return fs->pz && fs->pz->claimed == g;
}

bool prezero_steal(struct udaxfs *fs)
{
	struct prezero *pz = fs->pz;

	if (!pz || pz->claimed == NONE || pz->pid != getpid())
		return false;
	atomic_store(&pz->steal, true);
	while (atomic_load(&pz->busy))
		sched_yield(); /* at most one CHUNK of stores away */
	pz->claimed = NONE;
	return true;
}

uint64_t prezero_count(struct udaxfs *fs)
{
	return fs->pz ? fs->pz->nzero : 0;
}
