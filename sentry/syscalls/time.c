/* Clocks and sleeping: clock_gettime(2), clock_getres(2), gettimeofday(2), time(2),
 * nanosleep(2), clock_nanosleep(2). */
#include <errno.h>
#include <string.h>
#include <sys/times.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>

#include "platform/platform.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

/* The clocks a guest may name, and the host clock that serves each. CPU-time clocks read the
 * stub's: that is where the guest's instructions run. */
static int host_clock(struct task *t, uint64_t guest_clock, clockid_t *out)
{
    switch ((int64_t)guest_clock) {
    case CLOCK_REALTIME:
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
    case CLOCK_TAI:
        *out = (clockid_t)guest_clock;
        return 0;
    case CLOCK_REALTIME_ALARM:
    case CLOCK_BOOTTIME_ALARM:
        *out = guest_clock == CLOCK_REALTIME_ALARM ? CLOCK_REALTIME : CLOCK_BOOTTIME;
        return 0;
    case CLOCK_PROCESS_CPUTIME_ID:
    case CLOCK_THREAD_CPUTIME_ID: {
        /* Linux's encoding of another thread's CPU clock: ~tid << 3 | PERTHREAD | SCHED. */
        pid_t tid = platform_ctx_host_tid(t->ctx);
        *out = (clockid_t)((~(unsigned)tid << 3) | 4 | 2);
        if (guest_clock == CLOCK_PROCESS_CPUTIME_ID)
            *out = (clockid_t)((~(unsigned)tid << 3) | 2);
        return 0;
    }
    default:
        return -EINVAL;
    }
}

static struct timespec ns_to_timespec(uint64_t ns)
{
    return (struct timespec){(time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL)};
}

long sys_clock_gettime(struct task *t, const struct syscall_args *a)
{
    clockid_t clk;
    struct timespec ts;
    if ((int32_t)a->a[0] < 0) {
        uint64_t ns;
        int err = kernel_cpu_clock_read(t, (clockid_t)a->a[0], true, &ns);
        if (err)
            return err;
        ts = ns_to_timespec(ns);
        return mm_copy_out(t->mm, a->a[1], &ts, sizeof(ts));
    }
    if (a->a[0] == CLOCK_THREAD_CPUTIME_ID) {
        /* The stub thread's clock is another process's: the task's accounted time instead. */
        uint64_t u, s;
        task_cputime(t, &u, &s);
        ts = ns_to_timespec(u + s);
        return mm_copy_out(t->mm, a->a[1], &ts, sizeof(ts));
    }
    int err = host_clock(t, a->a[0], &clk);

    if (err)
        return err;
    if (clock_gettime(clk, &ts) != 0)
        return -errno;
    return mm_copy_out(t->mm, a->a[1], &ts, sizeof(ts));
}

long sys_clock_getres(struct task *t, const struct syscall_args *a)
{
    clockid_t clk;
    struct timespec ts;
    if ((int32_t)a->a[0] < 0) {
        int err = kernel_cpu_clock_read(t, (clockid_t)a->a[0], false, NULL);
        if (err)
            return err;
        /* posix_cpu_clock_getres: 1 ns for the scheduler's clock, a tick (HZ 250) for the
         * others. */
        ts = (struct timespec){0, (a->a[0] & 3) == 2 ? 1 : 4000000};
        return a->a[1] ? mm_copy_out(t->mm, a->a[1], &ts, sizeof(ts)) : 0;
    }
    int err = host_clock(t, a->a[0] == CLOCK_THREAD_CPUTIME_ID ? CLOCK_PROCESS_CPUTIME_ID
                                                                : a->a[0],
                         &clk);

    if (err)
        return err;
    if (clock_getres(clk, &ts) != 0)
        return -errno;
    return a->a[1] ? mm_copy_out(t->mm, a->a[1], &ts, sizeof(ts)) : 0;
}

/* clock_settime(2): the sandbox never sets the host's clock, so CLOCK_REALTIME answers as Linux
 * does to a caller without CAP_SYS_TIME (root in a container), EPERM, after the checks that come
 * first; no other clock can be set (EINVAL, as do_clock_settime for a clock without clock_set). */
long sys_clock_settime(struct task *t, const struct syscall_args *a)
{
    struct timespec ts;

    if ((int32_t)a->a[0] != CLOCK_REALTIME)
        return -EINVAL;
    if (mm_copy_in(t->mm, a->a[1], &ts, sizeof(ts)) != 0)
        return -EFAULT;
    /* timespec64_valid_settod: a valid timespec within the settable range. */
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000L)
        return -EINVAL;
    return -EPERM;
}

long sys_gettimeofday(struct task *t, const struct syscall_args *a)
{
    struct timeval tv;
    struct timezone tz = {0, 0}; /* the kernel's sys_tz, which nothing sets here */

    gettimeofday(&tv, NULL);
    if (a->a[0] && mm_copy_out(t->mm, a->a[0], &tv, sizeof(tv)) != 0)
        return -EFAULT;
    if (a->a[1] && mm_copy_out(t->mm, a->a[1], &tz, sizeof(tz)) != 0)
        return -EFAULT;
    return 0;
}

long sys_time(struct task *t, const struct syscall_args *a)
{
    int64_t now = (int64_t)time(NULL);

    if (a->a[0] && mm_copy_out(t->mm, a->a[0], &now, sizeof(now)) != 0)
        return -EFAULT;
    return now;
}

static int timespec_in(struct task *t, uint64_t addr, struct timespec *ts)
{
    if (mm_copy_in(t->mm, addr, ts, sizeof(*ts)) != 0)
        return -EFAULT;
    if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L)
        return -EINVAL;
    return 0;
}

