/* System V message queues: msgget(2), msgsnd(2), msgrcv(2), msgctl(2). A sender finding a
 * receiver already waiting for its type hands the message over directly (Linux's
 * pipelined_send); senders without room wait on the queue's `senders` wait queue and re-check.
 *
 * msg_ids.lock protects every queue, its messages and its receivers' status; a queue's waitqueue
 * lock nests inside it. */
#include "sentry/ipc/ipc.h"

#include <errno.h>
#include <linux/capability.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <time.h>

#include "sentry/ipc/registry.h"
#include "sentry/kernel/kernel.h"
#include "sentry/mm/mm.h"

#define MSG_WAITING 1 /* a receiver's status until it gets a message or an error */

/* msgrcv's msgtyp as Linux's convert_mode reads it. */
enum msg_search { SEARCH_ANY, SEARCH_EQUAL, SEARCH_NOTEQUAL, SEARCH_LESSEQUAL, SEARCH_NUMBER };

struct msg_message {
    struct msg_message *next;
    long type;
    size_t size;
    char text[];
};

/* A blocked msgrcv, on its task's stack. */
struct msg_receiver {
    struct msg_receiver *prev, *next; /* in queue.receivers, oldest first */
    struct task *task;
    long type;
    enum msg_search mode;
    size_t maxsize;          /* larger messages are E2BIG for it */
    struct msg_message *msg; /* handed over, with status 0 */
    int status;              /* MSG_WAITING; 0; -E2BIG; -EIDRM; -EAGAIN: look again (IPC_SET) */
};

struct msg_queue {
    struct ipc_object perm;
    time_t stime, rtime, ctime;
    pid_t lspid, lrpid;
    unsigned long cbytes, qnum, qbytes;
    struct msg_message *head, *tail;
    struct msg_receiver *receivers, *receivers_tail;
    struct waitqueue senders; /* senders waiting for room */
    int holds;                /* waiters using it with the lock dropped */
    bool removed;             /* IPC_RMID: out of the table, freed at the last hold */
};

static struct ipc_registry msg_ids = IPC_REGISTRY_INIT(0);
/* Messages and bytes queued in all queues (MSG_INFO); msg_ids.lock. */
static unsigned long msg_total_count, msg_total_bytes;

static struct msg_queue *queue_of_object(struct ipc_object *o)
{
    return o ? (struct msg_queue *)((char *)o - offsetof(struct msg_queue, perm)) : NULL;
}

static struct msg_queue *queue_find(int id)
{
    return queue_of_object(ipc_registry_find(&msg_ids, id));
}

static void queue_free_if_unused(struct msg_queue *q)
{
    if (!q->removed || q->holds)
        return;
    waitqueue_destroy(&q->senders);
    free(q);
}

static void receiver_unlink(struct msg_queue *q, struct msg_receiver *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        q->receivers = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        q->receivers_tail = r->prev;
}

static void receiver_complete(struct msg_queue *q, struct msg_receiver *r, int status)
{
    receiver_unlink(q, r);
    r->status = status;
    task_wake(r->task);
}

static bool msg_matches(const struct msg_message *m, long type, enum msg_search mode)
{
    switch (mode) {
    case SEARCH_EQUAL:
        return m->type == type;
    case SEARCH_NOTEQUAL:
        return m->type != type;
    case SEARCH_LESSEQUAL:
        return m->type <= type;
    default:
        return true;
    }
}

/* The message msgrcv takes (Linux's find_msg): the first match, the lowest type for
 * SEARCH_LESSEQUAL, the type-th message for MSG_COPY's SEARCH_NUMBER; *prev gets its
 * predecessor. NULL if none. */
static struct msg_message *msg_find(struct msg_queue *q, long type, enum msg_search mode,
                                    struct msg_message **prev)
{
    struct msg_message *found = NULL, *before = NULL;
    long count = 0;

