/* POSIX per-process timers (timer_create(2)) and the CPU-time interval timers (ITIMER_VIRTUAL,
 * ITIMER_PROF), on the kernel timer service. A timer's expiry is kept in its own clock's
 * nanoseconds; a ktimer is armed for the wall-clock time at which that clock could reach it at
 * the earliest, and each firing re-reads the clock: a CPU clock may lag wall time (the guest
 * waited) and then the ktimer is armed again for the rest.
 *
 * Locking: tg->timers_lock protects the process's timer list and every timer's state, and comes
 * before tg->lock (taken to look at pending signals and to send one). A timer's fire takes
 * timers_lock, so a timer is cancelled (ktimer_cancel) only with timers_lock released, after it
 * was unlinked under it. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/ktimer.h"

#define NSEC_PER_SEC 1000000000LL
/* How many timer_create timers a process may have: Linux's bound is RLIMIT_SIGPENDING (each
 * timer owns a preallocated signal); the sentry's is fixed. */
#define POSIX_TIMER_MAX 4096
/* A periodic timer's ktimer is not re-armed sooner than this: shorter periods are counted as
 * overruns instead of waking the timer thread continuously. */
#define POSIX_TIMER_MIN_REARM_NS 100000LL
/* Linux's DELAYTIMER_MAX: timer_getoverrun saturates here. */
#define POSIX_TIMER_OVERRUN_MAX 0x7fffffff

enum timer_kind {
    TIMER_POSIX,      /* timer_create(2) */
    TIMER_ITIMER_CPU, /* ITIMER_VIRTUAL / ITIMER_PROF: SI_KERNEL signal, no overruns */
};

struct posix_timer {
    struct ktimer kt;
    struct thread_group *tg;
    enum timer_kind kind;
    int id;
    clockid_t clock;     /* CLOCK_* (CPU clocks too); ITIMER_* for TIMER_ITIMER_CPU */
    struct task *thread; /* CLOCK_THREAD_CPUTIME_ID's thread */
    struct posix_timer_event ev;
    struct task *target; /* SIGEV_THREAD_ID's thread */
    /* The rest: tg->timers_lock. */
    int64_t expiry; /* in the clock's ns; 0: disarmed */
    int64_t interval;
    int overrun;      /* expiries while the last signal was still pending */
    int overrun_last; /* overrun of the last signal delivered (timer_getoverrun) */
    bool queued;      /* a signal of this timer was queued and may still be pending */
    struct posix_timer *next;
};

static struct timespec ns_ts(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / NSEC_PER_SEC), (long)(ns % NSEC_PER_SEC)};
    return ts;
}

static bool clock_is_cpu(const struct posix_timer *pt)
{
    return pt->kind == TIMER_ITIMER_CPU || pt->clock == CLOCK_PROCESS_CPUTIME_ID ||
           pt->clock == CLOCK_THREAD_CPUTIME_ID;
}

/* The timer's clock now, in ns. timers_lock held (thread_group_cputime takes tg->lock). */
static int64_t timer_clock_now(struct posix_timer *pt)
{
    uint64_t u, s;
    struct timespec now;

    if (pt->kind == TIMER_ITIMER_CPU) {
        thread_group_cputime(pt->tg, &u, &s);
        return (int64_t)(pt->clock == ITIMER_VIRTUAL ? u : u + s);
    }
    switch (pt->clock) {
    case CLOCK_PROCESS_CPUTIME_ID:
        thread_group_cputime(pt->tg, &u, &s);
        return (int64_t)(u + s);
    case CLOCK_THREAD_CPUTIME_ID:
        task_cputime(pt->thread, &u, &s);
        return (int64_t)(u + s);
    default:
        clock_gettime(pt->clock, &now);
        return ktimer_ts_ns(&now);
    }
}

/* Arms the ktimer for when `left` ns of the timer's clock may have passed at the earliest:
 * a process's CPU time runs as fast as all its live threads together. timers_lock held. */
static void timer_arm_for(struct posix_timer *pt, int64_t left, bool periodic)
{
    bool process_clock = pt->kind == TIMER_ITIMER_CPU || pt->clock == CLOCK_PROCESS_CPUTIME_ID;
    if (process_clock) {
        pthread_mutex_lock(&pt->tg->lock);
        int threads = pt->tg->live_tasks > 0 ? pt->tg->live_tasks : 1;
        pthread_mutex_unlock(&pt->tg->lock);
        left /= threads;
    }
    /* A CPU clock is sampled, not interrupted: a polling interval like Linux's tick. */
    if ((periodic || clock_is_cpu(pt)) && left < POSIX_TIMER_MIN_REARM_NS)
        left = POSIX_TIMER_MIN_REARM_NS;
    ktimer_arm(&pt->kt, ktimer_ns_add(ktimer_now_ns(), left > 0 ? left : 0));
}

