/* Open file descriptions and the fd table. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>

#include "sentry/vfs/vfs.h"

void file_init(struct file *f, const struct file_ops *ops, int status_flags)
{
    memset(f, 0, sizeof(*f));
    f->ops = ops;
    atomic_init(&f->refs, 1);
    atomic_init(&f->status_flags, status_flags);
    pthread_mutex_init(&f->pos_lock, NULL);
}

void file_init_inode(struct file *f, const struct file_ops *ops, int status_flags,
                     struct inode *inode)
{
    file_init(f, ops, status_flags);
    inode_get(inode);
    f->inode = inode;
}

void file_release_common(struct file *f)
{
    vfs_path_put(&f->path);
    inode_put(f->inode);
    f->inode = NULL;
    dir_list_free(&f->dir);
    pthread_mutex_destroy(&f->pos_lock);
}

void file_get(struct file *f)
{
    /* Relaxed: taking a reference needs no ordering, only the final put does. */
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
}

static void (*_Atomic release_hook)(struct file *f);

void vfs_set_file_release_hook(void (*fn)(struct file *f))
{
    atomic_store_explicit(&release_hook, fn, memory_order_release);
}

void file_put(struct file *f)
{
    /* Acq-rel: the last put must see every other holder's writes before release. */
    if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) == 1) {
        /* __fput: IN_CLOSE_WRITE for a file opened for writing, before it lets go of its path
         * (which may be the last reference, and IN_DELETE_SELF). */
        int acc = atomic_load_explicit(&f->status_flags, memory_order_relaxed) & O_ACCMODE;
        vfs_notify_file(f, acc == O_RDONLY ? IN_CLOSE_NOWRITE : IN_CLOSE_WRITE);
        void (*hook)(struct file *) = atomic_load_explicit(&release_hook, memory_order_acquire);
        if (hook)
            hook(f);
        f->ops->release(f);
    }
}

int fdtable_init(struct fdtable *t)
{
    memset(t, 0, sizeof(*t));
    atomic_init(&t->refs, 1);
    pthread_mutex_init(&t->lock, NULL);
    return 0;
}

struct fdtable *fdtable_alloc(void)
{
    struct fdtable *t = malloc(sizeof(*t));
    if (t)
        fdtable_init(t);
    return t;
}

void fdtable_get_ref(struct fdtable *t)
{
    atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void fdtable_put_ref(struct fdtable *t)
{
    if (t && atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1) {
        fdtable_destroy(t);
        free(t);
    }
}

static int fdtable_grow(struct fdtable *t, int fd)
{
    if (fd < t->size)
        return 0;
    int size = t->size ? t->size : 64;
    while (size <= fd)
        size *= 2;
    struct file **files = realloc(t->files, (size_t)size * sizeof(*files));
    if (!files)
        return -ENOMEM;
    t->files = files;
    bool *cloexec = realloc(t->cloexec, (size_t)size * sizeof(*cloexec));
    if (!cloexec)
        return -ENOMEM;
    t->cloexec = cloexec;
    memset(files + t->size, 0, (size_t)(size - t->size) * sizeof(*files));
    memset(cloexec + t->size, 0, (size_t)(size - t->size) * sizeof(*cloexec));
    t->size = size;
    return 0;
}

int fdtable_copy(struct fdtable *src, struct fdtable *dst)
{
    fdtable_init(dst);
    pthread_mutex_lock(&src->lock);
    int err = src->size ? fdtable_grow(dst, src->size - 1) : 0;
    if (!err) {
        for (int fd = 0; fd < src->size; fd++) {
            if (src->files[fd]) {
                file_get(src->files[fd]);
                dst->files[fd] = src->files[fd];
                dst->cloexec[fd] = src->cloexec[fd];
            }
        }
    }
    pthread_mutex_unlock(&src->lock);
    return err;
}

void fdtable_destroy(struct fdtable *t)
{
    for (int fd = 0; fd < t->size; fd++) {
        if (t->files[fd])
            file_put(t->files[fd]);
    }
    free(t->files);
    free(t->cloexec);
    pthread_mutex_destroy(&t->lock);
}

int fdtable_install_at(struct fdtable *t, int fd, struct file *f, bool cloexec)
{
    if (fd < 0 || fd >= FDTABLE_MAX)
        return -EBADF;
    pthread_mutex_lock(&t->lock);
    int err = fdtable_grow(t, fd);
    struct file *old = NULL;
    if (!err) {
        old = t->files[fd];
        file_get(f);
        t->files[fd] = f;
        t->cloexec[fd] = cloexec;
    }
    pthread_mutex_unlock(&t->lock);
    if (old)
        file_put(old);
    return err ? err : fd;
}

int fdtable_install_lowest(struct fdtable *t, int min_fd, int limit, struct file *f, bool cloexec)
{
    if (min_fd < 0 || limit > FDTABLE_MAX)
        return -EINVAL;
    if (min_fd >= limit)
        return -EINVAL;
    pthread_mutex_lock(&t->lock);
    int fd = min_fd;
    while (fd < t->size && t->files[fd])
        fd++;
    int err = fd >= limit ? -EMFILE : fdtable_grow(t, fd);
    if (!err) {
        file_get(f);
        t->files[fd] = f;
        t->cloexec[fd] = cloexec;
    }
    pthread_mutex_unlock(&t->lock);
    return err ? err : fd;
}

int fdtable_get_cloexec(struct fdtable *t, int fd)
{
    pthread_mutex_lock(&t->lock);
    int ret = fd >= 0 && fd < t->size && t->files[fd] ? t->cloexec[fd] : -EBADF;
    pthread_mutex_unlock(&t->lock);
    return ret;
}

int fdtable_set_cloexec(struct fdtable *t, int fd, bool cloexec)
{
    int ret = -EBADF;

    pthread_mutex_lock(&t->lock);
    if (fd >= 0 && fd < t->size && t->files[fd]) {
        t->cloexec[fd] = cloexec;
        ret = 0;
    }
    pthread_mutex_unlock(&t->lock);
    return ret;
}

struct file *fdtable_get(struct fdtable *t, int fd)
{
    struct file *f = NULL;

    pthread_mutex_lock(&t->lock);
    if (fd >= 0 && fd < t->size && t->files[fd]) {
        f = t->files[fd];
        file_get(f);
    }
    pthread_mutex_unlock(&t->lock);
    return f;
}

void fdtable_close_on_exec(struct fdtable *t)
{
    for (;;) {
        struct file *f = NULL;
        pthread_mutex_lock(&t->lock);
        for (int fd = 0; fd < t->size; fd++) {
            if (t->files[fd] && t->cloexec[fd]) {
                f = t->files[fd];
                t->files[fd] = NULL;
                t->cloexec[fd] = false;
                break;
            }
        }
        pthread_mutex_unlock(&t->lock);
        if (!f)
            return;
        /* Put outside the lock: a release may block (a pipe waking its peer, the gofer). */
        file_put(f);
    }
}

int fdtable_size(struct fdtable *t)
{
    pthread_mutex_lock(&t->lock);
    int n = t->size;
    while (n > 0 && !t->files[n - 1])
        n--;
    pthread_mutex_unlock(&t->lock);
    return n;
}

int fdtable_close(struct fdtable *t, int fd)
{
    struct file *f = NULL;

    pthread_mutex_lock(&t->lock);
    if (fd >= 0 && fd < t->size) {
        f = t->files[fd];
        t->files[fd] = NULL;
    }
    pthread_mutex_unlock(&t->lock);
    if (!f)
        return -EBADF;
    file_put(f);
    return 0;
}
