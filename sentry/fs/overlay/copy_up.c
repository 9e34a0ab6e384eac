/* Copy-up: making the upper copy of a lower object (its ancestors first) with the lower
 * object's data, link target or device number, ownership, mode and times, and its number kept
 * in an origin xattr so the overlay's inode number survives the copy. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/fs/overlay/overlay.h"
#include "sentry/fs/overlay/overlay_internal.h"

#define COPY_CHUNK (64 * 1024)

struct lower_attr {
    mode_t mode;
    uid_t uid;
    gid_t gid;
    dev_t rdev;
    int64_t size;
    struct timespec atime, mtime;
};

static int lower_attr_get(struct inode *lower, struct lower_attr *a)
{
    if (lower->ops->getattr) {
        int err = lower->ops->getattr(lower);
        if (err)
            return err;
    }
    pthread_mutex_lock(&lower->lock);
    *a = (struct lower_attr){
        .mode = lower->mode,
        .uid = lower->uid,
        .gid = lower->gid,
        .rdev = lower->rdev,
        .size = lower->size,
        .atime = lower->atime,
        .mtime = lower->mtime,
    };
    pthread_mutex_unlock(&lower->lock);
    return 0;
}

static bool all_zero(const unsigned char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (buf[i])
            return false;
    return true;
}

/* Copies `len` bytes of `from` into the new upper file; runs of zeros stay holes (the final
 * size is set afterwards). */
static int copy_data(struct file *from, struct inode *to_inode, int64_t len)
{
    if (len <= 0)
        return 0;
    if (!to_inode->ops->open)
        return -EPERM;
    struct file *to;
    int err = to_inode->ops->open(to_inode, O_WRONLY, &to);
    if (err)
        return err;
    unsigned char *buf = malloc(COPY_CHUNK);
    if (!buf) {
        err = -ENOMEM;
        goto out_to;
    }
    for (int64_t off = 0; off < len;) {
        size_t want = len - off < COPY_CHUNK ? (size_t)(len - off) : COPY_CHUNK;
        ssize_t n = file_pread(from, buf, want, off);
        if (n < 0) {
            err = (int)n;
            break;
        }
        if (n == 0)
            break;
        if (!all_zero(buf, (size_t)n)) {
            for (ssize_t done = 0; done < n;) {
                ssize_t w = file_pwrite(to, buf + done, (size_t)(n - done), off + done);
                if (w <= 0) {
                    err = w < 0 ? (int)w : -EIO;
                    goto out_buf;
                }
                done += w;
            }
        }
        off += n;
    }
out_buf:
    free(buf);
out_to:
    file_put(to);
    return err;
}

/* Makes the upper object of `o` in its parent's upper directory, ofs->lock held. */
static int make_upper(struct ovl_inode *o, struct inode *upper_dir, const struct lower_attr *a,
                      const char *link_target, struct inode **out)
{
    const struct inode_ops *ops = upper_dir->ops;
    mode_t perm = a->mode & 07777;
    int err = -EPERM;
    switch (a->mode & S_IFMT) {
    case S_IFDIR:
        if (ops->mkdir)
            err = ops->mkdir(upper_dir, o->name, S_IFDIR | perm, &ovl_cred, out);
        break;
    case S_IFREG:
        if (ops->create)
            err = ops->create(upper_dir, o->name, S_IFREG | perm, &ovl_cred, out);
        break;
    case S_IFLNK:
        if (ops->symlink)
            err = ops->symlink(upper_dir, o->name, link_target, &ovl_cred, out);
        break;
    default:
        if (ops->mknod)
            err = ops->mknod(upper_dir, o->name, a->mode, a->rdev, &ovl_cred, out);
        break;
    }
    if (err)
        return err;
    /* The origin's number, little-endian. A layer without xattrs loses only the number's
     * stability across a later lookup; the overlay inode keeps its number meanwhile. */
    uint64_t ino = o->lower->ino;
    unsigned char v[8];
    for (int i = 0; i < 8; i++)
        v[i] = (unsigned char)(ino >> (8 * i));
    if ((*out)->ops->setxattr) {
        err = (*out)->ops->setxattr(*out, OVERLAY_XATTR_ORIGIN, v, sizeof(v), 0);
        if (err == -EOPNOTSUPP)
            err = 0;
    }
    if (err) {
        ovl_upper_remove(upper_dir, o->name, *out);
        inode_put(*out);
    }
    return err;
}

/* The lower object's xattrs (but the overlay's own) onto its copy. */
static int copy_xattrs(struct inode *lower, struct inode *upper)
{
    if (!lower->ops->listxattr || !lower->ops->getxattr)
        return 0;
    ssize_t n = lower->ops->listxattr(lower, NULL, 0);
    if (n <= 0)
        return n == -EOPNOTSUPP ? 0 : (int)n;
    if (!upper->ops->setxattr)
        return -EOPNOTSUPP;
    char *names = malloc((size_t)n);
    if (!names)
        return -ENOMEM;
    n = lower->ops->listxattr(lower, names, (size_t)n);
    int err = n < 0 ? (int)n : 0;
    void *value = NULL;
    for (ssize_t i = 0; !err && i < n; i += (ssize_t)strlen(names + i) + 1) {
        const char *name = names + i;
        if (strncmp(name, OVERLAY_XATTR_PREFIX, strlen(OVERLAY_XATTR_PREFIX)) == 0)
            continue;
        ssize_t size = lower->ops->getxattr(lower, name, NULL, 0);
        if (size == -ENODATA)
            continue; /* removed meanwhile */
        if (size < 0) {
            err = (int)size;
            break;
        }
        void *grown = realloc(value, size ? (size_t)size : 1);
        if (!grown) {
            err = -ENOMEM;
            break;
        }
        value = grown;
        size = lower->ops->getxattr(lower, name, value, (size_t)size);
        if (size < 0) {
            err = (int)size;
            break;
        }
        err = upper->ops->setxattr(upper, name, value, (size_t)size, 0);
    }
    free(value);
    free(names);
    return err;
}

