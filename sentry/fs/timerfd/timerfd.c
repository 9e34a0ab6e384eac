/* Timer files (see timerfd.h). A timer is its next deadline and interval on CLOCK_MONOTONIC (a
 * CLOCK_REALTIME or CLOCK_BOOTTIME time is converted when set); expirations are counted from
 * them when the timer is read or polled, so nothing runs per period. The kernel timer service
 * wakes the file's waiters when the next deadline passes, once, as Linux's hrtimer does
 * (HRTIMER_NORESTART): a read moves the deadline on and re-arms it. */
#include "sentry/fs/timerfd/timerfd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/ktimer.h"

#define NSEC_PER_SEC 1000000000LL

struct timerfd_file {
    struct file base;
    clockid_t clockid;    /* immutable */
    pthread_mutex_t lock; /* protects next_ns and interval_ns, and arming timer */
    int64_t next_ns;      /* CLOCK_MONOTONIC deadline of the next expiry; 0: disarmed */
    int64_t interval_ns;  /* 0: one-shot */
    struct ktimer timer;  /* fires at next_ns to wake wq */
    struct waitqueue wq;  /* readers, pollers and epoll watches */
};

static const struct file_ops timerfd_ops;

static struct timerfd_file *timerfd_of(struct file *f)
{
    return (struct timerfd_file *)f;
}

bool timerfd_file_is(const struct file *f)
{
    return f->ops == &timerfd_ops;
}

static struct timespec ns_to_ts(int64_t ns)
{
    return (struct timespec){ns / NSEC_PER_SEC, ns % NSEC_PER_SEC};
}

/* Expirations by `now` that no read has taken yet (tf->lock held). */
static uint64_t timerfd_expirations(struct timerfd_file *tf, int64_t now)
{
    if (!tf->next_ns || now < tf->next_ns)
        return 0;
    if (!tf->interval_ns)
        return 1;
    return 1 + (uint64_t)((now - tf->next_ns) / tf->interval_ns);
}

static void timerfd_fire(struct ktimer *kt)
{
    struct timerfd_file *tf =
        (struct timerfd_file *)((char *)kt - offsetof(struct timerfd_file, timer));
    waitqueue_wake_all(&tf->wq);
}

/* Arms the wake-up for next_ns, or cancels it when disarmed (tf->lock held). */
static int timerfd_arm(struct timerfd_file *tf)
{
    if (!tf->next_ns) {
        ktimer_cancel(&tf->timer);
        return 0;
    }
    return ktimer_arm(&tf->timer, tf->next_ns);
}

static ssize_t timerfd_file_read(struct file *f, struct task *t, void *buf, size_t len)
{
    struct timerfd_file *tf = timerfd_of(f);
    struct waiter w;
    uint64_t ticks;

    if (len < sizeof(ticks))
        return -EINVAL;
    pthread_mutex_lock(&tf->lock);
    while ((ticks = timerfd_expirations(tf, ktimer_now_ns())) == 0) {
        if (atomic_load_explicit(&f->status_flags, memory_order_relaxed) & O_NONBLOCK) {
            pthread_mutex_unlock(&tf->lock);
            return -EAGAIN;
        }
        waitqueue_add(&tf->wq, &w, t);
        pthread_mutex_unlock(&tf->lock);
        int err = task_block(t, NULL);
        waitqueue_remove(&tf->wq, &w);
        if (err == -EINTR)
            return -ERESTARTSYS;
        pthread_mutex_lock(&tf->lock);
    }
    if (tf->interval_ns) {
        int64_t step;
        if (__builtin_mul_overflow((int64_t)ticks, tf->interval_ns, &step))
            step = INT64_MAX;
        tf->next_ns = ktimer_ns_add(tf->next_ns, step);
    } else {
        tf->next_ns = 0;
    }
    /* A failed re-arm leaves the timer readable when polled, only without its wake-up. */
    (void)timerfd_arm(tf);
    pthread_mutex_unlock(&tf->lock);
    memcpy(buf, &ticks, sizeof(ticks));
    return sizeof(ticks);
}

/* Linux's timerfd has no write method: write(2) on it is EINVAL, not EBADF. */
static ssize_t timerfd_file_write(struct file *f, struct task *t, const void *buf, size_t len)
{
    return -EINVAL;
}

static unsigned timerfd_file_poll(struct file *f, struct task *t, struct waiter *w, bool *slice)
{
    struct timerfd_file *tf = timerfd_of(f);

    pthread_mutex_lock(&tf->lock);
    if (w)
        waitqueue_add(&tf->wq, w, t);
    unsigned events = timerfd_expirations(tf, ktimer_now_ns()) ? POLLIN | POLLRDNORM : 0;
    pthread_mutex_unlock(&tf->lock);
    return events;
}

