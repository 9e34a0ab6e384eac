/* Unit tests for what a fork asks of the platform: the parent's writable private areas are
 * unmapped whole (its next access faults and, for a write, copies), read-only ones stay mapped,
 * and a write after the fork lands in the parent's copy only, leaving the child's pages alone;
 * the window around the forking thread's stack pointer is copied for the child at once and stays
 * writable in the parent. A recording platform address space stands in for a real one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "platform/platform_impl.h"
#include "tests/unit/mm/mm_fixture.h"

#define MAX_CALLS 64

struct call {
    bool map; /* map, else unmap */
    uint64_t addr, len;
    int prot;
};

/* The platform calls one address space received, in order. */
struct recording_as {
    struct platform_as base;
    struct call calls[MAX_CALLS];
    int ncalls;
};

static int rec_map(struct platform_as *as, uint64_t addr, uint64_t len, int prot, uint64_t off)
{
    struct recording_as *r = (struct recording_as *)as;

    (void)off;
    assert_true(r->ncalls < MAX_CALLS);
    r->calls[r->ncalls++] = (struct call){.map = true, .addr = addr, .len = len, .prot = prot};
    return 0;
}

static int rec_unmap(struct platform_as *as, uint64_t addr, uint64_t len)
{
    struct recording_as *r = (struct recording_as *)as;

    assert_true(r->ncalls < MAX_CALLS);
    r->calls[r->ncalls++] = (struct call){.map = false, .addr = addr, .len = len};
    return 0;
}

static void rec_release(struct platform_as *as)
{
    (void)as;
}

static const struct platform_ops recording_ops = {
    .name = "recording",
    .as_map = rec_map,
    .as_unmap = rec_unmap,
    .as_release = rec_release,
};
static struct platform recording_platform = {.ops = &recording_ops};

static void rec_init(struct recording_as *r)
{
    memset(r, 0, sizeof(*r));
    r->base.platform = &recording_platform;
}

static void test_fork_downgrades_parent_mapped_pages(void **state)
{
    struct mm *parent = mm_of(state);
    struct recording_as pas;
    struct mm *child;

    rec_init(&pas);
    mm_set_platform_as(parent, &pas.base);
    /* Two writable regions, one touched (mapped) and one never touched, and a read-only one. */
    assert_int_equal(map_fixed(parent, AREA, 2 * MIB, RW), (int64_t)AREA);
    assert_int_equal(map_fixed(parent, AREA + 4 * MIB, 2 * MIB, RW), (int64_t)(AREA + 4 * MIB));
    assert_int_equal(map_fixed(parent, AREA + 8 * MIB, 2 * MIB, PROT_READ),
                     (int64_t)(AREA + 8 * MIB));
    assert_int_equal(mm_handle_fault(parent, AREA), 0);
    assert_int_equal(mm_handle_fault(parent, AREA + 8 * MIB), 0);
    fill_pattern(parent, AREA, 3 * PAGE, 1, 0);
    pas.ncalls = 0;

    assert_int_equal(mm_fork(parent, &child), 0);
    /* Only the mapped writable pages are remapped, read-only, in one call; the untouched area
     * costs nothing and the read-only one keeps its mapping. */
    assert_int_equal(pas.ncalls, 1);
    assert_true(pas.calls[0].map);
    assert_int_equal(pas.calls[0].addr, AREA);
    assert_int_equal(pas.calls[0].len, 2 * MIB);
    assert_int_equal(pas.calls[0].prot, PROT_READ);
    check_pattern(child, AREA, 3 * PAGE, 1, 0);
    /* The parent reads its own pages. */
    check_pattern(parent, AREA, 3 * PAGE, 1, 0);
    mm_put(child);
    mm_set_platform_as(parent, NULL); /* the recorder lives on this stack frame */
}

static void test_parent_write_after_fork_copies(void **state)
{
    struct mm *parent = mm_of(state);
    struct recording_as pas, cas;
    struct mm *child;

    rec_init(&pas);
    rec_init(&cas);
    mm_set_platform_as(parent, &pas.base);
    assert_int_equal(map_fixed(parent, AREA, 2 * MIB, RW), (int64_t)AREA);
    assert_int_equal(mm_handle_fault(parent, AREA), 0);
    fill_pattern(parent, AREA, 2 * PAGE, 2, 0);
    assert_int_equal(mm_fork(parent, &child), 0);
    mm_set_platform_as(child, &cas.base);
    pas.ncalls = 0;

    /* The page is shared and mapped read-only: a fault in the parent maps a copy, and nothing is
     * asked of the child's address space. */
    assert_int_equal(mm_handle_fault(parent, AREA + PAGE), 0);
    assert_true(pas.ncalls >= 1);
    assert_int_equal(cas.ncalls, 0);

    /* The parent's write lands in its copy only. */
    fill_pattern(parent, AREA + PAGE, PAGE, 3, 0);
    check_pattern(child, AREA, 2 * PAGE, 2, 0);
    check_pattern(parent, AREA + PAGE, PAGE, 3, 0);
    mm_put(child);
    mm_set_platform_as(parent, NULL); /* the recorder lives on this stack frame */
}

