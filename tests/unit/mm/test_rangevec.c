/* Unit tests for sentry/mm's rangevec: the sorted vector of non-overlapping ranges behind the
 * VMA and PMA lists. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>

#include "sentry/mm/rangevec.h"

/* An element with a payload after the range, as struct vma and struct pma have. */
struct item {
    uint64_t start, end;
    uint32_t tag;
};

static struct item item_of(uint64_t start, uint64_t end, uint32_t tag)
{
    struct item it = {.start = start, .end = end, .tag = tag};
    return it;
}

static struct item *item_at(const struct rangevec *rv, size_t i)
{
    return (struct item *)rangevec_at(rv, i);
}

/* Fills rv with [10k, 10k+5) tagged k for k in [0, n). */
static void fill(struct rangevec *rv, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        struct item it = item_of(10 * k, 10 * k + 5, (uint32_t)k);
        assert_int_equal(rangevec_insert(rv, rv->len, &it), 0);
    }
}

static void assert_sorted(const struct rangevec *rv)
{
    for (size_t i = 0; i < rv->len; i++) {
        assert_true(item_at(rv, i)->start < item_at(rv, i)->end);
        if (i > 0)
            assert_true(item_at(rv, i - 1)->end <= item_at(rv, i)->start);
    }
}

static void test_rangevec_empty(void **state)
{
    (void)state;
    struct rangevec rv;
    rangevec_init(&rv, sizeof(struct item));

    assert_int_equal(rv.len, 0);
    assert_int_equal(rv.elem_size, sizeof(struct item));
    assert_int_equal(rangevec_lower_bound(&rv, 0), 0);
    assert_int_equal(rangevec_lower_bound(&rv, UINT64_MAX), 0);
    assert_null(rangevec_find(&rv, 0));
    assert_null(rangevec_find(&rv, 12345));
    rangevec_free(&rv);
    rangevec_free(&rv); /* freeing twice is harmless */
    assert_null(rv.items);
}

static void test_rangevec_single(void **state)
{
    (void)state;
    struct rangevec rv;
    rangevec_init(&rv, sizeof(struct item));
    struct item it = item_of(100, 200, 7);
    assert_int_equal(rangevec_insert(&rv, 0, &it), 0);
    assert_int_equal(rv.len, 1);

    /* lower_bound: the first range whose end is above addr. */
    assert_int_equal(rangevec_lower_bound(&rv, 0), 0);
    assert_int_equal(rangevec_lower_bound(&rv, 99), 0);
    assert_int_equal(rangevec_lower_bound(&rv, 100), 0);
    assert_int_equal(rangevec_lower_bound(&rv, 199), 0);
    assert_int_equal(rangevec_lower_bound(&rv, 200), 1);
    assert_int_equal(rangevec_lower_bound(&rv, UINT64_MAX), 1);

    assert_null(rangevec_find(&rv, 99));
    assert_ptr_equal(rangevec_find(&rv, 100), rangevec_at(&rv, 0));
    assert_ptr_equal(rangevec_find(&rv, 150), rangevec_at(&rv, 0));
    assert_ptr_equal(rangevec_find(&rv, 199), rangevec_at(&rv, 0));
    assert_null(rangevec_find(&rv, 200));
    assert_int_equal(((struct item *)rangevec_find(&rv, 100))->tag, 7);
    rangevec_free(&rv);
}

static void test_rangevec_many(void **state)
{
    (void)state;
    struct rangevec rv;
    rangevec_init(&rv, sizeof(struct item));
    fill(&rv, 1000); /* [0,5) [10,15) ... [9990,9995) */
    assert_int_equal(rv.len, 1000);
    assert_sorted(&rv);

    for (size_t k = 0; k < 1000; k++) {
        uint64_t s = 10 * k;
        assert_int_equal(rangevec_lower_bound(&rv, s), k);
        assert_int_equal(rangevec_lower_bound(&rv, s + 4), k);
        assert_int_equal(rangevec_lower_bound(&rv, s + 5), k + 1); /* in the gap */
        assert_int_equal(rangevec_lower_bound(&rv, s + 9), k + 1);
        struct item *hit = (struct item *)rangevec_find(&rv, s + 3);
        assert_non_null(hit);
        assert_int_equal(hit->tag, k);
        assert_int_equal(hit->start, s);
        assert_null(rangevec_find(&rv, s + 5));
        assert_null(rangevec_find(&rv, s + 9));
    }
    assert_int_equal(rangevec_lower_bound(&rv, 9995), 1000);
    assert_null(rangevec_find(&rv, 100000));
    rangevec_free(&rv);
}

