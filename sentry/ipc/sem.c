/* System V semaphores: semget(2), semop(2)/semtimedop(2), semctl(2), and the SEM_UNDO
 * adjustments a process's end applies. A blocked semop waits in its set's FIFO; whoever changes
 * the set completes the waiting operations that can now proceed (Linux's update_queue), so the
 * woken task finds its operation done, failed, or still pending.
 *
 * sem_ids.lock protects every set, every waiter's status and every undo list: one lock, because
 * an undo list spans sets and a set's removal reaches into undo lists. */
#include "sentry/ipc/ipc.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sem.h>
#include <time.h>

#include "sentry/ipc/registry.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/ktimer.h"
#include "sentry/mm/mm.h"

#define SEM_WAITING 1 /* a waiter's status until its operation completes or fails */

struct sem_value {
    int semval;
    pid_t sempid;
};

/* One process's (undo list's) adjustments for one set, reachable from both. */
struct sem_undo {
    struct sem_set *set;
    struct sem_undo_list *list;
    struct sem_undo *set_prev, *set_next;   /* in set->undos */
    struct sem_undo *list_prev, *list_next; /* in list->head */
    int semadj[];
};

/* Shared by the tasks made with CLONE_SYSVSEM (each holds a reference in task.sem_undo). */
struct sem_undo_list {
    int refs;
    struct sem_undo *head;
};

/* A blocked semop, on its task's stack. */
struct sem_waiter {
    struct sem_waiter *prev, *next; /* in set->pending, oldest first */
    struct task *task;
    const struct sembuf *sops;
    size_t nsops;
    struct sem_undo *undo; /* the caller's entry for the set, if any op has SEM_UNDO */
    pid_t pid;
    size_t blocking; /* the op it waits on: GETNCNT and GETZCNT count by it */
    int status;      /* SEM_WAITING, then 0 or -errno */
};

struct sem_set {
    struct ipc_object perm;
    int nsems;
    time_t otime, ctime;
    struct sem_undo *undos;
    struct sem_waiter *pending, *pending_tail;
    struct sem_value sems[];
};

static struct ipc_registry sem_ids = IPC_REGISTRY_INIT(0);
static long sem_total; /* semaphores in all sets (SEM_INFO's semaem); sem_ids.lock */

static struct sem_set *set_of_object(struct ipc_object *o)
{
    return o ? (struct sem_set *)((char *)o - offsetof(struct sem_set, perm)) : NULL;
}

static void undo_unlink_free(struct sem_undo *un)
{
    struct sem_set *s = un->set;
    struct sem_undo_list *l = un->list;

    if (un->set_prev)
        un->set_prev->set_next = un->set_next;
    else
        s->undos = un->set_next;
    if (un->set_next)
        un->set_next->set_prev = un->set_prev;
    if (un->list_prev)
        un->list_prev->list_next = un->list_next;
    else
        l->head = un->list_next;
    if (un->list_next)
        un->list_next->list_prev = un->list_prev;
    free(un);
}

static void waiter_unlink(struct sem_set *s, struct sem_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        s->pending = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        s->pending_tail = w->prev;
}

/* Ends a waiter's wait with `status`; it is no longer touched after this. */
static void waiter_complete(struct sem_set *s, struct sem_waiter *w, int status)
{
    waiter_unlink(s, w);
    w->status = status;
    task_wake(w->task);
}

/* Applies sops to the set all or none (Linux's perform_atomic_semop_slow): 0 when done (values,
 * adjustments and sempids updated), 1 when an op must wait (*blocking names it), -EAGAIN when
 * that op has IPC_NOWAIT, -ERANGE when a value or an adjustment would leave its range. */
static int sem_apply(struct sem_set *s, const struct sembuf *sops, size_t nsops,
                     struct sem_undo *un, pid_t pid, size_t *blocking)
{
    size_t i;
    int ret;

