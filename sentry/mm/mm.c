/* The address-space operations behind mmap(2), munmap(2), mprotect(2), mremap(2), brk(2) and
 * madvise(2), with Linux's argument rules. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "platform/platform.h"
#include "sentry/memfile/memfile.h"
#include "sentry/mm/mm_internal.h"

int mm_create(struct memfile *mf, uint64_t max_addr, struct mm **out)
{
    struct mm *mm = calloc(1, sizeof(*mm));

    if (!mm)
        return -ENOMEM;
    atomic_init(&mm->refs, 1);
    pthread_mutex_init(&mm->lock, NULL);
    mm->mf = mf;
    mm->max_addr = page_align_down(max_addr);
    /* Linux's default overcommit heuristic refuses a single allocation larger than all of
     * memory; the memory file is the sandbox's memory. */
    mm->commit_limit = memfile_size(mf);
    mm->mmap_base = mm->max_addr;
    mm->limits = (struct mm_limits){.as = UINT64_MAX,
                                    .data = UINT64_MAX,
                                    .stack = UINT64_MAX,
                                    .memlock = UINT64_MAX,
                                    .memlock_exempt = true};
    rangevec_init(&mm->vmas, sizeof(struct vma));
    rangevec_init(&mm->pmas, sizeof(struct pma));
    *out = mm;
    return 0;
}

void mm_destroy(struct mm *mm)
{
    if (!mm)
        return;
    pthread_mutex_lock(&mm->lock);
    struct platform_as *as = mm->as;
    mm->as = NULL; /* the address space dies whole: no need to unmap piecewise */
    if (mm_reserve(mm) == 0)
        mm_unmap_locked(mm, 0, mm->max_addr);
    pthread_mutex_unlock(&mm->lock);
    if (as)
        platform_as_release(as);
    rangevec_free(&mm->vmas);
    rangevec_free(&mm->pmas);
    pthread_mutex_destroy(&mm->lock);
    free(mm);
}

/* After a fork made the parent's private pages copy-on-write: maps its pages that are mapped
 * writable read-only instead, so its next write faults and copies while its reads go on without
 * a fault. Only what is mapped goes to the platform, all in one batch, and a run of PMAs
 * contiguous in both the guest and the memory file is one mapping. This relies on two rules kept
 * elsewhere: a host mapping never outlives its PMA's `mapped` (a platform call that cannot be
 * made, as from a thread whose stub is gone, would break it), and a COW break drops its reference
 * to the old pages only after this mm's host mapping of them is gone. With parent->lock held. */
static void mm_fork_protect_parent(struct mm *parent)
{
    struct platform_mapping *maps;
    size_t n = 0, done = 0, j = 0;

    if (!parent->as)
        return;
    maps = calloc(parent->pmas.len ? parent->pmas.len : 1, sizeof(*maps));
    for (size_t i = 0; i < parent->pmas.len;) {
        struct pma *p = pma_at(parent, i);
        while (vma_at(parent, j)->end <= p->start)
            j++;
        struct vma *v = vma_at(parent, j);
        if (!p->mapped || !p->cow || (v->flags & VMA_SHARED) || !(v->prot & PROT_WRITE)) {
            i++;
            continue;
        }
        uint64_t start = p->start, end = p->end, mf_off = p->mf_off;
        for (i++; i < parent->pmas.len; i++) {
            struct pma *next = pma_at(parent, i);
            if (!next->mapped || !next->cow || next->start != end || next->end > v->end ||
                next->mf_off != mf_off + (end - start))
                break;
            end = next->end;
        }
        struct platform_mapping m = {.addr = start,
                                     .len = end - start,
                                     .prot = v->prot & ~PROT_WRITE,
                                     .memfile_offset = mf_off};
        if (!maps) {
            /* No memory for the list: one call each. */
            if (platform_as_map(parent->as, m.addr, m.len, m.prot, m.memfile_offset) != 0)
                mm_pmas_unmap(parent, m.addr, m.addr + m.len);
            continue;
        }
        maps[n++] = m;
    }
    if (n > 0 && platform_as_map_batch(parent->as, maps, n, &done) != 0) {
        /* What could not be downgraded is dropped: the next access faults and maps anew. */
        for (size_t k = done; k < n; k++)
            mm_pmas_unmap(parent, maps[k].addr, maps[k].addr + maps[k].len);
    }
    atomic_fetch_add_explicit(&parent->map_gen, 1, memory_order_release);
    free(maps);
}

