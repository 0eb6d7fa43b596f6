/*
 * entry_lock.pml - the entry lock wait/wake protocol of entry_lock.c and
 * waitq.c, checked with spin for deadlocks and lost wake-ups.
 *
 * One 2 MiB range: a PMD entry (key 0, its first index) and PTE entries at
 * indices 1 and 2 (keys 1 and 2). Every key hashes to the same wait bucket, the
 * worst case for a wake-one that must skip waiters of other keys. A step of a
 * process inside "atomic" is one critical section under the mapping lock;
 * wakes happen after it, as in the code. A waiter queues itself inside the
 * critical section that saw the entry locked, then sleeps until a wake for its
 * key dequeues it, then looks again.
 *
 * The processes: PTE faults at index 1 and twice at index 2, a PMD fault and
 * an invalidation at index 1 - the smallest set found that exposes each broken
 * variant below (a run of the correct model takes about a second).
 *
 * Every process performs one operation and ends, so a wake-up lost for good
 * leaves its waiter asleep after all others ended: spin reports an invalid end
 * state. Assertions check that entry locks exclude each other.
 *
 * Broken variants (spin -DBROKEN_...):
 *   BROKEN_PMD_WAIT_ON_PTE   a PMD fault sleeps on a locked PTE entry, keyed by
 *                            the PMD index (seed 004, before 23c84eb78375)
 *   BROKEN_WAKE_ONE_ON_DELETE  deletion wakes one waiter instead of all
 *   BROKEN_WAKE_ANY_KEY      wake-one takes the first waiter of the bucket,
 *                            whatever its key (a bare shared futex word)
 */

#define NPROC   5
#define PMD_KEY 0

#ifdef BROKEN_WAKE_ONE_ON_DELETE
#define DELETE_WAKES_ALL false
#else
#define DELETE_WAKES_ALL true
#endif
#ifdef BROKEN_WAKE_ANY_KEY
#define KEY_MATCHES(w, k) (wkey[w] == k || !all)
#else
#define KEY_MATCHES(w, k) (wkey[w] == k)
#endif

bool pmd_present, pmd_locked, pmd_normal;
bool pte_present[3], pte_locked[3]; /* indices 1 and 2 */
byte pmd_holders, pte_holders[3];

/* The bucket: FIFO of sleeping process numbers, with their keys. */
byte q[NPROC];
byte qlen;
byte wkey[NPROC];
bool woken[NPROC];

inline enqueue(me, k)
{
	q[qlen] = me;
	qlen++;
	wkey[me] = k;
	woken[me] = false
}

/* dax_wake: dequeue and wake the first (all == false) or every waiter of key k. */
inline wake(k, all)
{
	atomic {
		i = 0;
		do
		:: i < qlen && KEY_MATCHES(q[i], k) ->
			woken[q[i]] = true;
			j = i;
			do
			:: j + 1 < qlen -> q[j] = q[j + 1]; j++
			:: else -> break
			od;
			qlen--;
			if
			:: !all -> break
			:: else -> skip
			fi
		:: i < qlen && !KEY_MATCHES(q[i], k) -> i++
		:: else -> break
		od;
		i = 0;
		j = 0
	}
}

inline hold_pte(idx)
{
	atomic {
		assert(pte_holders[idx] == 0 && pmd_holders == 0);
		pte_holders[idx]++
	};
	pte_holders[idx]--
}

inline hold_pmd()
{
	atomic {
		assert(pmd_holders == 0 && pte_holders[1] == 0 && pte_holders[2] == 0);
		pmd_holders++
	};
	pmd_holders--
}

/* dax_grab_entry(order 0) at idx, hold the entry, dax_unlock_entry. */
proctype pte_fault(byte me; byte idx)
{
	byte i, j;
	bool got_pmd;
retry:
	atomic {
		if
		:: pmd_present && pmd_locked -> enqueue(me, PMD_KEY); goto sleep
		:: pmd_present && !pmd_locked && pmd_normal -> pmd_locked = true; got_pmd = true
		:: pmd_present && !pmd_locked && !pmd_normal ->
			/* downgrade the empty PMD entry */
			pmd_present = false;
			goto downgraded
		:: !pmd_present && pte_present[idx] && pte_locked[idx] -> enqueue(me, idx); goto sleep
		:: !pmd_present && pte_present[idx] && !pte_locked[idx] -> pte_locked[idx] = true
		:: !pmd_present && !pte_present[idx] -> pte_present[idx] = true; pte_locked[idx] = true
		fi
	};
	if
	:: got_pmd ->
		hold_pmd();
		pmd_locked = false;
		wake(PMD_KEY, false)
	:: else ->
		hold_pte(idx);
		pte_locked[idx] = false;
		wake(idx, false)
	fi;
	goto done;
downgraded:
	wake(PMD_KEY, true);
	goto retry;
sleep:
	woken[me];
	goto retry;
done:
	skip
}

/* dax_grab_entry(PMD order), then the entry is filled (or left a hole) and unlocked. */
proctype pmd_fault(byte me)
{
	byte i, j;
retry:
	atomic {
		if
		:: pte_present[1] || pte_present[2] ->
#ifdef BROKEN_PMD_WAIT_ON_PTE
			if
			:: (pte_present[1] && pte_locked[1]) ||
			   (!pte_present[1] && pte_locked[2]) -> enqueue(me, PMD_KEY); goto sleep
			:: else -> goto done
			fi
#else
			goto done /* FALLBACK, without waiting */
#endif
		:: else ->
			if
			:: pmd_present && pmd_locked -> enqueue(me, PMD_KEY); goto sleep
			:: pmd_present && !pmd_locked -> pmd_locked = true
			:: !pmd_present -> pmd_present = true; pmd_locked = true
			fi
		fi
	};
	hold_pmd();
	if
	:: pmd_normal = true
	:: skip
	fi;
	pmd_locked = false;
	wake(PMD_KEY, false);
	goto done;
sleep:
	woken[me];
	goto retry;
done:
	skip
}

/* dax_delete_entry at idx: waits for the entry covering it, removes it, wakes. */
proctype deleter(byte me; byte idx)
{
	byte i, j;
retry:
	atomic {
		if
		:: pmd_present && pmd_locked -> enqueue(me, PMD_KEY); goto sleep
		:: pmd_present && !pmd_locked ->
			pmd_present = false;
			pmd_normal = false;
			goto deleted_pmd
		:: !pmd_present && pte_present[idx] && pte_locked[idx] -> enqueue(me, idx); goto sleep
		:: !pmd_present && pte_present[idx] && !pte_locked[idx] ->
			pte_present[idx] = false;
			goto deleted_pte
		:: !pmd_present && !pte_present[idx] -> goto done
		fi
	};
deleted_pmd:
	wake(PMD_KEY, DELETE_WAKES_ALL);
	goto done;
deleted_pte:
	wake(idx, DELETE_WAKES_ALL);
	goto done;
sleep:
	woken[me];
	goto retry;
done:
	skip
}

init
{
	atomic {
		run pte_fault(0, 1);
		run pte_fault(1, 2);
		run pte_fault(2, 2);
		run pmd_fault(3);
		run deleter(4, 1)
	}
}
