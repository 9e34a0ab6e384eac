/* futex(2): argument decoding; the waiting and waking is sentry/kernel/futex.c's. */
#include <errno.h>
#include <linux/futex.h>
#include <time.h>

#include "sentry/kernel/futex.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

/* The timeout argument as a CLOCK_MONOTONIC deadline: relative for FUTEX_WAIT, absolute on the
 * chosen clock for FUTEX_WAIT_BITSET. */
static long futex_deadline(struct task *t, uint64_t addr, bool absolute, bool realtime,
                           struct timespec *deadline)
{
    struct timespec ts, now;

    if (mm_copy_in(t->mm, addr, &ts, sizeof(ts)) != 0)
        return -EFAULT;
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000L)
        return -EINVAL;
    if (absolute) {
        struct timespec clock_now;
        clock_gettime(realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC, &clock_now);
        int64_t rel =
            (ts.tv_sec - clock_now.tv_sec) * 1000000000LL + ts.tv_nsec - clock_now.tv_nsec;
        if (rel < 0)
            rel = 0;
        ts.tv_sec = rel / 1000000000LL;
        ts.tv_nsec = rel % 1000000000LL;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    deadline->tv_sec = now.tv_sec + ts.tv_sec;
    deadline->tv_nsec = now.tv_nsec + ts.tv_nsec;
    if (deadline->tv_nsec >= 1000000000L) {
        deadline->tv_sec++;
        deadline->tv_nsec -= 1000000000L;
    }
    return 0;
}

long sys_futex(struct task *t, const struct syscall_args *a)
{
    uint64_t addr = a->a[0], timeout = a->a[3], addr2 = a->a[4];
    int op = (int)a->a[1], cmd = op & FUTEX_CMD_MASK;
    uint32_t val = (uint32_t)a->a[2], val3 = (uint32_t)a->a[5];
    bool private_ = op & FUTEX_PRIVATE_FLAG, realtime = op & FUTEX_CLOCK_REALTIME;
    struct timespec deadline;
    long err;

    /* FUTEX_CLOCK_REALTIME only means something to the waits with absolute timeouts. */
    if (realtime && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_WAIT)
        return -ENOSYS;
    switch (cmd) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET:
        if (timeout &&
            (err = futex_deadline(t, timeout, cmd == FUTEX_WAIT_BITSET, realtime, &deadline)) != 0)
            return err;
        return futex_wait(t, addr, private_, val, cmd == FUTEX_WAIT ? FUTEX_BITSET_MATCH_ANY : val3,
                          timeout ? &deadline : NULL);
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET:
        return futex_wake(t, addr, private_, (int)val,
                          cmd == FUTEX_WAKE ? FUTEX_BITSET_MATCH_ANY : val3);
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE:
        return futex_requeue(t, addr, addr2, private_, (int)val, (int)timeout,
                             cmd == FUTEX_CMP_REQUEUE, val3);
    case FUTEX_WAKE_OP:
        return futex_wake_op(t, addr, addr2, private_, (int)val, (int)timeout, val3);
    default:
        /* Priority-inheritance futexes are not implemented yet. */
        return -ENOSYS;
    }
}
