/* Syscall-level VFS operations: open with creation, and the namespace changes (mkdir, mknod,
 * symlink, link, unlink, rmdir, rename, readlink), with Linux's checks in Linux's order. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/inotify.h>

#include "sentry/vfs/vfs.h"
#include "sentry/vfs/vfs_internal.h"

pthread_mutex_t vfs_rename_lock = PTHREAD_MUTEX_INITIALIZER;

static bool is_dot_or_dotdot(const char *name)
{
    return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

/* May `cred` add or remove entries in directory `dir` on mount `mnt`? */
static int may_change_dir(const struct vfs_path *dir, const struct vfs_cred *cred)
{
    if (dir->mnt->flags & MNT_READONLY)
        return -EROFS;
    return inode_permission(dir->dentry->inode, cred, MAY_WRITE | MAY_EXEC);
}

/* The sticky-bit rule (may_delete): in a sticky directory only the owner of the entry or of the
 * directory may remove or replace it. */
int vfs_may_delete(struct inode *dir, struct inode *victim, const struct vfs_cred *cred)
{
    if (!(dir->mode & S_ISVTX) || cred->fowner)
        return 0;
    if (victim->uid == cred->fsuid || dir->uid == cred->fsuid)
        return 0;
    return -EPERM;
}

static mode_t fs_umask(const struct walk_ctx *ctx)
{
    pthread_mutex_lock(&ctx->fs->lock);
    mode_t m = ctx->fs->umask;
    pthread_mutex_unlock(&ctx->fs->lock);
    return m;
}

/* What to make: the type and permissions in mode, a device number, a symlink's target. */
struct make_args {
    mode_t mode;
    dev_t rdev;
    const char *target; /* non-NULL: a symlink */
};

/* Makes `name` in the directory with the filesystem's op for the kind of node asked for; EPERM
 * from a filesystem that can't make that kind. */
static int make_node(struct inode *dir, const char *name, const struct make_args *a,
                     const struct vfs_cred *cred, struct inode **out)
{
    const struct inode_ops *ops = dir->ops;
    if (a->target)
        return ops->symlink ? ops->symlink(dir, name, a->target, cred, out) : -EPERM;
    switch (a->mode & S_IFMT) {
    case S_IFREG:
        return ops->create ? ops->create(dir, name, a->mode, cred, out) : -EPERM;
    case S_IFDIR:
        return ops->mkdir ? ops->mkdir(dir, name, a->mode, cred, out) : -EPERM;
    default:
        return ops->mknod ? ops->mknod(dir, name, a->mode, a->rdev, cred, out) : -EPERM;
    }
}

/* Walks to the parent of `path` and makes its last component, caching the new dentry, which is
 * returned referenced in *out when out is non-NULL. */
static int create_at(const struct walk_ctx *ctx, const char *path, const struct make_args *args,
                     bool allow_trailing_slash, struct vfs_path *out)
{
    struct vfs_path parent;
    char last[NAME_MAX + 1];
    bool trailing;
    int err = vfs_walk_parent(ctx, path, &parent, last, &trailing);
    if (err)
        return err;
    if (!last[0] || is_dot_or_dotdot(last)) {
        err = -EEXIST;
        goto out_parent;
    }
    struct dentry *dir = parent.dentry;
    pthread_mutex_lock(&dir->dir_lock);
    struct dentry *existing;
    err = vfs_lookup_child(dir, last, true, &existing);
    if (err == 0) {
        dentry_put(existing);
        err = -EEXIST;
        goto out_unlock;
    }
    if (err != -ENOENT)
        goto out_unlock;
    if (trailing && !allow_trailing_slash) {
        err = -ENOENT;
        goto out_unlock;
    }
    err = may_change_dir(&parent, ctx->cred);
    if (err)
        goto out_unlock;
    struct inode *inode;
    err = make_node(dir->inode, last, args, ctx->cred, &inode);
    if (err)
        goto out_unlock;
    struct dentry *d;
    err = dcache_insert(dir, last, inode, &d);
    inode_put(inode);
    if (err)
        goto out_unlock;
    inode_touch(dir->inode, false, true, true);
    vfs_notify(dir->inode, IN_CREATE | (S_ISDIR(d->inode->mode) ? IN_ISDIR : 0), last, 0);
    if (out) {
        out->mnt = parent.mnt;
        out->dentry = d;
    } else {
        dentry_put(d);
    }
out_unlock:
    pthread_mutex_unlock(&dir->dir_lock);
out_parent:
    vfs_path_put(&parent);
    return err;
}

