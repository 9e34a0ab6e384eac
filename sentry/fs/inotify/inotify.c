/* inotify instances and watches (see inotify.h): the event queue read(2) drains as struct
 * inotify_event records, and the VFS's notification hook that fills it. */
#include "sentry/fs/inotify/inotify.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "sentry/kernel/kernel.h"
#include "sentry/mm/mm.h"

/* A queued event; the name (for a directory's child) is NUL-terminated. */
struct inotify_rec {
    struct inotify_rec *next;
    int32_t wd;
    uint32_t mask;
    uint32_t cookie;
    uint32_t name_len; /* strlen(name); 0 for none */
    char name[];
};

/* A watch is an inotify instance's, or (owner NULL) a dnotify mark: fcntl(F_NOTIFY) on an open
 * directory, which signals the file's owner instead of queueing an event. */
struct inotify_watch {
    struct inotify_instance *owner; /* NULL for a dnotify mark */
    struct file *dn_file;           /* a dnotify mark's directory file: no reference, the mark
                                       goes first (dnotify_flush at close and release) */
    int dn_fd;                      /* the fd its signal names (si_fd) */
    struct inode *inode;            /* a reference: a watched inode stays while watched */
    int wd;
    uint32_t mask;                    /* IN_ALL_EVENTS bits wanted */
    uint32_t flags;                   /* IN_ONESHOT, IN_EXCL_UNLINK */
    struct inotify_watch *inode_next; /* in inode->notify_watches */
    struct inotify_watch *owner_next; /* in owner->watches */
};

struct inotify_instance {
    struct file base;
    /* Under watches_lock: */
    struct inotify_watch *watches;
    int last_wd; /* wds are handed out cyclically from 1, never reused soon (idr_alloc_cyclic) */
    /* Under lock: */
    pthread_mutex_t lock;
    struct inotify_rec *head, *tail;
    unsigned count;  /* events queued, the overflow record included */
    size_t bytes;    /* what read(2) would return for all of them (FIONREAD) */
    bool overflowed; /* `overflow` is queued */
    struct waitqueue readable;
    struct inotify_rec overflow; /* IN_Q_OVERFLOW, wd -1: preallocated so it can't fail */
};

/* Protects every watch (its fields and both lists it is on), each inode's notify_watches and
 * notify_mask, each instance's watches and last_wd, and watch_count. */
static pthread_mutex_t watches_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned watch_count;

static const struct file_ops inotify_ops;

static struct inotify_instance *instance_of(struct file *f)
{
    return (struct inotify_instance *)f;
}

/* The bytes read(2) gives a record: the header and the name padded with NULs to a multiple of
 * the header's size, room for its NUL included (round_event_name_len). */
static size_t rec_size(const struct inotify_rec *r)
{
    size_t hdr = sizeof(struct inotify_event);
    return hdr + (r->name_len ? (r->name_len + 1 + hdr - 1) / hdr * hdr : 0);
}

static bool rec_same(const struct inotify_rec *a, int32_t wd, uint32_t mask, const char *name)
{
    if (a->mask & IN_IGNORED)
        return false;
    if (a->wd != wd || a->mask != mask)
        return false;
    if (!name)
        return a->name_len == 0;
    return a->name_len && strcmp(a->name, name) == 0;
}

static void append_locked(struct inotify_instance *in, struct inotify_rec *r)
{
    r->next = NULL;
    if (in->tail)
        in->tail->next = r;
    else
        in->head = r;
    in->tail = r;
    in->count++;
    in->bytes += rec_size(r);
}

/* fsnotify_add_event: past the limit, one overflow record; a repeat of the last event merges
 * with it. Never blocks (called from the VFS under dir_locks). */
