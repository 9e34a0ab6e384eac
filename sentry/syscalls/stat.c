/* Looking at files: stat family, statx, statfs, access family, readlink. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/stat.h>

#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

/* Resolves (dirfd, path) per the *at() flags into a referenced path, or the fd's own file for
 * AT_EMPTY_PATH with "" (*f set, *p empty). */
static long resolve_at(struct task *t, int dirfd, uint64_t path_addr, int at_flags, bool follow,
                       struct vfs_path *p, struct file **f)
{
    char *path = malloc(PATH_MAX);
    if (!path)
        return -ENOMEM;
    *f = NULL;
    memset(p, 0, sizeof(*p));
    long ret = path_copy_in(t, path_addr, path);
    if (ret < 0)
        goto out;
    if (!path[0] && (at_flags & AT_EMPTY_PATH)) {
        if (dirfd == AT_FDCWD) {
            pthread_mutex_lock(&t->fs->lock);
            *p = t->fs->cwd;
            vfs_path_get(p);
            pthread_mutex_unlock(&t->fs->lock);
        } else if (!(*f = task_get_file(t, (uint64_t)(unsigned)dirfd))) {
            ret = -EBADF;
        }
        ret = ret < 0 ? ret : 0;
        goto out;
    }
    struct at_ctx c;
    ret = at_ctx_begin(t, dirfd, path, false, &c);
    if (ret)
        goto out;
    ret = vfs_walk(&c.walk, path, follow ? WALK_FOLLOW : 0, p);
    at_ctx_end(&c);
out:
    free(path);
    return ret;
}

static long stat_at(struct task *t, int dirfd, uint64_t path_addr, int flags, struct stat *st)
{
    if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE))
        return -EINVAL;
    struct vfs_path p;
    struct file *f;
    long ret = resolve_at(t, dirfd, path_addr, flags, !(flags & AT_SYMLINK_NOFOLLOW), &p, &f);
    if (ret)
        return ret;
    if (f) {
        ret = file_stat(f, st);
        file_put(f);
    } else {
        ret = inode_stat(p.dentry->inode, st);
        vfs_path_put(&p);
    }
    return ret;
}

static long copy_stat_out(struct task *t, long ret, uint64_t addr, const struct stat *st)
{
    /* The host libc's struct stat is the kernel's on the 64-bit arches runsc supports. */
    return ret ? ret : mm_copy_out(t->mm, addr, st, sizeof(*st));
}

long sys_fstat(struct task *t, const struct syscall_args *a)
{
    struct file *f = task_get_file(t, a->a[0]);
    if (!f)
        return -EBADF;
    struct stat st;
    long ret = file_stat(f, &st);
    file_put(f);
    return copy_stat_out(t, ret, a->a[1], &st);
}

long sys_stat(struct task *t, const struct syscall_args *a)
{
    struct stat st;
    return copy_stat_out(t, stat_at(t, AT_FDCWD, a->a[0], 0, &st), a->a[1], &st);
}

long sys_lstat(struct task *t, const struct syscall_args *a)
{
    struct stat st;
    return copy_stat_out(t, stat_at(t, AT_FDCWD, a->a[0], AT_SYMLINK_NOFOLLOW, &st), a->a[1],
                         &st);
}

long sys_newfstatat(struct task *t, const struct syscall_args *a)
{
    struct stat st;
    return copy_stat_out(t, stat_at(t, (int)a->a[0], a->a[1], (int)a->a[3], &st), a->a[2], &st);
}

