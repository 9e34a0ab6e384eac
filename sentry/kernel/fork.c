/* fork(2), vfork(2) and clone(2) for new processes: the child gets a copy-on-write copy of the
 * address space (or shares it: CLONE_VM), copies of the fd table (or shares it: CLONE_FILES) and
 * of the signal actions, and its own sentry thread, which attaches it to the platform (a new
 * stub for ptrace, or a new thread of the creator's stub for CLONE_VM) before running it. */
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "platform/platform.h"
#include "sentry/ipc/ipc.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task_pool.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/vfs.h"

/* What a new task's sentry thread needs before it runs guest code. */
struct task_start {
    struct task *task;
    bool thread;             /* a thread: take over the stub thread `handle`; else a new stub */
    int handle;              /* from platform_ctx_new_thread */
    struct arch_fpstate *fp; /* the creator's FPU state at the clone, owned */
};

static void task_start_main(void *arg)
{
    struct task_start *start = arg;
    struct task *t = start->task;
    const char *why = "cannot set the FPU state";
    struct platform_ctx *ctx;
    int err;

    task_set_current(t);
    if (start->thread) {
        why = "cannot take over the stub thread";
        err = platform_ctx_create_for_thread(mm_platform_as(t->mm), start->handle, &ctx);
        if (!err) {
            pthread_mutex_lock(&t->wait_lock);
            t->ctx = ctx;
            pthread_mutex_unlock(&t->wait_lock);
        }
    } else if ((err = task_attach_platform(t, &why)) == 0) {
        task_publish_image(t->mm);
        task_sync_host_name(t);
        /* Not fatal: what is not mapped now faults in later. After the image and the name,
         * which a platform may give the host in the same batch. */
        mm_map_inherited(t->mm);
    }
    if (!err) {
        why = "cannot set the FPU state";
        err = platform_ctx_set_fpstate(t->ctx, start->fp);
    }
    free(start->fp);
    free(start);
    if (err) {
        log_warning("task %d: %s: %s", t->tid, why, strerror(-err));
        task_exit_group(t, SIGKILL);
    } else {
        task_run(t);
    }
    task_release(t);
}

/* Runs the new task on a pooled sentry thread; `start` passes to it. Returns 0 or an errno. */
static int start_task_thread(struct task_start *start)
{
    return -task_pool_run(task_start_main, start);
}

/* What a child task takes from its creator: identity and masks, and the registers with which it
 * returns 0 from the clone, on its own stack and TLS if given. */
static int task_inherit(struct task *t, struct task *c, const struct clone_request *req)
{
    int err = ipc_sem_undo_clone(t, c, (req->flags & CLONE_SYSVSEM) != 0);
    if (err)
        return err;
    if (req->flags & CLONE_FS) {
        fs_context_get(t->fs);
        c->fs = t->fs;
    } else if (!(c->fs = fs_context_copy(t->fs))) {
        return -ENOMEM;
    }
    c->creds = t->creds;       /* the capability sets too, bounding included */
    task_set_comm(c, t->comm); /* and the child's stub thread takes it */
    /* The parent-death signal is not inherited; the rest of prctl's state is (prctl(2)). */
    c->no_new_privs = t->no_new_privs;
    c->keepcaps = t->keepcaps;
    c->timer_slack_ns = t->timer_slack_ns;
    c->sched_policy = t->sched_policy;
    c->affinity = t->affinity;
    c->nice = t->nice;
    pthread_mutex_lock(&t->tg->lock);
    c->blocked = t->blocked;
    /* A thread takes the filter when it joins the group (task_clone_thread), so a sibling's
     * TSYNC can't miss it. */
    if (!(req->flags & CLONE_THREAD))
        task_seccomp_inherit(t, c);
    pthread_mutex_unlock(&t->tg->lock);
    c->regs = t->regs;
    arch_regs_set_syscall_return(&c->regs, 0);
    if (req->stack)
        arch_regs_set_sp(&c->regs, req->stack);
    if (req->flags & CLONE_SETTLS)
        arch_regs_set_tls(&c->regs, req->tls);
    if (req->flags & CLONE_CHILD_CLEARTID)
        c->clear_child_tid = req->child_tid;
    return 0;
}