static void queue_event(struct inotify_instance *in, int32_t wd, uint32_t mask, const char *name,
                        uint32_t cookie)
{
    size_t len = name ? strlen(name) : 0;
    pthread_mutex_lock(&in->lock);
    if (in->count >= INOTIFY_MAX_QUEUED_EVENTS)
        goto overflow;
    if (in->tail && rec_same(in->tail, wd, mask, len ? name : NULL)) {
        pthread_mutex_unlock(&in->lock);
        return;
    }
    struct inotify_rec *r = malloc(sizeof(*r) + len + 1);
    if (!r)
        goto overflow; /* a lost event is reported as one, as Linux does on ENOMEM */
    r->wd = wd;
    r->mask = mask;
    r->cookie = cookie;
    r->name_len = (uint32_t)len;
    memcpy(r->name, name ? name : "", len + 1);
    append_locked(in, r);
    pthread_mutex_unlock(&in->lock);
    waitqueue_wake_all(&in->readable);
    return;
overflow:
    if (!in->overflowed) {
        in->overflowed = true;
        append_locked(in, &in->overflow);
    }
    pthread_mutex_unlock(&in->lock);
    waitqueue_wake_all(&in->readable);
}

static void rec_free(struct inotify_instance *in, struct inotify_rec *r)
{
    if (r == &in->overflow)
        in->overflowed = false;
    else
        free(r);
}

/* The union of the masks on an inode, IN_IGNORED standing for "watched at all". watches_lock
 * held. */
static void update_inode_mask(struct inode *inode)
{
    uint32_t mask = 0;
    for (struct inotify_watch *w = inode->notify_watches; w; w = w->inode_next)
        mask |= w->mask | IN_IGNORED;
    vfs_notify_set_mask(inode, mask);
}

/* Takes w off its inode and its instance, with IN_IGNORED for the instance to read; the caller
 * frees it (watch_free) once watches_lock is dropped. */
static void watch_detach(struct inotify_watch *w)
{
    struct inotify_watch **pp = (struct inotify_watch **)&w->inode->notify_watches;
    for (; *pp; pp = &(*pp)->inode_next) {
        if (*pp == w) {
            *pp = w->inode_next;
            break;
        }
    }
    update_inode_mask(w->inode);
    if (!w->owner)
        return; /* a dnotify mark: on no instance's list, hears nothing of its end */
    for (pp = &w->owner->watches; *pp; pp = &(*pp)->owner_next) {
        if (*pp == w) {
            *pp = w->owner_next;
            break;
        }
    }
    watch_count--;
    queue_event(w->owner, w->wd, IN_IGNORED, NULL, 0);
}

/* Outside watches_lock: the inode reference may be the last (then it is evicted). */
static void watch_free_list(struct inotify_watch *list)
{
    while (list) {
        struct inotify_watch *next = list->owner_next;
        inode_put(list->inode);
        free(list);
        list = next;
    }
}

/* Signals dnotify marks owe, gathered under watches_lock and sent once it is dropped. */
struct dnotify_sends {
    struct {
        struct file *file; /* a reference */
        int fd;
    } * v;
    size_t n, cap;
};

static void dnotify_collect(struct dnotify_sends *s, struct inotify_watch *w)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        void *v = realloc(s->v, cap * sizeof(*s->v));
        if (!v)
            return; /* as a lost event: nothing to queue an overflow on */
        s->v = v;
        s->cap = cap;
    }
    file_get(w->dn_file);
    s->v[s->n].file = w->dn_file;
    s->v[s->n].fd = w->dn_fd;
    s->n++;
}

static void dnotify_send(struct dnotify_sends *s)
{
    struct task *t = task_current();
    for (size_t i = 0; i < s->n; i++) {
        if (t)
            fown_send_sigio(t->kernel, s->v[i].file, s->v[i].fd, POLL_MSG);
        file_put(s->v[i].file);
    }
    free(s->v);
}

