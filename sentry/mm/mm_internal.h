/* Private to sentry/mm: the address space's state and the locked helpers its files share. */
#ifndef RUNSC_SENTRY_MM_MM_INTERNAL_H
#define RUNSC_SENTRY_MM_MM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "sentry/mm/mm.h"
#include "sentry/mm/rangevec.h"

#define PAGE_SIZE_MM 4096UL
#define PAGE_MASK_MM (~(PAGE_SIZE_MM - 1))
/* Like Linux's vm.mmap_min_addr default: the lowest page a guest may map. */
#define MM_MIN_ADDR 0x10000UL
/* How much one copy-on-write break copies: the window around the written page. */
#define MM_COW_WINDOW (64UL << 10)
/* How much an anonymous fault populates around the faulting page: a huge page's worth, so a
 * guest touching memory sequentially faults once per 2 MiB rather than once per page. */
#define MM_ANON_FAULT_AROUND (2UL << 20)
/* The same for private file mappings, which must read the file. */
#define MM_FILE_FAULT_AROUND (256UL << 10)

/* A run of guest pages backed by contiguous memory-file pages. Invariant: a PMA lies inside
 * one VMA, so it is mapped with that VMA's protection. */
struct pma {
    uint64_t start, end;
    uint64_t mf_off; /* memory-file offset of `start`; each page holds one reference */
    bool mapped;     /* mirrored in the platform address space */
    bool cow;        /* the pages may be shared with another mm: map read-only, copy on write */
    bool inherited;  /* mapped in the parent at fork: mm_map_inherited maps it ahead of faults */
};

struct mm {
    atomic_int refs;      /* tasks using this mm; atomic: taken and dropped without the lock */
    pthread_mutex_t lock; /* protects every field below */
    struct memfile *mf;
    struct platform_as *as; /* may be NULL before the first thread runs */
    uint64_t max_addr;
    uint64_t commit_limit;  /* the largest writable private mapping one call may make */
    uint64_t mmap_base;     /* top-down search for mmap(NULL) starts here */
    uint64_t brk_start, brk;
    struct rangevec vmas;   /* struct vma, sorted */
    struct rangevec pmas;   /* struct pma, sorted */
    struct mm_proc_ranges proc; /* the loader's layout, for /proc */
    struct mm_limits limits;    /* the owning process's RLIMIT_AS, _DATA, _STACK, _MEMLOCK */
    uint64_t vm_peak, rss_peak; /* high-water marks seen by mm_get_stats */
    /* Bumped (under the lock) after every change of the platform's mappings; read without it by
     * threads entering the guest, to tell a fault another thread already resolved (their view
     * of a page predates the change) from a real violation. */
    _Atomic uint64_t map_gen;
};

static inline uint64_t page_align_down(uint64_t a)
{
    return a & PAGE_MASK_MM;
}

/* Rounds up; false on overflow. */
static inline bool page_align_up(uint64_t a, uint64_t *out)
{
    if (a > UINT64_MAX - (PAGE_SIZE_MM - 1))
        return false;
    *out = (a + PAGE_SIZE_MM - 1) & PAGE_MASK_MM;
    return true;
}

static inline struct vma *vma_at(struct mm *mm, size_t i)
{
    return (struct vma *)rangevec_at(&mm->vmas, i);
}

static inline struct pma *pma_at(struct mm *mm, size_t i)
{
    return (struct pma *)rangevec_at(&mm->pmas, i);
}

/* vma.c: all with mm->lock held. Splits and inserts never fail once mm_reserve succeeded. */
int mm_reserve(struct mm *mm);
struct vma *mm_vma_find(struct mm *mm, uint64_t addr);
bool mm_range_is_free(struct mm *mm, uint64_t start, uint64_t end);
/* True if [start, end) is covered by VMAs without holes. */
bool mm_range_is_mapped(struct mm *mm, uint64_t start, uint64_t end);
void mm_split_at(struct mm *mm, uint64_t addr);
void mm_pma_split_at(struct mm *mm, uint64_t addr);
void mm_vma_insert(struct mm *mm, const struct vma *v);
/* Removes VMAs and PMAs in [start, end) and unmaps it from the platform. */
void mm_unmap_locked(struct mm *mm, uint64_t start, uint64_t end);
/* The part of [start, end) from the first to the last PMA mirrored in the platform, in [*lo,
 * *hi); false if no page there is. Only such pages have host mappings, so only this span needs a
 * platform unmap. */
bool mm_mapped_span(struct mm *mm, uint64_t start, uint64_t end, uint64_t *lo, uint64_t *hi);
/* After a protection change of the VMAs over [start, end): maps the PMAs there that are mapped
 * again with their VMA's new protection (at most MM_REPROTECT_MAX of them, in one platform batch),
 * or, past that or for PROT_NONE, unmaps them to fault in anew. */
#define MM_REPROTECT_MAX 16
void mm_pmas_reprotect(struct mm *mm, uint64_t start, uint64_t end);
/* Drops the PMAs in [start, end), releasing their pages. */
void mm_pmas_drop(struct mm *mm, uint64_t start, uint64_t end);
/* Marks the PMAs in [start, end) unmapped and unmaps the range from the platform. */
void mm_pmas_unmap(struct mm *mm, uint64_t start, uint64_t end);
/* A free range of `len` bytes: at the hint if it fits, else top-down from mmap_base. */
int64_t mm_find_free(struct mm *mm, uint64_t hint, uint64_t len);

/* limits.c: with mm->lock held. Whether replacing [start, end) by `grow` bytes of memory with
 * `prot` and `flags` keeps the address space within RLIMIT_AS and, for private writable memory,
 * RLIMIT_DATA (Linux's may_expand_vm). An empty range adds `grow` to what is mapped. */
bool mm_may_expand(struct mm *mm, uint64_t start, uint64_t end, uint64_t grow, int prot,
                   unsigned flags);
/* A fault at `addr` in the gap just below a VMA_GROWSDOWN VMA: grows it down to cover `addr`
 * within RLIMIT_STACK, RLIMIT_AS and the guard gap (Linux's expand_stack). The grown VMA, or NULL
 * when the fault stays a SIGSEGV. */
struct vma *mm_grow_stack(struct mm *mm, uint64_t addr);

/* fault.c: with mm->lock held. Finds or creates the PMA for `addr` inside `v`. */
int mm_populate(struct mm *mm, struct vma *v, uint64_t addr, struct pma **out);
int mm_pma_map(struct mm *mm, struct pma *p, int prot);
/* Gives the PMA covering `addr` pages of its own for the window around `addr`, so a write there
 * changes no other mm; *p is updated to the PMA now covering `addr`. It may move PMAs (not
 * VMAs): the caller's PMA pointers are stale afterwards, its VMA pointers are not. With
 * `remap_prot` >= 0 the copy is mapped with it over the old pages' host mapping in one call;
 * with -1 that mapping is dropped. The old pages lose this mm's reference only after. */
int mm_cow_break(struct mm *mm, uint64_t addr, struct pma **p, int remap_prot);

#endif
