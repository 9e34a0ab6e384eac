/* The namespace of names: mkdir, mknod, symlink, link, unlink, rmdir, rename, getdents,
 * chdir/fchdir/getcwd/chroot and umask. */
#include <errno.h>
#include <linux/capability.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>

#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

/* Runs fn with one guest path resolved against dirfd. */
typedef long (*path_fn)(struct at_ctx *c, const char *path, const uint64_t *args);

static long with_path(struct task *t, int dirfd, uint64_t path_addr, path_fn fn,
                      const uint64_t *args)
{
    char *path = malloc(PATH_MAX);
    if (!path)
        return -ENOMEM;
    long ret = path_copy_in(t, path_addr, path);
    if (ret >= 0) {
        struct at_ctx c;
        ret = at_ctx_begin(t, dirfd, path, false, &c);
        if (!ret) {
            ret = fn(&c, path, args);
            at_ctx_end(&c);
        }
    }
    free(path);
    return ret;
}

static long do_mkdir(struct at_ctx *c, const char *path, const uint64_t *args)
{
    return vfs_mkdir(&c->walk, path, (mode_t)args[0]);
}

long sys_mkdir(struct task *t, const struct syscall_args *a)
{
    return with_path(t, AT_FDCWD, a->a[0], do_mkdir, &a->a[1]);
}

long sys_mkdirat(struct task *t, const struct syscall_args *a)
{
    return with_path(t, (int)a->a[0], a->a[1], do_mkdir, &a->a[2]);
}

static long do_mknod(struct at_ctx *c, const char *path, const uint64_t *args)
{
    return vfs_mknod(&c->walk, path, (mode_t)args[0], (dev_t)(uint32_t)args[1]);
}

long sys_mknod(struct task *t, const struct syscall_args *a)
{
    return with_path(t, AT_FDCWD, a->a[0], do_mknod, &a->a[1]);
}

long sys_mknodat(struct task *t, const struct syscall_args *a)
{
    return with_path(t, (int)a->a[0], a->a[1], do_mknod, &a->a[2]);
}

static long do_unlink(struct at_ctx *c, const char *path, const uint64_t *args)
{
    return args[0] & AT_REMOVEDIR ? vfs_rmdir(&c->walk, path) : vfs_unlink(&c->walk, path);
}

long sys_unlink(struct task *t, const struct syscall_args *a)
{
    uint64_t flags = 0;
    return with_path(t, AT_FDCWD, a->a[0], do_unlink, &flags);
}

long sys_rmdir(struct task *t, const struct syscall_args *a)
{
    uint64_t flags = AT_REMOVEDIR;
    return with_path(t, AT_FDCWD, a->a[0], do_unlink, &flags);
}

long sys_unlinkat(struct task *t, const struct syscall_args *a)
{
    if (a->a[2] & ~(uint64_t)AT_REMOVEDIR)
        return -EINVAL;
    return with_path(t, (int)a->a[0], a->a[1], do_unlink, &a->a[2]);
}

static long do_symlink(struct at_ctx *c, const char *path, const uint64_t *args)
{
    return vfs_symlink(&c->walk, (const char *)(uintptr_t)args[0], path);
}

/* symlink(target, linkpath): the target is stored as written. */
static long symlink_with(struct task *t, uint64_t target_addr, int dirfd, uint64_t path_addr)
{
    char *target = malloc(PATH_MAX);
    if (!target)
        return -ENOMEM;
    long ret = path_copy_in(t, target_addr, target);
    if (ret >= 0) {
        uint64_t arg = (uint64_t)(uintptr_t)target;
        ret = with_path(t, dirfd, path_addr, do_symlink, &arg);
    }
    free(target);
    return ret;
}

long sys_symlink(struct task *t, const struct syscall_args *a)
{
    return symlink_with(t, a->a[0], AT_FDCWD, a->a[1]);
}

long sys_symlinkat(struct task *t, const struct syscall_args *a)
{
    return symlink_with(t, a->a[0], (int)a->a[1], a->a[2]);
}

