/* Open files on the overlay, and the per-object operations that may copy up: setattr and
 * xattrs; link targets. A regular file reads the lower file directly until the object is copied
 * up, then its upper copy (as Linux since 4.19 does). Opening for writing copies up lazily, at
 * the first write: an O_TRUNC open truncates first, so it copies no data, and an open that
 * never writes copies nothing. Directories list the merged view; other files are the real
 * layer's own. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/fs/overlay/overlay.h"
#include "sentry/fs/overlay/overlay_internal.h"

struct ovl_file {
    struct file base;
    pthread_mutex_t real_lock; /* protects real and real_is_upper */
    struct file *real;         /* a reference: the layer's open file */
    bool real_is_upper;
};

static struct ovl_file *ovl_file_of(struct file *f)
{
    return (struct ovl_file *)f;
}

/* The layer file to use now (a reference): after a copy-up, a file still reading the lower
 * layer switches to the upper copy. */
static struct file *real_file_get(struct file *f)
{
    struct ovl_file *of = ovl_file_of(f);
    pthread_mutex_lock(&of->real_lock);
    if (!of->real_is_upper) {
        struct inode *upper = ovl_upper(ovl_i(f->inode));
        struct file *uf;
        int flags = atomic_load_explicit(&f->status_flags, memory_order_relaxed);
        if (upper && upper->ops->open && upper->ops->open(upper, flags, &uf) == 0) {
            file_put(of->real);
            of->real = uf;
            of->real_is_upper = true;
        }
    }
    struct file *real = of->real;
    file_get(real);
    pthread_mutex_unlock(&of->real_lock);
    return real;
}

static ssize_t ovl_file_pread(struct file *f, void *buf, size_t len, int64_t off)
{
    struct file *real = real_file_get(f);
    ssize_t n = real->ops->pread ? real->ops->pread(real, buf, len, off) : -EINVAL;
    file_put(real);
    return n;
}

static ssize_t ovl_file_pwrite(struct file *f, const void *buf, size_t len, int64_t off)
{
    int err = ovl_copy_up(f->inode, -1);
    if (err)
        return err;
    struct file *real = real_file_get(f);
    ssize_t n = real->ops->pwrite ? real->ops->pwrite(real, buf, len, off) : -EINVAL;
    file_put(real);
    if (n > 0)
        ovl_attr_sync(f->inode);
    return n;
}

static long ovl_file_ioctl(struct file *f, struct mm *mm, unsigned int cmd, uint64_t arg)
{
    struct file *real = real_file_get(f);
    long ret = real->ops->ioctl ? real->ops->ioctl(real, mm, cmd, arg) : -ENOTTY;
    file_put(real);
    return ret;
}

static int ovl_file_mmap(struct file *f, struct mappable **out)
{
    struct file *real = real_file_get(f);
    int err = real->ops->mmap ? real->ops->mmap(real, out) : -ENODEV;
    file_put(real);
    return err;
}

static int ovl_file_fsync(struct file *f, bool datasync)
{
    struct file *real = real_file_get(f);
    int err = real->ops->fsync ? real->ops->fsync(real, datasync) : 0;
    file_put(real);
    return err;
}

static int ovl_file_fallocate(struct file *f, int mode, int64_t off, int64_t len)
{
    int err = ovl_copy_up(f->inode, -1);
    if (err)
        return err;
    struct file *real = real_file_get(f);
    err = real->ops->fallocate ? real->ops->fallocate(real, mode, off, len) : -EOPNOTSUPP;
    file_put(real);
    if (!err)
        ovl_attr_sync(f->inode);
    return err;
}

static void ovl_file_release(struct file *f)
{
    struct ovl_file *of = ovl_file_of(f);
    file_put(of->real);
    pthread_mutex_destroy(&of->real_lock);
    file_release_common(f);
    free(of);
}

static const struct file_ops ovl_file_ops = {
    .pread = ovl_file_pread,
    .pwrite = ovl_file_pwrite,
    .ioctl = ovl_file_ioctl,
    .mmap = ovl_file_mmap,
    .fsync = ovl_file_fsync,
    .fallocate = ovl_file_fallocate,
    .release = ovl_file_release,
};

/* A directory's file: getdents lists it through ovl_readdir, the VFS does the rest. */
struct ovl_dir_file {
    struct file base;
};

static void ovl_dir_release(struct file *f)
{
    file_release_common(f);
    free(f);
}

static const struct file_ops ovl_dir_ops = {
    .release = ovl_dir_release,
};

static int open_regular(struct inode *inode, int flags, struct file **out)
{
    struct ovl_inode *o = ovl_i(inode);
    struct inode *upper = ovl_upper(o);
    struct inode *real = upper ? upper : o->lower;
    if (!real->ops->open)
        return -ENXIO;
    struct ovl_file *of = calloc(1, sizeof(*of));
    if (!of)
        return -ENOMEM;
    /* The lower layer is only ever read: a writer reads it until its first write. */
    int real_flags = upper ? flags : (flags & ~(O_ACCMODE | O_APPEND)) | O_RDONLY;
    int err = real->ops->open(real, real_flags, &of->real);
    if (err) {
        free(of);
        return err;
    }
    of->real_is_upper = upper != NULL;
    pthread_mutex_init(&of->real_lock, NULL);
    file_init_inode(&of->base, &ovl_file_ops, flags, inode);
    *out = &of->base;
    return 0;
}