/* Whether this timer's last signal is still pending, from the siginfo it was queued with.
 * tg->lock held. */
static siginfo_t *timer_pending_info(struct posix_timer *pt)
{
    int sig = pt->ev.signo;
    siginfo_t *info;

    if (pt->target) {
        if (pt->target->released || !(pt->target->pending & SIGBIT(sig)))
            return NULL;
        info = &pt->target->pending_info[sig];
    } else {
        if (!(pt->tg->shared_pending & SIGBIT(sig)))
            return NULL;
        info = &pt->tg->shared_info[sig];
    }
    if (info->si_code != SI_TIMER || info->si_timerid != pt->id)
        return NULL;
    return info;
}

/* A queued signal that is no longer pending was delivered with the overrun count of its time:
 * that count becomes timer_getoverrun's (Linux's it_overrun_last). timers_lock held. */
static void timer_settle_overrun(struct posix_timer *pt)
{
    if (!pt->queued)
        return;
    pthread_mutex_lock(&pt->tg->lock);
    bool pending = timer_pending_info(pt) != NULL;
    pthread_mutex_unlock(&pt->tg->lock);
    if (pending)
        return;
    pt->queued = false;
    pt->overrun_last = pt->overrun;
    pt->overrun = 0;
}

static void timer_add_overrun(struct posix_timer *pt, int64_t n)
{
    int64_t sum = (int64_t)pt->overrun + n;
    pt->overrun = sum > POSIX_TIMER_OVERRUN_MAX ? POSIX_TIMER_OVERRUN_MAX : (int)sum;
}

/* The timer expired (`missed` more periods passed unseen): its signal, or an overrun if the
 * last one is still pending. timers_lock held. */
static void timer_notify(struct posix_timer *pt, int64_t missed)
{
    if (pt->kind == TIMER_ITIMER_CPU) {
        thread_group_signal_from_kernel(pt->tg, pt->clock == ITIMER_VIRTUAL ? SIGVTALRM : SIGPROF,
                                        false);
        return;
    }
    if (pt->ev.notify == SIGEV_NONE)
        return;
    timer_settle_overrun(pt);
    if (pt->queued) {
        timer_add_overrun(pt, missed + 1);
        pthread_mutex_lock(&pt->tg->lock);
        siginfo_t *info = timer_pending_info(pt);
        if (info)
            info->si_overrun = pt->overrun;
        pthread_mutex_unlock(&pt->tg->lock);
        return;
    }
    timer_add_overrun(pt, missed);
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    info.si_signo = pt->ev.signo;
    info.si_code = SI_TIMER;
    info.si_timerid = pt->id;
    info.si_overrun = pt->overrun;
    info.si_value.sival_ptr = (void *)(uintptr_t)pt->ev.value;
    int err;
    if (pt->target) {
        err = pt->target->released ? -ESRCH : task_signal_send(pt->target, pt->ev.signo, &info);
    } else {
        err = thread_group_signal_send(pt->tg, pt->ev.signo, &info, false);
    }
    pt->queued = err == 0;
}

static void timer_fire(struct ktimer *kt)
{
    struct posix_timer *pt = (struct posix_timer *)kt;

    pthread_mutex_lock(&pt->tg->timers_lock);
    if (!pt->expiry)
        goto out;
    int64_t now = timer_clock_now(pt);
    if (now < pt->expiry) {
        timer_arm_for(pt, pt->expiry - now, pt->interval != 0);
        goto out;
    }
    int64_t missed = 0;
    if (pt->interval) {
        /* An interval timer rearms from its expiry: periods it slept through are overruns. */
        missed = (now - pt->expiry) / pt->interval;
        /* (missed + 1) * interval stays within now - expiry + interval: no overflow there. */
        pt->expiry = ktimer_ns_add(pt->expiry, (missed + 1) * pt->interval);
    } else {
        pt->expiry = 0;
    }
    timer_notify(pt, missed);
    if (pt->expiry)
        timer_arm_for(pt, pt->expiry - now, true);
out:
    pthread_mutex_unlock(&pt->tg->timers_lock);
}