/* Two paths, each against its own dirfd (link, rename). */
static long two_paths(struct task *t, int olddirfd, uint64_t old_addr, int newdirfd,
                      uint64_t new_addr, int flags, bool is_link)
{
    char *oldp = malloc(PATH_MAX), *newp = malloc(PATH_MAX);
    long ret = -ENOMEM;
    if (!oldp || !newp)
        goto out;
    if ((ret = path_copy_in(t, old_addr, oldp)) < 0 || (ret = path_copy_in(t, new_addr, newp)) < 0)
        goto out;
    struct at_ctx oc, nc;
    ret = at_ctx_begin(t, olddirfd, oldp, is_link && (flags & AT_EMPTY_PATH), &oc);
    if (ret)
        goto out;
    ret = at_ctx_begin(t, newdirfd, newp, false, &nc);
    if (!ret) {
        ret = is_link ? vfs_link(&oc.walk, oldp, &nc.walk, newp, flags)
                      : vfs_rename(&oc.walk, oldp, &nc.walk, newp, (unsigned)flags);
        at_ctx_end(&nc);
    }
    at_ctx_end(&oc);
out:
    free(oldp);
    free(newp);
    return ret;
}

long sys_link(struct task *t, const struct syscall_args *a)
{
    return two_paths(t, AT_FDCWD, a->a[0], AT_FDCWD, a->a[1], 0, true);
}

long sys_linkat(struct task *t, const struct syscall_args *a)
{
    int flags = (int)a->a[4];
    if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    return two_paths(t, (int)a->a[0], a->a[1], (int)a->a[2], a->a[3], flags, true);
}

long sys_rename(struct task *t, const struct syscall_args *a)
{
    return two_paths(t, AT_FDCWD, a->a[0], AT_FDCWD, a->a[1], 0, false);
}

long sys_renameat(struct task *t, const struct syscall_args *a)
{
    return two_paths(t, (int)a->a[0], a->a[1], (int)a->a[2], a->a[3], 0, false);
}

long sys_renameat2(struct task *t, const struct syscall_args *a)
{
    return two_paths(t, (int)a->a[0], a->a[1], (int)a->a[2], a->a[3], (int)a->a[4], false);
}

/* getdents64 fills linux_dirent64 records; getdents the older layout with d_type at the end. */
struct getdents_emit {
    struct dir_emit base;
    char *buf;
    size_t size, used;
    bool old_layout;
};

static bool emit_dirent(struct dir_emit *e, const char *name, size_t len, uint64_t ino,
                        unsigned char type, int64_t next_pos)
{
    struct getdents_emit *g = (struct getdents_emit *)e;
    size_t hdr = g->old_layout ? 18 : 19; /* d_ino, d_off, d_reclen (+ d_type for 64) */
    size_t reclen = (hdr + len + 1 + (g->old_layout ? 1 : 0) + 7) & ~(size_t)7;
    if (g->used + reclen > g->size)
        return false;
    char *rec = g->buf + g->used;
    memset(rec, 0, reclen);
    uint64_t off = (uint64_t)next_pos;
    uint16_t rl = (uint16_t)reclen;
    memcpy(rec, &ino, 8);
    memcpy(rec + 8, &off, 8);
    memcpy(rec + 16, &rl, 2);
    if (g->old_layout) {
        memcpy(rec + 18, name, len);
        rec[reclen - 1] = (char)type;
    } else {
        rec[18] = (char)type;
        memcpy(rec + 19, name, len);
    }
    g->used += reclen;
    return true;
}

static long getdents_common(struct task *t, const struct syscall_args *a, bool old_layout)
{
    struct file *f = task_get_file(t, a->a[0]);
    if (!f)
        return -EBADF;
    size_t size = a->a[2] > (64u << 10) ? (64u << 10) : (size_t)a->a[2];
    struct getdents_emit g = {.base.emit = emit_dirent, .size = size, .old_layout = old_layout};
    long ret = -ENOMEM;
    g.buf = malloc(size ? size : 1);
    if (!g.buf)
        goto out;
    ret = file_getdents(f, &g.base);
    if (ret < 0)
        goto out;
    if (g.used && mm_copy_out(t->mm, a->a[1], g.buf, g.used)) {
        ret = -EFAULT;
        goto out;
    }
    ret = (long)g.used;
out:
    free(g.buf);
    file_put(f);
    return ret;
}

long sys_getdents64(struct task *t, const struct syscall_args *a)
{
    return getdents_common(t, a, false);
}

