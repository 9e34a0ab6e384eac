/* tmpfs regular files: sparse page-granular data (pages allocated on write, holes read as zeros)
 * charged against the size limit, positioned I/O, truncation, fallocate, and mappables that read
 * the file's current data for private mappings. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <linux/falloc.h>

#include "sentry/fs/tmpfs/tmpfs_internal.h"
#include "sentry/memfile/memfile.h"
#include "sentry/mm/mm.h"

#define PAGE TMPFS_PAGE_SIZE
#define BLOCKS_PER_PAGE (PAGE / 512)

void tmpfs_regular_init(struct tmpfs_regular *reg)
{
    pthread_rwlock_init(&reg->data_lock, NULL);
    reg->pages = (struct page_tree){0};
    reg->npages = 0;
}

void tmpfs_regular_destroy(struct tmpfs_sb *tsb, struct tmpfs_regular *reg)
{
    uint64_t freed = page_tree_free_range(&reg->pages, 0, UINT64_MAX);
    tmpfs_pages_unreserve(tsb, freed);
    pthread_rwlock_destroy(&reg->data_lock);
}

static struct tmpfs_regular *reg_of(struct inode *inode)
{
    return &tmpfs_inode_of(inode)->reg;
}

/* Updates size (when growing to `end`, or always with `set_size`), blocks and times. data_lock
 * is held for writing. */
static void update_attrs(struct inode *inode, int64_t end, bool set_size, bool times)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    pthread_mutex_lock(&inode->lock);
    if (set_size || end > inode->size)
        inode->size = end;
    inode->blocks = (int64_t)reg_of(inode)->npages * BLOCKS_PER_PAGE;
    if (times)
        inode->mtime = inode->ctime = now;
    pthread_mutex_unlock(&inode->lock);
}

static int64_t current_size(struct inode *inode)
{
    pthread_mutex_lock(&inode->lock);
    int64_t size = inode->size;
    pthread_mutex_unlock(&inode->lock);
    return size;
}

/* Reads [off, off + len) clipped to the size; holes read as zeros. */
static ssize_t data_read(struct inode *inode, void *buf, size_t len, int64_t off)
{
    struct tmpfs_regular *reg = reg_of(inode);
    pthread_rwlock_rdlock(&reg->data_lock);
    int64_t size = current_size(inode);
    if (off >= size) {
        pthread_rwlock_unlock(&reg->data_lock);
        return 0;
    }
    if ((uint64_t)(size - off) < len)
        len = (size_t)(size - off);
    for (size_t done = 0; done < len;) {
        uint64_t pos = (uint64_t)off + done;
        size_t in_page = pos % PAGE;
        size_t chunk = PAGE - in_page < len - done ? PAGE - in_page : len - done;
        const char *page = page_tree_lookup(&reg->pages, pos / PAGE);
        if (page)
            memcpy((char *)buf + done, page + in_page, chunk);
        else
            memset((char *)buf + done, 0, chunk);
        done += chunk;
    }
    pthread_rwlock_unlock(&reg->data_lock);
    return (ssize_t)len;
}

/* The page at `index`, allocated (zeroed) and charged if absent. data_lock held for writing.
 * may_wait: the caller is a syscall that holds no mm lock, so a page past the memory limit may
 * wait for the OOM killer (tmpfs_page_alloc). */
static int page_get(struct inode *inode, uint64_t index, bool may_wait, char **out)
{
    struct tmpfs_regular *reg = reg_of(inode);
    char *page = page_tree_lookup(&reg->pages, index);
    if (page) {
        *out = page;
        return 0;
    }
    struct tmpfs_sb *tsb = tmpfs_inode_of(inode)->tsb;
    int err = tmpfs_pages_reserve(tsb, 1);
    if (err)
        return err;
    page = tmpfs_page_alloc(may_wait);
    err = page ? page_tree_insert(&reg->pages, index, page) : -ENOMEM;
    if (err) {
        if (page)
            tmpfs_page_free(page);
        tmpfs_pages_unreserve(tsb, 1);
        return err;
    }
    reg->npages++;
    *out = page;
    return 0;
}

static ssize_t data_write(struct inode *inode, const void *buf, size_t len, int64_t off)
{
    if (len == 0)
        return 0;
    /* generic_write_check_limits: nothing at or past the maximum size, a short write up to it. */
    if (off >= TMPFS_MAX_FILE_SIZE)
        return -EFBIG;
    if ((uint64_t)(TMPFS_MAX_FILE_SIZE - off) < len)
        len = (size_t)(TMPFS_MAX_FILE_SIZE - off);
    struct tmpfs_regular *reg = reg_of(inode);
    pthread_rwlock_wrlock(&reg->data_lock);
    size_t done = 0;
    int err = 0;
    while (done < len) {
        uint64_t pos = (uint64_t)off + done;
        size_t in_page = pos % PAGE;
        size_t chunk = PAGE - in_page < len - done ? PAGE - in_page : len - done;
        char *page;
        err = page_get(inode, pos / PAGE, true, &page);
        if (err)
            break;
        memcpy(page + in_page, (const char *)buf + done, chunk);
        done += chunk;
    }
    if (done)
        update_attrs(inode, off + (int64_t)done, false, true);
    pthread_rwlock_unlock(&reg->data_lock);
    return done ? (ssize_t)done : err;
}