static bool clock_supported(clockid_t clock, long *err)
{
    switch (clock) {
    case CLOCK_REALTIME:
    case CLOCK_MONOTONIC:
    case CLOCK_BOOTTIME:
    case CLOCK_PROCESS_CPUTIME_ID:
    case CLOCK_THREAD_CPUTIME_ID:
        return true;
    case CLOCK_REALTIME_ALARM:
    case CLOCK_BOOTTIME_ALARM:
        *err = -EPERM; /* no CAP_WAKE_ALARM in the sandbox */
        return false;
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_MONOTONIC_COARSE:
        *err = -EOPNOTSUPP; /* clocks without timers (Linux's k_clock has no timer_create) */
        return false;
    default:
        *err = -EINVAL;
        return false;
    }
}

long posix_timer_create(struct task *t, clockid_t clock, const struct posix_timer_event *ev)
{
    struct thread_group *tg = t->tg;
    long err = 0;

    if (!clock_supported(clock, &err))
        return err;
    struct posix_timer *pt = calloc(1, sizeof(*pt));
    if (!pt)
        return -ENOMEM;
    ktimer_init(&pt->kt, timer_fire);
    pt->tg = tg;
    pt->kind = TIMER_POSIX;
    pt->clock = clock;
    pt->thread = t;
    if (ev) {
        pt->ev = *ev;
        /* Linux's good_sigevent: a valid non-zero signal, a thread of this process. */
        switch (ev->notify) {
        case SIGEV_SIGNAL | SIGEV_THREAD_ID:
            pthread_mutex_lock(&tg->lock);
            for (struct task *it = tg->tasks; it; it = it->group_next)
                if (it->tid == ev->tid && !it->released)
                    pt->target = it;
            pthread_mutex_unlock(&tg->lock);
            if (!pt->target)
                goto out_inval;
            /* fallthrough */
        case SIGEV_SIGNAL:
            if (ev->signo < 1 || ev->signo > KERNEL_NSIG)
                goto out_inval;
            break;
        case SIGEV_NONE:
            break;
        default:
            goto out_inval;
        }
    }

    pthread_mutex_lock(&tg->timers_lock);
    if (tg->ntimers >= POSIX_TIMER_MAX) {
        pthread_mutex_unlock(&tg->timers_lock);
        free(pt);
        return -EAGAIN;
    }
    /* Ids count up from 0 and wrap at INT_MAX, skipping ids in use (Linux's posix_timer_add). */
    for (;;) {
        int id = tg->next_timer_id;
        tg->next_timer_id = (id + 1) & 0x7fffffff;
        bool used = false;
        for (struct posix_timer *it = tg->timers; it && !used; it = it->next)
            used = it->id == id;
        if (!used) {
            pt->id = id;
            break;
        }
    }
    if (!ev) {
        pt->ev.notify = SIGEV_SIGNAL;
        pt->ev.signo = SIGALRM;
        pt->ev.value = (uint64_t)pt->id;
    }
    pt->next = tg->timers;
    tg->timers = pt;
    tg->ntimers++;
    pthread_mutex_unlock(&tg->timers_lock);
    return pt->id;

out_inval:
    free(pt);
    return -EINVAL;
}

/* The timer with this id (timers_lock held), or NULL. */
static struct posix_timer *timer_find(struct thread_group *tg, int id)
{
    for (struct posix_timer *it = tg->timers; it; it = it->next)
        if (it->id == id)
            return it;
    return NULL;
}

/* The time left and the interval. timers_lock held. */
static void timer_current(struct posix_timer *pt, struct timespec *value, struct timespec *interval)
{
    *interval = ns_ts(pt->interval);
    if (!pt->expiry) {
        *value = ns_ts(0);
        return;
    }
    int64_t left = pt->expiry - timer_clock_now(pt);
    /* Expired but not yet seen by the timer thread: Linux reports 1 ns, never 0 (armed). */
    *value = ns_ts(left > 0 ? left : 1);
}

/* Sets the timer's expiry from a relative or absolute value. timers_lock held. */
static void timer_set(struct posix_timer *pt, bool abstime, const struct timespec *value,
                      const struct timespec *interval)
{
    int64_t v = ktimer_ts_ns(value);

    if (!v) {
        pt->expiry = 0;
        pt->interval = 0;
        return; /* the ktimer finds nothing armed when it fires */
    }
    int64_t now = timer_clock_now(pt);
    pt->expiry = abstime ? v : ktimer_ns_add(now, v);
    if (pt->expiry <= 0)
        pt->expiry = 1;
    pt->interval = ktimer_ts_ns(interval);
    pt->overrun = 0;
    timer_arm_for(pt, pt->expiry - now, false);
}

