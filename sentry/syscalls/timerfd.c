/* timerfd_create(2), timerfd_settime(2), timerfd_gettime(2). */
#include <errno.h>
#include <sys/timerfd.h>

#include "sentry/fs/timerfd/timerfd.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

#ifndef TFD_TIMER_CANCEL_ON_SET
#define TFD_TIMER_CANCEL_ON_SET (1 << 1)
#endif

long sys_timerfd_create(struct task *t, const struct syscall_args *a)
{
    int clockid = (int)a->a[0], flags = (int)a->a[1];
    struct file *f;

    if (flags & ~(TFD_CLOEXEC | TFD_NONBLOCK))
        return -EINVAL;
    switch (clockid) {
    case CLOCK_REALTIME:
    case CLOCK_MONOTONIC:
    case CLOCK_BOOTTIME:
        break;
    case CLOCK_REALTIME_ALARM:
    case CLOCK_BOOTTIME_ALARM:
        /* The sandbox grants no CAP_WAKE_ALARM: Linux answers EPERM without it. */
        return -EPERM;
    default:
        return -EINVAL;
    }
    int err = timerfd_file_create(clockid, flags & TFD_NONBLOCK, &f);
    if (err)
        return err;
    return task_install_file(t, f, flags & TFD_CLOEXEC);
}

static bool timespec_valid(const struct timespec *ts)
{
    return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

/* The timer file at fd (a reference): -EBADF if none is open, -EINVAL if it isn't a timer. */
static long timerfd_get(struct task *t, uint64_t fd, struct file **out)
{
    struct file *f = task_get_file(t, fd);

    if (!f)
        return -EBADF;
    if (!timerfd_file_is(f)) {
        file_put(f);
        return -EINVAL;
    }
    *out = f;
    return 0;
}

long sys_timerfd_settime(struct task *t, const struct syscall_args *a)
{
    int flags = (int)a->a[1];
    struct itimerspec value, old;
    struct file *f;

    /* The order of Linux's checks: the new value is read, then flags and values checked, then
     * the fd looked up. */
    if (mm_copy_in(t->mm, a->a[2], &value, sizeof(value)) != 0)
        return -EFAULT;
    if ((flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) ||
        !timespec_valid(&value.it_value) || !timespec_valid(&value.it_interval))
        return -EINVAL;
    long err = timerfd_get(t, a->a[0], &f);
    if (err)
        return err;
    /* TFD_TIMER_CANCEL_ON_SET is accepted and never acts: the guest can't set the clock. */
    err = timerfd_file_settime(f, flags & TFD_TIMER_ABSTIME, &value, &old);
    file_put(f);
    if (!err && a->a[3] && mm_copy_out(t->mm, a->a[3], &old, sizeof(old)) != 0)
        return -EFAULT;
    return err;
}

long sys_timerfd_gettime(struct task *t, const struct syscall_args *a)
{
    struct itimerspec cur;
    struct file *f;

    long err = timerfd_get(t, a->a[0], &f);
    if (err)
        return err;
    timerfd_file_gettime(f, &cur);
    file_put(f);
    if (mm_copy_out(t->mm, a->a[1], &cur, sizeof(cur)) != 0)
        return -EFAULT;
    return 0;
}
