/* tmpfs extended attributes, kept in memory per inode (under inode.lock) with the sizes and
 * errnos of getxattr(2), setxattr(2), listxattr(2) and removexattr(2): user., trusted. and
 * security. names; user. ones only on regular files and directories, as Linux allows. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <linux/limits.h>

#include "sentry/fs/tmpfs/tmpfs_internal.h"

static const char *const supported_prefixes[] = {"user.", "trusted.", "security."};

/* Checks a name: -EOPNOTSUPP for an unsupported namespace, -ERANGE when too long, -EPERM for a
 * user. attribute on a file type that can't have one. */
static int check_name(struct inode *inode, const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > XATTR_NAME_MAX)
        return -ERANGE;
    for (size_t i = 0; i < sizeof(supported_prefixes) / sizeof(supported_prefixes[0]); i++) {
        size_t plen = strlen(supported_prefixes[i]);
        if (strncmp(name, supported_prefixes[i], plen) != 0)
            continue;
        if (len == plen)
            return -EINVAL; /* a prefix alone names nothing */
        /* xattr_permission: user. attributes only on regular files and directories. */
        if (i == 0 && !S_ISREG(inode->mode) && !S_ISDIR(inode->mode))
            return -EPERM;
        return 0;
    }
    return -EOPNOTSUPP;
}

static struct tmpfs_xattr **find(struct tmpfs_inode *ti, const char *name)
{
    struct tmpfs_xattr **pp = &ti->xattrs;
    for (; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->name, name) == 0)
            return pp;
    return pp;
}

ssize_t tmpfs_getxattr(struct inode *inode, const char *name, void *buf, size_t size)
{
    int err = check_name(inode, name);
    if (err)
        return err == -EPERM ? -ENODATA : err; /* reading a user. name on a symlink: none */
    pthread_mutex_lock(&inode->lock);
    struct tmpfs_xattr *x = *find(tmpfs_inode_of(inode), name);
    ssize_t ret;
    if (!x)
        ret = -ENODATA;
    else if (size == 0)
        ret = (ssize_t)x->size;
    else if (size < x->size)
        ret = -ERANGE;
    else {
        memcpy(buf, x->value, x->size);
        ret = (ssize_t)x->size;
    }
    pthread_mutex_unlock(&inode->lock);
    return ret;
}

static void touch_ctime(struct inode *inode)
{
    clock_gettime(CLOCK_REALTIME, &inode->ctime);
}

int tmpfs_setxattr(struct inode *inode, const char *name, const void *value, size_t size, int flags)
{
    if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
        return -EINVAL;
    int err = check_name(inode, name);
    if (err)
        return err;
    if (size > XATTR_SIZE_MAX)
        return -E2BIG;
    void *copy = malloc(size ? size : 1);
    if (!copy)
        return -ENOMEM;
    if (size) /* an empty value may come with a NULL pointer */
        memcpy(copy, value, size);
    struct tmpfs_inode *ti = tmpfs_inode_of(inode);
    pthread_mutex_lock(&inode->lock);
    struct tmpfs_xattr **pp = find(ti, name);
    struct tmpfs_xattr *x = *pp;
    if (x && (flags & XATTR_CREATE)) {
        err = -EEXIST;
    } else if (!x && (flags & XATTR_REPLACE)) {
        err = -ENODATA;
    } else if (x) {
        free(x->value);
        x->value = copy;
        x->size = size;
        copy = NULL;
    } else {
        x = calloc(1, sizeof(*x));
        if (x)
            x->name = strdup(name);
        if (!x || !x->name) {
            free(x);
            err = -ENOMEM;
        } else {
            x->value = copy;
            x->size = size;
            copy = NULL;
            *pp = x; /* appended: listxattr lists in setting order */
        }
    }
    if (!err)
        touch_ctime(inode);
    pthread_mutex_unlock(&inode->lock);
    free(copy);
    return err;
}

ssize_t tmpfs_listxattr(struct inode *inode, char *buf, size_t size)
{
    pthread_mutex_lock(&inode->lock);
    size_t total = 0;
    for (struct tmpfs_xattr *x = tmpfs_inode_of(inode)->xattrs; x; x = x->next)
        total += strlen(x->name) + 1;
    ssize_t ret = (ssize_t)total;
    if (size && size < total) {
        ret = -ERANGE;
    } else if (size) {
        char *p = buf;
        for (struct tmpfs_xattr *x = tmpfs_inode_of(inode)->xattrs; x; x = x->next) {
            size_t n = strlen(x->name) + 1;
            memcpy(p, x->name, n);
            p += n;
        }
    }
    pthread_mutex_unlock(&inode->lock);
    return ret;
}

int tmpfs_removexattr(struct inode *inode, const char *name)
{
    int err = check_name(inode, name);
    if (err)
        return err;
    pthread_mutex_lock(&inode->lock);
    struct tmpfs_xattr **pp = find(tmpfs_inode_of(inode), name);
    struct tmpfs_xattr *x = *pp;
    if (x) {
        *pp = x->next;
        x->next = NULL;
        touch_ctime(inode);
    }
    pthread_mutex_unlock(&inode->lock);
    if (!x)
        return -ENODATA;
    tmpfs_xattrs_free(x);
    return 0;
}

void tmpfs_xattrs_free(struct tmpfs_xattr *x)
{
    while (x) {
        struct tmpfs_xattr *next = x->next;
        free(x->name);
        free(x->value);
        free(x);
        x = next;
    }
}