/* The window of the parent's private writable pages around `hot` that fork copies for the child
 * at once, in [*lo, *hi), with the parent's PMAs split at its ends; false if there is none (with
 * parent->lock held). Both processes write there right away (the fork returns on that stack in
 * each), so sharing it would cost each a fault. */
static bool fork_hot_window(struct mm *parent, uint64_t hot, uint64_t *lo, uint64_t *hi)
{
    struct vma *v = hot ? mm_vma_find(parent, hot) : NULL;

    if (!v || (v->flags & VMA_SHARED) || !(v->prot & PROT_WRITE))
        return false;
    *lo = hot & ~(MM_COW_WINDOW - 1);
    *hi = *lo + MM_COW_WINDOW;
    if (*lo < v->start)
        *lo = v->start;
    if (*hi > v->end)
        *hi = v->end;
    if (rangevec_reserve(&parent->pmas, 2) != 0)
        return false;
    mm_pma_split_at(parent, *lo);
    mm_pma_split_at(parent, *hi);
    return true;
}

/* The child's PMA for the parent's `p` inside the hot window: its own copy of the pages, or, if
 * there is no memory for one, false (then it shares them copy-on-write like the rest). */
static bool fork_copy_pma(struct mm *parent, const struct pma *p, struct pma *copy)
{
    uint64_t off;

    if (p->cow || memfile_alloc(parent->mf, p->end - p->start, &off) != 0)
        return false;
    char *base = memfile_base(parent->mf);
    memcpy(base + off, base + p->mf_off, p->end - p->start);
    *copy = (struct pma){.start = p->start, .end = p->end, .mf_off = off, .inherited = p->mapped};
    return true;
}

int mm_fork(struct mm *parent, struct mm **out)
{
    return mm_fork_near(parent, 0, out);
}

int mm_fork_near(struct mm *parent, uint64_t hot, struct mm **out)
{
    struct mm *child;
    uint64_t hot_lo = 0, hot_hi = 0;
    int err = mm_create(parent->mf, parent->max_addr, &child);

    if (err)
        return err;
    pthread_mutex_lock(&parent->lock);
    /* Only for a parent whose one task is the forking one, blocked in fork: another task of the
     * mm could write the window while it is copied, where copy-on-write takes a page's state at
     * one instant. Relaxed: no task can join the mm meanwhile but through this one. */
    if (atomic_load_explicit(&parent->refs, memory_order_relaxed) != 1 ||
        !fork_hot_window(parent, hot, &hot_lo, &hot_hi))
        hot_lo = hot_hi = 0;
    child->mmap_base = parent->mmap_base;
    child->brk_start = parent->brk_start;
    child->brk = parent->brk;
    child->commit_limit = parent->commit_limit;
    child->limits = parent->limits;
    child->proc = parent->proc;
    child->vm_peak = parent->vm_peak;
    child->rss_peak = parent->rss_peak;
    if (rangevec_reserve(&child->vmas, parent->vmas.len + 8) != 0 ||
        rangevec_reserve(&child->pmas, parent->pmas.len + 8) != 0) {
        pthread_mutex_unlock(&parent->lock);
        mm_destroy(child);
        return -ENOMEM;
    }
    for (size_t i = 0; i < parent->vmas.len; i++) {
        struct vma *v = vma_at(parent, i);
        if (v->file && v->file->ops->get)
            v->file->ops->get(v->file);
        rangevec_insert(&child->vmas, i, v);
    }
    /* Private pages become shared copy-on-write; the parent's writable host mappings of them
     * must go, so its next write faults and copies. */
    for (size_t i = 0, j = 0; i < parent->pmas.len; i++) {
        struct pma *p = pma_at(parent, i);
        struct pma copy;
        while (vma_at(parent, j)->end <= p->start)
            j++;
        if (p->start >= hot_lo && p->end <= hot_hi && fork_copy_pma(parent, p, &copy)) {
            rangevec_insert(&child->pmas, i, &copy);
            continue;
        }
        if (!(vma_at(parent, j)->flags & VMA_SHARED))
            p->cow = true;
        memfile_incref(parent->mf, p->mf_off, p->end - p->start);
        copy = *p;
        copy.inherited = p->mapped;
        copy.mapped = false;
        rangevec_insert(&child->pmas, i, &copy);
    }
    mm_fork_protect_parent(parent);
    pthread_mutex_unlock(&parent->lock);
    *out = child;
    return 0;
}

