/* Process and thread identity and lifetime: exit(2), exit_group(2), getpid(2) and friends,
 * set_tid_address(2), set_robust_list(2), arch_prctl(2). */
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/resource.h>
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
    task_exit_thread(t, W_EXITCODE((int)(a->a[0] & 0xff), 0));
    return 0;
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
    pthread_mutex_lock(&t->kernel->lock);
    /* The init of a pid namespace has no parent inside it. */
    long ppid = t->tg->parent ? t->tg->parent->tgid : 0;
    pthread_mutex_unlock(&t->kernel->lock);
    return ppid;
}

long sys_set_tid_address(struct task *t, const struct syscall_args *a)
{
    t->clear_child_tid = a->a[0];
    return t->tid;
}

long sys_get_robust_list(struct task *t, const struct syscall_args *a)
{
    struct kernel *k = t->kernel;
    uint64_t head, len = 3 * sizeof(uint64_t);
    int pid = (int)a->a[0];

    if (pid == 0) {
        head = t->robust_list;
    } else {
        pthread_mutex_lock(&k->lock);
        struct task *p = kernel_find_task(k, pid);
        if (!p) {
            pthread_mutex_unlock(&k->lock);
            return -ESRCH;
        }
        /* ptrace_may_access(PTRACE_MODE_READ_REALCREDS), simplified: the same process, the same
         * real uid as the target's real and saved ones, or root. */
        bool allowed = p->tg == t->tg || t->creds.euid == 0 ||
                       (t->creds.ruid == p->creds.ruid && t->creds.ruid == p->creds.suid);
        head = p->robust_list;
        pthread_mutex_unlock(&k->lock);
        if (!allowed)
            return -EPERM;
    }
    if (mm_copy_out(t->mm, a->a[2], &len, sizeof(len)) != 0 ||
        mm_copy_out(t->mm, a->a[1], &head, sizeof(head)) != 0)
        return -EFAULT;
    return 0;
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

long sys_clone(struct task *t, const struct syscall_args *a)
{
    /* x86_64 order: flags, stack, parent_tid, child_tid, tls. */
    struct clone_request req = {
        .flags = a->a[0],
        .stack = a->a[1],
        .parent_tid = a->a[2],
        .child_tid = a->a[3],
        .tls = a->a[4],
    };
    return task_fork(t, &req);
}

long sys_fork(struct task *t, const struct syscall_args *a)
{
    struct clone_request req = {.flags = SIGCHLD};
    return task_fork(t, &req);
}

long sys_vfork(struct task *t, const struct syscall_args *a)
{
    struct clone_request req = {.flags = CLONE_VM | CLONE_VFORK | SIGCHLD};
    return task_fork(t, &req);
}

long sys_wait4(struct task *t, const struct syscall_args *a)
{
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof(ru));
    long pid = task_wait(t, (int32_t)a->a[0], (int)a->a[2], &status, &ru);

    if (pid > 0 && a->a[1] && mm_copy_out(t->mm, a->a[1], &status, sizeof(status)) != 0)
        return -EFAULT;
    if (pid >= 0 && a->a[3] && mm_copy_out(t->mm, a->a[3], &ru, sizeof(ru)) != 0)
        return -EFAULT;
    return pid;
}

/* getpgid(2) and getsid(2): a field of the process `pid` names (0: the caller). */
static long group_of(struct task *t, int32_t pid, bool session)
{
    struct kernel *k = t->kernel;

    pthread_mutex_lock(&k->lock);
    struct thread_group *g = pid == 0 ? t->tg : kernel_find_group(k, pid);
    long ret = !g ? -ESRCH : session ? g->sid : g->pgid;
    pthread_mutex_unlock(&k->lock);
    return ret;
}

long sys_getpgid(struct task *t, const struct syscall_args *a)
{
    return group_of(t, (int32_t)a->a[0], false);
}

long sys_getpgrp(struct task *t, const struct syscall_args *a)
{
    return group_of(t, 0, false);
}

