/* Advisory file locks: POSIX record locks (owned by the process, dropped when it closes any fd
 * of the file or exits), open file description locks (F_OFD_*, owned by the open file) and
 * flock(2) locks (owned by the open file, a namespace of their own), as fcntl(2) and flock(2)
 * describe them. One table keyed by inode; waiters (F_SETLKW, blocking flock) sleep on one wait
 * queue woken by every unlock and re-check. */
#include "sentry/kernel/filelock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "sentry/kernel/waitqueue.h"
#include "sentry/mm/mm.h"

enum lock_kind { LOCK_POSIX, LOCK_OFD, LOCK_FLOCK };

struct file_lock {
    struct file_lock *next;
    enum lock_kind kind;
    const void *owner; /* thread group (POSIX) or open file (OFD, flock) */
    int pid;           /* for F_GETLK: the POSIX owner's tgid, -1 for OFD */
    short type;        /* F_RDLCK or F_WRLCK */
    uint64_t start, end; /* inclusive; end UINT64_MAX: to end of file */
};

struct inode_locks {
    struct inode_locks *next;
    const struct inode *inode;
    struct file_lock *locks;
};

#define LOCK_BUCKETS 256

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER; /* protects the table */
static struct inode_locks *table[LOCK_BUCKETS];
static struct waitqueue unlocked = {.lock = PTHREAD_MUTEX_INITIALIZER};

static size_t bucket_of(const struct inode *inode)
{
    return ((uintptr_t)inode >> 6) % LOCK_BUCKETS;
}

static struct inode_locks *find(const struct inode *inode, bool create)
{
    struct inode_locks **pp = &table[bucket_of(inode)];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->inode == inode)
            return *pp;
    if (!create)
        return NULL;
    struct inode_locks *il = calloc(1, sizeof(*il));
    if (il) {
        il->inode = inode;
        *pp = il;
    }
    return il;
}

static void drop_if_empty(struct inode_locks *il)
{
    if (il->locks)
        return;
    struct inode_locks **pp = &table[bucket_of(il->inode)];
    while (*pp != il)
        pp = &(*pp)->next;
    *pp = il->next;
    free(il);
}

static bool same_namespace(enum lock_kind a, enum lock_kind b)
{
    /* POSIX and OFD locks see each other; flock locks only each other. */
    return (a == LOCK_FLOCK) == (b == LOCK_FLOCK);
}

static const struct file_lock *conflict(const struct inode_locks *il, const struct file_lock *want)
{
    for (const struct file_lock *l = il ? il->locks : NULL; l; l = l->next) {
        if (!same_namespace(l->kind, want->kind) || l->owner == want->owner)
            continue;
        if (l->end < want->start || want->end < l->start)
            continue;
        if (l->type == F_WRLCK || want->type == F_WRLCK)
            return l;
    }
    return NULL;
}

/* Removes `owner`'s locks of `kind` in [start, end], splitting one as needed.
 * Returns -ENOMEM if a split could not be allocated (nothing changed then). */
static int carve(struct inode_locks *il, enum lock_kind kind, const void *owner, uint64_t start,
                 uint64_t end)
{
    /* Pre-allocate for the one split that can happen (a range strictly inside a lock). */
    struct file_lock *spare = malloc(sizeof(*spare));
    if (!spare)
        return -ENOMEM;
    struct file_lock **pp = &il->locks;
    while (*pp) {
        struct file_lock *l = *pp;
        if (l->kind != kind || l->owner != owner || l->end < start || end < l->start) {
            pp = &l->next;
            continue;
        }
        if (l->start < start && l->end > end && spare) {
            struct file_lock *tail = spare;
            spare = NULL;
            *tail = *l;
            tail->start = end + 1;
            l->end = start - 1;
            tail->next = l->next;
            l->next = tail;
            pp = &tail->next;
            continue;
        }
        if (l->start < start) {
            l->end = start - 1;
            pp = &l->next;
        } else if (l->end > end) {
            l->start = end + 1;
            pp = &l->next;
        } else {
            *pp = l->next;
            free(l);
        }
    }
    free(spare);
    return 0;
}

