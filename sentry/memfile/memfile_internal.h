/* Private to sentry/memfile: the fields of struct memfile and the free-extent set (alloc.c) that
 * memfile.c builds the page allocator on. */
#ifndef RUNSC_SENTRY_MEMFILE_MEMFILE_INTERNAL_H
#define RUNSC_SENTRY_MEMFILE_MEMFILE_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "sentry/memfile/memfile.h"

#define MEMFILE_PAGE_SHIFT 12
/* Reference counts live in one chunk per 2 MiB of file, allocated when the first page in it is
 * allocated and freed when its last page is freed, so a huge sparse memfile costs nothing until
 * it is used. 2 MiB is also the huge-page size that aligned allocations aim for. */
#define MEMFILE_CHUNK_SHIFT 21
#define MEMFILE_CHUNK_SIZE (1UL << MEMFILE_CHUNK_SHIFT)
#define MEMFILE_CHUNK_PAGES (MEMFILE_CHUNK_SIZE / MEMFILE_PAGE_SIZE)

/* A free range [start, end) of the file, page-aligned. */
struct memfile_extent {
    uint64_t start;
    uint64_t end;
};

struct memfile_refchunk {
    uint32_t live;                      /* pages of this chunk with a non-zero count */
    uint32_t refs[MEMFILE_CHUNK_PAGES]; /* per-page reference counts */
};

/*
 * Free space is the extents in `free` plus the tail [bump, size). Invariants (under lock):
 * `free` is sorted by start, its extents are non-empty, disjoint and never adjacent (coalesced),
 * and every extent ends strictly below `bump` (a free run reaching `bump` lowers `bump` instead).
 * All free space is hole-punched. This is the state a checkpoint saves (DESIGN.md §9): the free
 * extents, bump, and the refcount chunks; the file's contents are the populated ranges.
 */
struct memfile {
    int fd;         /* immutable after create; owned */
    void *base;     /* immutable after create; the sentry's mapping of the whole file */
    uint64_t size;  /* immutable after create */
    size_t nchunks; /* immutable after create: size / MEMFILE_CHUNK_SIZE, rounded up */

    /* `lock` protects every field below. It is a leaf: nothing is called while it is held but
     * libc allocation and the host's fallocate on our own memfd. */
    pthread_mutex_t lock;
    struct memfile_extent *free;      /* free extents, see the invariants above */
    size_t nfree;                     /* extents in use in `free` */
    size_t free_cap;                  /* extents allocated in `free` */
    uint64_t bump;                    /* [bump, size) is free */
    struct memfile_refchunk **chunks; /* nchunks slots; NULL when every page of it is free */
    uint64_t used;                    /* bytes in pages with a non-zero count */
    uint64_t limit;                   /* allocations keep used <= limit; 0: none */
    memfile_oom_fn oom_hook;          /* memfile_alloc_wait's hook, NULL: none */
    void *oom_arg;
};

/* Where a request of some length fits: at `off`, carved from free[index], or from the tail when
 * index == MEMFILE_FROM_BUMP. */
#define MEMFILE_FROM_BUMP SIZE_MAX
struct memfile_placement {
    uint64_t off;
    size_t index;
};

/* All under mf->lock. find chooses a placement without changing anything (-ENOMEM if none).
 * take and release change the set and need room for one more extent, which reserve provides
 * (0 or -ENOMEM). */
int memfile_extents_find(const struct memfile *mf, uint64_t len, struct memfile_placement *out);
int memfile_extents_reserve(struct memfile *mf);
void memfile_extents_take(struct memfile *mf, const struct memfile_placement *at, uint64_t len);
void memfile_extents_release(struct memfile *mf, uint64_t start, uint64_t end);
void memfile_extents_destroy(struct memfile *mf);

/* A broken invariant the sentry owns (a refcount over- or underflow, a range that is not
 * allocated): print and abort. Unlike assert() this stays on under NDEBUG, which the default
 * RelWithDebInfo build defines; silently wrapping a refcount would hand one guest's memory to
 * another. */
#define MEMFILE_BUG_ON(cond)                                                                       \
    do {                                                                                           \
        if (__builtin_expect(!!(cond), 0))                                                         \
            memfile_bug(#cond, __FILE__, __LINE__, __func__);                                      \
    } while (0)
_Noreturn void memfile_bug(const char *cond, const char *file, int line, const char *func);

#endif
