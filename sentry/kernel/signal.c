/* Signal state: sending, forcing synchronous signals, and acting on pending ones before a task
 * returns to guest code. Default actions follow signal(7). */
#include <errno.h>
#include <linux/capability.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/log.h"
#include "platform/platform.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/sigframe.h"

enum default_action { ACT_TERMINATE, ACT_CORE, ACT_IGNORE, ACT_STOP, ACT_CONTINUE };

static enum default_action default_action(int sig)
{
    switch (sig) {
    case SIGQUIT:
    case SIGILL:
    case SIGTRAP:
    case SIGABRT:
    case SIGBUS:
    case SIGFPE:
    case SIGSEGV:
    case SIGXCPU:
    case SIGXFSZ:
    case SIGSYS:
        return ACT_CORE;
    case SIGCHLD:
    case SIGURG:
    case SIGWINCH:
        return ACT_IGNORE;
    case SIGCONT:
        return ACT_CONTINUE;
    case SIGSTOP:
    case SIGTSTP:
    case SIGTTIN:
    case SIGTTOU:
        return ACT_STOP;
    default:
        return ACT_TERMINATE;
    }
}

/* Whether a signal sent now would be dropped (tg->lock held). Blocked signals are kept: the
 * handler may change before they are unblocked. */
static bool signal_ignored(struct task *t, int sig, bool from_host)
{
    uint64_t handler = t->tg->actions[sig].handler;

    if ((t->blocked | t->real_blocked) & SIGBIT(sig))
        return false;
    if (handler == (uint64_t)SIG_IGN)
        return sig != SIGKILL && sig != SIGSTOP;
    if (handler != (uint64_t)SIG_DFL)
        return false;
    /* The init of a pid namespace gets only the signals it has handlers for; from outside the
     * namespace SIGKILL and SIGSTOP still work (pid_namespaces(7)). */
    if (t->tg->unkillable)
        return !(from_host && (sig == SIGKILL || sig == SIGSTOP));
    return default_action(sig) == ACT_IGNORE;
}

/* Marks `t` woken (wait_lock held) and says whether it sleeps in task_block, to be woken by
 * task_wake_sleeper once wait_lock is dropped. The condvar serves the other waits (a group stop,
 * kernel_pause's park); with none waiting its broadcast makes no host syscall. */
static bool task_mark_woken(struct task *t)
{
    t->woken = true;
    pthread_cond_broadcast(&t->wake);
    if (!t->sleeping)
        return false;
    /* Relaxed: wait_lock orders it against the sleeper's read of the word before it sleeps, and
     * the FUTEX_WAIT compares the value in the kernel. */
    atomic_fetch_add_explicit(&t->wake_seq, 1, memory_order_relaxed);
    return true;
}

/* The host wake after wait_lock is dropped, so the sleeper does not wake into a held lock. `t`
 * may be gone by now (it saw `woken` and went on): a private FUTEX_WAKE only hashes the address,
 * it never touches the memory, and at worst wakes some other waiter spuriously. */
