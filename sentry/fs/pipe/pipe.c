/* Pipes (see pipe.h). One lock per pipe guards its buffer and end counts; readers and writers
 * block on the pipe's wait queues and re-check after every wake. */
#include "sentry/fs/pipe/pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "sentry/kernel/kernel.h"
#include "sentry/mm/mm.h"

/* Linux's default pipe capacity (pipe(7)) and the atomic-write size. */
#define PIPE_CAPACITY 65536
#define PIPE_ATOMIC PIPE_BUF

struct pipe {
    pthread_mutex_t lock; /* protects everything below */
    char *buf;            /* ring of PIPE_CAPACITY bytes */
    size_t head, len;     /* where unread data starts, and how much there is */
    int readers, writers; /* open files on each end */
    struct waitqueue readable, writable;
    uint64_t ino;
};

struct pipe_file {
    struct file base;
    struct pipe *pipe;
    bool write_end;
};

static _Atomic uint64_t next_pipe_ino = 1;

static struct pipe *pipe_of(struct file *f)
{
    return ((struct pipe_file *)f)->pipe;
}

static bool nonblocking(struct file *f)
{
    return f->status_flags & O_NONBLOCK;
}

static ssize_t pipe_read(struct file *f, struct task *t, void *buf, size_t len)
{
    struct pipe *p = pipe_of(f);
    struct waiter w;

    if (len == 0)
        return 0;
    pthread_mutex_lock(&p->lock);
    while (p->len == 0) {
        if (p->writers == 0) {
            pthread_mutex_unlock(&p->lock);
            return 0;
        }
        if (nonblocking(f)) {
            pthread_mutex_unlock(&p->lock);
            return -EAGAIN;
        }
        waitqueue_add(&p->readable, &w, t);
        pthread_mutex_unlock(&p->lock);
        int err = task_block(t, NULL);
        waitqueue_remove(&p->readable, &w);
        if (err == -EINTR)
            return -ERESTARTSYS;
        pthread_mutex_lock(&p->lock);
    }
    size_t n = len < p->len ? len : p->len;
    for (size_t done = 0; done < n;) {
        size_t chunk = PIPE_CAPACITY - p->head;
        if (chunk > n - done)
            chunk = n - done;
        memcpy((char *)buf + done, p->buf + p->head, chunk);
        p->head = (p->head + chunk) % PIPE_CAPACITY;
        done += chunk;
    }
    p->len -= n;
    pthread_mutex_unlock(&p->lock);
    waitqueue_wake_all(&p->writable);
    return (ssize_t)n;
}

/* Copies what fits now; returns the bytes taken. p->lock held. */
static size_t pipe_put(struct pipe *p, const char *buf, size_t len)
{
    size_t room = PIPE_CAPACITY - p->len, n = len < room ? len : room;
    for (size_t done = 0; done < n;) {
        size_t tail = (p->head + p->len) % PIPE_CAPACITY;
        size_t chunk = PIPE_CAPACITY - tail;
        if (chunk > n - done)
            chunk = n - done;
        memcpy(p->buf + tail, buf + done, chunk);
        p->len += chunk;
        done += chunk;
    }
    return n;
}