    for (i = 0; i < nsops; i++) {
        struct sem_value *v = &s->sems[sops[i].sem_num];
        int op = sops[i].sem_op;
        int result = v->semval + op;
        if ((op == 0 && v->semval != 0) || result < 0) {
            *blocking = i;
            ret = (sops[i].sem_flg & IPC_NOWAIT) ? -EAGAIN : 1;
            goto undo;
        }
        if (result > IPC_SEMVMX) {
            ret = -ERANGE;
            goto undo;
        }
        if (sops[i].sem_flg & SEM_UNDO) {
            int adj = un->semadj[sops[i].sem_num] - op;
            if (adj < -IPC_SEMVMX - 1 || adj > IPC_SEMVMX) {
                ret = -ERANGE;
                goto undo;
            }
            un->semadj[sops[i].sem_num] = adj;
        }
        v->semval = result;
    }
    for (i = 0; i < nsops; i++)
        s->sems[sops[i].sem_num].sempid = pid;
    return 0;

undo:
    while (i-- > 0) {
        s->sems[sops[i].sem_num].semval -= sops[i].sem_op;
        if (sops[i].sem_flg & SEM_UNDO)
            un->semadj[sops[i].sem_num] += sops[i].sem_op;
    }
    return ret;
}

/* After the values changed: completes, oldest first, every waiting operation that can proceed
 * now or fails for good, until a pass changes nothing (Linux's update_queue). */
static void sem_update_queue(struct sem_set *s)
{
    bool progress = true;

    while (progress) {
        progress = false;
        for (struct sem_waiter *w = s->pending, *next; w; w = next) {
            next = w->next;
            int r = sem_apply(s, w->sops, w->nsops, w->undo, w->pid, &w->blocking);
            if (r == 1)
                continue;
            if (r == 0)
                s->otime = time(NULL);
            waiter_complete(s, w, r);
            progress = true;
        }
    }
}

/* IPC_RMID: waiters fail with EIDRM, the undo entries go, the id is free. */
static void set_destroy(struct sem_set *s)
{
    while (s->pending)
        waiter_complete(s, s->pending, -EIDRM);
    while (s->undos)
        undo_unlink_free(s->undos);
    ipc_registry_remove(&sem_ids, &s->perm);
    sem_total -= s->nsems;
    free(s);
}

static long set_create(struct ipc_registry *r, struct task *t, int32_t key, int flags, void *arg)
{
    int nsems = *(const int *)arg;
    if (nsems == 0)
        return -EINVAL; /* only an existing set may be asked for with 0 semaphores */
    struct sysctl_values v;
    sysctl_read(&t->kernel->sysctl, &v);
    /* newary: the sandbox's semaphores within SEMMNS (kernel.sem's second value). */
    if (sem_total + nsems > v.sem[1])
        return -ENOSPC;
    struct sem_set *s = calloc(1, sizeof(*s) + (size_t)nsems * sizeof(s->sems[0]));
    if (!s)
        return -ENOMEM;
    r->mni = v.sem[3];
    long id = ipc_registry_add(r, &s->perm, t, key, flags);
    if (id < 0) {
        free(s);
        return id;
    }
    s->nsems = nsems;
    s->ctime = time(NULL);
    sem_total += nsems;
    return id;
}

static int set_check(struct ipc_object *o, void *arg)
{
    return *(const int *)arg > set_of_object(o)->nsems ? -EINVAL : 0;
}

static const struct ipc_get_ops sem_get_ops = {.create = set_create, .check = set_check};

long ipc_semget(struct task *t, int32_t key, int nsems, int flags)
{
    struct sysctl_values v;
    sysctl_read(&t->kernel->sysctl, &v);
    if (nsems < 0 || nsems > v.sem[0])
        return -EINVAL;
    return ipc_registry_get(&sem_ids, t, key, flags, &sem_get_ops, &nsems);
}

/* The calling task's adjustments for set `s`, made if needed (sem_ids.lock held): NULL if out
 * of memory. */
