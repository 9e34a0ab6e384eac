/* Open files of the gofer filesystem: regular files read and written with pread/pwrite on host
 * fds the gofer donated, directories listed by Treaddir, devices opened by the sentry. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sentry/fs/gofer/gofer_internal.h"

static int (*device_open)(dev_t rdev, int flags, struct file **out);

void goferfs_set_device_open(int (*open_char)(dev_t rdev, int flags, struct file **out))
{
    device_open = open_char;
}

struct gofer_file {
    struct file base;
    int fd;        /* the host fd this file reads and writes */
    bool owns_fd;  /* a writable fd of its own, closed at release; else the inode's read_fd */
};

/* Asks the gofer to open the file and donate a host fd: a clone of the inode's fid is opened
 * (9P opens a fid in place) and clunked once the fd is here. */
static int donate_fd(struct gofer_inode *gi, int flags, int *fd)
{
    struct p9_client *c = gi->fs->client;
    uint32_t fid;
    int err = p9_client_fid_alloc(c, &fid);
    if (err)
        return err;
    uint16_t nq;
    err = p9_client_walk(c, gi->fid, fid, 0, NULL, NULL, &nq);
    if (err) {
        p9_client_fid_free(c, fid);
        return err;
    }
    *fd = -1;
    err = p9_client_lopen(c, fid, (uint32_t)flags, NULL, NULL, fd);
    p9_client_clunk(c, fid);
    if (!err && *fd < 0)
        err = -EIO; /* a regular file always comes with its fd */
    return err;
}

void gofer_inode_release_files(struct gofer_inode *gi)
{
    if (gi->read_fd >= 0)
        close(gi->read_fd);
    gi->read_fd = -1;
}

/* The inode's shared read-only host fd, fetched once. */
static int inode_read_fd(struct inode *inode, int *fd)
{
    struct gofer_inode *gi = gofer_inode_of(inode);
    pthread_mutex_lock(&inode->lock);
    int err = 0;
    if (gi->read_fd < 0)
        err = donate_fd(gi, O_RDONLY, &gi->read_fd);
    *fd = gi->read_fd;
    pthread_mutex_unlock(&inode->lock);
    return err;
}

static ssize_t gofer_pread(struct file *f, void *buf, size_t len, int64_t off)
{
    struct gofer_file *gf = (struct gofer_file *)f;
    ssize_t n = pread(gf->fd, buf, len, off);
    return n < 0 ? -errno : n;
}

static ssize_t gofer_pwrite(struct file *f, const void *buf, size_t len, int64_t off)
{
    struct gofer_file *gf = (struct gofer_file *)f;
    ssize_t n = pwrite(gf->fd, buf, len, off);
    if (n < 0)
        return -errno;
    struct inode *inode = f->inode;
    pthread_mutex_lock(&inode->lock);
    if (off + n > inode->size)
        inode->size = off + n;
    pthread_mutex_unlock(&inode->lock);
    inode_touch(inode, false, true, true);
    return n;
}

static int gofer_fsync(struct file *f, bool datasync)
{
    struct gofer_file *gf = (struct gofer_file *)f;
    if (!gf->owns_fd)
        return 0;
    return (datasync ? fdatasync(gf->fd) : fsync(gf->fd)) ? -errno : 0;
}

static int gofer_fallocate(struct file *f, int mode, int64_t off, int64_t len)
{
    struct gofer_file *gf = (struct gofer_file *)f;
    if (!gf->owns_fd)
        return -EBADF;
    if (fallocate(gf->fd, mode, off, len))
        return -errno;
    struct stat st;
    if (fstat(gf->fd, &st) == 0) {
        pthread_mutex_lock(&f->inode->lock);
        f->inode->size = st.st_size;
        f->inode->blocks = st.st_blocks;
        pthread_mutex_unlock(&f->inode->lock);
    }
    return 0;
}

/* Private mappings read the file through the inode's read fd. */
static ssize_t mappable_read(struct mappable *m, void *buf, size_t len, uint64_t off)
{
    struct gofer_inode *gi = (struct gofer_inode *)((char *)m - offsetof(struct gofer_inode,
                                                                         mappable));
    ssize_t n = pread(gi->read_fd, buf, len, (off_t)off);
    return n < 0 ? -errno : n;
}