int ovl_open(struct inode *inode, int flags, struct file **out)
{
    if (S_ISREG(inode->mode))
        return open_regular(inode, flags, out);
    if (S_ISDIR(inode->mode)) {
        struct ovl_dir_file *df = calloc(1, sizeof(*df));
        if (!df)
            return -ENOMEM;
        file_init_inode(&df->base, &ovl_dir_ops, flags, inode);
        *out = &df->base;
        return 0;
    }
    /* FIFOs, sockets and devices are not copied up to be opened (overlayfs's rule): the
     * layer's own open serves them. */
    struct inode *real = ovl_real(ovl_i(inode));
    return real->ops->open ? real->ops->open(real, flags, out) : -ENXIO;
}

int ovl_setattr(struct inode *inode, const struct vfs_setattr *attr)
{
    int err = ovl_copy_up(inode, (attr->mask & VFS_ATTR_SIZE) ? attr->size : -1);
    if (err)
        return err;
    struct inode *upper = ovl_upper(ovl_i(inode));
    err = upper->ops->setattr ? upper->ops->setattr(upper, attr) : -EPERM;
    ovl_attr_sync(inode);
    return err;
}

ssize_t ovl_readlink(struct inode *inode, char *buf, size_t size)
{
    struct inode *real = ovl_real(ovl_i(inode));
    return real->ops->readlink ? real->ops->readlink(real, buf, size) : -EINVAL;
}

static bool is_overlay_xattr(const char *name)
{
    return strncmp(name, OVERLAY_XATTR_PREFIX, strlen(OVERLAY_XATTR_PREFIX)) == 0;
}

ssize_t ovl_getxattr(struct inode *inode, const char *name, void *buf, size_t size)
{
    if (is_overlay_xattr(name))
        return -ENODATA;
    struct inode *real = ovl_real(ovl_i(inode));
    return real->ops->getxattr ? real->ops->getxattr(real, name, buf, size) : -EOPNOTSUPP;
}

/* The real object's list without the overlay's own names. */
ssize_t ovl_listxattr(struct inode *inode, char *buf, size_t size)
{
    struct inode *real = ovl_real(ovl_i(inode));
    if (!real->ops->listxattr)
        return -EOPNOTSUPP;
    char *all = NULL;
    ssize_t n;
    for (int tries = 0;; tries++) {
        n = real->ops->listxattr(real, NULL, 0);
        if (n <= 0)
            return n;
        char *grown = realloc(all, (size_t)n);
        if (!grown) {
            free(all);
            return -ENOMEM;
        }
        all = grown;
        n = real->ops->listxattr(real, all, (size_t)n);
        if (n != -ERANGE || tries == 4)
            break;
    }
    if (n < 0) {
        free(all);
        return n;
    }
    size_t kept = 0;
    for (size_t i = 0; i < (size_t)n;) {
        size_t len = strnlen(all + i, (size_t)n - i) + 1;
        if (!is_overlay_xattr(all + i)) {
            memmove(all + kept, all + i, len);
            kept += len;
        }
        i += len;
    }
    ssize_t ret = (ssize_t)kept;
    if (size && kept > size)
        ret = -ERANGE;
    else if (size)
        memcpy(buf, all, kept);
    free(all);
    return ret;
}

int ovl_setxattr(struct inode *inode, const char *name, const void *value, size_t size, int flags)
{
    if (is_overlay_xattr(name))
        return -EPERM;
    int err = ovl_copy_up(inode, -1);
    if (err)
        return err;
    struct inode *upper = ovl_upper(ovl_i(inode));
    err =
        upper->ops->setxattr ? upper->ops->setxattr(upper, name, value, size, flags) : -EOPNOTSUPP;
    if (!err)
        ovl_attr_sync(inode);
    return err;
}

int ovl_removexattr(struct inode *inode, const char *name)
{
    if (is_overlay_xattr(name))
        return -EPERM;
    /* Removing what the lower object doesn't have is ENODATA without a copy-up (overlayfs). */
    struct ovl_inode *o = ovl_i(inode);
    if (!ovl_upper(o)) {
        ssize_t n = o->lower->ops->getxattr ? o->lower->ops->getxattr(o->lower, name, NULL, 0)
                                            : -EOPNOTSUPP;
        if (n < 0)
            return (int)n;
    }
    int err = ovl_copy_up(inode, -1);
    if (err)
        return err;
    struct inode *upper = ovl_upper(o);
    err = upper->ops->removexattr ? upper->ops->removexattr(upper, name) : -EOPNOTSUPP;
    if (!err)
        ovl_attr_sync(inode);
    return err;
}
