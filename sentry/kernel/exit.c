/* The end of tasks and processes: exit_group, releasing a task's resources, zombies, reparenting
 * to init, SIGCHLD, and wait4. */
#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "platform/platform.h"
#include "sentry/ipc/ipc.h"
#include "sentry/kernel/futex.h"
#include "sentry/kernel/filelock.h"
#include "sentry/kernel/kernel.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/vfs.h"

void task_exit_group(struct task *t, int status)
{
    struct task *others[64];
    size_t n = 0;

    pthread_mutex_lock(&t->tg->lock);
    if (!t->tg->exiting) {
        t->tg->exiting = true;
        t->tg->exit_status = status;
    }
    /* Every other thread leaves too: wake them to see tg->exiting. Interrupting needs no
     * reference: tasks are freed only with their group, which outlives this call. */
    for (struct task *it = t->tg->tasks; it; it = it->group_next) {
        if (it != t && !it->released && n < sizeof(others) / sizeof(others[0]))
            others[n++] = it;
    }
    pthread_mutex_unlock(&t->tg->lock);
    for (size_t i = 0; i < n; i++)
        task_interrupt(others[i]);
    t->exiting = true;
}

void task_exit_thread(struct task *t, int status)
{
    pthread_mutex_lock(&t->tg->lock);
    /* The last thread to exit gives the process its status, unless exit_group came first. */
    if (!t->tg->exiting)
        t->tg->exit_status = status;
    pthread_mutex_unlock(&t->tg->lock);
    t->exiting = true;
}

struct thread_group *kernel_find_group(struct kernel *k, int tgid)
{
    for (struct thread_group *g = k->groups; g; g = g->next) {
        if (g->tgid == tgid)
            return g;
    }
    return NULL;
}

void kernel_record_exit(struct kernel *k, int pid, int status)
{
    k->exits[k->exits_next % KERNEL_EXIT_RECORDS] = (struct kernel_exit_record){pid, status};
    k->exits_next++;
}

static void unlink_child(struct thread_group *tg)
{
    struct thread_group **p = &tg->parent->children;
    while (*p != tg)
        p = &(*p)->sibling;
    *p = tg->sibling;
    tg->sibling = NULL;
}

static void unlink_group(struct kernel *k, struct thread_group *tg)
{
    struct thread_group **p = &k->groups;
    while (*p != tg)
        p = &(*p)->next;
    *p = tg->next;
    k->nprocs--;
}

/* Tells the parent about a child's exit: SIGCHLD (or the clone exit signal) with CLD_* siginfo,
 * and a wake-up for wait4. Returns true if the child needs no reaping (the parent ignores
 * SIGCHLD or set SA_NOCLDWAIT: Linux then reaps it at once). kernel.lock held. */
static bool notify_parent(struct thread_group *tg)
{
    struct thread_group *parent = tg->parent;
    bool autoreap = false;

    pthread_mutex_lock(&parent->lock);
    struct k_sigaction act = parent->actions[SIGCHLD];
    pthread_mutex_unlock(&parent->lock);
    if (tg->exit_signal == SIGCHLD &&
        (act.handler == (uint64_t)SIG_IGN || (act.flags & SA_NOCLDWAIT)))
        autoreap = true;
    if (tg->exit_signal && !(autoreap && act.handler == (uint64_t)SIG_IGN)) {
        siginfo_t info;
        memset(&info, 0, sizeof(info));
        info.si_signo = tg->exit_signal;
        info.si_pid = tg->tgid;
        info.si_uid = tg->leader ? tg->leader->creds.ruid : 0;
        if (WIFEXITED(tg->exit_status)) {
            info.si_code = CLD_EXITED;
            info.si_status = WEXITSTATUS(tg->exit_status);
        } else {
            info.si_code = WCOREDUMP(tg->exit_status) ? CLD_DUMPED : CLD_KILLED;
            info.si_status = WTERMSIG(tg->exit_status);
        }
        thread_group_signal_send(parent, tg->exit_signal, &info, false);
    }
    waitqueue_wake_all(&parent->child_events);
    return autoreap;
}

/* Gives a dying process's children to init (pid_namespaces(7)); zombies among them are
 * announced to init so it can reap them. kernel.lock held. Init's own children stay where they
 * are: they are killed with it (kernel_wait_init). */
static void reparent_children(struct kernel *k, struct thread_group *tg)
{
    struct thread_group *init = k->init_task ? k->init_task->tg : NULL;

    if (tg == init)
        return;
    /* find_new_reaper: the nearest living ancestor that is a child subreaper, else init. */
    for (struct thread_group *a = tg->parent; a && a != init; a = a->parent) {
        if (a->child_subreaper && !a->zombie) {
            init = a;
            break;
        }
    }
    while (tg->children) {
        struct thread_group *child = tg->children;
        /* PR_SET_PDEATHSIG: the child hears of its parent's death. */
        if (child->leader && child->leader->pdeath_signal && !child->zombie)
            thread_group_signal_send(child, child->leader->pdeath_signal, NULL, false);
        tg->children = child->sibling;
        child->parent = init;
        child->sibling = init ? init->children : NULL;
        if (init)
            init->children = child;
        if (child->zombie && init)
            notify_parent(child);
    }
}

