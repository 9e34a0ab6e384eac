/* Populating guest pages: choosing the range a fault fills, allocating memory-file pages,
 * reading file contents for private file mappings, and mapping PMAs into the platform. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "platform/platform.h"
#include "sentry/memfile/memfile.h"
#include "sentry/mm/mm_internal.h"

static int pma_fill_from_file(struct mm *mm, const struct vma *v, const struct pma *p)
{
    char *dst = (char *)memfile_base(mm->mf) + p->mf_off;
    uint64_t len = p->end - p->start;
    uint64_t off = v->file_off + (p->start - v->start);

    while (len > 0) {
        ssize_t n = v->file->ops->read(v->file, dst, len, off);
        if (n < 0)
            return (int)n;
        if (n == 0)
            break; /* past end of file: the rest stays zero */
        dst += n;
        off += (uint64_t)n;
        len -= (uint64_t)n;
    }
    return 0;
}

/* A private mapping of a cached file: the PMA maps the cache's pages for the window around
 * `addr` aligned by file offset (so every mapping of a window shares its pages), clipped to the
 * VMA and to the PMAs around `i`, copy-on-write. Any error: the caller reads the file instead. */
static int populate_cached(struct mm *mm, const struct vma *v, uint64_t addr, size_t i,
                           struct pma *p)
{
    uint64_t page = page_align_down(addr);
    uint64_t foff = v->file_off + (page - v->start);
    uint64_t before = foff & (MM_FILE_CACHE_WINDOW - 1);
    uint64_t after = MM_FILE_CACHE_WINDOW - before;
    uint64_t lo = before > page - v->start ? v->start : page - before;
    uint64_t hi = after > v->end - page ? v->end : page + after;
    if (i > 0 && pma_at(mm, i - 1)->end > lo)
        lo = pma_at(mm, i - 1)->end;
    if (i < mm->pmas.len && pma_at(mm, i)->start < hi)
        hi = pma_at(mm, i)->start;
    int err = v->file->ops->cache_range(v->file, mm->mf, v->file_off + (lo - v->start), hi - lo,
                                        &p->mf_off);
    if (err)
        return err;
    p->start = lo;
    p->end = hi;
    p->cow = true;
    return 0;
}

int mm_populate(struct mm *mm, struct vma *v, uint64_t addr, struct pma **out)
{
    size_t i = rangevec_lower_bound(&mm->pmas, addr);
    if (i < mm->pmas.len && pma_at(mm, i)->start <= addr) {
        *out = pma_at(mm, i);
        return 0;
    }
    /* Fill the aligned window around addr, clipped to the VMA and to the PMAs around it. */
    /* Under a memory limit every page allocated counts against it, touched or not: anonymous
     * memory is filled in small windows too, so a process is charged about what it uses. */
    uint64_t window =
        v->file || memfile_limit(mm->mf) ? MM_FILE_FAULT_AROUND : MM_ANON_FAULT_AROUND;
    uint64_t lo = addr & ~(window - 1), hi = lo + window;
    if (lo < v->start)
        lo = v->start;
    if (hi > v->end || hi < lo)
        hi = v->end;
    if (i > 0 && pma_at(mm, i - 1)->end > lo)
        lo = pma_at(mm, i - 1)->end;
    if (i < mm->pmas.len && pma_at(mm, i)->start < hi)
        hi = pma_at(mm, i)->start;

    if (rangevec_reserve(&mm->pmas, 1) != 0)
        return -ENOMEM;
    struct pma p = {.mapped = false};
    if ((v->flags & VMA_SHARED) && v->file) {
        /* A shared file mapping maps the file's own page, one page at a time: the file's pages
         * need not be contiguous in the memory file. */
        if (!v->file->ops->translate)
            return -EACCES; /* sys_mmap refuses these; never a copy that would lose writes */
        p.start = page_align_down(addr);
        p.end = p.start + PAGE_SIZE_MM;
        int err = v->file->ops->translate(v->file, v->file_off + (p.start - v->start), &p.mf_off);
        if (err)
            return err == -ENOMEM ? -ENOMEM : -EFAULT;
        rangevec_insert(&mm->pmas, i, &p);
        *out = pma_at(mm, i);
        return 0;
    }
    if (v->file && v->file->ops->cache_range && populate_cached(mm, v, addr, i, &p) == 0) {
        rangevec_insert(&mm->pmas, i, &p);
        *out = pma_at(mm, i);
        return 0;
    }
    if (memfile_alloc(mm->mf, hi - lo, &p.mf_off) != 0) {
        /* Fragmented or nearly full: settle for the one page. */
        lo = page_align_down(addr);
        hi = lo + PAGE_SIZE_MM;
        if (memfile_alloc(mm->mf, PAGE_SIZE_MM, &p.mf_off) != 0)
            return -ENOMEM;
    }
    p.start = lo;
    p.end = hi;
    if (v->file) {
        int err = pma_fill_from_file(mm, v, &p);
        if (err) {
            memfile_decref(mm->mf, p.mf_off, hi - lo);
            return err;
        }
    }
    rangevec_insert(&mm->pmas, i, &p);
    *out = pma_at(mm, i);
    return 0;
}