static struct sem_undo *undo_find_or_add(struct task *t, struct sem_set *s)
{
    struct sem_undo_list *l = t->sem_undo;
    if (!l) {
        if (!(l = calloc(1, sizeof(*l))))
            return NULL;
        l->refs = 1;
        t->sem_undo = l;
    }
    for (struct sem_undo *un = l->head; un; un = un->list_next)
        if (un->set == s)
            return un;
    struct sem_undo *un = calloc(1, sizeof(*un) + (size_t)s->nsems * sizeof(un->semadj[0]));
    if (!un)
        return NULL;
    un->set = s;
    un->list = l;
    un->set_next = s->undos;
    if (s->undos)
        s->undos->set_prev = un;
    s->undos = un;
    un->list_next = l->head;
    if (l->head)
        l->head->list_prev = un;
    l->head = un;
    return un;
}

/* Waits for a queued operation's end: its status, -EINTR (a signal; semop is never restarted,
 * see signal(7)) or -EAGAIN (the timeout). */
static long sem_wait(struct task *t, struct sem_set *s, struct sem_waiter *w,
                     const struct timespec *deadline)
{
    for (;;) {
        int err = task_block(t, deadline);
        pthread_mutex_lock(&sem_ids.lock);
        /* A completed waiter is off the set's queue and the set may be gone: only its own
         * status is read. */
        if (w->status != SEM_WAITING) {
            int status = w->status;
            pthread_mutex_unlock(&sem_ids.lock);
            return status;
        }
        if (err) {
            waiter_unlink(s, w);
            pthread_mutex_unlock(&sem_ids.lock);
            return err == -ETIMEDOUT ? -EAGAIN : -EINTR;
        }
        pthread_mutex_unlock(&sem_ids.lock);
    }
}

/* semtimedop(2) on operations already copied in (do_semtimedop after its copy). */
static long semtimedop_copied(struct task *t, int id, struct sembuf *sops, uint64_t nsops,
                              const struct timespec *timeout)
{
    struct timespec deadline;
    long ret;

    if (timeout) {
        if (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1000000000L)
            return -EINVAL;
        deadline = ktimer_deadline_after(timeout);
    }
    unsigned max_num = 0;
    bool undos = false, alter = false;
    for (size_t i = 0; i < nsops; i++) {
        if (sops[i].sem_num > max_num)
            max_num = sops[i].sem_num;
        undos |= (sops[i].sem_flg & SEM_UNDO) != 0;
        alter |= sops[i].sem_op != 0;
    }

    pthread_mutex_lock(&sem_ids.lock);
    struct sem_set *s = set_of_object(ipc_registry_find(&sem_ids, id));
    if (!s) {
        ret = -EINVAL;
        goto out;
    }
    if (max_num >= (unsigned)s->nsems) {
        ret = -EFBIG;
        goto out;
    }
    if (!ipc_perm_allows(t, &s->perm, alter ? 2 : 4)) {
        ret = -EACCES;
        goto out;
    }
    struct sem_undo *un = NULL;
    if (undos && !(un = undo_find_or_add(t, s))) {
        ret = -ENOMEM;
        goto out;
    }
    struct sem_waiter w = {
        .task = t,
        .sops = sops,
        .nsops = nsops,
        .undo = un,
        .pid = t->tg->tgid,
        .status = SEM_WAITING,
    };
    ret = sem_apply(s, sops, nsops, un, w.pid, &w.blocking);
    if (ret == 0) {
        s->otime = time(NULL);
        if (alter)
            sem_update_queue(s);
        goto out;
    }
    if (ret < 0)
        goto out;
    if (timeout && !timeout->tv_sec && !timeout->tv_nsec) {
        ret = -EAGAIN;
        goto out;
    }
    w.prev = s->pending_tail;
    w.next = NULL;
    if (s->pending_tail)
        s->pending_tail->next = &w;
    else
        s->pending = &w;
    s->pending_tail = &w;
    pthread_mutex_unlock(&sem_ids.lock);
    return sem_wait(t, s, &w, timeout ? &deadline : NULL);
out:
    pthread_mutex_unlock(&sem_ids.lock);
    return ret;
}

