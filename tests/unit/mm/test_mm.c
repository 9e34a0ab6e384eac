/* Unit tests for sentry/mm's address-space operations (mm.c, vma.c, fault.c): map, unmap,
 * protect, remap, brk, madvise, faults and memory accounting, without a platform address space. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/mm/mm_fixture.h"

static void test_map_top_down_and_hint(void **state)
{
    struct mm *mm = mm_of(state);

    assert_int_equal(map_any(mm, 0, 4 * PAGE, RW), MMAP_BASE - 4 * PAGE);
    assert_int_equal(map_any(mm, 0, 2 * PAGE, PROT_READ), MMAP_BASE - 6 * PAGE);
    assert_int_equal(mm_vma_count(mm), 2);
    /* A free hint is honoured, rounded down to a page. */
    assert_int_equal(map_any(mm, 0x20000000, PAGE, RW), 0x20000000);
    assert_int_equal(map_any(mm, 0x30000123, PAGE, RW), 0x30000000);
    /* A hint that is taken, below mmap_min_addr or past the end is ignored. */
    assert_int_equal(map_any(mm, MMAP_BASE - 4 * PAGE, PAGE, PROT_EXEC), MMAP_BASE - 7 * PAGE);
    assert_int_equal(map_any(mm, 0x1000, PAGE, PROT_NONE), MMAP_BASE - 8 * PAGE);
    assert_int_equal(map_any(mm, MAX_ADDR - PAGE, 2 * PAGE, RW), MMAP_BASE - 10 * PAGE);
    /* Partly overlapping: ignored too. */
    assert_int_equal(map_any(mm, MMAP_BASE - 11 * PAGE, 2 * PAGE, PROT_READ),
                     MMAP_BASE - 12 * PAGE);
    assert_int_equal(mm_vma_count(mm), 8);

    /* The highest hole that fits is used first. */
    assert_int_equal(mm_unmap(mm, MMAP_BASE - 6 * PAGE, 2 * PAGE), 0);
    assert_int_equal(map_any(mm, 0, 3 * PAGE, PROT_READ), MMAP_BASE - 15 * PAGE);
    assert_int_equal(map_any(mm, 0, 2 * PAGE, PROT_READ), MMAP_BASE - 6 * PAGE);
    assert_vma(mm, MMAP_BASE - 6 * PAGE, MMAP_BASE - 6 * PAGE, MMAP_BASE - 4 * PAGE, PROT_READ);
}

static void test_map_bottom_up_fallback(void **state)
{
    struct mm *mm = mm_of(state);

    /* Only 4 pages between mmap_min_addr and mmap_base: bigger requests go above the base. */
    mm_set_layout(mm, BRK_START, MM_MIN_ADDR + 4 * PAGE);
    assert_int_equal(map_any(mm, 0, 8 * PAGE, RW), MM_MIN_ADDR + 4 * PAGE);
    assert_int_equal(map_any(mm, 0, 8 * PAGE, PROT_READ), MM_MIN_ADDR + 12 * PAGE);
    assert_int_equal(map_any(mm, 0, 2 * PAGE, RW), MM_MIN_ADDR + 2 * PAGE);
    assert_int_equal(map_any(mm, 0, 2 * PAGE, PROT_READ), MM_MIN_ADDR);
    assert_int_equal(map_any(mm, 0, PAGE, RW), MM_MIN_ADDR + 20 * PAGE);
}

static void test_map_fixed_replaces(void **state)
{
    struct mm *mm = mm_of(state);

    assert_int_equal(map_fixed(mm, AREA, 8 * PAGE, RW), AREA);
    fill_pattern(mm, AREA, 8 * PAGE, 1, 0);
    /* Same attributes: the replacement merges back into one VMA but its contents are new. */
    assert_int_equal(map_fixed(mm, AREA + 2 * PAGE, 2 * PAGE, RW), AREA + 2 * PAGE);
    assert_int_equal(mm_vma_count(mm), 1);
    assert_vma(mm, AREA, AREA, AREA + 8 * PAGE, RW);
    check_pattern(mm, AREA, 2 * PAGE, 1, 0);
    check_zero(mm, AREA + 2 * PAGE, 2 * PAGE);
    check_pattern(mm, AREA + 4 * PAGE, 4 * PAGE, 1, 4 * PAGE);

    /* Different protection: three VMAs. */
    assert_int_equal(map_fixed(mm, AREA + 5 * PAGE, PAGE, PROT_READ), AREA + 5 * PAGE);
    assert_int_equal(mm_vma_count(mm), 3);
    assert_vma(mm, AREA, AREA, AREA + 5 * PAGE, RW);
    assert_vma(mm, AREA + 5 * PAGE, AREA + 5 * PAGE, AREA + 6 * PAGE, PROT_READ);
    assert_vma(mm, AREA + 6 * PAGE, AREA + 6 * PAGE, AREA + 8 * PAGE, RW);
    check_zero(mm, AREA + 5 * PAGE, PAGE);
    check_pattern(mm, AREA + 6 * PAGE, 2 * PAGE, 1, 6 * PAGE);

    /* One mapping over several VMAs and the hole after them. */
    assert_int_equal(map_fixed(mm, AREA + PAGE, 10 * PAGE, PROT_EXEC), AREA + PAGE);
    assert_int_equal(mm_vma_count(mm), 2);
    assert_vma(mm, AREA + PAGE, AREA + PAGE, AREA + 11 * PAGE, PROT_EXEC);
    assert_int_equal(memfile_used(mf_of(state)), PAGE); /* only AREA's page left */
}