/* Sets (type F_RDLCK/F_WRLCK) or clears (F_UNLCK) a lock, blocking while it conflicts if `wait`. */
static long lock_set(struct task *t, const struct inode *inode, struct file_lock *want, bool wait)
{
    for (;;) {
        struct waiter w;
        pthread_mutex_lock(&table_lock);
        struct inode_locks *il = find(inode, want->type != F_UNLCK);
        if (want->type == F_UNLCK) {
            long ret = il ? carve(il, want->kind, want->owner, want->start, want->end) : 0;
            if (il)
                drop_if_empty(il);
            pthread_mutex_unlock(&table_lock);
            waitqueue_wake_all(&unlocked);
            return ret;
        }
        if (!il) {
            pthread_mutex_unlock(&table_lock);
            return -ENOMEM;
        }
        if (!conflict(il, want)) {
            struct file_lock *l = malloc(sizeof(*l));
            long ret = l ? carve(il, want->kind, want->owner, want->start, want->end) : -ENOMEM;
            if (ret == 0) {
                *l = *want;
                l->next = il->locks;
                il->locks = l;
            } else {
                free(l);
                drop_if_empty(il);
            }
            pthread_mutex_unlock(&table_lock);
            /* A lock that replaced a write lock by a read lock may let others in. */
            waitqueue_wake_all(&unlocked);
            return ret;
        }
        drop_if_empty(il);
        if (!wait) {
            pthread_mutex_unlock(&table_lock);
            return want->kind == LOCK_FLOCK ? -EWOULDBLOCK : -EAGAIN;
        }
        waitqueue_add(&unlocked, &w, t);
        pthread_mutex_unlock(&table_lock);
        int err = task_block(t, NULL);
        waitqueue_remove(&unlocked, &w);
        if (err == -EINTR)
            return -ERESTARTSYS; /* restarted with SA_RESTART (signal(7)) */
    }
}

/* struct flock as the x86_64 and arm64 ABIs lay it out. */
struct guest_flock {
    int16_t l_type;
    int16_t l_whence;
    int32_t pad;
    int64_t l_start;
    int64_t l_len;
    int32_t l_pid;
    int32_t pad2;
};

/* Turns the guest's (whence, start, len) into an inclusive byte range. */
static long flock_range(struct file *f, const struct guest_flock *fl, uint64_t *start,
                        uint64_t *end)
{
    int64_t base;
    switch (fl->l_whence) {
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        pthread_mutex_lock(&f->pos_lock);
        base = f->pos;
        pthread_mutex_unlock(&f->pos_lock);
        break;
    case SEEK_END: {
        struct stat st;
        long err = file_stat(f, &st);
        if (err)
            return err;
        base = st.st_size;
        break;
    }
    default:
        return -EINVAL;
    }
    int64_t s, e;
    if (__builtin_add_overflow(base, fl->l_start, &s))
        return -EOVERFLOW;
    if (fl->l_len > 0) {
        if (__builtin_add_overflow(s, fl->l_len - 1, &e))
            return -EOVERFLOW;
    } else if (fl->l_len < 0) {
        /* A negative length covers [start + len, start - 1]. */
        e = s - 1;
        if (__builtin_add_overflow(s, fl->l_len, &s))
            return -EINVAL;
    } else {
        e = INT64_MAX;
    }
    if (s < 0)
        return -EINVAL;
    *start = (uint64_t)s;
    *end = e == INT64_MAX ? UINT64_MAX : (uint64_t)e;
    return 0;
}

