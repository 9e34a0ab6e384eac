/* Inodes and super blocks: allocation, references, attributes and permission checks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "sentry/vfs/vfs.h"

/* Anonymous device numbers for super blocks, as Linux hands out for tmpfs/proc (major 0). */
static atomic_uint next_anon_minor = 16;

struct super_block *super_block_create(const char *fs_name, const struct super_block_ops *ops,
                                       void *priv)
{
    struct super_block *sb = calloc(1, sizeof(*sb));
    if (!sb)
        return NULL;
    sb->ops = ops;
    sb->fs_name = fs_name;
    /* Relaxed: the counter only has to hand out distinct numbers. */
    sb->dev = makedev(0, atomic_fetch_add_explicit(&next_anon_minor, 1, memory_order_relaxed));
    atomic_init(&sb->next_ino, 1);
    sb->priv = priv;
    return sb;
}

struct inode *inode_alloc(struct super_block *sb, const struct inode_ops *ops, mode_t mode,
                          uint64_t ino)
{
    struct inode *inode = calloc(1, sizeof(*inode));
    if (!inode)
        return NULL;
    inode->ops = ops;
    inode->sb = sb;
    atomic_init(&inode->refs, 1);
    atomic_init(&inode->notify_mask, 0);
    pthread_mutex_init(&inode->lock, NULL);
    /* Relaxed: as above, distinct numbers are all that matter. */
    inode->ino = ino ? ino : atomic_fetch_add_explicit(&sb->next_ino, 1, memory_order_relaxed);
    inode->mode = mode;
    inode->nlink = S_ISDIR(mode) ? 2 : 1;
    clock_gettime(CLOCK_REALTIME, &inode->atime);
    inode->mtime = inode->ctime = inode->atime;
    return inode;
}

void inode_get(struct inode *inode)
{
    /* Relaxed: taking a reference needs no ordering, only the final put does. */
    atomic_fetch_add_explicit(&inode->refs, 1, memory_order_relaxed);
}

bool inode_tryget(struct inode *inode)
{
    /* Relaxed, as inode_get: a count seen above zero can't drop to zero while we add ours. */
    int refs = atomic_load_explicit(&inode->refs, memory_order_relaxed);
    while (refs > 0) {
        if (atomic_compare_exchange_weak_explicit(&inode->refs, &refs, refs + 1,
                                                  memory_order_relaxed, memory_order_relaxed))
            return true;
    }
    return false;
}

void inode_put(struct inode *inode)
{
    if (!inode)
        return;
    /* Acq-rel: the last put must see every other holder's writes before freeing. */
    if (atomic_fetch_sub_explicit(&inode->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (inode->ops && inode->ops->evict)
        inode->ops->evict(inode);
    pthread_mutex_destroy(&inode->lock);
    free(inode);
}

int inode_stat(struct inode *inode, struct stat *st)
{
    if (inode->ops && inode->ops->getattr) {
        int err = inode->ops->getattr(inode);
        if (err)
            return err;
    }
    memset(st, 0, sizeof(*st));
    pthread_mutex_lock(&inode->lock);
    st->st_dev = inode->sb->dev;
    st->st_ino = inode->ino;
    st->st_mode = inode->mode;
    st->st_nlink = inode->nlink;
    st->st_uid = inode->uid;
    st->st_gid = inode->gid;
    st->st_rdev = inode->rdev;
    st->st_size = inode->size;
    st->st_blksize = 4096;
    st->st_blocks = inode->blocks;
    st->st_atim = inode->atime;
    st->st_mtim = inode->mtime;
    st->st_ctim = inode->ctime;
    pthread_mutex_unlock(&inode->lock);
    return 0;
}

int inode_permission(struct inode *inode, const struct vfs_cred *cred, int mask)
{
    if (inode->ops && inode->ops->permission)
        return inode->ops->permission(inode, cred, mask);
    return inode_generic_permission(inode, cred, mask);
}

int inode_generic_permission(struct inode *inode, const struct vfs_cred *cred, int mask)
{
    pthread_mutex_lock(&inode->lock);
    mode_t mode = inode->mode;
    uid_t uid = inode->uid;
    gid_t gid = inode->gid;
    pthread_mutex_unlock(&inode->lock);

    if (cred->dac_override) {
        /* Capabilities override everything but executing a file no one may execute
         * (generic_permission: directories are always searchable). */
        if (!(mask & MAY_EXEC) || S_ISDIR(mode) || (mode & 0111))
            return 0;
        return -EACCES;
    }
    unsigned bits;
    if (cred->fsuid == uid)
        bits = (mode >> 6) & 7;
    else if (cred->fsgid == gid)
        bits = (mode >> 3) & 7;
    else
        bits = mode & 7;
    return ((unsigned)mask & ~bits) ? -EACCES : 0;
}

void inode_apply_setattr(struct inode *inode, const struct vfs_setattr *attr)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    pthread_mutex_lock(&inode->lock);
    if (attr->mask & VFS_ATTR_MODE)
        inode->mode = (inode->mode & S_IFMT) | (attr->mode & 07777);
    if (attr->mask & VFS_ATTR_UID)
        inode->uid = attr->uid;
    if (attr->mask & VFS_ATTR_GID)
        inode->gid = attr->gid;
    if (attr->mask & VFS_ATTR_ATIME)
        inode->atime = attr->atime;
    if (attr->mask & VFS_ATTR_MTIME)
        inode->mtime = attr->mtime;
    inode->ctime = (attr->mask & VFS_ATTR_CTIME) ? attr->ctime : now;
    pthread_mutex_unlock(&inode->lock);
}

void inode_touch(struct inode *inode, bool atime, bool mtime, bool ctime)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    pthread_mutex_lock(&inode->lock);
    if (atime)
        inode->atime = now;
    if (mtime)
        inode->mtime = now;
    if (ctime)
        inode->ctime = now;
    pthread_mutex_unlock(&inode->lock);
}

int dir_list_add(struct dir_list *l, const char *name, size_t len, uint64_t ino,
                 unsigned char type)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct dir_entry *e = realloc(l->entries, cap * sizeof(*e));
        if (!e)
            return -ENOMEM;
        l->entries = e;
        l->cap = cap;
    }
    char *copy = strndup(name, len);
    if (!copy)
        return -ENOMEM;
    l->entries[l->count++] = (struct dir_entry){.name = copy, .ino = ino, .type = type};
    return 0;
}

bool dir_list_contains(const struct dir_list *l, const char *name)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->entries[i].name, name) == 0)
            return true;
    return false;
}

void dir_list_free(struct dir_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->entries[i].name);
    free(l->entries);
    memset(l, 0, sizeof(*l));
}