static struct timespec timespec_add(struct timespec a, struct timespec b)
{
    struct timespec r = {a.tv_sec + b.tv_sec, a.tv_nsec + b.tv_nsec};
    if (r.tv_nsec >= 1000000000L) {
        r.tv_sec++;
        r.tv_nsec -= 1000000000L;
    }
    return r;
}

static struct timespec timespec_sub(struct timespec a, struct timespec b)
{
    struct timespec r = {a.tv_sec - b.tv_sec, a.tv_nsec - b.tv_nsec};
    if (r.tv_nsec < 0) {
        r.tv_sec--;
        r.tv_nsec += 1000000000L;
    }
    if (r.tv_sec < 0)
        r.tv_sec = r.tv_nsec = 0;
    return r;
}

/* Sleeps for `rel` (monotonic); on a signal writes what is left to `rem_addr` if non-zero. */
static long sleep_relative(struct task *t, struct timespec rel, uint64_t rem_addr)
{
    struct timespec now, deadline;

    clock_gettime(CLOCK_MONOTONIC, &now);
    deadline = timespec_add(now, rel);
    int err = task_sleep_until(t, &deadline);
    if (err == -EINTR && rem_addr) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        struct timespec rem = timespec_sub(deadline, now);
        if (mm_copy_out(t->mm, rem_addr, &rem, sizeof(rem)) != 0)
            return -EFAULT;
    }
    return err;
}

long sys_nanosleep(struct task *t, const struct syscall_args *a)
{
    struct timespec req;
    int err = timespec_in(t, a->a[0], &req);

    return err ? err : sleep_relative(t, req, a->a[1]);
}

long sys_clock_nanosleep(struct task *t, const struct syscall_args *a)
{
    clockid_t clk;
    struct timespec req, now;
    int err;

    if ((err = host_clock(t, a->a[0], &clk)) != 0)
        return err;
    if (a->a[0] == CLOCK_THREAD_CPUTIME_ID)
        return -EINVAL;
    if (a->a[0] == CLOCK_PROCESS_CPUTIME_ID)
        return -ENOTSUP;
    if (a->a[1] & ~(uint64_t)TIMER_ABSTIME)
        return -EINVAL;
    if ((err = timespec_in(t, a->a[2], &req)) != 0)
        return err;
    if (!(a->a[1] & TIMER_ABSTIME))
        return sleep_relative(t, req, a->a[3]);
    /* An absolute deadline on the guest's clock becomes a relative one on the monotonic clock;
     * the remaining time is not reported for absolute sleeps. */
    clock_gettime(clk, &now);
    return sleep_relative(t, timespec_sub(req, now), 0);
}

static void ns_to_timeval(uint64_t ns, struct timeval *tv)
{
    tv->tv_sec = (time_t)(ns / 1000000000ULL);
    tv->tv_usec = (suseconds_t)(ns % 1000000000ULL / 1000);
}

/* getrusage(2): CPU times (user: guest code in the stub; system: the sentry serving it) and the
 * resident set; the counters the sentry doesn't keep (faults, context switches) read 0. */
long sys_getrusage(struct task *t, const struct syscall_args *a)
{
    int who = (int)a->a[0];
    struct rusage ru;
    memset(&ru, 0, sizeof(ru));
    uint64_t u = 0, s = 0;
    switch (who) {
    case RUSAGE_SELF:
        thread_group_cputime(t->tg, &u, &s);
        /* The resident set now; Linux's is a high-water mark (not tracked on every fault). */
        ru.ru_maxrss = (long)(mm_resident_bytes(t->mm) / 1024);
        break;
    case RUSAGE_THREAD:
        task_cputime(t, &u, &s);
        ru.ru_maxrss = (long)(mm_resident_bytes(t->mm) / 1024);
        break;
    case RUSAGE_CHILDREN:
        pthread_mutex_lock(&t->tg->lock);
        u = t->tg->children_utime;
        s = t->tg->children_stime;
        ru.ru_maxrss = t->tg->children_maxrss_kb;
        pthread_mutex_unlock(&t->tg->lock);
        break;
    default:
        return -EINVAL;
    }
    ns_to_timeval(u, &ru.ru_utime);
    ns_to_timeval(s, &ru.ru_stime);
    return mm_copy_out(t->mm, a->a[1], &ru, sizeof(ru));
}

/* times(2): the process's and its reaped children's CPU times in clock ticks (USER_HZ 100), and
 * the ticks since boot as the result. */
long sys_times(struct task *t, const struct syscall_args *a)
{
    uint64_t u, s;
    thread_group_cputime(t->tg, &u, &s);
    pthread_mutex_lock(&t->tg->lock);
    uint64_t cu = t->tg->children_utime, cs = t->tg->children_stime;
    pthread_mutex_unlock(&t->tg->lock);
    const uint64_t tick = 1000000000ULL / 100;
    struct tms tms = {.tms_utime = (clock_t)(u / tick), .tms_stime = (clock_t)(s / tick),
                      .tms_cutime = (clock_t)(cu / tick), .tms_cstime = (clock_t)(cs / tick)};
    if (a->a[0] && mm_copy_out(t->mm, a->a[0], &tms, sizeof(tms)))
        return -EFAULT;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ns = (now.tv_sec - t->kernel->boot_time.tv_sec) * 1000000000LL +
                 (now.tv_nsec - t->kernel->boot_time.tv_nsec);
    return (long)(ns / (int64_t)tick);
}