static struct pma *pma_for(struct mm *mm, uint64_t addr)
{
    size_t i = rangevec_lower_bound(&mm->pmas, addr);
    assert_true(i < mm->pmas.len && pma_at(mm, i)->start <= addr);
    return pma_at(mm, i);
}

static void test_fork_near_copies_hot_window(void **state)
{
    struct mm *parent = mm_of(state);
    struct recording_as pas;
    struct mm *child;
    const uint64_t hot = AREA + MM_COW_WINDOW + 5 * PAGE + 24;

    rec_init(&pas);
    mm_set_platform_as(parent, &pas.base);
    assert_int_equal(map_fixed(parent, AREA, 2 * MIB, RW), (int64_t)AREA);
    assert_int_equal(mm_handle_fault(parent, AREA), 0);
    fill_pattern(parent, AREA, 2 * MM_COW_WINDOW, 4, 0);
    pas.ncalls = 0;

    assert_int_equal(mm_fork_near(parent, hot, &child), 0);
    /* The parent keeps the window writable: only what lies around it is downgraded. */
    assert_int_equal(pas.ncalls, 2);
    assert_int_equal(pas.calls[0].addr, AREA);
    assert_int_equal(pas.calls[0].len, MM_COW_WINDOW);
    assert_int_equal(pas.calls[0].prot, PROT_READ);
    assert_int_equal(pas.calls[1].addr, AREA + 2 * MM_COW_WINDOW);
    assert_int_equal(pas.calls[1].len, 2 * MIB - 2 * MM_COW_WINDOW);
    struct pma *pw = pma_for(parent, hot), *cw = pma_for(child, hot);
    assert_int_equal(pw->start, AREA + MM_COW_WINDOW);
    assert_int_equal(pw->end, AREA + 2 * MM_COW_WINDOW);
    assert_true(pw->mapped && !pw->cow);
    assert_int_equal(cw->start, pw->start);
    assert_int_equal(cw->end, pw->end);
    assert_false(cw->cow);
    assert_int_not_equal(cw->mf_off, pw->mf_off);
    /* Outside it the pages are shared copy-on-write. */
    assert_true(pma_for(child, AREA)->cow);
    assert_int_equal(pma_for(child, AREA)->mf_off, pma_for(parent, AREA)->mf_off);

    /* Same contents; then each write stays in its own process. */
    check_pattern(child, AREA, 2 * MM_COW_WINDOW, 4, 0);
    fill_pattern(parent, hot, 64, 5, 0);
    check_pattern(child, AREA, 2 * MM_COW_WINDOW, 4, 0);
    check_pattern(parent, hot, 64, 5, 0);
    mm_put(child);
    mm_set_platform_as(parent, NULL); /* the recorder lives on this stack frame */
}

static void test_fork_near_shares_all_when_mm_has_other_tasks(void **state)
{
    struct mm *parent = mm_of(state);
    struct recording_as pas;
    struct mm *child;

    rec_init(&pas);
    mm_set_platform_as(parent, &pas.base);
    assert_int_equal(map_fixed(parent, AREA, 2 * MIB, RW), (int64_t)AREA);
    assert_int_equal(mm_handle_fault(parent, AREA), 0);
    pas.ncalls = 0;
    mm_get(parent); /* a second thread: it could write the window while it is copied */
    assert_int_equal(mm_fork_near(parent, AREA + 8, &child), 0);
    mm_put(parent);
    assert_int_equal(pas.ncalls, 1);
    assert_int_equal(pas.calls[0].len, 2 * MIB);
    assert_true(pma_for(child, AREA)->cow);
    assert_int_equal(pma_for(child, AREA)->mf_off, pma_for(parent, AREA)->mf_off);
    mm_put(child);
    mm_set_platform_as(parent, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fork_downgrades_parent_mapped_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parent_write_after_fork_copies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork_near_copies_hot_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork_near_shares_all_when_mm_has_other_tasks, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
