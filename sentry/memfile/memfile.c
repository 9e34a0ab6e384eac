/* The memory file: creating and mapping the memfd, and per-page reference counts on top of the
 * free-extent allocator in alloc.c. Pages whose count reaches zero are hole-punched. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sentry/memfile/memfile_internal.h"

_Noreturn void memfile_bug(const char *cond, const char *file, int line, const char *func)
{
    fprintf(stderr, "runsc: memfile bug: %s at %s:%d in %s\n", cond, file, line, func);
    abort();
}

int memfile_create(uint64_t size, struct memfile **out)
{
    int err;

    if (size == 0 || size % MEMFILE_PAGE_SIZE != 0 || size > (uint64_t)INT64_MAX)
        return -EINVAL;

    struct memfile *mf = calloc(1, sizeof(*mf));
    if (!mf)
        return -ENOMEM;
    mf->size = size;
    mf->nchunks = (size + MEMFILE_CHUNK_SIZE - 1) >> MEMFILE_CHUNK_SHIFT;

    /* One pointer per 2 MiB (256 KiB for 64 GiB); calloc hands back untouched zero pages at this
     * size, so this costs address space, not memory, until chunks are used. */
    mf->chunks = calloc(mf->nchunks, sizeof(*mf->chunks));
    if (!mf->chunks) {
        err = -ENOMEM;
        goto out_mf;
    }

    /* Stubs are forked from the sentry and inherit the fd; they never exec, and nothing the
     * sentry might exec should get guest memory, hence MFD_CLOEXEC. */
    mf->fd = memfd_create("runsc-memory", MFD_CLOEXEC);
    if (mf->fd < 0) {
        err = -errno;
        goto out_chunks;
    }
    /* Sparse: ftruncate allocates nothing, and MAP_NORESERVE keeps the mapping from being
     * charged against overcommit up front. */
    if (ftruncate(mf->fd, (off_t)size) != 0) {
        err = -errno;
        goto out_fd;
    }
    mf->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, mf->fd, 0);
    if (mf->base == MAP_FAILED) {
        err = -errno;
        goto out_fd;
    }
    err = -pthread_mutex_init(&mf->lock, NULL);
    if (err)
        goto out_unmap;

    *out = mf;
    return 0;

out_unmap:
    munmap(mf->base, size);
out_fd:
    close(mf->fd);
out_chunks:
    free(mf->chunks);
out_mf:
    free(mf);
    return err;
}

void memfile_destroy(struct memfile *mf)
{
    if (!mf)
        return;
    munmap(mf->base, mf->size);
    close(mf->fd);
    for (size_t i = 0; i < mf->nchunks; i++)
        free(mf->chunks[i]);
    free(mf->chunks);
    memfile_extents_destroy(mf);
    pthread_mutex_destroy(&mf->lock);
    free(mf);
}

int memfile_fd(const struct memfile *mf)
{
    return mf->fd;
}

void *memfile_base(const struct memfile *mf)
{
    return mf->base;
}

uint64_t memfile_size(const struct memfile *mf)
{
    return mf->size;
}

/* The readers below take the lock through a const pointer: they change nothing the caller can
 * observe, and the lock is part of the object, not of its value. */
static pthread_mutex_t *memfile_lock(const struct memfile *mf)
{
    return (pthread_mutex_t *)&mf->lock;
}

static size_t chunk_index(uint64_t off)
{
    return off >> MEMFILE_CHUNK_SHIFT;
}

static size_t page_in_chunk(uint64_t off)
{
    return (off >> MEMFILE_PAGE_SHIFT) & (MEMFILE_CHUNK_PAGES - 1);
}

/* Frees the refcount chunks of [off, off+len) that hold no live page. */
static void chunks_put_unused(struct memfile *mf, uint64_t off, uint64_t len)
{
    for (size_t i = chunk_index(off); i <= chunk_index(off + len - 1); i++) {
        if (mf->chunks[i] && mf->chunks[i]->live == 0) {
            free(mf->chunks[i]);
            mf->chunks[i] = NULL;
        }
    }
}

/* Makes sure every refcount chunk of [off, off+len) exists. Returns 0 or -ENOMEM. */
static int chunks_get(struct memfile *mf, uint64_t off, uint64_t len)
{
    for (size_t i = chunk_index(off); i <= chunk_index(off + len - 1); i++) {
        if (mf->chunks[i])
            continue;
        mf->chunks[i] = calloc(1, sizeof(*mf->chunks[i]));
        if (!mf->chunks[i]) {
            chunks_put_unused(mf, off, len);
            return -ENOMEM;
        }
    }
    return 0;
}

int memfile_alloc(struct memfile *mf, uint64_t len, uint64_t *off)
{
    struct memfile_placement at;
    int err;

    if (len == 0 || len % MEMFILE_PAGE_SIZE != 0)
        return -EINVAL;

    pthread_mutex_lock(&mf->lock);
    /* The limit counts pages as the memory cgroup counts charges: whatever is allocated, shared
     * or not, once. */
    if (mf->limit && (len > mf->limit || mf->used > mf->limit - len)) {
        err = -ENOMEM;
        goto out_unlock;
    }
    /* Everything that can fail happens before the free set changes. */
    err = memfile_extents_find(mf, len, &at);
    if (err)
        goto out_unlock;
    err = chunks_get(mf, at.off, len);
    if (err)
        goto out_unlock;
    err = memfile_extents_reserve(mf);
    if (err) {
        chunks_put_unused(mf, at.off, len);
        goto out_unlock;
    }

    memfile_extents_take(mf, &at, len);
    for (uint64_t p = at.off; p < at.off + len; p += MEMFILE_PAGE_SIZE) {
        struct memfile_refchunk *chunk = mf->chunks[chunk_index(p)];
        MEMFILE_BUG_ON(chunk->refs[page_in_chunk(p)] != 0);
        chunk->refs[page_in_chunk(p)] = 1;
        chunk->live++;
    }
    mf->used += len;
    /* Free space is always hole-punched (or never written), so the run reads as zeroes. */
    *off = at.off;

out_unlock:
    pthread_mutex_unlock(&mf->lock);
    return err;
}

