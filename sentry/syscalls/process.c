/* Process and thread identity and lifetime: exit(2), exit_group(2), getpid(2) and friends,
 * set_tid_address(2), set_robust_list(2), arch_prctl(2). */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/resource.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

#ifndef P_PIDFD
#define P_PIDFD 3 /* waitid(2) by pidfd, Linux 5.4 */
#endif

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
         * real uid as the target's real and saved ones, or CAP_SYS_PTRACE. */
        bool allowed = p->tg == t->tg || task_capable(t, CAP_SYS_PTRACE) ||
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
        .pidfd = a->a[2], /* clone(2): CLONE_PIDFD shares parent_tid's slot */
    };
    /* ...so it can't be had with CLONE_PARENT_SETTID. */
    if ((req.flags & CLONE_PIDFD) && (req.flags & CLONE_PARENT_SETTID))
        return -EINVAL;
    return task_fork(t, &req);
}

/* clone3(2)'s struct clone_args as versions 0 (64 bytes), 1 (+set_tid, 80) and 2 (+cgroup, 88)
 * lay it out. */
struct clone3_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    uint64_t set_tid, set_tid_size;
    uint64_t cgroup;
};
#define CLONE_ARGS_SIZE_VER0 64
#define CLONE_ARGS_SIZE_VER2 88
#define CLONE3_LEGACY_FLAGS 0xffffffffULL
#define CLONE3_CLEAR_SIGHAND 0x100000000ULL
#define CLONE3_INTO_CGROUP 0x200000000ULL
#define CLONE3_MAX_PID_NS_LEVEL 32

/* copy_clone_args_from_user: a smaller struct is zero-extended, a larger one must be zeros past
 * what is known (E2BIG otherwise), up to a page. */
static long clone3_copy_in(struct task *t, uint64_t addr, uint64_t size, struct clone3_args *out)
{
    memset(out, 0, sizeof(*out));
    if (size > 4096)
        return -E2BIG;
    if (size < CLONE_ARGS_SIZE_VER0)
        return -EINVAL;
    size_t known = size < sizeof(*out) ? size : sizeof(*out);
    if (mm_copy_in(t->mm, addr, out, known) != 0)
        return -EFAULT;
    for (uint64_t off = sizeof(*out); off < size; off += 8) {
        uint64_t word = 0;
        size_t n = size - off < 8 ? size - off : 8;
        if (mm_copy_in(t->mm, addr + off, &word, n) != 0)
            return -EFAULT;
        if (word)
            return -E2BIG;
    }
    return 0;
}

long sys_clone3(struct task *t, const struct syscall_args *a)
{
    struct clone3_args ca;
    long err = clone3_copy_in(t, a->a[0], a->a[1], &ca);

    if (err)
        return err;
    /* copy_clone_args_from_user and clone3_args_valid, in Linux's order. */
    if (ca.set_tid_size > CLONE3_MAX_PID_NS_LEVEL || (!ca.set_tid && ca.set_tid_size) ||
        (ca.set_tid && !ca.set_tid_size))
        return -EINVAL;
    if (ca.exit_signal & ~(uint64_t)CSIGNAL)
        return -EINVAL;
    if ((ca.flags & CLONE3_INTO_CGROUP) &&
        (ca.cgroup > INT32_MAX || a->a[1] < CLONE_ARGS_SIZE_VER2))
        return -EINVAL;
    if (ca.flags & ~(CLONE3_LEGACY_FLAGS | CLONE3_CLEAR_SIGHAND | CLONE3_INTO_CGROUP))
        return -EINVAL;
    if ((ca.flags & CLONE_SIGHAND) && (ca.flags & CLONE3_CLEAR_SIGHAND))
        return -EINVAL;
    if ((ca.flags & (CLONE_THREAD | CLONE_PARENT)) && ca.exit_signal)
        return -EINVAL;
    /* clone3_stack_valid: a stack needs its size and must be user memory. */
    if (ca.stack ? !ca.stack_size || !mm_access_ok(t->mm, ca.stack, ca.stack_size)
                 : ca.stack_size != 0)
        return -EINVAL;
    /* Choosing pids needs CAP_SYS_ADMIN over the pid namespace, which the sandbox's init
     * namespace doesn't grant: as Linux for an unprivileged caller. */
    if (ca.set_tid)
        return -EPERM;
    /* The sandbox has no cgroup filesystem, so no fd can name a cgroup. */
    if (ca.flags & CLONE3_INTO_CGROUP)
        return -EBADF;
    struct clone_request req = {
        .flags = (ca.flags & ~(uint64_t)CSIGNAL) | ca.exit_signal,
        .stack = ca.stack ? ca.stack + ca.stack_size : 0, /* the stack grows down */
        .parent_tid = ca.parent_tid,
        .child_tid = ca.child_tid,
        .tls = ca.tls,
        .pidfd = ca.pidfd,
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
    bool pidfd_nonblock = false;
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
    case P_PIDFD: {
        if (id < 0)
            return -EINVAL;
        struct file *f = task_get_file(t, (uint64_t)id);
        if (!f)
            return -EBADF;
        if (!pidfd_file_is(f)) {
            file_put(f);
            return -EBADF;
        }
        pthread_mutex_lock(&t->kernel->lock);
        struct thread_group *g = pidfd_file_group(f);
        pid = g ? g->tgid : 0;
        pthread_mutex_unlock(&t->kernel->lock);
        /* A PIDFD_NONBLOCK pidfd doesn't wait: EAGAIN unless the caller asked for WNOHANG's
         * 0 (kernel_waitid). */
        if (atomic_load_explicit(&f->status_flags, memory_order_relaxed) & O_NONBLOCK)
            pidfd_nonblock = true;
        file_put(f);
        if (!pid)
            return -ECHILD; /* reaped: no child has the pid any more */
        break;
    }
    default:
        return -EINVAL;
    }
    struct wait_result res;
    memset(&res, 0, sizeof(res));
    long ret = task_waitid(t, pid, options | (pidfd_nonblock ? WNOHANG : 0), &res);
    if (ret == 0 && pidfd_nonblock && !(options & WNOHANG))
        return -EAGAIN;
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