int vfs_mkdir(const struct walk_ctx *ctx, const char *path, mode_t mode)
{
    struct make_args a = {.mode = S_IFDIR | (mode & 07777 & ~fs_umask(ctx))};
    return create_at(ctx, path, &a, true, NULL);
}

int vfs_mknod(const struct walk_ctx *ctx, const char *path, mode_t mode, dev_t dev)
{
    return vfs_mknod_path(ctx, path, mode, dev, NULL);
}

int vfs_mknod_path(const struct walk_ctx *ctx, const char *path, mode_t mode, dev_t dev,
                   struct vfs_path *out)
{
    mode_t type = mode & S_IFMT;
    if (type == 0)
        type = S_IFREG;
    if (type == S_IFDIR)
        return -EPERM;
    if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK && type != S_IFCHR &&
        type != S_IFBLK)
        return -EINVAL;
    if ((type == S_IFCHR || type == S_IFBLK) && !ctx->cred->mknod)
        return -EPERM;
    struct make_args a = {.mode = type | (mode & 07777 & ~fs_umask(ctx)), .rdev = dev};
    return create_at(ctx, path, &a, false, out);
}

int vfs_symlink(const struct walk_ctx *ctx, const char *target, const char *path)
{
    if (!target[0])
        return -ENOENT;
    struct make_args a = {.target = target};
    return create_at(ctx, path, &a, false, NULL);
}

static int open_created(const struct walk_ctx *ctx, const char *path, int flags, mode_t mode,
                        struct file **out, int links);

/* O_CREAT on a dangling symlink creates its target (open(2)), resolved from the link's
 * directory; `links` counts the links followed so far, as the walk does. */
static int open_link_target(const struct walk_ctx *ctx, const struct vfs_path *dir,
                            struct inode *link, int flags, mode_t mode, struct file **out,
                            int links)
{
    if (links >= VFS_MAX_SYMLINKS)
        return -ELOOP;
    if (!link->ops->readlink)
        return -ENOENT;
    char *target = malloc(PATH_MAX);
    if (!target)
        return -ENOMEM;
    ssize_t n = link->ops->readlink(link, target, PATH_MAX - 1);
    int err = (int)n;
    if (n > 0) {
        target[n] = '\0';
        struct walk_ctx sub = {ctx->fs, ctx->cred, *dir, ctx->resolve};
        err = open_created(&sub, target, flags, mode, out, links + 1);
    } else if (n == 0) {
        err = -ENOENT;
    }
    free(target);
    return err;
}

static int open_created(const struct walk_ctx *ctx, const char *path, int flags, mode_t mode,
                        struct file **out, int links)
{
    struct vfs_path parent;
    char last[NAME_MAX + 1];
    bool trailing;
    int err = vfs_walk_parent(ctx, path, &parent, last, &trailing);
    if (err)
        return err;
    if (!last[0] || is_dot_or_dotdot(last) || trailing) {
        err = -EISDIR;
        goto out_parent;
    }
    struct dentry *dir = parent.dentry;
    pthread_mutex_lock(&dir->dir_lock);
    struct dentry *child;
    err = vfs_lookup_child(dir, last, true, &child);
    if (err == 0) {
        pthread_mutex_unlock(&dir->dir_lock);
        if (flags & O_EXCL) {
            dentry_put(child);
            err = -EEXIST;
            goto out_parent;
        }
        struct vfs_path p = {parent.mnt, child};
        mount_ns_cross(ctx->fs->ns, &p);
        if (S_ISLNK(p.dentry->inode->mode)) {
            struct inode *link = p.dentry->inode;
            inode_get(link);
            vfs_path_put(&p);
            if (flags & O_NOFOLLOW) {
                inode_put(link);
                err = -ELOOP;
                goto out_parent;
            }
            /* Follow it with a fresh walk; a dangling link creates its target. */
            err = vfs_walk(ctx, path, WALK_FOLLOW, &p);
            if (!err) {
                err = vfs_open_path(&p, ctx->cred, flags, out);
                vfs_path_put(&p);
            } else if (err == -ENOENT) {
                err = open_link_target(ctx, &parent, link, flags, mode, out, links);
            }
            inode_put(link);
            goto out_parent;
        }
        err = vfs_open_path(&p, ctx->cred, flags, out);
        vfs_path_put(&p);
        goto out_parent;
    }
    if (err != -ENOENT)
        goto out_unlock;
    err = may_change_dir(&parent, ctx->cred);
    if (err)
        goto out_unlock;
    struct inode *inode;
    struct make_args a = {.mode = S_IFREG | (mode & 07777 & ~fs_umask(ctx))};
    err = make_node(dir->inode, last, &a, ctx->cred, &inode);
    if (err)
        goto out_unlock;
    err = dcache_insert(dir, last, inode, &child);
    inode_put(inode);
    if (err)
        goto out_unlock;
    inode_touch(dir->inode, false, true, true);
    vfs_notify(dir->inode, IN_CREATE, last, 0);
    pthread_mutex_unlock(&dir->dir_lock);
    struct vfs_path p = {parent.mnt, child};
    /* The creator may write the new file whatever mode it was given (may_open after create). */
    struct vfs_cred owner = *ctx->cred;
    owner.dac_override = true;
    err = vfs_open_path(&p, &owner, flags & ~O_TRUNC, out);
    dentry_put(child);
    goto out_parent;
out_unlock:
    pthread_mutex_unlock(&dir->dir_lock);
out_parent:
    vfs_path_put(&parent);
    return err;
}

