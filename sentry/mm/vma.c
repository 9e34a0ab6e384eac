/* VMAs and PMAs: splitting, inserting with merging, removing ranges, and finding free space.
 * Every function here runs with mm->lock held. */
#include <errno.h>
#include <sys/mman.h>

#include "platform/platform.h"
#include "sentry/memfile/memfile.h"
#include "sentry/mm/mm_internal.h"

/* An operation splits VMAs and PMAs at no more than four addresses and inserts at most two VMAs
 * and one PMA: reserve room first so nothing after the reservation can fail half-way. */
int mm_reserve(struct mm *mm)
{
    if (rangevec_reserve(&mm->vmas, 8) != 0 || rangevec_reserve(&mm->pmas, 8) != 0)
        return -ENOMEM;
    return 0;
}

struct vma *mm_vma_find(struct mm *mm, uint64_t addr)
{
    return (struct vma *)rangevec_find(&mm->vmas, addr);
}

bool mm_range_is_free(struct mm *mm, uint64_t start, uint64_t end)
{
    size_t i = rangevec_lower_bound(&mm->vmas, start);

    return i == mm->vmas.len || vma_at(mm, i)->start >= end;
}

bool mm_range_is_mapped(struct mm *mm, uint64_t start, uint64_t end)
{
    size_t i = rangevec_lower_bound(&mm->vmas, start);
    uint64_t at = start;

    for (; i < mm->vmas.len && at < end; i++) {
        struct vma *v = vma_at(mm, i);
        if (v->start > at)
            return false;
        at = v->end;
    }
    return at >= end;
}

static void file_get(struct mappable *f)
{
    if (f && f->ops->get)
        f->ops->get(f);
}

static void file_put(struct mappable *f)
{
    if (f && f->ops->put)
        f->ops->put(f);
}

static void vma_split_at(struct mm *mm, uint64_t addr)
{
    size_t i = rangevec_lower_bound(&mm->vmas, addr);

    if (i < mm->vmas.len && vma_at(mm, i)->start < addr) {
        struct vma hi = *vma_at(mm, i);
        hi.file_off += addr - hi.start;
        hi.start = addr;
        file_get(hi.file);
        vma_at(mm, i)->end = addr;
        rangevec_insert(&mm->vmas, i + 1, &hi);
    }
}

void mm_pma_split_at(struct mm *mm, uint64_t addr)
{
    size_t j = rangevec_lower_bound(&mm->pmas, addr);

    if (j < mm->pmas.len && pma_at(mm, j)->start < addr) {
        struct pma hi = *pma_at(mm, j);
        hi.mf_off += addr - hi.start;
        hi.start = addr;
        pma_at(mm, j)->end = addr;
        rangevec_insert(&mm->pmas, j + 1, &hi);
    }
}

/* Splits the VMA and the PMA that strictly contain `addr`, if any, so `addr` becomes a
 * boundary of both (PMAs never cross VMA boundaries). */
void mm_split_at(struct mm *mm, uint64_t addr)
{
    vma_split_at(mm, addr);
    mm_pma_split_at(mm, addr);
}

static bool vma_can_merge(const struct vma *lo, const struct vma *hi)
{
    if (lo->end != hi->start || lo->prot != hi->prot || lo->flags != hi->flags ||
        lo->file != hi->file)
        return false;
    return !lo->file || lo->file_off + (lo->end - lo->start) == hi->file_off;
}

void mm_vma_insert(struct mm *mm, const struct vma *v)
{
    size_t i = rangevec_lower_bound(&mm->vmas, v->start);
    struct vma *prev = i > 0 ? vma_at(mm, i - 1) : NULL;
    struct vma *next = i < mm->vmas.len ? vma_at(mm, i) : NULL;

    if (prev && vma_can_merge(prev, v)) {
        prev->end = v->end;
        if (next && vma_can_merge(prev, next)) {
            prev->end = next->end;
            file_put(next->file);
            rangevec_remove(&mm->vmas, i, 1);
        }
        return;
    }
    if (next && vma_can_merge(v, next)) {
        next->start = v->start;
        next->file_off = v->file_off;
        return;
    }
    struct vma copy = *v;
    file_get(copy.file);
    rangevec_insert(&mm->vmas, i, &copy);
}

void mm_pmas_drop(struct mm *mm, uint64_t start, uint64_t end)
{
    mm_pma_split_at(mm, start);
    mm_pma_split_at(mm, end);
    size_t first = rangevec_lower_bound(&mm->pmas, start), last = first;
    while (last < mm->pmas.len && pma_at(mm, last)->end <= end) {
        struct pma *p = pma_at(mm, last);
        memfile_decref(mm->mf, p->mf_off, p->end - p->start);
        last++;
    }
    rangevec_remove(&mm->pmas, first, last - first);
}

