/* The overlay's view of its layers: whiteouts, opaque directories, origins, and the merged
 * lookup and listing of a directory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "sentry/fs/overlay/overlay.h"
#include "sentry/fs/overlay/overlay_internal.h"

/* overlayfs's whiteout: a character device with device number 0/0. */
bool ovl_is_whiteout(struct inode *inode)
{
    pthread_mutex_lock(&inode->lock);
    bool wh = S_ISCHR(inode->mode) && inode->rdev == makedev(0, 0);
    pthread_mutex_unlock(&inode->lock);
    return wh;
}

int ovl_layer_lookup(struct inode *dir, const char *name, struct inode **out)
{
    if (!dir->ops->lookup)
        return -ENOENT;
    return dir->ops->lookup(dir, name, out);
}

bool ovl_lower_has(struct inode *dir, const char *name)
{
    struct inode *lower = ovl_i(dir)->lower;
    struct inode *child;
    if (!lower || ovl_layer_lookup(lower, name, &child) != 0)
        return false;
    inode_put(child);
    return true;
}

bool ovl_upper_is_opaque(struct inode *upper_dir)
{
    char value[2];
    if (!upper_dir->ops->getxattr)
        return false;
    ssize_t n = upper_dir->ops->getxattr(upper_dir, OVERLAY_XATTR_OPAQUE, value, sizeof(value));
    return n == 1 && value[0] == 'y';
}

int ovl_set_opaque(struct inode *upper_dir)
{
    if (!upper_dir->ops->setxattr)
        return -EOPNOTSUPP;
    return upper_dir->ops->setxattr(upper_dir, OVERLAY_XATTR_OPAQUE, "y", 1, 0);
}

uint64_t ovl_upper_ino(struct inode *upper)
{
    unsigned char v[8];
    if (upper->ops->getxattr && upper->ops->getxattr(upper, OVERLAY_XATTR_ORIGIN, v, 8) == 8) {
        uint64_t ino = 0;
        for (int i = 7; i >= 0; i--)
            ino = ino << 8 | v[i];
        return ino;
    }
    return upper->ino | OVERLAY_UPPER_INO_BIT;
}

int ovl_whiteout_tmp(struct ovl_fs *ofs, struct inode *upper_dir, char *tmp)
{
    if (!upper_dir->ops->mknod)
        return -EPERM;
    for (int tries = 0;; tries++) {
        snprintf(tmp, 32, ".ovl-whiteout.%lu", ++ofs->tmp_seq);
        struct inode *wh;
        int err = upper_dir->ops->mknod(upper_dir, tmp, S_IFCHR, makedev(0, 0), &ovl_cred, &wh);
        if (err == 0) {
            inode_put(wh);
            return 0;
        }
        if (err != -EEXIST || tries == 8)
            return err;
    }
}

int ovl_upper_remove(struct inode *upper_dir, const char *name, struct inode *victim)
{
    if (S_ISDIR(victim->mode))
        return upper_dir->ops->rmdir ? upper_dir->ops->rmdir(upper_dir, name, victim) : -EPERM;
    return upper_dir->ops->unlink ? upper_dir->ops->unlink(upper_dir, name, victim) : -EPERM;
}

