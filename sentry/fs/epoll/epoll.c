/* epoll files (see epoll.h). Each watch (an item) keeps a callback waiter on its file's wait
 * queue: a wake puts the item on its epoll's ready list and wakes the epoll's queue. Waiting
 * takes items off the ready list one by one and asks each file for its events now: a
 * level-triggered item that is still ready goes back on the list, an edge-triggered one waits
 * for its file's next wake, a one-shot one is disabled until EPOLL_CTL_MOD. Files that can't
 * wake anyone (host fds) stay on the ready list and are asked again every slice. */
#include "sentry/fs/epoll/epoll.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "sentry/kernel/kernel.h"

/* How long a wait on host fds sleeps before asking them again (as poll(2) does). */
#define EPOLL_SLICE_NS (10 * 1000 * 1000L)
/* Bits of an item's events that are settings, not events (Linux's EP_PRIVATE_BITS). */
#define EPOLL_PRIVATE_BITS (EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE)

struct epoll;

struct epoll_item {
    struct epoll *ep;  /* immutable */
    struct file *file; /* immutable; not a reference: the item goes when the file is released */
    int fd;            /* immutable */
    uint32_t events;   /* ep->lock; always with EPOLLERR | EPOLLHUP, as Linux adds them */
    uint64_t data;     /* ep->lock */
    bool registered;   /* waiter is on the file's queue (immutable after the add) */
    bool slice;        /* the file can't wake us: it stays on the ready list (immutable) */
    struct waiter waiter;
    bool ready;                     /* on ep's ready list: ep->ready_lock */
    struct epoll_item *ready_next;  /* ep->ready_lock */
    struct epoll_item *prev, *next; /* ep->items: changed under the global lock and ep->lock */
    struct epoll_item *file_prev, *file_next; /* file->epoll_watches: the global lock */
};

struct epoll {
    struct file base;
    pthread_mutex_t lock; /* protects items' settings and the item list */
    struct epoll_item *items;
    int nslice;                 /* items that can't wake us (lock) */
    pthread_mutex_t ready_lock; /* a leaf lock: protects the ready list */
    struct epoll_item *ready_head, *ready_tail;
    size_t nready;
    struct waitqueue wq; /* epoll_wait callers and watchers of this epoll */
};

/* Serialises adding and removing items (so loop checks see a still structure) and guards every
 * file's epoll_watches list. */
static pthread_mutex_t epoll_global_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct file_ops epoll_ops;

static struct epoll *epoll_of(struct file *f)
{
    return (struct epoll *)f;
}

bool epoll_file_is(const struct file *f)
{
    return f->ops == &epoll_ops;
}

/* Appends an item to the ready list unless it is on it (ready_lock held). */
static void ready_push(struct epoll *ep, struct epoll_item *item)
{
    if (item->ready)
        return;
    item->ready = true;
    item->ready_next = NULL;
    if (ep->ready_tail)
        ep->ready_tail->ready_next = item;
    else
        ep->ready_head = item;
    ep->ready_tail = item;
    ep->nready++;
}

static struct epoll_item *ready_pop(struct epoll *ep)
{
    struct epoll_item *item = ep->ready_head;
    if (!item)
        return NULL;
    ep->ready_head = item->ready_next;
    if (!ep->ready_head)
        ep->ready_tail = NULL;
    item->ready = false;
    ep->nready--;
    return item;
}

static void ready_remove(struct epoll *ep, struct epoll_item *item)
{
    pthread_mutex_lock(&ep->ready_lock);
    if (item->ready) {
        struct epoll_item **link = &ep->ready_head, *prev = NULL;
        while (*link != item) {
            prev = *link;
            link = &(*link)->ready_next;
        }
        *link = item->ready_next;
        if (ep->ready_tail == item)
            ep->ready_tail = prev;
        item->ready = false;
        ep->nready--;
    }
    pthread_mutex_unlock(&ep->ready_lock);
}

/* Marks an item ready and wakes the epoll's waiters. */
static void epoll_item_ready(struct epoll_item *item)
{
    struct epoll *ep = item->ep;

    pthread_mutex_lock(&ep->ready_lock);
    ready_push(ep, item);
    pthread_mutex_unlock(&ep->ready_lock);
    waitqueue_wake_all(&ep->wq);
}