long sys_getsid(struct task *t, const struct syscall_args *a)
{
    return group_of(t, (int32_t)a->a[0], true);
}

long sys_setsid(struct task *t, const struct syscall_args *a)
{
    struct kernel *k = t->kernel;
    long ret;

    pthread_mutex_lock(&k->lock);
    /* A process group leader can't start a session (setsid(2)). */
    bool leads_group = false;
    for (struct thread_group *g = k->groups; g; g = g->next)
        leads_group |= g->pgid == t->tg->tgid;
    if (leads_group) {
        ret = -EPERM;
    } else {
        t->tg->sid = t->tg->pgid = t->tg->tgid;
        t->tg->ctty_detached = false; /* the new session has no terminal yet */
        ret = t->tg->tgid;
    }
    pthread_mutex_unlock(&k->lock);
    return ret;
}

long sys_setpgid(struct task *t, const struct syscall_args *a)
{
    struct kernel *k = t->kernel;
    int32_t pid = (int32_t)a->a[0], pgid = (int32_t)a->a[1];
    long ret = 0;

    if (pgid < 0)
        return -EINVAL;
    pthread_mutex_lock(&k->lock);
    struct thread_group *g = pid == 0 ? t->tg : kernel_find_group(k, pid);
    /* setpgid(2): the caller or one of its children, in the caller's session, not a session
     * leader; the group must exist in the session unless it is the process's own pid. */
    if (!g || (g != t->tg && g->parent != t->tg)) {
        ret = -ESRCH;
        goto out;
    }
    if (g->sid != t->tg->sid || g->sid == g->tgid) {
        ret = -EPERM;
        goto out;
    }
    if (pgid == 0)
        pgid = g->tgid;
    if (pgid != g->tgid) {
        bool exists = false;
        for (struct thread_group *o = k->groups; o; o = o->next)
            exists |= o->pgid == pgid && o->sid == t->tg->sid;
        if (!exists) {
            ret = -EPERM;
            goto out;
        }
    }
    g->pgid = pgid;
out:
    pthread_mutex_unlock(&k->lock);
    return ret;
}

/* waitid(2): the child's state as a siginfo; with WNOHANG and nothing to report, a zeroed one
 * and 0. */
long sys_waitid(struct task *t, const struct syscall_args *a)
{
    int idtype = (int)a->a[0];
    int32_t id = (int32_t)a->a[1];
    int options = (int)a->a[3];
    int pid;

    if (options & ~(WNOHANG | WNOWAIT | WEXITED | WSTOPPED | WCONTINUED | __WNOTHREAD |
                    __WCLONE | __WALL))
        return -EINVAL;
    if (!(options & (WEXITED | WSTOPPED | WCONTINUED)))
        return -EINVAL;
    switch (idtype) {
    case P_ALL:
        pid = -1;
        break;
    case P_PID:
        if (id <= 0)
            return -EINVAL;
        pid = id;
        break;
    case P_PGID:
        /* id 0 is the caller's own group (Linux 5.4). */
        if (id < 0)
            return -EINVAL;
        pid = id == 0 ? 0 : -id;
        break;
    default:
        return -EINVAL;
    }
    struct wait_result res;
    memset(&res, 0, sizeof(res));
    long ret = task_waitid(t, pid, options, &res);
    if (ret < 0)
        return ret;
    if (a->a[2]) {
        siginfo_t info;
        memset(&info, 0, sizeof(info));
        if (ret > 0) {
            info.si_signo = SIGCHLD;
            info.si_code = res.code;
            info.si_pid = res.pid;
            info.si_uid = res.uid;
            info.si_status = res.status;
        }
        if (mm_copy_out(t->mm, a->a[2], &info, sizeof(info)) != 0)
            return -EFAULT;
    }
    if (a->a[4] && mm_copy_out(t->mm, a->a[4], &res.ru, sizeof(res.ru)) != 0)
        return -EFAULT;
    return 0;
}