static void task_wake_sleeper(struct task *t)
{
    syscall(SYS_futex, &t->wake_seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void task_wake(struct task *t)
{
    pthread_mutex_lock(&t->wait_lock);
    bool sleeper = task_mark_woken(t);
    pthread_mutex_unlock(&t->wait_lock);
    if (sleeper)
        task_wake_sleeper(t);
}

void task_interrupt(struct task *t)
{
    pthread_mutex_lock(&t->wait_lock);
    bool sleeper = task_mark_woken(t);
    /* Under the lock: the task's own thread releases its context under it too. */
    if (t->ctx)
        platform_ctx_interrupt(t->ctx);
    pthread_mutex_unlock(&t->wait_lock);
    if (sleeper)
        task_wake_sleeper(t);
}

/* ---- pending sets with queued real-time signals ----
 * A pending set is a bit per signal, the siginfo of its first instance, and (real-time signals
 * only) the further instances queued behind it. A standard signal already pending is not queued
 * twice. The caller holds tg->lock. */

/* Queues one instance; -EAGAIN past `limit` queued further instances (RLIMIT_SIGPENDING, counted
 * per queue rather than per user as Linux does). */
static int pending_add(uint64_t *pending, siginfo_t *infos, struct sigq_list *extra, int sig,
                       const siginfo_t *info, uint64_t limit)
{
    if (!(*pending & SIGBIT(sig))) {
        *pending |= SIGBIT(sig);
        infos[sig] = *info;
        return 0;
    }
    if (sig < KERNEL_SIGRTMIN)
        return 0;
    if (extra->count >= limit)
        return -EAGAIN;
    struct sigq_extra *e = malloc(sizeof(*e));
    if (!e)
        return -EAGAIN;
    e->sig = sig;
    e->info = *info;
    e->next = NULL;
    if (extra->tail)
        extra->tail->next = e;
    else
        extra->head = e;
    extra->tail = e;
    extra->count++;
    return 0;
}

/* Takes the first instance of a pending `sig`; the next queued one, if any, takes its place. */
static void pending_take(uint64_t *pending, siginfo_t *infos, struct sigq_list *extra, int sig,
                         siginfo_t *out)
{
    *out = infos[sig];
    struct sigq_extra *prev = NULL;
    for (struct sigq_extra *e = extra->head; e; prev = e, e = e->next) {
        if (e->sig != sig)
            continue;
        infos[sig] = e->info;
        if (prev)
            prev->next = e->next;
        else
            extra->head = e->next;
        if (extra->tail == e)
            extra->tail = prev;
        extra->count--;
        free(e);
        return;
    }
    *pending &= ~SIGBIT(sig);
}

static void pending_discard(uint64_t *pending, struct sigq_list *extra, int sig)
{
    *pending &= ~SIGBIT(sig);
    struct sigq_extra **pp = &extra->head;
    extra->tail = NULL;
    while (*pp) {
        struct sigq_extra *e = *pp;
        if (e->sig == sig) {
            *pp = e->next;
            extra->count--;
            free(e);
        } else {
            extra->tail = e;
            pp = &e->next;
        }
    }
}

void sigq_list_free(struct sigq_list *l)
{
    while (l->head) {
        struct sigq_extra *e = l->head;
        l->head = e->next;
        free(e);
    }
    l->tail = NULL;
    l->count = 0;
}

void thread_group_signal_discard(struct thread_group *g, int sig)
{
    pending_discard(&g->shared_pending, &g->shared_extra, sig);
    for (struct task *it = g->tasks; it; it = it->group_next)
        pending_discard(&it->pending, &it->pending_extra, sig);
}

/* However high RLIMIT_SIGPENDING is set, a queue holds no more than this: each instance is
 * sentry memory. */
#define SIGQ_MAX_EXTRA 131072

static uint64_t sigpending_limit(struct thread_group *g)
{
    rlim_t lim = g->rlimits[RLIMIT_SIGPENDING].rlim_cur;
    return lim < SIGQ_MAX_EXTRA ? lim : SIGQ_MAX_EXTRA;
}

static int signal_queue(struct task *t, int sig, const siginfo_t *info, bool from_host)
{
    if (sig < 1 || sig > KERNEL_NSIG)
        return -EINVAL;
    pthread_mutex_lock(&t->tg->lock);
    /* SIGCONT resumes a stopped process even when it is ignored or blocked. */
    if (thread_group_prepare_signal(t->tg, sig)) {
        for (struct task *it = t->tg->tasks; it; it = it->group_next)
            if (!it->released)
                task_wake(it);
    }
    if (signal_ignored(t, sig, from_host)) {
        pthread_mutex_unlock(&t->tg->lock);
        return 0;
    }
    siginfo_t user;
    if (!info) {
        memset(&user, 0, sizeof(user));
        user.si_signo = sig;
        user.si_code = SI_USER;
        info = &user;
    }
    int err = pending_add(&t->pending, t->pending_info, &t->pending_extra, sig, info,
                          sigpending_limit(t->tg));
    pthread_mutex_unlock(&t->tg->lock);
    if (err)
        return err;
    /* signalfd readers and watchers of any task look again. */
    waitqueue_wake_all(&t->kernel->signal_queued);
    return 0;
}

bool task_may_signal(const struct task *sender, const struct task *target, int sig)
{
    const struct creds *c = &sender->creds, *o = &target->creds;

    if (sender->tg == target->tg)
        return true;
    if (c->euid == o->suid || c->euid == o->ruid || c->ruid == o->suid || c->ruid == o->ruid)
        return true;
    if (task_capable(sender, CAP_KILL))
        return true;
    return sig == SIGCONT && target->tg->sid == sender->tg->sid;
}

int task_signal_send(struct task *t, int sig, const siginfo_t *info)
{
    int err = signal_queue(t, sig, info, false);
    if (!err)
        task_interrupt(t);
    return err;
}

int thread_group_signal_send(struct thread_group *g, int sig, const siginfo_t *info, bool from_host)
{
    if (sig < 1 || sig > KERNEL_NSIG)
        return -EINVAL;
    pthread_mutex_lock(&g->lock);
    /* SIGCONT resumes a stopped process even when it is ignored or blocked. */
    if (thread_group_prepare_signal(g, sig)) {
        for (struct task *it = g->tasks; it; it = it->group_next)
            if (!it->released)
                task_wake(it);
    }
    struct task *any = NULL, *ready = NULL;
    /* complete_signal: the task the pid names (the leader) first, if it can take it now;
     * else the first thread not blocking it. */
    if (g->leader && !g->leader->released && !(g->leader->blocked & SIGBIT(sig)))
        ready = any = g->leader;
    for (struct task *it = g->tasks; it && !ready; it = it->group_next) {
        if (it->released)
            continue;
        if (!any)
            any = it;
        if (!(it->blocked & SIGBIT(sig)))
            ready = it;
    }
    /* Ignored is judged as for the thread that would take it; blocked everywhere, it waits. */
    if (!any || signal_ignored(ready ? ready : any, sig, from_host)) {
        pthread_mutex_unlock(&g->lock);
        return 0;
    }
    siginfo_t copy;
    if (info) {
        copy = *info;
    } else {
        memset(&copy, 0, sizeof(copy));
        copy.si_code = SI_USER;
    }
    copy.si_signo = sig;
    int err = pending_add(&g->shared_pending, g->shared_info, &g->shared_extra, sig, &copy,
                          sigpending_limit(g));
    pthread_mutex_unlock(&g->lock);
    if (err)
        return err;
    /* signalfd readers re-check (they may be threads blocking the signal). */
    waitqueue_wake_all(&g->kernel->signal_queued);
    /* Tasks are freed only with their group, which the caller holds. */
    if (ready)
        task_interrupt(ready);
    return 0;
}

void thread_group_signal_from_kernel(struct thread_group *g, int sig, bool from_outside)
{
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    info.si_signo = sig;
    info.si_code = SI_KERNEL;
    thread_group_signal_send(g, sig, &info, from_outside);
}

void kernel_signal_init_from_host(struct kernel *k, int sig)
{
    pthread_mutex_lock(&k->lock);
    if (k->init_task) {
        siginfo_t info;
        memset(&info, 0, sizeof(info));
        info.si_signo = sig;
        info.si_code = SI_USER; /* from pid 0: outside the namespace */
        thread_group_signal_send(k->init_task->tg, sig, &info, true);
    }
    pthread_mutex_unlock(&k->lock);
}

static void signal_force(struct task *t, int sig, const siginfo_t *info, bool to_default)
{
    pthread_mutex_lock(&t->tg->lock);
    struct k_sigaction *act = &t->tg->actions[sig];
    /* As Linux's force_sig_info(): a blocked or ignored synchronous signal gets its default
     * action back, and the default action kills even init. */
    if ((t->blocked & SIGBIT(sig)) || act->handler == (uint64_t)SIG_IGN || to_default) {
        act->handler = (uint64_t)SIG_DFL;
        t->blocked &= ~SIGBIT(sig);
    }
    if (act->handler == (uint64_t)SIG_DFL)
        t->tg->unkillable = false;
    t->pending |= SIGBIT(sig);
    t->pending_info[sig] = *info;
    t->pending_info[sig].si_signo = sig;
    pthread_mutex_unlock(&t->tg->lock);
}

void task_signal_force(struct task *t, int sig, const siginfo_t *info)
{
    signal_force(t, sig, info, false);
}

void task_signal_force_default(struct task *t, int sig, const siginfo_t *info)
{
    signal_force(t, sig, info, true);
}

bool task_signal_pending(struct task *t)
{
    pthread_mutex_lock(&t->tg->lock);
    /* A dying thread group counts too (Linux's fatal_signal_pending): every blocked call must
     * return so its thread can see tg->exiting and leave. */
    bool pending = ((t->pending | t->tg->shared_pending) & ~t->blocked) != 0 || t->tg->exiting ||
                   (t->tg->exec_task && t->tg->exec_task != t);
    pthread_mutex_unlock(&t->tg->lock);
    return pending;
}

uint64_t task_signal_pending_set(struct task *t)
{
    pthread_mutex_lock(&t->tg->lock);
    uint64_t pending = t->pending | t->tg->shared_pending;
    pthread_mutex_unlock(&t->tg->lock);
    return pending;
}

static void take_pending(struct task *t, int sig, siginfo_t *info);

/* Linux's SYNCHRONOUS_MASK: faults are taken before other signals. */
#define SYNCHRONOUS_SIGNALS                                                                        \
    (SIGBIT(SIGSEGV) | SIGBIT(SIGBUS) | SIGBIT(SIGILL) | SIGBIT(SIGTRAP) | SIGBIT(SIGFPE) |        \
     SIGBIT(SIGSYS))

int task_signal_dequeue_mask(struct task *t, uint64_t mask, siginfo_t *info)
{
    pthread_mutex_lock(&t->tg->lock);
    uint64_t ready = (t->pending | t->tg->shared_pending) & mask;
    if (ready & SYNCHRONOUS_SIGNALS)
        ready &= SYNCHRONOUS_SIGNALS;
    int sig = ready ? __builtin_ctzll(ready) + 1 : 0;
    if (sig)
        take_pending(t, sig, info);
    pthread_mutex_unlock(&t->tg->lock);
    return sig;
}

int task_signal_timedwait(struct task *t, uint64_t mask, const struct timespec *deadline,
                          siginfo_t *info)
{
    mask &= ~UNBLOCKABLE;
    int sig = task_signal_dequeue_mask(t, mask, info);
    if (sig)
        return sig;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (deadline && (now.tv_sec > deadline->tv_sec ||
                     (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec)))
        return -EAGAIN;
    /* As do_sigtimedwait(): the awaited signals are unblocked while the task sleeps, so their
     * arrival interrupts the sleep; the old mask is back before they are taken. */
    pthread_mutex_lock(&t->tg->lock);
    uint64_t old_blocked = t->blocked;
    t->real_blocked = old_blocked;
    t->blocked &= ~mask;
    pthread_mutex_unlock(&t->tg->lock);
    int err;
    while ((err = task_block(t, deadline)) == 0)
        ;
    pthread_mutex_lock(&t->tg->lock);
    t->blocked = old_blocked;
    t->real_blocked = 0;
    pthread_mutex_unlock(&t->tg->lock);
    sig = task_signal_dequeue_mask(t, mask, info);
    if (sig)
        return sig;
    return err == -ETIMEDOUT ? -EAGAIN : -EINTR;
}

/* Takes signal `sig` from the task's own pending set, else the process's (tg->lock held). */
static void take_pending(struct task *t, int sig, siginfo_t *info)
{
    if (t->pending & SIGBIT(sig))
        pending_take(&t->pending, t->pending_info, &t->pending_extra, sig, info);
    else
        pending_take(&t->tg->shared_pending, t->tg->shared_info, &t->tg->shared_extra, sig, info);
}

/* Takes the next deliverable signal: SIGKILL first, then the lowest number. */
static int signal_dequeue(struct task *t, siginfo_t *info, struct k_sigaction *act)
{
    uint64_t ready = (t->pending | t->tg->shared_pending) & (~t->blocked | UNBLOCKABLE);

    if (!ready)
        return 0;
    int sig = (ready & SIGBIT(SIGKILL)) ? SIGKILL : __builtin_ctzll(ready) + 1;
    take_pending(t, sig, info);
    *act = t->tg->actions[sig];
    return sig;
}

/* An interrupted syscall meets a handler: SA_RESTART decides for ERESTARTSYS (signal(7)). */
static void restart_for_handler(struct task *t, const struct k_sigaction *act)
{
    if (t->restart == -ERESTARTNOINTR || (t->restart == -ERESTARTSYS && (act->flags & SA_RESTART)))
        arch_regs_restart_syscall(&t->regs);
    t->restart = 0; /* otherwise the EINTR already in the registers stands */
}

void task_set_temporary_mask(struct task *t, uint64_t mask)
{
    pthread_mutex_lock(&t->tg->lock);
    t->saved_mask = t->blocked;
    t->blocked = mask & ~UNBLOCKABLE;
    pthread_mutex_unlock(&t->tg->lock);
    t->restore_mask = true;
}

void task_restore_temporary_mask(struct task *t)
{
    if (!t->restore_mask)
        return;
    pthread_mutex_lock(&t->tg->lock);
    t->blocked = t->saved_mask;
    pthread_mutex_unlock(&t->tg->lock);
    t->restore_mask = false;
}

/* No handler ran: the interrupted syscall runs again, as if nothing had happened, and a
 * temporary mask is undone. */
static void restart_without_handler(struct task *t)
{
    if (t->restart)
        arch_regs_restart_syscall(&t->regs);
    t->restart = 0;
    task_restore_temporary_mask(t);
}

void task_signal_deliver(struct task *t)
{
    siginfo_t info;
    struct k_sigaction act;

    for (;;) {
        pthread_mutex_lock(&t->tg->lock);
        if (t->tg->exiting || (t->tg->exec_task && t->tg->exec_task != t)) {
            /* Group exit, or another thread's execve (de_thread) ends this one. */
            pthread_mutex_unlock(&t->tg->lock);
            t->exiting = true;
            return;
        }
        if ((t->tg->stopped && !((t->pending | t->tg->shared_pending) & SIGBIT(SIGKILL))) ||
            t->tg->notify_continued) {
            pthread_mutex_unlock(&t->tg->lock);
            task_stopped_wait(t);
            continue;
        }
        int sig = signal_dequeue(t, &info, &act);
        if (sig && act.handler != (uint64_t)SIG_DFL && act.handler != (uint64_t)SIG_IGN &&
            sig != SIGKILL && sig != SIGSTOP) {
            /* Set up the handler: the mask grows by sa_mask and (unless SA_NODEFER) the signal;
             * SA_RESETHAND restores the default for the next one. After rt_sigsuspend the
             * frame restores the mask from before it. */
            uint64_t old_mask = t->restore_mask ? t->saved_mask : t->blocked;
            t->restore_mask = false;
            t->blocked |= act.mask & ~UNBLOCKABLE;
            if (!(act.flags & SA_NODEFER))
                t->blocked |= SIGBIT(sig);
            if (act.flags & SA_RESETHAND)
                t->tg->actions[sig].handler = (uint64_t)SIG_DFL;
            pthread_mutex_unlock(&t->tg->lock);
            restart_for_handler(t, &act);
            if (sigframe_setup(t, sig, &info, &act, old_mask) != 0) {
                /* No room for the frame: Linux forces SIGSEGV. */
                siginfo_t segv = {.si_signo = SIGSEGV, .si_code = SI_KERNEL};
                task_signal_force(t, SIGSEGV, &segv);
            }
            /* One handler frame per return to the guest, like Linux. */
            return;
        }
        /* A signal that was blocked when init got it is dropped now (get_signal()'s
         * SIGNAL_UNKILLABLE check): only SIGKILL and SIGSTOP act on init by default. */
        bool init_drops = t->tg->unkillable && sig != SIGKILL && sig != SIGSTOP;
        pthread_mutex_unlock(&t->tg->lock);
        if (!sig) {
            restart_without_handler(t);
            return;
        }
        if (init_drops || (act.handler == (uint64_t)SIG_IGN && sig != SIGKILL && sig != SIGSTOP))
            continue;
        switch (default_action(sig)) {
        case ACT_IGNORE:
        case ACT_CONTINUE:
            continue;
        case ACT_STOP:
            task_group_stop(t, sig);
            continue;
        case ACT_CORE:
            if (info.si_code > 0) /* from the kernel: a fault or exception, not a kill() */
                task_report_crash(t, sig, &info);
            /* No core file is written; the status says "core dumped" only if one would be. */
            task_exit_group(t, sig | (t->tg->rlimits[RLIMIT_CORE].rlim_cur ? 0x80 : 0));
            return;
        case ACT_TERMINATE:
            task_exit_group(t, sig);
            return;
        }
    }
}

int kernel_count_user_pending(struct kernel *k, uid_t ruid)
{
    int n = 0;

    for (struct thread_group *g = k->groups; g; g = g->next) {
        pthread_mutex_lock(&g->lock);
        bool mine = g->leader && g->leader->creds.ruid == ruid;
        if (mine) {
            n += __builtin_popcountll(g->shared_pending) + (int)g->shared_extra.count;
            for (struct task *it = g->tasks; it; it = it->group_next)
                n += it->released
                         ? 0
                         : __builtin_popcountll(it->pending) + (int)it->pending_extra.count;
        }
        pthread_mutex_unlock(&g->lock);
    }
    return n;
}
