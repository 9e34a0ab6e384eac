/* tmpfs directories: entries in creation order with a name hash, and the namespace operations
 * (create, mkdir, mknod, symlink, link, unlink, rmdir, rename with NOREPLACE and EXCHANGE), each
 * keeping nlink, sizes and times as Linux's shmem does. All entry lists are under tree_lock. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>

#include "sentry/fs/tmpfs/tmpfs_internal.h"

static size_t name_hash(const char *name)
{
    size_t h = 5381;
    for (; *name; name++)
        h = h * 33 + (unsigned char)*name;
    return h;
}

static struct tmpfs_dir *dir_of(struct inode *inode)
{
    return &tmpfs_inode_of(inode)->dir;
}

static struct tmpfs_sb *tsb_of(struct inode *inode)
{
    return tmpfs_inode_of(inode)->tsb;
}

static struct tmpfs_dirent *dir_find(struct tmpfs_dir *d, const char *name)
{
    if (!d->nbuckets)
        return NULL;
    for (struct tmpfs_dirent *e = d->buckets[name_hash(name) % d->nbuckets]; e; e = e->hash_next)
        if (strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

static void dir_hash(struct tmpfs_dir *d, struct tmpfs_dirent *e)
{
    size_t h = name_hash(e->name) % d->nbuckets;
    e->hash_next = d->buckets[h];
    d->buckets[h] = e;
}

static void dir_unhash(struct tmpfs_dir *d, struct tmpfs_dirent *e)
{
    struct tmpfs_dirent **pp = &d->buckets[name_hash(e->name) % d->nbuckets];
    while (*pp != e)
        pp = &(*pp)->hash_next;
    *pp = e->hash_next;
    e->hash_next = NULL;
}

/* Makes room for one more entry. */
static int dir_reserve(struct tmpfs_dir *d)
{
    if (d->count < d->nbuckets)
        return 0;
    size_t nb = d->nbuckets ? d->nbuckets * 2 : 8;
    struct tmpfs_dirent **b = calloc(nb, sizeof(*b));
    if (!b)
        return -ENOMEM;
    free(d->buckets);
    d->buckets = b;
    d->nbuckets = nb;
    for (struct tmpfs_dirent *e = d->first; e; e = e->next)
        dir_hash(d, e);
    return 0;
}

/* Appends e (after dir_reserve). */
static void dir_append(struct tmpfs_dir *d, struct tmpfs_dirent *e)
{
    e->next = NULL;
    e->prev = d->last;
    if (d->last)
        d->last->next = e;
    else
        d->first = e;
    d->last = e;
    dir_hash(d, e);
    d->count++;
}

static void dir_remove(struct tmpfs_dir *d, struct tmpfs_dirent *e)
{
    dir_unhash(d, e);
    if (e->prev)
        e->prev->next = e->next;
    else
        d->first = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        d->last = e->prev;
    e->prev = e->next = NULL;
    d->count--;
}

struct tmpfs_dirent *tmpfs_dir_take_entries(struct tmpfs_dir *d)
{
    struct tmpfs_dirent *first = d->first;
    free(d->buckets);
    memset(d, 0, sizeof(*d));
    return first;
}

void tmpfs_dirent_free(struct tmpfs_dirent *e)
{
    free(e->name);
    free(e);
}

/* Changes a directory's size by `entries` entries and its link count by `links`, and sets its
 * mtime and ctime. */
static void dir_changed(struct inode *dir, int entries, int links)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    pthread_mutex_lock(&dir->lock);
    dir->size += (int64_t)entries * TMPFS_DIRENT_SIZE;
    dir->nlink = (nlink_t)((long)dir->nlink + links);
    dir->mtime = dir->ctime = now;
    pthread_mutex_unlock(&dir->lock);
}

static void inode_links(struct inode *inode, int links, bool clear)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    pthread_mutex_lock(&inode->lock);
    inode->nlink = clear ? 0 : (nlink_t)((long)inode->nlink + links);
    inode->ctime = now;
    pthread_mutex_unlock(&inode->lock);
}

static bool dir_dead(struct inode *dir)
{
    pthread_mutex_lock(&dir->lock);
    bool dead = dir->nlink == 0;
    pthread_mutex_unlock(&dir->lock);
    return dead;
}

/* Adds name → inode to dir (tree_lock held), the directory taking its own inode reference. */
static int dir_add(struct inode *dir, const char *name, struct inode *inode)
{
    struct tmpfs_dir *d = dir_of(dir);
    if (dir_find(d, name))
        return -EEXIST;
    if (dir_dead(dir))
        return -ENOENT; /* removed while someone still had it open or as cwd */
    struct tmpfs_dirent *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->name = strdup(name);
    int err = e->name ? dir_reserve(d) : -ENOMEM;
    if (err) {
        tmpfs_dirent_free(e);
        return err;
    }
    inode_get(inode);
    e->inode = inode;
    dir_append(d, e);
    dir_changed(dir, 1, S_ISDIR(inode->mode) ? 1 : 0);
    return 0;
}

