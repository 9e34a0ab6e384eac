/* Resource limits on an address space: RLIMIT_AS and RLIMIT_DATA on every expansion, RLIMIT_STACK
 * on stack growth, RLIMIT_MEMLOCK on mlock(2), as Linux's mm/mmap.c and mm/mlock.c apply them. */
#include <errno.h>
#include <sys/mman.h>

#include "sentry/mm/mm_internal.h"

/* Linux's stack_guard_gap: 256 pages kept free below a growing stack. */
#define STACK_GUARD_GAP (256UL * PAGE_SIZE_MM)

void mm_set_limits(struct mm *mm, const struct mm_limits *l)
{
    pthread_mutex_lock(&mm->lock);
    mm->limits = *l;
    pthread_mutex_unlock(&mm->lock);
}

/* Linux's is_data_mapping: private, writable and not a stack. */
static bool is_data(int prot, unsigned flags)
{
    return (prot & PROT_WRITE) && !(flags & (VMA_SHARED | VMA_GROWSDOWN));
}

static uint64_t overlap(uint64_t s1, uint64_t e1, uint64_t s2, uint64_t e2)
{
    uint64_t s = s1 > s2 ? s1 : s2, e = e1 < e2 ? e1 : e2;
    return e > s ? e - s : 0;
}

bool mm_may_expand(struct mm *mm, uint64_t start, uint64_t end, uint64_t grow, int prot,
                   unsigned flags)
{
    const struct mm_limits *l = &mm->limits;
    uint64_t total = grow, data = is_data(prot, flags) ? grow : 0;

    if (l->as == UINT64_MAX && (l->data == UINT64_MAX || !data))
        return true;
    /* What stays mapped outside [start, end), plus the new range. */
    for (size_t i = 0; i < mm->vmas.len; i++) {
        const struct vma *v = vma_at(mm, i);
        uint64_t kept = (v->end - v->start) - overlap(v->start, v->end, start, end);
        total += kept;
        if (is_data(v->prot, v->flags))
            data += kept;
    }
    if (total > l->as)
        return false;
    return !data || data <= l->data;
}

struct vma *mm_grow_stack(struct mm *mm, uint64_t addr)
{
    size_t i = rangevec_lower_bound(&mm->vmas, addr);

    if (i == mm->vmas.len || addr >= mm->max_addr)
        return NULL;
    struct vma *v = vma_at(mm, i);
    /* A file-backed stack would need its offset moved: never grown. */
    if (!(v->flags & VMA_GROWSDOWN) || v->start <= addr || v->file)
        return NULL;
    uint64_t start = page_align_down(addr);
    if (start < MM_MIN_ADDR)
        return NULL;
    /* acct_stack_growth: the whole stack within RLIMIT_STACK, the growth within RLIMIT_AS. */
    if (v->end - start > mm->limits.stack)
        return NULL;
    if (i > 0) {
        const struct vma *prev = vma_at(mm, i - 1);
        /* expand_downwards keeps the guard gap from an accessible mapping below. */
        if (!(prev->flags & VMA_GROWSDOWN) && prev->prot != PROT_NONE &&
            start - prev->end < STACK_GUARD_GAP)
            return NULL;
        if (prev->end > start)
            return NULL;
    }
    if (!mm_may_expand(mm, 0, 0, v->start - start, v->prot, v->flags))
        return NULL;
    if ((v->flags & VMA_LOCKED) && !mm->limits.memlock_exempt) {
        uint64_t locked = 0;
        for (size_t j = 0; j < mm->vmas.len; j++) {
            const struct vma *w = vma_at(mm, j);
            if (w->flags & VMA_LOCKED)
                locked += w->end - w->start;
        }
        if (locked + (v->start - start) > mm->limits.memlock)
            return NULL;
    }
    v->start = start;
    return v;
}

/* Bytes of locked VMAs outside [start, end) plus, when locking, the mapped bytes inside it. */
static uint64_t locked_after(struct mm *mm, uint64_t start, uint64_t end, bool lock)
{
    uint64_t locked = 0;

    for (size_t i = 0; i < mm->vmas.len; i++) {
        const struct vma *v = vma_at(mm, i);
        uint64_t in = overlap(v->start, v->end, start, end);
        if (v->flags & VMA_LOCKED)
            locked += (v->end - v->start) - in;
        if (lock)
            locked += in;
    }
    return locked;
}

/* Marks or unmarks [start, end), which must be mapped, checking RLIMIT_MEMLOCK. mm->lock held. */
static int lock_range(struct mm *mm, uint64_t start, uint64_t end, bool lock)
{
    if (lock && !mm->limits.memlock_exempt) {
        /* mlock(2): EPERM when the limit is 0 for an unprivileged caller, else ENOMEM. */
        if (mm->limits.memlock == 0)
            return -EPERM;
        if (locked_after(mm, start, end, true) > mm->limits.memlock)
            return -ENOMEM;
    }
    int err = mm_reserve(mm);
    if (err)
        return err;
    mm_split_at(mm, start);
    mm_split_at(mm, end);
    for (size_t i = rangevec_lower_bound(&mm->vmas, start);
         i < mm->vmas.len && vma_at(mm, i)->end <= end; i++) {
        struct vma *v = vma_at(mm, i);
        if (lock)
            v->flags |= VMA_LOCKED;
        else
            v->flags &= ~(unsigned)VMA_LOCKED;
    }
    return 0;
}

int mm_lock(struct mm *mm, uint64_t addr, uint64_t len, bool lock)
{
    uint64_t start = page_align_down(addr), end;

    /* mlock(2) rounds the start down and the length up; a wrap is EINVAL. */
    if (!page_align_up(addr + len, &end) || addr + len < addr)
        return -EINVAL;
    if (end == start)
        return 0;
    if (end > mm->max_addr)
        return -ENOMEM;
    pthread_mutex_lock(&mm->lock);
    int err = mm_range_is_mapped(mm, start, end) ? lock_range(mm, start, end, lock) : -ENOMEM;
    pthread_mutex_unlock(&mm->lock);
    return err;
}

int mm_lock_all(struct mm *mm, bool lock)
{
    int err = 0;

    pthread_mutex_lock(&mm->lock);
    if (lock && !mm->limits.memlock_exempt) {
        if (mm->limits.memlock == 0)
            err = -EPERM;
        else if (locked_after(mm, 0, mm->max_addr, true) > mm->limits.memlock)
            err = -ENOMEM;
    }
    for (size_t i = 0; !err && i < mm->vmas.len; i++) {
        struct vma *v = vma_at(mm, i);
        if (lock)
            v->flags |= VMA_LOCKED;
        else
            v->flags &= ~(unsigned)VMA_LOCKED;
    }
    pthread_mutex_unlock(&mm->lock);
    return err;
}