static int mappable_cache_range(struct mappable *m, struct memfile *mf, uint64_t off, uint64_t len,
                                uint64_t *mf_off)
{
    struct gofer_inode *gi =
        (struct gofer_inode *)((char *)m - offsetof(struct gofer_inode, mappable));
    return mm_file_cache_range(&gi->cache, m, mf, off, len, mf_off);
}

static void mappable_get(struct mappable *m);
static void mappable_put(struct mappable *m);

static const struct mappable_ops gofer_mappable_ops = {
    .read = mappable_read,
    .get = mappable_get,
    .put = mappable_put,
};

/* Files of read-only mounts never change: their mappings share the inode's page cache. */
static const struct mappable_ops gofer_cached_mappable_ops = {
    .read = mappable_read,
    .get = mappable_get,
    .put = mappable_put,
    .cache_range = mappable_cache_range,
};

void gofer_inode_release_cache(struct gofer_inode *gi)
{
    if (gi->cache_init)
        mm_file_cache_release(&gi->cache);
    gi->cache_init = false;
}

static void gofer_file_release(struct file *f)
{
    struct gofer_file *gf = (struct gofer_file *)f;
    if (gf->owns_fd)
        close(gf->fd);
    file_release_common(f);
    free(gf);
}

static int gofer_mmap(struct file *f, struct mappable **out);

static const struct file_ops gofer_reg_ops = {
    .pread = gofer_pread,
    .pwrite = gofer_pwrite,
    .mmap = gofer_mmap,
    .fsync = gofer_fsync,
    .fallocate = gofer_fallocate,
    .release = gofer_file_release,
};

static const struct file_ops gofer_dir_ops = {
    .release = gofer_file_release,
};

int gofer_open(struct inode *inode, int flags, struct file **out)
{
    struct gofer_inode *gi = gofer_inode_of(inode);
    if (S_ISCHR(inode->mode))
        return device_open ? device_open(inode->rdev, flags, out) : -ENXIO;
    if (!S_ISREG(inode->mode) && !S_ISDIR(inode->mode))
        return -ENXIO; /* FIFOs and sockets on the host are not shared with the sandbox */
    struct gofer_file *gf = calloc(1, sizeof(*gf));
    if (!gf)
        return -ENOMEM;
    int err = 0;
    gf->fd = -1;
    if (S_ISREG(inode->mode)) {
        if ((flags & O_ACCMODE) == O_RDONLY) {
            err = inode_read_fd(inode, &gf->fd);
        } else if (gi->fs->readonly) {
            err = -EROFS;
        } else {
            err = donate_fd(gi, flags & (O_ACCMODE | O_APPEND), &gf->fd);
            gf->owns_fd = err == 0;
            if (!err) {
                /* Private mappings of this inode read through read_fd: make sure it exists. */
                int rfd;
                err = inode_read_fd(inode, &rfd);
            }
        }
    }
    if (err) {
        if (gf->owns_fd)
            close(gf->fd);
        free(gf);
        return err;
    }
    file_init_inode(&gf->base, S_ISDIR(inode->mode) ? &gofer_dir_ops : &gofer_reg_ops, flags,
                    inode);
    *out = &gf->base;
    return 0;
}

static void mappable_get(struct mappable *m)
{
    struct gofer_inode *gi = (struct gofer_inode *)((char *)m - offsetof(struct gofer_inode,
                                                                         mappable));
    inode_get(gi->owner);
}

static void mappable_put(struct mappable *m)
{
    struct gofer_inode *gi = (struct gofer_inode *)((char *)m - offsetof(struct gofer_inode,
                                                                         mappable));
    inode_put(gi->owner);
}

static int gofer_mmap(struct file *f, struct mappable **out)
{
    struct gofer_inode *gi = gofer_inode_of(f->inode);
    int fd;
    int err = inode_read_fd(f->inode, &fd);
    if (err)
        return err;
    pthread_mutex_lock(&f->inode->lock);
    if (gi->fs->readonly && !gi->cache_init) {
        mm_file_cache_init(&gi->cache);
        gi->cache_init = true;
    }
    gi->mappable.ops = gi->cache_init ? &gofer_cached_mappable_ops : &gofer_mappable_ops;
    pthread_mutex_unlock(&f->inode->lock);
    inode_get(f->inode);
    *out = &gi->mappable;
    return 0;
}