static void test_rangevec_insert_keeps_order(void **state)
{
    (void)state;
    struct rangevec rv;
    rangevec_init(&rv, sizeof(struct item));

    /* Insert out of order, each at its lower bound: the vector stays sorted. */
    const uint64_t starts[] = {50, 10, 90, 30, 70, 0, 60, 20, 80, 40};
    for (size_t k = 0; k < sizeof(starts) / sizeof(starts[0]); k++) {
        struct item it = item_of(starts[k], starts[k] + 5, (uint32_t)starts[k]);
        size_t i = rangevec_lower_bound(&rv, it.start);
        assert_int_equal(rangevec_insert(&rv, i, &it), 0);
        assert_sorted(&rv);
    }
    assert_int_equal(rv.len, 10);
    for (size_t i = 0; i < rv.len; i++) {
        assert_int_equal(item_at(&rv, i)->start, 10 * i);
        assert_int_equal(item_at(&rv, i)->end, 10 * i + 5);
        assert_int_equal(item_at(&rv, i)->tag, 10 * i); /* payload moved with the range */
    }

    /* Insert into a gap between two adjacent-index ranges. */
    struct item mid = item_of(45, 50, 45);
    assert_int_equal(rangevec_lower_bound(&rv, 45), 5);
    assert_int_equal(rangevec_insert(&rv, 5, &mid), 0);
    assert_int_equal(rv.len, 11);
    assert_int_equal(item_at(&rv, 4)->start, 40);
    assert_int_equal(item_at(&rv, 5)->tag, 45);
    assert_int_equal(item_at(&rv, 6)->start, 50);
    assert_sorted(&rv);
    rangevec_free(&rv);
}

static void test_rangevec_remove(void **state)
{
    (void)state;
    struct rangevec rv;
    rangevec_init(&rv, sizeof(struct item));
    fill(&rv, 10);

    rangevec_remove(&rv, 0, 1); /* the first */
    assert_int_equal(rv.len, 9);
    assert_int_equal(item_at(&rv, 0)->tag, 1);

    rangevec_remove(&rv, rv.len - 1, 1); /* the last */
    assert_int_equal(rv.len, 8);
    assert_int_equal(item_at(&rv, 7)->tag, 8);

    rangevec_remove(&rv, 2, 3); /* tags 3, 4, 5 from the middle */
    assert_int_equal(rv.len, 5);
    const uint32_t want[] = {1, 2, 6, 7, 8};
    for (size_t i = 0; i < rv.len; i++)
        assert_int_equal(item_at(&rv, i)->tag, want[i]);
    assert_null(rangevec_find(&rv, 40));
    assert_int_equal(rangevec_lower_bound(&rv, 40), 2);

    rangevec_remove(&rv, 1, 0); /* nothing */
    assert_int_equal(rv.len, 5);
    rangevec_remove(&rv, 0, rv.len); /* everything */
    assert_int_equal(rv.len, 0);
    assert_null(rangevec_find(&rv, 10));

    /* Reusable after emptying. */
    struct item it = item_of(7, 9, 99);
    assert_int_equal(rangevec_insert(&rv, 0, &it), 0);
    assert_int_equal(((struct item *)rangevec_find(&rv, 8))->tag, 99);
    rangevec_free(&rv);
}

static void test_rangevec_reserve(void **state)
{
    (void)state;
    struct rangevec rv;
    rangevec_init(&rv, sizeof(struct item));

    assert_int_equal(rangevec_reserve(&rv, 0), 0);
    assert_int_equal(rangevec_reserve(&rv, 1), 0);
    assert_true(rv.cap >= 1);
    assert_int_equal(rv.len, 0);

    assert_int_equal(rangevec_reserve(&rv, 100), 0);
    assert_true(rv.cap >= 100);
    /* After a reservation, inserting that many must not move the storage: callers rely on it
     * to keep pointers (and to never fail half-way through an operation). */
    char *items = rv.items;
    size_t cap = rv.cap;
    fill(&rv, 100);
    assert_ptr_equal(rv.items, items);
    assert_int_equal(rv.cap, cap);

    /* Reserving on top of existing elements counts from len, not from zero. */
    assert_int_equal(rangevec_reserve(&rv, 50), 0);
    assert_true(rv.cap >= rv.len + 50);
    items = rv.items;
    for (size_t k = 0; k < 50; k++) {
        struct item it = item_of(100000 + 10 * k, 100000 + 10 * k + 1, 0);
        assert_int_equal(rangevec_insert(&rv, rv.len, &it), 0);
    }
    assert_ptr_equal(rv.items, items);
    assert_int_equal(rv.len, 150);
    assert_sorted(&rv);
    rangevec_free(&rv);
    assert_int_equal(rv.len, 0);
    assert_int_equal(rv.cap, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rangevec_empty),  cmocka_unit_test(test_rangevec_single),
        cmocka_unit_test(test_rangevec_many),   cmocka_unit_test(test_rangevec_insert_keeps_order),
        cmocka_unit_test(test_rangevec_remove), cmocka_unit_test(test_rangevec_reserve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