long ipc_semtimedop(struct task *t, int id, uint64_t sops_addr, uint64_t nsops,
                    const struct timespec *timeout)
{
    struct sembuf fast[IPC_SEMOPM_FAST];
    struct sysctl_values v;

    /* Linux's order of checks: do_semtimedop; SEMOPM is kernel.sem's third value (compared
     * unsigned, as Linux does). */
    sysctl_read(&t->kernel->sysctl, &v);
    if (nsops < 1 || id < 0)
        return -EINVAL;
    if (nsops > (uint64_t)(unsigned)v.sem[2])
        return -E2BIG;
    struct sembuf *sops = nsops <= IPC_SEMOPM_FAST ? fast : malloc(nsops * sizeof(*sops));
    if (!sops)
        return -ENOMEM;
    long ret = -EFAULT;
    if (mm_copy_in(t->mm, sops_addr, sops, nsops * sizeof(sops[0])) == 0)
        ret = semtimedop_copied(t, id, sops, nsops, timeout);
    if (sops != fast)
        free(sops);
    return ret;
}

int ipc_sem_undo_clone(struct task *parent, struct task *child, bool share)
{
    child->sem_undo = NULL;
    if (!share)
        return 0;
    pthread_mutex_lock(&sem_ids.lock);
    if (!parent->sem_undo && (parent->sem_undo = calloc(1, sizeof(*parent->sem_undo))))
        parent->sem_undo->refs = 1;
    if (parent->sem_undo) {
        parent->sem_undo->refs++;
        child->sem_undo = parent->sem_undo;
    }
    pthread_mutex_unlock(&sem_ids.lock);
    return child->sem_undo ? 0 : -ENOMEM;
}

void ipc_sem_undo_exit(struct task *t)
{
    struct sem_undo_list *l = t->sem_undo;

    if (!l)
        return;
    t->sem_undo = NULL;
    pthread_mutex_lock(&sem_ids.lock);
    if (--l->refs > 0) {
        pthread_mutex_unlock(&sem_ids.lock);
        return;
    }
    /* Linux's exit_sem: each adjustment is added and the value capped at 0 and SEMVMX. */
    while (l->head) {
        struct sem_undo *un = l->head;
        struct sem_set *s = un->set;
        for (int i = 0; i < s->nsems; i++) {
            if (!un->semadj[i])
                continue;
            int v = s->sems[i].semval + un->semadj[i];
            s->sems[i].semval = v < 0 ? 0 : v > IPC_SEMVMX ? IPC_SEMVMX : v;
            s->sems[i].sempid = t->tg->tgid;
        }
        undo_unlink_free(un);
        sem_update_queue(s);
    }
    pthread_mutex_unlock(&sem_ids.lock);
    free(l);
}

/* SETVAL and SETALL forget every process's adjustments of what they set. */
static void undo_clear(struct sem_set *s, int semnum)
{
    for (struct sem_undo *un = s->undos; un; un = un->set_next) {
        if (semnum >= 0)
            un->semadj[semnum] = 0;
        else
            memset(un->semadj, 0, (size_t)s->nsems * sizeof(un->semadj[0]));
    }
}

/* GETNCNT and GETZCNT: the waiters whose blocking op is on `semnum` and decrements (ncnt) or
 * waits for zero (zcnt), as Linux's count_semcnt since 4.4. */
static int sem_count_waiters(const struct sem_set *s, int semnum, bool zero)
{
    int n = 0;
    for (const struct sem_waiter *w = s->pending; w; w = w->next) {
        const struct sembuf *op = &w->sops[w->blocking];
        if (op->sem_num == semnum && (zero ? op->sem_op == 0 : op->sem_op < 0))
            n++;
    }
    return n;
}

