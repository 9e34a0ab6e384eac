/* Changing files: chmod and chown families, timestamps, truncate, fallocate, sync, and extended
 * attributes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <linux/falloc.h>

#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

/* What an attribute change is made to: the inode (referenced), the mount it is on, and the
 * dentry it was reached by (referenced, or NULL), whose parent hears of the change. */
struct attr_target {
    struct inode *inode;
    struct mount *mnt;
    struct dentry *dentry;
};

static void attr_target_put(struct attr_target *x)
{
    inode_put(x->inode);
    if (x->dentry)
        dentry_put(x->dentry);
}

static void target_of_file(struct file *f, struct attr_target *x)
{
    inode_get(f->inode);
    x->inode = f->inode;
    x->mnt = f->path.mnt;
    x->dentry = f->path.dentry;
    if (x->dentry)
        dentry_get(x->dentry);
}

/* The target named by (dirfd, path) per at_flags. */
static long inode_at(struct task *t, int dirfd, uint64_t path_addr, int at_flags, bool follow,
                     struct attr_target *x)
{
    char *path = malloc(PATH_MAX);
    if (!path)
        return -ENOMEM;
    long ret = path_copy_in(t, path_addr, path);
    if (ret < 0)
        goto out;
    ret = 0;
    if (!path[0] && (at_flags & AT_EMPTY_PATH) && dirfd != AT_FDCWD) {
        struct file *f = task_get_file(t, (uint64_t)(unsigned)dirfd);
        if (!f) {
            ret = -EBADF;
        } else if (!f->inode) {
            ret = -EPERM; /* anonymous files: nothing to change that a guest could see */
            file_put(f);
        } else {
            target_of_file(f, x);
            file_put(f);
        }
        goto out;
    }
    struct at_ctx c;
    ret = at_ctx_begin(t, dirfd, path, !path[0] && (at_flags & AT_EMPTY_PATH), &c);
    if (ret)
        goto out;
    struct vfs_path p;
    ret = vfs_walk(&c.walk, path,
                   (follow ? WALK_FOLLOW : 0) | (at_flags & AT_EMPTY_PATH ? WALK_EMPTY : 0), &p);
    at_ctx_end(&c);
    if (ret)
        goto out;
    inode_get(p.dentry->inode);
    x->inode = p.dentry->inode;
    x->mnt = p.mnt;
    x->dentry = p.dentry; /* the walk's reference passes to x */
    p.dentry = NULL;
    vfs_path_put(&p);
out:
    free(path);
    return ret;
}

static long inode_of_fd(struct task *t, uint64_t fd, struct attr_target *x)
{
    struct file *f = task_get_file(t, fd);
    if (!f)
        return -EBADF;
    if ((f->status_flags & O_PATH) || !f->inode) {
        long ret = f->inode ? -EBADF : -EPERM;
        file_put(f);
        return ret;
    }
    target_of_file(f, x);
    file_put(f);
    return 0;
}

static long setattr_checked(struct task *t, struct attr_target *x, const struct vfs_setattr *attr)
{
    if (x->mnt && (x->mnt->flags & MNT_READONLY))
        return -EROFS;
    struct vfs_cred cred;
    task_vfs_cred(t, &cred);
    int err = vfs_setattr(x->inode, &cred, attr);
    if (!err)
        vfs_notify_setattr(x->dentry, x->inode, attr->mask);
    return err;
}

static long chmod_inode(struct task *t, long ret, struct attr_target *x, mode_t mode)
{
    if (ret)
        return ret;
    struct vfs_setattr attr = {.mask = VFS_ATTR_MODE | VFS_ATTR_CTIME, .mode = mode & 07777};
    clock_gettime(CLOCK_REALTIME, &attr.ctime);
    ret = setattr_checked(t, x, &attr);
    attr_target_put(x);
    return ret;
}

long sys_chmod(struct task *t, const struct syscall_args *a)
{
    struct attr_target x = {0};
    long ret = inode_at(t, AT_FDCWD, a->a[0], 0, true, &x);
    return chmod_inode(t, ret, &x, (mode_t)a->a[1]);
}

long sys_fchmodat(struct task *t, const struct syscall_args *a)
{
    struct attr_target x = {0};
    long ret = inode_at(t, (int)a->a[0], a->a[1], 0, true, &x);
    return chmod_inode(t, ret, &x, (mode_t)a->a[2]);
}

long sys_fchmod(struct task *t, const struct syscall_args *a)
{
    struct attr_target x = {0};
    long ret = inode_of_fd(t, a->a[0], &x);
    return chmod_inode(t, ret, &x, (mode_t)a->a[1]);
}