/* Moves an ended task from tg->tasks to tg->ended (tg->lock held). */
static void group_move_to_ended(struct thread_group *tg, struct task *t)
{
    for (struct task **link = &tg->tasks; *link; link = &(*link)->group_next) {
        if (*link == t) {
            *link = t->group_next;
            t->group_next = tg->ended;
            tg->ended = t;
            return;
        }
    }
}

void task_release(struct task *t)
{
    struct kernel *k = t->kernel;
    struct thread_group *tg = t->tg;

    /* While the stub thread still exists: its CPU time is the thread's user time. */
    task_account_exit(t);
    if (t->mm) {
        /* The high-water mark of a process's memory, for its parent's ru_maxrss. */
        long kb = (long)(mm_resident_bytes(t->mm) / 1024);
        pthread_mutex_lock(&tg->lock);
        if (kb > tg->children_maxrss_kb)
            tg->children_maxrss_kb = kb;
        pthread_mutex_unlock(&tg->lock);
    }

    /* Robust futexes it holds are released first, as Linux's mm_release does. */
    futex_exit_robust_list(t);
    /* A thread that set clear_child_tid (pthreads) has its tid word cleared and its joiner
     * woken (set_tid_address(2)), while its address space is still there. Both before the
     * context goes: a write to a copy-on-write page drops the old pages' host mapping, which
     * the platform does through this thread's own stub thread. Without it the unmap fails and
     * the guest goes on reading the old pages, later reused for other memory. */
    if (t->clear_child_tid && t->mm) {
        uint32_t zero = 0;
        if (mm_copy_out(t->mm, t->clear_child_tid, &zero, sizeof(zero)) == 0)
            futex_wake(t, t->clear_child_tid, false, 1, FUTEX_BITSET_MATCH_ANY);
    }
    pthread_mutex_lock(&t->wait_lock);
    struct platform_ctx *ctx = t->ctx;
    t->ctx = NULL; /* task_interrupt from other threads sees it gone */
    pthread_mutex_unlock(&t->wait_lock);
    if (ctx)
        platform_ctx_release(ctx);
    /* The last task of a SEM_UNDO list gives back what it took (semop(2)). */
    ipc_sem_undo_exit(t);
    /* Detached under tg->lock so /proc (task_get_mm...) never takes a reference to a dying
     * one. */
    pthread_mutex_lock(&tg->lock);
    struct mm *mm = t->mm;
    struct fdtable *fds = t->fds;
    struct fs_context *fs = t->fs;
    t->mm = NULL;
    t->fds = NULL;
    t->fs = NULL;
    pthread_mutex_unlock(&tg->lock);
    mm_put(mm); /* the last user releases the address space: the stub dies with it */
    fdtable_put_ref(fds);
    fs_context_put(fs);
    ipc_shm_exit(t);

    pthread_mutex_lock(&k->lock);
    pthread_mutex_lock(&tg->lock);
    t->released = true;
    if (t != tg->leader)
        group_move_to_ended(tg, t);
    k->ntasks--;
    bool last = --tg->live_tasks <= 0;
    bool exec_waits = tg->exec_task != NULL;
    pthread_mutex_unlock(&tg->lock);
    if (!last) {
        if (exec_waits)
            pthread_cond_broadcast(&k->changed); /* execve waits for the others to go */
        pthread_mutex_unlock(&k->lock);
        return;
    }
    /* The process's timers go with it (their firing never takes kernel.lock). */
    thread_group_release_timers(tg, true);
    jobctl_exit_orphans(k, tg);
    reparent_children(k, tg);
    filelock_release_process(tg);
    /* A session leader's end hangs up its controlling terminal (after the unlock below). */
    bool session_leader = tg->sid == tg->tgid;
    int sid = tg->sid;
    if (tg->is_init) {
        /* The init of a pid namespace takes the namespace with it: runsc exits. */
        k->init_exited = true;
        k->init_status = tg->exit_status;
        pthread_cond_broadcast(&k->changed);
        pthread_mutex_unlock(&k->lock);
        if (session_leader)
            kernel_session_end(k, sid);
        return;
    }
    tg->vfork_done = true;
    kernel_record_exit(k, tg->tgid, tg->exit_status);
    kernel_container_note_exit(k, tg);
    /* A process started from outside (kernel_execute) has no parent: the kernel reaps it, and
     * its status stays in kernel.exits for the control socket. */
    bool autoreap = tg->parent ? notify_parent(tg) : true;
    if (autoreap) {
        if (tg->parent)
            unlink_child(tg);
        unlink_group(k, tg);
    } else {
        tg->zombie = true;
    }
    pthread_cond_broadcast(&k->changed);
    pthread_mutex_unlock(&k->lock);
    waitqueue_wake_all(&k->process_exited);
    /* From here a parent's wait4 may free t and tg at any time. */
    if (session_leader)
        kernel_session_end(k, sid);
    if (autoreap)
        task_free(t);
}