static void test_map_noreplace_and_errors(void **state)
{
    struct mm *mm = mm_of(state);
    struct mm_map_request req = {.addr = AREA, .len = 2 * PAGE, .prot = RW, .noreplace = true};

    assert_int_equal(mm_map(mm, &req), AREA);
    assert_int_equal(mm_map(mm, &req), -EEXIST);
    req.addr = AREA - PAGE; /* overlaps the first page only */
    assert_int_equal(mm_map(mm, &req), -EEXIST);
    req.addr = AREA + 2 * PAGE; /* adjacent: free */
    assert_int_equal(mm_map(mm, &req), AREA + 2 * PAGE);
    assert_int_equal(mm_vma_count(mm), 1);

    assert_int_equal(map_any(mm, 0, 0, RW), -EINVAL);
    assert_int_equal(map_fixed(mm, AREA, 0, RW), -EINVAL);
    assert_int_equal(map_fixed(mm, AREA + 1, PAGE, RW), -EINVAL);
    assert_int_equal(map_fixed(mm, 0, PAGE, RW), -EPERM);
    assert_int_equal(map_fixed(mm, MM_MIN_ADDR - PAGE, PAGE, RW), -EPERM);
    assert_int_equal(map_fixed(mm, MM_MIN_ADDR, PAGE, RW), MM_MIN_ADDR);
    assert_int_equal(map_fixed(mm, MAX_ADDR, PAGE, RW), -ENOMEM);
    assert_int_equal(map_fixed(mm, MAX_ADDR - PAGE, 2 * PAGE, RW), -ENOMEM);
    assert_int_equal(map_fixed(mm, MAX_ADDR - PAGE, PAGE, RW), MAX_ADDR - PAGE);
    assert_int_equal(map_any(mm, 0, MAX_ADDR + PAGE, PROT_NONE), -ENOMEM);
    assert_int_equal(map_any(mm, 0, UINT64_MAX, PROT_NONE), -ENOMEM);
    assert_int_equal(mm_vma_count(mm), 3);
}

static void test_map_merges_compatible_neighbours(void **state)
{
    struct mm *mm = mm_of(state);
    struct vma v;

    assert_int_equal(map_fixed(mm, AREA, 4 * PAGE, RW), AREA);
    assert_int_equal(map_fixed(mm, AREA + 4 * PAGE, 4 * PAGE, RW), AREA + 4 * PAGE);
    assert_int_equal(mm_vma_count(mm), 1);
    assert_vma(mm, AREA + 5 * PAGE, AREA, AREA + 8 * PAGE, RW);
    /* Filling the hole between two compatible VMAs merges all three. */
    assert_int_equal(map_fixed(mm, AREA + 10 * PAGE, 2 * PAGE, RW), AREA + 10 * PAGE);
    assert_int_equal(mm_vma_count(mm), 2);
    assert_int_equal(map_fixed(mm, AREA + 8 * PAGE, 2 * PAGE, RW), AREA + 8 * PAGE);
    assert_int_equal(mm_vma_count(mm), 1);
    assert_vma(mm, AREA, AREA, AREA + 12 * PAGE, RW);
    /* Merging in front. */
    assert_int_equal(map_fixed(mm, AREA - PAGE, PAGE, RW), AREA - PAGE);
    assert_vma(mm, AREA - PAGE, AREA - PAGE, AREA + 12 * PAGE, RW);

    /* Different protection or flags: no merge. */
    assert_int_equal(map_fixed(mm, AREA + 12 * PAGE, PAGE, PROT_READ), AREA + 12 * PAGE);
    struct mm_map_request shared = {
        .addr = AREA - 2 * PAGE, .len = PAGE, .prot = RW, .fixed = true, .vma_flags = VMA_SHARED};
    assert_int_equal(mm_map(mm, &shared), AREA - 2 * PAGE);
    assert_int_equal(mm_vma_count(mm), 3);
    assert_true(mm_find_vma(mm, AREA - 2 * PAGE, &v));
    assert_int_equal(v.flags, VMA_SHARED);
    assert_int_equal(v.end, AREA - PAGE);
    /* Top-down placement next to a compatible VMA merges too. */
    assert_int_equal(map_any(mm, 0, PAGE, RW), MMAP_BASE - PAGE);
    assert_int_equal(map_any(mm, 0, PAGE, RW), MMAP_BASE - 2 * PAGE);
    assert_vma(mm, MMAP_BASE - 2 * PAGE, MMAP_BASE - 2 * PAGE, MMAP_BASE, RW);
    assert_int_equal(mm_vma_count(mm), 4);
}

static void test_map_overcommit(void **state)
{
    struct mm *mm = mm_of(state);
    struct mm_map_request req = {.len = 65 * MIB, .prot = RW};

    assert_int_equal(mm_map(mm, &req), -ENOMEM); /* larger than the 64 MiB memory file */
    req.fixed = true;
    req.addr = AREA;
    assert_int_equal(mm_map(mm, &req), -ENOMEM);
    req.noreserve = true;
    assert_int_equal(mm_map(mm, &req), AREA);
    assert_int_equal(map_any(mm, 0, 128 * MIB, PROT_NONE), MMAP_BASE - 128 * MIB);
    assert_int_equal(map_any(mm, 0, 128 * MIB, PROT_READ), MMAP_BASE - 256 * MIB);
    assert_int_equal(map_any(mm, 0, 64 * MIB, RW), MMAP_BASE - 320 * MIB); /* exactly the limit */
    assert_int_equal(mm_vma_count(mm), 4);
    assert_int_equal(memfile_used(mf_of(state)), 0); /* nothing is allocated up front */
}

