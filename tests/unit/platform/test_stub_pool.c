/* Unit tests for the stub factory's pool of ready stubs: first in, first out, bounded, and
 * correct across the ring's wrap-around. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "platform/ptrace/stub_pool.h"

static void test_empty_pool_has_nothing_to_give(void **state)
{
    struct stub_pool pool;

    (void)state;
    stub_pool_init(&pool);
    assert_false(stub_pool_full(&pool));
    assert_int_equal(stub_pool_pop(&pool), -EAGAIN);
}

static void test_oldest_stub_goes_first(void **state)
{
    struct stub_pool pool;

    (void)state;
    stub_pool_init(&pool);
    assert_int_equal(stub_pool_push(&pool, 101), 0);
    assert_int_equal(stub_pool_push(&pool, 102), 0);
    assert_int_equal(stub_pool_pop(&pool), 101);
    assert_int_equal(stub_pool_pop(&pool), 102);
    assert_int_equal(stub_pool_pop(&pool), -EAGAIN);
}

static void test_full_pool_refuses_more(void **state)
{
    struct stub_pool pool;

    (void)state;
    stub_pool_init(&pool);
    for (int i = 0; i < STUB_POOL_CAPACITY; i++) {
        assert_false(stub_pool_full(&pool));
        assert_int_equal(stub_pool_push(&pool, 200 + i), 0);
    }
    assert_true(stub_pool_full(&pool));
    assert_int_equal(stub_pool_push(&pool, 999), -ENOSPC);
    /* The refused pid took no one's place. */
    for (int i = 0; i < STUB_POOL_CAPACITY; i++)
        assert_int_equal(stub_pool_pop(&pool), 200 + i);
}

static void test_order_survives_wrap_around(void **state)
{
    struct stub_pool pool;
    pid_t next_in = 1, next_out = 1;

    (void)state;
    stub_pool_init(&pool);
    /* Interleave pushes and pops so head and tail go round the ring several times. */
    for (int round = 0; round < 5 * STUB_POOL_CAPACITY; round++) {
        while (!stub_pool_full(&pool))
            assert_int_equal(stub_pool_push(&pool, next_in++), 0);
        assert_int_equal(stub_pool_pop(&pool), next_out++);
        if (round % 2)
            assert_int_equal(stub_pool_pop(&pool), next_out++);
    }
    while (next_out < next_in)
        assert_int_equal(stub_pool_pop(&pool), next_out++);
    assert_int_equal(stub_pool_pop(&pool), -EAGAIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_pool_has_nothing_to_give),
        cmocka_unit_test(test_oldest_stub_goes_first),
        cmocka_unit_test(test_full_pool_refuses_more),
        cmocka_unit_test(test_order_survives_wrap_around),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
