/* signalfd(2) and signalfd4(2). */
#include <errno.h>
#include <sys/signalfd.h>

#include "sentry/fs/signalfd/signalfd.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

/* do_signalfd4() in Linux: a new file for fd -1, else a new mask for the signalfd at fd. */
static long signalfd_common(struct task *t, int fd, uint64_t mask_addr, uint64_t size, int flags)
{
    uint64_t mask;

    if (size != KERNEL_SIGSET_SIZE)
        return -EINVAL;
    if (mm_copy_in(t->mm, mask_addr, &mask, sizeof(mask)) != 0)
        return -EFAULT;
    if (flags & ~(SFD_CLOEXEC | SFD_NONBLOCK))
        return -EINVAL;
    if (fd == -1) {
        struct file *f;
        int err = signalfd_file_create(t->kernel, mask, flags & SFD_NONBLOCK, &f);
        if (err)
            return err;
        return task_install_file(t, f, flags & SFD_CLOEXEC);
    }
    struct file *f = fd < 0 ? NULL : task_get_file(t, (uint64_t)fd);
    if (!f)
        return -EBADF;
    long ret = fd;
    if (signalfd_file_is(f))
        signalfd_file_set_mask(f, mask);
    else
        ret = -EINVAL;
    file_put(f);
    return ret;
}

long sys_signalfd4(struct task *t, const struct syscall_args *a)
{
    return signalfd_common(t, (int)a->a[0], a->a[1], a->a[2], (int)a->a[3]);
}

long sys_signalfd(struct task *t, const struct syscall_args *a)
{
    return signalfd_common(t, (int)a->a[0], a->a[1], a->a[2], 0);
}