/* The VFS's hook (vfs_notify): the event for every watch on `inode` that wants it. */
static void inotify_deliver(struct inode *inode, uint32_t mask, const char *name, uint32_t cookie)
{
    bool unlinked = mask & VFS_NOTIFY_UNLINKED;
    mask &= ~VFS_NOTIFY_UNLINKED;
    /* inotify never reported IN_ISDIR with the *_SELF events (inotify_handle_inode_event). */
    if (mask & (IN_MOVE_SELF | IN_DELETE_SELF))
        mask &= ~IN_ISDIR;
    struct inotify_watch *dropped = NULL;
    struct dnotify_sends sends = {0};
    pthread_mutex_lock(&watches_lock);
    struct inotify_watch *next;
    for (struct inotify_watch *w = inode->notify_watches; w; w = next) {
        next = w->inode_next;
        if (unlinked && (w->flags & IN_EXCL_UNLINK))
            continue;
        if (!(mask & w->mask & IN_ALL_EVENTS))
            continue;
        if (!w->owner) {
            dnotify_collect(&sends, w);
        } else {
            queue_event(w->owner, w->wd, mask, name, cookie);
        }
        if (w->flags & IN_ONESHOT) {
            watch_detach(w);
            w->owner_next = dropped;
            dropped = w;
        }
    }
    /* The inode is gone: every watch on it ends (fsnotify_inoderemove). */
    if (mask & IN_DELETE_SELF) {
        while (inode->notify_watches) {
            struct inotify_watch *w = inode->notify_watches;
            watch_detach(w);
            w->owner_next = dropped;
            dropped = w;
        }
    }
    pthread_mutex_unlock(&watches_lock);
    watch_free_list(dropped);
    dnotify_send(&sends);
}

int inotify_watch_add(struct file *f, struct inode *inode, uint32_t mask)
{
    struct inotify_instance *in = instance_of(f);
    uint32_t events = mask & IN_ALL_EVENTS;
    uint32_t flags = mask & (IN_ONESHOT | IN_EXCL_UNLINK);
    struct inotify_watch *fresh = calloc(1, sizeof(*fresh));
    if (!fresh)
        return -ENOMEM;
    int ret;
    pthread_mutex_lock(&watches_lock);
    struct inotify_watch *w = inode->notify_watches;
    while (w && w->owner != in)
        w = w->inode_next;
    if (w) {
        /* inotify_update_existing_watch: the same wd, its mask replaced or (IN_MASK_ADD)
         * extended. */
        if (mask & IN_MASK_CREATE) {
            ret = -EEXIST;
        } else {
            if (mask & IN_MASK_ADD) {
                w->mask |= events;
                w->flags |= flags;
            } else {
                w->mask = events;
                w->flags = flags;
            }
            update_inode_mask(inode);
            ret = w->wd;
        }
    } else if (watch_count >= INOTIFY_MAX_WATCHES) {
        ret = -ENOSPC;
    } else {
        w = fresh;
        fresh = NULL;
        in->last_wd = in->last_wd == INT_MAX ? 1 : in->last_wd + 1;
        w->wd = in->last_wd;
        w->owner = in;
        w->mask = events;
        w->flags = flags;
        inode_get(inode);
        w->inode = inode;
        w->inode_next = inode->notify_watches;
        inode->notify_watches = w;
        w->owner_next = in->watches;
        in->watches = w;
        watch_count++;
        update_inode_mask(inode);
        ret = w->wd;
    }
    pthread_mutex_unlock(&watches_lock);
    free(fresh);
    return ret;
}

int inotify_watch_remove(struct file *f, int wd)
{
    struct inotify_instance *in = instance_of(f);
    pthread_mutex_lock(&watches_lock);
    struct inotify_watch *w = in->watches;
    while (w && w->wd != wd)
        w = w->owner_next;
    if (!w) {
        pthread_mutex_unlock(&watches_lock);
        return -EINVAL;
    }
    watch_detach(w);
    pthread_mutex_unlock(&watches_lock);
    w->owner_next = NULL;
    watch_free_list(w);
    return 0;
}

/* Copies as many whole records as fit into buf, at least one or -EINVAL (get_one_event). lock
 * held. */
