/* Opening a resolved path: may_open's checks (type, access, read-only mounts, truncation) and
 * O_PATH descriptors, which name a file without opening it. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/inotify.h>

#include "sentry/vfs/vfs.h"

struct path_file {
    struct file base;
};

static void path_file_release(struct file *f)
{
    file_release_common(f);
    free(f);
}

/* An O_PATH descriptor: fstat, fchdir, *at() and close work; I/O does not. */
static const struct file_ops path_file_ops = {
    .release = path_file_release,
};

static int open_o_path(const struct vfs_path *p, int flags, struct file **out)
{
    struct path_file *pf = calloc(1, sizeof(*pf));
    if (!pf)
        return -ENOMEM;
    file_init_inode(&pf->base, &path_file_ops,
                    flags & (O_PATH | O_DIRECTORY | O_NOFOLLOW), p->dentry->inode);
    pf->base.path = *p;
    vfs_path_get(p);
    *out = &pf->base;
    return 0;
}

int vfs_open_path(const struct vfs_path *p, const struct vfs_cred *cred, int flags,
                  struct file **out)
{
    struct inode *inode = p->dentry->inode;
    if (flags & O_PATH)
        return open_o_path(p, flags, out);
    int acc = flags & O_ACCMODE;
    if (acc == 3)
        return -EINVAL;
    if (S_ISLNK(inode->mode))
        return -ELOOP;
    if ((flags & O_DIRECTORY) && !S_ISDIR(inode->mode))
        return -ENOTDIR;
    bool writing = acc != O_RDONLY || (flags & O_TRUNC);
    /* O_TRUNC asks for write access too (build_open_flags adds MAY_WRITE): EISDIR as well. */
    if (S_ISDIR(inode->mode) && (acc != O_RDONLY || (flags & (O_CREAT | O_TRUNC))))
        return -EISDIR;
    int mask = (acc != O_WRONLY ? MAY_READ : 0) | (acc != O_RDONLY ? MAY_WRITE : 0);
    if (flags & O_TRUNC)
        mask |= MAY_WRITE;
    int err = inode_permission(inode, cred, mask);
    if (err)
        return err;
    if (writing && (p->mnt->flags & MNT_READONLY) &&
        (S_ISREG(inode->mode) || S_ISDIR(inode->mode) || S_ISLNK(inode->mode)))
        return -EROFS;
    if ((S_ISCHR(inode->mode) || S_ISBLK(inode->mode)) && (p->mnt->flags & MNT_NODEV))
        return -EACCES;
    if (!inode->ops->open)
        return -ENXIO;
    struct file *f;
    /* O_NOCTTY is no status flag, but a terminal's open needs it: it decides whether the
     * terminal becomes the caller's controlling terminal (tty(4)). */
    int open_flags = flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC);
    if (!S_ISCHR(inode->mode))
        open_flags &= ~O_NOCTTY;
    err = inode->ops->open(inode, open_flags, &f);
    if (err)
        return err;
    atomic_fetch_and_explicit(&f->status_flags, ~O_NOCTTY, memory_order_relaxed);
    f->path = *p;
    vfs_path_get(p);
    if ((flags & O_TRUNC) && S_ISREG(inode->mode)) {
        struct vfs_setattr attr = {.mask = VFS_ATTR_SIZE, .size = 0};
        err = inode->ops->setattr ? inode->ops->setattr(inode, &attr) : -EPERM;
        if (err) {
            file_put(f);
            return err;
        }
        vfs_notify_dentry(p->dentry, IN_MODIFY);
    }
    vfs_notify_file(f, IN_OPEN);
    *out = f;
    return 0;
}
