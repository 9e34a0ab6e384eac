/* The fd table: dup(2), dup2(2), dup3(2) and fcntl(2)'s descriptor and status-flag commands. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>

#include "sentry/fs/inotify/inotify.h"
#include "sentry/kernel/filelock.h"
#include "sentry/syscalls/syscalls.h"
#include "sentry/fs/pipe/pipe.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/vfs.h"

/* The status flags F_SETFL may change (fcntl(2)); the rest are fixed at open. */
#define SETFL_MASK (O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME)

static struct file *get_file(struct task *t, uint64_t fd)
{
    return fd > INT_MAX ? NULL : fdtable_get(t->fds, (int)fd);
}

static long dup_lowest(struct task *t, uint64_t oldfd, uint64_t min_fd, bool cloexec)
{
    struct file *f = get_file(t, oldfd);
    if (!f)
        return -EBADF;
    int limit = task_nofile_limit(t);
    /* F_DUPFD with an argument at or above RLIMIT_NOFILE is EINVAL, running out is EMFILE. */
    long ret = min_fd >= (uint64_t)limit
                   ? -EINVAL
                   : fdtable_install_lowest(t->fds, (int)min_fd, limit, f, cloexec);
    file_put(f);
    return ret;
}

long sys_dup(struct task *t, const struct syscall_args *a)
{
    long ret = dup_lowest(t, a->a[0], 0, false);
    return ret == -EINVAL ? -EMFILE : ret;
}

static long dup_to(struct task *t, uint64_t oldfd, uint64_t newfd, bool cloexec)
{
    if (newfd >= (uint64_t)task_nofile_limit(t))
        return -EBADF;
    struct file *f = get_file(t, oldfd);
    if (!f)
        return -EBADF;
    long ret = fdtable_install_at(t->fds, (int)newfd, f, cloexec);
    file_put(f);
    return ret;
}

long sys_dup2(struct task *t, const struct syscall_args *a)
{
    if (a->a[0] == a->a[1]) {
        /* dup2 of an fd onto itself only checks that it is open. */
        struct file *f = get_file(t, a->a[0]);
        if (!f)
            return -EBADF;
        file_put(f);
        return (long)a->a[1];
    }
    return dup_to(t, a->a[0], a->a[1], false);
}

long sys_dup3(struct task *t, const struct syscall_args *a)
{
    if (a->a[2] & ~(uint64_t)O_CLOEXEC)
        return -EINVAL;
    if (a->a[0] == a->a[1])
        return -EINVAL;
    return dup_to(t, a->a[0], a->a[1], a->a[2] & O_CLOEXEC);
}

long sys_fcntl(struct task *t, const struct syscall_args *a)
{
    int fd = a->a[0] > INT_MAX ? -1 : (int)a->a[0];
    struct file *f;
    long ret;

    switch ((int)a->a[1]) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
        return dup_lowest(t, a->a[0], (uint32_t)a->a[2], (int)a->a[1] == F_DUPFD_CLOEXEC);
    case F_GETFD:
        ret = fdtable_get_cloexec(t->fds, fd);
        return ret < 0 ? ret : (ret ? FD_CLOEXEC : 0);
    case F_SETFD:
        return fdtable_set_cloexec(t->fds, fd, a->a[2] & FD_CLOEXEC);
    case F_GETFL:
        if (!(f = get_file(t, a->a[0])))
            return -EBADF;
        ret = f->status_flags;
        file_put(f);
        return ret;
    case F_SETFL:
        if (!(f = get_file(t, a->a[0])))
            return -EBADF;
        /* Only the sentry's view changes: a donated host fd's own flags are shared with
         * processes outside the sandbox and stay as they are. */
        f->status_flags = (f->status_flags & ~SETFL_MASK) | ((int)a->a[2] & SETFL_MASK);
        file_put(f);
        return 0;
    case F_GETPIPE_SZ:
    case F_SETPIPE_SZ:
        if (!(f = get_file(t, a->a[0])))
            return -EBADF;
        ret = (int)a->a[1] == F_GETPIPE_SZ
                  ? pipe_get_size(f)
                  : pipe_set_size(f, (uint32_t)a->a[2], task_capable(t, CAP_SYS_RESOURCE));
        file_put(f);
        return ret;
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
        if (!(f = get_file(t, a->a[0])))
            return -EBADF;
        ret = (f->status_flags & O_PATH) ? -EBADF : filelock_fcntl(t, f, (int)a->a[1], a->a[2]);
        file_put(f);
        return ret;
    case F_GETOWN:
    case F_SETOWN:
    case F_GETOWN_EX:
    case F_SETOWN_EX:
    case F_GETSIG:
    case F_SETSIG:
        if (!(f = get_file(t, a->a[0])))
            return -EBADF;
        ret = (f->status_flags & O_PATH) ? -EBADF : fown_fcntl(t, f, (int)a->a[1], a->a[2]);
        file_put(f);
        return ret;
    case F_NOTIFY:
        if (!(f = get_file(t, a->a[0])))
            return -EBADF;
        ret = (f->status_flags & O_PATH) ? -EBADF : dnotify_set(t, f, fd, a->a[2]);
        file_put(f);
        return ret;
    default:
        return -EINVAL;
    }
}

long sys_flock(struct task *t, const struct syscall_args *a)
{
    struct file *f = get_file(t, a->a[0]);
    if (!f)
        return -EBADF;
    long ret = (f->status_flags & O_PATH) ? -EBADF : filelock_flock(t, f, (int)a->a[1]);
    file_put(f);
    return ret;
}

long sys_pipe2(struct task *t, const struct syscall_args *a)
{
    struct file *r, *w;
    int flags = (int)a->a[1];

    if (flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT))
        return -EINVAL;
    int err = pipe_create(flags & O_NONBLOCK, &r, &w);
    if (err)
        return err;
    int limit = task_nofile_limit(t);
    int fds[2];
    fds[0] = fdtable_install_lowest(t->fds, 0, limit, r, flags & O_CLOEXEC);
    fds[1] = fds[0] < 0 ? fds[0] : fdtable_install_lowest(t->fds, 0, limit, w, flags & O_CLOEXEC);
    file_put(r);
    file_put(w);
    if (fds[1] < 0) {
        if (fds[0] >= 0)
            fdtable_close(t->fds, fds[0]);
        return fds[1];
    }
    if (mm_copy_out(t->mm, a->a[0], fds, sizeof(fds)) != 0) {
        fdtable_close(t->fds, fds[0]);
        fdtable_close(t->fds, fds[1]);
        return -EFAULT;
    }
    return 0;
}

long sys_pipe(struct task *t, const struct syscall_args *a)
{
    struct syscall_args with_flags = {{a->a[0], 0}};
    return sys_pipe2(t, &with_flags);
}
