/* I/O on open file descriptions: streams read and write through their ops, positioned files at
 * the file position (O_APPEND at the end), lseek, getdents over a listing taken at position 0. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <sys/inotify.h>

#include "sentry/vfs/vfs.h"

bool file_readable(const struct file *f)
{
    int acc = atomic_load_explicit(&f->status_flags, memory_order_relaxed) & O_ACCMODE;
    return (f->ops->read || f->ops->pread) && acc != O_WRONLY && !(acc & O_PATH);
}

bool file_writable(const struct file *f)
{
    int flags = atomic_load_explicit(&f->status_flags, memory_order_relaxed);
    return (f->ops->write || f->ops->pwrite) && (flags & O_ACCMODE) != O_RDONLY &&
           !(flags & O_PATH);
}

int64_t inode_size(struct inode *inode)
{
    if (inode->ops->getattr)
        inode->ops->getattr(inode);
    pthread_mutex_lock(&inode->lock);
    int64_t size = inode->size;
    pthread_mutex_unlock(&inode->lock);
    return size;
}

/* vfs_read/vfs_write: IN_ACCESS / IN_MODIFY when some bytes moved. */
static ssize_t notify_io(struct file *f, ssize_t n, uint32_t mask)
{
    if (n > 0)
        vfs_notify_file(f, mask);
    return n;
}

ssize_t file_read(struct file *f, struct task *t, void *buf, size_t len)
{
    if (f->ops->read)
        return notify_io(f, f->ops->read(f, t, buf, len), IN_ACCESS);
    if (!f->ops->pread)
        return -EINVAL;
    pthread_mutex_lock(&f->pos_lock);
    ssize_t n = f->ops->pread(f, buf, len, f->pos);
    if (n > 0)
        f->pos += n;
    pthread_mutex_unlock(&f->pos_lock);
    return notify_io(f, n, IN_ACCESS);
}

ssize_t file_write(struct file *f, struct task *t, const void *buf, size_t len)
{
    if (f->ops->write)
        return notify_io(f, f->ops->write(f, t, buf, len), IN_MODIFY);
    if (!f->ops->pwrite)
        return -EINVAL;
    pthread_mutex_lock(&f->pos_lock);
    if ((atomic_load_explicit(&f->status_flags, memory_order_relaxed) & O_APPEND) && f->inode)
        f->pos = inode_size(f->inode);
    ssize_t n = f->ops->pwrite(f, buf, len, f->pos);
    if (n > 0)
        f->pos += n;
    pthread_mutex_unlock(&f->pos_lock);
    return notify_io(f, n, IN_MODIFY);
}

ssize_t file_pread(struct file *f, void *buf, size_t len, int64_t off)
{
    if (!f->ops->pread)
        return -ESPIPE;
    if (off < 0)
        return -EINVAL;
    return notify_io(f, f->ops->pread(f, buf, len, off), IN_ACCESS);
}

ssize_t file_pwrite(struct file *f, const void *buf, size_t len, int64_t off)
{
    if (!f->ops->pwrite)
        return -ESPIPE;
    if (off < 0)
        return -EINVAL;
    /* Linux quirk kept: pwrite on an O_APPEND file appends (pwrite(2) BUGS). */
    if ((atomic_load_explicit(&f->status_flags, memory_order_relaxed) & O_APPEND) && f->inode)
        off = inode_size(f->inode);
    return notify_io(f, f->ops->pwrite(f, buf, len, off), IN_MODIFY);
}

