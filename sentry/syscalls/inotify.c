/* inotify(7): inotify_init(2), inotify_init1(2), inotify_add_watch(2), inotify_rm_watch(2),
 * with Linux's argument checks in Linux's order (fs/notify/inotify/inotify_user.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/inotify.h>

#include "sentry/fs/inotify/inotify.h"
#include "sentry/syscalls/syscalls.h"
#include "sentry/vfs/vfs.h"

#ifndef IN_MASK_CREATE
#define IN_MASK_CREATE 0x10000000
#endif

/* Every bit inotify_add_watch accepts (ALL_INOTIFY_BITS). */
#define INOTIFY_ARG_BITS                                                                           \
    (IN_ALL_EVENTS | IN_UNMOUNT | IN_Q_OVERFLOW | IN_IGNORED | IN_ONLYDIR | IN_DONT_FOLLOW |       \
     IN_EXCL_UNLINK | IN_MASK_CREATE | IN_MASK_ADD | IN_ISDIR | IN_ONESHOT)

long sys_inotify_init1(struct task *t, const struct syscall_args *a)
{
    int flags = (int)a->a[0];
    if (flags & ~(IN_CLOEXEC | IN_NONBLOCK))
        return -EINVAL;
    struct file *f;
    int err = inotify_create(flags & IN_NONBLOCK, &f);
    if (err)
        return err;
    int fd = fdtable_install_lowest(t->fds, 0, task_nofile_limit(t), f, flags & IN_CLOEXEC);
    file_put(f);
    return fd;
}

long sys_inotify_init(struct task *t, const struct syscall_args *a)
{
    struct syscall_args none = {{0}};
    return sys_inotify_init1(t, &none);
}

/* The instance open at fd (a reference): -EBADF if none, -EINVAL if it is another file. */
static long instance_at(struct task *t, uint64_t fd, struct file **out)
{
    struct file *f = task_get_file(t, fd);
    if (!f)
        return -EBADF;
    if (!inotify_is_instance(f)) {
        file_put(f);
        return -EINVAL;
    }
    *out = f;
    return 0;
}

long sys_inotify_add_watch(struct task *t, const struct syscall_args *a)
{
    uint32_t mask = (uint32_t)a->a[2];
    if ((mask & ~(uint32_t)INOTIFY_ARG_BITS) || !mask)
        return -EINVAL;
    struct file *f = task_get_file(t, a->a[0]);
    if (!f)
        return -EBADF;
    long ret = -EINVAL;
    if ((mask & IN_MASK_ADD) && (mask & IN_MASK_CREATE))
        goto out_file;
    if (!inotify_is_instance(f))
        goto out_file;
    char *path = malloc(PATH_MAX);
    if (!path) {
        ret = -ENOMEM;
        goto out_file;
    }
    ret = path_copy_in(t, a->a[1], path);
    if (ret < 0)
        goto out_path;
    struct at_ctx c;
    ret = at_ctx_begin(t, AT_FDCWD, path, false, &c);
    if (ret)
        goto out_path;
    struct vfs_path p;
    ret = vfs_walk(
        &c.walk, path,
        (mask & IN_DONT_FOLLOW ? 0 : WALK_FOLLOW) | (mask & IN_ONLYDIR ? WALK_DIRECTORY : 0), &p);
    if (!ret) {
        /* Watching needs read permission on the object (inotify_find_inode). */
        ret = inode_permission(p.dentry->inode, &c.cred, MAY_READ);
        if (!ret)
            ret = inotify_watch_add(f, p.dentry->inode, mask);
        vfs_path_put(&p);
    }
    at_ctx_end(&c);
out_path:
    free(path);
out_file:
    file_put(f);
    return ret;
}

long sys_inotify_rm_watch(struct task *t, const struct syscall_args *a)
{
    struct file *f;
    long ret = instance_at(t, a->a[0], &f);
    if (ret)
        return ret;
    ret = inotify_watch_remove(f, (int)a->a[1]);
    file_put(f);
    return ret;
}