int vfs_open(const struct walk_ctx *ctx, const char *path, int flags, mode_t mode,
             struct file **out)
{
    if ((flags & __O_TMPFILE) == __O_TMPFILE)
        return -EOPNOTSUPP;
    if ((flags & O_CREAT) && !(flags & O_PATH))
        return open_created(ctx, path, flags, mode, out, 0);
    int wflags = 0;
    if (!(flags & O_NOFOLLOW))
        wflags |= WALK_FOLLOW;
    if (flags & O_DIRECTORY)
        wflags |= WALK_DIRECTORY;
    struct vfs_path p;
    int err = vfs_walk(ctx, path, wflags, &p);
    if (err)
        return err;
    err = vfs_open_path(&p, ctx->cred, flags, out);
    vfs_path_put(&p);
    return err;
}

int vfs_link(const struct walk_ctx *old_ctx, const char *old_path, const struct walk_ctx *new_ctx,
             const char *new_path, int flags)
{
    struct vfs_path target;
    int err = vfs_walk(old_ctx, old_path,
                       (flags & AT_SYMLINK_FOLLOW ? WALK_FOLLOW : 0) |
                           (flags & AT_EMPTY_PATH ? WALK_EMPTY : 0),
                       &target);
    if (err)
        return err;
    struct vfs_path parent;
    char last[NAME_MAX + 1];
    bool trailing;
    err = vfs_walk_parent(new_ctx, new_path, &parent, last, &trailing);
    if (err)
        goto out_target;
    if (!last[0] || is_dot_or_dotdot(last)) {
        err = -EEXIST;
        goto out_parent;
    }
    if (parent.mnt != target.mnt) {
        err = -EXDEV;
        goto out_parent;
    }
    struct inode *inode = target.dentry->inode;
    if (S_ISDIR(inode->mode)) {
        err = -EPERM;
        goto out_parent;
    }
    struct dentry *dir = parent.dentry;
    pthread_mutex_lock(&dir->dir_lock);
    struct dentry *existing;
    err = vfs_lookup_child(dir, last, true, &existing);
    if (err == 0) {
        dentry_put(existing);
        err = -EEXIST;
        goto out_unlock;
    }
    if (err != -ENOENT)
        goto out_unlock;
    if (trailing) {
        err = -ENOENT;
        goto out_unlock;
    }
    err = may_change_dir(&parent, new_ctx->cred);
    if (err)
        goto out_unlock;
    if (!dir->inode->ops->link) {
        err = -EPERM;
        goto out_unlock;
    }
    err = dir->inode->ops->link(dir->inode, last, inode);
    if (err)
        goto out_unlock;
    struct dentry *d;
    err = dcache_insert(dir, last, inode, &d);
    if (!err)
        dentry_put(d);
    inode_touch(dir->inode, false, true, true);
    /* fsnotify_link: the link count changed, then the new name appeared. */
    vfs_notify(inode, IN_ATTRIB, NULL, 0);
    vfs_notify(dir->inode, IN_CREATE, last, 0);
out_unlock:
    pthread_mutex_unlock(&dir->dir_lock);
out_parent:
    vfs_path_put(&parent);
out_target:
    vfs_path_put(&target);
    return err;
}