/* The callback waiter: the watched file changed (runs under the file's queue lock). */
static void epoll_item_notify(struct waiter *w)
{
    epoll_item_ready((struct epoll_item *)((char *)w - offsetof(struct epoll_item, waiter)));
}

/* The events of the item's file now, as the item asks for them (ep->lock held). */
static uint32_t epoll_item_poll(struct epoll_item *item)
{
    struct file *f = item->file;
    bool slice = false;
    unsigned ev = f->ops->poll(f, NULL, NULL, &slice);
    return ev & item->events & ~EPOLL_PRIVATE_BITS;
}

static struct epoll_item *epoll_find(struct epoll *ep, struct file *f, int fd)
{
    for (struct epoll_item *item = ep->items; item; item = item->next) {
        if (item->file == f && item->fd == fd)
            return item;
    }
    return NULL;
}

/* Takes an item out of its epoll and its file and frees it (the global lock and ep->lock
 * held). Once the waiter is off the file's queue no callback can reach the item. */
static void epoll_item_remove(struct epoll_item *item)
{
    struct epoll *ep = item->ep;
    struct file *f = item->file;

    if (item->registered)
        f->ops->poll_unregister(f, &item->waiter);
    ready_remove(ep, item);
    if (item->prev)
        item->prev->next = item->next;
    else
        ep->items = item->next;
    if (item->next)
        item->next->prev = item->prev;
    if (item->file_prev)
        item->file_prev->file_next = item->file_next;
    else
        f->epoll_watches = item->file_next;
    if (item->file_next)
        item->file_next->file_prev = item->file_prev;
    if (item->slice)
        ep->nslice--;
    free(item);
}

/* How many levels of epolls hang below `ep` (0: it watches no epoll), or more than
 * EPOLL_MAX_NESTS when `into` is among them. The global lock is held: item lists stand still. */
static int epoll_depth_below(struct epoll *ep, struct epoll *into)
{
    int depth = 0;

    for (struct epoll_item *item = ep->items; item && depth <= EPOLL_MAX_NESTS; item = item->next) {
        if (!epoll_file_is(item->file))
            continue;
        struct epoll *inner = epoll_of(item->file);
        int d = inner == into ? EPOLL_MAX_NESTS + 1 : epoll_depth_below(inner, into) + 1;
        if (d > depth)
            depth = d;
    }
    return depth;
}

/* How many levels of epolls watch `ep` from above (global lock held). */
static int epoll_depth_above(struct epoll *ep)
{
    int depth = 0;

    for (struct epoll_item *item = ep->base.epoll_watches; item && depth <= EPOLL_MAX_NESTS;
         item = item->file_next) {
        int d = epoll_depth_above(item->ep) + 1;
        if (d > depth)
            depth = d;
    }
    return depth;
}

/* Whether watching the epoll `target` from `into` would close a loop or make a chain of more
 * than EPOLL_MAX_NESTS + 1 epolls (ep_loop_check() in Linux, which counts both the levels
 * below the target and those above the epoll it joins). */
static bool epoll_loop_check(struct epoll *into, struct epoll *target)
{
    int below = epoll_depth_below(target, into);
    return below > EPOLL_MAX_NESTS || below + 1 + epoll_depth_above(into) > EPOLL_MAX_NESTS;
}

static int epoll_add(struct epoll *ep, int fd, struct file *target, const struct epoll_record *ev)
{
    struct epoll_item *item;
    bool slice = false;

    pthread_mutex_lock(&epoll_global_lock);
    if (epoll_file_is(target) && epoll_loop_check(ep, epoll_of(target))) {
        pthread_mutex_unlock(&epoll_global_lock);
        return -ELOOP;
    }
    pthread_mutex_lock(&ep->lock);
    int err = 0;
    if (epoll_find(ep, target, fd)) {
        err = -EEXIST;
        goto out;
    }
    if (!(item = calloc(1, sizeof(*item)))) {
        err = -ENOMEM;
        goto out;
    }
    item->ep = ep;
    item->file = target;
    item->fd = fd;
    item->events = ev->events | EPOLLERR | EPOLLHUP;
    item->data = ev->data;
    item->next = ep->items;
    if (ep->items)
        ep->items->prev = item;
    ep->items = item;
    item->file_next = target->epoll_watches;
    if (target->epoll_watches)
        target->epoll_watches->file_prev = item;
    target->epoll_watches = item;
    waiter_init_callback(&item->waiter, epoll_item_notify);
    unsigned now = target->ops->poll(target, NULL, &item->waiter, &slice);
    item->slice = slice;
    item->registered = !slice && target->ops->poll_unregister;
    if (slice)
        ep->nslice++;
    if (slice || (now & item->events & ~EPOLL_PRIVATE_BITS))
        epoll_item_ready(item);
out:
    pthread_mutex_unlock(&ep->lock);
    pthread_mutex_unlock(&epoll_global_lock);
    return err;
}

