/* task_block and task_wake: a task sleeps on its wake word outside wait_lock, and no wake is lost
 * whether it comes before the sleep, during it, or between the check and the host wait. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>

#include <cmocka.h>

#include "task_fixture.h"

static struct timespec deadline_in_ms(long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static long elapsed_ms(const struct timespec *from)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - from->tv_sec) * 1000 + (now.tv_nsec - from->tv_nsec) / 1000000L;
}

static void test_wake_before_block_is_kept(void **state)
{
    (void)state;
    struct task *t = fixture_task(1);
    task_wake(t);
    struct timespec dl = deadline_in_ms(5000);
    assert_int_equal(task_block(t, &dl), 0);
    /* The wake was consumed: the next block times out. */
    dl = deadline_in_ms(20);
    assert_int_equal(task_block(t, &dl), -ETIMEDOUT);
    fixture_task_free(t);
}

static void test_deadline_passes(void **state)
{
    (void)state;
    struct task *t = fixture_task(1);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct timespec dl = deadline_in_ms(50);
    assert_int_equal(task_block(t, &dl), -ETIMEDOUT);
    assert_true(elapsed_ms(&start) >= 49);
    fixture_task_free(t);
}

struct blocker {
    struct task *t;
    atomic_int result;
    atomic_bool done;
};

static void *block_main(void *arg)
{
    struct blocker *b = arg;
    struct timespec dl = deadline_in_ms(10000);
    atomic_store(&b->result, task_block(b->t, &dl));
    atomic_store(&b->done, true);
    return NULL;
}

static bool task_is_sleeping(struct task *t)
{
    pthread_mutex_lock(&t->wait_lock);
    bool s = t->sleeping;
    pthread_mutex_unlock(&t->wait_lock);
    return s;
}

static void test_wake_ends_a_sleep(void **state)
{
    (void)state;
    struct blocker b = {.t = fixture_task(1)};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, block_main, &b), 0);
    for (int i = 0; i < 1000 && !task_is_sleeping(b.t); i++)
        fixture_sleep_ms(1);
    fixture_sleep_ms(20);
    assert_true(task_is_sleeping(b.t));
    assert_false(atomic_load(&b.done));
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    task_wake(b.t);
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&b.result), 0);
    assert_true(elapsed_ms(&start) < 5000);
    fixture_task_free(b.t);
}

static void test_signal_interrupts_a_sleep(void **state)
{
    (void)state;
    struct blocker b = {.t = fixture_task(1)};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, block_main, &b), 0);
    for (int i = 0; i < 1000 && !task_is_sleeping(b.t); i++)
        fixture_sleep_ms(1);
    fixture_task_signal(b.t, SIGUSR1);
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&b.result), -EINTR);
    fixture_task_free(b.t);
}

/* Two tasks hand a turn back and forth: a lost wake would leave one asleep until its deadline,
 * which fails the run. */
#define PINGPONG_ROUNDS 2000

struct pingpong {
    struct task *me, *peer;
    atomic_int *turn;
    int mine;
    atomic_int failures;
};

static void *pingpong_main(void *arg)
{
    struct pingpong *p = arg;
    for (int i = 0; i < PINGPONG_ROUNDS; i++) {
        while (atomic_load(p->turn) != p->mine) {
            struct timespec dl = deadline_in_ms(5000);
            if (task_block(p->me, &dl) == -ETIMEDOUT) {
                atomic_fetch_add(&p->failures, 1);
                return NULL;
            }
        }
        atomic_store(p->turn, !p->mine);
        task_wake(p->peer);
    }
    return NULL;
}

static void test_pingpong_loses_no_wake(void **state)
{
    (void)state;
    atomic_int turn = 0;
    struct task *a = fixture_task(1), *b = fixture_task(2);
    struct pingpong pa = {.me = a, .peer = b, .turn = &turn, .mine = 0};
    struct pingpong pb = {.me = b, .peer = a, .turn = &turn, .mine = 1};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, pingpong_main, &pa), 0);
    assert_int_equal(pthread_create(&tb, NULL, pingpong_main, &pb), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(atomic_load(&pa.failures), 0);
    assert_int_equal(atomic_load(&pb.failures), 0);
    fixture_task_free(a);
    fixture_task_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wake_before_block_is_kept),
        cmocka_unit_test(test_deadline_passes),
        cmocka_unit_test(test_wake_ends_a_sleep),
        cmocka_unit_test(test_signal_interrupts_a_sleep),
        cmocka_unit_test(test_pingpong_loses_no_wake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