static void test_unmap_splits_and_keeps_contents(void **state)
{
    struct mm *mm = mm_of(state);
    uint8_t byte;

    assert_int_equal(map_fixed(mm, AREA, 8 * PAGE, RW), AREA);
    fill_pattern(mm, AREA, 8 * PAGE, 2, 0);
    assert_int_equal(mm_resident_bytes(mm), 8 * PAGE);
    assert_int_equal(mm_unmap(mm, AREA + 3 * PAGE, 2 * PAGE), 0);
    assert_int_equal(mm_vma_count(mm), 2);
    assert_vma(mm, AREA, AREA, AREA + 3 * PAGE, RW);
    assert_vma(mm, AREA + 3 * PAGE, AREA + 5 * PAGE, AREA + 8 * PAGE, RW);
    check_pattern(mm, AREA, 3 * PAGE, 2, 0);
    check_pattern(mm, AREA + 5 * PAGE, 3 * PAGE, 2, 5 * PAGE);
    assert_int_equal(mm_copy_in(mm, AREA + 3 * PAGE, &byte, 1), -EFAULT);
    assert_int_equal(mm_resident_bytes(mm), 6 * PAGE);
    assert_int_equal(memfile_used(mf_of(state)), 6 * PAGE);

    /* A length that is not a page multiple rounds up. */
    assert_int_equal(mm_unmap(mm, AREA, 1), 0);
    assert_vma(mm, AREA, AREA + PAGE, AREA + 3 * PAGE, RW);
    check_pattern(mm, AREA + PAGE, 2 * PAGE, 2, PAGE);
}

static void test_unmap_holes_and_errors(void **state)
{
    struct mm *mm = mm_of(state);

    assert_int_equal(mm_unmap(mm, AREA, 16 * PAGE), 0); /* nothing there */
    assert_int_equal(map_fixed(mm, AREA + 2 * PAGE, 2 * PAGE, RW), AREA + 2 * PAGE);
    assert_int_equal(map_fixed(mm, AREA + 6 * PAGE, 2 * PAGE, PROT_READ), AREA + 6 * PAGE);
    assert_int_equal(mm_unmap(mm, AREA + 3 * PAGE, 4 * PAGE), 0); /* two VMAs and a hole */
    assert_int_equal(mm_vma_count(mm), 2);
    assert_vma(mm, AREA, AREA + 2 * PAGE, AREA + 3 * PAGE, RW);
    assert_vma(mm, AREA + 3 * PAGE, AREA + 7 * PAGE, AREA + 8 * PAGE, PROT_READ);
    assert_int_equal(mm_unmap(mm, AREA, 16 * PAGE), 0);
    assert_int_equal(mm_vma_count(mm), 0);

    assert_int_equal(mm_unmap(mm, AREA + 1, PAGE), -EINVAL);
    assert_int_equal(mm_unmap(mm, AREA, 0), -EINVAL);
    assert_int_equal(mm_unmap(mm, AREA, UINT64_MAX), -EINVAL);
    assert_int_equal(map_fixed(mm, MAX_ADDR - PAGE, PAGE, RW), MAX_ADDR - PAGE);
    assert_int_equal(mm_unmap(mm, MAX_ADDR - PAGE, PAGE), 0);
    assert_int_equal(mm_vma_count(mm), 0);
}

/* Linux refuses, rather than clips, a munmap range past the top of the user address space. */
static void test_unmap_past_max_addr_is_einval(void **state)
{
    struct mm *mm = mm_of(state);

    assert_int_equal(map_fixed(mm, MAX_ADDR - 2 * PAGE, 2 * PAGE, RW), MAX_ADDR - 2 * PAGE);
    assert_int_equal(mm_unmap(mm, MAX_ADDR, PAGE), -EINVAL);
    assert_int_equal(mm_unmap(mm, MAX_ADDR + PAGE, PAGE), -EINVAL);
    assert_int_equal(mm_unmap(mm, MAX_ADDR - PAGE, 2 * PAGE), -EINVAL);
    assert_vma(mm, 0, MAX_ADDR - 2 * PAGE, MAX_ADDR, RW); /* nothing was unmapped */
    assert_int_equal(mm_unmap(mm, MAX_ADDR - 2 * PAGE, 2 * PAGE), 0);
    assert_int_equal(mm_vma_count(mm), 0);
}