/* CLONE_CHILD_SETTID and CLONE_PARENT_SETTID: the new tid in the child's and the parent's
 * memory. 0 or -EFAULT. */
static int write_tids(struct task *t, struct task *c, const struct clone_request *req, int tid)
{
    if ((req->flags & CLONE_CHILD_SETTID) &&
        mm_copy_out(c->mm, req->child_tid, &tid, sizeof(tid)) != 0)
        return -EFAULT;
    if ((req->flags & CLONE_PARENT_SETTID) &&
        mm_copy_out(t->mm, req->parent_tid, &tid, sizeof(tid)) != 0)
        return -EFAULT;
    return 0;
}

/* The lowest free pid from kernel.next_pid on, wrapping below KERNEL_PID_MAX. kernel.lock held. */
int kernel_alloc_pid(struct kernel *k)
{
    for (int tries = 0; tries < KERNEL_PID_MAX; tries++) {
        int pid = k->next_pid++;
        if (k->next_pid >= KERNEL_PID_MAX)
            k->next_pid = 2;
        if (!kernel_find_group(k, pid) && !kernel_find_task(k, pid))
            return pid;
    }
    return -EAGAIN;
}

static int copy_fds(struct task *parent, struct task *child)
{
    child->fds = malloc(sizeof(*child->fds));
    if (!child->fds)
        return -ENOMEM;
    return fdtable_copy(parent->fds, child->fds);
}

/* A pid for a new task within the sandbox's limits (counted in kernel.ntasks; kernel.max_tasks
 * is linux.resources.pids.limit), or -EAGAIN as fork(2) gives past a pids cgroup's limit.
 * RLIMIT_NPROC counts the tasks of the caller's real user; as copy_process, it spares root and
 * a caller with CAP_SYS_RESOURCE or CAP_SYS_ADMIN. */
static int reserve_task(struct task *t, bool new_process)
{
    struct kernel *k = t->kernel;
    rlim_t nproc = task_rlimit(t, RLIMIT_NPROC);

    pthread_mutex_lock(&k->lock);
    /* Every task counts, thread or process, as the pids cgroup counts them (pids.max). */
    bool limited = k->ntasks >= k->max_tasks || (new_process && k->nprocs >= k->max_tasks);
    if (!limited && nproc != RLIM_INFINITY && t->creds.ruid != 0 &&
        !task_capable(t, CAP_SYS_RESOURCE) && !task_capable(t, CAP_SYS_ADMIN))
        limited = (rlim_t)kernel_count_user_tasks(k, t->creds.ruid) >= nproc;
    int pid = limited ? -EAGAIN : kernel_alloc_pid(k);
    if (pid > 0) {
        k->ntasks++;
        k->total_forks++;
    }
    pthread_mutex_unlock(&k->lock);
    return pid;
}

static void unreserve_task(struct kernel *k)
{
    pthread_mutex_lock(&k->lock);
    k->ntasks--;
    pthread_mutex_unlock(&k->lock);
}

/* clone(CLONE_VM|CLONE_THREAD|CLONE_SIGHAND...): a new task in the caller's thread group, on
 * the same mm, with its own stub thread in the same stub process. */
