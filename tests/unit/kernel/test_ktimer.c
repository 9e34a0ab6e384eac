/* Unit tests for the kernel timer service: firing order, re-arming, cancelling, a deadline in
 * the past, and cancel waiting for a fire in progress. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "sentry/kernel/ktimer.h"

#define MS 1000000LL

struct probe {
    struct ktimer kt; /* first: the fire function gets &probe->kt */
    int id;
    atomic_int fired;
    _Atomic int64_t when;
    int sleep_ms; /* how long fire takes */
};

static pthread_mutex_t order_lock = PTHREAD_MUTEX_INITIALIZER;
static int order[16];
static int norder;

static void probe_fire(struct ktimer *kt)
{
    struct probe *p = (struct probe *)kt;
    p->when = ktimer_now_ns();
    if (p->sleep_ms)
        usleep((useconds_t)p->sleep_ms * 1000);
    pthread_mutex_lock(&order_lock);
    if (norder < 16)
        order[norder++] = p->id;
    pthread_mutex_unlock(&order_lock);
    atomic_fetch_add(&p->fired, 1);
}

static void probe_init(struct probe *p, int id)
{
    memset(p, 0, sizeof(*p));
    ktimer_init(&p->kt, probe_fire);
    p->id = id;
}

static void wait_fired(struct probe *p, int count)
{
    for (int i = 0; i < 2000 && atomic_load(&p->fired) < count; i++)
        usleep(1000);
    assert_int_equal(atomic_load(&p->fired), count);
}

static void test_fires_in_deadline_order(void **state)
{
    struct probe a, b, c;
    int64_t now = ktimer_now_ns();

    norder = 0;
    probe_init(&a, 1);
    probe_init(&b, 2);
    probe_init(&c, 3);
    /* Armed out of order; the heap must sort them. */
    assert_int_equal(ktimer_arm(&c.kt, now + 60 * MS), 0);
    assert_int_equal(ktimer_arm(&a.kt, now + 20 * MS), 0);
    assert_int_equal(ktimer_arm(&b.kt, now + 40 * MS), 0);
    wait_fired(&c, 1);
    wait_fired(&a, 1);
    wait_fired(&b, 1);
    assert_int_equal(norder, 3);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 3);
    assert_true(a.when >= now + 20 * MS);
    assert_true(c.when >= now + 60 * MS);
}

static void test_rearm_moves_the_deadline(void **state)
{
    struct probe a;
    int64_t now = ktimer_now_ns();

    probe_init(&a, 1);
    assert_int_equal(ktimer_arm(&a.kt, now + 10 * MS), 0);
    assert_int_equal(ktimer_arm(&a.kt, now + 80 * MS), 0);
    wait_fired(&a, 1);
    assert_true(a.when >= now + 80 * MS);
    usleep(30000);
    assert_int_equal(atomic_load(&a.fired), 1); /* once, not twice */
}

static void test_cancel_prevents_firing(void **state)
{
    struct probe a, b;
    int64_t now = ktimer_now_ns();

    probe_init(&a, 1);
    probe_init(&b, 2);
    assert_int_equal(ktimer_arm(&a.kt, now + 30 * MS), 0);
    assert_int_equal(ktimer_arm(&b.kt, now + 40 * MS), 0);
    ktimer_cancel(&a.kt);
    ktimer_cancel(&a.kt); /* cancelling a disarmed timer is harmless */
    wait_fired(&b, 1);
    usleep(20000);
    assert_int_equal(atomic_load(&a.fired), 0);
}

static void test_past_deadline_fires_at_once(void **state)
{
    struct probe a;

    probe_init(&a, 1);
    int64_t now = ktimer_now_ns();
    assert_int_equal(ktimer_arm(&a.kt, now - 1000 * MS), 0);
    wait_fired(&a, 1);
    assert_true(a.when - now < 1000 * MS);
}

static void test_cancel_waits_for_a_running_fire(void **state)
{
    struct probe a;

    probe_init(&a, 1);
    a.sleep_ms = 100;
    assert_int_equal(ktimer_arm(&a.kt, ktimer_now_ns()), 0);
    while (!a.when)
        usleep(1000);
    ktimer_cancel(&a.kt);
    /* fire had started; cancel returned only after it finished. */
    assert_int_equal(atomic_load(&a.fired), 1);
}

static void test_many_timers(void **state)
{
    static struct probe p[200];
    int64_t now = ktimer_now_ns();

    /* Deadlines 100 to 150 ms away: the even ones are cancelled long before any is due. */
    for (int i = 0; i < 200; i++) {
        probe_init(&p[i], i);
        assert_int_equal(ktimer_arm(&p[i].kt, now + (int64_t)(100 + (i * 7919) % 50) * MS), 0);
    }
    for (int i = 0; i < 200; i += 2)
        ktimer_cancel(&p[i].kt);
    for (int i = 1; i < 200; i += 2)
        wait_fired(&p[i], 1);
    for (int i = 0; i < 200; i += 2)
        assert_int_equal(atomic_load(&p[i].fired), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fires_in_deadline_order),
        cmocka_unit_test(test_rearm_moves_the_deadline),
        cmocka_unit_test(test_cancel_prevents_firing),
        cmocka_unit_test(test_past_deadline_fires_at_once),
        cmocka_unit_test(test_cancel_waits_for_a_running_fire),
        cmocka_unit_test(test_many_timers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
