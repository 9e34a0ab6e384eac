/* rename(2) and renameat2(2): both directories locked in a fixed order, the checks Linux makes
 * (types, emptiness, moving a directory under itself, mounts, NOREPLACE and EXCHANGE), then the
 * filesystem's rename and the dentry cache updated to match. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/inotify.h>

#include "sentry/vfs/vfs.h"
#include "sentry/vfs/vfs_internal.h"

/* Whether `d` is `ancestor` or below it (within one filesystem's tree). */
static bool is_under(struct dentry *d, struct dentry *ancestor)
{
    for (; d; d = d->parent)
        if (d == ancestor)
            return true;
    return false;
}

static void lock_two(struct dentry *a, struct dentry *b)
{
    if (a == b) {
        pthread_mutex_lock(&a->dir_lock);
        return;
    }
    /* Ancestors first (the path walk takes them in that order), otherwise by address. */
    if (is_under(b, a) || (!is_under(a, b) && a < b)) {
        pthread_mutex_lock(&a->dir_lock);
        pthread_mutex_lock(&b->dir_lock);
    } else {
        pthread_mutex_lock(&b->dir_lock);
        pthread_mutex_lock(&a->dir_lock);
    }
}

static void unlock_two(struct dentry *a, struct dentry *b)
{
    pthread_mutex_unlock(&a->dir_lock);
    if (a != b)
        pthread_mutex_unlock(&b->dir_lock);
}

static bool dir_is_empty(struct inode *inode)
{
    if (!inode->ops->readdir)
        return true;
    struct dir_list l = {0};
    int err = inode->ops->readdir(inode, &l);
    bool empty = err == 0 && l.count == 0;
    dir_list_free(&l);
    return empty;
}

static int check_victim(struct inode *source, struct dentry *victim)
{
    struct inode *v = victim->inode;
    if (S_ISDIR(source->mode) && !S_ISDIR(v->mode))
        return -ENOTDIR;
    if (!S_ISDIR(source->mode) && S_ISDIR(v->mode))
        return -EISDIR;
    if (atomic_load_explicit(&victim->mounted, memory_order_acquire))
        return -EBUSY;
    if (S_ISDIR(v->mode) && !dir_is_empty(v))
        return -ENOTEMPTY;
    return 0;
}

/* fsnotify_move: the two halves of the move paired by a cookie, the replaced file's link count,
 * and the moved object itself. A replaced file's IN_DELETE_SELF follows when its dentry goes. */
static void notify_move(struct inode *from_dir, const char *from, struct inode *to_dir,
                        const char *to, struct inode *moved, struct inode *replaced)
{
    uint32_t isdir = S_ISDIR(moved->mode) ? IN_ISDIR : 0;
    uint32_t cookie = vfs_notify_cookie();
    vfs_notify(from_dir, IN_MOVED_FROM | isdir, from, cookie);
    vfs_notify(to_dir, IN_MOVED_TO | isdir, to, cookie);
    if (replaced)
        vfs_notify(replaced, IN_ATTRIB | (S_ISDIR(replaced->mode) ? IN_ISDIR : 0), NULL, 0);
    vfs_notify(moved, IN_MOVE_SELF, NULL, 0);
}

