/* A bare task (with its thread group, no kernel) for unit tests of files that block tasks:
 * task_block works on it, and a helper thread can run a blocking call as that task. */
#ifndef TESTS_UNIT_TASK_FIXTURE_H
#define TESTS_UNIT_TASK_FIXTURE_H

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "sentry/kernel/kernel.h"

static inline struct task *fixture_task(int tid)
{
    struct thread_group *tg = thread_group_alloc(NULL, tid);
    struct task *t = task_alloc(NULL, tg, tid);
    tg->tasks = t;
    tg->leader = t;
    return t;
}

static inline void fixture_task_free(struct task *t)
{
    task_free(t);
}

/* Marks a signal pending and unblocked for t and interrupts it (as a kill would, minus the
 * kernel's bookkeeping). */
static inline void fixture_task_signal(struct task *t, int sig)
{
    pthread_mutex_lock(&t->tg->lock);
    t->pending |= SIGBIT(sig);
    t->pending_info[sig].si_signo = sig;
    pthread_mutex_unlock(&t->tg->lock);
    task_interrupt(t);
}

static inline void fixture_sleep_ms(int ms)
{
    usleep((useconds_t)ms * 1000);
}

#endif