/* Zeroes [from, to) within existing pages (the edges of a punched hole or a truncation). */
static void zero_range(struct tmpfs_regular *reg, uint64_t from, uint64_t to)
{
    while (from < to) {
        size_t in_page = from % PAGE;
        uint64_t chunk = PAGE - in_page < to - from ? PAGE - in_page : to - from;
        char *page = page_tree_lookup(&reg->pages, from / PAGE);
        if (page)
            memset(page + in_page, 0, chunk);
        from += chunk;
    }
}

/* Frees the pages wholly inside [from, to) and zeroes the partial ones at the edges. */
static void punch(struct inode *inode, uint64_t from, uint64_t to)
{
    struct tmpfs_regular *reg = reg_of(inode);
    uint64_t first = (from + PAGE - 1) / PAGE, end = to / PAGE; /* whole pages [first, end) */
    if (first < end) {
        zero_range(reg, from, first * PAGE);
        zero_range(reg, end * PAGE, to);
        uint64_t freed = page_tree_free_range(&reg->pages, first, end - 1);
        reg->npages -= freed;
        tmpfs_pages_unreserve(tmpfs_inode_of(inode)->tsb, freed);
    } else {
        zero_range(reg, from, to);
    }
}

int tmpfs_regular_truncate(struct inode *inode, int64_t size)
{
    struct tmpfs_regular *reg = reg_of(inode);
    pthread_rwlock_wrlock(&reg->data_lock);
    int64_t old = current_size(inode);
    if (size < old)
        punch(inode, (uint64_t)size, ((uint64_t)old + PAGE - 1) / PAGE * PAGE);
    /* shmem_setattr: times change only when the size does. */
    update_attrs(inode, size, true, size != old);
    pthread_rwlock_unlock(&reg->data_lock);
    return 0;
}

/* ---- open files ---- */

struct tmpfs_file {
    struct file base;
};

static ssize_t tmpfs_pread(struct file *f, void *buf, size_t len, int64_t off)
{
    return data_read(f->inode, buf, len, off);
}

static ssize_t tmpfs_pwrite(struct file *f, const void *buf, size_t len, int64_t off)
{
    return data_write(f->inode, buf, len, off);
}

static int tmpfs_fsync(struct file *f, bool datasync)
{
    return 0;
}

static int tmpfs_fallocate(struct file *f, int mode, int64_t off, int64_t len)
{
    /* vfs_fallocate's checks in its order, then shmem_fallocate's. */
    if (off < 0 || len <= 0)
        return -EINVAL;
    if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
        return -EOPNOTSUPP;
    if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE))
        return -EOPNOTSUPP;
    if ((atomic_load_explicit(&f->status_flags, memory_order_relaxed) & O_ACCMODE) == O_RDONLY)
        return -EBADF;
    int64_t end;
    if (__builtin_add_overflow(off, len, &end) || end > TMPFS_MAX_FILE_SIZE)
        return -EFBIG;
    struct inode *inode = f->inode;
    struct tmpfs_regular *reg = reg_of(inode);
    pthread_rwlock_wrlock(&reg->data_lock);
    int err = 0;
    if (mode & FALLOC_FL_PUNCH_HOLE) {
        int64_t size = current_size(inode);
        if (off < size)
            punch(inode, (uint64_t)off, (uint64_t)(end < size ? end : size));
        update_attrs(inode, size, false, true);
        goto out_unlock;
    }
    /* Charge every missing page first, so ENOSPC leaves the file as it was. */
    uint64_t first = (uint64_t)off / PAGE, last = ((uint64_t)end - 1) / PAGE, missing = 0;
    for (uint64_t i = first; i <= last; i++)
        if (!page_tree_lookup(&reg->pages, i))
            missing++;
    struct tmpfs_sb *tsb = tmpfs_inode_of(inode)->tsb;
    err = tmpfs_pages_reserve(tsb, missing);
    if (err)
        goto out_unlock;
    for (uint64_t i = first; i <= last && !err; i++) {
        if (page_tree_lookup(&reg->pages, i))
            continue;
        char *page = tmpfs_page_alloc(true);
        err = page ? page_tree_insert(&reg->pages, i, page) : -ENOMEM;
        if (err) {
            if (page)
                tmpfs_page_free(page);
            break;
        }
        reg->npages++;
        missing--;
    }
    tmpfs_pages_unreserve(tsb, missing); /* what was charged but not allocated */
    if (!err)
        update_attrs(inode, (mode & FALLOC_FL_KEEP_SIZE) ? 0 : end, false, true);
out_unlock:
    pthread_rwlock_unlock(&reg->data_lock);
    return err;
}

/* ---- mappables: private mappings read the file's data when the mm faults ---- */

