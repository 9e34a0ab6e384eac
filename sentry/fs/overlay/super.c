/* The overlay's super block and inodes: creation, attributes taken from the real object, the
 * lists of lower-only children that rename consults, and teardown. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>

#include "sentry/fs/overlay/overlay.h"
#include "sentry/fs/overlay/overlay_internal.h"

/* Root in the sandbox: the overlay's own work in the upper layer needs no permission. */
const struct vfs_cred ovl_cred = {
    .fsuid = 0, .fsgid = 0, .dac_override = true, .fowner = true, .mknod = true};

static void ovl_fs_destroy(struct ovl_fs *ofs)
{
    dentry_put(ofs->lower_root);
    dentry_put(ofs->upper_root);
    pthread_mutex_destroy(&ofs->lock);
    free(ofs->sb);
    free(ofs);
}

/* statfs(2) reports the upper layer's space, as overlayfs does, with overlayfs's magic. */
static int ovl_statfs(struct super_block *sb, struct statfs *out)
{
    struct ovl_fs *ofs = sb->priv;
    struct super_block *upper_sb = ofs->upper_root->inode->sb;
    struct super_block *lower_sb = ofs->lower_root->inode->sb;
    int err = -ENOSYS;
    /* The sizes of the container's image (the lower layer: for `runsc do`, the host's disk), as
     * df shows them for a root outside; an in-memory upper has none to give. Linux's overlayfs
     * reports the upper layer, whose size here would be no disk at all. */
    if (lower_sb->ops && lower_sb->ops->statfs)
        err = lower_sb->ops->statfs(lower_sb, out);
    if (err && upper_sb->ops && upper_sb->ops->statfs) {
        memset(out, 0, sizeof(*out));
        err = upper_sb->ops->statfs(upper_sb, out);
    } else if (err) {
        err = 0;
        out->f_bsize = 4096;
        out->f_frsize = 4096;
        out->f_namelen = 255;
    }
    out->f_type = OVERLAYFS_SUPER_MAGIC;
    return err;
}

static const struct super_block_ops ovl_sb_ops = {
    .statfs = ovl_statfs,
};

void ovl_attr_sync(struct inode *inode)
{
    struct ovl_inode *o = ovl_i(inode);
    struct inode *upper = ovl_upper(o);
    struct inode *real = upper ? upper : o->lower;

    pthread_mutex_lock(&real->lock);
    mode_t mode = real->mode;
    nlink_t nlink = real->nlink;
    uid_t uid = real->uid;
    gid_t gid = real->gid;
    dev_t rdev = real->rdev;
    int64_t size = real->size, blocks = real->blocks;
    struct timespec atime = real->atime, mtime = real->mtime, ctime = real->ctime;
    pthread_mutex_unlock(&real->lock);

    /* A merged directory shows the lower directory's link count and size: the container's
     * image as the host has it, so listings read as they do outside (Linux's overlayfs says 1,
     * which would tell every `ls -la` apart from the host's). */
    if (S_ISDIR(mode) && upper && o->lower) {
        pthread_mutex_lock(&o->lower->lock);
        nlink = o->lower->nlink;
        size = o->lower->size;
        blocks = o->lower->blocks;
        pthread_mutex_unlock(&o->lower->lock);
    }
    pthread_mutex_lock(&inode->lock);
    inode->mode = (inode->mode & S_IFMT) | (mode & 07777);
    inode->nlink = nlink;
    inode->uid = uid;
    inode->gid = gid;
    inode->rdev = rdev;
    inode->size = size;
    inode->blocks = blocks;
    inode->atime = atime;
    inode->mtime = mtime;
    inode->ctime = ctime;
    pthread_mutex_unlock(&inode->lock);
}

int ovl_getattr(struct inode *inode)
{
    struct inode *real = ovl_real(ovl_i(inode));
    if (real->ops->getattr) {
        int err = real->ops->getattr(real);
        if (err)
            return err;
    }
    ovl_attr_sync(inode);
    return 0;
}

static void ovl_child_list(struct ovl_inode *parent, struct ovl_inode *o)
{
    o->sibling_prev = NULL;
    o->sibling_next = parent->children;
    if (parent->children)
        parent->children->sibling_prev = o;
    parent->children = o;
    o->listed = true;
}