long posix_timer_settime(struct task *t, int id, bool abstime, const struct itimerspec *value,
                         struct itimerspec *old)
{
    struct thread_group *tg = t->tg;

    pthread_mutex_lock(&tg->timers_lock);
    struct posix_timer *pt = timer_find(tg, id);
    if (!pt) {
        pthread_mutex_unlock(&tg->timers_lock);
        return -EINVAL;
    }
    if (old)
        timer_current(pt, &old->it_value, &old->it_interval);
    timer_set(pt, abstime, &value->it_value, &value->it_interval);
    pthread_mutex_unlock(&tg->timers_lock);
    return 0;
}

long posix_timer_gettime(struct task *t, int id, struct itimerspec *cur)
{
    struct thread_group *tg = t->tg;

    pthread_mutex_lock(&tg->timers_lock);
    struct posix_timer *pt = timer_find(tg, id);
    if (pt)
        timer_current(pt, &cur->it_value, &cur->it_interval);
    pthread_mutex_unlock(&tg->timers_lock);
    return pt ? 0 : -EINVAL;
}

long posix_timer_getoverrun(struct task *t, int id)
{
    struct thread_group *tg = t->tg;
    long ret = -EINVAL;

    pthread_mutex_lock(&tg->timers_lock);
    struct posix_timer *pt = timer_find(tg, id);
    if (pt) {
        timer_settle_overrun(pt);
        ret = pt->overrun_last;
    }
    pthread_mutex_unlock(&tg->timers_lock);
    return ret;
}

/* Cancels and frees an unlinked timer; timers_lock not held (its fire takes it). */
static void timer_free(struct posix_timer *pt)
{
    ktimer_cancel(&pt->kt);
    free(pt);
}

long posix_timer_delete(struct task *t, int id)
{
    struct thread_group *tg = t->tg;
    struct posix_timer *pt = NULL;

    pthread_mutex_lock(&tg->timers_lock);
    for (struct posix_timer **p = &tg->timers; *p; p = &(*p)->next) {
        if ((*p)->id == id) {
            pt = *p;
            *p = pt->next;
            tg->ntimers--;
            pt->expiry = 0;
            break;
        }
    }
    pthread_mutex_unlock(&tg->timers_lock);
    if (!pt)
        return -EINVAL;
    timer_free(pt);
    return 0;
}

void thread_group_release_timers(struct thread_group *tg, bool itimers)
{
    pthread_mutex_lock(&tg->timers_lock);
    struct posix_timer *list = tg->timers;
    struct posix_timer *cpu[2] = {NULL, NULL};
    tg->timers = NULL;
    tg->ntimers = 0;
    for (struct posix_timer *it = list; it; it = it->next)
        it->expiry = 0;
    if (itimers) {
        for (int i = 0; i < 2; i++) {
            cpu[i] = tg->itimer_cpu[i];
            tg->itimer_cpu[i] = NULL;
            if (cpu[i])
                cpu[i]->expiry = 0;
        }
    }
    pthread_mutex_unlock(&tg->timers_lock);
    while (list) {
        struct posix_timer *next = list->next;
        timer_free(list);
        list = next;
    }
    for (int i = 0; i < 2; i++)
        if (cpu[i])
            timer_free(cpu[i]);
}

void itimer_cpu_set(struct task *t, int which, const struct timespec *value,
                    const struct timespec *interval, struct timespec *old_value,
                    struct timespec *old_interval)
{
    struct thread_group *tg = t->tg;
    int slot = which == ITIMER_VIRTUAL ? 0 : 1;
    struct timespec zero = {0, 0}, v, i;

    pthread_mutex_lock(&tg->timers_lock);
    struct posix_timer *pt = tg->itimer_cpu[slot];
    if (!pt && value && ktimer_ts_ns(value)) {
        pt = calloc(1, sizeof(*pt));
        if (pt) {
            ktimer_init(&pt->kt, timer_fire);
            pt->tg = tg;
            pt->kind = TIMER_ITIMER_CPU;
            pt->clock = which;
            tg->itimer_cpu[slot] = pt;
        }
    }
    if (pt)
        timer_current(pt, &v, &i);
    else
        v = i = zero;
    if (old_value)
        *old_value = v;
    if (old_interval)
        *old_interval = i;
    if (pt && value)
        timer_set(pt, false, value, interval);
    pthread_mutex_unlock(&tg->timers_lock);
}
