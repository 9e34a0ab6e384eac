/* eventfd(2) and eventfd2(2). */
#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>

#include "sentry/fs/eventfd/eventfd.h"
#include "sentry/syscalls/syscalls.h"

long sys_eventfd2(struct task *t, const struct syscall_args *a)
{
    unsigned int initval = (unsigned int)a->a[0];
    int flags = (int)a->a[1];
    struct file *f;

    if (flags & ~(EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE))
        return -EINVAL;
    int err = eventfd_create(initval, flags & EFD_SEMAPHORE, flags & EFD_NONBLOCK, &f);
    if (err)
        return err;
    return task_install_file(t, f, flags & EFD_CLOEXEC);
}

long sys_eventfd(struct task *t, const struct syscall_args *a)
{
    struct syscall_args with_flags = {{a->a[0], 0}};
    return sys_eventfd2(t, &with_flags);
}