static void timerfd_poll_unregister(struct file *f, struct waiter *w)
{
    waitqueue_remove(&timerfd_of(f)->wq, w);
}

/* The current setting (tf->lock held). */
static void timerfd_current(struct timerfd_file *tf, int64_t now, struct itimerspec *cur)
{
    int64_t left = 0;

    if (tf->next_ns) {
        uint64_t ticks = timerfd_expirations(tf, now);
        int64_t next = tf->next_ns;
        if (ticks && tf->interval_ns) {
            int64_t step;
            if (__builtin_mul_overflow((int64_t)ticks, tf->interval_ns, &step))
                step = INT64_MAX;
            next = ktimer_ns_add(next, step);
        }
        left = next > now ? next - now : 0;
    }
    cur->it_value = ns_to_ts(left);
    cur->it_interval = ns_to_ts(tf->interval_ns);
}

void timerfd_file_gettime(struct file *f, struct itimerspec *cur)
{
    struct timerfd_file *tf = timerfd_of(f);

    pthread_mutex_lock(&tf->lock);
    timerfd_current(tf, ktimer_now_ns(), cur);
    pthread_mutex_unlock(&tf->lock);
}

/* An absolute time on the timer's clock as a CLOCK_MONOTONIC deadline. */
static int64_t timerfd_abs_to_mono(clockid_t clockid, int64_t value_ns, int64_t mono_now)
{
    struct timespec now;

    if (clockid == CLOCK_MONOTONIC)
        return value_ns;
    clock_gettime(clockid, &now);
    int64_t offset = ktimer_ts_ns(&now) - mono_now;
    int64_t mono;
    if (__builtin_sub_overflow(value_ns, offset, &mono))
        return INT64_MAX;
    /* A time before the monotonic clock's start has passed: it expires at once. */
    return mono > 0 ? mono : 1;
}

int timerfd_file_settime(struct file *f, bool abstime, const struct itimerspec *value,
                         struct itimerspec *old)
{
    struct timerfd_file *tf = timerfd_of(f);
    int64_t value_ns = ktimer_ts_ns(&value->it_value);

    pthread_mutex_lock(&tf->lock);
    int64_t now = ktimer_now_ns();
    if (old)
        timerfd_current(tf, now, old);
    if (!value_ns) {
        tf->next_ns = 0;
        tf->interval_ns = 0;
    } else {
        tf->next_ns = abstime ? timerfd_abs_to_mono(tf->clockid, value_ns, now)
                              : ktimer_ns_add(now, value_ns);
        if (!tf->next_ns)
            tf->next_ns = 1;
        tf->interval_ns = ktimer_ts_ns(&value->it_interval);
    }
    int err = timerfd_arm(tf);
    if (err) {
        tf->next_ns = 0;
        tf->interval_ns = 0;
    }
    pthread_mutex_unlock(&tf->lock);
    /* Waiters re-check: a timer set in the past is readable now. */
    waitqueue_wake_all(&tf->wq);
    return err;
}

static int timerfd_stat(struct file *f, struct stat *st)
{
    file_anon_stat(st);
    return 0;
}

static int timerfd_name(struct file *f, char *buf, size_t size)
{
    int n = snprintf(buf, size, "anon_inode:[timerfd]");
    return (size_t)n >= size ? -ENAMETOOLONG : n;
}

static void timerfd_release(struct file *f)
{
    struct timerfd_file *tf = timerfd_of(f);

    ktimer_cancel(&tf->timer);
    file_release_common(f);
    waitqueue_destroy(&tf->wq);
    pthread_mutex_destroy(&tf->lock);
    free(tf);
}

static const struct file_ops timerfd_ops = {
    .read = timerfd_file_read,
    .write = timerfd_file_write,
    .stat = timerfd_stat,
    .poll = timerfd_file_poll,
    .poll_unregister = timerfd_poll_unregister,
    .llseek = file_noop_llseek,
    .name = timerfd_name,
    .release = timerfd_release,
};

int timerfd_file_create(clockid_t clockid, int status_flags, struct file **out)
{
    struct timerfd_file *tf = calloc(1, sizeof(*tf));

    if (!tf)
        return -ENOMEM;
    tf->clockid = clockid;
    pthread_mutex_init(&tf->lock, NULL);
    waitqueue_init(&tf->wq);
    ktimer_init(&tf->timer, timerfd_fire);
    file_init(&tf->base, &timerfd_ops, O_RDWR | (status_flags & O_NONBLOCK));
    *out = &tf->base;
    return 0;
}
