/* What /proc reads from an address space: the loader's layout (argv, envp, auxv, code and data
 * ranges), memory accounting, and the VMA list. */
#include <sys/mman.h>

#include "sentry/memfile/memfile.h"
#include "sentry/mm/mm.h"
#include "sentry/mm/mm_internal.h"

void mm_set_proc_ranges(struct mm *mm, const struct mm_proc_ranges *r)
{
    pthread_mutex_lock(&mm->lock);
    mm->proc = *r;
    mm->proc.start_brk = mm->proc.brk = 0;
    pthread_mutex_unlock(&mm->lock);
}

void mm_get_proc_ranges(struct mm *mm, struct mm_proc_ranges *out)
{
    pthread_mutex_lock(&mm->lock);
    *out = mm->proc;
    out->start_brk = mm->brk_start;
    out->brk = mm->brk;
    pthread_mutex_unlock(&mm->lock);
}

static uint64_t overlap(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
    uint64_t lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;
    return hi > lo ? hi - lo : 0;
}

/* Bytes of [start, end) backed by PMAs, and of those the pages another mm maps too. */
static void resident_in(struct mm *mm, uint64_t start, uint64_t end, uint64_t *rss,
                        uint64_t *shared)
{
    size_t i = rangevec_lower_bound(&mm->pmas, start);
    for (; i < mm->pmas.len; i++) {
        struct pma *p = pma_at(mm, i);
        if (p->start >= end)
            break;
        uint64_t n = overlap(p->start, p->end, start, end);
        *rss += n;
        if (p->cow) {
            uint64_t from = p->start > start ? p->start : start;
            for (uint64_t a = from; a < from + n; a += PAGE_SIZE_MM)
                if (memfile_refcount(mm->mf, p->mf_off + (a - p->start)) > 1)
                    *shared += PAGE_SIZE_MM;
        }
    }
}

void mm_get_stats(struct mm *mm, struct mm_stats *out)
{
    *out = (struct mm_stats){0};
    pthread_mutex_lock(&mm->lock);
    for (size_t i = 0; i < mm->vmas.len; i++) {
        struct vma *v = vma_at(mm, i);
        uint64_t len = v->end - v->start, rss = 0;
        if (i == 0)
            out->start = v->start;
        out->end = v->end;
        out->vm_size += len;
        if (v->flags & VMA_LOCKED)
            out->vm_locked += len;
        resident_in(mm, v->start, v->end, &rss, &out->rss_shared);
        out->rss += rss;
        if (v->file)
            out->rss_file += rss;
        else
            out->rss_anon += rss;
        /* Linux's vm_stat_account: stack, then exec file code, then private writable data. */
        if (v->flags & VMA_GROWSDOWN) {
            out->vm_stack += len;
        } else if ((v->prot & PROT_EXEC) && v->file) {
            uint64_t exe = overlap(v->start, v->end, mm->proc.start_code, mm->proc.end_code);
            out->vm_exe += exe;
            out->vm_lib += len - exe;
        } else if (!(v->flags & VMA_SHARED) && (v->prot & PROT_WRITE)) {
            out->vm_data += len;
        }
    }
    if (out->vm_size > mm->vm_peak)
        mm->vm_peak = out->vm_size;
    if (out->rss > mm->rss_peak)
        mm->rss_peak = out->rss;
    out->vm_peak = mm->vm_peak;
    out->rss_peak = mm->rss_peak;
    pthread_mutex_unlock(&mm->lock);
}

int mm_for_each_vma(struct mm *mm, int (*fn)(const struct vma *v, void *arg), void *arg)
{
    int ret = 0;
    pthread_mutex_lock(&mm->lock);
    for (size_t i = 0; i < mm->vmas.len && !ret; i++)
        ret = fn(vma_at(mm, i), arg);
    pthread_mutex_unlock(&mm->lock);
    return ret;
}
