/* Directory operations on the overlay: creating in the upper layer (over whiteouts, making
 * directories opaque there), removing with whiteouts where the lower layer has the name, hard
 * links and rename with copy-up, and the inode operations table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <linux/fs.h>

#include "lib/log.h"
#include "sentry/fs/overlay/overlay.h"
#include "sentry/fs/overlay/overlay_internal.h"

enum ovl_make_kind { MAKE_CREATE, MAKE_MKDIR, MAKE_MKNOD, MAKE_SYMLINK, MAKE_LINK };

struct ovl_make {
    enum ovl_make_kind kind;
    mode_t mode;
    dev_t rdev;
    const char *target;       /* symlinks */
    struct inode *link_upper; /* hard links: the upper object to link */
    const struct vfs_cred *cred;
};

static int upper_make(struct inode *upper_dir, const char *name, const struct ovl_make *m,
                      struct inode **out)
{
    const struct inode_ops *ops = upper_dir->ops;
    switch (m->kind) {
    case MAKE_CREATE:
        return ops->create ? ops->create(upper_dir, name, m->mode, m->cred, out) : -EPERM;
    case MAKE_MKDIR:
        return ops->mkdir ? ops->mkdir(upper_dir, name, m->mode, m->cred, out) : -EPERM;
    case MAKE_MKNOD:
        return ops->mknod ? ops->mknod(upper_dir, name, m->mode, m->rdev, m->cred, out) : -EPERM;
    case MAKE_SYMLINK:
        return ops->symlink ? ops->symlink(upper_dir, name, m->target, m->cred, out) : -EPERM;
    case MAKE_LINK:
        if (!ops->link)
            return -EPERM;
        int err = ops->link(upper_dir, name, m->link_upper);
        if (!err) {
            inode_get(m->link_upper);
            *out = m->link_upper;
        }
        return err;
    }
    return -EINVAL;
}

static void restore_whiteout(struct inode *upper_dir, const char *name)
{
    struct inode *wh;
    if (upper_dir->ops->mknod &&
        upper_dir->ops->mknod(upper_dir, name, S_IFCHR, makedev(0, 0), &ovl_cred, &wh) == 0)
        inode_put(wh);
    else
        log_warning("overlay: could not restore the whiteout of %s", name);
}

/* Makes `name` in the upper directory of `dir` (copied up first), replacing a whiteout there;
 * a directory made over a whiteout is opaque, so the lower directory stays hidden. Returns the
 * upper object in *upper_out. ofs->lock is taken here. */
static int make_in_upper(struct inode *dir, const char *name, const struct ovl_make *m,
                         struct inode **upper_out)
{
    struct ovl_fs *ofs = ovl_fs_of(dir);
    int err = ovl_copy_up(dir, -1);
    if (err)
        return err;
    struct inode *upper_dir = ovl_upper(ovl_i(dir));
    bool had_whiteout = false;
    struct inode *existing, *made;

    pthread_mutex_lock(&ofs->lock);
    err = ovl_layer_lookup(upper_dir, name, &existing);
    if (err == 0) {
        if (ovl_is_whiteout(existing))
            err = ovl_upper_remove(upper_dir, name, existing);
        else
            err = -EEXIST;
        inode_put(existing);
        if (err)
            goto out_unlock;
        had_whiteout = true;
    } else if (err != -ENOENT) {
        goto out_unlock;
    }
    err = upper_make(upper_dir, name, m, &made);
    if (err)
        goto out_restore;
    if (had_whiteout && S_ISDIR(made->mode)) {
        err = ovl_set_opaque(made);
        if (err) {
            ovl_upper_remove(upper_dir, name, made);
            inode_put(made);
            goto out_restore;
        }
    }
    pthread_mutex_unlock(&ofs->lock);
    *upper_out = made;
    return 0;
out_restore:
    if (had_whiteout)
        restore_whiteout(upper_dir, name);
out_unlock:
    pthread_mutex_unlock(&ofs->lock);
    return err;
}

/* create, mkdir, mknod and symlink: a new upper-only object. */
static int ovl_make_new(struct inode *dir, const char *name, const struct ovl_make *m,
                        struct inode **out)
{
    struct ovl_fs *ofs = ovl_fs_of(dir);
    struct inode *upper;
    int err = make_in_upper(dir, name, m, &upper);
    if (err)
        return err;
    err = ovl_inode_new(ofs, dir, name, upper, NULL, upper->ino | OVERLAY_UPPER_INO_BIT, out);
    if (err) {
        struct inode *upper_dir = ovl_upper(ovl_i(dir));
        pthread_mutex_lock(&ofs->lock);
        ovl_upper_remove(upper_dir, name, upper);
        pthread_mutex_unlock(&ofs->lock);
    }
    inode_put(upper);
    ovl_attr_sync(dir);
    return err;
}

static int ovl_create(struct inode *dir, const char *name, mode_t mode, const struct vfs_cred *cred,
                      struct inode **out)
{
    struct ovl_make m = {.kind = MAKE_CREATE, .mode = mode, .cred = cred};
    return ovl_make_new(dir, name, &m, out);
}