static int epoll_mod(struct epoll *ep, int fd, struct file *target, const struct epoll_record *ev)
{
    pthread_mutex_lock(&ep->lock);
    struct epoll_item *item = epoll_find(ep, target, fd);
    int err = 0;
    if (!item) {
        err = -ENOENT;
    } else if (item->events & EPOLLEXCLUSIVE) {
        err = -EINVAL; /* an exclusive watch can't be modified (epoll_ctl(2)) */
    } else {
        item->events = ev->events | EPOLLERR | EPOLLHUP;
        item->data = ev->data;
        /* A watch re-armed (after EPOLLONESHOT) on a file that is ready reports it. */
        if (epoll_item_poll(item) || item->slice)
            epoll_item_ready(item);
    }
    pthread_mutex_unlock(&ep->lock);
    return err;
}

static int epoll_del(struct epoll *ep, int fd, struct file *target)
{
    pthread_mutex_lock(&epoll_global_lock);
    pthread_mutex_lock(&ep->lock);
    struct epoll_item *item = epoll_find(ep, target, fd);
    if (item)
        epoll_item_remove(item);
    pthread_mutex_unlock(&ep->lock);
    pthread_mutex_unlock(&epoll_global_lock);
    return item ? 0 : -ENOENT;
}

int epoll_file_ctl(struct file *f, int op, int fd, struct file *target,
                   const struct epoll_record *ev)
{
    struct epoll *ep = epoll_of(f);

    switch (op) {
    case EPOLL_CTL_ADD:
        return epoll_add(ep, fd, target, ev);
    case EPOLL_CTL_MOD:
        return epoll_mod(ep, fd, target, ev);
    case EPOLL_CTL_DEL:
        return epoll_del(ep, fd, target);
    default:
        return -EINVAL;
    }
}

/* Reports up to `max` ready items into out (ep->lock held): each item on the list when this
 * starts is looked at once, so a file that keeps waking can't keep us here. */
static int epoll_collect(struct epoll *ep, struct epoll_record *out, int max)
{
    int n = 0;

    pthread_mutex_lock(&ep->ready_lock);
    size_t todo = ep->nready;
    pthread_mutex_unlock(&ep->ready_lock);
    while (todo-- > 0 && n < max) {
        pthread_mutex_lock(&ep->ready_lock);
        struct epoll_item *item = ready_pop(ep);
        pthread_mutex_unlock(&ep->ready_lock);
        if (!item)
            break;
        /* A wake from here on puts the item back: none is lost. */
        uint32_t events = epoll_item_poll(item);
        bool again = item->slice;
        if (events) {
            out[n].events = events;
            out[n].data = item->data;
            n++;
            if (item->events & EPOLLONESHOT)
                item->events &= EPOLL_PRIVATE_BITS;
            else if (!(item->events & EPOLLET))
                again = true; /* level-triggered: asked again next time */
        }
        if (again) {
            pthread_mutex_lock(&ep->ready_lock);
            ready_push(ep, item);
            pthread_mutex_unlock(&ep->ready_lock);
        }
    }
    return n;
}