void mm_get(struct mm *mm)
{
    atomic_fetch_add_explicit(&mm->refs, 1, memory_order_relaxed);
}

void mm_put(struct mm *mm)
{
    /* Acq-rel: the last put must see every other user's changes before tearing down. */
    if (mm && atomic_fetch_sub_explicit(&mm->refs, 1, memory_order_acq_rel) == 1)
        mm_destroy(mm);
}

struct platform_as *mm_platform_as(struct mm *mm)
{
    pthread_mutex_lock(&mm->lock);
    struct platform_as *as = mm->as;
    pthread_mutex_unlock(&mm->lock);
    return as;
}

void mm_set_platform_as(struct mm *mm, struct platform_as *as)
{
    pthread_mutex_lock(&mm->lock);
    mm->as = as;
    pthread_mutex_unlock(&mm->lock);
}

void mm_set_layout(struct mm *mm, uint64_t brk_start, uint64_t mmap_base)
{
    pthread_mutex_lock(&mm->lock);
    mm->brk_start = mm->brk = brk_start;
    mm->mmap_base = page_align_down(mmap_base);
    pthread_mutex_unlock(&mm->lock);
}

bool mm_access_ok(const struct mm *mm, uint64_t addr, uint64_t len)
{
    return addr <= mm->max_addr && len <= mm->max_addr - addr;
}

uint64_t mm_max_addr(const struct mm *mm)
{
    return mm->max_addr;
}

int64_t mm_map(struct mm *mm, const struct mm_map_request *req)
{
    uint64_t len;
    int64_t addr;

    if (req->len == 0)
        return -EINVAL;
    if (!page_align_up(req->len, &len) || len > mm->max_addr)
        return -ENOMEM;
    if ((req->fixed || req->noreplace) && (req->addr & ~PAGE_MASK_MM))
        return -EINVAL;
    if ((req->prot & PROT_WRITE) && !req->noreserve && len > mm->commit_limit)
        return -ENOMEM;

    pthread_mutex_lock(&mm->lock);
    if (mm_reserve(mm) != 0) {
        addr = -ENOMEM;
        goto out;
    }
    if (req->fixed || req->noreplace) {
        addr = (int64_t)req->addr;
        if (req->addr > mm->max_addr || len > mm->max_addr - req->addr) {
            addr = -ENOMEM;
            goto out;
        }
        if (req->addr < MM_MIN_ADDR) {
            addr = -EPERM; /* Linux: below vm.mmap_min_addr */
            goto out;
        }
        if (req->noreplace && !mm_range_is_free(mm, req->addr, req->addr + len)) {
            addr = -EEXIST;
            goto out;
        }
    } else {
        addr = mm_find_free(mm, req->addr, len);
        if (addr < 0)
            goto out;
    }
    if (!mm_may_expand(mm, (uint64_t)addr, (uint64_t)addr + len, len, req->prot, req->vma_flags)) {
        addr = -ENOMEM;
        goto out;
    }
    if (req->fixed || req->noreplace)
        mm_unmap_locked(mm, (uint64_t)addr, (uint64_t)addr + len);
    struct vma v = {
        .start = (uint64_t)addr,
        .end = (uint64_t)addr + len,
        .prot = req->prot,
        .flags = req->vma_flags,
        .file = req->file,
        .file_off = req->file_off,
    };
    mm_vma_insert(mm, &v);
    if ((req->vma_flags & VMA_SHARED) && !req->file) {
        /* Shared anonymous memory must be the same pages in every process that maps it, even
         * pages nobody touched before a fork: give it its pages now (memory-file pages cost
         * nothing until written). A shmem object per mapping would do this lazily. */
        for (uint64_t at = (uint64_t)addr; at < (uint64_t)addr + len;) {
            struct pma *p;
            if (mm_populate(mm, mm_vma_find(mm, at), at, &p) != 0) {
                mm_unmap_locked(mm, (uint64_t)addr, (uint64_t)addr + len);
                addr = -ENOMEM;
                goto out;
            }
            at = p->end;
        }
    }
out:
    pthread_mutex_unlock(&mm->lock);
    return addr;
}