static void test_protect(void **state)
{
    struct mm *mm = mm_of(state);
    uint8_t byte = 0x5a;

    assert_int_equal(map_fixed(mm, AREA, 8 * PAGE, RW), AREA);
    fill_pattern(mm, AREA, 8 * PAGE, 3, 0);
    assert_int_equal(mm_protect(mm, AREA + 2 * PAGE, 2 * PAGE, PROT_READ), 0);
    assert_int_equal(mm_vma_count(mm), 3);
    assert_vma(mm, AREA, AREA, AREA + 2 * PAGE, RW);
    assert_vma(mm, AREA + 2 * PAGE, AREA + 2 * PAGE, AREA + 4 * PAGE, PROT_READ);
    assert_vma(mm, AREA + 4 * PAGE, AREA + 4 * PAGE, AREA + 8 * PAGE, RW);
    assert_int_equal(mm_copy_out(mm, AREA + 2 * PAGE, &byte, 1), -EFAULT);
    assert_int_equal(mm_copy_out(mm, AREA + 4 * PAGE - 1, &byte, 1), -EFAULT);
    check_pattern(mm, AREA, 8 * PAGE, 3, 0); /* read-only pages still read, unchanged */
    assert_int_equal(mm_copy_out_partial(mm, AREA + 100, &byte, 1), 1);
    fill_pattern(mm, AREA, 2 * PAGE, 3, 0);

    assert_int_equal(mm_protect(mm, AREA + 4 * PAGE, PAGE, PROT_NONE), 0);
    assert_int_equal(mm_copy_in(mm, AREA + 4 * PAGE, &byte, 1), -EFAULT);
    assert_int_equal(mm_copy_out(mm, AREA + 4 * PAGE, &byte, 1), -EFAULT);
    assert_int_equal(mm_vma_count(mm), 4);

    /* A hole anywhere in the range: ENOMEM and nothing changes. */
    assert_int_equal(mm_unmap(mm, AREA + 6 * PAGE, PAGE), 0);
    assert_int_equal(mm_protect(mm, AREA + 5 * PAGE, 2 * PAGE, PROT_READ), -ENOMEM);
    assert_int_equal(mm_protect(mm, AREA + 7 * PAGE, 2 * PAGE, PROT_READ), -ENOMEM);
    assert_int_equal(mm_protect(mm, AREA + 16 * PAGE, PAGE, PROT_READ), -ENOMEM);
    assert_vma(mm, AREA + 5 * PAGE, AREA + 5 * PAGE, AREA + 6 * PAGE, RW);
    assert_vma(mm, AREA + 7 * PAGE, AREA + 7 * PAGE, AREA + 8 * PAGE, RW);

    assert_int_equal(mm_protect(mm, AREA + 1, PAGE, PROT_READ), -EINVAL);
    assert_int_equal(mm_protect(mm, AREA, PAGE, 0x100), -EINVAL);
    assert_int_equal(mm_protect(mm, AREA, UINT64_MAX, PROT_READ), -ENOMEM);
    assert_int_equal(mm_protect(mm, AREA + 16 * PAGE, 0, PROT_READ), 0);
    assert_int_equal(mm_protect(mm, AREA, 6 * PAGE, PROT_READ), 0);
    assert_vma(mm, AREA + 4 * PAGE, AREA + 4 * PAGE, AREA + 5 * PAGE, PROT_READ);
    check_pattern(mm, AREA, 4 * PAGE, 3, 0);
    check_pattern(mm, AREA + 5 * PAGE, PAGE, 3, 5 * PAGE);
}

static void test_remap_shrink_and_grow_in_place(void **state)
{
    struct mm *mm = mm_of(state);

    assert_int_equal(map_fixed(mm, AREA, 8 * PAGE, RW), AREA);
    fill_pattern(mm, AREA, 8 * PAGE, 4, 0);
    assert_int_equal(mm_remap(mm, AREA, 8 * PAGE, 3 * PAGE, 0, 0), AREA);
    assert_vma(mm, AREA, AREA, AREA + 3 * PAGE, RW);
    assert_int_equal(mm_vma_count(mm), 1);
    assert_int_equal(mm_resident_bytes(mm), 3 * PAGE);
    check_pattern(mm, AREA, 3 * PAGE, 4, 0);
    assert_int_equal(mm_remap(mm, AREA, 3 * PAGE, 3 * PAGE, 0, 0), AREA);

    assert_int_equal(mm_remap(mm, AREA, 3 * PAGE, 6 * PAGE, 0, 0), AREA);
    assert_vma(mm, AREA, AREA, AREA + 6 * PAGE, RW);
    check_pattern(mm, AREA, 3 * PAGE, 4, 0);
    check_zero(mm, AREA + 3 * PAGE, 3 * PAGE); /* the shrink dropped the old pages */
    /* Up to a neighbour exactly is still in place. */
    assert_int_equal(map_fixed(mm, AREA + 8 * PAGE, PAGE, PROT_READ), AREA + 8 * PAGE);
    assert_int_equal(mm_remap(mm, AREA, 6 * PAGE, 8 * PAGE, MREMAP_MAYMOVE, 0), AREA);
    assert_vma(mm, AREA, AREA, AREA + 8 * PAGE, RW);
    check_pattern(mm, AREA, 3 * PAGE, 4, 0);
}

static void test_remap_moves_contents(void **state)
{
    struct mm *mm = mm_of(state);
    struct vma v;

    assert_int_equal(map_fixed(mm, AREA, 4 * PAGE, RW), AREA);
    assert_int_equal(map_fixed(mm, AREA + 4 * PAGE, PAGE, PROT_READ), AREA + 4 * PAGE);
    fill_pattern(mm, AREA, 4 * PAGE, 5, 0);
    uint64_t used = memfile_used(mf_of(state));

    assert_int_equal(mm_remap(mm, AREA, 4 * PAGE, 16 * PAGE, 0, 0), -ENOMEM);
    assert_vma(mm, AREA, AREA, AREA + 4 * PAGE, RW);
    int64_t to = mm_remap(mm, AREA, 4 * PAGE, 16 * PAGE, MREMAP_MAYMOVE, 0);
    assert_int_equal(to, MMAP_BASE - 16 * PAGE);
    assert_vma(mm, (uint64_t)to, (uint64_t)to, (uint64_t)to + 16 * PAGE, RW);
    assert_int_equal(memfile_used(mf_of(state)), used); /* pages moved, not copied */
    check_pattern(mm, (uint64_t)to, 4 * PAGE, 5, 0);
    check_zero(mm, (uint64_t)to + 4 * PAGE, 12 * PAGE);
    assert_false(is_mapped(mm, AREA));
    assert_true(mm_find_vma(mm, AREA, &v));
    assert_int_equal(v.start, AREA + 4 * PAGE); /* the blocker is all that is left */
    assert_int_equal(mm_vma_count(mm), 2);

    /* Moving the middle of a VMA splits it; both remaining parts keep their contents. */
    assert_int_equal(mm_unmap(mm, (uint64_t)to, 16 * PAGE), 0);
    assert_int_equal(map_fixed(mm, AREA, 4 * PAGE, RW), AREA);
    fill_pattern(mm, AREA, 4 * PAGE, 6, 0);
    assert_int_equal(mm_remap(mm, AREA + PAGE, 2 * PAGE, 3 * PAGE, MREMAP_MAYMOVE, 0),
                     MMAP_BASE - 3 * PAGE);
    assert_vma(mm, AREA, AREA, AREA + PAGE, RW);
    assert_vma(mm, AREA + PAGE, AREA + 3 * PAGE, AREA + 4 * PAGE, RW);
    check_pattern(mm, AREA, PAGE, 6, 0);
    check_pattern(mm, AREA + 3 * PAGE, PAGE, 6, 3 * PAGE);
    check_pattern(mm, MMAP_BASE - 3 * PAGE, 2 * PAGE, 6, PAGE);
    check_zero(mm, MMAP_BASE - PAGE, PAGE);
}