/* Ownership first (a chown may clear set-id bits), then the mode, size and times. */
static int copy_attrs(struct inode *upper, const struct lower_attr *a, int64_t size)
{
    if (!upper->ops->setattr)
        return 0;
    struct vfs_setattr attr = {.mask = VFS_ATTR_UID | VFS_ATTR_GID, .uid = a->uid, .gid = a->gid};
    int err = upper->ops->setattr(upper, &attr);
    if (err)
        return err;
    if (!S_ISLNK(a->mode)) {
        attr = (struct vfs_setattr){.mask = VFS_ATTR_MODE, .mode = a->mode & 07777};
        err = upper->ops->setattr(upper, &attr);
        if (err)
            return err;
    }
    attr = (struct vfs_setattr){
        .mask = VFS_ATTR_ATIME | VFS_ATTR_MTIME, .atime = a->atime, .mtime = a->mtime};
    if (S_ISREG(a->mode)) {
        attr.mask |= VFS_ATTR_SIZE;
        attr.size = size;
    }
    return upper->ops->setattr(upper, &attr);
}

/* Copies `inode` alone; its parent has an upper directory; o->copy_lock held. */
static int copy_up_one(struct inode *inode, int64_t max_len)
{
    struct ovl_fs *ofs = ovl_fs_of(inode);
    struct ovl_inode *o = ovl_i(inode);
    struct inode *lower = o->lower;
    struct inode *upper_dir = ovl_upper(ovl_i(o->parent));
    struct lower_attr a;
    char *link_target = NULL;
    struct file *lower_file = NULL;
    struct inode *upper = NULL;

    int err = lower_attr_get(lower, &a);
    if (err)
        return err;
    int64_t size = a.size;
    if (max_len >= 0 && max_len < size)
        size = max_len;
    if (S_ISLNK(a.mode)) {
        link_target = malloc(PATH_MAX);
        if (!link_target)
            return -ENOMEM;
        ssize_t n =
            lower->ops->readlink ? lower->ops->readlink(lower, link_target, PATH_MAX - 1) : -EINVAL;
        if (n < 0) {
            err = (int)n;
            goto out;
        }
        link_target[n] = '\0';
    } else if (S_ISREG(a.mode) && size > 0) {
        err = lower->ops->open ? lower->ops->open(lower, O_RDONLY, &lower_file) : -ENXIO;
        if (err)
            goto out;
    }

    /* A copy-up is no change to the parent: its times are put back afterwards (overlayfs). */
    pthread_mutex_lock(&upper_dir->lock);
    struct vfs_setattr parent_times = {.mask = VFS_ATTR_ATIME | VFS_ATTR_MTIME,
                                       .atime = upper_dir->atime,
                                       .mtime = upper_dir->mtime};
    pthread_mutex_unlock(&upper_dir->lock);
    pthread_mutex_lock(&ofs->lock);
    err = make_upper(o, upper_dir, &a, link_target, &upper);
    pthread_mutex_unlock(&ofs->lock);
    if (err)
        goto out;
    if (upper_dir->ops->setattr && upper_dir->ops->setattr(upper_dir, &parent_times) == 0)
        ovl_attr_sync(o->parent);
    if (lower_file)
        err = copy_data(lower_file, upper, size);
    if (!err)
        err = copy_xattrs(lower, upper);
    if (!err)
        err = copy_attrs(upper, &a, size);
    if (err) {
        pthread_mutex_lock(&ofs->lock);
        ovl_upper_remove(upper_dir, o->name, upper);
        pthread_mutex_unlock(&ofs->lock);
        inode_put(upper);
        goto out;
    }
    pthread_mutex_lock(&ofs->lock);
    ovl_child_unlist(o); /* rename finds it through the upper layer from now on */
    pthread_mutex_unlock(&ofs->lock);
    /* Release: readers that see the pointer see the finished copy. The reference passes. */
    atomic_store_explicit(&o->upper, upper, memory_order_release);
    ovl_attr_sync(inode);
out:
    if (lower_file)
        file_put(lower_file);
    free(link_target);
    return err;
}

static int copy_up_locked(struct inode *inode, int64_t max_len)
{
    struct ovl_inode *o = ovl_i(inode);
    int err = 0;
    pthread_mutex_lock(&o->copy_lock);
    if (ovl_upper(o))
        err = 0;
    else if (o->unlinked)
        err = -ENOENT; /* no name left to copy it up at */
    else
        err = copy_up_one(inode, max_len);
    pthread_mutex_unlock(&o->copy_lock);
    return err;
}

int ovl_copy_up(struct inode *inode, int64_t max_len)
{
    struct ovl_inode *o = ovl_i(inode);
    /* Top-down, one object at a time: the highest ancestor still without an upper copy first.
     * The root always has one, and `parent` never changes. */
    while (!ovl_upper(o)) {
        struct inode *next = inode;
        for (;;) {
            struct inode *parent = ovl_i(next)->parent;
            if (!parent || ovl_upper(ovl_i(parent)))
                break;
            next = parent;
        }
        int err = copy_up_locked(next, next == inode ? max_len : -1);
        if (err)
            return err;
    }
    return 0;
}