static long task_clone_thread(struct task *t, const struct clone_request *req)
{
    struct kernel *k = t->kernel;
    int err;

    int tid = reserve_task(t, false);
    if (tid < 0)
        return tid;
    struct task *c = task_alloc(k, t->tg, tid);
    struct task_start *start = calloc(1, sizeof(*start));
    struct arch_fpstate *fp = malloc(sizeof(*fp));
    if (!c || !start || !fp) {
        err = -ENOMEM;
        goto out_free;
    }
    c->mm = t->mm;
    mm_get(c->mm);
    if (req->flags & CLONE_FILES) {
        c->fds = t->fds;
        fdtable_get_ref(c->fds);
    } else if ((err = copy_fds(t, c)) != 0) {
        goto out_free;
    }
    /* A thread starts without the alternate signal stack (sigaltstack(2)). */
    if ((err = task_inherit(t, c, req)) != 0 || (err = write_tids(t, c, req, tid)) != 0 ||
        (err = platform_ctx_get_fpstate(t->ctx, fp)) != 0 ||
        (err = platform_ctx_new_thread(t->ctx, &start->handle)) != 0)
        goto out_free;

    pthread_mutex_lock(&t->tg->lock);
    task_seccomp_inherit(t, c);
    c->group_next = t->tg->tasks;
    t->tg->tasks = c;
    t->tg->live_tasks++;
    pthread_mutex_unlock(&t->tg->lock);
    start->task = c;
    start->thread = true;
    start->fp = fp;
    if ((err = start_task_thread(start)) != 0) {
        log_warning("clone: cannot start a task thread: %s", strerror(err));
        task_exit_thread(c, SIGKILL);
        free(fp);
        free(start);
        task_release(c);
        return -EAGAIN;
    }
    return tid;

out_free:
    free(fp);
    free(start);
    if (c) {
        ipc_sem_undo_exit(c); /* a shared list's reference: nothing is applied */
        mm_put(c->mm);
        fdtable_put_ref(c->fds);
        fs_context_put(c->fs);
        pthread_mutex_destroy(&c->wait_lock);
        pthread_cond_destroy(&c->wake);
        free(c);
    }
    unreserve_task(k);
    return err;
}

/* CLONE_PIDFD: a pidfd for the child in the parent's fd table, its number written at `addr`.
 * 0 with *fd set (the caller closes it if the clone fails later), or -errno. */
static int give_pidfd(struct task *t, struct thread_group *child, uint64_t addr, int *fd)
{
    int ret = pidfd_install(t, child, 0);

    if (ret < 0)
        return ret;
    *fd = ret;
    if (mm_copy_out(t->mm, addr, &ret, sizeof(ret)) != 0)
        return -EFAULT;
    return 0;
}