int tmpfs_lookup(struct inode *dir, const char *name, struct inode **out)
{
    struct tmpfs_sb *tsb = tsb_of(dir);
    pthread_mutex_lock(&tsb->tree_lock);
    struct tmpfs_dirent *e = dir_find(dir_of(dir), name);
    if (e) {
        inode_get(e->inode);
        *out = e->inode;
    }
    pthread_mutex_unlock(&tsb->tree_lock);
    return e ? 0 : -ENOENT;
}

/* Makes a new inode of `mode` and links it into dir as `name`. */
static int make_child(struct inode *dir, const char *name, mode_t mode, dev_t rdev,
                      const char *target, const struct vfs_cred *cred, struct inode **out)
{
    struct tmpfs_sb *tsb = tsb_of(dir);
    if (strlen(name) > NAME_MAX)
        return -ENAMETOOLONG;
    size_t target_len = target ? strlen(target) : 0;
    /* shmem_symlink: a target and its NUL must fit in a page. */
    if (target && target_len + 1 > TMPFS_PAGE_SIZE)
        return -ENAMETOOLONG;
    struct inode *inode;
    int err = tmpfs_inode_new(tsb, dir, mode, cred, &inode);
    if (err)
        return err;
    if (S_ISCHR(mode) || S_ISBLK(mode))
        inode->rdev = rdev;
    if (target) {
        char *copy = strdup(target);
        if (!copy) {
            err = -ENOMEM;
            goto out_put;
        }
        if (target_len >= TMPFS_SHORT_SYMLINK) {
            err = tmpfs_pages_reserve(tsb, 1);
            if (err) {
                free(copy);
                goto out_put;
            }
        }
        tmpfs_inode_of(inode)->symlink = copy;
        inode->size = (int64_t)target_len;
        inode->blocks = target_len >= TMPFS_SHORT_SYMLINK ? TMPFS_PAGE_SIZE / 512 : 0;
    }
    pthread_mutex_lock(&tsb->tree_lock);
    err = dir_add(dir, name, inode);
    pthread_mutex_unlock(&tsb->tree_lock);
    if (err)
        goto out_put;
    *out = inode;
    return 0;
out_put:
    inode_put(inode);
    return err;
}

int tmpfs_create_file(struct inode *dir, const char *name, mode_t mode, const struct vfs_cred *cred,
                      struct inode **out)
{
    return make_child(dir, name, S_IFREG | (mode & 07777), 0, NULL, cred, out);
}

int tmpfs_mkdir(struct inode *dir, const char *name, mode_t mode, const struct vfs_cred *cred,
                struct inode **out)
{
    return make_child(dir, name, S_IFDIR | (mode & 07777), 0, NULL, cred, out);
}

int tmpfs_mknod(struct inode *dir, const char *name, mode_t mode, dev_t rdev,
                const struct vfs_cred *cred, struct inode **out)
{
    mode_t type = mode & S_IFMT;
    if (type == S_IFREG || type == 0)
        return make_child(dir, name, S_IFREG | (mode & 07777), 0, NULL, cred, out);
    if (type != S_IFCHR && type != S_IFBLK && type != S_IFIFO && type != S_IFSOCK)
        return -EINVAL;
    return make_child(dir, name, mode, rdev, NULL, cred, out);
}

int tmpfs_symlink(struct inode *dir, const char *name, const char *target,
                  const struct vfs_cred *cred, struct inode **out)
{
    return make_child(dir, name, S_IFLNK | 0777, 0, target, cred, out);
}

int tmpfs_link(struct inode *dir, const char *name, struct inode *target)
{
    if (S_ISDIR(target->mode))
        return -EPERM;
    if (target->sb != dir->sb)
        return -EXDEV;
    struct tmpfs_sb *tsb = tsb_of(dir);
    pthread_mutex_lock(&tsb->tree_lock);
    pthread_mutex_lock(&target->lock);
    /* Linux refuses to link an unlinked file back in (it has no name to come from). */
    bool gone = target->nlink == 0;
    pthread_mutex_unlock(&target->lock);
    int err = gone ? -ENOENT : dir_add(dir, name, target);
    if (!err)
        inode_links(target, 1, false);
    pthread_mutex_unlock(&tsb->tree_lock);
    return err;
}

static bool dir_empty(struct inode *inode)
{
    return dir_of(inode)->count == 0;
}

/* Removes name from dir; a directory must be empty. The dirent is returned to free (with its
 * inode reference) once tree_lock is dropped. */
static int remove_entry(struct inode *dir, const char *name, bool want_dir,
                        struct tmpfs_dirent **out)
{
    struct tmpfs_dirent *e = dir_find(dir_of(dir), name);
    if (!e)
        return -ENOENT;
    struct inode *victim = e->inode;
    if (want_dir && !S_ISDIR(victim->mode))
        return -ENOTDIR;
    if (!want_dir && S_ISDIR(victim->mode))
        return -EISDIR;
    if (want_dir && !dir_empty(victim))
        return -ENOTEMPTY;
    dir_remove(dir_of(dir), e);
    dir_changed(dir, -1, want_dir ? -1 : 0);
    inode_links(victim, -1, want_dir);
    *out = e;
    return 0;
}

