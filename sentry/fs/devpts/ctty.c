/* Controlling terminals (tty(4), credentials(7)): TIOCSCTTY, TIOCNOTTY, the foreground process
 * group (TIOCGPGRP/TIOCSPGRP), TIOCGSID, and TIOCGPTPEER, which opens a pty's slave from its
 * master. A session's terminal is the pty whose `session` names it. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/ioctl.h>

#include "sentry/fs/devpts/devpts_internal.h"
#include "sentry/kernel/kernel.h"
#include "sentry/mm/mm.h"

#define K_TIOCGPTPEER _IO('T', 0x41)

/* tiocsctty: a session leader without a terminal takes this one; arg 1 with CAP_SYS_ADMIN steals
 * it from another session. The file must be readable unless the caller is privileged. */
static long pty_set_ctty(struct file *f, struct task *t, struct pty *p, uint64_t arg)
{
    struct job_ids ids;
    long ret = 0;
    bool admin = task_capable(t, CAP_SYS_ADMIN);

    pthread_mutex_lock(&pty_ctrl_lock);
    job_ids_locked(p, t, &ids);
    if (ids.leader && p->session == ids.sid)
        goto out;
    if (!ids.leader || pty_find_session(ids.sid)) {
        ret = -EPERM;
        goto out;
    }
    if (p->session && !(arg == 1 && admin)) {
        ret = -EPERM;
        goto out;
    }
    if (!file_readable(f) && !admin) {
        ret = -EPERM;
        goto out;
    }
    p->session = ids.sid;
    p->pgrp = ids.pgid;
    pthread_mutex_lock(&t->kernel->lock);
    t->tg->ctty_detached = false;
    pthread_mutex_unlock(&t->kernel->lock);
out:
    pthread_mutex_unlock(&pty_ctrl_lock);
    return ret;
}

/* TIOCNOTTY: a session leader gives the terminal up for the whole session (its foreground group
 * gets SIGHUP and SIGCONT); any other process only for itself. */
static long pty_give_up_ctty(struct task *t, struct pty *p)
{
    struct job_ids ids;
    int fg = 0;

    pthread_mutex_lock(&pty_ctrl_lock);
    job_ids_locked(p, t, &ids);
    if (!ids.ctty) {
        pthread_mutex_unlock(&pty_ctrl_lock);
        return -ENOTTY;
    }
    if (ids.leader) {
        fg = p->pgrp;
        p->session = p->pgrp = 0;
    } else {
        pthread_mutex_lock(&t->kernel->lock);
        t->tg->ctty_detached = true;
        pthread_mutex_unlock(&t->kernel->lock);
    }
    pthread_mutex_unlock(&pty_ctrl_lock);
    if (fg) {
        kernel_signal_pgrp(t->kernel, fg, SIGHUP);
        kernel_signal_pgrp(t->kernel, fg, SIGCONT);
    }
    return 0;
}

/* The session of process group `pgrp`, or of the process with that pid when no group has it
 * (session_of_pgrp); -ESRCH when neither exists. */
static int session_of_pgrp(struct kernel *k, int pgrp)
{
    int sid = -ESRCH;

    pthread_mutex_lock(&k->lock);
    for (struct thread_group *g = k->groups; g; g = g->next) {
        if (g->zombie)
            continue;
        if (g->pgid == pgrp) {
            sid = g->sid;
            break;
        }
        if (g->tgid == pgrp)
            sid = g->sid;
    }
    pthread_mutex_unlock(&k->lock);
    return sid;
}

/* tiocspgrp: a background caller is stopped first (SIGTTOU); the terminal must be the caller's
 * and the group in its session. */
static long pty_set_pgrp(struct task *t, struct pty *p, struct mm *mm, uint64_t arg)
{
    struct job_ids ids;
    int pgrp;

    int err = pty_job_check(p, t, SIGTTOU);
    if (err == -EIO)
        return -ENOTTY;
    if (err)
        return err;
    if (mm_copy_in(mm, arg, &pgrp, sizeof(pgrp)) != 0)
        return -EFAULT;
    if (pgrp < 0)
        return -EINVAL;
    pthread_mutex_lock(&pty_ctrl_lock);
    job_ids_locked(p, t, &ids);
    long ret = 0;
    if (!ids.ctty) {
        ret = -ENOTTY;
    } else {
        int sid = pgrp ? session_of_pgrp(t->kernel, pgrp) : -ESRCH;
        if (sid < 0)
            ret = sid;
        else if (sid != ids.sid)
            ret = -EPERM;
        else
            p->pgrp = pgrp;
    }
    pthread_mutex_unlock(&pty_ctrl_lock);
    return ret;
}

/* TIOCGPGRP and TIOCGSID: on a slave only by a process it is the controlling terminal of; the
 * master may always ask. */
static long pty_get_id(struct file *f, struct task *t, struct pty *p, struct mm *mm, uint64_t arg,
                       bool session)
{
    struct job_ids ids;

    pthread_mutex_lock(&pty_ctrl_lock);
    job_ids_locked(p, t, &ids);
    int value = session ? p->session : p->pgrp;
    pthread_mutex_unlock(&pty_ctrl_lock);
    if (!pty_file_is_master(f) && !ids.ctty)
        return -ENOTTY;
    if (session && !value)
        return -ENOTTY;
    return mm_copy_out(mm, arg, &value, sizeof(value));
}

static long pty_open_peer(struct file *f, struct task *t, uint64_t arg)
{
    struct file *peer;
    int flags = (int)arg;

    if (!pty_file_is_master(f))
        return -ENOTTY;
    int err = devpts_open_peer(f, flags, &peer);
    if (err)
        return err;
    int fd = fdtable_install_lowest(t->fds, 0, task_nofile_limit(t), peer, flags & O_CLOEXEC);
    file_put(peer);
    return fd;
}

long pty_ioctl_ctrl(struct file *f, struct task *t, struct mm *mm, unsigned int cmd,
                    uint64_t arg)
{
    struct pty *p = pty_file_pty(f);

    switch (cmd) {
    case TIOCSCTTY:
        return pty_set_ctty(f, t, p, arg);
    case TIOCNOTTY:
        /* A master is never a controlling terminal (tiocnotty compares the file's own tty). */
        return pty_file_is_master(f) ? -ENOTTY : pty_give_up_ctty(t, p);
    case TIOCGPGRP:
        return pty_get_id(f, t, p, mm, arg, false);
    case TIOCGSID:
        return pty_get_id(f, t, p, mm, arg, true);
    case TIOCSPGRP:
        return pty_set_pgrp(t, p, mm, arg);
    case K_TIOCGPTPEER:
        return pty_open_peer(f, t, arg);
    default:
        return -ENOTTY;
    }
}
