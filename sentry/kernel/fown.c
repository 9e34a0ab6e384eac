/* File owners (fcntl(2) F_SETOWN, F_SETOWN_EX, F_SETSIG and their getters) and the signal a
 * file sends its owner when something happens to it (dnotify, O_ASYNC): Linux's send_sigio. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>

#include "sentry/kernel/kernel.h"
#include "sentry/mm/mm.h"

/* Whether an owner of this type and id exists now (kernel.lock held). */
static bool owner_exists_locked(struct kernel *k, int type, int id)
{
    if (type == F_OWNER_TID) {
        struct task *t = kernel_find_task(k, id);
        return t && !t->released;
    }
    for (struct thread_group *g = k->groups; g; g = g->next) {
        if (g->zombie)
            continue;
        if (type == F_OWNER_PID ? g->tgid == id : g->pgid == id)
            return true;
    }
    return false;
}

/* __f_setown: ESRCH for an id that names nothing; id 0 clears the owner. */
static long owner_set(struct task *t, struct file *f, int type, int id)
{
    if (id) {
        struct kernel *k = t->kernel;
        pthread_mutex_lock(&k->lock);
        bool exists = owner_exists_locked(k, type, id);
        pthread_mutex_unlock(&k->lock);
        if (!exists)
            return -ESRCH;
    }
    atomic_store_explicit(&f->owner_type, type, memory_order_relaxed);
    atomic_store_explicit(&f->owner_id, id, memory_order_relaxed);
    return 0;
}

long fown_fcntl(struct task *t, struct file *f, int cmd, uint64_t arg)
{
    int type = atomic_load_explicit(&f->owner_type, memory_order_relaxed);
    int id = atomic_load_explicit(&f->owner_id, memory_order_relaxed);
    struct f_owner_ex ex;

    switch (cmd) {
    case F_GETOWN:
        return type == F_OWNER_PGRP ? -(long)id : id;
    case F_SETOWN: {
        int who = (int)arg;
        if (who == INT_MIN)
            return -EINVAL;
        return who < 0 ? owner_set(t, f, F_OWNER_PGRP, -who) : owner_set(t, f, F_OWNER_PID, who);
    }
    case F_GETOWN_EX:
        ex.type = type;
        ex.pid = id;
        return mm_copy_out(t->mm, arg, &ex, sizeof(ex));
    case F_SETOWN_EX:
        if (mm_copy_in(t->mm, arg, &ex, sizeof(ex)) != 0)
            return -EFAULT;
        if (ex.type != F_OWNER_TID && ex.type != F_OWNER_PID && ex.type != F_OWNER_PGRP)
            return -EINVAL;
        if (ex.pid < 0)
            return -EINVAL;
        return owner_set(t, f, ex.type, ex.pid);
    case F_GETSIG:
        return atomic_load_explicit(&f->owner_sig, memory_order_relaxed);
    case F_SETSIG:
        if (arg > KERNEL_NSIG)
            return -EINVAL;
        atomic_store_explicit(&f->owner_sig, (int)arg, memory_order_relaxed);
        return 0;
    default:
        return -EINVAL;
    }
}

void fown_set_default(struct task *t, struct file *f)
{
    if (atomic_load_explicit(&f->owner_id, memory_order_relaxed))
        return;
    atomic_store_explicit(&f->owner_type, F_OWNER_PID, memory_order_relaxed);
    atomic_store_explicit(&f->owner_id, t->tg->tgid, memory_order_relaxed);
}

/* The band each reason reports (Linux's band_table, indexed by reason - POLL_IN). */
static long band_for(int reason)
{
    static const long bands[] = {
        POLLIN | POLLRDNORM,               /* POLL_IN */
        POLLOUT | POLLWRNORM | POLLWRBAND, /* POLL_OUT */
        POLLIN | POLLRDNORM | POLLMSG,     /* POLL_MSG */
        POLLERR,                           /* POLL_ERR */
        POLLPRI | POLLRDBAND,              /* POLL_PRI */
        POLLHUP | POLLERR,                 /* POLL_HUP */
    };
    return reason >= POLL_IN && reason <= POLL_HUP ? bands[reason - POLL_IN] : 0;
}

void fown_send_sigio(struct kernel *k, struct file *f, int fd, int reason)
{
    int type = atomic_load_explicit(&f->owner_type, memory_order_relaxed);
    int id = atomic_load_explicit(&f->owner_id, memory_order_relaxed);
    int sig = atomic_load_explicit(&f->owner_sig, memory_order_relaxed);
    siginfo_t info;

    if (!id)
        return;
    memset(&info, 0, sizeof(info));
    /* F_SETSIG 0 sends a plain SIGIO (SEND_SIG_PRIV); a chosen signal carries the fd and band. */
    if (sig) {
        info.si_signo = sig;
        info.si_code = reason;
        info.si_band = band_for(reason);
        info.si_fd = fd;
    } else {
        sig = SIGIO;
        info.si_signo = SIGIO;
        info.si_code = SI_KERNEL;
    }
    pthread_mutex_lock(&k->lock);
    if (type == F_OWNER_TID) {
        struct task *t = kernel_find_task(k, id);
        if (t && !t->released)
            task_signal_send(t, sig, &info);
    } else {
        for (struct thread_group *g = k->groups; g; g = g->next) {
            if (!g->zombie && (type == F_OWNER_PID ? g->tgid == id : g->pgid == id))
                thread_group_signal_send(g, sig, &info, false);
        }
    }
    pthread_mutex_unlock(&k->lock);
}
