/* seccomp(2) and prctl's PR_SET_SECCOMP: checking the guest's request in Linux's order
 * (kernel/seccomp.c do_seccomp); the filters themselves are the kernel's (sentry/kernel). */
#include <errno.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <stdlib.h>

#include "lib/bpf/bpf.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

/* The flags Linux 6.1 knows (SECCOMP_FILTER_FLAG_MASK). */
#define SECCOMP_FLAGS_KNOWN                                                                        \
    (SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW |        \
     SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_TSYNC_ESRCH |                          \
     SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)

/* struct sock_fprog as a 64-bit guest passes it. */
struct guest_sock_fprog {
    uint16_t len;
    uint16_t pad[3];
    uint64_t filter;
};

/* seccomp_prepare_user_filter: the program from guest memory, checked. */
static long prepare_filter(struct task *t, uint64_t uargs, bool log, struct seccomp_filter **out)
{
    struct guest_sock_fprog fprog;

    if (mm_copy_in(t->mm, uargs, &fprog, sizeof(fprog)) != 0)
        return -EFAULT;
    if (fprog.len == 0 || fprog.len > BPF_PROG_MAX_INSNS)
        return -EINVAL;
    /* Without no_new_privs only CAP_SYS_ADMIN may filter: a filter could fool a privileged
     * program it execs (seccomp(2)). */
    if (!t->no_new_privs && !task_capable(t, CAP_SYS_ADMIN))
        return -EACCES;
    struct sock_filter *prog = malloc(fprog.len * sizeof(*prog));
    if (!prog)
        return -ENOMEM;
    long ret = -EFAULT;
    if (mm_copy_in(t->mm, fprog.filter, prog, fprog.len * sizeof(*prog)) == 0)
        ret = seccomp_filter_create(prog, fprog.len, log, out);
    free(prog);
    return ret;
}

static long set_mode_filter(struct task *t, unsigned flags, uint64_t uargs)
{
    struct seccomp_filter *f;

    if (flags & ~SECCOMP_FLAGS_KNOWN)
        return -EINVAL;
    if ((flags & SECCOMP_FILTER_FLAG_TSYNC) && (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) &&
        !(flags & SECCOMP_FILTER_FLAG_TSYNC_ESRCH))
        return -EINVAL;
    if ((flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) &&
        !(flags & SECCOMP_FILTER_FLAG_NEW_LISTENER))
        return -EINVAL;
    long ret = prepare_filter(t, uargs, (flags & SECCOMP_FILTER_FLAG_LOG) != 0, &f);
    if (ret)
        return ret;
    if (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
        /* User notification (a supervisor answering syscalls) is not supported. */
        seccomp_filter_put(f);
        return -ENOSYS;
    }
    /* SPEC_ALLOW: the sentry changes no speculation mitigation either way. */
    return task_seccomp_attach(t, f, flags);
}

static long get_action_avail(struct task *t, uint64_t uargs)
{
    uint32_t action;

    if (mm_copy_in(t->mm, uargs, &action, sizeof(action)) != 0)
        return -EFAULT;
    switch (action) {
    case SECCOMP_RET_KILL_PROCESS:
    case SECCOMP_RET_KILL_THREAD:
    case SECCOMP_RET_TRAP:
    case SECCOMP_RET_ERRNO:
    case SECCOMP_RET_TRACE:
    case SECCOMP_RET_LOG:
    case SECCOMP_RET_ALLOW:
        return 0;
    default:
        /* USER_NOTIF too: no listener can be made (set_mode_filter). */
        return -EOPNOTSUPP;
    }
}

long seccomp_do(struct task *t, unsigned op, unsigned flags, uint64_t uargs)
{
    switch (op) {
    case SECCOMP_SET_MODE_STRICT:
        if (flags || uargs)
            return -EINVAL;
        return task_seccomp_set_strict(t);
    case SECCOMP_SET_MODE_FILTER:
        return set_mode_filter(t, flags, uargs);
    case SECCOMP_GET_ACTION_AVAIL:
        if (flags)
            return -EINVAL;
        return get_action_avail(t, uargs);
    case SECCOMP_GET_NOTIF_SIZES: {
        if (flags)
            return -EINVAL;
        struct seccomp_notif_sizes sizes = {
            .seccomp_notif = sizeof(struct seccomp_notif),
            .seccomp_notif_resp = sizeof(struct seccomp_notif_resp),
            .seccomp_data = sizeof(struct seccomp_data),
        };
        return mm_copy_out(t->mm, uargs, &sizes, sizeof(sizes)) ? -EFAULT : 0;
    }
    default:
        return -EINVAL;
    }
}

long sys_seccomp(struct task *t, const struct syscall_args *a)
{
    /* op and flags are unsigned int in Linux's prototype: the upper halves are ignored. */
    return seccomp_do(t, (unsigned)a->a[0], (unsigned)a->a[1], a->a[2]);
}
