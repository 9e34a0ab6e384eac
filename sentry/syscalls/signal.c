/* Signal syscalls: rt_sigaction(2), rt_sigprocmask(2), rt_sigpending(2), rt_sigreturn(2),
 * sigaltstack(2), kill(2), tkill(2), tgkill(2). */
#include <errno.h>
#include <time.h>
#include <stdint.h>
#include <string.h>

#include "sentry/kernel/ktimer.h"
#include "sentry/kernel/sigframe.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

/* Kernel ABI constants glibc's headers don't give (or give as sysconf calls). */
#define K_SA_RESTORER 0x04000000
#define K_SS_AUTODISARM (1U << 31)
#define K_MINSIGSTKSZ 2048
/* The sigaction flags Linux keeps (it drops unknown ones silently since 6.2, but keeps these). */
#define KNOWN_SA_FLAGS                                                                             \
    (SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER |             \
     SA_RESETHAND | K_SA_RESTORER | 0x400 /* SA_EXPOSE_TAGBITS */ | 0x800 /* SA_UNSUPPORTED */)

long sys_rt_sigaction(struct task *t, const struct syscall_args *a)
{
    int sig = (int)a->a[0];
    struct k_sigaction act, old;

    if (a->a[3] != KERNEL_SIGSET_SIZE)
        return -EINVAL;
    if (sig < 1 || sig > KERNEL_NSIG || (a->a[1] && (sig == SIGKILL || sig == SIGSTOP)))
        return -EINVAL;
    if (a->a[1] && mm_copy_in(t->mm, a->a[1], &act, sizeof(act)) != 0)
        return -EFAULT;
    pthread_mutex_lock(&t->tg->lock);
    old = t->tg->actions[sig];
    if (a->a[1]) {
        act.flags &= KNOWN_SA_FLAGS;
        act.mask &= ~UNBLOCKABLE;
        t->tg->actions[sig] = act;
        /* POSIX: setting a pending signal to be ignored discards it. */
        if (act.handler == (uint64_t)SIG_IGN ||
            (act.handler == (uint64_t)SIG_DFL &&
             (sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH))) {
            thread_group_signal_discard(t->tg, sig);
        }
    }
    pthread_mutex_unlock(&t->tg->lock);
    if (a->a[2] && mm_copy_out(t->mm, a->a[2], &old, sizeof(old)) != 0)
        return -EFAULT;
    return 0;
}

long sys_rt_sigprocmask(struct task *t, const struct syscall_args *a)
{
    uint64_t set = 0, old;

    if (a->a[3] != KERNEL_SIGSET_SIZE)
        return -EINVAL;
    if (a->a[1] && mm_copy_in(t->mm, a->a[1], &set, sizeof(set)) != 0)
        return -EFAULT;
    pthread_mutex_lock(&t->tg->lock);
    old = t->blocked;
    if (a->a[1]) {
        switch ((int)a->a[0]) {
        case SIG_BLOCK:
            t->blocked |= set;
            break;
        case SIG_UNBLOCK:
            t->blocked &= ~set;
            break;
        case SIG_SETMASK:
            t->blocked = set;
            break;
        default:
            pthread_mutex_unlock(&t->tg->lock);
            return -EINVAL;
        }
        t->blocked &= ~UNBLOCKABLE;
    }
    pthread_mutex_unlock(&t->tg->lock);
    if (a->a[2] && mm_copy_out(t->mm, a->a[2], &old, sizeof(old)) != 0)
        return -EFAULT;
    return 0;
}

long sys_rt_sigpending(struct task *t, const struct syscall_args *a)
{
    if (a->a[1] > KERNEL_SIGSET_SIZE)
        return -EINVAL;
    pthread_mutex_lock(&t->tg->lock);
    uint64_t pending = (t->pending | t->tg->shared_pending) & t->blocked;
    pthread_mutex_unlock(&t->tg->lock);
    return mm_copy_out(t->mm, a->a[0], &pending, a->a[1]);
}

long sys_rt_sigreturn(struct task *t, const struct syscall_args *a)
{
    if (sigframe_return(t) != 0) {
        siginfo_t info = {.si_signo = SIGSEGV, .si_code = SI_KERNEL};
        task_signal_force(t, SIGSEGV, &info);
    }
    return SYSCALL_KEEP_REGS;
}

/* The guest's stack_t. */
struct guest_stack {
    uint64_t ss_sp;
    int32_t ss_flags;
    int32_t pad;
    uint64_t ss_size;
};