static bool bad_name(const char *name)
{
    return !name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

int vfs_rename(const struct walk_ctx *old_ctx, const char *old_path,
               const struct walk_ctx *new_ctx, const char *new_path, unsigned flags)
{
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
        return -EINVAL;
    if ((flags & RENAME_EXCHANGE) && (flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)))
        return -EINVAL;
    if (flags & RENAME_WHITEOUT)
        return -EPERM; /* needs CAP_MKNOD in the host's terms; no guest uses it */

    struct vfs_path op, np;
    char oname[NAME_MAX + 1], nname[NAME_MAX + 1];
    bool otrail, ntrail;
    int err = vfs_walk_parent(old_ctx, old_path, &op, oname, &otrail);
    if (err)
        return err;
    err = vfs_walk_parent(new_ctx, new_path, &np, nname, &ntrail);
    if (err)
        goto out_old;
    if (bad_name(oname) || bad_name(nname)) {
        err = -EBUSY; /* Linux: a last component that is not a plain name */
        goto out_new;
    }
    if (op.mnt != np.mnt) {
        err = -EXDEV;
        goto out_new;
    }
    if (op.mnt->flags & MNT_READONLY) {
        err = -EROFS;
        goto out_new;
    }

    struct dentry *odir = op.dentry, *ndir = np.dentry;
    pthread_mutex_lock(&vfs_rename_lock);
    lock_two(odir, ndir);
    struct dentry *source = NULL, *victim = NULL;
    err = vfs_lookup_child(odir, oname, true, &source);
    if (err)
        goto out_unlock;
    err = vfs_lookup_child(ndir, nname, true, &victim);
    if (err && err != -ENOENT)
        goto out_unlock;
    err = 0;
    struct inode *sinode = source->inode;
    if ((otrail || ntrail) && !S_ISDIR(sinode->mode)) {
        err = -ENOTDIR;
        goto out_unlock;
    }
    if ((flags & RENAME_EXCHANGE) && !victim) {
        err = -ENOENT;
        goto out_unlock;
    }
    if (victim && victim->inode == source->inode)
        goto out_unlock; /* the same file (or two links to it): rename does nothing */
    if ((flags & RENAME_NOREPLACE) && victim) {
        err = -EEXIST;
        goto out_unlock;
    }
    /* A directory can't move below itself; and nothing may replace an ancestor of the source. */
    if (S_ISDIR(sinode->mode) && is_under(ndir, source)) {
        err = -EINVAL;
        goto out_unlock;
    }
    if (victim && is_under(odir, victim)) {
        err = (flags & RENAME_EXCHANGE) ? -EINVAL : -ENOTEMPTY;
        goto out_unlock;
    }
    if (atomic_load_explicit(&source->mounted, memory_order_acquire)) {
        err = -EBUSY;
        goto out_unlock;
    }
    if (victim && !(flags & RENAME_EXCHANGE)) {
        err = check_victim(sinode, victim);
        if (err)
            goto out_unlock;
    }
    err = inode_permission(odir->inode, old_ctx->cred, MAY_WRITE | MAY_EXEC);
    if (!err)
        err = inode_permission(ndir->inode, new_ctx->cred, MAY_WRITE | MAY_EXEC);
    /* The sticky-bit rule for both names, and a directory changing parents must be writable
     * itself (its ".." changes): vfs_rename's may_delete and permission checks. */
    if (!err)
        err = vfs_may_delete(odir->inode, sinode, old_ctx->cred);
    if (!err && victim)
        err = vfs_may_delete(ndir->inode, victim->inode, new_ctx->cred);
    if (!err && odir != ndir && S_ISDIR(sinode->mode))
        err = inode_permission(sinode, old_ctx->cred, MAY_WRITE);
    if (!err && (flags & RENAME_EXCHANGE) && odir != ndir && S_ISDIR(victim->inode->mode))
        err = inode_permission(victim->inode, new_ctx->cred, MAY_WRITE);
    if (err)
        goto out_unlock;
    if (!odir->inode->ops->rename) {
        err = -EPERM;
        goto out_unlock;
    }
    err = odir->inode->ops->rename(odir->inode, oname, ndir->inode, nname, flags);
    if (err)
        goto out_unlock;
    if (flags & RENAME_EXCHANGE) {
        char tmp[] = "\x01rename";
        dcache_rename(odir, source, odir, tmp);
        dcache_rename(ndir, victim, odir, oname);
        dcache_rename(odir, source, ndir, nname);
    } else {
        if (victim) {
            /* The fs's rename is told names only, so an fs that works on its own copy of the
             * replaced inode (the overlay) leaves the cached one with its old link count:
             * refresh it, for fstat of an open copy and for IN_DELETE_SELF. */
            if (victim->inode->ops->getattr)
                victim->inode->ops->getattr(victim->inode);
            dcache_remove(ndir, victim);
        }
        err = dcache_rename(odir, source, ndir, nname);
    }
    inode_touch(odir->inode, false, true, true);
    inode_touch(ndir->inode, false, true, true);
    inode_touch(sinode, false, false, true);
    notify_move(odir->inode, oname, ndir->inode, nname, sinode,
                (flags & RENAME_EXCHANGE) ? NULL : (victim ? victim->inode : NULL));
    if (flags & RENAME_EXCHANGE)
        notify_move(ndir->inode, nname, odir->inode, oname, victim->inode, NULL);
out_unlock:
    unlock_two(odir, ndir);
    pthread_mutex_unlock(&vfs_rename_lock);
    if (source)
        dentry_put(source);
    if (victim)
        dentry_put(victim);
out_new:
    vfs_path_put(&np);
out_old:
    vfs_path_put(&op);
    return err;
}