/* Callers own their offsets; a range outside the file or off page boundaries is a sentry bug. */
static void check_range(const struct memfile *mf, uint64_t off, uint64_t len)
{
    MEMFILE_BUG_ON(off % MEMFILE_PAGE_SIZE != 0 || len % MEMFILE_PAGE_SIZE != 0);
    MEMFILE_BUG_ON(len > mf->size || off > mf->size - len);
}

/* The count of an allocated page; a page without a chunk or with a zero count is not allocated,
 * and touching its count is a sentry bug. */
static uint32_t *allocated_ref(struct memfile *mf, uint64_t off)
{
    struct memfile_refchunk *chunk = mf->chunks[chunk_index(off)];
    MEMFILE_BUG_ON(chunk == NULL);
    uint32_t *ref = &chunk->refs[page_in_chunk(off)];
    MEMFILE_BUG_ON(*ref == 0);
    return ref;
}

void memfile_incref(struct memfile *mf, uint64_t off, uint64_t len)
{
    check_range(mf, off, len);
    pthread_mutex_lock(&mf->lock);
    for (uint64_t p = off; p < off + len; p += MEMFILE_PAGE_SIZE) {
        uint32_t *ref = allocated_ref(mf, p);
        MEMFILE_BUG_ON(*ref == UINT32_MAX);
        ++*ref;
    }
    pthread_mutex_unlock(&mf->lock);
}

/* Returns the freed run [off, off+len) to the host and to the free set. */
static void free_run(struct memfile *mf, uint64_t off, uint64_t len)
{
    /* Punched under the lock: once released the run can be handed out again, and it must read
     * zero by then. A punch on our own memfd does not wait on the guest. If the host refuses,
     * zero it ourselves: the zero-fill promise matters, the host memory is only a resource. */
    if (fallocate(mf->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) != 0)
        memset((char *)mf->base + off, 0, len);
    mf->used -= len;

    /* decref cannot fail. Without sentry memory to record the run, it is left out of the free
     * set: the host memory is returned, the file range is lost to the allocator, and its zero
     * refcounts still catch any further use. */
    if (memfile_extents_reserve(mf) != 0)
        return;
    memfile_extents_release(mf, off, off + len);
}

void memfile_decref(struct memfile *mf, uint64_t off, uint64_t len)
{
    uint64_t run_off = 0, run_len = 0;

    check_range(mf, off, len);
    pthread_mutex_lock(&mf->lock);
    for (uint64_t p = off; p < off + len; p += MEMFILE_PAGE_SIZE) {
        uint32_t *ref = allocated_ref(mf, p);
        if (--*ref != 0) {
            if (run_len)
                free_run(mf, run_off, run_len);
            run_len = 0;
            continue;
        }
        if (run_len == 0)
            run_off = p;
        run_len += MEMFILE_PAGE_SIZE;

        size_t i = chunk_index(p);
        if (--mf->chunks[i]->live == 0) {
            free(mf->chunks[i]);
            mf->chunks[i] = NULL;
        }
    }
    if (run_len)
        free_run(mf, run_off, run_len);
    pthread_mutex_unlock(&mf->lock);
}

uint32_t memfile_refcount(const struct memfile *mf, uint64_t off)
{
    MEMFILE_BUG_ON(off >= mf->size);
    pthread_mutex_lock(memfile_lock(mf));
    const struct memfile_refchunk *chunk = mf->chunks[chunk_index(off)];
    uint32_t ref = chunk ? chunk->refs[page_in_chunk(off)] : 0;
    pthread_mutex_unlock(memfile_lock(mf));
    return ref;
}

uint64_t memfile_used(const struct memfile *mf)
{
    pthread_mutex_lock(memfile_lock(mf));
    uint64_t used = mf->used;
    pthread_mutex_unlock(memfile_lock(mf));
    return used;
}

void memfile_set_limit(struct memfile *mf, uint64_t limit)
{
    pthread_mutex_lock(&mf->lock);
    mf->limit = limit;
    pthread_mutex_unlock(&mf->lock);
}

uint64_t memfile_limit(const struct memfile *mf)
{
    pthread_mutex_lock(memfile_lock(mf));
    uint64_t limit = mf->limit;
    pthread_mutex_unlock(memfile_lock(mf));
    return limit;
}

void memfile_set_oom_hook(struct memfile *mf, memfile_oom_fn fn, void *arg)
{
    pthread_mutex_lock(&mf->lock);
    mf->oom_hook = fn;
    mf->oom_arg = arg;
    pthread_mutex_unlock(&mf->lock);
}

int memfile_oom_wait(struct memfile *mf)
{
    pthread_mutex_lock(&mf->lock);
    memfile_oom_fn fn = mf->oom_hook;
    void *arg = mf->oom_arg;
    pthread_mutex_unlock(&mf->lock);
    /* The hook bounds its own wait and says -ENOMEM once killing cannot help. */
    return fn ? fn(arg) : -ENOMEM;
}

int memfile_alloc_wait(struct memfile *mf, uint64_t len, uint64_t *off)
{
    int err;

    while ((err = memfile_alloc(mf, len, off)) == -ENOMEM) {
        if ((err = memfile_oom_wait(mf)) != 0)
            break;
    }
    return err;
}
