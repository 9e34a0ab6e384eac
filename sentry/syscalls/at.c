/* Shared by the path-taking syscalls: copying a path in, and where a relative path starts. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>

#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

long path_copy_in(struct task *t, uint64_t addr, char *buf)
{
    return mm_copy_string_in(t->mm, addr, buf, PATH_MAX);
}

void task_vfs_cred(struct task *t, struct vfs_cred *out)
{
    creds_vfs_cred(&t->creds, out);
}

struct file *task_get_file(struct task *t, uint64_t fd)
{
    return fd > INT_MAX ? NULL : fdtable_get(t->fds, (int)fd);
}

long task_install_file(struct task *t, struct file *f, bool cloexec)
{
    long fd = fdtable_install_lowest(t->fds, 0, task_nofile_limit(t), f, cloexec);
    file_put(f);
    return fd;
}

int at_ctx_begin(struct task *t, int dirfd, const char *path, bool empty_ok, struct at_ctx *c)
{
    memset(c, 0, sizeof(*c));
    /* An empty path is refused where it is copied in (getname), before dirfd is looked at. */
    if (!path[0] && !empty_ok)
        return -ENOENT;
    task_vfs_cred(t, &c->cred);
    c->walk.fs = t->fs;
    c->walk.cred = &c->cred;
    if (path[0] == '/' || dirfd == AT_FDCWD) {
        pthread_mutex_lock(&t->fs->lock);
        c->cwd = t->fs->cwd;
        vfs_path_get(&c->cwd);
        pthread_mutex_unlock(&t->fs->lock);
        c->walk.start = c->cwd;
        return 0;
    }
    c->dir_file = fdtable_get(t->fds, dirfd);
    if (!c->dir_file)
        return -EBADF;
    if (!c->dir_file->path.dentry) {
        /* Pipes and other anonymous files have no place in the tree. */
        at_ctx_end(c);
        return -ENOTDIR;
    }
    if (!S_ISDIR(c->dir_file->path.dentry->inode->mode) && !(empty_ok && !path[0])) {
        at_ctx_end(c);
        return -ENOTDIR;
    }
    c->walk.start = c->dir_file->path;
    return 0;
}

void at_ctx_end(struct at_ctx *c)
{
    if (c->dir_file)
        file_put(c->dir_file);
    c->dir_file = NULL;
    vfs_path_put(&c->cwd);
}