static void test_remap_fixed(void **state)
{
    struct mm *mm = mm_of(state);
    const uint64_t to = AREA + 64 * PAGE;

    assert_int_equal(map_fixed(mm, AREA, 4 * PAGE, RW), AREA);
    fill_pattern(mm, AREA, 4 * PAGE, 7, 0);
    assert_int_equal(map_fixed(mm, to, 8 * PAGE, PROT_READ), to); /* replaced in part */

    assert_int_equal(mm_remap(mm, AREA, 4 * PAGE, 6 * PAGE, MREMAP_FIXED, to), -EINVAL);
    const int fixed = MREMAP_MAYMOVE | MREMAP_FIXED;
    assert_int_equal(mm_remap(mm, AREA, 4 * PAGE, 6 * PAGE, fixed, AREA + 2 * PAGE), -EINVAL);
    assert_int_equal(mm_remap(mm, AREA, 4 * PAGE, 6 * PAGE, fixed, AREA - 2 * PAGE), -EINVAL);
    assert_int_equal(mm_remap(mm, AREA, 4 * PAGE, 6 * PAGE, fixed, to + 1), -EINVAL);
    assert_int_equal(mm_remap(mm, AREA, 4 * PAGE, 6 * PAGE, fixed, 0x1000), -EINVAL);
    assert_int_equal(mm_remap(mm, AREA, 4 * PAGE, 6 * PAGE, fixed, MAX_ADDR - PAGE), -EINVAL);
    assert_int_equal(mm_vma_count(mm), 2);

    assert_int_equal(mm_remap(mm, AREA, 4 * PAGE, 6 * PAGE, fixed, to), to);
    assert_false(is_mapped(mm, AREA));
    assert_vma(mm, to, to, to + 6 * PAGE, RW);
    assert_vma(mm, to + 6 * PAGE, to + 6 * PAGE, to + 8 * PAGE, PROT_READ);
    check_pattern(mm, to, 4 * PAGE, 7, 0);
    check_zero(mm, to + 4 * PAGE, 2 * PAGE);

    /* Shrinking while moving. */
    assert_int_equal(mm_remap(mm, to, 6 * PAGE, 2 * PAGE, fixed, AREA), AREA);
    assert_vma(mm, AREA, AREA, AREA + 2 * PAGE, RW);
    assert_vma(mm, AREA + 2 * PAGE, to + 6 * PAGE, to + 8 * PAGE, PROT_READ);
    check_pattern(mm, AREA, 2 * PAGE, 7, 0);
    assert_int_equal(mm_resident_bytes(mm), 2 * PAGE);
}

static void test_remap_errors(void **state)
{
    struct mm *mm = mm_of(state);

    assert_int_equal(map_fixed(mm, AREA, 2 * PAGE, RW), AREA);
    assert_int_equal(map_fixed(mm, AREA + 2 * PAGE, 2 * PAGE, PROT_READ), AREA + 2 * PAGE);
    assert_int_equal(mm_remap(mm, AREA + 1, PAGE, 2 * PAGE, MREMAP_MAYMOVE, 0), -EINVAL);
    assert_int_equal(mm_remap(mm, AREA, PAGE, 2 * PAGE, 0x100, 0), -EINVAL);
    assert_int_equal(mm_remap(mm, AREA, PAGE, 0, MREMAP_MAYMOVE, 0), -EINVAL);
    assert_int_equal(mm_remap(mm, AREA, 0, PAGE, MREMAP_MAYMOVE, 0), -EINVAL);
    assert_int_equal(mm_remap(mm, AREA, PAGE, UINT64_MAX, MREMAP_MAYMOVE, 0), -EINVAL);
    assert_int_equal(mm_remap(mm, AREA + 8 * PAGE, PAGE, 2 * PAGE, MREMAP_MAYMOVE, 0), -EFAULT);
    /* Growing or moving a range that spans two VMAs. */
    assert_int_equal(mm_remap(mm, AREA, 4 * PAGE, 8 * PAGE, MREMAP_MAYMOVE, 0), -EFAULT);
    assert_int_equal(
        mm_remap(mm, AREA, 3 * PAGE, 3 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, AREA + 16 * PAGE),
        -EFAULT);
    assert_int_equal(mm_vma_count(mm), 2);
    assert_false(is_mapped(mm, AREA + 16 * PAGE));
}

/* Linux checks that the old range is one VMA only for the part that is kept: a shrink just
 * unmaps the tail, whatever it covers (mremap(2); mm/mremap.c). */
