/* Process and thread identity and lifetime: exit(2), exit_group(2), getpid(2) and friends,
 * set_tid_address(2), set_robust_list(2), arch_prctl(2), prctl(2). */
#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

long sys_exit_group(struct task *t, const struct syscall_args *a)
{
    task_exit_group(t, W_EXITCODE((int)(a->a[0] & 0xff), 0));
    return 0;
}

long sys_exit(struct task *t, const struct syscall_args *a)
{
    /* The last thread's exit ends the process with its code; with one thread per process that
     * is always this one. */
    return sys_exit_group(t, a);
}

long sys_getpid(struct task *t, const struct syscall_args *a)
{
    return t->tg->tgid;
}

long sys_gettid(struct task *t, const struct syscall_args *a)
{
    return t->tid;
}

long sys_getppid(struct task *t, const struct syscall_args *a)
{
    /* The init of a pid namespace has no parent inside it. */
    return 0;
}

long sys_set_tid_address(struct task *t, const struct syscall_args *a)
{
    t->clear_child_tid = a->a[0];
    return t->tid;
}

long sys_set_robust_list(struct task *t, const struct syscall_args *a)
{
    /* The head is struct robust_list_head: three words. */
    if (a->a[1] != 3 * sizeof(uint64_t))
        return -EINVAL;
    t->robust_list = a->a[0];
    t->robust_list_len = a->a[1];
    return 0;
}

long sys_arch_prctl(struct task *t, const struct syscall_args *a)
{
    uint64_t value;
    int ret = arch_prctl_regs(&t->regs, (int)a->a[0], a->a[1], &value);

    if (ret == 1)
        return mm_copy_out(t->mm, a->a[1], &value, sizeof(value));
    return ret;
}

long sys_prctl(struct task *t, const struct syscall_args *a)
{
    switch ((int)a->a[0]) {
    case PR_SET_NAME: {
        char name[16];
        ssize_t n = mm_copy_string_in(t->mm, a->a[1], name, sizeof(name));
        if (n == -ENAMETOOLONG) {
            /* Longer names are truncated, not refused. */
            if (mm_copy_in(t->mm, a->a[1], name, sizeof(name) - 1) != 0)
                return -EFAULT;
            name[sizeof(name) - 1] = '\0';
        } else if (n < 0) {
            return n;
        }
        memcpy(t->comm, name, sizeof(name));
        return 0;
    }
    case PR_GET_NAME:
        return mm_copy_out(t->mm, a->a[1], t->comm, sizeof(t->comm));
    case PR_GET_DUMPABLE:
        return 1;
    case PR_SET_DUMPABLE:
        return a->a[1] <= 1 ? 0 : -EINVAL;
    case PR_SET_NO_NEW_PRIVS:
        return a->a[1] == 1 && !a->a[2] && !a->a[3] && !a->a[4] ? 0 : -EINVAL;
    case PR_GET_NO_NEW_PRIVS:
        return 0;
    case PR_CAPBSET_READ:
        return a->a[1] <= CAP_LAST_CAP ? 1 : -EINVAL;
    default:
        return -EINVAL;
    }
}