long sys_sigaltstack(struct task *t, const struct syscall_args *a)
{
    struct guest_stack ss, old;
    bool on = sigframe_on_altstack(t, arch_regs_sp(&t->regs));

    memset(&old, 0, sizeof(old));
    old.ss_sp = t->altstack_sp;
    old.ss_size = t->altstack_size;
    old.ss_flags = on ? SS_ONSTACK : (t->altstack_size ? 0 : SS_DISABLE);
    if (a->a[0]) {
        if (mm_copy_in(t->mm, a->a[0], &ss, sizeof(ss)) != 0)
            return -EFAULT;
        if (on)
            return -EPERM;
        int mode = ss.ss_flags & ~(int)K_SS_AUTODISARM;
        if (mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK)
            return -EINVAL;
        if (mode == SS_DISABLE) {
            t->altstack_sp = t->altstack_size = 0;
        } else {
            if (ss.ss_size < K_MINSIGSTKSZ)
                return -ENOMEM;
            t->altstack_sp = ss.ss_sp;
            t->altstack_size = ss.ss_size;
        }
        t->altstack_flags = ss.ss_flags;
    }
    if (a->a[1] && mm_copy_out(t->mm, a->a[1], &old, sizeof(old)) != 0)
        return -EFAULT;
    return 0;
}

/* Whether kill(pid) reaches process `g` (kill(2)): one pid, the caller's process group (0),
 * every process but init and the caller itself (-1: Linux never signals the caller there), or
 * a process group (-pgid). */
static bool kill_target(const struct task *t, const struct thread_group *g, int32_t pid)
{
    if (g->zombie || !g->leader)
        return false;
    if (pid > 0)
        return g->tgid == pid;
    if (pid == 0)
        return g->pgid == t->tg->pgid;
    if (pid == -1)
        return !g->is_init && g != t->tg;
    return g->pgid == -pid;
}

/* The siginfo of a signal `t` sends with kill(2) (SI_USER) or tkill(2)/tgkill(2) (SI_TKILL). */
static void sender_info(struct task *t, int sig, int code, siginfo_t *info)
{
    memset(info, 0, sizeof(*info));
    info->si_signo = sig;
    info->si_code = code;
    info->si_pid = t->tg->tgid;
    info->si_uid = t->creds.ruid;
}

/* Sends with the sender's siginfo: SI_USER for kill(2), SI_TKILL for tkill(2) and tgkill(2).
 * A group send succeeds if any member could be signalled; kill(-1) leaves out, without
 * failing, the processes the sender may not signal (kill_something_info). */
static long signal_process(struct task *t, int32_t pid, int sig, int code)
{
    struct kernel *k = t->kernel;
    siginfo_t info;
    bool found = false, sent = false;

    if (sig < 0 || sig > KERNEL_NSIG || pid == INT32_MIN)
        return -EINVAL;
    sender_info(t, sig, code, &info);
    pthread_mutex_lock(&k->lock);
    for (struct thread_group *g = k->groups; g; g = g->next) {
        if (!kill_target(t, g, pid))
            continue;
        found = true;
        if (!task_may_signal(t, g->leader, sig))
            continue;
        sent = true;
        if (sig)
            thread_group_signal_send(g, sig, &info, false);
    }
    pthread_mutex_unlock(&k->lock);
    if (!found)
        return -ESRCH;
    return sent || pid == -1 ? 0 : -EPERM;
}

/* tkill/tgkill: one thread, by tid (and its process's tgid when given). */
static long signal_thread(struct task *t, int32_t tgid, int32_t tid, int sig)
{
    struct kernel *k = t->kernel;
    siginfo_t info;
    long ret = 0;

    if (sig < 0 || sig > KERNEL_NSIG)
        return -EINVAL;
    sender_info(t, sig, SI_TKILL, &info);
    pthread_mutex_lock(&k->lock);
    struct task *target = kernel_find_task(k, tid);
    if (!target || target->released || (tgid && target->tg->tgid != tgid))
        ret = -ESRCH;
    else if (!task_may_signal(t, target, sig))
        ret = -EPERM;
    else if (sig)
        ret = task_signal_send(target, sig, &info);
    pthread_mutex_unlock(&k->lock);
    return ret;
}

long sys_kill(struct task *t, const struct syscall_args *a)
{
    return signal_process(t, (int32_t)a->a[0], (int)a->a[1], SI_USER);
}