static void test_remap_shrink_across_vmas(void **state)
{
    struct mm *mm = mm_of(state);

    assert_int_equal(map_fixed(mm, AREA, 2 * PAGE, RW), AREA);
    assert_int_equal(map_fixed(mm, AREA + 2 * PAGE, 2 * PAGE, PROT_READ), AREA + 2 * PAGE);
    fill_pattern(mm, AREA, 2 * PAGE, 8, 0);
    assert_int_equal(mm_remap(mm, AREA, 4 * PAGE, PAGE, 0, 0), AREA);
    assert_vma(mm, AREA, AREA, AREA + PAGE, RW);
    assert_int_equal(mm_vma_count(mm), 1);

    assert_int_equal(map_fixed(mm, AREA + PAGE, 2 * PAGE, PROT_READ), AREA + PAGE);
    const uint64_t to = AREA + 32 * PAGE;
    assert_int_equal(mm_remap(mm, AREA, 3 * PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, to), to);
    assert_int_equal(mm_vma_count(mm), 1);
    assert_vma(mm, 0, to, to + PAGE, RW);
    check_pattern(mm, to, PAGE, 8, 0);
    /* A tail reaching past the top of the address space is refused, as munmap refuses it. */
    assert_int_equal(mm_remap(mm, to, UINT64_MAX - 2 * PAGE, PAGE, 0, 0), -EINVAL);
    assert_int_equal(mm_remap(mm, to, MAX_ADDR - to + PAGE, PAGE, 0, 0), -EINVAL);
    assert_int_equal(mm_remap(mm, to, MAX_ADDR - to, PAGE, 0, 0), (int64_t)to);
    assert_vma(mm, 0, to, to + PAGE, RW);
}

static void test_brk(void **state)
{
    struct mm *mm = mm_of(state);
    struct vma v;

    assert_int_equal(mm_brk(mm, 0), BRK_START); /* below the start: the current break */
    assert_int_equal(mm_brk(mm, BRK_START + 3 * PAGE + 5), BRK_START + 3 * PAGE + 5);
    assert_true(mm_find_vma(mm, BRK_START, &v));
    assert_int_equal(v.start, BRK_START);
    assert_int_equal(v.end, BRK_START + 4 * PAGE);
    assert_int_equal(v.prot, RW);
    assert_int_equal(v.flags, VMA_HEAP);
    fill_pattern(mm, BRK_START, 4 * PAGE, 9, 0);

    assert_int_equal(mm_brk(mm, BRK_START + PAGE), BRK_START + PAGE);
    assert_vma(mm, BRK_START, BRK_START, BRK_START + PAGE, RW);
    assert_int_equal(mm_resident_bytes(mm), PAGE);
    assert_int_equal(mm_brk(mm, BRK_START + 4 * PAGE), BRK_START + 4 * PAGE);
    assert_vma(mm, BRK_START, BRK_START, BRK_START + 4 * PAGE, RW);
    assert_int_equal(mm_vma_count(mm), 1);
    check_pattern(mm, BRK_START, PAGE, 9, 0);
    check_zero(mm, BRK_START + PAGE, 3 * PAGE); /* released pages come back zeroed */

    assert_int_equal(mm_brk(mm, BRK_START - PAGE), BRK_START + 4 * PAGE);
    assert_int_equal(mm_brk(mm, MMAP_BASE + PAGE), BRK_START + 4 * PAGE);
    assert_int_equal(map_fixed(mm, BRK_START + 8 * PAGE, PAGE, PROT_READ), BRK_START + 8 * PAGE);
    assert_int_equal(mm_brk(mm, BRK_START + 10 * PAGE), BRK_START + 4 * PAGE);
    assert_vma(mm, BRK_START, BRK_START, BRK_START + 4 * PAGE, RW);
    assert_int_equal(mm_brk(mm, BRK_START + 8 * PAGE), BRK_START + 8 * PAGE); /* up to it */
    assert_vma(mm, BRK_START, BRK_START, BRK_START + 8 * PAGE, RW);
    assert_int_equal(mm_brk(mm, BRK_START), BRK_START);
    assert_vma(mm, BRK_START, BRK_START + 8 * PAGE, BRK_START + 9 * PAGE, PROT_READ);
    assert_int_equal(mm_resident_bytes(mm), 0);
}

static void test_advise_dontneed(void **state)
{
    struct mm *mm = mm_of(state);

    assert_int_equal(map_fixed(mm, AREA, 8 * PAGE, RW), AREA);
    fill_pattern(mm, AREA, 8 * PAGE, 10, 0);
    assert_int_equal(mm_advise(mm, AREA + 2 * PAGE, 3 * PAGE, MADV_DONTNEED), 0);
    assert_int_equal(mm_resident_bytes(mm), 5 * PAGE);
    assert_int_equal(memfile_used(mf_of(state)), 5 * PAGE);
    assert_int_equal(mm_vma_count(mm), 1);
    check_pattern(mm, AREA, 2 * PAGE, 10, 0);
    check_zero(mm, AREA + 2 * PAGE, 3 * PAGE);
    check_pattern(mm, AREA + 5 * PAGE, 3 * PAGE, 10, 5 * PAGE);

    /* A hole: ENOMEM, but the mapped part is still dropped, as Linux does. */
    assert_int_equal(mm_advise(mm, AREA + 6 * PAGE, 4 * PAGE, MADV_DONTNEED), -ENOMEM);
    check_zero(mm, AREA + 6 * PAGE, 2 * PAGE);
    check_pattern(mm, AREA + 5 * PAGE, PAGE, 10, 5 * PAGE);
    assert_int_equal(mm_advise(mm, AREA + 16 * PAGE, PAGE, MADV_DONTNEED), -ENOMEM);
    assert_int_equal(mm_advise(mm, MAX_ADDR, PAGE, MADV_DONTNEED), -ENOMEM);

    assert_int_equal(mm_advise(mm, AREA, PAGE, 12345), -EINVAL);
    assert_int_equal(mm_advise(mm, AREA + 1, PAGE, MADV_DONTNEED), -EINVAL);
    assert_int_equal(mm_advise(mm, AREA, 0, MADV_DONTNEED), 0);
    assert_int_equal(mm_advise(mm, AREA, 8 * PAGE, MADV_NORMAL), 0);
    check_pattern(mm, AREA, 2 * PAGE, 10, 0);
    /* Linux may free MADV_FREE pages lazily; this mm drops them at once. */
    assert_int_equal(mm_advise(mm, AREA, 2 * PAGE, MADV_FREE), 0);
    check_zero(mm, AREA, 2 * PAGE);
}