static long chown_inode(struct task *t, long ret, struct attr_target *x, uint32_t uid, uint32_t gid)
{
    if (ret)
        return ret;
    /* An id the sandbox's user namespace does not map is no id at all (after the lookup, as
     * Linux's chown_common checks). */
    const struct kernel_config *cfg = &t->kernel->cfg;
    if ((uid != (uint32_t)-1 && !userns_valid(&cfg->uid_map, uid)) ||
        (gid != (uint32_t)-1 && !userns_valid(&cfg->gid_map, gid))) {
        attr_target_put(x);
        return -EINVAL;
    }
    struct inode *inode = x->inode;
    struct vfs_setattr attr = {.mask = VFS_ATTR_CTIME};
    clock_gettime(CLOCK_REALTIME, &attr.ctime);
    if (uid != (uint32_t)-1) {
        attr.mask |= VFS_ATTR_UID;
        attr.uid = uid;
    }
    if (gid != (uint32_t)-1) {
        attr.mask |= VFS_ATTR_GID;
        attr.gid = gid;
    }
    /* chown clears set-user-ID and (with group execute) set-group-ID on non-directories. */
    pthread_mutex_lock(&inode->lock);
    mode_t mode = inode->mode;
    pthread_mutex_unlock(&inode->lock);
    if ((attr.mask & (VFS_ATTR_UID | VFS_ATTR_GID)) && !S_ISDIR(mode) &&
        (mode & (S_ISUID | S_ISGID))) {
        attr.mask |= VFS_ATTR_MODE;
        attr.mode = mode & 07777 & ~(mode_t)S_ISUID;
        if (mode & S_IXGRP)
            attr.mode &= ~(mode_t)S_ISGID;
    }
    ret = setattr_checked(t, x, &attr);
    attr_target_put(x);
    return ret;
}

long sys_chown(struct task *t, const struct syscall_args *a)
{
    struct attr_target x = {0};
    long ret = inode_at(t, AT_FDCWD, a->a[0], 0, true, &x);
    return chown_inode(t, ret, &x, (uint32_t)a->a[1], (uint32_t)a->a[2]);
}

long sys_lchown(struct task *t, const struct syscall_args *a)
{
    struct attr_target x = {0};
    long ret = inode_at(t, AT_FDCWD, a->a[0], 0, false, &x);
    return chown_inode(t, ret, &x, (uint32_t)a->a[1], (uint32_t)a->a[2]);
}

long sys_fchown(struct task *t, const struct syscall_args *a)
{
    struct attr_target x = {0};
    long ret = inode_of_fd(t, a->a[0], &x);
    return chown_inode(t, ret, &x, (uint32_t)a->a[1], (uint32_t)a->a[2]);
}

long sys_fchownat(struct task *t, const struct syscall_args *a)
{
    int flags = (int)a->a[4];
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    struct attr_target x = {0};
    long ret = inode_at(t, (int)a->a[0], a->a[1], flags, !(flags & AT_SYMLINK_NOFOLLOW), &x);
    return chown_inode(t, ret, &x, (uint32_t)a->a[2], (uint32_t)a->a[3]);
}

/* utimensat(2): times[2] with UTIME_NOW / UTIME_OMIT; NULL means both now. */
static long set_times(struct task *t, struct attr_target *x, const struct timespec *ts)
{
    struct inode *inode = x->inode;
    struct mount *mnt = x->mnt;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct vfs_setattr attr = {.mask = VFS_ATTR_CTIME, .ctime = now};
    bool explicit_time = false;
    for (int i = 0; i < 2; i++) {
        struct timespec v = ts ? ts[i] : (struct timespec){0, UTIME_NOW};
        if (v.tv_nsec == UTIME_OMIT)
            continue;
        if (v.tv_nsec == UTIME_NOW)
            v = now;
        else if (v.tv_nsec < 0 || v.tv_nsec >= 1000000000)
            return -EINVAL;
        else
            explicit_time = true;
        attr.mask |= i == 0 ? VFS_ATTR_ATIME : VFS_ATTR_MTIME;
        if (i == 0)
            attr.atime = v;
        else
            attr.mtime = v;
    }
    if (attr.mask == VFS_ATTR_CTIME)
        return 0;
    if (mnt && (mnt->flags & MNT_READONLY))
        return -EROFS;
    struct vfs_cred cred;
    task_vfs_cred(t, &cred);
    /* Setting explicit times needs ownership; "now" needs ownership or write permission. */
    if (!cred.fowner && cred.fsuid != inode->uid) {
        if (explicit_time)
            return -EPERM;
        if (inode_permission(inode, &cred, MAY_WRITE))
            return -EACCES;
    }
    int err = inode->ops->setattr ? inode->ops->setattr(inode, &attr) : -EPERM;
    if (!err)
        vfs_notify_setattr(x->dentry, inode, attr.mask);
    return err;
}