long sys_statx(struct task *t, const struct syscall_args *a)
{
    int flags = (int)a->a[2];
    unsigned mask = (unsigned)a->a[3];
    if (mask & STATX__RESERVED)
        return -EINVAL;
    if ((flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE)
        return -EINVAL;
    struct stat st;
    long ret = stat_at(t, (int)a->a[0], a->a[1], flags, &st);
    if (ret)
        return ret;
    struct statx sx;
    memset(&sx, 0, sizeof(sx));
    sx.stx_mask = STATX_BASIC_STATS;
    sx.stx_blksize = (uint32_t)st.st_blksize;
    sx.stx_nlink = (uint32_t)st.st_nlink;
    sx.stx_uid = st.st_uid;
    sx.stx_gid = st.st_gid;
    sx.stx_mode = (uint16_t)st.st_mode;
    sx.stx_ino = st.st_ino;
    sx.stx_size = (uint64_t)st.st_size;
    sx.stx_blocks = (uint64_t)st.st_blocks;
    sx.stx_atime = (struct statx_timestamp){st.st_atim.tv_sec, (uint32_t)st.st_atim.tv_nsec, 0};
    sx.stx_mtime = (struct statx_timestamp){st.st_mtim.tv_sec, (uint32_t)st.st_mtim.tv_nsec, 0};
    sx.stx_ctime = (struct statx_timestamp){st.st_ctim.tv_sec, (uint32_t)st.st_ctim.tv_nsec, 0};
    sx.stx_rdev_major = major(st.st_rdev);
    sx.stx_rdev_minor = minor(st.st_rdev);
    sx.stx_dev_major = major(st.st_dev);
    sx.stx_dev_minor = minor(st.st_dev);
    return mm_copy_out(t->mm, a->a[4], &sx, sizeof(sx));
}

static long statfs_out(struct task *t, const struct vfs_path *p, uint64_t addr)
{
    struct statfs sf;
    long ret = vfs_statfs(p, &sf);
    if (!ret && (p->mnt->flags & MNT_READONLY))
        sf.f_flags |= ST_RDONLY;
    return ret ? ret : mm_copy_out(t->mm, addr, &sf, sizeof(sf));
}

long sys_statfs(struct task *t, const struct syscall_args *a)
{
    struct vfs_path p;
    struct file *f;
    long ret = resolve_at(t, AT_FDCWD, a->a[0], 0, true, &p, &f);
    if (ret)
        return ret;
    ret = statfs_out(t, &p, a->a[1]);
    vfs_path_put(&p);
    return ret;
}

long sys_fstatfs(struct task *t, const struct syscall_args *a)
{
    struct file *f = task_get_file(t, a->a[0]);
    if (!f)
        return -EBADF;
    long ret = -ENOSYS;
    if (f->path.dentry) {
        ret = statfs_out(t, &f->path, a->a[1]);
    } else {
        /* Pipes and sockets live on Linux's internal pipefs/sockfs. */
        struct statfs sf = {.f_type = 0x50495045 /* PIPEFS_MAGIC */, .f_bsize = 4096,
                            .f_namelen = NAME_MAX, .f_frsize = 4096};
        ret = mm_copy_out(t->mm, a->a[1], &sf, sizeof(sf));
    }
    file_put(f);
    return ret;
}

static long access_at(struct task *t, int dirfd, uint64_t path_addr, int mode, int flags)
{
    if (mode & ~(R_OK | W_OK | X_OK))
        return -EINVAL;
    if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    struct vfs_path p;
    struct file *f;
    long ret = resolve_at(t, dirfd, path_addr, flags, !(flags & AT_SYMLINK_NOFOLLOW), &p, &f);
    if (ret)
        return ret;
    struct inode *inode = f ? f->inode : p.dentry->inode;
    struct mount *mnt = f ? f->path.mnt : p.mnt;
    if (!inode) {
        ret = 0; /* an anonymous file: Linux checks its inode's mode, which allows the owner */
    } else {
        /* access(2) checks with the real ids unless AT_EACCESS. */
        struct vfs_cred cred;
        task_vfs_cred(t, &cred);
        if (!(flags & AT_EACCESS)) {
            cred.fsuid = t->creds.ruid;
            cred.fsgid = t->creds.rgid;
            /* Linux's access(2) drops the capabilities unless the real uid is 0. */
            if (t->creds.ruid != 0)
                cred.dac_override = cred.fowner = false;
        }
        int mask = (mode & R_OK ? MAY_READ : 0) | (mode & W_OK ? MAY_WRITE : 0) |
                   (mode & X_OK ? MAY_EXEC : 0);
        ret = inode_permission(inode, &cred, mask);
        if (!ret && (mode & W_OK) && mnt && (mnt->flags & MNT_READONLY) &&
            (S_ISREG(inode->mode) || S_ISDIR(inode->mode) || S_ISLNK(inode->mode)))
            ret = -EROFS;
    }
    if (f)
        file_put(f);
    else
        vfs_path_put(&p);
    return ret;
}

long sys_access(struct task *t, const struct syscall_args *a)
{
    return access_at(t, AT_FDCWD, a->a[0], (int)a->a[1], 0);
}

long sys_faccessat(struct task *t, const struct syscall_args *a)
{
    return access_at(t, (int)a->a[0], a->a[1], (int)a->a[2], 0);
}

long sys_faccessat2(struct task *t, const struct syscall_args *a)
{
    return access_at(t, (int)a->a[0], a->a[1], (int)a->a[2], (int)a->a[3]);
}

static long readlink_at(struct task *t, int dirfd, uint64_t path_addr, uint64_t buf_addr,
                        uint64_t size)
{
    if ((int64_t)size <= 0)
        return -EINVAL;
    char *path = malloc(PATH_MAX);
    char *buf = malloc(PATH_MAX);
    long ret = -ENOMEM;
    if (!path || !buf)
        goto out;
    ret = path_copy_in(t, path_addr, path);
    if (ret < 0)
        goto out;
    struct at_ctx c;
    ret = at_ctx_begin(t, dirfd, path, true, &c);
    if (ret)
        goto out;
    ret = vfs_readlink(&c.walk, path, buf, PATH_MAX);
    at_ctx_end(&c);
    if (ret == -EINVAL && !path[0])
        ret = -ENOENT;
    if (ret < 0)
        goto out;
    if ((uint64_t)ret > size)
        ret = (long)size;
    if (mm_copy_out(t->mm, buf_addr, buf, (size_t)ret))
        ret = -EFAULT;
out:
    free(path);
    free(buf);
    return ret;
}

long sys_readlink(struct task *t, const struct syscall_args *a)
{
    return readlink_at(t, AT_FDCWD, a->a[0], a->a[1], a->a[2]);
}

long sys_readlinkat(struct task *t, const struct syscall_args *a)
{
    return readlink_at(t, (int)a->a[0], a->a[1], a->a[2], a->a[3]);
}
