/* The kernel's timer service: one sentry thread sleeps until the earliest armed deadline and
 * calls each expired timer's function. Timer files (timerfd) use it to wake their waiters; any
 * kernel timer (ITIMER_REAL, POSIX timers) can. Deadlines are CLOCK_MONOTONIC nanoseconds.
 *
 * Lock order: a user's own lock may be held across ktimer_arm and ktimer_cancel (the service's
 * lock is a leaf); `fire` runs with no service lock held, so it may arm timers, but it must not
 * take a lock its owner holds while cancelling it. */
#ifndef RUNSC_SENTRY_KERNEL_KTIMER_H
#define RUNSC_SENTRY_KERNEL_KTIMER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct ktimer;
typedef void (*ktimer_fire_fn)(struct ktimer *kt);

struct ktimer {
    ktimer_fire_fn fire; /* immutable after ktimer_init */
    int64_t deadline_ns; /* the service's lock */
    size_t heap_slot;    /* index + 1 in the service's heap, 0 when not armed; service lock */
};

void ktimer_init(struct ktimer *kt, ktimer_fire_fn fire);
/* Arms (or re-arms) the timer for `deadline_ns`; a deadline already past fires at once.
 * 0, or -ENOMEM / -EAGAIN when the service can't grow or start. */
int ktimer_arm(struct ktimer *kt, int64_t deadline_ns);
/* Disarms the timer and waits for a `fire` of it in progress to finish: after this returns
 * the timer's memory may be freed. Never call it from the timer's own `fire`. */
void ktimer_cancel(struct ktimer *kt);
/* CLOCK_MONOTONIC now, in nanoseconds. */
int64_t ktimer_now_ns(void);

/* A guest's time as nanoseconds, saturating at INT64_MAX as Linux's ktime_set does (huge
 * values are valid timeouts, just far ones), and a sum that saturates the same way. */
int64_t ktimer_ts_ns(const struct timespec *ts);
static inline int64_t ktimer_ns_add(int64_t a, int64_t b)
{
    int64_t sum;
    return __builtin_add_overflow(a, b, &sum) ? (b > 0 ? INT64_MAX : INT64_MIN) : sum;
}

/* Relative timeouts longer than this many seconds (about 136 years) wait that long: Linux
 * saturates its deadlines too (timespec64_add_safe), and no guest can tell the difference. */
#define KTIMER_TIMEOUT_MAX_SEC (1LL << 32)
/* CLOCK_MONOTONIC now plus `rel` (tv_sec >= 0, 0 <= tv_nsec < 1e9), saturating as above: the
 * absolute deadline of a guest's relative timeout. */
struct timespec ktimer_deadline_after(const struct timespec *rel);

#endif
