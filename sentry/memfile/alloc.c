/* The memfile's free space: a sorted array of coalesced free extents below a bump pointer, with
 * first-fit placement that prefers 2 MiB alignment for requests that are 2 MiB multiples. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/memfile/memfile_internal.h"

static uint64_t align_up(uint64_t x, uint64_t align)
{
    return (x + align - 1) & ~(align - 1);
}

/* Whether [start, end) holds `len` bytes from `start` on; start may lie past end. */
static bool range_fits(uint64_t start, uint64_t end, uint64_t len)
{
    return start <= end && end - start >= len;
}

/* First fit from low offsets, at offsets that are multiples of `align`. */
static int find_aligned(const struct memfile *mf, uint64_t len, uint64_t align,
                        struct memfile_placement *out)
{
    for (size_t i = 0; i < mf->nfree; i++) {
        uint64_t start = align_up(mf->free[i].start, align);
        if (range_fits(start, mf->free[i].end, len)) {
            *out = (struct memfile_placement){.off = start, .index = i};
            return 0;
        }
    }
    uint64_t start = align_up(mf->bump, align);
    if (range_fits(start, mf->size, len)) {
        *out = (struct memfile_placement){.off = start, .index = MEMFILE_FROM_BUMP};
        return 0;
    }
    return -ENOMEM;
}

int memfile_extents_find(const struct memfile *mf, uint64_t len, struct memfile_placement *out)
{
    /* A 2 MiB-aligned run of 2 MiB multiples can later be backed by host huge pages. When none
     * is free, any run will do: alignment is a preference, never a reason for ENOMEM. */
    if (len % MEMFILE_CHUNK_SIZE == 0 && find_aligned(mf, len, MEMFILE_CHUNK_SIZE, out) == 0)
        return 0;
    return find_aligned(mf, len, MEMFILE_PAGE_SIZE, out);
}

int memfile_extents_reserve(struct memfile *mf)
{
    if (mf->nfree < mf->free_cap)
        return 0;
    size_t cap = mf->free_cap ? mf->free_cap * 2 : 64;
    if (cap > SIZE_MAX / sizeof(*mf->free))
        return -ENOMEM;
    struct memfile_extent *grown = realloc(mf->free, cap * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    mf->free = grown;
    mf->free_cap = cap;
    return 0;
}

static void extent_insert(struct memfile *mf, size_t index, uint64_t start, uint64_t end)
{
    MEMFILE_BUG_ON(mf->nfree >= mf->free_cap);
    memmove(&mf->free[index + 1], &mf->free[index], (mf->nfree - index) * sizeof(*mf->free));
    mf->free[index] = (struct memfile_extent){.start = start, .end = end};
    mf->nfree++;
}

static void extent_remove(struct memfile *mf, size_t index)
{
    memmove(&mf->free[index], &mf->free[index + 1], (mf->nfree - index - 1) * sizeof(*mf->free));
    mf->nfree--;
}

void memfile_extents_take(struct memfile *mf, const struct memfile_placement *at, uint64_t len)
{
    uint64_t end = at->off + len;

    if (at->index == MEMFILE_FROM_BUMP) {
        /* Space skipped for alignment becomes an ordinary free extent; it lies above every other
         * extent and ends below the new bump, so the invariants hold. */
        if (at->off > mf->bump)
            extent_insert(mf, mf->nfree, mf->bump, at->off);
        mf->bump = end;
        return;
    }

    struct memfile_extent *ext = &mf->free[at->index];
    bool keep_left = ext->start < at->off;
    bool keep_right = end < ext->end;
    if (keep_left && keep_right) {
        extent_insert(mf, at->index + 1, end, ext->end);
        mf->free[at->index].end = at->off;
    } else if (keep_left) {
        ext->end = at->off;
    } else if (keep_right) {
        ext->start = end;
    } else {
        extent_remove(mf, at->index);
    }
}

/* The index of the first extent starting above `off` (nfree if none). */
static size_t extent_search(const struct memfile *mf, uint64_t off)
{
    size_t lo = 0, hi = mf->nfree;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (mf->free[mid].start <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void memfile_extents_release(struct memfile *mf, uint64_t start, uint64_t end)
{
    size_t next = extent_search(mf, start);
    struct memfile_extent *prev = next > 0 ? &mf->free[next - 1] : NULL;

    /* Releasing free space twice would corrupt the set; refcounts should have caught it. */
    MEMFILE_BUG_ON(start >= end || end > mf->bump);
    MEMFILE_BUG_ON(prev && prev->end > start);
    MEMFILE_BUG_ON(next < mf->nfree && mf->free[next].start < end);

    bool merge_prev = prev && prev->end == start;
    if (end == mf->bump) {
        if (merge_prev) {
            mf->bump = prev->start;
            extent_remove(mf, next - 1);
        } else {
            mf->bump = start;
        }
        return;
    }

    bool merge_next = next < mf->nfree && mf->free[next].start == end;
    if (merge_prev && merge_next) {
        prev->end = mf->free[next].end;
        extent_remove(mf, next);
    } else if (merge_prev) {
        prev->end = end;
    } else if (merge_next) {
        mf->free[next].start = start;
    } else {
        extent_insert(mf, next, start, end);
    }
}

void memfile_extents_destroy(struct memfile *mf)
{
    free(mf->free);
    mf->free = NULL;
    mf->nfree = mf->free_cap = 0;
}
