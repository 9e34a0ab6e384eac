/* tmpfs super blocks and inodes: creation with limits, accounting, attributes, opening by type,
 * statfs, and eviction (which frees a dying directory's whole subtree without recursion). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>

#include "sentry/fs/tmpfs/tmpfs.h"
#include "sentry/fs/tmpfs/tmpfs_internal.h"

static int special_open_enxio(struct inode *inode, int flags, struct file **out)
{
    return -ENXIO;
}

/* Set once before guests run; acquire/release so a reader sees the function fully published. */
static _Atomic(tmpfs_special_open_fn) special_open_hook = special_open_enxio;

void tmpfs_set_special_open(tmpfs_special_open_fn fn)
{
    atomic_store_explicit(&special_open_hook, fn ? fn : special_open_enxio, memory_order_release);
}

int tmpfs_special_open(struct inode *inode, int flags, struct file **out)
{
    tmpfs_special_open_fn fn = atomic_load_explicit(&special_open_hook, memory_order_acquire);
    return fn(inode, flags, out);
}

/* ---- accounting ---- */

int tmpfs_pages_reserve(struct tmpfs_sb *tsb, uint64_t n)
{
    int err = 0;
    pthread_mutex_lock(&tsb->usage_lock);
    if (tsb->max_pages && (n > tsb->max_pages || tsb->used_pages > tsb->max_pages - n))
        err = -ENOSPC;
    else
        tsb->used_pages += n;
    pthread_mutex_unlock(&tsb->usage_lock);
    return err;
}

void tmpfs_pages_unreserve(struct tmpfs_sb *tsb, uint64_t n)
{
    pthread_mutex_lock(&tsb->usage_lock);
    tsb->used_pages -= n;
    pthread_mutex_unlock(&tsb->usage_lock);
}

static int inode_reserve(struct tmpfs_sb *tsb)
{
    int err = 0;
    pthread_mutex_lock(&tsb->usage_lock);
    if (tsb->max_inodes && tsb->live_inodes >= tsb->max_inodes)
        err = -ENOSPC;
    else
        tsb->live_inodes++;
    pthread_mutex_unlock(&tsb->usage_lock);
    return err;
}

static void tsb_free(struct tmpfs_sb *tsb)
{
    pthread_mutex_destroy(&tsb->tree_lock);
    pthread_mutex_destroy(&tsb->usage_lock);
    free(tsb->sb);
    free(tsb);
}

/* Drops an inode's count; the last one frees the super block. */
static void inode_unreserve(struct tmpfs_sb *tsb)
{
    pthread_mutex_lock(&tsb->usage_lock);
    bool last = --tsb->live_inodes == 0;
    pthread_mutex_unlock(&tsb->usage_lock);
    if (last)
        tsb_free(tsb);
}

/* ---- inodes ---- */

int tmpfs_inode_new(struct tmpfs_sb *tsb, struct inode *dir, mode_t mode,
                    const struct vfs_cred *cred, struct inode **out)
{
    int err = inode_reserve(tsb);
    if (err)
        return err;
    struct tmpfs_inode *ti = calloc(1, sizeof(*ti));
    if (!ti)
        goto out_unreserve;
    struct inode *inode = inode_alloc(tsb->sb, &tmpfs_inode_ops, mode, 0);
    if (!inode)
        goto out_free;
    ti->tsb = tsb;
    if (S_ISREG(mode))
        tmpfs_regular_init(&ti->reg);
    inode->priv = ti;
    inode->uid = cred->fsuid;
    inode->gid = cred->fsgid;
    if (S_ISDIR(mode))
        inode->size = 2 * TMPFS_DIRENT_SIZE;
    if (dir) {
        /* inode_init_owner: a setgid directory gives its group, and its setgid bit to
         * subdirectories. */
        pthread_mutex_lock(&dir->lock);
        if (dir->mode & S_ISGID) {
            inode->gid = dir->gid;
            if (S_ISDIR(mode))
                inode->mode |= S_ISGID;
        }
        pthread_mutex_unlock(&dir->lock);
    }
    *out = inode;
    return 0;
out_free:
    free(ti);
out_unreserve:
    inode_unreserve(tsb);
    return -ENOMEM;
}

