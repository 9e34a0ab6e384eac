/* Interval timers: setitimer(2), getitimer(2), alarm(2). ITIMER_REAL runs on wall time,
 * ITIMER_VIRTUAL and ITIMER_PROF on the process's accounted CPU time (posix_timer.c). */
#include <errno.h>
#include <sys/time.h>

#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

static int timeval_to_ts(const struct timeval *tv, struct timespec *ts)
{
    if (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000)
        return -EINVAL;
    ts->tv_sec = tv->tv_sec;
    ts->tv_nsec = tv->tv_usec * 1000;
    return 0;
}

/* Rounds up to whole microseconds, as Linux reports a timer that has not run out. */
static struct timeval ts_to_timeval(const struct timespec *ts)
{
    struct timeval tv = {ts->tv_sec, (ts->tv_nsec + 999) / 1000};
    if (tv.tv_usec >= 1000000) {
        tv.tv_sec++;
        tv.tv_usec -= 1000000;
    }
    return tv;
}

static long check_which(int which)
{
    return which == ITIMER_REAL || which == ITIMER_VIRTUAL || which == ITIMER_PROF ? 0 : -EINVAL;
}

static void itimer_set(struct task *t, int which, const struct timespec *value,
                       const struct timespec *interval, struct timespec *old_value,
                       struct timespec *old_interval)
{
    if (which == ITIMER_REAL)
        itimer_real_set(t, value, interval, old_value, old_interval);
    else
        itimer_cpu_set(t, which, value, interval, old_value, old_interval);
}

long sys_getitimer(struct task *t, const struct syscall_args *a)
{
    struct timespec value, interval;
    long err = check_which((int)a->a[0]);

    if (err)
        return err;
    itimer_set(t, (int)a->a[0], NULL, NULL, &value, &interval);
    struct itimerval out = {ts_to_timeval(&interval), ts_to_timeval(&value)};
    return mm_copy_out(t->mm, a->a[1], &out, sizeof(out));
}

long sys_setitimer(struct task *t, const struct syscall_args *a)
{
    struct itimerval in;
    struct timespec value, interval, old_value, old_interval;
    long err = check_which((int)a->a[0]);

    if (err)
        return err;
    /* A NULL new value disarms (Linux accepts it, with a warning). */
    if (a->a[1]) {
        if (mm_copy_in(t->mm, a->a[1], &in, sizeof(in)) != 0)
            return -EFAULT;
        if ((err = timeval_to_ts(&in.it_value, &value)) != 0 ||
            (err = timeval_to_ts(&in.it_interval, &interval)) != 0)
            return err;
    } else {
        value = interval = (struct timespec){0, 0};
    }
    itimer_set(t, (int)a->a[0], &value, &interval, &old_value, &old_interval);
    if (a->a[2]) {
        struct itimerval out = {ts_to_timeval(&old_interval), ts_to_timeval(&old_value)};
        if (mm_copy_out(t->mm, a->a[2], &out, sizeof(out)) != 0)
            return -EFAULT;
    }
    return 0;
}

long sys_alarm(struct task *t, const struct syscall_args *a)
{
    struct timespec value = {(time_t)(unsigned)a->a[0], 0}, zero = {0, 0}, old;

    itimer_real_set(t, &value, &zero, &old, NULL);
    /* alarm(2): whole seconds left, rounded to nearest, and never 0 for an armed timer. */
    long secs = old.tv_sec + (old.tv_nsec >= 500000000L ? 1 : 0);
    if (secs == 0 && (old.tv_sec || old.tv_nsec))
        secs = 1;
    return secs;
}