static long utimes_at(struct task *t, int dirfd, uint64_t path_addr, const struct timespec *ts,
                      int flags)
{
    struct attr_target x = {0};
    long ret;
    if (!path_addr) {
        /* utimensat(fd, NULL, ...) works on the fd itself (futimens). */
        if (dirfd == AT_FDCWD)
            return -EFAULT;
        ret = inode_of_fd(t, (uint64_t)(unsigned)dirfd, &x);
    } else {
        ret = inode_at(t, dirfd, path_addr, flags, !(flags & AT_SYMLINK_NOFOLLOW), &x);
    }
    if (ret)
        return ret;
    ret = set_times(t, &x, ts);
    attr_target_put(&x);
    return ret;
}

long sys_utimensat(struct task *t, const struct syscall_args *a)
{
    int flags = (int)a->a[3];
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    struct timespec ts[2];
    if (a->a[2] && mm_copy_in(t->mm, a->a[2], ts, sizeof(ts)))
        return -EFAULT;
    return utimes_at(t, (int)a->a[0], a->a[1], a->a[2] ? ts : NULL, flags);
}

static long utimes_timeval(struct task *t, int dirfd, uint64_t path_addr, uint64_t tv_addr)
{
    struct timeval tv[2];
    struct timespec ts[2];
    if (tv_addr) {
        if (mm_copy_in(t->mm, tv_addr, tv, sizeof(tv)))
            return -EFAULT;
        for (int i = 0; i < 2; i++) {
            if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000)
                return -EINVAL;
            ts[i] = (struct timespec){tv[i].tv_sec, tv[i].tv_usec * 1000};
        }
    }
    return utimes_at(t, dirfd, path_addr, tv_addr ? ts : NULL, 0);
}

long sys_utimes(struct task *t, const struct syscall_args *a)
{
    return utimes_timeval(t, AT_FDCWD, a->a[0], a->a[1]);
}

long sys_futimesat(struct task *t, const struct syscall_args *a)
{
    return utimes_timeval(t, (int)a->a[0], a->a[1], a->a[2]);
}

long sys_utime(struct task *t, const struct syscall_args *a)
{
    struct {
        int64_t actime, modtime;
    } ub;
    struct timespec ts[2];
    if (a->a[1]) {
        if (mm_copy_in(t->mm, a->a[1], &ub, sizeof(ub)))
            return -EFAULT;
        ts[0] = (struct timespec){ub.actime, 0};
        ts[1] = (struct timespec){ub.modtime, 0};
    }
    return utimes_at(t, AT_FDCWD, a->a[0], a->a[1] ? ts : NULL, 0);
}

static long truncate_inode(struct task *t, struct attr_target *x, int64_t len)
{
    struct inode *inode = x->inode;
    struct mount *mnt = x->mnt;
    if (len < 0)
        return -EINVAL;
    if (S_ISDIR(inode->mode))
        return -EISDIR;
    if (!S_ISREG(inode->mode))
        return -EINVAL;
    /* inode_newsize_ok: only growing past RLIMIT_FSIZE is refused. */
    if (len > inode_size(inode) && (uint64_t)len > task_rlimit(t, RLIMIT_FSIZE)) {
        task_signal_send(t, SIGXFSZ, NULL);
        return -EFBIG;
    }
    struct vfs_setattr attr = {.mask = VFS_ATTR_SIZE | VFS_ATTR_MTIME | VFS_ATTR_CTIME,
                               .size = len};
    clock_gettime(CLOCK_REALTIME, &attr.mtime);
    attr.ctime = attr.mtime;
    if (mnt && (mnt->flags & MNT_READONLY))
        return -EROFS;
    int err = inode->ops->setattr ? inode->ops->setattr(inode, &attr) : -EPERM;
    if (!err)
        vfs_notify_setattr(x->dentry, inode, attr.mask);
    return err;
}

long sys_truncate(struct task *t, const struct syscall_args *a)
{
    struct attr_target x = {0};
    long ret = inode_at(t, AT_FDCWD, a->a[0], 0, true, &x);
    if (ret)
        return ret;
    struct vfs_cred cred;
    task_vfs_cred(t, &cred);
    ret = S_ISDIR(x.inode->mode) ? -EISDIR : inode_permission(x.inode, &cred, MAY_WRITE);
    if (!ret)
        ret = truncate_inode(t, &x, (int64_t)a->a[1]);
    attr_target_put(&x);
    return ret;
}

