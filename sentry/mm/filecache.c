/* Page caches for files that never change: their data kept in memory-file pages, one aligned
 * window at a time, so every private mapping of the file maps the same pages copy-on-write
 * instead of reading the file again (exec of the same binary, shared libraries). */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "sentry/memfile/memfile.h"
#include "sentry/mm/mm_internal.h"

/* Bytes held by the windows of all caches. Relaxed: a bound, checked loosely (two fills racing
 * past the cap by a window each is harmless), and no other memory is published through it. */
static _Atomic uint64_t cache_bytes;

uint64_t mm_file_cache_bytes(void)
{
    return atomic_load_explicit(&cache_bytes, memory_order_relaxed);
}

void mm_file_cache_init(struct mm_file_cache *c)
{
    pthread_mutex_init(&c->lock, NULL);
    c->mf = NULL;
    c->windows = NULL;
    c->nwindows = 0;
}

void mm_file_cache_release(struct mm_file_cache *c)
{
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nwindows; i++) {
        if (!c->windows[i])
            continue;
        memfile_decref(c->mf, c->windows[i] - 1, MM_FILE_CACHE_WINDOW);
        atomic_fetch_sub_explicit(&cache_bytes, MM_FILE_CACHE_WINDOW, memory_order_relaxed);
    }
    free(c->windows);
    c->windows = NULL;
    c->nwindows = 0;
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_destroy(&c->lock);
}

/* Reads the window at file offset `off` into the pages at `dst`; past end of file stays zero. */
static int window_fill(struct mappable *m, char *dst, uint64_t off)
{
    uint64_t len = MM_FILE_CACHE_WINDOW;
    while (len > 0) {
        ssize_t n = m->ops->read(m, dst, len, off);
        if (n < 0)
            return (int)n;
        if (n == 0)
            break;
        dst += n;
        off += (uint64_t)n;
        len -= (uint64_t)n;
    }
    return 0;
}

/* With c->lock held: the memory-file offset of window `idx`, filling it first if needed. */
static int window_get(struct mm_file_cache *c, struct mappable *m, struct memfile *mf, size_t idx,
                      uint64_t *out)
{
    if (idx < c->nwindows && c->windows[idx]) {
        *out = c->windows[idx] - 1;
        return 0;
    }
    if (memfile_limit(mf))
        return -EOPNOTSUPP; /* cache pages would count against the container's limit */
    if (mm_file_cache_bytes() + MM_FILE_CACHE_WINDOW > MM_FILE_CACHE_MAX)
        return -EOPNOTSUPP;
    if (idx >= c->nwindows) {
        size_t n = idx + 1 > c->nwindows * 2 ? idx + 1 : c->nwindows * 2;
        uint64_t *w = realloc(c->windows, n * sizeof(*w));
        if (!w)
            return -ENOMEM;
        for (size_t i = c->nwindows; i < n; i++)
            w[i] = 0;
        c->windows = w;
        c->nwindows = n;
    }
    uint64_t mf_off;
    if (memfile_alloc(mf, MM_FILE_CACHE_WINDOW, &mf_off) != 0)
        return -ENOMEM;
    int err =
        window_fill(m, (char *)memfile_base(mf) + mf_off, (uint64_t)idx * MM_FILE_CACHE_WINDOW);
    if (err) {
        memfile_decref(mf, mf_off, MM_FILE_CACHE_WINDOW);
        return err;
    }
    c->mf = mf;
    c->windows[idx] = mf_off + 1;
    atomic_fetch_add_explicit(&cache_bytes, MM_FILE_CACHE_WINDOW, memory_order_relaxed);
    *out = mf_off;
    return 0;
}

int mm_file_cache_range(struct mm_file_cache *c, struct mappable *m, struct memfile *mf,
                        uint64_t off, uint64_t len, uint64_t *mf_off)
{
    uint64_t in = off & (MM_FILE_CACHE_WINDOW - 1);
    if ((off | len) & (PAGE_SIZE_MM - 1) || len == 0 || len > MM_FILE_CACHE_WINDOW - in)
        return -EINVAL;
    uint64_t idx = off / MM_FILE_CACHE_WINDOW;
    if (idx >= SIZE_MAX / sizeof(uint64_t) / 2)
        return -EINVAL;
    pthread_mutex_lock(&c->lock);
    int err = 0;
    if (c->mf && c->mf != mf) {
        err = -EOPNOTSUPP; /* one memory file per sandbox: never happens outside tests */
        goto out;
    }
    uint64_t base;
    if ((err = window_get(c, m, mf, (size_t)idx, &base)) != 0)
        goto out;
    memfile_incref(mf, base + in, len);
    *mf_off = base + in;
out:
    pthread_mutex_unlock(&c->lock);
    return err;
}
