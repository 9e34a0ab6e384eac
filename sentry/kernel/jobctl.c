/* Job control: group stops and SIGCONT (signal(7)), the parent's CLD_STOPPED / CLD_CONTINUED
 * notices, process-group signals and the orphaned-group rules of credentials(7). */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "lib/log.h"
#include "sentry/kernel/kernel.h"

#define STOP_SIGNALS (SIGBIT(SIGSTOP) | SIGBIT(SIGTSTP) | SIGBIT(SIGTTIN) | SIGBIT(SIGTTOU))

static void session_end_none(struct kernel *k, int sid)
{
}

/* Set once at start-up, before guests run; acquire/release publish the function. */
static _Atomic(kernel_session_end_fn) session_end_hook = session_end_none;

void kernel_set_session_end_hook(kernel_session_end_fn fn)
{
    atomic_store_explicit(&session_end_hook, fn ? fn : session_end_none, memory_order_release);
}

void kernel_session_end(struct kernel *k, int sid)
{
    kernel_session_end_fn fn = atomic_load_explicit(&session_end_hook, memory_order_acquire);
    fn(k, sid);
}

/* Tells the parent its child stopped or continued: SIGCHLD unless the parent asked for none
 * with SA_NOCLDSTOP (do_notify_parent_cldstop), and a wake-up for wait. No lock held. */
static void notify_parent_cldstop(struct task *t, int code, int status)
{
    struct kernel *k = t->kernel;
    struct thread_group *tg = t->tg;

    pthread_mutex_lock(&k->lock);
    struct thread_group *parent = tg->parent;
    if (parent) {
        pthread_mutex_lock(&parent->lock);
        struct k_sigaction act = parent->actions[SIGCHLD];
        pthread_mutex_unlock(&parent->lock);
        if (!(act.flags & SA_NOCLDSTOP)) {
            siginfo_t info;
            memset(&info, 0, sizeof(info));
            info.si_signo = SIGCHLD;
            info.si_code = code;
            info.si_pid = tg->tgid;
            info.si_uid = t->creds.ruid;
            info.si_status = status;
            thread_group_signal_send(parent, SIGCHLD, &info, false);
        }
        waitqueue_wake_all(&parent->child_events);
    }
    pthread_mutex_unlock(&k->lock);
}

/* Whether group `pgid` is orphaned, not counting process `ignore` (will_become_orphaned_pgrp).
 * kernel.lock held. */
static bool pgrp_orphaned_locked(struct kernel *k, int pgid, const struct thread_group *ignore)
{
    for (struct thread_group *g = k->groups; g; g = g->next) {
        if (g->pgid != pgid || g == ignore || g->zombie || !g->parent)
            continue;
        if (g->parent->pgid != pgid && g->parent->sid == g->sid)
            return false;
    }
    return true;
}

bool kernel_pgrp_orphaned(struct kernel *k, int pgid)
{
    pthread_mutex_lock(&k->lock);
    bool orphaned = pgrp_orphaned_locked(k, pgid, NULL);
    pthread_mutex_unlock(&k->lock);
    return orphaned;
}

bool kernel_pgrp_in_session(struct kernel *k, int pgid, int sid)
{
    bool found = false;

    pthread_mutex_lock(&k->lock);
    for (struct thread_group *g = k->groups; g && !found; g = g->next)
        found = g->pgid == pgid && g->sid == sid && !g->zombie;
    pthread_mutex_unlock(&k->lock);
    return found;
}

static int signal_pgrp_locked(struct kernel *k, int pgid, int sig)
{
    bool found = false;

    for (struct thread_group *g = k->groups; g; g = g->next) {
        if (g->pgid != pgid || g->zombie || !g->leader)
            continue;
        found = true;
        thread_group_signal_from_kernel(g, sig, false);
    }
    return found ? 0 : -ESRCH;
}

int kernel_signal_pgrp(struct kernel *k, int pgid, int sig)
{
    pthread_mutex_lock(&k->lock);
    int err = signal_pgrp_locked(k, pgid, sig);
    pthread_mutex_unlock(&k->lock);
    return err;
}

static bool pgrp_has_stopped_jobs(struct kernel *k, int pgid)
{
    bool stopped = false;

    for (struct thread_group *g = k->groups; g && !stopped; g = g->next) {
        if (g->pgid != pgid || g->zombie)
            continue;
        pthread_mutex_lock(&g->lock);
        stopped = g->stopped;
        pthread_mutex_unlock(&g->lock);
    }
    return stopped;
}