static int ovl_mkdir(struct inode *dir, const char *name, mode_t mode, const struct vfs_cred *cred,
                     struct inode **out)
{
    struct ovl_make m = {.kind = MAKE_MKDIR, .mode = mode, .cred = cred};
    return ovl_make_new(dir, name, &m, out);
}

static int ovl_mknod(struct inode *dir, const char *name, mode_t mode, dev_t rdev,
                     const struct vfs_cred *cred, struct inode **out)
{
    struct ovl_make m = {.kind = MAKE_MKNOD, .mode = mode, .rdev = rdev, .cred = cred};
    return ovl_make_new(dir, name, &m, out);
}

static int ovl_symlink(struct inode *dir, const char *name, const char *target,
                       const struct vfs_cred *cred, struct inode **out)
{
    struct ovl_make m = {.kind = MAKE_SYMLINK, .target = target, .cred = cred};
    return ovl_make_new(dir, name, &m, out);
}

/* A hard link to a lower object links its upper copy (overlayfs without index=on: the copy-up
 * breaks any hard link the lower layer had). */
static int ovl_link(struct inode *dir, const char *name, struct inode *target)
{
    int err = ovl_copy_up(target, -1);
    if (err)
        return err;
    struct ovl_make m = {
        .kind = MAKE_LINK, .link_upper = ovl_upper(ovl_i(target)), .cred = &ovl_cred};
    struct inode *upper;
    err = make_in_upper(dir, name, &m, &upper);
    if (err)
        return err;
    inode_put(upper);
    ovl_attr_sync(target);
    ovl_attr_sync(dir);
    return 0;
}

static int merged_is_empty(struct inode *dir)
{
    struct dir_list l = {0};
    int err = ovl_readdir(dir, &l);
    if (!err && l.count)
        err = -ENOTEMPTY;
    dir_list_free(&l);
    return err;
}

/* unlink and rmdir: the upper object goes; where the lower layer has the name, a whiteout takes
 * its place (made first under a temporary name, so a failure leaves the name as it was). */
static int ovl_remove(struct inode *dir, const char *name, struct inode *victim)
{
    struct ovl_fs *ofs = ovl_fs_of(dir);
    struct ovl_inode *v = ovl_i(victim);
    bool is_dir = S_ISDIR(victim->mode);
    int err;

    if (is_dir) {
        err = merged_is_empty(victim);
        if (err)
            return err;
    }
    bool lower_has = ovl_lower_has(dir, name);
    if (lower_has) {
        err = ovl_copy_up(dir, -1);
        if (err)
            return err;
    }
    struct inode *upper_dir = ovl_upper(ovl_i(dir));
    if (!upper_dir)
        return -ENOENT;

    pthread_mutex_lock(&v->copy_lock);
    pthread_mutex_lock(&ofs->lock);
    struct inode *upper = NULL;
    char tmp[32];
    err = ovl_layer_lookup(upper_dir, name, &upper);
    if (err == -ENOENT && lower_has)
        err = 0;
    if (err)
        goto out_unlock;
    if (lower_has) {
        err = ovl_whiteout_tmp(ofs, upper_dir, tmp);
        if (err)
            goto out_unlock;
    }
    /* A non-directory is replaced by the whiteout in one rename; a directory (its leftover
     * whiteouts cleared) is removed first, as a rename can't put a file over it. */
    if (upper && (is_dir || !lower_has)) {
        err = is_dir ? ovl_clear_whiteouts(upper) : 0;
        if (!err)
            err = ovl_upper_remove(upper_dir, name, upper);
    }
    if (!err && lower_has)
        err = upper_dir->ops->rename(upper_dir, tmp, upper_dir, name, 0);
    if (err && lower_has) {
        struct inode *wh;
        if (ovl_layer_lookup(upper_dir, tmp, &wh) == 0) {
            ovl_upper_remove(upper_dir, tmp, wh);
            inode_put(wh);
        }
    }
    if (!err) {
        ovl_child_unlist(v);
        if (!ovl_upper(v))
            v->unlinked = true;
    }
out_unlock:
    pthread_mutex_unlock(&ofs->lock);
    pthread_mutex_unlock(&v->copy_lock);
    inode_put(upper);
    if (!err) {
        ovl_attr_sync(dir);
        ovl_attr_sync(victim);
        if (!ovl_upper(v) || is_dir) {
            pthread_mutex_lock(&victim->lock);
            victim->nlink = 0;
            pthread_mutex_unlock(&victim->lock);
        }
    }
    return err;
}

static int ovl_unlink(struct inode *dir, const char *name, struct inode *victim)
{
    return ovl_remove(dir, name, victim);
}

static int ovl_rmdir(struct inode *dir, const char *name, struct inode *victim)
{
    return ovl_remove(dir, name, victim);
}

/* The overlay inode the dentry cache holds for `name` (found through the parent's list while
 * it has no upper copy), or an equivalent fresh one. */
static int child_get(struct inode *dir, const char *name, struct inode **out)
{
    *out = ovl_child_find(ovl_fs_of(dir), dir, name);
    return *out ? 0 : ovl_lookup(dir, name, out);
}