long sys_ftruncate(struct task *t, const struct syscall_args *a)
{
    struct file *f = task_get_file(t, a->a[0]);
    if (!f)
        return -EBADF;
    long ret;
    if (!f->inode || (f->status_flags & O_PATH))
        ret = f->inode ? -EBADF : -EINVAL;
    else if ((f->status_flags & O_ACCMODE) == O_RDONLY)
        ret = -EINVAL; /* Linux: ftruncate on a file not open for writing is EINVAL */
    else {
        struct attr_target x;
        target_of_file(f, &x);
        ret = truncate_inode(t, &x, (int64_t)a->a[1]);
        attr_target_put(&x);
    }
    file_put(f);
    return ret;
}

long sys_fallocate(struct task *t, const struct syscall_args *a)
{
    struct file *f = task_get_file(t, a->a[0]);
    if (!f)
        return -EBADF;
    int mode = (int)a->a[1];
    int64_t off = (int64_t)a->a[2], len = (int64_t)a->a[3];
    long ret;
    if (off < 0 || len <= 0)
        ret = -EINVAL;
    else if ((f->status_flags & O_ACCMODE) == O_RDONLY)
        ret = -EBADF;
    else if (!f->inode || S_ISFIFO(f->inode->mode))
        ret = -ESPIPE;
    else if (S_ISDIR(f->inode->mode))
        ret = -EISDIR;
    else if (!S_ISREG(f->inode->mode))
        ret = -ENODEV;
    else if (len > INT64_MAX - off)
        ret = -EFBIG;
    else if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > inode_size(f->inode) &&
             (uint64_t)(off + len) > task_rlimit(t, RLIMIT_FSIZE)) {
        /* inode_newsize_ok: growing the file past RLIMIT_FSIZE. */
        task_signal_send(t, SIGXFSZ, NULL);
        ret = -EFBIG;
    } else
        ret = f->ops->fallocate ? f->ops->fallocate(f, mode, off, len) : -EOPNOTSUPP;
    if (ret == 0)
        vfs_notify_file(f, IN_MODIFY);
    file_put(f);
    return ret;
}

static long fsync_fd(struct task *t, uint64_t fd, bool datasync)
{
    struct file *f = task_get_file(t, fd);
    if (!f)
        return -EBADF;
    long ret = f->ops->fsync ? f->ops->fsync(f, datasync) : (f->inode ? 0 : -EINVAL);
    file_put(f);
    return ret;
}

long sys_fsync(struct task *t, const struct syscall_args *a)
{
    return fsync_fd(t, a->a[0], false);
}

long sys_fdatasync(struct task *t, const struct syscall_args *a)
{
    return fsync_fd(t, a->a[0], true);
}

long sys_sync(struct task *t, const struct syscall_args *a)
{
    (void)t;
    (void)a;
    return 0; /* the overlay's upper is memory; the gofer's files are written through */
}

long sys_syncfs(struct task *t, const struct syscall_args *a)
{
    struct file *f = task_get_file(t, a->a[0]);
    if (!f)
        return -EBADF;
    file_put(f);
    return 0;
}

/* ---- extended attributes ---- */

#define XATTR_NAME_MAX_LEN 255
#define XATTR_SIZE_MAX_LEN 65536

static long xattr_name_in(struct task *t, uint64_t addr, char *name)
{
    long n = mm_copy_string_in(t->mm, addr, name, XATTR_NAME_MAX_LEN + 1);
    if (n == -ENAMETOOLONG)
        return -ERANGE;
    if (n == 0)
        return -ERANGE;
    return n < 0 ? n : 0;
}

enum xattr_op { XATTR_GET, XATTR_SET, XATTR_LIST, XATTR_REMOVE };

