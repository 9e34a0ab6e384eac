/* pidfd_open(2), pidfd_send_signal(2) and pidfd_getfd(2): processes named by file descriptors
 * (the files are sentry/kernel/pidfd.c's). */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <string.h>

#include "sentry/fs/proc/proc.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

#define PIDFD_NONBLOCK O_NONBLOCK

long sys_pidfd_open(struct task *t, const struct syscall_args *a)
{
    struct kernel *k = t->kernel;
    int32_t pid = (int32_t)a->a[0];
    long ret;

    if ((a->a[1] & ~(uint64_t)PIDFD_NONBLOCK) || pid <= 0)
        return -EINVAL;
    pthread_mutex_lock(&k->lock);
    struct thread_group *g = kernel_find_group(k, pid);
    struct task *thread = g ? NULL : kernel_find_task(k, pid);
    bool thread_live = false;
    if (thread) {
        pthread_mutex_lock(&thread->tg->lock);
        thread_live = !thread->released;
        pthread_mutex_unlock(&thread->tg->lock);
    }
    /* A pid that is a thread but not a process: pidfd_open(2) says EINVAL. */
    if (!g) {
        pthread_mutex_unlock(&k->lock);
        return thread_live ? -EINVAL : -ESRCH;
    }
    struct file *f;
    ret = pidfd_file_create(k, g, (int)a->a[1], &f);
    pthread_mutex_unlock(&k->lock);
    /* pidfd_create: always close-on-exec. The fd table's lock comes after kernel.lock. */
    return ret ? ret : task_install_file(t, f, true);
}

/* The tgid a pidfd (or a /proc/PID directory, which Linux also takes here) names: the pid, or
 * -EBADF for another file. */
static int signal_fd_tgid(struct file *f, struct kernel *k)
{
    if (!pidfd_file_is(f))
        return procfs_file_tgid(f);
    pthread_mutex_lock(&k->lock);
    struct thread_group *g = pidfd_file_group(f);
    int tgid = g ? g->tgid : 0; /* 0: reaped, no process has it */
    pthread_mutex_unlock(&k->lock);
    return tgid;
}

long sys_pidfd_send_signal(struct task *t, const struct syscall_args *a)
{
    struct kernel *k = t->kernel;
    int sig = (int)a->a[1];
    siginfo_t info;
    long ret = 0;

    if (a->a[3] != 0)
        return -EINVAL;
    if (sig < 0 || sig > KERNEL_NSIG)
        return -EINVAL;
    struct file *f = task_get_file(t, a->a[0]);
    if (!f)
        return -EBADF;
    int tgid = signal_fd_tgid(f, k);
    file_put(f);
    if (tgid < 0)
        return tgid;
    if (a->a[2]) {
        if (mm_copy_in(t->mm, a->a[2], &info, sizeof(info)) != 0)
            return -EFAULT;
        /* As rt_sigqueueinfo(2): the siginfo must be for this signal, and only a process
         * signalling itself may claim the kernel's or kill's codes. */
        if (info.si_signo != sig)
            return -EINVAL;
        if ((info.si_code >= 0 || info.si_code == SI_TKILL) && tgid != t->tg->tgid)
            return -EPERM;
    } else {
        memset(&info, 0, sizeof(info));
        info.si_signo = sig;
        info.si_code = SI_USER;
        info.si_pid = t->tg->tgid;
        info.si_uid = t->creds.ruid;
    }
    pthread_mutex_lock(&k->lock);
    struct thread_group *g = tgid > 0 ? kernel_find_group(k, tgid) : NULL;
    /* A zombie still has its pid: the signal goes nowhere, successfully, as kill_pid_info. */
    if (!g)
        ret = -ESRCH;
    else if (!g->zombie && g->leader && !task_may_signal(t, g->leader, sig))
        ret = -EPERM;
    else if (sig && !g->zombie && g->leader)
        ret = thread_group_signal_send(g, sig, &info, false);
    pthread_mutex_unlock(&k->lock);
    return ret;
}

/* ptrace_may_access(PTRACE_MODE_ATTACH_REALCREDS) for an unprivileged caller: the target's real,
 * effective and saved ids are the caller's real ones, and it is dumpable. */
static bool may_attach(const struct task *t, const struct task *target, int dumpable)
{
    const struct creds *c = &t->creds, *o = &target->creds;

    if (task_capable(t, CAP_SYS_PTRACE))
        return true;
    return c->ruid == o->ruid && c->ruid == o->euid && c->ruid == o->suid && c->rgid == o->rgid &&
           c->rgid == o->egid && c->rgid == o->sgid && dumpable;
}

long sys_pidfd_getfd(struct task *t, const struct syscall_args *a)
{
    struct kernel *k = t->kernel;
    struct fdtable *fds = NULL;
    long ret = 0;

    if (a->a[2] != 0)
        return -EINVAL;
    struct file *pf = task_get_file(t, a->a[0]);
    if (!pf)
        return -EBADF;
    if (!pidfd_file_is(pf)) {
        file_put(pf);
        return -EBADF;
    }
    pthread_mutex_lock(&k->lock);
    struct thread_group *g = pidfd_file_group(pf);
    if (!g || !g->leader) {
        ret = -ESRCH;
    } else {
        pthread_mutex_lock(&g->lock);
        int dumpable = g->dumpable;
        pthread_mutex_unlock(&g->lock);
        if (!may_attach(t, g->leader, dumpable))
            ret = -EPERM;
        else
            fds = task_get_fds(g->leader); /* NULL once the leader has ended */
    }
    pthread_mutex_unlock(&k->lock);
    file_put(pf);
    if (ret)
        return ret;
    if (!fds)
        return -EBADF;
    struct file *f = a->a[1] <= INT32_MAX ? fdtable_get(fds, (int)a->a[1]) : NULL;
    fdtable_put_ref(fds);
    if (!f)
        return -EBADF;
    /* The new fd is close-on-exec (pidfd_getfd(2)). */
    return task_install_file(t, f, true);
}