    for (struct msg_message *m = q->head, *p = NULL; m; p = m, m = m->next) {
        if (!msg_matches(m, type, mode))
            continue;
        if (mode == SEARCH_LESSEQUAL) {
            if (!found || m->type < found->type) {
                found = m;
                before = p;
            }
            if (m->type == 1)
                break;
        } else if (mode != SEARCH_NUMBER || count++ == type) {
            found = m;
            before = p;
            break;
        }
    }
    *prev = before;
    return found;
}

/* IPC_RMID: receivers fail with EIDRM, senders wake to find it gone, the messages go. */
static void queue_destroy(struct msg_queue *q)
{
    ipc_registry_remove(&msg_ids, &q->perm);
    q->removed = true;
    while (q->receivers)
        receiver_complete(q, q->receivers, -EIDRM);
    waitqueue_wake_all(&q->senders);
    for (struct msg_message *m = q->head, *next; m; m = next) {
        next = m->next;
        msg_total_count--;
        msg_total_bytes -= m->size;
        free(m);
    }
    q->head = q->tail = NULL;
    queue_free_if_unused(q);
}

static long queue_create(struct ipc_registry *r, struct task *t, int32_t key, int flags, void *arg)
{
    (void)arg;
    struct sysctl_values v;
    sysctl_read(&t->kernel->sysctl, &v);
    struct msg_queue *q = calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    r->mni = v.msgmni;
    long id = ipc_registry_add(r, &q->perm, t, key, flags);
    if (id < 0) {
        free(q);
        return id;
    }
    /* newque: a new queue holds kernel.msgmnb bytes. */
    q->qbytes = (unsigned long)v.msgmnb;
    q->ctime = time(NULL);
    waitqueue_init(&q->senders);
    return id;
}

static const struct ipc_get_ops msg_get_ops = {.create = queue_create};

long ipc_msgget(struct task *t, int32_t key, int flags)
{
    return ipc_registry_get(&msg_ids, t, key, flags, &msg_get_ops, NULL);
}

/* Hands `m` to the oldest receiver waiting for its type (msg_ids.lock held): true if taken.
 * Receivers it is too large for fail with E2BIG on the way, as Linux's pipelined_send. */
static bool msg_hand_over(struct msg_queue *q, struct msg_message *m)
{
    for (struct msg_receiver *r = q->receivers, *next; r; r = next) {
        next = r->next;
        if (!msg_matches(m, r->type, r->mode))
            continue;
        if (r->maxsize < m->size) {
            receiver_complete(q, r, -E2BIG);
            continue;
        }
        q->lrpid = r->task->tg->tgid;
        q->rtime = time(NULL);
        r->msg = m;
        receiver_complete(q, r, 0);
        return true;
    }
    return false;
}

/* Waits on `wq` of `q` with the lock dropped; returns with it held: 0, -EIDRM (removed
 * meanwhile: q may be gone) or -EINTR. */
static int queue_wait_senders(struct task *t, struct msg_queue *q)
{
    struct waiter w;

    q->holds++;
    waitqueue_add(&q->senders, &w, t);
    pthread_mutex_unlock(&msg_ids.lock);
    int err = task_block(t, NULL);
    pthread_mutex_lock(&msg_ids.lock);
    waitqueue_remove(&q->senders, &w);
    q->holds--;
    if (q->removed) {
        queue_free_if_unused(q);
        return -EIDRM;
    }
    return err == -EINTR ? -EINTR : 0;
}