/* Checks an (addr, len) pair as munmap, mprotect and madvise do; *end gets the rounded end. */
static int range_check(struct mm *mm, uint64_t addr, uint64_t len, uint64_t *end)
{
    if (addr & ~PAGE_MASK_MM)
        return -EINVAL;
    if (!page_align_up(len, &len) || addr > mm->max_addr || len > mm->max_addr - addr)
        return -ENOMEM;
    *end = addr + len;
    return 0;
}

int mm_unmap(struct mm *mm, uint64_t addr, uint64_t len)
{
    uint64_t end;

    if (len == 0)
        return -EINVAL;
    if (addr & ~PAGE_MASK_MM)
        return -EINVAL;
    /* Linux refuses a range reaching past the top of the user address space rather than
     * clipping it (do_vmi_munmap). addr and max_addr are page aligned, so rounding len up
     * cannot cross max_addr. */
    if (addr > mm->max_addr || len > mm->max_addr - addr)
        return -EINVAL;
    page_align_up(len, &len);
    end = addr + len;
    pthread_mutex_lock(&mm->lock);
    int err = mm_reserve(mm);
    if (!err)
        mm_unmap_locked(mm, addr, end);
    pthread_mutex_unlock(&mm->lock);
    return err;
}

int mm_protect(struct mm *mm, uint64_t addr, uint64_t len, int prot)
{
    uint64_t end;
    int err;

    if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN | PROT_GROWSUP))
        return -EINVAL;
    prot &= PROT_READ | PROT_WRITE | PROT_EXEC;
    if ((err = range_check(mm, addr, len, &end)) != 0)
        return err == -EINVAL ? err : -ENOMEM;
    if (end == addr)
        return 0;
    pthread_mutex_lock(&mm->lock);
    if (!mm_range_is_mapped(mm, addr, end)) {
        err = -ENOMEM;
        goto out;
    }
    if ((err = mm_reserve(mm)) != 0)
        goto out;
    if (prot & (PROT_WRITE | PROT_EXEC)) {
        for (size_t i = rangevec_lower_bound(&mm->vmas, addr);
             i < mm->vmas.len && vma_at(mm, i)->start < end; i++) {
            if (vma_at(mm, i)->flags & VMA_SPECIAL) {
                err = -EACCES; /* mprotect(2): beyond what the mapping may ever allow */
                goto out;
            }
        }
    }
    mm_split_at(mm, addr);
    mm_split_at(mm, end);
    for (size_t i = rangevec_lower_bound(&mm->vmas, addr);
         i < mm->vmas.len && vma_at(mm, i)->end <= end; i++)
        vma_at(mm, i)->prot = prot;
    /* Pages already mapped keep their old protection on the host until remapped. */
    mm_pmas_reprotect(mm, addr, end);
out:
    pthread_mutex_unlock(&mm->lock);
    return err;
}