long task_fork(struct task *t, const struct clone_request *req)
{
    struct kernel *k = t->kernel;
    uint64_t flags = req->flags;
    int pidfd = -1;
    int err;

    /* clone(2)'s rules: a thread shares signal handlers, which needs a shared address space. */
    if ((flags & CLONE_THREAD) && !(flags & CLONE_SIGHAND))
        return -EINVAL;
    if ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM))
        return -EINVAL;
    /* A pidfd names a process: not for a thread, nor with the obsolete CLONE_DETACHED. */
    if ((flags & CLONE_PIDFD) && (flags & (CLONE_THREAD | CLONE_DETACHED)))
        return -EINVAL;
    if (flags & (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWIPC |
                 CLONE_NEWUTS | CLONE_NEWCGROUP | CLONE_PARENT | CLONE_PTRACE | CLONE_UNTRACED))
        return -EINVAL;
    if (flags & CLONE_THREAD)
        return task_clone_thread(t, req);
    /* Signal handlers shared between processes would need a shared action table. */
    if (flags & CLONE_SIGHAND)
        return -ENOSYS;
    /* CLONE_VM without CLONE_THREAD: a new process in the same address space, run as a further
     * host thread of the creator's stub, as a thread is. With CLONE_VFORK the parent waits until
     * the child execs or exits, so a copy-on-write copy behaves the same for it. */
    bool share_vm = (flags & CLONE_VM) && !(flags & CLONE_VFORK);

    int pid = reserve_task(t, true);
    if (pid < 0)
        return pid;

    struct thread_group *tg = thread_group_alloc(k, pid);
    struct task *c = tg ? task_alloc(k, tg, pid) : NULL;
    struct task_start *start = calloc(1, sizeof(*start));
    struct arch_fpstate *fp = malloc(sizeof(*fp));
    if (!c || !start || !fp) {
        err = -ENOMEM;
        goto out_free;
    }
    tg->leader = c;
    tg->tasks = c;
    tg->live_tasks = 1;
    tg->exit_signal = (int)(flags & 0xff);
    pthread_mutex_lock(&t->tg->lock);
    memcpy(tg->actions, t->tg->actions, sizeof(tg->actions));
    /* clone3's CLONE_CLEAR_SIGHAND: handlers go back to the default, ignored signals stay. */
    if (flags & 0x100000000ULL) {
        for (int sig = 1; sig <= KERNEL_NSIG; sig++) {
            if (tg->actions[sig].handler != (uint64_t)SIG_IGN)
                memset(&tg->actions[sig], 0, sizeof(tg->actions[sig]));
        }
    }
    memcpy(tg->rlimits, t->tg->rlimits, sizeof(tg->rlimits));
    tg->dumpable = t->tg->dumpable;
    /* oom_score_adj lives in the signal struct, which fork copies (copy_signal). */
    tg->oom_score_adj = t->tg->oom_score_adj;
    tg->exe = t->tg->exe;
    vfs_path_get(&tg->exe);
    pthread_mutex_unlock(&t->tg->lock);
    if ((err = task_inherit(t, c, req)) != 0)
        goto out_free;
    c->altstack_sp = t->altstack_sp;
    c->altstack_size = t->altstack_size;
    c->altstack_flags = t->altstack_flags;

    if ((err = platform_ctx_get_fpstate(t->ctx, fp)) != 0)
        goto out_free;
    if (flags & CLONE_FILES) {
        c->fds = t->fds;
        fdtable_get_ref(c->fds);
    } else if ((err = copy_fds(t, c)) != 0) {
        goto out_free;
    }
    if (share_vm) {
        c->mm = t->mm;
        mm_get(c->mm);
    } else if ((err = mm_fork_near(t->mm, arch_regs_sp(&t->regs), &c->mm)) != 0) {
        goto out_free;
    }
    if ((err = write_tids(t, c, req, pid)) != 0)
        goto out_free;
    if ((flags & CLONE_PIDFD) && (err = give_pidfd(t, tg, req->pidfd, &pidfd)) != 0)
        goto out_free;
    /* Last: a host thread made in the stub cannot be taken back. */
    if (share_vm && (err = platform_ctx_new_thread(t->ctx, &start->handle)) != 0)
        goto out_free;

    pthread_mutex_lock(&k->lock);
    tg->parent = t->tg;
    tg->container = t->tg->container;
    tg->sibling = t->tg->children;
    t->tg->children = tg;
    tg->next = k->groups;
    k->groups = tg;
    k->nprocs++;
    tg->pgid = t->tg->pgid;
    tg->sid = t->tg->sid;
    tg->ctty_detached = t->tg->ctty_detached;
    pthread_mutex_unlock(&k->lock);

    start->task = c;
    start->thread = share_vm;
    start->fp = fp;
    if ((err = start_task_thread(start)) != 0) {
        /* The child exists in the tree: let it die as a process killed before it ran. */
        log_warning("fork: cannot start a task thread: %s", strerror(err));
        task_exit_group(c, SIGKILL);
        free(fp);
        free(start);
        task_release(c);
        return pid;
    }
    if (flags & CLONE_VFORK)
        task_wait_vfork(t, tg);
    return pid;

out_free:
    if (pidfd >= 0)
        fdtable_close(t->fds, pidfd);
    free(fp);
    free(start);
    if (c) {
        ipc_sem_undo_exit(c); /* a shared list's reference: nothing is applied */
        mm_put(c->mm);
        c->mm = NULL;
        fdtable_put_ref(c->fds);
        c->fds = NULL;
        tg->live_tasks = 0;
        task_free(c);
    } else {
        free(tg);
    }
    unreserve_task(k);
    return err;
}