struct tmpfs_mappable {
    struct mappable base;
    atomic_int refs;     /* atomic: VMAs of any address space take and drop references */
    struct inode *inode; /* a reference */
};

static ssize_t tmpfs_mappable_read(struct mappable *m, void *buf, size_t len, uint64_t off)
{
    if (off > (uint64_t)TMPFS_MAX_FILE_SIZE)
        return 0;
    return data_read(((struct tmpfs_mappable *)m)->inode, buf, len, (int64_t)off);
}

static void tmpfs_mappable_get(struct mappable *m)
{
    /* Relaxed: taking a reference needs no ordering, only the final put does. */
    atomic_fetch_add_explicit(&((struct tmpfs_mappable *)m)->refs, 1, memory_order_relaxed);
}

static void tmpfs_mappable_put(struct mappable *m)
{
    struct tmpfs_mappable *tm = (struct tmpfs_mappable *)m;
    /* Acq-rel: the last put must see every other holder's use before freeing. */
    if (atomic_fetch_sub_explicit(&tm->refs, 1, memory_order_acq_rel) != 1)
        return;
    inode_put(tm->inode);
    free(tm);
}

/* Shared mappings map the file's own page (allocated if it was a hole) with a reference of the
 * mapping's: writes through it are the file's data, as read(2) and write(2) see it. */
static int tmpfs_mappable_translate(struct mappable *m, uint64_t off, uint64_t *mf_off)
{
    struct inode *inode = ((struct tmpfs_mappable *)m)->inode;
    struct tmpfs_regular *reg = reg_of(inode);
    if (!tmpfs_memfile() || off >= (uint64_t)TMPFS_MAX_FILE_SIZE)
        return -ENODEV;
    pthread_rwlock_wrlock(&reg->data_lock);
    char *page;
    /* A fault: the mm lock is held, and the OOM killer reads mms. The fault path itself waits
     * for it, once the lock is dropped (task_handle_fault). */
    int err = page_get(inode, off / PAGE, false, &page);
    if (!err) {
        int64_t o = tmpfs_page_mf_off(page);
        if (o < 0) {
            err = -ENODEV;
        } else {
            memfile_incref(tmpfs_memfile(), (uint64_t)o, PAGE);
            *mf_off = (uint64_t)o;
        }
    }
    pthread_rwlock_unlock(&reg->data_lock);
    return err;
}

static const struct mappable_ops tmpfs_mappable_ops = {
    .read = tmpfs_mappable_read,
    .get = tmpfs_mappable_get,
    .put = tmpfs_mappable_put,
    .translate = tmpfs_mappable_translate,
};

static int tmpfs_mmap(struct file *f, struct mappable **out)
{
    struct tmpfs_mappable *tm = calloc(1, sizeof(*tm));
    if (!tm)
        return -ENOMEM;
    tm->base.ops = &tmpfs_mappable_ops;
    atomic_init(&tm->refs, 1);
    inode_get(f->inode);
    tm->inode = f->inode;
    *out = &tm->base;
    return 0;
}

static void tmpfs_file_release(struct file *f)
{
    file_release_common(f);
    free(f);
}

static const struct file_ops tmpfs_file_ops = {
    .pread = tmpfs_pread,
    .pwrite = tmpfs_pwrite,
    .mmap = tmpfs_mmap,
    .fsync = tmpfs_fsync,
    .fallocate = tmpfs_fallocate,
    .release = tmpfs_file_release,
};

int tmpfs_regular_open(struct inode *inode, int flags, struct file **out)
{
    struct tmpfs_file *tf = calloc(1, sizeof(*tf));
    if (!tf)
        return -ENOMEM;
    file_init_inode(&tf->base, &tmpfs_file_ops, flags, inode);
    *out = &tf->base;
    return 0;
}

/* ---- data pages ---- */

static struct memfile *_Atomic page_memfile;

void tmpfs_set_memfile(struct memfile *mf)
{
    atomic_store_explicit(&page_memfile, mf, memory_order_release);
}

struct memfile *tmpfs_memfile(void)
{
    return atomic_load_explicit(&page_memfile, memory_order_acquire);
}

void *tmpfs_page_alloc(bool may_wait)
{
    struct memfile *mf = tmpfs_memfile();
    if (!mf)
        return calloc(1, PAGE);
    uint64_t off;
    if ((may_wait ? memfile_alloc_wait(mf, PAGE, &off) : memfile_alloc(mf, PAGE, &off)) != 0)
        return NULL;
    return (char *)memfile_base(mf) + off; /* zero-filled: free memory-file pages are holes */
}

int64_t tmpfs_page_mf_off(const void *page)
{
    struct memfile *mf = tmpfs_memfile();
    if (!mf)
        return -1;
    const char *base = memfile_base(mf);
    const char *p = page;
    if (p < base || p >= base + memfile_size(mf))
        return -1;
    return p - base;
}

void tmpfs_page_free(void *page)
{
    int64_t off = tmpfs_page_mf_off(page);
    if (off < 0)
        free(page);
    else
        memfile_decref(tmpfs_memfile(), (uint64_t)off, PAGE);
}