static int remove_at(const struct walk_ctx *ctx, const char *path, bool dir_wanted)
{
    struct vfs_path parent;
    char last[NAME_MAX + 1];
    bool trailing;
    int err = vfs_walk_parent(ctx, path, &parent, last, &trailing);
    if (err)
        return err;
    if (dir_wanted && (!last[0] || strcmp(last, "..") == 0)) {
        err = -ENOTEMPTY;
        goto out_parent;
    }
    if (dir_wanted && strcmp(last, ".") == 0) {
        err = -EINVAL;
        goto out_parent;
    }
    if (!dir_wanted && (!last[0] || is_dot_or_dotdot(last))) {
        err = -EISDIR;
        goto out_parent;
    }
    struct dentry *dir = parent.dentry;
    pthread_mutex_lock(&dir->dir_lock);
    struct dentry *victim;
    err = vfs_lookup_child(dir, last, true, &victim);
    if (err)
        goto out_unlock;
    struct inode *inode = victim->inode;
    if (dir_wanted && !S_ISDIR(inode->mode))
        err = -ENOTDIR;
    else if (!dir_wanted && S_ISDIR(inode->mode))
        err = -EISDIR;
    else if (!dir_wanted && trailing)
        err = -ENOTDIR;
    else if (atomic_load_explicit(&victim->mounted, memory_order_acquire))
        err = -EBUSY;
    if (!err)
        err = may_change_dir(&parent, ctx->cred);
    if (!err)
        err = vfs_may_delete(dir->inode, inode, ctx->cred);
    if (!err) {
        if (dir_wanted)
            err = dir->inode->ops->rmdir ? dir->inode->ops->rmdir(dir->inode, last, inode) : -EPERM;
        else
            err =
                dir->inode->ops->unlink ? dir->inode->ops->unlink(dir->inode, last, inode) : -EPERM;
    }
    bool is_dir = S_ISDIR(inode->mode);
    if (!err) {
        if (!dir_wanted)
            vfs_notify(inode, IN_ATTRIB, NULL, 0); /* its link count */
        dcache_remove(dir, victim);
        inode_touch(dir->inode, false, true, true);
    }
    /* Our reference may be the last: then IN_DELETE_SELF comes before the directory's
     * IN_DELETE, as Linux's d_delete_notify orders them. */
    dentry_put(victim);
    if (!err)
        vfs_notify(dir->inode, IN_DELETE | (is_dir ? IN_ISDIR : 0), last, 0);
out_unlock:
    pthread_mutex_unlock(&dir->dir_lock);
out_parent:
    vfs_path_put(&parent);
    return err;
}

int vfs_unlink(const struct walk_ctx *ctx, const char *path)
{
    return remove_at(ctx, path, false);
}

int vfs_rmdir(const struct walk_ctx *ctx, const char *path)
{
    return remove_at(ctx, path, true);
}

ssize_t vfs_readlink(const struct walk_ctx *ctx, const char *path, char *buf, size_t size)
{
    struct vfs_path p;
    int err = vfs_walk(ctx, path, WALK_EMPTY, &p);
    if (err)
        return err;
    struct inode *inode = p.dentry->inode;
    ssize_t n = S_ISLNK(inode->mode) && inode->ops->readlink
                    ? inode->ops->readlink(inode, buf, size)
                    : -EINVAL;
    vfs_path_put(&p);
    return n;
}

int vfs_statfs(const struct vfs_path *p, struct statfs *out)
{
    struct super_block *sb = p->dentry->inode->sb;
    memset(out, 0, sizeof(*out));
    if (sb->ops && sb->ops->statfs)
        return sb->ops->statfs(sb, out);
    out->f_bsize = 4096;
    out->f_namelen = NAME_MAX;
    out->f_frsize = 4096;
    return 0;
}

int vfs_setattr(struct inode *inode, const struct vfs_cred *cred, const struct vfs_setattr *attr)
{
    bool owner = cred->fowner || cred->fsuid == inode->uid;
    if ((attr->mask & VFS_ATTR_MODE) && !owner)
        return -EPERM;
    if ((attr->mask & (VFS_ATTR_UID | VFS_ATTR_GID)) && (!cred->fowner || cred->no_chown)) {
        /* Without CAP_CHOWN: the owner may only change the group to one of theirs. */
        if ((attr->mask & VFS_ATTR_UID) && attr->uid != inode->uid)
            return -EPERM;
        if ((attr->mask & VFS_ATTR_GID) && (!owner || attr->gid != cred->fsgid))
            return -EPERM;
    }
    if (attr->mask & VFS_ATTR_SIZE) {
        if (S_ISDIR(inode->mode))
            return -EISDIR;
        if (!S_ISREG(inode->mode))
            return -EINVAL;
        if (attr->size < 0)
            return -EINVAL;
    }
    if (!inode->ops->setattr)
        return -EPERM;
    return inode->ops->setattr(inode, attr);
}
