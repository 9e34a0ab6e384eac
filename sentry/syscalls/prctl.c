/* prctl(2): the process-attribute options programs use (names, parent-death signal, dumpable,
 * no_new_privs, capability bounding set, child subreaper, keepcaps, timer slack, seccomp mode,
 * the clear-child-tid address). Unknown options are EINVAL, as Linux's default case. */
#include <errno.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/prctl.h>

#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

static long prctl_set_name(struct task *t, uint64_t addr)
{
    char name[16];
    ssize_t n = mm_copy_string_in(t->mm, addr, name, sizeof(name));

    if (n == -ENAMETOOLONG) {
        /* Longer names are truncated, not refused. */
        if (mm_copy_in(t->mm, addr, name, sizeof(name) - 1) != 0)
            return -EFAULT;
        name[sizeof(name) - 1] = '\0';
    } else if (n < 0) {
        return n;
    }
    task_set_comm(t, name);
    return 0;
}

static long put_int(struct task *t, uint64_t addr, int value)
{
    return mm_copy_out(t->mm, addr, &value, sizeof(value)) ? -EFAULT : 0;
}

/* PR_CAP_AMBIENT: a capability may be raised in the ambient set only while it is both permitted
 * and inheritable (capabilities(7)). */
static long prctl_cap_ambient(struct task *t, uint64_t op, uint64_t cap, uint64_t arg4,
                              uint64_t arg5)
{
    struct creds *c = &t->creds;
    if (op == PR_CAP_AMBIENT_CLEAR_ALL) {
        if (cap || arg4 || arg5)
            return -EINVAL;
        c->cap_ambient = 0;
        return 0;
    }
    if (cap > CAP_LAST_CAP || arg4 || arg5)
        return -EINVAL;
    uint64_t bit = 1ULL << cap;
    switch (op) {
    case PR_CAP_AMBIENT_IS_SET:
        return (c->cap_ambient & bit) != 0;
    case PR_CAP_AMBIENT_RAISE:
        if (!(c->cap_permitted & bit) || !(c->cap_inheritable & bit))
            return -EPERM;
        c->cap_ambient |= bit;
        return 0;
    case PR_CAP_AMBIENT_LOWER:
        c->cap_ambient &= ~bit;
        return 0;
    default:
        return -EINVAL;
    }
}

long sys_prctl(struct task *t, const struct syscall_args *a)
{
    uint64_t arg2 = a->a[1];
    /* Options that take no more arguments refuse non-zero ones (prctl(2) EINVAL). */
    bool rest_zero = !a->a[2] && !a->a[3] && !a->a[4];

    switch ((int)a->a[0]) {
    case PR_SET_NAME:
        return prctl_set_name(t, arg2);
    case PR_GET_NAME:
        return mm_copy_out(t->mm, arg2, t->comm, sizeof(t->comm));
    case PR_SET_PDEATHSIG:
        if (arg2 > KERNEL_NSIG)
            return -EINVAL;
        t->pdeath_signal = (int)arg2;
        return 0;
    case PR_GET_PDEATHSIG:
        return put_int(t, arg2, t->pdeath_signal);
    case PR_GET_DUMPABLE: {
        pthread_mutex_lock(&t->tg->lock);
        int d = t->tg->dumpable;
        pthread_mutex_unlock(&t->tg->lock);
        return d;
    }
    case PR_SET_DUMPABLE:
        /* SUID_DUMP_ROOT (2) is for the sysctl only. */
        if (arg2 > 1)
            return -EINVAL;
        pthread_mutex_lock(&t->tg->lock);
        t->tg->dumpable = (int)arg2;
        pthread_mutex_unlock(&t->tg->lock);
        return 0;
    case PR_SET_NO_NEW_PRIVS:
        if (arg2 != 1 || !rest_zero)
            return -EINVAL;
        t->no_new_privs = true;
        return 0;
    case PR_GET_NO_NEW_PRIVS:
        if (arg2 || !rest_zero)
            return -EINVAL;
        return t->no_new_privs;
    case PR_CAPBSET_READ:
        if (arg2 > CAP_LAST_CAP)
            return -EINVAL;
        return (t->creds.cap_bounding >> arg2) & 1;
    case PR_CAPBSET_DROP:
        if (arg2 > CAP_LAST_CAP)
            return -EINVAL;
        if (!task_capable(t, CAP_SETPCAP))
            return -EPERM;
        t->creds.cap_bounding &= ~(1ULL << arg2);
        return 0;
    case PR_SET_CHILD_SUBREAPER:
        pthread_mutex_lock(&t->kernel->lock);
        t->tg->child_subreaper = arg2 != 0;
        pthread_mutex_unlock(&t->kernel->lock);
        return 0;
    case PR_GET_CHILD_SUBREAPER: {
        pthread_mutex_lock(&t->kernel->lock);
        int on = t->tg->child_subreaper;
        pthread_mutex_unlock(&t->kernel->lock);
        return put_int(t, arg2, on);
    }
    case PR_CAP_AMBIENT:
        return prctl_cap_ambient(t, arg2, a->a[2], a->a[3], a->a[4]);
    case PR_SET_KEEPCAPS:
        if (arg2 > 1)
            return -EINVAL;
        t->keepcaps = arg2;
        return 0;
    case PR_GET_KEEPCAPS:
        return t->keepcaps;
    case PR_GET_SECCOMP: {
        pthread_mutex_lock(&t->tg->lock);
        int mode = task_seccomp_mode(t);
        pthread_mutex_unlock(&t->tg->lock);
        return mode;
    }
    case PR_SET_SECCOMP:
        /* prctl_set_seccomp: no flags; strict mode ignores the third argument. */
        if (arg2 == SECCOMP_MODE_STRICT)
            return seccomp_do(t, SECCOMP_SET_MODE_STRICT, 0, 0);
        if (arg2 == SECCOMP_MODE_FILTER)
            return seccomp_do(t, SECCOMP_SET_MODE_FILTER, 0, a->a[2]);
        return -EINVAL;
    case PR_SET_TIMERSLACK:
        /* 0 restores the default (the value the task started with). */
        t->timer_slack_ns = arg2 ? arg2 : 50000;
        return 0;
    case PR_GET_TIMERSLACK:
        return (long)t->timer_slack_ns;
    case PR_GET_TID_ADDRESS:
        return mm_copy_out(t->mm, arg2, &t->clear_child_tid, sizeof(t->clear_child_tid));
    default:
        return -EINVAL;
    }
}