long ipc_msgsnd(struct task *t, int id, uint64_t msgp, uint64_t msgsz, int flags)
{
    long type;
    long ret;

    /* Linux's order: the type's copy-in, then the sizes, then the text (ksys_msgsnd). */
    if (mm_copy_in(t->mm, msgp, &type, sizeof(type)) != 0)
        return -EFAULT;
    struct sysctl_values v;
    sysctl_read(&t->kernel->sysctl, &v);
    if (msgsz > (uint64_t)v.msgmax || id < 0 || type < 1)
        return -EINVAL;
    struct msg_message *m = malloc(sizeof(*m) + msgsz);
    if (!m)
        return -ENOMEM;
    m->next = NULL;
    m->type = type;
    m->size = msgsz;
    if (mm_copy_in(t->mm, msgp + sizeof(long), m->text, msgsz) != 0) {
        free(m);
        return -EFAULT;
    }

    pthread_mutex_lock(&msg_ids.lock);
    struct msg_queue *q = queue_find(id);
    if (!q) {
        ret = -EINVAL;
        goto out_free;
    }
    for (;;) {
        if (!ipc_perm_allows(t, &q->perm, 2)) {
            ret = -EACCES;
            goto out_free;
        }
        if (msgsz + q->cbytes <= q->qbytes && 1 + q->qnum <= q->qbytes)
            break;
        if (flags & IPC_NOWAIT) {
            ret = -EAGAIN;
            goto out_free;
        }
        int err = queue_wait_senders(t, q);
        if (err) {
            /* Interrupted senders restart when no handler ran (Linux's ERESTARTNOHAND). */
            ret = err == -EINTR ? -ERESTARTNOHAND : err;
            goto out_free;
        }
    }
    q->lspid = t->tg->tgid;
    q->stime = time(NULL);
    if (!msg_hand_over(q, m)) {
        if (q->tail)
            q->tail->next = m;
        else
            q->head = m;
        q->tail = m;
        q->cbytes += msgsz;
        q->qnum++;
        msg_total_count++;
        msg_total_bytes += msgsz;
    }
    pthread_mutex_unlock(&msg_ids.lock);
    return 0;

out_free:
    pthread_mutex_unlock(&msg_ids.lock);
    free(m);
    return ret;
}

/* Takes message `m` (after `prev`) off the queue for the calling task. */
static void msg_dequeue(struct task *t, struct msg_queue *q, struct msg_message *m,
                        struct msg_message *prev)
{
    if (prev)
        prev->next = m->next;
    else
        q->head = m->next;
    if (q->tail == m)
        q->tail = prev;
    q->qnum--;
    q->cbytes -= m->size;
    q->rtime = time(NULL);
    q->lrpid = t->tg->tgid;
    msg_total_count--;
    msg_total_bytes -= m->size;
    waitqueue_wake_all(&q->senders);
}

/* Finds, takes or copies the message msgrcv asks for, waiting as needed (msg_ids.lock held on
 * entry, dropped on return): *out gets a message the caller owns, or an error comes back. */
static long msg_receive(struct task *t, int id, size_t bufsz, long type, enum msg_search mode,
                        int flags, struct msg_message **out)
{
    struct msg_queue *q = queue_find(id);
    long ret;

    if (!q) {
        ret = -EINVAL;
        goto out;
    }
    for (;;) {
        if (!ipc_perm_allows(t, &q->perm, 4)) {
            ret = -EACCES;
            goto out;
        }
        struct msg_message *prev, *m = msg_find(q, type, mode, &prev);
        if (m) {
            if (bufsz < m->size && !(flags & MSG_NOERROR)) {
                ret = -E2BIG;
                goto out;
            }
            if (flags & MSG_COPY) {
                /* Linux's copy_msg: the copy's room is the buffer's (at most msgmax). */
                struct sysctl_values v;
                sysctl_read(&t->kernel->sysctl, &v);
                size_t room = bufsz < (size_t)v.msgmax ? bufsz : (size_t)v.msgmax;
                if (m->size > room) {
                    ret = -EINVAL;
                    goto out;
                }
                if (!(*out = malloc(sizeof(*m) + m->size))) {
                    ret = -ENOMEM;
                    goto out;
                }
                memcpy(*out, m, sizeof(*m) + m->size);
            } else {
                msg_dequeue(t, q, m, prev);
                *out = m;
            }
            ret = 0;
            goto out;
        }
        if (flags & IPC_NOWAIT) {
            ret = -ENOMSG;
            goto out;
        }
        struct msg_receiver r = {
            .prev = q->receivers_tail,
            .task = t,
            .type = type,
            .mode = mode,
            .maxsize = (flags & MSG_NOERROR) ? (size_t)INT_MAX : bufsz,
            .status = MSG_WAITING,
        };
        if (q->receivers_tail)
            q->receivers_tail->next = &r;
        else
            q->receivers = &r;
        q->receivers_tail = &r;
        q->holds++;
        int err = 0;
        while (r.status == MSG_WAITING && !err) {
            pthread_mutex_unlock(&msg_ids.lock);
            err = task_block(t, NULL);
            pthread_mutex_lock(&msg_ids.lock);
        }
        q->holds--;
        if (r.status == MSG_WAITING) {
            /* Still queued, so not removed: a signal, restarted only when no handler runs. */
            receiver_unlink(q, &r);
            ret = -ERESTARTNOHAND;
            goto out;
        }
        bool gone = q->removed;
        if (gone)
            queue_free_if_unused(q);
        if (r.status == 0) {
            *out = r.msg;
            ret = 0;
            goto out;
        }
        if (gone) {
            ret = -EIDRM;
            goto out;
        }
        if (r.status != -EAGAIN) {
            ret = r.status;
            goto out;
        }
    }
out:
    pthread_mutex_unlock(&msg_ids.lock);
    return ret;
}

