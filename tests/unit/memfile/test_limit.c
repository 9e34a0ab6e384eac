/* Unit tests for the memory file's limit (linux.resources.memory.limit) and its OOM hook. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>

#include "sentry/memfile/memfile.h"

#define PAGE MEMFILE_PAGE_SIZE
#define MIB (1UL << 20)

static struct memfile *create_or_fail(uint64_t size)
{
    struct memfile *mf = NULL;
    assert_int_equal(memfile_create(size, &mf), 0);
    return mf;
}

static void test_no_limit_by_default(void **state)
{
    (void)state;
    struct memfile *mf = create_or_fail(8 * MIB);
    uint64_t off;
    assert_int_equal(memfile_limit(mf), 0);
    assert_int_equal(memfile_alloc(mf, 8 * MIB, &off), 0);
    assert_int_equal(memfile_used(mf), 8 * MIB);
    memfile_decref(mf, off, 8 * MIB);
    memfile_destroy(mf);
}

/* The limit bounds used bytes exactly: up to it succeeds, one page past it is ENOMEM. */
static void test_limit_is_exact(void **state)
{
    (void)state;
    struct memfile *mf = create_or_fail(64 * MIB);
    uint64_t a, b, c;
    memfile_set_limit(mf, 4 * PAGE);
    assert_int_equal(memfile_limit(mf), 4 * PAGE);
    assert_int_equal(memfile_alloc(mf, 3 * PAGE, &a), 0);
    assert_int_equal(memfile_alloc(mf, 2 * PAGE, &b), -ENOMEM);
    assert_int_equal(memfile_used(mf), 3 * PAGE); /* a refused allocation takes nothing */
    assert_int_equal(memfile_alloc(mf, PAGE, &b), 0);
    assert_int_equal(memfile_alloc(mf, PAGE, &c), -ENOMEM);
    /* A length larger than the limit itself cannot wrap the check. */
    assert_int_equal(memfile_alloc(mf, 16 * MIB, &c), -ENOMEM);
    /* Freeing makes room again; sharing a page (incref) charges nothing more. */
    memfile_incref(mf, b, PAGE);
    memfile_decref(mf, a, 3 * PAGE);
    assert_int_equal(memfile_used(mf), PAGE);
    assert_int_equal(memfile_alloc(mf, 3 * PAGE, &a), 0);
    memfile_decref(mf, a, 3 * PAGE);
    memfile_decref(mf, b, PAGE);
    memfile_decref(mf, b, PAGE);
    assert_int_equal(memfile_used(mf), 0);
    memfile_destroy(mf);
}

/* Lowering the limit below what is in use frees nothing; later allocations wait for frees. */
static void test_limit_below_use(void **state)
{
    (void)state;
    struct memfile *mf = create_or_fail(8 * MIB);
    uint64_t a, b;
    assert_int_equal(memfile_alloc(mf, 4 * PAGE, &a), 0);
    memfile_set_limit(mf, 2 * PAGE);
    assert_int_equal(memfile_used(mf), 4 * PAGE);
    assert_int_equal(memfile_alloc(mf, PAGE, &b), -ENOMEM);
    memfile_decref(mf, a, 4 * PAGE);
    assert_int_equal(memfile_alloc(mf, 2 * PAGE, &b), 0);
    memfile_decref(mf, b, 2 * PAGE);
    memfile_destroy(mf);
}

/* A fake OOM killer: frees the victim allocation it is given, or gives up. */
struct fake_oom {
    struct memfile *mf;
    uint64_t victim_off, victim_len; /* 0 len: nothing to kill */
    int calls;
};

static int fake_oom_hook(void *arg)
{
    struct fake_oom *o = arg;
    o->calls++;
    if (o->victim_len == 0)
        return -ENOMEM;
    memfile_decref(o->mf, o->victim_off, o->victim_len);
    o->victim_len = 0;
    return 0;
}

static void test_alloc_wait_retries_after_a_kill(void **state)
{
    (void)state;
    struct memfile *mf = create_or_fail(8 * MIB);
    struct fake_oom o = {.mf = mf};
    uint64_t off;
    memfile_set_limit(mf, 8 * PAGE);
    assert_int_equal(memfile_alloc(mf, 6 * PAGE, &o.victim_off), 0);
    o.victim_len = 6 * PAGE;
    memfile_set_oom_hook(mf, fake_oom_hook, &o);
    assert_int_equal(memfile_alloc_wait(mf, 4 * PAGE, &off), 0);
    assert_int_equal(o.calls, 1);
    assert_int_equal(memfile_used(mf), 4 * PAGE);
    /* Nothing left to kill: the hook's error comes back, and the hook was asked once more. */
    assert_int_equal(memfile_alloc_wait(mf, 5 * PAGE, &off), -ENOMEM);
    assert_int_equal(o.calls, 2);
    /* An allocation that fits never asks. */
    uint64_t small;
    assert_int_equal(memfile_alloc_wait(mf, 4 * PAGE, &small), 0);
    assert_int_equal(o.calls, 2);
    memfile_decref(mf, small, 4 * PAGE);
    memfile_decref(mf, off, 4 * PAGE);
    memfile_destroy(mf);
}

static void test_oom_wait_without_hook(void **state)
{
    (void)state;
    struct memfile *mf = create_or_fail(8 * MIB);
    uint64_t off;
    memfile_set_limit(mf, PAGE);
    assert_int_equal(memfile_oom_wait(mf), -ENOMEM);
    assert_int_equal(memfile_alloc_wait(mf, 2 * PAGE, &off), -ENOMEM);
    memfile_destroy(mf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_limit_by_default),
        cmocka_unit_test(test_limit_is_exact),
        cmocka_unit_test(test_limit_below_use),
        cmocka_unit_test(test_alloc_wait_retries_after_a_kill),
        cmocka_unit_test(test_oom_wait_without_hook),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
