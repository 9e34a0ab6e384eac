/* POSIX per-process timers: timer_create(2), timer_settime(2), timer_gettime(2),
 * timer_getoverrun(2), timer_delete(2). The timers themselves are in sentry/kernel. */
#include <errno.h>
#include <signal.h>
#include <time.h>

#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

/* The kernel's struct sigevent (x86_64 and arm64 alike): sigev_value, sigev_signo,
 * sigev_notify, then a union padded to 64 bytes in all whose first int is the thread id. */
struct guest_sigevent {
    uint64_t value;
    int32_t signo;
    int32_t notify;
    int32_t tid;
    int32_t pad[11];
};
_Static_assert(sizeof(struct guest_sigevent) == 64, "struct sigevent is 64 bytes");

long sys_timer_create(struct task *t, const struct syscall_args *a)
{
    struct guest_sigevent gev;
    struct posix_timer_event ev, *evp = NULL;

    if (a->a[1]) {
        if (mm_copy_in(t->mm, a->a[1], &gev, sizeof(gev)) != 0)
            return -EFAULT;
        ev = (struct posix_timer_event){
            .notify = gev.notify, .signo = gev.signo, .value = gev.value, .tid = gev.tid};
        evp = &ev;
    }
    long id = posix_timer_create(t, (clockid_t)a->a[0], evp);
    if (id < 0)
        return id;
    int32_t out = (int32_t)id;
    if (mm_copy_out(t->mm, a->a[2], &out, sizeof(out)) != 0) {
        posix_timer_delete(t, (int)id);
        return -EFAULT;
    }
    return 0;
}

static bool timespec_valid(const struct timespec *ts)
{
    return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

long sys_timer_settime(struct task *t, const struct syscall_args *a)
{
    struct itimerspec value, old;
    int flags = (int)a->a[1];

    /* Linux reads the new value first (EFAULT), then checks it (EINVAL). */
    if (!a->a[2])
        return -EINVAL;
    if (mm_copy_in(t->mm, a->a[2], &value, sizeof(value)) != 0)
        return -EFAULT;
    if (!timespec_valid(&value.it_value) || !timespec_valid(&value.it_interval))
        return -EINVAL;
    long err =
        posix_timer_settime(t, (int)a->a[0], flags & TIMER_ABSTIME, &value, a->a[3] ? &old : NULL);
    if (err)
        return err;
    if (a->a[3] && mm_copy_out(t->mm, a->a[3], &old, sizeof(old)) != 0)
        return -EFAULT;
    return 0;
}

long sys_timer_gettime(struct task *t, const struct syscall_args *a)
{
    struct itimerspec cur;

    long err = posix_timer_gettime(t, (int)a->a[0], &cur);
    if (err)
        return err;
    if (mm_copy_out(t->mm, a->a[1], &cur, sizeof(cur)) != 0)
        return -EFAULT;
    return 0;
}

long sys_timer_getoverrun(struct task *t, const struct syscall_args *a)
{
    return posix_timer_getoverrun(t, (int)a->a[0]);
}

long sys_timer_delete(struct task *t, const struct syscall_args *a)
{
    return posix_timer_delete(t, (int)a->a[0]);
}