/* Moves the VMA range [old, old+len) and its pages to `to`, which must be free. */
static void move_locked(struct mm *mm, uint64_t old, uint64_t len, uint64_t to)
{
    mm_split_at(mm, old);
    mm_split_at(mm, old + len);
    size_t i = rangevec_lower_bound(&mm->vmas, old);
    struct vma moved = *vma_at(mm, i);
    moved.end = to + len;
    moved.start = to;
    mm_vma_insert(mm, &moved); /* takes its own file reference */

    /* Re-home the PMAs: same memory-file pages, new guest addresses, not yet mapped. */
    size_t first = rangevec_lower_bound(&mm->pmas, old), last = first;
    while (last < mm->pmas.len && pma_at(mm, last)->end <= old + len)
        last++;
    size_t n = last - first;
    struct pma *tmp = n ? malloc(n * sizeof(*tmp)) : NULL;
    if (n && !tmp) {
        /* Out of sentry memory: drop the pages instead (the guest sees zeroes). This is the only
         * place an mremap can lose data, and only when the sentry itself cannot allocate. */
        mm_unmap_locked(mm, old, old + len);
        return;
    }
    /* The pages move with their PMAs, which leave the range before mm_unmap_locked runs (it
     * would drop their pages): so it sees nothing mapped there and leaves the host alone. The
     * host's mappings of them at the old address go here, or a later mapping there would show
     * these pages. */
    uint64_t lo = 0, hi = 0;
    bool mapped = mm_mapped_span(mm, old, old + len, &lo, &hi);
    for (size_t k = 0; k < n; k++)
        tmp[k] = *pma_at(mm, first + k);
    rangevec_remove(&mm->pmas, first, n);
    mm_unmap_locked(mm, old, old + len);
    if (mm->as && mapped)
        platform_as_unmap(mm->as, lo, hi - lo);
    if (rangevec_reserve(&mm->pmas, n) == 0) {
        for (size_t k = 0; k < n; k++) {
            struct pma p = tmp[k];
            p.start = p.start - old + to;
            p.end = p.end - old + to;
            p.mapped = false;
            rangevec_insert(&mm->pmas, rangevec_lower_bound(&mm->pmas, p.start), &p);
        }
    } else {
        for (size_t k = 0; k < n; k++)
            memfile_decref(mm->mf, tmp[k].mf_off, tmp[k].end - tmp[k].start);
    }
    free(tmp);
}