/* madvise(2) refuses a range that wraps with EINVAL, unlike mprotect's ENOMEM. */
static void test_advise_wrapping_length_is_einval(void **state)
{
    struct mm *mm = mm_of(state);

    assert_int_equal(map_fixed(mm, AREA, PAGE, RW), AREA);
    assert_int_equal(mm_advise(mm, AREA, UINT64_MAX, MADV_DONTNEED), -EINVAL);
    assert_int_equal(mm_advise(mm, AREA, UINT64_MAX - 2 * PAGE, MADV_DONTNEED), -EINVAL);
    assert_int_equal(mm_advise(mm, AREA, UINT64_MAX - AREA - PAGE, MADV_NORMAL), -ENOMEM);
}

/* A range running past the top of the address space is advised as far as it is mapped, then
 * fails with ENOMEM like a hole, as Linux does. */
static void test_advise_past_max_addr_drops_mapped_part(void **state)
{
    struct mm *mm = mm_of(state);

    assert_int_equal(map_fixed(mm, MAX_ADDR - 2 * PAGE, 2 * PAGE, RW), MAX_ADDR - 2 * PAGE);
    fill_pattern(mm, MAX_ADDR - 2 * PAGE, 2 * PAGE, 17, 0);
    assert_int_equal(mm_advise(mm, MAX_ADDR - PAGE, 16 * PAGE, MADV_DONTNEED), -ENOMEM);
    check_pattern(mm, MAX_ADDR - 2 * PAGE, PAGE, 17, 0);
    check_zero(mm, MAX_ADDR - PAGE, PAGE);
    assert_int_equal(mm_resident_bytes(mm), 2 * PAGE);
    assert_int_equal(mm_advise(mm, MAX_ADDR, PAGE, MADV_DONTNEED), -ENOMEM);
    assert_int_equal(mm_advise(mm, MAX_ADDR + PAGE, PAGE, MADV_DONTNEED), -ENOMEM);
    assert_int_equal(mm_advise(mm, MAX_ADDR + PAGE, 0, MADV_DONTNEED), 0);
}

/* Without a platform address space only the fault's error results can be checked. */
static void test_handle_fault_errors(void **state)
{
    struct mm *mm = mm_of(state);

    assert_int_equal(map_fixed(mm, AREA, 2 * PAGE, PROT_NONE), AREA);
    assert_int_equal(mm_handle_fault(mm, AREA + 8 * PAGE), -EFAULT);
    assert_int_equal(mm_handle_fault(mm, 0), -EFAULT);
    assert_int_equal(mm_handle_fault(mm, MAX_ADDR + PAGE), -EFAULT);
    assert_int_equal(mm_handle_fault(mm, AREA), -EACCES);
    assert_int_equal(mm_handle_fault(mm, AREA + 2 * PAGE - 1), -EACCES);
    assert_int_equal(mm_resident_bytes(mm), 0);
}

static void test_resident_accounting(void **state)
{
    struct mm *mm = mm_of(state);
    struct memfile *mf = mf_of(state);
    const uint64_t big = AREA + 2 * MIB;
    uint8_t byte = 1;

    assert_int_equal(map_fixed(mm, AREA, 16 * PAGE, RW), AREA);
    assert_int_equal(map_fixed(mm, big, 4 * MIB, RW), big);
    assert_int_equal(mm_resident_bytes(mm), 0);
    /* A touch populates the aligned fault-around window, clipped to the VMA. */
    assert_int_equal(mm_copy_out(mm, AREA + 5 * PAGE, &byte, 1), 0);
    assert_int_equal(mm_resident_bytes(mm), 16 * PAGE);
    assert_int_equal(mm_copy_out(mm, big + 3 * MIB, &byte, 1), 0);
    assert_int_equal(mm_resident_bytes(mm), 16 * PAGE + MM_ANON_FAULT_AROUND);
    assert_int_equal(memfile_used(mf), mm_resident_bytes(mm));

    assert_int_equal(mm_unmap(mm, AREA, 4 * PAGE), 0);
    assert_int_equal(mm_resident_bytes(mm), 12 * PAGE + MM_ANON_FAULT_AROUND);
    assert_int_equal(mm_advise(mm, AREA + 4 * PAGE, 4 * PAGE, MADV_DONTNEED), 0);
    assert_int_equal(mm_resident_bytes(mm), 8 * PAGE + MM_ANON_FAULT_AROUND);
    /* Refilling the hole allocates exactly the hole. */
    assert_int_equal(mm_copy_out(mm, AREA + 6 * PAGE, &byte, 1), 0);
    assert_int_equal(mm_resident_bytes(mm), 12 * PAGE + MM_ANON_FAULT_AROUND);
    assert_int_equal(mm_remap(mm, big, 4 * MIB, MIB, 0, 0), (int64_t)big);
    assert_int_equal(mm_resident_bytes(mm), 12 * PAGE);
    assert_int_equal(memfile_used(mf), 12 * PAGE);

    /* A second mm on the same file gives everything back when destroyed. */
    struct mm *other;
    assert_int_equal(mm_create(mf, MAX_ADDR, &other), 0);
    mm_set_layout(other, BRK_START, MMAP_BASE);
    assert_int_equal(map_fixed(other, AREA, 32 * PAGE, RW), AREA);
    fill_pattern(other, AREA, 32 * PAGE, 13, 0);
    assert_int_equal(mm_brk(other, BRK_START + 8 * PAGE), BRK_START + 8 * PAGE);
    fill_pattern(other, BRK_START, 8 * PAGE, 13, 0);
    assert_int_equal(memfile_used(mf), 52 * PAGE);
    mm_destroy(other);
    assert_int_equal(memfile_used(mf), 12 * PAGE);
    check_zero(mm, AREA + 4 * PAGE, 2 * PAGE); /* the first mm is untouched */
}

