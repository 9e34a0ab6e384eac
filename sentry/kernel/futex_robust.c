/* Robust futexes (set_robust_list(2)): when a thread ends or execs, every lock on its robust list
 * that it still holds gets FUTEX_OWNER_DIED and one waiter woken, so the next locker learns of
 * the death (EOWNERDEAD) instead of waiting forever. The list is guest memory: each word is read
 * through mm_copy_in and changed through mm_word_op, and the walk is bounded. */
#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>

#include "sentry/kernel/futex.h"
#include "sentry/kernel/kernel.h"
#include "sentry/mm/mm.h"

/* Linux's ROBUST_LIST_LIMIT: at most this many entries are walked (a looping list ends too). */
#define ROBUST_WALK_LIMIT 2048

struct death_arg {
    uint32_t tid;
    bool pi;
    bool pending; /* the list_op_pending entry: the thread may have been taking the lock */
};

/* Linux's handle_futex_death on the word itself, atomically against guest threads: 1 when a
 * waiter must be woken, 0 otherwise. */
static long mark_owner_died(uint32_t *word, void *arg)
{
    const struct death_arg *d = arg;
    /* Relaxed load; the CAS below is sequentially consistent, as the kernel's cmpxchg. */
    uint32_t old = __atomic_load_n(word, __ATOMIC_RELAXED);

    for (;;) {
        /* A lock being taken when the thread died and not yet owned: a waiter may have been
         * meant to be woken by it. */
        if (d->pending && !d->pi && old == 0)
            return 1;
        if ((old & FUTEX_TID_MASK) != d->tid)
            return 0;
        uint32_t new_val = (old & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
        if (__atomic_compare_exchange_n(word, &old, new_val, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED))
            return !d->pi && (old & FUTEX_WAITERS);
    }
}

static void handle_death(struct task *t, uint64_t addr, bool pi, bool pending)
{
    struct death_arg d = {.tid = (uint32_t)t->tid, .pi = pi, .pending = pending};
    uint64_t off;

    if (addr & 3)
        return; /* misaligned: Linux ignores it */
    if (mm_word_op(t->mm, addr, true, &off, mark_owner_died, &d) == 1)
        /* The kernel wakes robust futexes as shared ones (glibc waits on them so). */
        futex_wake(t, addr, false, 1, FUTEX_BITSET_MATCH_ANY);
}

/* Reads a list pointer: the entry, and its low bit as the PI flag. */
static int fetch_entry(struct task *t, uint64_t addr, uint64_t *entry, bool *pi)
{
    uint64_t v;

    if (mm_copy_in(t->mm, addr, &v, sizeof(v)) != 0)
        return -EFAULT;
    *entry = v & ~1ULL;
    *pi = v & 1;
    return 0;
}

void futex_exit_robust_list(struct task *t)
{
    uint64_t head = t->robust_list, entry, next, pending;
    int64_t offset;
    bool pi, next_pi, pending_pi;

    if (!head || !t->mm)
        return;
    t->robust_list = 0;
    /* struct robust_list_head: list.next, futex_offset, list_op_pending. */
    if (fetch_entry(t, head, &entry, &pi) != 0 ||
        mm_copy_in(t->mm, head + 8, &offset, sizeof(offset)) != 0 ||
        fetch_entry(t, head + 16, &pending, &pending_pi) != 0)
        return;
    for (int limit = ROBUST_WALK_LIMIT; entry != head && limit > 0; limit--) {
        int err = fetch_entry(t, entry, &next, &next_pi);
        /* The pending entry is handled last, once. */
        if (entry != pending)
            handle_death(t, entry + (uint64_t)offset, pi, false);
        if (err)
            return;
        entry = next;
        pi = next_pi;
    }
    if (pending)
        handle_death(t, pending + (uint64_t)offset, pending_pi, true);
}