static long sem_info(struct task *t, int cmd, uint64_t arg)
{
    struct sysctl_values v;
    sysctl_read(&t->kernel->sysctl, &v);
    /* semctl_info: kernel.sem, and the compile-time SEMVMX, SEMMNU, SEMMAP (both the default
     * SEMMNS) and SEMUME (the default SEMOPM). */
    struct seminfo si = {
        .semmni = v.sem[3],
        .semmns = v.sem[1],
        .semmsl = v.sem[0],
        .semopm = v.sem[2],
        .semvmx = IPC_SEMVMX,
        .semmnu = 1024000000,
        .semmap = 1024000000,
        .semume = 500,
        .semusz = 20, /* SEMUSZ */
        .semaem = IPC_SEMVMX,
    };
    pthread_mutex_lock(&sem_ids.lock);
    if (cmd == SEM_INFO) {
        si.semusz = sem_ids.in_use;
        si.semaem = (int)sem_total;
    }
    int max_idx = sem_ids.max_idx;
    pthread_mutex_unlock(&sem_ids.lock);
    if (mm_copy_out(t->mm, arg, &si, sizeof(si)) != 0)
        return -EFAULT;
    return max_idx < 0 ? 0 : max_idx;
}

static long sem_stat(struct task *t, int id, int cmd, uint64_t arg)
{
    struct semid_ds ds;
    long ret = 0;

    memset(&ds, 0, sizeof(ds));
    pthread_mutex_lock(&sem_ids.lock);
    struct sem_set *s = set_of_object(cmd == IPC_STAT ? ipc_registry_find(&sem_ids, id)
                                                      : ipc_registry_at(&sem_ids, id));
    if (!s) {
        ret = -EINVAL;
    } else if (cmd != SEM_STAT_ANY && !ipc_perm_allows(t, &s->perm, 4)) {
        ret = -EACCES;
    } else {
        ipc_perm_fill(&s->perm, 0, &ds.sem_perm);
        ds.sem_otime = s->otime;
        ds.sem_ctime = s->ctime;
        ds.sem_nsems = (unsigned long)s->nsems;
        ret = cmd == IPC_STAT ? 0 : s->perm.id;
    }
    pthread_mutex_unlock(&sem_ids.lock);
    if (ret >= 0 && mm_copy_out(t->mm, arg, &ds, sizeof(ds)) != 0)
        return -EFAULT;
    return ret;
}

/* GETALL and SETALL: the whole array through the guest's unsigned short array. */
static long sem_all(struct task *t, int id, int cmd, uint64_t arg)
{
    unsigned short *vals = NULL;
    long ret = 0;

    pthread_mutex_lock(&sem_ids.lock);
    struct sem_set *s = set_of_object(ipc_registry_find(&sem_ids, id));
    if (!s) {
        ret = -EINVAL;
        goto out;
    }
    if (!ipc_perm_allows(t, &s->perm, cmd == SETALL ? 2 : 4)) {
        ret = -EACCES;
        goto out;
    }
    int nsems = s->nsems;
    if (!(vals = calloc((size_t)nsems, sizeof(*vals)))) {
        ret = -ENOMEM;
        goto out;
    }
    if (cmd == GETALL) {
        for (int i = 0; i < nsems; i++)
            vals[i] = (unsigned short)s->sems[i].semval;
        pthread_mutex_unlock(&sem_ids.lock);
        ret = mm_copy_out(t->mm, arg, vals, (size_t)nsems * sizeof(*vals)) ? -EFAULT : 0;
        free(vals);
        return ret;
    }
    /* SETALL reads the values with the lock dropped (a copy-in may fault), then finds the set
     * again: removed meanwhile is EIDRM, as Linux's semctl_main. */
    pthread_mutex_unlock(&sem_ids.lock);
    if (mm_copy_in(t->mm, arg, vals, (size_t)nsems * sizeof(*vals)) != 0) {
        free(vals);
        return -EFAULT;
    }
    for (int i = 0; i < nsems; i++) {
        if (vals[i] > IPC_SEMVMX) {
            free(vals);
            return -ERANGE;
        }
    }
    pthread_mutex_lock(&sem_ids.lock);
    s = set_of_object(ipc_registry_find(&sem_ids, id));
    if (!s || s->nsems != nsems) {
        ret = -EIDRM;
        goto out;
    }
    for (int i = 0; i < nsems; i++) {
        s->sems[i].semval = vals[i];
        s->sems[i].sempid = t->tg->tgid;
    }
    undo_clear(s, -1);
    s->ctime = time(NULL);
    sem_update_queue(s);
out:
    pthread_mutex_unlock(&sem_ids.lock);
    free(vals);
    return ret;
}

