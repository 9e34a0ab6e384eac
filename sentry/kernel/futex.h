/* Futexes (futex(2)): tasks sleeping on a 32-bit word of guest memory until another wakes them. */
#ifndef RUNSC_SENTRY_KERNEL_FUTEX_H
#define RUNSC_SENTRY_KERNEL_FUTEX_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct task;

/* FUTEX_WAIT/WAIT_BITSET: sleeps while the word at `addr` holds `val`, until woken (0), the
 * deadline passes (-ETIMEDOUT; NULL: none), or a signal (-ERESTARTSYS). -EAGAIN if the word
 * differs, -EFAULT for a bad address, -EINVAL for a zero bitset. */
long futex_wait(struct task *t, uint64_t addr, bool private_, uint32_t val, uint32_t bitset,
                const struct timespec *deadline);
/* FUTEX_WAKE/WAKE_BITSET: wakes up to `n` waiters whose bitset meets `bitset`. */
long futex_wake(struct task *t, uint64_t addr, bool private_, int n, uint32_t bitset);
/* FUTEX_REQUEUE/CMP_REQUEUE: wakes `n` and moves up to `n2` more to `addr2` (after checking the
 * word against `val` when `cmp`). Returns how many were woken and moved. */
long futex_requeue(struct task *t, uint64_t addr, uint64_t addr2, bool private_, int n, int n2,
                   bool cmp, uint32_t val);
/* FUTEX_WAKE_OP: applies `op` to the word at addr2, wakes n at addr, and n2 at addr2 if the
 * op's comparison with the old value holds. */
long futex_wake_op(struct task *t, uint64_t addr, uint64_t addr2, bool private_, int n, int n2,
                   uint32_t op);
/* A thread ends or execs: marks the robust futexes it holds FUTEX_OWNER_DIED and wakes a
 * waiter of each (futex_robust.c). Uses and clears t->robust_list; needs t->mm. */
void futex_exit_robust_list(struct task *t);

#endif