long ipc_msgrcv(struct task *t, int id, uint64_t msgp, uint64_t msgsz, long msgtyp, int flags)
{
    enum msg_search mode;

    if (id < 0 || (long)msgsz < 0)
        return -EINVAL;
    if ((flags & MSG_COPY) && ((flags & MSG_EXCEPT) || !(flags & IPC_NOWAIT)))
        return -EINVAL;
    /* Linux's convert_mode. */
    if (flags & MSG_COPY) {
        mode = SEARCH_NUMBER;
    } else if (msgtyp == 0) {
        mode = SEARCH_ANY;
    } else if (msgtyp < 0) {
        mode = SEARCH_LESSEQUAL;
        msgtyp = msgtyp == LONG_MIN ? LONG_MAX : -msgtyp;
    } else {
        mode = (flags & MSG_EXCEPT) ? SEARCH_NOTEQUAL : SEARCH_EQUAL;
    }

    struct msg_message *m = NULL;
    pthread_mutex_lock(&msg_ids.lock);
    long ret = msg_receive(t, id, msgsz, msgtyp, mode, flags, &m);
    if (ret)
        return ret;
    /* The message is already off the queue: a bad buffer loses it, as on Linux (do_msg_fill). */
    size_t n = msgsz < m->size ? msgsz : m->size;
    if (mm_copy_out(t->mm, msgp, &m->type, sizeof(m->type)) != 0 ||
        mm_copy_out(t->mm, msgp + sizeof(long), m->text, n) != 0)
        ret = -EFAULT;
    else
        ret = (long)n;
    free(m);
    return ret;
}

static long msg_info(struct task *t, int cmd, uint64_t buf)
{
    struct sysctl_values v;
    sysctl_read(&t->kernel->sysctl, &v);
    /* msgctl_info: the sysctls, and the compile-time MSGPOOL, MSGMAP and MSGTQL (the default
     * MSGMNI * MSGMNB / 1024 KiB, MSGMNB and MSGMNB). */
    struct msginfo mi = {
        .msgmni = v.msgmni,
        .msgmax = v.msgmax,
        .msgmnb = v.msgmnb,
        .msgssz = 16,     /* MSGSSZ */
        .msgseg = 0xffff, /* MSGSEG */
        .msgpool = 32000 * (16384 / 1024),
        .msgmap = 16384,
        .msgtql = 16384,
    };
    pthread_mutex_lock(&msg_ids.lock);
    if (cmd == MSG_INFO) {
        mi.msgpool = msg_ids.in_use;
        mi.msgmap = msg_total_count > INT_MAX ? INT_MAX : (int)msg_total_count;
        mi.msgtql = msg_total_bytes > INT_MAX ? INT_MAX : (int)msg_total_bytes;
    }
    int max_idx = msg_ids.max_idx;
    pthread_mutex_unlock(&msg_ids.lock);
    if (mm_copy_out(t->mm, buf, &mi, sizeof(mi)) != 0)
        return -EFAULT;
    return max_idx < 0 ? 0 : max_idx;
}