int64_t mm_remap(struct mm *mm, uint64_t old, uint64_t old_len, uint64_t new_len, int flags,
                 uint64_t new_addr)
{
    int64_t ret;

    if (old & ~PAGE_MASK_MM)
        return -EINVAL;
    if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED))
        return -EINVAL;
    if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE))
        return -EINVAL;
    if (!page_align_up(old_len, &old_len) || !page_align_up(new_len, &new_len) || new_len == 0)
        return -EINVAL;
    if (old_len == 0)
        return -EINVAL; /* duplicating a shared mapping: not supported for private memory */

    pthread_mutex_lock(&mm->lock);
    if ((ret = mm_reserve(mm)) != 0)
        goto out;
    struct vma *v = mm_vma_find(mm, old);
    if (!v) {
        ret = -EFAULT;
        goto out;
    }
    /* A shrink unmaps the tail as munmap would, so a tail past the top is EINVAL. */
    if (new_len < old_len && old_len > mm->max_addr - old) {
        ret = -EINVAL;
        goto out;
    }
    /* vma_to_resize: growing counts against RLIMIT_AS and RLIMIT_DATA. */
    if (new_len > old_len && !mm_may_expand(mm, 0, 0, new_len - old_len, v->prot, v->flags)) {
        ret = -ENOMEM;
        goto out;
    }
    /* Linux requires only the part of the old range that is kept to lie in one VMA, and checks
     * it after new_addr (mm/mremap.c: vma_to_resize runs after the shrink and mremap_to's
     * checks): shrinking across VMAs is fine. */
    if (flags & MREMAP_FIXED) {
        if ((new_addr & ~PAGE_MASK_MM) || new_addr < MM_MIN_ADDR || new_addr > mm->max_addr ||
            new_len > mm->max_addr - new_addr ||
            (new_addr < old + old_len && old < new_addr + new_len)) {
            ret = -EINVAL;
            goto out;
        }
        if ((new_len < old_len ? new_len : old_len) > v->end - old) {
            ret = -EFAULT;
            goto out;
        }
        mm_unmap_locked(mm, new_addr, new_addr + new_len);
        if (new_len < old_len) {
            mm_unmap_locked(mm, old + new_len, old + old_len);
            old_len = new_len;
        }
        move_locked(mm, old, old_len, new_addr);
        if (new_len > old_len) {
            struct vma grow = *mm_vma_find(mm, new_addr);
            grow.file_off += grow.end - grow.start;
            grow.start = new_addr + old_len;
            grow.end = new_addr + new_len;
            mm_vma_insert(mm, &grow);
        }
        ret = (int64_t)new_addr;
        goto out;
    }
    if (new_len <= old_len) {
        mm_unmap_locked(mm, old + new_len, old + old_len);
        ret = (int64_t)old;
        goto out;
    }
    if (old_len > v->end - old) {
        ret = -EFAULT;
        goto out;
    }
    uint64_t extra = new_len - old_len;
    if (old + old_len == v->end && v->end <= mm->max_addr - extra &&
        mm_range_is_free(mm, v->end, v->end + extra)) {
        v->end += extra; /* grow in place */
        ret = (int64_t)old;
        goto out;
    }
    if (!(flags & MREMAP_MAYMOVE)) {
        ret = -ENOMEM;
        goto out;
    }
    ret = mm_find_free(mm, 0, new_len);
    if (ret < 0)
        goto out;
    struct vma grown = *v;
    move_locked(mm, old, old_len, (uint64_t)ret);
    grown.file_off += (old - grown.start) + old_len;
    grown.start = (uint64_t)ret + old_len;
    grown.end = (uint64_t)ret + new_len;
    mm_vma_insert(mm, &grown);
out:
    pthread_mutex_unlock(&mm->lock);
    return ret;
}

uint64_t mm_brk(struct mm *mm, uint64_t addr)
{
    uint64_t old_end = 0, new_end;

    pthread_mutex_lock(&mm->lock);
    uint64_t ret = mm->brk;
    /* Linux returns the current break for anything it refuses. */
    if (addr < mm->brk_start || !page_align_up(addr, &new_end) || new_end > mm->mmap_base)
        goto out;
    page_align_up(mm->brk, &old_end);
    if (new_end > old_end && new_end - old_end > mm->commit_limit)
        goto out;
    /* check_data_rlimit: the heap and the data segment within RLIMIT_DATA; then the growth as
     * any data mapping's (may_expand_vm). */
    if (mm->limits.data != UINT64_MAX && addr > mm->brk &&
        (addr - mm->brk_start) + (mm->proc.end_data - mm->proc.start_data) > mm->limits.data)
        goto out;
    if (new_end > old_end &&
        !mm_may_expand(mm, 0, 0, new_end - old_end, PROT_READ | PROT_WRITE, VMA_HEAP))
        goto out;
    if (mm_reserve(mm) != 0)
        goto out;
    if (new_end < old_end) {
        mm_unmap_locked(mm, new_end, old_end);
    } else if (new_end > old_end) {
        if (!mm_range_is_free(mm, old_end, new_end))
            goto out;
        struct vma v = {
            .start = old_end, .end = new_end, .prot = PROT_READ | PROT_WRITE, .flags = VMA_HEAP};
        mm_vma_insert(mm, &v);
        /* The allocator that grew the break writes its first chunk at the old one next: map the
         * window there now, as that write's fault would, and save the fault. Not fatal. */
        struct vma *grown = mm_vma_find(mm, old_end);
        struct pma *p;
        if (grown && mm->as && mm_populate(mm, grown, old_end, &p) == 0 && !p->mapped)
            mm_pma_map(mm, p, grown->prot);
    }
    mm->brk = ret = addr;
out:
    pthread_mutex_unlock(&mm->lock);
    return ret;
}