int64_t file_llseek(struct file *f, int64_t offset, int whence)
{
    if (f->ops->llseek)
        return f->ops->llseek(f, offset, whence);
    bool dir = f->inode && S_ISDIR(f->inode->mode);
    if (!f->ops->pread && !dir)
        return -ESPIPE;
    pthread_mutex_lock(&f->pos_lock);
    int64_t base;
    switch (whence) {
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = f->pos;
        break;
    case SEEK_END:
        base = f->inode ? inode_size(f->inode) : 0;
        break;
    case SEEK_DATA:
    case SEEK_HOLE: {
        /* No holes are tracked: all data up to the size, one hole after it. */
        int64_t size = f->inode ? inode_size(f->inode) : 0;
        pthread_mutex_unlock(&f->pos_lock);
        if (offset < 0 || offset >= size)
            return -ENXIO;
        pthread_mutex_lock(&f->pos_lock);
        f->pos = whence == SEEK_DATA ? offset : size;
        int64_t r = f->pos;
        pthread_mutex_unlock(&f->pos_lock);
        return r;
    }
    default:
        pthread_mutex_unlock(&f->pos_lock);
        return -EINVAL;
    }
    int64_t pos;
    if (__builtin_add_overflow(base, offset, &pos) || pos < 0) {
        pthread_mutex_unlock(&f->pos_lock);
        return -EINVAL;
    }
    if (dir && pos == 0) {
        /* rewinddir: the next getdents lists the directory afresh. */
        dir_list_free(&f->dir);
        f->dir_loaded = false;
    }
    f->pos = pos;
    pthread_mutex_unlock(&f->pos_lock);
    return pos;
}

int file_stat(struct file *f, struct stat *st)
{
    if (f->inode)
        return inode_stat(f->inode, st);
    if (f->ops->stat)
        return f->ops->stat(f, st);
    return -EBADF;
}

/* Linux's anon_inode_inode: made once at boot on the anon_inodefs (a device numbered 0:N),
 * S_IRUSR | S_IWUSR and no file type. Its number is fixed here; guests can't rely on it. */
#define ANON_INODE_INO 1
#define ANON_INODE_DEV 13

void file_anon_stat(struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_mode = S_IRUSR | S_IWUSR;
    st->st_nlink = 1;
    st->st_ino = ANON_INODE_INO;
    st->st_dev = ANON_INODE_DEV;
    st->st_blksize = 4096;
}

int64_t file_noop_llseek(struct file *f, int64_t offset, int whence)
{
    pthread_mutex_lock(&f->pos_lock);
    int64_t pos = f->pos;
    pthread_mutex_unlock(&f->pos_lock);
    return pos;
}

int file_getdents(struct file *f, struct dir_emit *e)
{
    struct inode *inode = f->inode;
    if (!inode || !S_ISDIR(inode->mode))
        return -ENOTDIR;
    if (!inode->ops->readdir)
        return -ENOTDIR;
    pthread_mutex_lock(&f->pos_lock);
    if (!f->dir_loaded) {
        int err = inode->ops->readdir(inode, &f->dir);
        if (err) {
            dir_list_free(&f->dir);
            pthread_mutex_unlock(&f->pos_lock);
            vfs_notify_file(f, IN_ACCESS);
            return err;
        }
        f->dir_loaded = true;
    }
    /* Positions: 0 is ".", 1 is "..", 2 + i is entry i of the listing. */
    int emitted = 0;
    for (;;) {
        int64_t pos = f->pos;
        bool ok;
        if (pos == 0) {
            ok = e->emit(e, ".", 1, inode->ino, DT_DIR, 1);
        } else if (pos == 1) {
            struct dentry *d = f->path.dentry;
            uint64_t ino = d && d->parent ? d->parent->inode->ino : inode->ino;
            ok = e->emit(e, "..", 2, ino, DT_DIR, 2);
        } else if ((uint64_t)(pos - 2) < f->dir.count) {
            struct dir_entry *de = &f->dir.entries[pos - 2];
            ok = e->emit(e, de->name, strlen(de->name), de->ino, de->type, pos + 1);
        } else {
            break;
        }
        if (!ok) {
            if (emitted == 0) {
                /* The first entry doesn't fit the buffer: getdents(2) says EINVAL. */
                pthread_mutex_unlock(&f->pos_lock);
                vfs_notify_file(f, IN_ACCESS);
                return -EINVAL;
            }
            break;
        }
        f->pos = pos + 1;
        emitted++;
    }
    pthread_mutex_unlock(&f->pos_lock);
    /* iterate_dir reports every listing call as an access, whatever it returned. */
    vfs_notify_file(f, IN_ACCESS);
    return emitted;
}