static int unlink_common(struct inode *dir, const char *name, bool want_dir)
{
    struct tmpfs_sb *tsb = tsb_of(dir);
    struct tmpfs_dirent *e = NULL;
    pthread_mutex_lock(&tsb->tree_lock);
    int err = remove_entry(dir, name, want_dir, &e);
    pthread_mutex_unlock(&tsb->tree_lock);
    if (e) {
        inode_put(e->inode);
        tmpfs_dirent_free(e);
    }
    return err;
}

int tmpfs_unlink(struct inode *dir, const char *name, struct inode *victim)
{
    return unlink_common(dir, name, false);
}

int tmpfs_rmdir(struct inode *dir, const char *name, struct inode *victim)
{
    return unlink_common(dir, name, true);
}

/* RENAME_EXCHANGE: the two entries swap inodes; directories moving between parents carry a
 * link of their parent with them. */
static void rename_exchange(struct inode *old_dir, struct tmpfs_dirent *src, struct inode *new_dir,
                            struct tmpfs_dirent *dst)
{
    struct inode *a = src->inode, *b = dst->inode;
    src->inode = b;
    dst->inode = a;
    int moved = (S_ISDIR(a->mode) ? 1 : 0) - (S_ISDIR(b->mode) ? 1 : 0);
    if (old_dir != new_dir) {
        dir_changed(old_dir, 0, -moved);
        dir_changed(new_dir, 0, moved);
    } else {
        dir_changed(old_dir, 0, 0);
    }
    inode_links(a, 0, false);
    inode_links(b, 0, false);
}

int tmpfs_rename(struct inode *old_dir, const char *old_name, struct inode *new_dir,
                 const char *new_name, unsigned flags)
{
    if (strlen(new_name) > NAME_MAX)
        return -ENAMETOOLONG;
    struct tmpfs_sb *tsb = tsb_of(old_dir);
    if (new_dir->sb != old_dir->sb)
        return -EXDEV;
    char *name = strdup(new_name);
    if (!name)
        return -ENOMEM;
    struct inode *victim = NULL;
    int err = 0;
    pthread_mutex_lock(&tsb->tree_lock);
    struct tmpfs_dirent *src = dir_find(dir_of(old_dir), old_name);
    struct tmpfs_dirent *dst = dir_find(dir_of(new_dir), new_name);
    if (!src || ((flags & RENAME_EXCHANGE) && !dst)) {
        err = -ENOENT;
        goto out_unlock;
    }
    if (flags & RENAME_EXCHANGE) {
        rename_exchange(old_dir, src, new_dir, dst);
        goto out_unlock;
    }
    struct inode *inode = src->inode;
    bool is_dir = S_ISDIR(inode->mode);
    if (dst) {
        if (flags & RENAME_NOREPLACE) {
            err = -EEXIST;
            goto out_unlock;
        }
        if (dst->inode == inode)
            goto out_unlock; /* two links to one file: rename(2) does nothing */
        if (is_dir && !S_ISDIR(dst->inode->mode))
            err = -ENOTDIR;
        else if (!is_dir && S_ISDIR(dst->inode->mode))
            err = -EISDIR;
        else if (is_dir && !dir_empty(dst->inode))
            err = -ENOTEMPTY;
        if (err)
            goto out_unlock;
        /* The victim's entry takes the source's inode; the source's entry goes. */
        victim = dst->inode;
        dst->inode = inode;
        dir_remove(dir_of(old_dir), src);
        inode_links(victim, -1, is_dir);
        /* old_dir loses the source's entry (and its "..", for a directory); new_dir swaps the
         * victim's ".." for the source's, so its count stays. */
        dir_changed(old_dir, -1, is_dir ? -1 : 0);
        dir_changed(new_dir, 0, 0);
        src->inode = NULL;
        tmpfs_dirent_free(src);
    } else {
        struct tmpfs_dir *nd = dir_of(new_dir);
        if (dir_dead(new_dir)) {
            err = -ENOENT;
            goto out_unlock;
        }
        err = dir_reserve(nd);
        if (err)
            goto out_unlock;
        dir_remove(dir_of(old_dir), src);
        free(src->name);
        src->name = name;
        name = NULL;
        dir_append(nd, src);
        dir_changed(old_dir, -1, is_dir ? -1 : 0);
        dir_changed(new_dir, 1, is_dir ? 1 : 0);
    }
    inode_links(inode, 0, false);
out_unlock:
    pthread_mutex_unlock(&tsb->tree_lock);
    free(name);
    if (victim)
        inode_put(victim);
    return err;
}

int tmpfs_readdir(struct inode *dir, struct dir_list *out)
{
    struct tmpfs_sb *tsb = tsb_of(dir);
    int err = 0;
    pthread_mutex_lock(&tsb->tree_lock);
    for (struct tmpfs_dirent *e = dir_of(dir)->first; e && !err; e = e->next)
        err = dir_list_add(out, e->name, strlen(e->name), e->inode->ino, vfs_dtype(e->inode->mode));
    pthread_mutex_unlock(&tsb->tree_lock);
    return err;
}