/* Directory entries of inodes being evicted on this thread, put by the outermost evict so a deep
 * tree is freed in a loop, not by recursion. */
static _Thread_local struct tmpfs_dirent *evict_pending;
static _Thread_local bool evict_running;

static void tmpfs_evict(struct inode *inode)
{
    struct tmpfs_inode *ti = tmpfs_inode_of(inode);
    if (!ti)
        return;
    struct tmpfs_sb *tsb = ti->tsb;
    tmpfs_xattrs_free(ti->xattrs);
    if (S_ISREG(inode->mode)) {
        tmpfs_regular_destroy(tsb, &ti->reg);
    } else if (S_ISLNK(inode->mode) && ti->symlink) { /* NULL when creation failed */
        if (strlen(ti->symlink) >= TMPFS_SHORT_SYMLINK)
            tmpfs_pages_unreserve(tsb, 1);
        free(ti->symlink);
    } else if (S_ISDIR(inode->mode)) {
        struct tmpfs_dirent *e = tmpfs_dir_take_entries(&ti->dir);
        while (e) {
            struct tmpfs_dirent *next = e->next;
            e->next = evict_pending;
            evict_pending = e;
            e = next;
        }
    }
    free(ti);
    inode->priv = NULL;
    /* The children still count this super block: it outlives the loop below. */
    if (!evict_running) {
        evict_running = true;
        while (evict_pending) {
            struct tmpfs_dirent *e = evict_pending;
            evict_pending = e->next;
            struct inode *child = e->inode;
            e->inode = NULL;
            tmpfs_dirent_free(e);
            inode_put(child);
        }
        evict_running = false;
    }
    inode_unreserve(tsb);
}

static ssize_t tmpfs_readlink(struct inode *inode, char *buf, size_t size)
{
    const char *target = tmpfs_inode_of(inode)->symlink;
    size_t len = strlen(target);
    if (len > size)
        len = size;
    memcpy(buf, target, len);
    return (ssize_t)len;
}

static int tmpfs_setattr(struct inode *inode, const struct vfs_setattr *attr)
{
    if (attr->mask & VFS_ATTR_SIZE) {
        if (S_ISDIR(inode->mode))
            return -EISDIR;
        if (!S_ISREG(inode->mode) || attr->size < 0)
            return -EINVAL;
        int err = tmpfs_regular_truncate(inode, attr->size);
        if (err)
            return err;
    }
    inode_apply_setattr(inode, attr);
    return 0;
}

/* ---- directories as open files ---- */

struct tmpfs_dir_file {
    struct file base;
};

static void tmpfs_dir_release(struct file *f)
{
    file_release_common(f);
    free(f);
}

static int tmpfs_dir_fsync(struct file *f, bool datasync)
{
    return 0;
}

static const struct file_ops tmpfs_dir_file_ops = {
    .fsync = tmpfs_dir_fsync,
    .release = tmpfs_dir_release,
};

static int tmpfs_open(struct inode *inode, int flags, struct file **out)
{
    if (S_ISREG(inode->mode))
        return tmpfs_regular_open(inode, flags, out);
    if (S_ISLNK(inode->mode))
        return -ELOOP;
    if (S_ISDIR(inode->mode)) {
        struct tmpfs_dir_file *df = calloc(1, sizeof(*df));
        if (!df)
            return -ENOMEM;
        file_init_inode(&df->base, &tmpfs_dir_file_ops, flags, inode);
        *out = &df->base;
        return 0;
    }
    struct tmpfs_sb *tsb = tmpfs_inode_of(inode)->tsb;
    if (tsb->special_open)
        return tsb->special_open(inode, flags, out);
    return tmpfs_special_open(inode, flags, out);
}