long sys_getdents(struct task *t, const struct syscall_args *a)
{
    return getdents_common(t, a, true);
}

static long set_cwd(struct task *t, const struct vfs_path *p)
{
    if (!S_ISDIR(p->dentry->inode->mode))
        return -ENOTDIR;
    struct vfs_cred cred;
    task_vfs_cred(t, &cred);
    long ret = inode_permission(p->dentry->inode, &cred, MAY_EXEC);
    if (ret)
        return ret;
    pthread_mutex_lock(&t->fs->lock);
    struct vfs_path old = t->fs->cwd;
    t->fs->cwd = *p;
    vfs_path_get(p);
    pthread_mutex_unlock(&t->fs->lock);
    vfs_path_put(&old);
    return 0;
}

static long do_chdir(struct at_ctx *c, const char *path, const uint64_t *args)
{
    struct task *t = (struct task *)(uintptr_t)args[0];
    struct vfs_path p;
    long ret = vfs_walk(&c->walk, path, WALK_FOLLOW | WALK_DIRECTORY, &p);
    if (ret)
        return ret;
    ret = set_cwd(t, &p);
    vfs_path_put(&p);
    return ret;
}

long sys_chdir(struct task *t, const struct syscall_args *a)
{
    uint64_t arg = (uint64_t)(uintptr_t)t;
    return with_path(t, AT_FDCWD, a->a[0], do_chdir, &arg);
}

long sys_fchdir(struct task *t, const struct syscall_args *a)
{
    struct file *f = task_get_file(t, a->a[0]);
    if (!f)
        return -EBADF;
    long ret = f->path.dentry ? set_cwd(t, &f->path) : -ENOTDIR;
    file_put(f);
    return ret;
}

static long do_chroot(struct at_ctx *c, const char *path, const uint64_t *args)
{
    struct task *t = (struct task *)(uintptr_t)args[0];
    struct vfs_path p;
    long ret = vfs_walk(&c->walk, path, WALK_FOLLOW | WALK_DIRECTORY, &p);
    if (ret)
        return ret;
    ret = inode_permission(p.dentry->inode, c->walk.cred, MAY_EXEC);
    /* The capability after the lookup and the search permission, as ksys_chroot. */
    if (!ret && !task_capable(t, CAP_SYS_CHROOT))
        ret = -EPERM;
    if (!ret) {
        pthread_mutex_lock(&t->fs->lock);
        struct vfs_path old = t->fs->root;
        t->fs->root = p;
        vfs_path_get(&p);
        pthread_mutex_unlock(&t->fs->lock);
        vfs_path_put(&old);
    }
    vfs_path_put(&p);
    return ret;
}

long sys_chroot(struct task *t, const struct syscall_args *a)
{
    uint64_t arg = (uint64_t)(uintptr_t)t;
    return with_path(t, AT_FDCWD, a->a[0], do_chroot, &arg);
}

long sys_getcwd(struct task *t, const struct syscall_args *a)
{
    char *buf = malloc(PATH_MAX + 16);
    if (!buf)
        return -ENOMEM;
    pthread_mutex_lock(&t->fs->lock);
    struct vfs_path root = t->fs->root, cwd = t->fs->cwd;
    vfs_path_get(&root);
    vfs_path_get(&cwd);
    pthread_mutex_unlock(&t->fs->lock);
    long ret;
    if (cwd.dentry->dead) {
        ret = -ENOENT; /* the cwd was removed: Linux's getcwd fails so */
    } else {
        ret = vfs_path_string(t->fs->ns, &root, &cwd, buf, PATH_MAX);
        if (ret >= 0) {
            size_t len = (size_t)ret + 1;
            if (a->a[1] < len)
                ret = -ERANGE;
            else
                ret = mm_copy_out(t->mm, a->a[0], buf, len) ? -EFAULT : (long)len;
        }
    }
    vfs_path_put(&root);
    vfs_path_put(&cwd);
    free(buf);
    return ret;
}

long sys_umask(struct task *t, const struct syscall_args *a)
{
    pthread_mutex_lock(&t->fs->lock);
    mode_t old = t->fs->umask;
    t->fs->umask = (mode_t)(a->a[0] & 0777);
    pthread_mutex_unlock(&t->fs->lock);
    return old;
}