long filelock_fcntl(struct task *t, struct file *f, int cmd, uint64_t arg)
{
    if (!f->inode)
        return -EINVAL;
    struct guest_flock fl;
    if (mm_copy_in(t->mm, arg, &fl, sizeof(fl)))
        return -EFAULT;
    bool ofd = cmd == F_OFD_GETLK || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
    if (ofd && fl.l_pid != 0)
        return -EINVAL;
    struct file_lock want = {
        .kind = ofd ? LOCK_OFD : LOCK_POSIX,
        .owner = ofd ? (const void *)f : (const void *)t->tg,
        .pid = ofd ? -1 : t->tg->tgid,
        .type = fl.l_type,
    };
    if (fl.l_type != F_RDLCK && fl.l_type != F_WRLCK && fl.l_type != F_UNLCK)
        return -EINVAL;
    long err = flock_range(f, &fl, &want.start, &want.end);
    if (err)
        return err;
    if (cmd == F_GETLK || cmd == F_OFD_GETLK) {
        if (fl.l_type == F_UNLCK)
            return -EINVAL;
        pthread_mutex_lock(&table_lock);
        const struct file_lock *c = conflict(find(f->inode, false), &want);
        if (c) {
            fl.l_type = c->type;
            fl.l_whence = SEEK_SET;
            fl.l_start = (int64_t)c->start;
            fl.l_len = c->end == UINT64_MAX ? 0 : (int64_t)(c->end - c->start + 1);
            fl.l_pid = c->pid;
        } else {
            fl.l_type = F_UNLCK;
        }
        pthread_mutex_unlock(&table_lock);
        return mm_copy_out(t->mm, arg, &fl, sizeof(fl));
    }
    int acc = atomic_load_explicit(&f->status_flags, memory_order_relaxed) & O_ACCMODE;
    if ((fl.l_type == F_RDLCK && acc == O_WRONLY) || (fl.l_type == F_WRLCK && acc == O_RDONLY))
        return -EBADF;
    return lock_set(t, f->inode, &want, cmd == F_SETLKW || cmd == F_OFD_SETLKW);
}

long filelock_flock(struct task *t, struct file *f, int op)
{
    if (!f->inode)
        return -EINVAL;
    struct file_lock want = {.kind = LOCK_FLOCK, .owner = f, .pid = -1, .end = UINT64_MAX};
    switch (op & ~LOCK_NB) {
    case LOCK_SH:
        want.type = F_RDLCK;
        break;
    case LOCK_EX:
        want.type = F_WRLCK;
        break;
    case LOCK_UN:
        want.type = F_UNLCK;
        break;
    default:
        return -EINVAL;
    }
    return lock_set(t, f->inode, &want, !(op & LOCK_NB));
}

/* Drops every lock of `kind` owned by `owner` on `inode`. */
static void release_owner(const struct inode *inode, enum lock_kind kind, const void *owner)
{
    pthread_mutex_lock(&table_lock);
    struct inode_locks *il = find(inode, false);
    bool any = false;
    if (il) {
        struct file_lock **pp = &il->locks;
        while (*pp) {
            struct file_lock *l = *pp;
            if (l->kind == kind && l->owner == owner) {
                *pp = l->next;
                free(l);
                any = true;
            } else {
                pp = &l->next;
            }
        }
        drop_if_empty(il);
    }
    pthread_mutex_unlock(&table_lock);
    if (any)
        waitqueue_wake_all(&unlocked);
}

void filelock_close(struct thread_group *tg, struct file *f)
{
    if (f->inode)
        release_owner(f->inode, LOCK_POSIX, tg);
}

void filelock_file_released(struct file *f)
{
    if (!f->inode)
        return;
    release_owner(f->inode, LOCK_OFD, f);
    release_owner(f->inode, LOCK_FLOCK, f);
}

void filelock_release_process(struct thread_group *tg)
{
    bool any = false;
    pthread_mutex_lock(&table_lock);
    for (size_t b = 0; b < LOCK_BUCKETS; b++) {
        struct inode_locks **ipp = &table[b];
        while (*ipp) {
            struct inode_locks *il = *ipp;
            struct file_lock **pp = &il->locks;
            while (*pp) {
                struct file_lock *l = *pp;
                if (l->kind == LOCK_POSIX && l->owner == tg) {
                    *pp = l->next;
                    free(l);
                    any = true;
                } else {
                    pp = &l->next;
                }
            }
            if (!il->locks) {
                *ipp = il->next;
                free(il);
            } else {
                ipp = &il->next;
            }
        }
    }
    pthread_mutex_unlock(&table_lock);
    if (any)
        waitqueue_wake_all(&unlocked);
}