int ovl_clear_whiteouts(struct inode *upper_dir)
{
    struct dir_list l = {0};
    int err = upper_dir->ops->readdir ? upper_dir->ops->readdir(upper_dir, &l) : 0;
    for (size_t i = 0; !err && i < l.count; i++) {
        struct inode *child;
        err = ovl_layer_lookup(upper_dir, l.entries[i].name, &child);
        if (err)
            break;
        if (ovl_is_whiteout(child))
            err = ovl_upper_remove(upper_dir, l.entries[i].name, child);
        else
            err = -ENOTEMPTY;
        inode_put(child);
    }
    dir_list_free(&l);
    return err;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the upper directory into `out` (whiteouts left out, numbers as lookup gives them) and
 * every upper name, whiteouts included, sorted into *names (pointers into *upper_list). */
static int readdir_upper(struct ovl_fs *ofs, struct inode *upper_dir, struct dir_list *out,
                         struct dir_list *upper_list, char ***names)
{
    int err = 0;
    pthread_mutex_lock(&ofs->lock);
    if (upper_dir->ops->readdir)
        err = upper_dir->ops->readdir(upper_dir, upper_list);
    for (size_t i = 0; !err && i < upper_list->count; i++) {
        struct dir_entry *e = &upper_list->entries[i];
        struct inode *child;
        if (ovl_layer_lookup(upper_dir, e->name, &child) != 0)
            continue;
        if (!ovl_is_whiteout(child))
            err = dir_list_add(out, e->name, strlen(e->name), ovl_upper_ino(child), e->type);
        inode_put(child);
    }
    pthread_mutex_unlock(&ofs->lock);
    if (err || !upper_list->count)
        return err;
    *names = malloc(upper_list->count * sizeof(**names));
    if (!*names)
        return -ENOMEM;
    for (size_t i = 0; i < upper_list->count; i++)
        (*names)[i] = upper_list->entries[i].name;
    qsort(*names, upper_list->count, sizeof(**names), name_cmp);
    return 0;
}

/* The merged listing: upper entries, then lower entries the upper has no name for (neither an
 * object nor a whiteout). */
int ovl_readdir(struct inode *dir, struct dir_list *out)
{
    struct ovl_fs *ofs = ovl_fs_of(dir);
    struct ovl_inode *d = ovl_i(dir);
    struct inode *upper_dir = ovl_upper(d);
    struct dir_list upper_list = {0}, lower_list = {0};
    char **names = NULL;
    int err = 0;

    if (upper_dir)
        err = readdir_upper(ofs, upper_dir, out, &upper_list, &names);
    if (!err && d->lower && d->lower->ops->readdir)
        err = d->lower->ops->readdir(d->lower, &lower_list);
    for (size_t i = 0; !err && i < lower_list.count; i++) {
        struct dir_entry *e = &lower_list.entries[i];
        if (names && bsearch(&e->name, names, upper_list.count, sizeof(*names), name_cmp))
            continue;
        err = dir_list_add(out, e->name, strlen(e->name), e->ino, e->type);
    }
    free(names);
    dir_list_free(&upper_list);
    dir_list_free(&lower_list);
    return err;
}

/* Upper first: a whiteout hides the name, a non-directory hides the lower object, a directory
 * merges with a lower directory unless it is opaque. */
int ovl_lookup(struct inode *dir, const char *name, struct inode **out)
{
    struct ovl_fs *ofs = ovl_fs_of(dir);
    struct ovl_inode *d = ovl_i(dir);
    struct inode *upper_dir = ovl_upper(d);
    struct inode *upper = NULL, *lower = NULL;
    bool opaque = false;
    uint64_t ino = 0;
    int err;

    if (upper_dir) {
        pthread_mutex_lock(&ofs->lock);
        err = ovl_layer_lookup(upper_dir, name, &upper);
        if (!err && ovl_is_whiteout(upper)) {
            inode_put(upper);
            upper = NULL;
            err = -ENOENT;
            pthread_mutex_unlock(&ofs->lock);
            return err;
        }
        if (!err) {
            ino = ovl_upper_ino(upper);
            opaque = S_ISDIR(upper->mode) && ovl_upper_is_opaque(upper);
        }
        pthread_mutex_unlock(&ofs->lock);
        if (err && err != -ENOENT)
            return err;
    }
    if (d->lower && (!upper || (S_ISDIR(upper->mode) && !opaque))) {
        err = ovl_layer_lookup(d->lower, name, &lower);
        if (err && err != -ENOENT)
            goto out;
        /* An upper directory over a lower non-directory shows the upper one alone. */
        if (!err && upper && !S_ISDIR(lower->mode)) {
            inode_put(lower);
            lower = NULL;
        }
    }
    if (!upper && !lower)
        return -ENOENT;
    if (!upper)
        ino = lower->ino;
    err = ovl_inode_new(ofs, dir, name, upper, lower, ino, out);
out:
    inode_put(upper);
    inode_put(lower);
    return err;
}