static long msg_stat(struct task *t, int id, int cmd, uint64_t buf)
{
    struct msqid_ds ds;
    long ret;

    memset(&ds, 0, sizeof(ds));
    pthread_mutex_lock(&msg_ids.lock);
    struct msg_queue *q =
        cmd == IPC_STAT ? queue_find(id) : queue_of_object(ipc_registry_at(&msg_ids, id));
    if (!q) {
        ret = -EINVAL;
    } else if (cmd != MSG_STAT_ANY && !ipc_perm_allows(t, &q->perm, 4)) {
        ret = -EACCES;
    } else {
        ipc_perm_fill(&q->perm, 0, &ds.msg_perm);
        ds.msg_stime = q->stime;
        ds.msg_rtime = q->rtime;
        ds.msg_ctime = q->ctime;
        ds.__msg_cbytes = q->cbytes;
        ds.msg_qnum = q->qnum;
        ds.msg_qbytes = q->qbytes;
        ds.msg_lspid = q->lspid;
        ds.msg_lrpid = q->lrpid;
        ret = cmd == IPC_STAT ? 0 : q->perm.id;
    }
    pthread_mutex_unlock(&msg_ids.lock);
    if (ret >= 0 && mm_copy_out(t->mm, buf, &ds, sizeof(ds)) != 0)
        return -EFAULT;
    return ret;
}

/* IPC_SET and IPC_RMID (Linux's msgctl_down). */
static long msg_down(struct task *t, int id, int cmd, const struct msqid_ds *ds)
{
    long ret = 0;
    struct sysctl_values v;

    sysctl_read(&t->kernel->sysctl, &v);
    int msgmnb = v.msgmnb;
    pthread_mutex_lock(&msg_ids.lock);
    struct msg_queue *q = queue_find(id);
    if (!q) {
        ret = -EINVAL;
    } else if (!ipc_perm_is_owner(t, &q->perm)) {
        ret = -EPERM;
    } else if (cmd == IPC_RMID) {
        queue_destroy(q);
    } else if (ds->msg_qbytes > (unsigned long)msgmnb && !task_capable(t, CAP_SYS_RESOURCE)) {
        ret = -EPERM; /* raising it past kernel.msgmnb needs CAP_SYS_RESOURCE */
    } else {
        ipc_perm_update(&q->perm, &ds->msg_perm);
        q->qbytes = ds->msg_qbytes;
        q->ctime = time(NULL);
        /* Waiters look again: the permissions or the room may have changed. */
        while (q->receivers)
            receiver_complete(q, q->receivers, -EAGAIN);
        waitqueue_wake_all(&q->senders);
    }
    pthread_mutex_unlock(&msg_ids.lock);
    return ret;
}

long ipc_msgctl(struct task *t, int id, int cmd, uint64_t buf)
{
    struct msqid_ds ds;

    cmd &= ~0x100; /* IPC_64: the only layout there is */
    if (id < 0 || cmd < 0)
        return -EINVAL;
    switch (cmd) {
    case IPC_INFO:
    case MSG_INFO:
        return msg_info(t, cmd, buf);
    case IPC_STAT:
    case MSG_STAT:
    case MSG_STAT_ANY:
        return msg_stat(t, id, cmd, buf);
    case IPC_SET:
        if (mm_copy_in(t->mm, buf, &ds, sizeof(ds)) != 0)
            return -EFAULT;
        return msg_down(t, id, cmd, &ds);
    case IPC_RMID:
        return msg_down(t, id, cmd, NULL);
    default:
        return -EINVAL;
    }
}
