/* Unit tests for sentry/mm's guest copies (copy.c): whole and partial copies across pages and
 * VMAs, strings, access_ok, the writable prefix and forced zeroing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/mm/mm_fixture.h"

static void test_copy_across_pages_and_vmas(void **state)
{
    struct mm *mm = mm_of(state);
    const size_t len = 10 * PAGE + 123;

    assert_int_equal(map_fixed(mm, AREA, 4 * PAGE, RW), AREA);
    assert_int_equal(map_fixed(mm, AREA + 4 * PAGE, 4 * PAGE, RW | PROT_EXEC), AREA + 4 * PAGE);
    assert_int_equal(map_fixed(mm, AREA + 8 * PAGE, 4 * PAGE, RW), AREA + 8 * PAGE);
    assert_int_equal(mm_vma_count(mm), 3);
    fill_pattern(mm, AREA + 1000, len, 11, 0);
    check_pattern(mm, AREA + 1000, len, 11, 0);
    check_pattern(mm, AREA + 4 * PAGE, PAGE, 11, 4 * PAGE - 1000);
    check_zero(mm, AREA, 1000);
    check_zero(mm, AREA + 1000 + len, 12 * PAGE - 1000 - len);
    assert_int_equal(mm_copy_in(mm, AREA, NULL, 0), 0);
    assert_int_equal(mm_copy_out(mm, AREA + 100 * PAGE, NULL, 0), 0);
}

static void test_copy_partial(void **state)
{
    struct mm *mm = mm_of(state);
    uint8_t *buf = calloc(1, 8 * PAGE);

    assert_non_null(buf);
    assert_int_equal(map_fixed(mm, AREA, 2 * PAGE, RW), AREA);
    assert_int_equal(map_fixed(mm, AREA + 2 * PAGE, 2 * PAGE, PROT_READ), AREA + 2 * PAGE);
    /* Copy-out stops at the read-only VMA, copy-in at the hole after it. */
    memset(buf, 0xab, 8 * PAGE);
    assert_int_equal(mm_copy_out_partial(mm, AREA + 100, buf, 5 * PAGE), 2 * PAGE - 100);
    assert_int_equal(mm_copy_out(mm, AREA + 100, buf, 5 * PAGE), -EFAULT);
    assert_int_equal(mm_copy_out(mm, AREA + 100, buf, 2 * PAGE - 100), 0);
    memset(buf, 0, 8 * PAGE);
    assert_int_equal(mm_copy_in_partial(mm, AREA + PAGE, buf, 8 * PAGE), 3 * PAGE);
    assert_int_equal(buf[0], 0xab);
    assert_int_equal(buf[PAGE - 1], 0xab);
    assert_int_equal(buf[PAGE], 0);
    assert_int_equal(mm_copy_in(mm, AREA + PAGE, buf, 3 * PAGE + 1), -EFAULT);
    assert_int_equal(mm_copy_in(mm, AREA + PAGE, buf, 3 * PAGE), 0);
    assert_int_equal(mm_copy_in_partial(mm, AREA + 4 * PAGE, buf, 1), -EFAULT);
    assert_int_equal(mm_copy_out_partial(mm, AREA + 2 * PAGE, buf, 1), -EFAULT);
    assert_int_equal(mm_copy_in_partial(mm, AREA, buf, 0), 0);
    /* At the top of the address space. */
    assert_int_equal(map_fixed(mm, MAX_ADDR - PAGE, PAGE, RW), MAX_ADDR - PAGE);
    assert_int_equal(mm_copy_in_partial(mm, MAX_ADDR - 10, buf, 100), 10);
    assert_int_equal(mm_copy_in_partial(mm, MAX_ADDR, buf, 1), -EFAULT);
    assert_int_equal(mm_copy_in_partial(mm, UINT64_MAX - 5, buf, 100), -EFAULT);
    free(buf);
}

