/* Opening and closing: open(2), openat(2), openat2(2), creat(2), close_range(2). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <linux/close_range.h>
#include <linux/openat2.h>

#include "arch.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

/* Flags open(2) knows; others are ignored, as Linux ignores unknown open flags. */
#define OPEN_FLAGS_KNOWN                                                                          \
    (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC |       \
     O_ASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC |        \
     O_SYNC | O_PATH | __O_TMPFILE)

static long do_openat(struct task *t, int dirfd, uint64_t path_addr, int flags, mode_t mode,
                      unsigned resolve)
{
    char *path = malloc(PATH_MAX);
    if (!path)
        return -ENOMEM;
    long ret = path_copy_in(t, path_addr, path);
    if (ret < 0)
        goto out;
    /* Linux forces O_LARGEFILE for a 64-bit caller (force_o_largefile), then drops it with the
     * other flags an O_PATH open ignores. */
    flags = (flags & OPEN_FLAGS_KNOWN) | ARCH_O_LARGEFILE;
    if (flags & O_PATH)
        flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    struct at_ctx c;
    ret = at_ctx_begin(t, dirfd, path, false, &c);
    if (ret)
        goto out;
    c.walk.resolve = resolve;
    struct file *f;
    ret = vfs_open(&c.walk, path, flags, mode, &f);
    at_ctx_end(&c);
    if (ret)
        goto out;
    ret = fdtable_install_lowest(t->fds, 0, task_nofile_limit(t), f, flags & O_CLOEXEC);
    file_put(f);
out:
    free(path);
    return ret;
}

long sys_open(struct task *t, const struct syscall_args *a)
{
    return do_openat(t, AT_FDCWD, a->a[0], (int)a->a[1], (mode_t)a->a[2], 0);
}

long sys_openat(struct task *t, const struct syscall_args *a)
{
    return do_openat(t, (int)a->a[0], a->a[1], (int)a->a[2], (mode_t)a->a[3], 0);
}

long sys_creat(struct task *t, const struct syscall_args *a)
{
    return do_openat(t, AT_FDCWD, a->a[0], O_CREAT | O_WRONLY | O_TRUNC, (mode_t)a->a[1], 0);
}

long sys_openat2(struct task *t, const struct syscall_args *a)
{
    struct open_how how = {0};
    if (a->a[3] < 24) /* OPEN_HOW_SIZE_VER0 */
        return -EINVAL;
    if (a->a[3] > 4096)
        return -E2BIG;
    size_t n = a->a[3] < sizeof(how) ? a->a[3] : sizeof(how);
    if (mm_copy_in(t->mm, a->a[2], &how, n))
        return -EFAULT;
    /* A larger struct from a newer libc must have zeros past what we know. */
    for (uint64_t off = sizeof(how); off < a->a[3]; off++) {
        char byte;
        if (mm_copy_in(t->mm, a->a[2] + off, &byte, 1))
            return -EFAULT;
        if (byte)
            return -E2BIG;
    }
    if (how.flags & ~(uint64_t)(OPEN_FLAGS_KNOWN | ARCH_O_LARGEFILE))
        return -EINVAL;
    if (how.mode & ~(uint64_t)07777 || (how.mode && !(how.flags & (O_CREAT | __O_TMPFILE))))
        return -EINVAL;
    if (how.resolve & ~(uint64_t)(RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS |
                                  RESOLVE_BENEATH | RESOLVE_IN_ROOT | RESOLVE_CACHED))
        return -EINVAL;
    if ((how.resolve & RESOLVE_BENEATH) && (how.resolve & RESOLVE_IN_ROOT))
        return -EINVAL;
    if (how.resolve & RESOLVE_CACHED)
        return -EAGAIN; /* "only the dentry cache": the sentry can't promise no gofer round
                           trip, so it answers what Linux does when it can't: retry without */
    unsigned resolve = (how.resolve & RESOLVE_NO_XDEV ? WALK_NO_XDEV : 0) |
                       (how.resolve & RESOLVE_NO_MAGICLINKS ? WALK_NO_MAGICLINKS : 0) |
                       (how.resolve & RESOLVE_NO_SYMLINKS ? WALK_NO_SYMLINKS : 0) |
                       (how.resolve & RESOLVE_BENEATH ? WALK_BENEATH : 0) |
                       (how.resolve & RESOLVE_IN_ROOT ? WALK_IN_ROOT : 0);
    return do_openat(t, (int)a->a[0], a->a[1], (int)how.flags, (mode_t)how.mode, resolve);
}

long sys_close_range(struct task *t, const struct syscall_args *a)
{
    unsigned first = (unsigned)a->a[0], last = (unsigned)a->a[1];
    unsigned flags = (unsigned)a->a[2];
    if (flags & ~(unsigned)(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC))
        return -EINVAL;
    if (first > last)
        return -EINVAL;
    int end = fdtable_size(t->fds);
    for (unsigned fd = first; fd < (unsigned)end && fd <= last; fd++) {
        if (flags & CLOSE_RANGE_CLOEXEC)
            fdtable_set_cloexec(t->fds, (int)fd, true);
        else
            fdtable_close(t->fds, (int)fd);
    }
    return 0;
}