static ssize_t pipe_write(struct file *f, struct task *t, const void *buf, size_t len)
{
    struct pipe *p = pipe_of(f);
    struct waiter w;
    size_t done = 0;

    pthread_mutex_lock(&p->lock);
    while (done < len || len == 0) {
        if (p->readers == 0) {
            pthread_mutex_unlock(&p->lock);
            return done ? (ssize_t)done : -EPIPE;
        }
        if (len == 0)
            break;
        /* Up to PIPE_BUF bytes go in whole or not at all. */
        size_t room = PIPE_CAPACITY - p->len;
        if (room > 0 && (len - done > PIPE_ATOMIC || room >= len - done)) {
            done += pipe_put(p, (const char *)buf + done, len - done);
            waitqueue_wake_all(&p->readable);
            continue;
        }
        if (nonblocking(f)) {
            pthread_mutex_unlock(&p->lock);
            return done ? (ssize_t)done : -EAGAIN;
        }
        waitqueue_add(&p->writable, &w, t);
        pthread_mutex_unlock(&p->lock);
        int err = task_block(t, NULL);
        waitqueue_remove(&p->writable, &w);
        if (err == -EINTR)
            return done ? (ssize_t)done : -ERESTARTSYS;
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return (ssize_t)done;
}

static struct waitqueue *pipe_queue(struct file *f)
{
    struct pipe_file *pf = (struct pipe_file *)f;
    return pf->write_end ? &pf->pipe->writable : &pf->pipe->readable;
}

/* pipe_poll() in Linux: the read end is readable with data and hung up without writers; the
 * write end is writable with room and in error without readers. */
static unsigned pipe_poll(struct file *f, struct task *t, struct waiter *w, bool *slice)
{
    struct pipe_file *pf = (struct pipe_file *)f;
    struct pipe *p = pf->pipe;
    unsigned events = 0;

    pthread_mutex_lock(&p->lock);
    if (pf->write_end) {
        if (p->len < PIPE_CAPACITY)
            events |= POLLOUT | POLLWRNORM;
        if (p->readers == 0)
            events |= POLLERR;
    } else {
        if (p->len > 0)
            events |= POLLIN | POLLRDNORM;
        if (p->writers == 0)
            events |= POLLHUP;
    }
    if (w)
        waitqueue_add(pipe_queue(f), w, t);
    pthread_mutex_unlock(&p->lock);
    return events;
}

static void pipe_poll_unregister(struct file *f, struct waiter *w)
{
    waitqueue_remove(pipe_queue(f), w);
}

static int pipe_stat(struct file *f, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_mode = S_IFIFO | 0600;
    st->st_nlink = 1;
    st->st_ino = pipe_of(f)->ino;
    st->st_blksize = 4096;
    return 0;
}

static int pipe_name(struct file *f, char *buf, size_t size)
{
    int n = snprintf(buf, size, "pipe:[%llu]", (unsigned long long)pipe_of(f)->ino);
    return (size_t)n >= size ? -ENAMETOOLONG : n;
}

static void pipe_release(struct file *f)
{
    struct pipe_file *pf = (struct pipe_file *)f;
    struct pipe *p = pf->pipe;

    pthread_mutex_lock(&p->lock);
    if (pf->write_end)
        p->writers--;
    else
        p->readers--;
    bool last = p->readers == 0 && p->writers == 0;
    pthread_mutex_unlock(&p->lock);
    /* The other end learns of end of file or of EPIPE. */
    waitqueue_wake_all(pf->write_end ? &p->readable : &p->writable);
    free(pf);
    if (last) {
        waitqueue_destroy(&p->readable);
        waitqueue_destroy(&p->writable);
        pthread_mutex_destroy(&p->lock);
        free(p->buf);
        free(p);
    }
}

/* FIONREAD on either end: the bytes waiting in the pipe (Linux's pipe_ioctl). */
static long pipe_ioctl(struct file *f, struct mm *mm, unsigned int cmd, uint64_t arg)
{
    struct pipe *p = pipe_of(f);

    if (cmd != FIONREAD)
        return -ENOTTY;
    pthread_mutex_lock(&p->lock);
    int count = (int)p->len;
    pthread_mutex_unlock(&p->lock);
    return mm_copy_out(mm, arg, &count, sizeof(count));
}

static const struct file_ops pipe_read_ops = {
    .read = pipe_read,
    .stat = pipe_stat,
    .poll = pipe_poll,
    .poll_unregister = pipe_poll_unregister,
    .ioctl = pipe_ioctl,
    .name = pipe_name,
    .release = pipe_release,
};

static const struct file_ops pipe_write_ops = {
    .write = pipe_write,
    .stat = pipe_stat,
    .poll = pipe_poll,
    .poll_unregister = pipe_poll_unregister,
    .ioctl = pipe_ioctl,
    .name = pipe_name,
    .release = pipe_release,
};

int pipe_create(int extra_flags, struct file **read_end, struct file **write_end)
{
    struct pipe *p = calloc(1, sizeof(*p));
    struct pipe_file *r = calloc(1, sizeof(*r)), *w = calloc(1, sizeof(*w));

    if (!p || !r || !w || !(p->buf = malloc(PIPE_CAPACITY))) {
        if (p)
            free(p->buf);
        free(p);
        free(r);
        free(w);
        return -ENOMEM;
    }
    pthread_mutex_init(&p->lock, NULL);
    waitqueue_init(&p->readable);
    waitqueue_init(&p->writable);
    p->readers = p->writers = 1;
    p->ino = atomic_fetch_add_explicit(&next_pipe_ino, 1, memory_order_relaxed);
    file_init(&r->base, &pipe_read_ops, O_RDONLY | extra_flags);
    file_init(&w->base, &pipe_write_ops, O_WRONLY | extra_flags);
    r->pipe = w->pipe = p;
    w->write_end = true;
    *read_end = &r->base;
    *write_end = &w->base;
    return 0;
}

bool pipe_is_pipe(const struct file *f)
{
    return f->ops == &pipe_read_ops || f->ops == &pipe_write_ops;
}