static ssize_t drain_locked(struct inotify_instance *in, char *buf, size_t len)
{
    size_t done = 0;
    while (in->head) {
        struct inotify_rec *r = in->head;
        size_t size = rec_size(r);
        if (size > len - done)
            return done ? (ssize_t)done : -EINVAL;
        struct inotify_event ev = {
            .wd = r->wd,
            .mask = r->mask,
            .cookie = r->cookie,
            .len = (uint32_t)(size - sizeof(ev)),
        };
        memcpy(buf + done, &ev, sizeof(ev));
        memset(buf + done + sizeof(ev), 0, ev.len);
        memcpy(buf + done + sizeof(ev), r->name, r->name_len);
        done += size;
        in->head = r->next;
        if (!in->head)
            in->tail = NULL;
        in->count--;
        in->bytes -= size;
        rec_free(in, r);
    }
    return (ssize_t)done;
}

static ssize_t inotify_read(struct file *f, struct task *t, void *buf, size_t len)
{
    struct inotify_instance *in = instance_of(f);
    struct waiter w;

    pthread_mutex_lock(&in->lock);
    while (!in->head) {
        if (atomic_load_explicit(&f->status_flags, memory_order_relaxed) & O_NONBLOCK) {
            pthread_mutex_unlock(&in->lock);
            return -EAGAIN;
        }
        waitqueue_add(&in->readable, &w, t);
        pthread_mutex_unlock(&in->lock);
        int err = task_block(t, NULL);
        waitqueue_remove(&in->readable, &w);
        if (err == -EINTR)
            return -ERESTARTSYS;
        pthread_mutex_lock(&in->lock);
    }
    ssize_t n = drain_locked(in, buf, len);
    pthread_mutex_unlock(&in->lock);
    return n;
}

static unsigned inotify_poll(struct file *f, struct task *t, struct waiter *w, bool *slice)
{
    struct inotify_instance *in = instance_of(f);
    pthread_mutex_lock(&in->lock);
    unsigned events = in->head ? POLLIN | POLLRDNORM : 0;
    if (w)
        waitqueue_add(&in->readable, w, t);
    pthread_mutex_unlock(&in->lock);
    return events;
}

static void inotify_poll_unregister(struct file *f, struct waiter *w)
{
    waitqueue_remove(&instance_of(f)->readable, w);
}

/* FIONREAD: the bytes all queued events take (inotify_ioctl); nothing else. */
static long inotify_ioctl(struct file *f, struct mm *mm, unsigned int cmd, uint64_t arg)
{
    struct inotify_instance *in = instance_of(f);
    if (cmd != FIONREAD)
        return -ENOTTY;
    pthread_mutex_lock(&in->lock);
    int bytes = (int)in->bytes;
    pthread_mutex_unlock(&in->lock);
    return mm_copy_out(mm, arg, &bytes, sizeof(bytes));
}

/* noop_llseek: lseek succeeds and leaves the position at 0. */
static int64_t inotify_llseek(struct file *f, int64_t offset, int whence)
{
    return 0;
}

/* An anonymous inode's attributes: mode 0600 without a file type. */
static int inotify_stat(struct file *f, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_mode = S_IRUSR | S_IWUSR;
    st->st_nlink = 1;
    st->st_blksize = 4096;
    return 0;
}

static int inotify_name(struct file *f, char *buf, size_t size)
{
    int n = snprintf(buf, size, "anon_inode:inotify");
    return (size_t)n >= size ? -ENAMETOOLONG : n;
}

static void inotify_release(struct file *f)
{
    struct inotify_instance *in = instance_of(f);
    pthread_mutex_lock(&watches_lock);
    struct inotify_watch *dropped = NULL;
    while (in->watches) {
        struct inotify_watch *w = in->watches;
        watch_detach(w);
        w->owner_next = dropped;
        dropped = w;
    }
    pthread_mutex_unlock(&watches_lock);
    watch_free_list(dropped);
    pthread_mutex_lock(&in->lock);
    while (in->head) {
        struct inotify_rec *r = in->head;
        in->head = r->next;
        rec_free(in, r);
    }
    pthread_mutex_unlock(&in->lock);
    waitqueue_destroy(&in->readable);
    pthread_mutex_destroy(&in->lock);
    file_release_common(f);
    free(in);
}

static const struct file_ops inotify_ops = {
    .read = inotify_read,
    .poll = inotify_poll,
    .poll_unregister = inotify_poll_unregister,
    .ioctl = inotify_ioctl,
    .llseek = inotify_llseek,
    .stat = inotify_stat,
    .name = inotify_name,
    .release = inotify_release,
};