long sys_tgkill(struct task *t, const struct syscall_args *a)
{
    int32_t tgid = (int32_t)a->a[0], tid = (int32_t)a->a[1];

    if (tgid <= 0 || tid <= 0)
        return -EINVAL;
    return signal_thread(t, tgid, tid, (int)a->a[2]);
}

long sys_tkill(struct task *t, const struct syscall_args *a)
{
    int32_t tid = (int32_t)a->a[0];

    if (tid <= 0)
        return -EINVAL;
    return signal_thread(t, 0, tid, (int)a->a[1]);
}

/* rt_sigtimedwait(2) (sigwait(3), sigwaitinfo(2), sigtimedwait(2)). */
long sys_rt_sigtimedwait(struct task *t, const struct syscall_args *a)
{
    uint64_t mask;
    struct timespec rel, deadline;
    siginfo_t info;

    if (a->a[3] != KERNEL_SIGSET_SIZE)
        return -EINVAL;
    if (mm_copy_in(t->mm, a->a[0], &mask, sizeof(mask)) != 0)
        return -EFAULT;
    if (a->a[2]) {
        if (mm_copy_in(t->mm, a->a[2], &rel, sizeof(rel)) != 0)
            return -EFAULT;
        if (rel.tv_sec < 0 || rel.tv_nsec < 0 || rel.tv_nsec >= 1000000000L)
            return -EINVAL;
        deadline = ktimer_deadline_after(&rel);
    }
    int sig = task_signal_timedwait(t, mask, a->a[2] ? &deadline : NULL, &info);
    if (sig > 0 && a->a[1] && mm_copy_out(t->mm, a->a[1], &info, sizeof(info)) != 0)
        return -EFAULT;
    return sig;
}

/* rt_sigqueueinfo(2) (sigqueue(3)): the sender's own siginfo, to one process. */
long sys_rt_sigqueueinfo(struct task *t, const struct syscall_args *a)
{
    int32_t pid = (int32_t)a->a[0];
    int sig = (int)a->a[1];
    siginfo_t info;
    long ret = 0;

    if (mm_copy_in(t->mm, a->a[2], &info, sizeof(info)) != 0)
        return -EFAULT;
    /* Nobody may pretend to be the kernel, kill(2) or tgkill(2) toward another process
     * (do_rt_sigqueueinfo() in Linux). */
    if ((info.si_code >= 0 || info.si_code == SI_TKILL) && pid != t->tg->tgid)
        return -EPERM;
    info.si_signo = sig;
    pthread_mutex_lock(&t->kernel->lock);
    struct thread_group *g = pid > 0 ? kernel_find_group(t->kernel, pid) : NULL;
    if (!g || g->zombie) {
        ret = -ESRCH;
    } else if (sig < 0 || sig > KERNEL_NSIG) {
        ret = -EINVAL;
    } else if (g->leader && !task_may_signal(t, g->leader, sig)) {
        ret = -EPERM;
    } else if (sig >= 32 && info.si_code != SI_USER && g->leader &&
               (rlim_t)kernel_count_user_pending(t->kernel, g->leader->creds.ruid) >=
                   task_rlimit(g->leader, RLIMIT_SIGPENDING)) {
        /* __send_signal: a real-time signal sent other than by kill(2) that can't be queued
         * within the receiver's RLIMIT_SIGPENDING fails (kernel SIGRTMIN is 32). */
        ret = -EAGAIN;
    } else if (sig) {
        ret = thread_group_signal_send(g, sig, &info, false);
    }
    pthread_mutex_unlock(&t->kernel->lock);
    return ret;
}

/* Waits until a signal is delivered: the call never succeeds. */
static long wait_for_signal(struct task *t)
{
    while (task_block(t, NULL) != -EINTR)
        ;
    return -ERESTARTNOHAND;
}

long sys_pause(struct task *t, const struct syscall_args *a)
{
    return wait_for_signal(t);
}

long sys_rt_sigsuspend(struct task *t, const struct syscall_args *a)
{
    uint64_t mask;

    if (a->a[1] != KERNEL_SIGSET_SIZE)
        return -EINVAL;
    if (mm_copy_in(t->mm, a->a[0], &mask, sizeof(mask)) != 0)
        return -EFAULT;
    task_set_temporary_mask(t, mask);
    wait_for_signal(t);
    /* A handler ran: EINTR, never a restart (sigsuspend(2)). A signal with nothing to do
     * would restart it instead, as ERESTARTNOHAND does. */
    return -ERESTARTNOHAND;
}