static struct timespec ts_after_ns(long ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += ns;
    while (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

long epoll_file_wait(struct file *f, struct task *t, struct epoll_record *out, int max,
                     const struct timespec *deadline)
{
    struct epoll *ep = epoll_of(f);

    for (;;) {
        struct waiter w;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        bool last_look = deadline && !ts_before(&now, deadline);
        /* On the queue before looking: a wake between the look and the sleep isn't lost. */
        waitqueue_add(&ep->wq, &w, t);
        pthread_mutex_lock(&ep->lock);
        int n = epoll_collect(ep, out, max);
        bool slice = ep->nslice > 0;
        pthread_mutex_unlock(&ep->lock);
        if (n || last_look) {
            waitqueue_remove(&ep->wq, &w);
            return n;
        }
        struct timespec until = slice ? ts_after_ns(EPOLL_SLICE_NS) : now;
        if (deadline && (!slice || ts_before(deadline, &until)))
            until = *deadline;
        int err = task_block(t, slice || deadline ? &until : NULL);
        waitqueue_remove(&ep->wq, &w);
        if (err == -EINTR)
            return -EINTR;
    }
}

/* An epoll is readable when one of its ready items has events (ep_eventpoll_poll() in
 * Linux); items found not ready leave the list. */
static unsigned epoll_file_poll(struct file *f, struct task *t, struct waiter *w, bool *slice)
{
    struct epoll *ep = epoll_of(f);
    unsigned events = 0;

    if (w)
        waitqueue_add(&ep->wq, w, t);
    pthread_mutex_lock(&ep->lock);
    if (ep->nslice)
        *slice = true;
    pthread_mutex_lock(&ep->ready_lock);
    size_t todo = ep->nready;
    pthread_mutex_unlock(&ep->ready_lock);
    while (todo-- > 0 && !events) {
        pthread_mutex_lock(&ep->ready_lock);
        struct epoll_item *item = ready_pop(ep);
        pthread_mutex_unlock(&ep->ready_lock);
        if (!item)
            break;
        bool ready = epoll_item_poll(item) != 0;
        if (ready)
            events = POLLIN | POLLRDNORM;
        if (ready || item->slice) {
            pthread_mutex_lock(&ep->ready_lock);
            ready_push(ep, item);
            pthread_mutex_unlock(&ep->ready_lock);
        }
    }
    pthread_mutex_unlock(&ep->lock);
    return events;
}

static void epoll_poll_unregister(struct file *f, struct waiter *w)
{
    waitqueue_remove(&epoll_of(f)->wq, w);
}

void epoll_file_released(struct file *f)
{
    /* Read without the lock: a file being released has no other holder, so no epoll_ctl can be
     * changing its list now; a NULL list means no epoll ever kept a watch. */
    if (!f->epoll_watches)
        return;
    pthread_mutex_lock(&epoll_global_lock);
    while (f->epoll_watches) {
        struct epoll *ep = f->epoll_watches->ep;
        pthread_mutex_lock(&ep->lock);
        epoll_item_remove(f->epoll_watches);
        pthread_mutex_unlock(&ep->lock);
    }
    pthread_mutex_unlock(&epoll_global_lock);
}

/* Linux's eventpoll has no read or write: both are EINVAL. */
static ssize_t epoll_file_read(struct file *f, struct task *t, void *buf, size_t len)
{
    return -EINVAL;
}

static ssize_t epoll_file_write(struct file *f, struct task *t, const void *buf, size_t len)
{
    return -EINVAL;
}

static int epoll_stat(struct file *f, struct stat *st)
{
    file_anon_stat(st);
    return 0;
}

static int epoll_name(struct file *f, char *buf, size_t size)
{
    int n = snprintf(buf, size, "anon_inode:[eventpoll]");
    return (size_t)n >= size ? -ENAMETOOLONG : n;
}

static void epoll_release(struct file *f)
{
    struct epoll *ep = epoll_of(f);

    pthread_mutex_lock(&epoll_global_lock);
    pthread_mutex_lock(&ep->lock);
    while (ep->items)
        epoll_item_remove(ep->items);
    pthread_mutex_unlock(&ep->lock);
    pthread_mutex_unlock(&epoll_global_lock);
    file_release_common(f);
    waitqueue_destroy(&ep->wq);
    pthread_mutex_destroy(&ep->ready_lock);
    pthread_mutex_destroy(&ep->lock);
    free(ep);
}

static const struct file_ops epoll_ops = {
    .read = epoll_file_read,
    .write = epoll_file_write,
    .stat = epoll_stat,
    .poll = epoll_file_poll,
    .poll_unregister = epoll_poll_unregister,
    .llseek = file_noop_llseek,
    .name = epoll_name,
    .release = epoll_release,
};

int epoll_file_create(struct file **out)
{
    struct epoll *ep = calloc(1, sizeof(*ep));

    if (!ep)
        return -ENOMEM;
    pthread_mutex_init(&ep->lock, NULL);
    pthread_mutex_init(&ep->ready_lock, NULL);
    waitqueue_init(&ep->wq);
    file_init(&ep->base, &epoll_ops, O_RDWR);
    *out = &ep->base;
    return 0;
}
