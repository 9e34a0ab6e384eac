/* Unit tests for the pool of sentry threads that runs new tasks: a job runs, its thread goes idle
 * and takes the next job, jobs that overlap get threads of their own, and the idle cap holds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "sentry/kernel/task_pool.h"

struct probe {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool ran;     /* lock */
    bool release; /* lock: the job may return */
    bool block;   /* wait for release before returning */
    pid_t tid;    /* the thread the job ran on (lock) */
};

#define PROBE_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false, false, 0}

static void probe_job(void *arg)
{
    struct probe *p = arg;

    pthread_mutex_lock(&p->lock);
    p->tid = gettid();
    p->ran = true;
    pthread_cond_broadcast(&p->cond);
    while (p->block && !p->release)
        pthread_cond_wait(&p->cond, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

static void probe_wait_ran(struct probe *p)
{
    pthread_mutex_lock(&p->lock);
    while (!p->ran)
        pthread_cond_wait(&p->cond, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

static void probe_release(struct probe *p)
{
    pthread_mutex_lock(&p->lock);
    p->release = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

/* Waits up to 5 s for the idle count to reach `want`; returns the count last seen. */
static unsigned wait_idle(unsigned want)
{
    unsigned n = 0;
    for (int i = 0; i < 5000; i++) {
        n = task_pool_idle_count();
        if (n == want)
            break;
        usleep(1000);
    }
    return n;
}

static void test_job_runs_and_thread_goes_idle(void **state)
{
    (void)state;
    struct probe p = PROBE_INIT;

    assert_int_equal(wait_idle(0), 0);
    assert_int_equal(task_pool_run(probe_job, &p), 0);
    probe_wait_ran(&p);
    assert_int_not_equal(p.tid, gettid());
    assert_int_equal(wait_idle(1), 1);
}

static void test_idle_thread_takes_next_job(void **state)
{
    (void)state;
    struct probe first = PROBE_INIT, second = PROBE_INIT;

    assert_int_equal(task_pool_run(probe_job, &first), 0);
    probe_wait_ran(&first);
    assert_int_equal(wait_idle(1), 1);
    assert_int_equal(task_pool_run(probe_job, &second), 0);
    probe_wait_ran(&second);
    assert_int_equal(second.tid, first.tid);
    assert_int_equal(wait_idle(1), 1);
}

static void test_overlapping_jobs_get_own_threads(void **state)
{
    (void)state;
    struct probe a = PROBE_INIT, b = PROBE_INIT;

    a.block = b.block = true;
    assert_int_equal(task_pool_run(probe_job, &a), 0);
    assert_int_equal(task_pool_run(probe_job, &b), 0);
    probe_wait_ran(&a);
    probe_wait_ran(&b);
    assert_int_not_equal(a.tid, b.tid);
    assert_int_equal(task_pool_idle_count(), 0);
    probe_release(&a);
    probe_release(&b);
    assert_int_equal(wait_idle(2), 2);
}

static void test_idle_threads_are_capped(void **state)
{
    (void)state;
    enum { N = TASK_POOL_MAX_IDLE + 4 };
    static struct probe probes[N];

    for (int i = 0; i < N; i++) {
        probes[i] = (struct probe)PROBE_INIT;
        probes[i].block = true;
        assert_int_equal(task_pool_run(probe_job, &probes[i]), 0);
    }
    for (int i = 0; i < N; i++)
        probe_wait_ran(&probes[i]);
    for (int i = 0; i < N; i++) {
        for (int j = i + 1; j < N; j++)
            assert_int_not_equal(probes[i].tid, probes[j].tid);
    }
    for (int i = 0; i < N; i++)
        probe_release(&probes[i]);
    assert_int_equal(wait_idle(TASK_POOL_MAX_IDLE), TASK_POOL_MAX_IDLE);
    usleep(50000);
    assert_int_equal(task_pool_idle_count(), TASK_POOL_MAX_IDLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_runs_and_thread_goes_idle),
        cmocka_unit_test(test_idle_thread_takes_next_job),
        cmocka_unit_test(test_overlapping_jobs_get_own_threads),
        cmocka_unit_test(test_idle_threads_are_capped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