int mm_advise(struct mm *mm, uint64_t addr, uint64_t len, int advice)
{
    uint64_t end;
    int err;

    switch (advice) {
    case MADV_DONTNEED:
    case MADV_FREE:
    case MADV_NORMAL:
    case MADV_RANDOM:
    case MADV_SEQUENTIAL:
    case MADV_WILLNEED:
    case MADV_DONTFORK:
    case MADV_DOFORK:
    case MADV_MERGEABLE:
    case MADV_UNMERGEABLE:
    case MADV_HUGEPAGE:
    case MADV_NOHUGEPAGE:
    case MADV_DONTDUMP:
    case MADV_DODUMP:
    case MADV_WIPEONFORK:
    case MADV_KEEPONFORK:
    case MADV_COLD:
    case MADV_PAGEOUT:
        break;
    default:
        return -EINVAL;
    }
    /* Unlike mprotect, madvise fails a range that wraps with EINVAL, and advises what is mapped
     * of a range past the top before failing with ENOMEM, as for a hole (mm/madvise.c). */
    if (addr & ~PAGE_MASK_MM)
        return -EINVAL;
    if (!page_align_up(len, &end) || end > UINT64_MAX - addr)
        return -EINVAL;
    end += addr;
    if (end == addr)
        return 0;
    bool past_top = end > mm->max_addr;
    if (past_top) {
        if (addr >= mm->max_addr)
            return -ENOMEM;
        end = mm->max_addr;
    }
    pthread_mutex_lock(&mm->lock);
    if ((err = mm_reserve(mm)) != 0)
        goto out;
    bool holes = past_top || !mm_range_is_mapped(mm, addr, end);
    if (advice == MADV_DONTNEED || advice == MADV_FREE) {
        uint64_t lo = 0, hi = 0;
        bool mapped = mm_mapped_span(mm, addr, end, &lo, &hi);
        /* Private pages are dropped (anonymous ones read zero, file ones reread the file);
         * shared pages keep their contents and are only unmapped. */
        for (size_t i = rangevec_lower_bound(&mm->vmas, addr);
             i < mm->vmas.len && vma_at(mm, i)->start < end; i++) {
            struct vma *v = vma_at(mm, i);
            uint64_t s = v->start > addr ? v->start : addr;
            uint64_t e = v->end < end ? v->end : end;
            if (advice == MADV_FREE && (v->file || (v->flags & VMA_SHARED))) {
                err = -EINVAL; /* Linux: MADV_FREE is for private anonymous memory only */
                goto out;
            }
            if (v->flags & VMA_SHARED)
                mm_pmas_unmap(mm, s, e);
            else
                mm_pmas_drop(mm, s, e);
        }
        if (mm->as && mapped)
            platform_as_unmap(mm->as, lo, hi - lo);
    }
    err = holes ? -ENOMEM : 0;
out:
    pthread_mutex_unlock(&mm->lock);
    return err;
}

size_t mm_vma_count(struct mm *mm)
{
    pthread_mutex_lock(&mm->lock);
    size_t n = mm->vmas.len;
    pthread_mutex_unlock(&mm->lock);
    return n;
}

uint64_t mm_resident_bytes(struct mm *mm)
{
    uint64_t total = 0;

    pthread_mutex_lock(&mm->lock);
    for (size_t i = 0; i < mm->pmas.len; i++)
        total += pma_at(mm, i)->end - pma_at(mm, i)->start;
    pthread_mutex_unlock(&mm->lock);
    return total;
}

bool mm_find_vma(struct mm *mm, uint64_t addr, struct vma *out)
{
    pthread_mutex_lock(&mm->lock);
    size_t i = rangevec_lower_bound(&mm->vmas, addr);
    bool found = i < mm->vmas.len;
    if (found)
        *out = *vma_at(mm, i);
    pthread_mutex_unlock(&mm->lock);
    return found;
}