static long xattr_do(struct task *t, struct attr_target *x, enum xattr_op op,
                     const struct syscall_args *a, int argbase)
{
    struct inode *inode = x->inode;
    struct mount *mnt = x->mnt;
    char name[XATTR_NAME_MAX_LEN + 1];
    long ret = 0;
    if (op != XATTR_LIST && (ret = xattr_name_in(t, a->a[argbase], name)) != 0)
        return ret;
    uint64_t value = a->a[argbase + (op == XATTR_LIST ? 0 : 1)];
    uint64_t size = a->a[argbase + (op == XATTR_LIST ? 1 : 2)];
    if (op == XATTR_SET || op == XATTR_REMOVE) {
        if (mnt && (mnt->flags & MNT_READONLY))
            return -EROFS;
        struct vfs_cred cred;
        task_vfs_cred(t, &cred);
        if (!cred.fowner && cred.fsuid != inode->uid)
            return -EPERM;
    }
    void *buf = NULL;
    size_t cap = size > XATTR_SIZE_MAX_LEN ? XATTR_SIZE_MAX_LEN : (size_t)size;
    if (op == XATTR_SET && size > XATTR_SIZE_MAX_LEN)
        return -E2BIG;
    if (cap && !(buf = malloc(cap)))
        return -ENOMEM;
    switch (op) {
    case XATTR_GET:
        ret = inode->ops->getxattr ? inode->ops->getxattr(inode, name, buf, cap) : -ENODATA;
        if (ret > 0 && cap && mm_copy_out(t->mm, value, buf, (size_t)ret))
            ret = -EFAULT;
        break;
    case XATTR_LIST:
        ret = inode->ops->listxattr ? inode->ops->listxattr(inode, buf, cap) : 0;
        if (ret > 0 && cap && mm_copy_out(t->mm, value, buf, (size_t)ret))
            ret = -EFAULT;
        break;
    case XATTR_SET: {
        int flags = (int)a->a[argbase + 3];
        if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
            ret = -EINVAL;
        else if (cap && mm_copy_in(t->mm, value, buf, cap))
            ret = -EFAULT;
        else
            ret = inode->ops->setxattr ? inode->ops->setxattr(inode, name, buf, cap, flags)
                                       : -EOPNOTSUPP;
        break;
    }
    case XATTR_REMOVE:
        ret = inode->ops->removexattr ? inode->ops->removexattr(inode, name) : -ENODATA;
        break;
    }
    /* fsnotify_xattr: a changed extended attribute is an attribute change. */
    if (ret == 0 && (op == XATTR_SET || op == XATTR_REMOVE)) {
        if (x->dentry)
            vfs_notify_dentry(x->dentry, IN_ATTRIB);
        else
            vfs_notify(inode, IN_ATTRIB, NULL, 0);
    }
    free(buf);
    return ret;
}

static long xattr_path(struct task *t, const struct syscall_args *a, enum xattr_op op, bool follow)
{
    struct attr_target x = {0};
    long ret = inode_at(t, AT_FDCWD, a->a[0], 0, follow, &x);
    if (ret)
        return ret;
    ret = xattr_do(t, &x, op, a, 1);
    attr_target_put(&x);
    return ret;
}

static long xattr_fd(struct task *t, const struct syscall_args *a, enum xattr_op op)
{
    struct attr_target x = {0};
    long ret = inode_of_fd(t, a->a[0], &x);
    if (ret)
        return ret == -EPERM ? -EOPNOTSUPP : ret;
    ret = xattr_do(t, &x, op, a, 1);
    attr_target_put(&x);
    return ret;
}

long sys_getxattr(struct task *t, const struct syscall_args *a)
{
    return xattr_path(t, a, XATTR_GET, true);
}

long sys_lgetxattr(struct task *t, const struct syscall_args *a)
{
    return xattr_path(t, a, XATTR_GET, false);
}

long sys_fgetxattr(struct task *t, const struct syscall_args *a)
{
    return xattr_fd(t, a, XATTR_GET);
}

long sys_setxattr(struct task *t, const struct syscall_args *a)
{
    return xattr_path(t, a, XATTR_SET, true);
}

long sys_lsetxattr(struct task *t, const struct syscall_args *a)
{
    return xattr_path(t, a, XATTR_SET, false);
}

long sys_fsetxattr(struct task *t, const struct syscall_args *a)
{
    return xattr_fd(t, a, XATTR_SET);
}

long sys_listxattr(struct task *t, const struct syscall_args *a)
{
    return xattr_path(t, a, XATTR_LIST, true);
}

long sys_llistxattr(struct task *t, const struct syscall_args *a)
{
    return xattr_path(t, a, XATTR_LIST, false);
}

long sys_flistxattr(struct task *t, const struct syscall_args *a)
{
    return xattr_fd(t, a, XATTR_LIST);
}

long sys_removexattr(struct task *t, const struct syscall_args *a)
{
    return xattr_path(t, a, XATTR_REMOVE, true);
}

long sys_lremovexattr(struct task *t, const struct syscall_args *a)
{
    return xattr_path(t, a, XATTR_REMOVE, false);
}

long sys_fremovexattr(struct task *t, const struct syscall_args *a)
{
    return xattr_fd(t, a, XATTR_REMOVE);
}