/* A private file mapping's backing: a buffer, and a count of the references the mm holds. */
struct fake_file {
    struct mappable m;
    int refs;
    uint8_t data[5 * PAGE + 100];
};

static ssize_t fake_read(struct mappable *m, void *buf, size_t len, uint64_t off)
{
    struct fake_file *f = (struct fake_file *)m;
    if (off >= sizeof(f->data))
        return 0;
    if (len > sizeof(f->data) - off)
        len = sizeof(f->data) - off;
    memcpy(buf, f->data + off, len);
    return (ssize_t)len;
}

static void fake_get(struct mappable *m)
{
    ((struct fake_file *)m)->refs++;
}

static void fake_put(struct mappable *m)
{
    ((struct fake_file *)m)->refs--;
}

static const struct mappable_ops fake_ops = {.read = fake_read, .get = fake_get, .put = fake_put};

static void test_file_mapping_offsets_and_references(void **state)
{
    struct mm *mm = mm_of(state);
    static struct fake_file f = {.m = {.ops = &fake_ops}};
    struct vma v;

    for (size_t i = 0; i < sizeof(f.data); i++)
        f.data[i] = pattern_byte(i, 15);
    struct mm_map_request req = {
        .addr = AREA, .len = 8 * PAGE, .prot = RW, .fixed = true, .file = &f.m, .file_off = PAGE};
    assert_int_equal(mm_map(mm, &req), AREA);
    assert_int_equal(f.refs, 1);
    /* File contents up to end of file, zeroes after it; writes stay private. */
    check_pattern(mm, AREA, 4 * PAGE + 100, 15, PAGE);
    check_zero(mm, AREA + 4 * PAGE + 100, 4 * PAGE - 100);
    fill_pattern(mm, AREA, PAGE, 16, 0);
    assert_int_equal(f.data[PAGE], pattern_byte(PAGE, 15));

    /* Splitting keeps the offsets and takes a reference per VMA. */
    assert_int_equal(mm_unmap(mm, AREA + 2 * PAGE, PAGE), 0);
    assert_int_equal(f.refs, 2);
    assert_true(mm_find_vma(mm, AREA + 3 * PAGE, &v));
    assert_int_equal(v.file_off, 4 * PAGE);
    assert_ptr_equal(v.file, &f.m);
    /* Mapping the hole back at the matching offset merges all three. */
    req.addr = AREA + 2 * PAGE;
    req.len = PAGE;
    req.file_off = 3 * PAGE;
    assert_int_equal(mm_map(mm, &req), AREA + 2 * PAGE);
    assert_int_equal(mm_vma_count(mm), 1);
    assert_int_equal(f.refs, 1);
    check_pattern(mm, AREA + 2 * PAGE, PAGE, 15, 3 * PAGE);
    /* A mismatched offset does not merge. */
    req.addr = AREA + 8 * PAGE;
    req.file_off = 0;
    assert_int_equal(mm_map(mm, &req), AREA + 8 * PAGE);
    assert_int_equal(mm_vma_count(mm), 2);
    assert_int_equal(f.refs, 2);

    /* Moving keeps one reference per VMA and the offset of what moved. */
    int64_t to = mm_remap(mm, AREA + 4 * PAGE, 4 * PAGE, 6 * PAGE, MREMAP_MAYMOVE, 0);
    assert_int_equal(to, MMAP_BASE - 6 * PAGE);
    assert_int_equal(f.refs, 3);
    assert_true(mm_find_vma(mm, (uint64_t)to, &v));
    assert_int_equal(v.file_off, 5 * PAGE);
    assert_int_equal(v.end, (uint64_t)to + 6 * PAGE);
    check_pattern(mm, AREA, PAGE, 16, 0);
    check_pattern(mm, AREA + PAGE, 3 * PAGE, 15, 2 * PAGE);
    assert_int_equal(mm_unmap(mm, AREA, 16 * PAGE), 0);
    assert_int_equal(mm_unmap(mm, (uint64_t)to, 6 * PAGE), 0);
    assert_int_equal(f.refs, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_map_top_down_and_hint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_bottom_up_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_fixed_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_noreplace_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_merges_compatible_neighbours, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_overcommit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmap_splits_and_keeps_contents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmap_holes_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmap_past_max_addr_is_einval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remap_shrink_and_grow_in_place, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remap_moves_contents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remap_fixed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remap_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remap_shrink_across_vmas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_brk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_advise_dontneed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_advise_wrapping_length_is_einval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_advise_past_max_addr_drops_mapped_part, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_handle_fault_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resident_accounting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_mapping_offsets_and_references, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