static bool wait_matches(const struct task *t, const struct thread_group *child, int pid)
{
    if (pid > 0)
        return child->tgid == pid;
    if (pid == -1)
        return true;
    if (pid == 0)
        return child->pgid == t->tg->pgid;
    return child->pgid == -pid;
}

/* A stop or continue of `c` that the wait options ask for: fills *res and, unless WNOWAIT,
 * consumes it. kernel.lock held. */
static bool wait_take_report(struct thread_group *c, int options, struct wait_result *res)
{
    bool found = false;

    pthread_mutex_lock(&c->lock);
    if ((options & WSTOPPED) && c->wait_report == JOBCTL_REPORT_STOPPED) {
        res->code = CLD_STOPPED;
        res->status = c->stop_signal;
        res->wstatus = (c->stop_signal << 8) | 0x7f;
        found = true;
    } else if ((options & WCONTINUED) && c->wait_report == JOBCTL_REPORT_CONTINUED) {
        res->code = CLD_CONTINUED;
        res->status = SIGCONT;
        res->wstatus = 0xffff;
        found = true;
    }
    if (found && !(options & WNOWAIT))
        c->wait_report = JOBCTL_REPORT_NONE;
    pthread_mutex_unlock(&c->lock);
    if (found) {
        res->pid = c->tgid;
        res->uid = c->leader ? c->leader->creds.ruid : 0;
    }
    return found;
}

long task_wait(struct task *t, int pid, int options, int *status, struct rusage *ru)
{
    struct wait_result res;

    if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WALL | __WCLONE | __WNOTHREAD))
        return -EINVAL;
    memset(&res, 0, sizeof(res));
    long ret = task_waitid(t, pid, options | WEXITED, &res);
    if (ret > 0)
        *status = res.wstatus;
    if (ret > 0 && ru)
        *ru = res.ru;
    return ret;
}

long task_waitid(struct task *t, int pid, int options, struct wait_result *res)
{
    struct kernel *k = t->kernel;
    struct waiter w;

    for (;;) {
        pthread_mutex_lock(&k->lock);
        bool any = false;
        for (struct thread_group *c = t->tg->children; c; c = c->sibling) {
            if (!wait_matches(t, c, pid))
                continue;
            any = true;
            if (!c->zombie) {
                if ((options & (WSTOPPED | WCONTINUED)) && wait_take_report(c, options, res)) {
                    pthread_mutex_unlock(&k->lock);
                    return res->pid;
                }
                continue;
            }
            if (!(options & WEXITED))
                continue;
            int reaped = c->tgid;
            res->pid = reaped;
            res->wstatus = c->exit_status;
            res->uid = c->leader ? c->leader->creds.ruid : 0;
            if (WIFEXITED(c->exit_status)) {
                res->code = CLD_EXITED;
                res->status = WEXITSTATUS(c->exit_status);
            } else {
                res->code = WCOREDUMP(c->exit_status) ? CLD_DUMPED : CLD_KILLED;
                res->status = WTERMSIG(c->exit_status);
            }
            if (options & WNOWAIT) {
                pthread_mutex_unlock(&k->lock);
                return reaped;
            }
            thread_group_account_reaped(t->tg, c, &res->ru);
            unlink_child(c);
            unlink_group(k, c);
            pthread_mutex_unlock(&k->lock);
            task_free(c->leader);
            return reaped;
        }
        if (!any || (options & WNOHANG)) {
            pthread_mutex_unlock(&k->lock);
            return any ? 0 : -ECHILD;
        }
        waitqueue_add(&t->tg->child_events, &w, t);
        pthread_mutex_unlock(&k->lock);
        int err = task_block(t, NULL);
        waitqueue_remove(&t->tg->child_events, &w);
        if (err == -EINTR)
            return -ERESTARTSYS;
    }
}

void task_wait_vfork(struct task *t, struct thread_group *child)
{
    struct kernel *k = t->kernel;
    struct waiter w;

    for (;;) {
        pthread_mutex_lock(&k->lock);
        bool done = child->vfork_done;
        if (!done)
            waitqueue_add(&t->tg->child_events, &w, t);
        pthread_mutex_unlock(&k->lock);
        if (done)
            return;
        /* Linux's vfork wait is killable only: other signals wait until the child lets go. */
        task_block(t, NULL);
        waitqueue_remove(&t->tg->child_events, &w);
        pthread_mutex_lock(&t->tg->lock);
        bool dying = t->tg->exiting ||
                     ((t->pending | t->tg->shared_pending) & SIGBIT(SIGKILL));
        pthread_mutex_unlock(&t->tg->lock);
        if (dying)
            return;
    }
}