/* A group that an exit leaves orphaned with stopped members gets SIGHUP then SIGCONT, so it is
 * neither stuck stopped nor unaware (kill_orphaned_pgrp). */
static void hangup_if_orphaned(struct kernel *k, struct thread_group *g,
                               const struct thread_group *parent, const struct thread_group *gone)
{
    if (!parent || parent->pgid == g->pgid || parent->sid != g->sid)
        return;
    if (pgrp_orphaned_locked(k, g->pgid, gone) && pgrp_has_stopped_jobs(k, g->pgid)) {
        signal_pgrp_locked(k, g->pgid, SIGHUP);
        signal_pgrp_locked(k, g->pgid, SIGCONT);
    }
}

void jobctl_exit_orphans(struct kernel *k, struct thread_group *tg)
{
    hangup_if_orphaned(k, tg, tg->parent, tg);
    for (struct thread_group *c = tg->children; c; c = c->sibling)
        hangup_if_orphaned(k, c, tg, tg);
}

bool task_signal_ignored_or_blocked(struct task *t, int sig)
{
    pthread_mutex_lock(&t->tg->lock);
    bool ret = (t->blocked & SIGBIT(sig)) || t->tg->actions[sig].handler == (uint64_t)SIG_IGN;
    pthread_mutex_unlock(&t->tg->lock);
    return ret;
}

bool thread_group_prepare_signal(struct thread_group *tg, int sig)
{
    if (sig == SIGCONT) {
        tg->shared_pending &= ~STOP_SIGNALS;
        for (struct task *it = tg->tasks; it; it = it->group_next)
            it->pending &= ~STOP_SIGNALS;
        if (!tg->stopped)
            return false;
        tg->stopped = false;
        tg->wait_report = JOBCTL_REPORT_CONTINUED;
        tg->notify_continued = true;
        return true;
    }
    if (STOP_SIGNALS & SIGBIT(sig)) {
        tg->shared_pending &= ~SIGBIT(SIGCONT);
        for (struct task *it = tg->tasks; it; it = it->group_next)
            it->pending &= ~SIGBIT(SIGCONT);
    }
    return false;
}

void task_stopped_wait(struct task *t)
{
    struct thread_group *tg = t->tg;

    for (;;) {
        pthread_mutex_lock(&tg->lock);
        bool hold = tg->stopped && !tg->exiting &&
                    !((t->pending | tg->shared_pending) & SIGBIT(SIGKILL));
        bool owe = !tg->stopped && tg->notify_continued;
        if (owe)
            tg->notify_continued = false;
        pthread_mutex_unlock(&tg->lock);
        if (owe)
            notify_parent_cldstop(t, CLD_CONTINUED, SIGCONT);
        if (!hold)
            return;
        /* Not task_block: other pending signals wait for SIGCONT, they don't end the stop. */
        pthread_mutex_lock(&t->wait_lock);
        while (!t->woken)
            pthread_cond_wait(&t->wake, &t->wait_lock);
        t->woken = false;
        pthread_mutex_unlock(&t->wait_lock);
    }
}

void task_group_stop(struct task *t, int sig)
{
    struct thread_group *tg = t->tg;
    struct task *others[64];
    size_t n = 0;

    /* Init has no parent to report to: its stop signals are dropped as before. */
    if (tg->is_init) {
        log_debug("task %d: init ignores stop signal %d", t->tid, sig);
        return;
    }
    /* The terminal stop signals don't stop an orphaned group (signal(7), get_signal). */
    if (sig != SIGSTOP) {
        pthread_mutex_lock(&t->kernel->lock);
        bool orphaned = pgrp_orphaned_locked(t->kernel, tg->pgid, NULL);
        pthread_mutex_unlock(&t->kernel->lock);
        if (orphaned)
            return;
    }
    pthread_mutex_lock(&tg->lock);
    if (tg->exiting || ((t->pending | tg->shared_pending) & SIGBIT(SIGKILL))) {
        pthread_mutex_unlock(&tg->lock);
        return;
    }
    tg->stopped = true;
    tg->stop_signal = sig;
    tg->wait_report = JOBCTL_REPORT_STOPPED;
    tg->notify_continued = false;
    for (struct task *it = tg->tasks; it; it = it->group_next) {
        if (it != t && !it->released && n < sizeof(others) / sizeof(others[0]))
            others[n++] = it;
    }
    pthread_mutex_unlock(&tg->lock);
    /* The other threads stop as they next come back to the sentry. */
    for (size_t i = 0; i < n; i++)
        task_interrupt(others[i]);
    notify_parent_cldstop(t, CLD_STOPPED, sig);
    task_stopped_wait(t);
}