/* Both sides copied up, then one rename in the upper layer; a whiteout where the lower layer
 * still has the old name; a directory landing on a name the lower layer has is made opaque. */
static int ovl_rename(struct inode *old_dir, const char *old_name, struct inode *new_dir,
                      const char *new_name, unsigned flags)
{
    struct ovl_fs *ofs = ovl_fs_of(old_dir);
    bool exchange = flags & RENAME_EXCHANGE;
    struct inode *src, *dst = NULL;
    int err = child_get(old_dir, old_name, &src);
    if (err)
        return err;
    err = child_get(new_dir, new_name, &dst);
    if (err == -ENOENT && !exchange)
        err = 0;
    if (err)
        goto out;
    struct ovl_inode *s = ovl_i(src), *t = dst ? ovl_i(dst) : NULL;
    /* overlayfs without redirect_dir can't move a directory with lower parts: EXDEV, and
     * mv(1) copies it instead. */
    if ((S_ISDIR(src->mode) && s->lower) || (exchange && S_ISDIR(dst->mode) && t->lower)) {
        err = -EXDEV;
        goto out;
    }
    err = ovl_copy_up(old_dir, -1);
    if (!err)
        err = ovl_copy_up(new_dir, -1);
    if (!err)
        err = ovl_copy_up(src, -1);
    if (!err && exchange)
        err = ovl_copy_up(dst, -1);
    if (err)
        goto out;
    bool old_has_lower = ovl_lower_has(old_dir, old_name);
    bool old_lower = !exchange && old_has_lower;
    bool new_lower = ovl_lower_has(new_dir, new_name);
    struct inode *old_upper_dir = ovl_upper(ovl_i(old_dir));
    struct inode *new_upper_dir = ovl_upper(ovl_i(new_dir));

    if (t)
        pthread_mutex_lock(&t->copy_lock);
    pthread_mutex_lock(&ofs->lock);
    struct inode *there = NULL;
    char tmp[32];
    if (ovl_layer_lookup(new_upper_dir, new_name, &there) == 0) {
        if (ovl_is_whiteout(there) && S_ISDIR(src->mode))
            err = ovl_upper_remove(new_upper_dir, new_name, there);
        else if (!exchange && S_ISDIR(there->mode))
            err = ovl_clear_whiteouts(there); /* the victim is empty in the merged view */
        inode_put(there);
    }
    if (!err && old_lower)
        err = ovl_whiteout_tmp(ofs, old_upper_dir, tmp);
    if (err)
        goto out_unlock;
    err = old_upper_dir->ops->rename
              ? old_upper_dir->ops->rename(old_upper_dir, old_name, new_upper_dir, new_name,
                                           flags & RENAME_EXCHANGE)
              : -EPERM;
    if (old_lower) {
        int werr = err ? -ENOENT
                       : old_upper_dir->ops->rename(old_upper_dir, tmp, old_upper_dir, old_name, 0);
        if (werr) {
            struct inode *wh;
            if (ovl_layer_lookup(old_upper_dir, tmp, &wh) == 0) {
                ovl_upper_remove(old_upper_dir, tmp, wh);
                inode_put(wh);
            }
            if (!err)
                log_warning("overlay: rename left %s without its whiteout: %d", old_name, werr);
        }
    }
    if (err)
        goto out_unlock;
    if (S_ISDIR(src->mode) && new_lower && ovl_set_opaque(ovl_upper(s)) != 0)
        log_warning("overlay: could not make %s opaque", new_name);
    if (exchange && S_ISDIR(dst->mode) && old_has_lower && ovl_set_opaque(ovl_upper(t)) != 0)
        log_warning("overlay: could not make %s opaque", old_name);
    if (t && !exchange) {
        ovl_child_unlist(t);
        if (!ovl_upper(t))
            t->unlinked = true;
    }
out_unlock:
    pthread_mutex_unlock(&ofs->lock);
    if (t)
        pthread_mutex_unlock(&t->copy_lock);
    if (!err) {
        ovl_attr_sync(old_dir);
        ovl_attr_sync(new_dir);
        ovl_attr_sync(src);
        if (dst)
            ovl_attr_sync(dst);
    }
out:
    inode_put(src);
    inode_put(dst);
    return err;
}

const struct inode_ops ovl_inode_ops = {
    .lookup = ovl_lookup,
    .create = ovl_create,
    .mkdir = ovl_mkdir,
    .mknod = ovl_mknod,
    .symlink = ovl_symlink,
    .link = ovl_link,
    .unlink = ovl_unlink,
    .rmdir = ovl_rmdir,
    .rename = ovl_rename,
    .readlink = ovl_readlink,
    .getattr = ovl_getattr,
    .setattr = ovl_setattr,
    .readdir = ovl_readdir,
    .open = ovl_open,
    .getxattr = ovl_getxattr,
    .setxattr = ovl_setxattr,
    .listxattr = ovl_listxattr,
    .removexattr = ovl_removexattr,
    .evict = ovl_evict,
};