int inotify_create(int flags, struct file **out)
{
    struct inotify_instance *in = calloc(1, sizeof(*in));
    if (!in)
        return -ENOMEM;
    /* The hook is set before any watch can exist; setting it again is harmless. */
    vfs_set_notify_hook(inotify_deliver);
    file_init(&in->base, &inotify_ops, O_RDONLY | (flags & O_NONBLOCK));
    pthread_mutex_init(&in->lock, NULL);
    waitqueue_init(&in->readable);
    in->overflow.wd = -1;
    in->overflow.mask = IN_Q_OVERFLOW;
    *out = &in->base;
    return 0;
}

bool inotify_is_instance(const struct file *f)
{
    return f->ops == &inotify_ops;
}

/* dnotify's DN_* bits as the IN_* events that raise them (convert_arg). */
static uint32_t dnotify_events(uint32_t arg)
{
    uint32_t mask = 0;
    if (arg & DN_ACCESS)
        mask |= IN_ACCESS;
    if (arg & DN_MODIFY)
        mask |= IN_MODIFY;
    if (arg & DN_CREATE)
        mask |= IN_CREATE | IN_MOVED_TO;
    if (arg & DN_DELETE)
        mask |= IN_DELETE | IN_MOVED_FROM;
    if (arg & DN_RENAME)
        mask |= IN_MOVED_FROM | IN_MOVED_TO;
    if (arg & DN_ATTRIB)
        mask |= IN_ATTRIB;
    return mask;
}

int dnotify_set(struct task *t, struct file *f, int fd, uint64_t arg)
{
    uint32_t bits = (uint32_t)arg; /* fcntl_dirnotify takes an unsigned int */

    if (!(bits & ~DN_MULTISHOT)) {
        dnotify_flush(f);
        return 0;
    }
    if (!f->inode || !S_ISDIR(f->inode->mode))
        return -ENOTDIR;
    struct inode *inode = f->inode;
    struct inotify_watch *fresh = calloc(1, sizeof(*fresh));
    if (!fresh)
        return -ENOMEM;
    vfs_set_notify_hook(inotify_deliver); /* as inotify_create: before the first watch */
    pthread_mutex_lock(&watches_lock);
    struct inotify_watch *w = inode->notify_watches;
    while (w && !(w->owner == NULL && w->dn_file == f))
        w = w->inode_next;
    if (w) {
        /* attach_dn: a second F_NOTIFY on the same file adds to its mark. */
        w->mask |= dnotify_events(bits);
        if (bits & DN_MULTISHOT)
            w->flags &= ~(uint32_t)IN_ONESHOT;
        w->dn_fd = fd;
    } else {
        w = fresh;
        fresh = NULL;
        w->dn_file = f;
        w->dn_fd = fd;
        w->mask = dnotify_events(bits);
        w->flags = (bits & DN_MULTISHOT) ? 0 : IN_ONESHOT;
        inode_get(inode);
        w->inode = inode;
        w->inode_next = inode->notify_watches;
        inode->notify_watches = w;
    }
    update_inode_mask(inode);
    pthread_mutex_unlock(&watches_lock);
    free(fresh);
    /* The process hears of it unless the file already has an owner (__f_setown, not forced). */
    fown_set_default(t, f);
    return 0;
}

void dnotify_flush(struct file *f)
{
    struct inode *inode = f->inode;
    if (!inode || !S_ISDIR(inode->mode) ||
        !atomic_load_explicit(&inode->notify_mask, memory_order_relaxed))
        return;
    struct inotify_watch *dropped = NULL, *next;
    pthread_mutex_lock(&watches_lock);
    for (struct inotify_watch *w = inode->notify_watches; w; w = next) {
        next = w->inode_next;
        if (w->owner || w->dn_file != f)
            continue;
        watch_detach(w);
        w->owner_next = dropped;
        dropped = w;
    }
    pthread_mutex_unlock(&watches_lock);
    watch_free_list(dropped);
}