int mm_pma_map(struct mm *mm, struct pma *p, int prot)
{
    if (!mm->as)
        return -EFAULT;
    /* Shared pages are read-only on the host until a write fault copies them. */
    if (p->cow)
        prot &= ~PROT_WRITE;
    int err = platform_as_map(mm->as, p->start, p->end - p->start, prot, p->mf_off);
    if (err)
        return err;
    p->mapped = true;
    atomic_fetch_add_explicit(&mm->map_gen, 1, memory_order_release);
    return 0;
}

uint64_t mm_map_generation(struct mm *mm)
{
    return atomic_load_explicit(&mm->map_gen, memory_order_acquire);
}

int mm_handle_fault(struct mm *mm, uint64_t addr)
{
    return mm_handle_fault_since(mm, addr, mm_map_generation(mm));
}

int mm_handle_fault_since(struct mm *mm, uint64_t addr, uint64_t gen)
{
    struct pma *p;
    int err;

    pthread_mutex_lock(&mm->lock);
    struct vma *v = mm_vma_find(mm, addr);
    if (!v)
        v = mm_grow_stack(mm, addr);
    if (!v) {
        err = -EFAULT;
        goto out;
    }
    if (v->prot == PROT_NONE) {
        err = -EACCES;
        goto out;
    }
    err = mm_populate(mm, v, addr, &p);
    if (err)
        goto out;
    if (p->mapped) {
        /* A mapped page faulted because the access is one its host protection forbids: a
         * write to a copy-on-write page (the only kind mapped with less than its VMA allows),
         * or a real violation. An exec fault on a writable non-exec COW page is taken for a
         * write once; after the copy it faults again and is a violation. */
        if (!p->cow || !(v->prot & PROT_WRITE)) {
            /* Another thread changed the mappings since this one entered the guest (a COW
             * break mapped the page writable): the access saw the old protection. Retry; a
             * real violation faults again with nothing changed in between. */
            err = atomic_load_explicit(&mm->map_gen, memory_order_acquire) != gen ? 0 : -EACCES;
            goto out;
        }
        /* The copy replaces the read-only mapping of the shared pages in one call. */
        err = mm_cow_break(mm, addr, &p, v->prot);
        goto out;
    }
    err = mm_pma_map(mm, p, v->prot);
out:
    pthread_mutex_unlock(&mm->lock);
    return err;
}

/* Whether every page of [off, off+len) in the memory file has this mm as its only owner. */
static bool pages_exclusive(struct mm *mm, uint64_t off, uint64_t len)
{
    for (uint64_t o = off; o < off + len; o += PAGE_SIZE_MM) {
        if (memfile_refcount(mm->mf, o) != 1)
            return false;
    }
    return true;
}

int mm_cow_break(struct mm *mm, uint64_t addr, struct pma **pp, int remap_prot)
{
    /* Only the PMA vector grows here: callers hold pointers into the VMA vector. */
    if (rangevec_reserve(&mm->pmas, 2) != 0)
        return -ENOMEM;
    uint64_t lo = addr & ~(MM_COW_WINDOW - 1), hi = lo + MM_COW_WINDOW;
    struct pma *p = (struct pma *)rangevec_find(&mm->pmas, addr);
    if (lo < p->start)
        lo = p->start;
    if (hi > p->end)
        hi = p->end;
    mm_pma_split_at(mm, lo);
    mm_pma_split_at(mm, hi);
    p = (struct pma *)rangevec_find(&mm->pmas, addr);
    bool copied = false;
    uint64_t old_off = p->mf_off;
    if (!pages_exclusive(mm, p->mf_off, hi - lo)) {
        uint64_t off;
        if (memfile_alloc(mm->mf, hi - lo, &off) != 0)
            return -ENOMEM;
        char *base = memfile_base(mm->mf);
        memcpy(base + off, base + p->mf_off, hi - lo);
        p->mf_off = off;
        copied = true;
    }
    bool was_mapped = p->mapped;
    p->cow = false;
    p->mapped = false;
    int err = 0;
    /* The guest must not go on reading the old pages through its read-only host mapping: the
     * copy replaces it in one call (MAP_FIXED), or it is dropped and the next access maps the
     * copy. Should the remap fail, the old mapping must not stay in front of the copy. */
    if (remap_prot >= 0) {
        err = mm_pma_map(mm, p, remap_prot);
        if (err && was_mapped && mm->as)
            platform_as_unmap(mm->as, lo, hi - lo);
    } else if (was_mapped && mm->as) {
        platform_as_unmap(mm->as, lo, hi - lo);
    }
    /* Only now may the old pages lose this mm's reference: once they are the other mm's alone,
     * its next write takes them over without a copy, and this mm's threads must no longer see
     * them through a mapping. */
    if (copied)
        memfile_decref(mm->mf, old_off, hi - lo);
    *pp = p;
    return err;
}