static void test_copy_string_in(void **state)
{
    struct mm *mm = mm_of(state);
    char *buf = calloc(1, 2 * PAGE);

    assert_non_null(buf);
    assert_int_equal(map_fixed(mm, AREA, 2 * PAGE, RW), AREA);
    assert_int_equal(mm_copy_out(mm, AREA, "hello", 6), 0);
    assert_int_equal(mm_copy_string_in(mm, AREA, buf, 64), 5);
    assert_string_equal(buf, "hello");
    assert_int_equal(mm_copy_string_in(mm, AREA, buf, 6), 5); /* NUL in the last byte */
    assert_int_equal(mm_copy_string_in(mm, AREA, buf, 5), -ENAMETOOLONG);
    assert_int_equal(mm_copy_string_in(mm, AREA + 5, buf, 1), 0);

    /* Ending right before an unmapped page. */
    assert_int_equal(mm_copy_out(mm, AREA + 2 * PAGE - 5, "edge", 5), 0);
    assert_int_equal(mm_copy_string_in(mm, AREA + 2 * PAGE - 5, buf, 2 * PAGE), 4);
    assert_string_equal(buf, "edge");
    assert_int_equal(mm_copy_out(mm, AREA + 2 * PAGE - 10, "xxxxxxxxxx", 10), 0);
    assert_int_equal(mm_copy_string_in(mm, AREA + 2 * PAGE - 10, buf, 100), -EFAULT);
    assert_int_equal(mm_copy_string_in(mm, AREA + 2 * PAGE - 10, buf, 10), -ENAMETOOLONG);
    assert_int_equal(mm_copy_string_in(mm, AREA + 2 * PAGE, buf, 10), -EFAULT);

    /* Across a page and a VMA boundary. */
    assert_int_equal(mm_protect(mm, AREA + PAGE, PAGE, PROT_READ | PROT_EXEC), 0);
    memset(buf, 'a', 6000);
    buf[6000] = '\0';
    assert_int_equal(mm_copy_out(mm, AREA + PAGE - 3000, buf, 3000), 0);
    assert_int_equal(mm_zero_force(mm, AREA + PAGE, PAGE), 0);
    assert_int_equal(mm_copy_string_in(mm, AREA + PAGE - 3000, buf, 2 * PAGE), 3000);
    assert_int_equal(strlen(buf), 3000);

    assert_int_equal(mm_protect(mm, AREA, PAGE, PROT_NONE), 0);
    assert_int_equal(mm_copy_string_in(mm, AREA, buf, 64), -EFAULT);
    assert_int_equal(mm_copy_string_in(mm, AREA + 100 * PAGE, buf, 64), -EFAULT);
    free(buf);
}

static void test_access_ok(void **state)
{
    struct mm *mm = mm_of(state);

    assert_int_equal(mm_max_addr(mm), MAX_ADDR);
    assert_true(mm_access_ok(mm, 0, 0));
    assert_true(mm_access_ok(mm, 0, MAX_ADDR));
    assert_false(mm_access_ok(mm, 0, MAX_ADDR + 1));
    assert_false(mm_access_ok(mm, 1, MAX_ADDR));
    assert_true(mm_access_ok(mm, MAX_ADDR - 1, 1));
    assert_true(mm_access_ok(mm, MAX_ADDR, 0));
    assert_false(mm_access_ok(mm, MAX_ADDR, 1));
    assert_false(mm_access_ok(mm, MAX_ADDR + 1, 0));
    assert_false(mm_access_ok(mm, UINT64_MAX, 1));
    assert_false(mm_access_ok(mm, 0, UINT64_MAX));
    assert_true(mm_access_ok(mm, AREA, PAGE)); /* says nothing about what is mapped */
}

static void test_writable_prefix(void **state)
{
    struct mm *mm = mm_of(state);

    assert_int_equal(map_fixed(mm, AREA, 2 * PAGE, RW), AREA);
    assert_int_equal(map_fixed(mm, AREA + 2 * PAGE, PAGE, PROT_READ), AREA + 2 * PAGE);
    fill_pattern(mm, AREA, 2 * PAGE, 12, 0);
    assert_int_equal(mm_writable_prefix(mm, AREA, 3 * PAGE), 2 * PAGE);
    assert_int_equal(mm_writable_prefix(mm, AREA + PAGE + 10, 3 * PAGE), PAGE - 10);
    assert_int_equal(mm_writable_prefix(mm, AREA + PAGE + 10, 10), 10);
    assert_int_equal(mm_writable_prefix(mm, AREA + 2 * PAGE, 10), -EFAULT);
    assert_int_equal(mm_writable_prefix(mm, AREA + 8 * PAGE, 10), -EFAULT);
    assert_int_equal(mm_writable_prefix(mm, AREA, 0), 0);
    check_pattern(mm, AREA, 2 * PAGE, 12, 0); /* nothing was written */
}

static void test_zero_force(void **state)
{
    struct mm *mm = mm_of(state);

    assert_int_equal(map_fixed(mm, AREA, 2 * PAGE, RW), AREA);
    fill_pattern(mm, AREA, 2 * PAGE, 14, 0);
    assert_int_equal(mm_protect(mm, AREA, 2 * PAGE, PROT_READ), 0);
    assert_int_equal(mm_zero_force(mm, AREA + 100, PAGE), 0);
    check_pattern(mm, AREA, 100, 14, 0);
    check_zero(mm, AREA + 100, PAGE);
    check_pattern(mm, AREA + 100 + PAGE, PAGE - 100, 14, 100 + PAGE);
    assert_int_equal(mm_zero_force(mm, AREA + PAGE, 2 * PAGE), -EFAULT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_copy_across_pages_and_vmas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_partial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_string_in, setup, teardown),
        cmocka_unit_test_setup_teardown(test_access_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writable_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_force, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