/* GETVAL, GETPID, GETNCNT, GETZCNT and SETVAL: one semaphore. */
static long sem_one(struct task *t, int id, int semnum, int cmd, uint64_t arg)
{
    int val = (int)arg; /* union semun's int, in the low half of the register */
    long ret;

    if (cmd == SETVAL && (val < 0 || val > IPC_SEMVMX))
        return -ERANGE;
    pthread_mutex_lock(&sem_ids.lock);
    struct sem_set *s = set_of_object(ipc_registry_find(&sem_ids, id));
    if (!s) {
        ret = -EINVAL;
        goto out;
    }
    /* SETVAL checks the index first, the getters the permission (semctl_setval, semctl_main). */
    bool in_range = semnum >= 0 && semnum < s->nsems;
    if (cmd == SETVAL && !in_range) {
        ret = -EINVAL;
        goto out;
    }
    if (!ipc_perm_allows(t, &s->perm, cmd == SETVAL ? 2 : 4)) {
        ret = -EACCES;
        goto out;
    }
    if (!in_range) {
        ret = -EINVAL;
        goto out;
    }
    switch (cmd) {
    case GETVAL:
        ret = s->sems[semnum].semval;
        break;
    case GETPID:
        ret = s->sems[semnum].sempid;
        break;
    case GETNCNT:
    case GETZCNT:
        ret = sem_count_waiters(s, semnum, cmd == GETZCNT);
        break;
    default: /* SETVAL */
        undo_clear(s, semnum);
        s->sems[semnum].semval = val;
        s->sems[semnum].sempid = t->tg->tgid;
        s->ctime = time(NULL);
        sem_update_queue(s);
        ret = 0;
    }
out:
    pthread_mutex_unlock(&sem_ids.lock);
    return ret;
}

/* IPC_SET and IPC_RMID (Linux's semctl_down). */
static long sem_down(struct task *t, int id, int cmd, const struct semid_ds *ds)
{
    long ret = 0;

    pthread_mutex_lock(&sem_ids.lock);
    struct sem_set *s = set_of_object(ipc_registry_find(&sem_ids, id));
    if (!s) {
        ret = -EINVAL;
    } else if (!ipc_perm_is_owner(t, &s->perm)) {
        ret = -EPERM;
    } else if (cmd == IPC_RMID) {
        set_destroy(s);
    } else {
        ipc_perm_update(&s->perm, &ds->sem_perm);
        s->ctime = time(NULL);
    }
    pthread_mutex_unlock(&sem_ids.lock);
    return ret;
}

long ipc_semctl(struct task *t, int id, int semnum, int cmd, uint64_t arg)
{
    struct semid_ds ds;

    cmd &= ~0x100; /* IPC_64: the only layout there is */
    if (id < 0)
        return -EINVAL;
    switch (cmd) {
    case IPC_INFO:
    case SEM_INFO:
        return sem_info(t, cmd, arg);
    case IPC_STAT:
    case SEM_STAT:
    case SEM_STAT_ANY:
        return sem_stat(t, id, cmd, arg);
    case GETALL:
    case SETALL:
        return sem_all(t, id, cmd, arg);
    case GETVAL:
    case GETPID:
    case GETNCNT:
    case GETZCNT:
    case SETVAL:
        return sem_one(t, id, semnum, cmd, arg);
    case IPC_SET:
        if (mm_copy_in(t->mm, arg, &ds, sizeof(ds)) != 0)
            return -EFAULT;
        return sem_down(t, id, cmd, &ds);
    case IPC_RMID:
        return sem_down(t, id, cmd, NULL);
    default:
        return -EINVAL;
    }
}
