/* Eager mapping: making in one platform batch the host mappings a fresh image is sure to need,
 * where each would otherwise cost a fault and a mapping call. Like Linux's fault-around, file
 * pages come from the page cache (shared, mapped read-only until a write copies them). */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "platform/platform.h"
#include "sentry/mm/mm_internal.h"

/* Small mappings populated whole: a static binary's bss, the vDSO and its vvar page. */
#define EAGER_SMALL_VMA (64UL << 10)

/* Whether to populate all of `v` now: private mappings of cached files (within *file_budget) and
 * small mappings, never the stack (the loader populated what it wrote) or the heap. */
static bool eager_wants(const struct vma *v, uint64_t *file_budget)
{
    uint64_t len = v->end - v->start;

    if (v->prot == PROT_NONE || (v->flags & (VMA_GROWSDOWN | VMA_HEAP)))
        return false;
    if (v->flags & VMA_SHARED)
        return v->file && v->file->ops->translate && len <= EAGER_SMALL_VMA;
    if (len <= EAGER_SMALL_VMA)
        return true;
    if (!v->file || !v->file->ops->cache_range || len > *file_budget)
        return false;
    *file_budget -= len;
    return true;
}

/* With mm->lock held: populates the VMAs eager_wants; a page that fails is left to fault. */
static void eager_populate(struct mm *mm, uint64_t file_budget)
{
    for (size_t i = 0; i < mm->vmas.len; i++) {
        struct vma *v = vma_at(mm, i);
        if (!eager_wants(v, &file_budget))
            continue;
        for (uint64_t addr = v->start; addr < v->end;) {
            struct pma *p;
            if (mm_populate(mm, v, addr, &p) != 0)
                return;
            addr = p->end;
        }
    }
}

/* With mm->lock held: maps every unmapped PMA (only those inherited at fork if `inherited`) in
 * one batch. */
static int map_unmapped(struct mm *mm, bool inherited)
{
    size_t n = 0, done = 0;
    struct platform_mapping *maps = calloc(mm->pmas.len ? mm->pmas.len : 1, sizeof(*maps));

    if (!maps)
        return -ENOMEM;
    /* One mapping per unmapped PMA, merged with the previous one where both are contiguous in
     * the guest and in the memory file with the same protection. */
    size_t j = 0;
    for (size_t i = 0; i < mm->pmas.len; i++) {
        struct pma *p = pma_at(mm, i);
        bool wanted = !inherited || p->inherited;
        p->inherited = false;
        while (vma_at(mm, j)->end <= p->start)
            j++;
        int prot = vma_at(mm, j)->prot;
        if (p->cow)
            prot &= ~PROT_WRITE;
        if (p->mapped || prot == PROT_NONE || !wanted)
            continue;
        struct platform_mapping *last = n ? &maps[n - 1] : NULL;
        if (last && last->addr + last->len == p->start && last->prot == prot &&
            last->memfile_offset + last->len == p->mf_off) {
            last->len += p->end - p->start;
            continue;
        }
        maps[n++] = (struct platform_mapping){
            .addr = p->start, .len = p->end - p->start, .prot = prot, .memfile_offset = p->mf_off};
    }
    int err = platform_as_map_batch(mm->as, maps, n, &done);
    /* The mappings made are mirrored; a failed one may have lost what it replaced, which was
     * nothing: only unmapped PMAs were in the batch. */
    if (done > 0) {
        for (size_t i = 0, k = 0; i < mm->pmas.len && k < done; i++) {
            struct pma *p = pma_at(mm, i);
            while (k < done && maps[k].addr + maps[k].len <= p->start)
                k++;
            if (k < done && p->start >= maps[k].addr && p->end <= maps[k].addr + maps[k].len)
                p->mapped = true;
        }
        atomic_fetch_add_explicit(&mm->map_gen, 1, memory_order_release);
    }
    free(maps);
    return err;
}

int mm_map_eager(struct mm *mm, uint64_t file_budget)
{
    int err = -EFAULT;

    pthread_mutex_lock(&mm->lock);
    if (mm->as) {
        eager_populate(mm, file_budget);
        err = map_unmapped(mm, false);
    }
    pthread_mutex_unlock(&mm->lock);
    return err;
}

int mm_map_inherited(struct mm *mm)
{
    int err = -EFAULT;

    pthread_mutex_lock(&mm->lock);
    if (mm->as)
        err = map_unmapped(mm, true);
    pthread_mutex_unlock(&mm->lock);
    return err;
}
