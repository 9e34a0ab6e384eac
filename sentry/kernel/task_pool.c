/* The pool of idle sentry threads that new tasks run on (see task_pool.h). Each idle thread waits
 * on its own condition variable, so handing it a job wakes exactly that thread. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "sentry/kernel/ktimer.h"
#include "sentry/kernel/task_pool.h"

struct pool_worker {
    pthread_cond_t wake;        /* signalled when job is set; waited on under pool_lock */
    void (*job)(void *);        /* the next job, NULL while none (pool_lock) */
    void *job_arg;              /* its argument (pool_lock) */
    struct pool_worker *next;   /* in idle_workers (pool_lock) */
    struct pool_worker **pprev; /* the link pointing at it while idle, else NULL (pool_lock) */
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER; /* protects everything below */
static struct pool_worker *idle_workers; /* most recently idled first: its stack is warm */
static unsigned idle_count;

static void worker_unlink(struct pool_worker *w)
{
    *w->pprev = w->next;
    if (w->next)
        w->next->pprev = w->pprev;
    w->pprev = NULL;
    w->next = NULL;
    idle_count--;
}

/* Waits idle for the next job (pool_lock held); false if the thread should exit instead. */
static bool worker_wait_job(struct pool_worker *w)
{
    struct timespec deadline;

    if (idle_count >= TASK_POOL_MAX_IDLE)
        return false;
    w->next = idle_workers;
    if (idle_workers)
        idle_workers->pprev = &w->next;
    w->pprev = &idle_workers;
    idle_workers = w;
    idle_count++;
    deadline = ktimer_deadline_after(&(struct timespec){
        TASK_POOL_IDLE_TIMEOUT_MS / 1000, (long)(TASK_POOL_IDLE_TIMEOUT_MS % 1000) * 1000000L});
    while (!w->job) {
        if (pthread_cond_timedwait(&w->wake, &pool_lock, &deadline) == ETIMEDOUT && !w->job) {
            worker_unlink(w);
            return false;
        }
    }
    return true; /* task_pool_run unlinked it when it gave the job */
}

static void *worker_main(void *arg)
{
    struct pool_worker *w = arg;

    pthread_mutex_lock(&pool_lock);
    for (;;) {
        void (*job)(void *) = w->job;
        void *job_arg = w->job_arg;
        w->job = NULL;
        pthread_mutex_unlock(&pool_lock);
        job(job_arg);
        pthread_mutex_lock(&pool_lock);
        if (!worker_wait_job(w))
            break;
    }
    pthread_mutex_unlock(&pool_lock);
    pthread_cond_destroy(&w->wake);
    free(w);
    return NULL;
}

int task_pool_run(void (*fn)(void *), void *arg)
{
    pthread_mutex_lock(&pool_lock);
    struct pool_worker *w = idle_workers;
    if (w) {
        worker_unlink(w);
        w->job = fn;
        w->job_arg = arg;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&pool_lock);
        return 0;
    }
    pthread_mutex_unlock(&pool_lock);

    w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    pthread_condattr_t cattr;
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->wake, &cattr);
    pthread_condattr_destroy(&cattr);
    w->job = fn;
    w->job_arg = arg;

    pthread_attr_t attr;
    pthread_t thread;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int err = pthread_create(&thread, &attr, worker_main, w);
    pthread_attr_destroy(&attr);
    if (err) {
        pthread_cond_destroy(&w->wake);
        free(w);
        return -err;
    }
    return 0;
}

unsigned task_pool_idle_count(void)
{
    pthread_mutex_lock(&pool_lock);
    unsigned n = idle_count;
    pthread_mutex_unlock(&pool_lock);
    return n;
}
