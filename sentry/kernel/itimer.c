/* ITIMER_REAL: each process's real-time interval timer (setitimer(2), alarm(2)). One kernel
 * thread sleeps until the earliest armed deadline and sends SIGALRM when a timer expires. */
#include <errno.h>
#include <stdlib.h>

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/ktimer.h"

static struct timespec ns_ts(int64_t ns)
{
    struct timespec ts = {ns / 1000000000LL, ns % 1000000000LL};
    return ts;
}

static int64_t now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return ktimer_ts_ns(&now);
}

/* Fires expired timers and returns the earliest deadline still armed (0: none).
 * kernel.lock held. */
static int64_t fire_expired(struct kernel *k)
{
    int64_t now = now_ns(), earliest = 0;

    for (struct thread_group *g = k->groups; g; g = g->next) {
        if (!g->itimer_next_ns || g->zombie || !g->leader)
            continue;
        if (g->itimer_next_ns <= now) {
            thread_group_signal_from_kernel(g, SIGALRM, false);
            /* An interval timer rearms from its deadline, skipping periods it slept through. */
            if (g->itimer_interval_ns) {
                int64_t late = now - g->itimer_next_ns;
                g->itimer_next_ns += (late / g->itimer_interval_ns + 1) * g->itimer_interval_ns;
            } else {
                g->itimer_next_ns = 0;
                continue;
            }
        }
        if (!earliest || g->itimer_next_ns < earliest)
            earliest = g->itimer_next_ns;
    }
    return earliest;
}

static void *itimer_thread(void *arg)
{
    struct kernel *k = arg;

    pthread_mutex_lock(&k->lock);
    for (;;) {
        int64_t next = fire_expired(k);
        if (next) {
            struct timespec deadline = ns_ts(next);
            pthread_cond_timedwait(&k->itimer_changed, &k->lock, &deadline);
        } else {
            pthread_cond_wait(&k->itimer_changed, &k->lock);
        }
    }
    return NULL;
}

int kernel_start_itimers(struct kernel *k)
{
    pthread_condattr_t attr;
    pthread_t thread;

    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&k->itimer_changed, &attr);
    pthread_condattr_destroy(&attr);
    int err = pthread_create(&thread, NULL, itimer_thread, k);
    if (err)
        return -err;
    pthread_detach(thread);
    return 0;
}

void itimer_real_set(struct task *t, const struct timespec *value, const struct timespec *interval,
                     struct timespec *old_value, struct timespec *old_interval)
{
    struct kernel *k = t->kernel;
    struct thread_group *g = t->tg;

    pthread_mutex_lock(&k->lock);
    int64_t now = now_ns();
    int64_t left = g->itimer_next_ns ? g->itimer_next_ns - now : 0;
    if (old_value)
        *old_value = ns_ts(left > 0 ? left : (g->itimer_next_ns ? 1000 : 0));
    if (old_interval)
        *old_interval = ns_ts(g->itimer_interval_ns);
    if (value) {
        int64_t v = ktimer_ts_ns(value);
        g->itimer_next_ns = v ? ktimer_ns_add(now, v) : 0;
        g->itimer_interval_ns = v ? ktimer_ts_ns(interval) : 0;
        pthread_cond_signal(&k->itimer_changed);
    }
    pthread_mutex_unlock(&k->lock);
}