void ovl_child_unlist(struct ovl_inode *o)
{
    if (!o->listed)
        return;
    struct ovl_inode *parent = ovl_i(o->parent);
    if (o->sibling_prev)
        o->sibling_prev->sibling_next = o->sibling_next;
    else
        parent->children = o->sibling_next;
    if (o->sibling_next)
        o->sibling_next->sibling_prev = o->sibling_prev;
    o->sibling_prev = o->sibling_next = NULL;
    o->listed = false;
}

struct inode *ovl_child_find(struct ovl_fs *ofs, struct inode *dir, const char *name)
{
    struct inode *found = NULL;
    pthread_mutex_lock(&ofs->lock);
    for (struct ovl_inode *c = ovl_i(dir)->children; c; c = c->sibling_next) {
        /* A child whose last reference is going waits in ovl_evict for this lock: skip it. */
        if (strcmp(c->name, name) == 0 && inode_tryget(c->inode)) {
            found = c->inode;
            break;
        }
    }
    pthread_mutex_unlock(&ofs->lock);
    return found;
}

int ovl_inode_new(struct ovl_fs *ofs, struct inode *parent, const char *name, struct inode *upper,
                  struct inode *lower, uint64_t ino, struct inode **out)
{
    struct inode *real = upper ? upper : lower;
    struct ovl_inode *o = calloc(1, sizeof(*o));
    if (!o)
        return -ENOMEM;
    o->name = strdup(name);
    if (!o->name) {
        free(o);
        return -ENOMEM;
    }
    struct inode *inode = inode_alloc(ofs->sb, &ovl_inode_ops, real->mode, ino);
    if (!inode) {
        free(o->name);
        free(o);
        return -ENOMEM;
    }
    pthread_mutex_init(&o->copy_lock, NULL);
    o->inode = inode;
    if (upper)
        inode_get(upper);
    atomic_init(&o->upper, upper);
    if (lower)
        inode_get(lower);
    o->lower = lower;
    if (parent)
        inode_get(parent);
    o->parent = parent;
    inode->priv = o;
    ovl_attr_sync(inode);
    if (!upper && parent && !S_ISDIR(real->mode)) {
        pthread_mutex_lock(&ofs->lock);
        ovl_child_list(ovl_i(parent), o);
        pthread_mutex_unlock(&ofs->lock);
    }
    *out = inode;
    return 0;
}

void ovl_evict(struct inode *inode)
{
    struct ovl_inode *o = ovl_i(inode);
    struct ovl_fs *ofs = ovl_fs_of(inode);
    pthread_mutex_lock(&ofs->lock);
    ovl_child_unlist(o);
    pthread_mutex_unlock(&ofs->lock);
    inode_put(atomic_load_explicit(&o->upper, memory_order_relaxed));
    inode_put(o->lower);
    struct inode *parent = o->parent;
    pthread_mutex_destroy(&o->copy_lock);
    free(o->name);
    free(o);
    /* Every overlay inode holds its parent, so the root goes last and takes the fs along. */
    if (parent)
        inode_put(parent);
    else
        ovl_fs_destroy(ofs);
}

int overlay_create(struct dentry *lower_root, struct dentry *upper_root, struct super_block **sb,
                   struct dentry **root)
{
    struct inode *upper = upper_root->inode, *lower = lower_root->inode;
    if (!S_ISDIR(upper->mode) || !S_ISDIR(lower->mode))
        return -ENOTDIR;
    struct ovl_fs *ofs = calloc(1, sizeof(*ofs));
    if (!ofs)
        return -ENOMEM;
    ofs->sb = super_block_create("overlay", &ovl_sb_ops, ofs);
    if (!ofs->sb) {
        free(ofs);
        return -ENOMEM;
    }
    pthread_mutex_init(&ofs->lock, NULL);
    dentry_get(lower_root);
    ofs->lower_root = lower_root;
    dentry_get(upper_root);
    ofs->upper_root = upper_root;

    pthread_mutex_lock(&ofs->lock);
    bool opaque = ovl_upper_is_opaque(upper);
    pthread_mutex_unlock(&ofs->lock);
    if (opaque)
        lower = NULL;
    struct inode *inode;
    int err = ovl_inode_new(ofs, NULL, "/", upper, lower,
                            lower ? lower->ino : upper->ino | OVERLAY_UPPER_INO_BIT, &inode);
    if (err) {
        ovl_fs_destroy(ofs);
        return err;
    }
    struct dentry *d = dentry_alloc_root(inode);
    if (!d) {
        inode_put(inode); /* evicting the root destroys ofs */
        return -ENOMEM;
    }
    *sb = ofs->sb;
    *root = d;
    return 0;
}