const struct inode_ops tmpfs_inode_ops = {
    .lookup = tmpfs_lookup,
    .create = tmpfs_create_file,
    .mkdir = tmpfs_mkdir,
    .mknod = tmpfs_mknod,
    .symlink = tmpfs_symlink,
    .link = tmpfs_link,
    .unlink = tmpfs_unlink,
    .rmdir = tmpfs_rmdir,
    .rename = tmpfs_rename,
    .readlink = tmpfs_readlink,
    .setattr = tmpfs_setattr,
    .readdir = tmpfs_readdir,
    .open = tmpfs_open,
    .getxattr = tmpfs_getxattr,
    .setxattr = tmpfs_setxattr,
    .listxattr = tmpfs_listxattr,
    .removexattr = tmpfs_removexattr,
    .evict = tmpfs_evict,
};

/* ---- super block ---- */

static int tmpfs_statfs(struct super_block *sb, struct statfs *out)
{
    struct tmpfs_sb *tsb = sb->priv;
    memset(out, 0, sizeof(*out));
    out->f_type = TMPFS_MAGIC;
    out->f_bsize = TMPFS_PAGE_SIZE;
    out->f_frsize = TMPFS_PAGE_SIZE;
    out->f_namelen = NAME_MAX;
    out->f_fsid.__val[0] = (int)(sb->dev & 0xffffffff);
    out->f_fsid.__val[1] = (int)(sb->dev >> 32);
    pthread_mutex_lock(&tsb->usage_lock);
    /* shmem_statfs: the block and inode counts are reported only when limited. */
    if (tsb->max_pages) {
        out->f_blocks = tsb->max_pages;
        out->f_bfree = out->f_bavail = tsb->max_pages - tsb->used_pages;
    }
    if (tsb->max_inodes) {
        out->f_files = tsb->max_inodes;
        out->f_ffree = tsb->max_inodes - tsb->live_inodes;
    }
    pthread_mutex_unlock(&tsb->usage_lock);
    return 0;
}

static const struct super_block_ops tmpfs_sb_ops = {
    .statfs = tmpfs_statfs,
};

bool tmpfs_is_tmpfs(const struct super_block *sb)
{
    return sb->ops == &tmpfs_sb_ops;
}

int tmpfs_create(const struct tmpfs_options *opts, struct super_block **sb, struct dentry **root)
{
    static const struct tmpfs_options defaults = {.root_mode = 01777};
    if (!opts)
        opts = &defaults;
    struct tmpfs_sb *tsb = calloc(1, sizeof(*tsb));
    if (!tsb)
        return -ENOMEM;
    tsb->sb = super_block_create("tmpfs", &tmpfs_sb_ops, tsb);
    if (!tsb->sb) {
        free(tsb);
        return -ENOMEM;
    }
    pthread_mutex_init(&tsb->tree_lock, NULL);
    pthread_mutex_init(&tsb->usage_lock, NULL);
    tsb->max_pages = (opts->size_limit + TMPFS_PAGE_SIZE - 1) / TMPFS_PAGE_SIZE;
    if (opts->size_limit && !tsb->max_pages)
        tsb->max_pages = 1;
    tsb->max_inodes = opts->nr_inodes;
    tsb->special_open = opts->special_open;

    struct vfs_cred owner = {.fsuid = opts->uid, .fsgid = opts->gid};
    struct inode *inode;
    /* The root: from here on its inode owns tsb (the last inode to go frees it). */
    int err = tmpfs_inode_new(tsb, NULL, S_IFDIR | (opts->root_mode & 07777), &owner, &inode);
    if (err) {
        tsb_free(tsb);
        return err;
    }
    struct super_block *s = tsb->sb;
    struct dentry *d = dentry_alloc_root(inode);
    if (!d) {
        inode_put(inode); /* frees tsb */
        return -ENOMEM;
    }
    *sb = s;
    *root = d;
    return 0;
}