bool mm_mapped_span(struct mm *mm, uint64_t start, uint64_t end, uint64_t *lo, uint64_t *hi)
{
    bool any = false;

    for (size_t i = rangevec_lower_bound(&mm->pmas, start);
         i < mm->pmas.len && pma_at(mm, i)->start < end; i++) {
        struct pma *p = pma_at(mm, i);
        if (!p->mapped)
            continue;
        if (!any)
            *lo = p->start > start ? p->start : start;
        *hi = p->end < end ? p->end : end;
        any = true;
    }
    return any;
}

void mm_pmas_unmap(struct mm *mm, uint64_t start, uint64_t end)
{
    uint64_t lo = 0, hi = 0;
    bool mapped = mm_mapped_span(mm, start, end, &lo, &hi);

    mm_pma_split_at(mm, start);
    mm_pma_split_at(mm, end);
    for (size_t i = rangevec_lower_bound(&mm->pmas, start);
         i < mm->pmas.len && pma_at(mm, i)->end <= end; i++)
        pma_at(mm, i)->mapped = false;
    if (mm->as && mapped)
        platform_as_unmap(mm->as, lo, hi - lo);
}

void mm_pmas_reprotect(struct mm *mm, uint64_t start, uint64_t end)
{
    struct platform_mapping maps[MM_REPROTECT_MAX];
    size_t n = 0, done = 0;

    mm_pma_split_at(mm, start);
    mm_pma_split_at(mm, end);
    size_t j = rangevec_lower_bound(&mm->vmas, start);
    for (size_t i = rangevec_lower_bound(&mm->pmas, start);
         i < mm->pmas.len && pma_at(mm, i)->end <= end; i++) {
        struct pma *p = pma_at(mm, i);
        if (!p->mapped)
            continue;
        while (vma_at(mm, j)->end <= p->start)
            j++;
        int prot = vma_at(mm, j)->prot;
        if (p->cow)
            prot &= ~PROT_WRITE;
        if (prot == PROT_NONE || n == MM_REPROTECT_MAX || !mm->as) {
            mm_pmas_unmap(mm, start, end);
            return;
        }
        maps[n++] = (struct platform_mapping){
            .addr = p->start, .len = p->end - p->start, .prot = prot, .memfile_offset = p->mf_off};
    }
    if (n == 0)
        return;
    /* MAP_FIXED over the old mapping changes its protection in place. Should a call fail, the
     * old protection must not stay: then the range is unmapped and faults in anew. */
    if (platform_as_map_batch(mm->as, maps, n, &done) != 0)
        mm_pmas_unmap(mm, start, end);
    atomic_fetch_add_explicit(&mm->map_gen, 1, memory_order_release);
}

void mm_unmap_locked(struct mm *mm, uint64_t start, uint64_t end)
{
    mm_split_at(mm, start);
    mm_split_at(mm, end);
    size_t first = rangevec_lower_bound(&mm->vmas, start), last = first;
    while (last < mm->vmas.len && vma_at(mm, last)->end <= end) {
        file_put(vma_at(mm, last)->file);
        last++;
    }
    rangevec_remove(&mm->vmas, first, last - first);
    uint64_t lo = 0, hi = 0;
    bool mapped = mm_mapped_span(mm, start, end, &lo, &hi);
    mm_pmas_drop(mm, start, end);
    if (mm->as && mapped)
        platform_as_unmap(mm->as, lo, hi - lo);
}

static bool fits(struct mm *mm, uint64_t addr, uint64_t len)
{
    return addr >= MM_MIN_ADDR && addr <= mm->max_addr && len <= mm->max_addr - addr &&
           mm_range_is_free(mm, addr, addr + len);
}

int64_t mm_find_free(struct mm *mm, uint64_t hint, uint64_t len)
{
    if (hint && fits(mm, page_align_down(hint), len))
        return (int64_t)page_align_down(hint);

    /* Top-down from mmap_base, as Linux's default layout does. */
    uint64_t top = mm->mmap_base;
    size_t j = rangevec_lower_bound(&mm->vmas, top);
    uint64_t gap_end = top;
    if (j < mm->vmas.len && vma_at(mm, j)->start < top)
        gap_end = vma_at(mm, j)->start;
    for (;;) {
        uint64_t gap_start = j > 0 ? vma_at(mm, j - 1)->end : MM_MIN_ADDR;
        if (gap_start < MM_MIN_ADDR)
            gap_start = MM_MIN_ADDR;
        if (gap_end > gap_start && gap_end - gap_start >= len)
            return (int64_t)(gap_end - len);
        if (j == 0)
            break;
        j--;
        gap_end = vma_at(mm, j)->start;
    }
    /* Then bottom-up above it, like Linux's fallback. */
    uint64_t start = top;
    for (size_t k = rangevec_lower_bound(&mm->vmas, top); k < mm->vmas.len; k++) {
        struct vma *v = vma_at(mm, k);
        if (v->start >= start && v->start - start >= len)
            return (int64_t)start;
        if (v->end > start)
            start = v->end;
    }
    if (start <= mm->max_addr && mm->max_addr - start >= len)
        return (int64_t)start;
    return -ENOMEM;
}
