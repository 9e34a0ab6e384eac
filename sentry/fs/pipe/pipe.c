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

#include "sentry/fs/pipe/pipe_internal.h"
#include "sentry/mm/mm.h"

/* Linux's default pipe capacity (pipe(7)) and the atomic-write size. */
#define PIPE_CAPACITY 65536
#define PIPE_ATOMIC PIPE_BUF

static _Atomic uint64_t next_pipe_ino = 1;

static struct pipe *pipe_of(struct file *f)
{
    return ((struct pipe_file *)f)->pipe;
}

static bool nonblocking(struct file *f)
{
    return atomic_load_explicit(&f->status_flags, memory_order_relaxed) & O_NONBLOCK;
}

void pipe_wake_readers(struct pipe *p)
{
    waitqueue_wake_all(&p->readable);
    waitqueue_wake_all(&p->both);
}

void pipe_wake_writers(struct pipe *p)
{
    waitqueue_wake_all(&p->writable);
    waitqueue_wake_all(&p->both);
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
        size_t chunk = p->capacity - p->head;
        if (chunk > n - done)
            chunk = n - done;
        memcpy((char *)buf + done, p->buf + p->head, chunk);
        p->head = (p->head + chunk) % p->capacity;
        done += chunk;
    }
    p->len -= n;
    pthread_mutex_unlock(&p->lock);
    pipe_wake_writers(p);
    return (ssize_t)n;
}

/* Copies what fits now; returns the bytes taken. p->lock held. */
static size_t pipe_put(struct pipe *p, const char *buf, size_t len)
{
    size_t room = p->capacity - p->len, n = len < room ? len : room;
    for (size_t done = 0; done < n;) {
        size_t tail = (p->head + p->len) % p->capacity;
        size_t chunk = p->capacity - tail;
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
        size_t room = p->capacity - p->len;
        if (room > 0 && (len - done > PIPE_ATOMIC || room >= len - done)) {
            done += pipe_put(p, (const char *)buf + done, len - done);
            pipe_wake_readers(p);
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
    switch (pf->end) {
    case PIPE_READ_END:
        return &pf->pipe->readable;
    case PIPE_WRITE_END:
        return &pf->pipe->writable;
    default:
        return &pf->pipe->both;
    }
}

/* pipe_poll() in Linux: readable with data, and hung up without writers once one came and
 * went; writable with room, and in error without readers. */
static unsigned pipe_poll(struct file *f, struct task *t, struct waiter *w, bool *slice)
{
    struct pipe_file *pf = (struct pipe_file *)f;
    struct pipe *p = pf->pipe;
    unsigned events = 0;

    pthread_mutex_lock(&p->lock);
    if (pf->end != PIPE_READ_END) {
        if (p->len < p->capacity)
            events |= POLLOUT | POLLWRNORM;
        if (p->readers == 0)
            events |= POLLERR;
    }
    if (pf->end != PIPE_WRITE_END) {
        if (p->len > 0)
            events |= POLLIN | POLLRDNORM;
        if (p->writers == 0 && pf->w_counter_seen != p->w_counter)
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
    st->st_uid = pipe_of(f)->uid;
    st->st_gid = pipe_of(f)->gid;
    struct super_block *sb = pipefs_super();
    if (sb)
        st->st_dev = sb->dev;
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
    enum pipe_end end = pf->end;

    file_release_common(f);
    free(pf);
    if (p->fifo_inode) {
        fifo_release_end(p, end);
        return;
    }
    pthread_mutex_lock(&p->lock);
    if (end != PIPE_READ_END)
        p->writers--;
    if (end != PIPE_WRITE_END)
        p->readers--;
    /* A pipefs inode (a reopen through /proc in progress or open) pins the pipe too. */
    bool last = p->readers == 0 && p->writers == 0 && p->inodes == 0;
    /* The other end learns of end of file or of EPIPE. Woken under the lock: once it is
     * dropped, the other end's release may free the pipe. */
    if (end != PIPE_READ_END)
        pipe_wake_readers(p);
    if (end != PIPE_WRITE_END)
        pipe_wake_writers(p);
    pthread_mutex_unlock(&p->lock);
    if (last)
        pipe_free(p);
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

static const struct file_ops pipe_ops[] = {
    [PIPE_READ_END] =
        {
            .read = pipe_read,
            .stat = pipe_stat,
            .poll = pipe_poll,
            .poll_unregister = pipe_poll_unregister,
            .ioctl = pipe_ioctl,
            .name = pipe_name,
            .release = pipe_release,
        },
    [PIPE_WRITE_END] =
        {
            .write = pipe_write,
            .stat = pipe_stat,
            .poll = pipe_poll,
            .poll_unregister = pipe_poll_unregister,
            .ioctl = pipe_ioctl,
            .name = pipe_name,
            .release = pipe_release,
        },
    [PIPE_BOTH_ENDS] =
        {
            .read = pipe_read,
            .write = pipe_write,
            .stat = pipe_stat,
            .poll = pipe_poll,
            .poll_unregister = pipe_poll_unregister,
            .ioctl = pipe_ioctl,
            .name = pipe_name,
            .release = pipe_release,
        },
};

const struct file_ops *pipe_file_ops(enum pipe_end end)
{
    return &pipe_ops[end];
}

struct pipe *pipe_alloc(void)
{
    struct pipe *p = calloc(1, sizeof(*p));

    if (p)
        p->capacity = PIPE_CAPACITY;
    if (!p || !(p->buf = malloc(PIPE_CAPACITY))) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    waitqueue_init(&p->readable);
    waitqueue_init(&p->writable);
    waitqueue_init(&p->both);
    p->ino = atomic_fetch_add_explicit(&next_pipe_ino, 1, memory_order_relaxed);
    return p;
}

void pipe_free(struct pipe *p)
{
    waitqueue_destroy(&p->readable);
    waitqueue_destroy(&p->writable);
    waitqueue_destroy(&p->both);
    pthread_mutex_destroy(&p->lock);
    free(p->buf);
    free(p);
}

struct pipe_file *pipe_file_alloc(struct pipe *p, enum pipe_end end)
{
    struct pipe_file *pf = calloc(1, sizeof(*pf));

    if (pf) {
        pf->pipe = p;
        pf->end = end;
    }
    return pf;
}

int pipe_create(int extra_flags, struct file **read_end, struct file **write_end)
{
    struct pipe *p = pipe_alloc();
    struct pipe_file *r = p ? pipe_file_alloc(p, PIPE_READ_END) : NULL;
    struct pipe_file *w = r ? pipe_file_alloc(p, PIPE_WRITE_END) : NULL;

    if (!w) {
        free(r);
        if (p)
            pipe_free(p);
        return -ENOMEM;
    }
    struct task *t = task_current();
    if (t) {
        p->uid = t->creds.fsuid;
        p->gid = t->creds.fsgid;
    }
    p->readers = p->writers = 1;
    p->r_counter = p->w_counter = 1; /* the read end saw 0: it hangs up when the writer goes */
    file_init(&r->base, &pipe_ops[PIPE_READ_END], O_RDONLY | extra_flags);
    file_init(&w->base, &pipe_ops[PIPE_WRITE_END], O_WRONLY | extra_flags);
    *read_end = &r->base;
    *write_end = &w->base;
    return 0;
}

bool pipe_is_pipe(const struct file *f)
{
    return f->ops >= &pipe_ops[0] &&
           f->ops < &pipe_ops[sizeof(pipe_ops) / sizeof(pipe_ops[0])];
}

/* Linux's /proc/sys/fs/pipe-max-size: what an unprivileged F_SETPIPE_SZ may ask for. */
#define PIPE_MAX_SIZE (1024 * 1024)

long pipe_get_size(struct file *f)
{
    if (!pipe_is_pipe(f))
        return -EBADF;
    struct pipe *p = pipe_of(f);
    pthread_mutex_lock(&p->lock);
    long size = (long)p->capacity;
    pthread_mutex_unlock(&p->lock);
    return size;
}

long pipe_set_size(struct file *f, uint64_t size, bool privileged)
{
    if (!pipe_is_pipe(f))
        return -EBADF;
    /* pipe(7): rounded up to a power-of-two number of pages, at least one page. */
    if (size > (1u << 31))
        return -EINVAL;
    size_t want = 4096;
    while (want < size)
        want <<= 1;
    if (want > PIPE_MAX_SIZE && !privileged)
        return -EPERM;
    struct pipe *p = pipe_of(f);
    pthread_mutex_lock(&p->lock);
    if (p->len > want) {
        pthread_mutex_unlock(&p->lock);
        return -EBUSY;
    }
    char *buf = malloc(want);
    if (!buf) {
        pthread_mutex_unlock(&p->lock);
        return -ENOMEM;
    }
    /* Unwrap the ring into the new buffer. */
    for (size_t done = 0; done < p->len;) {
        size_t at = (p->head + done) % p->capacity;
        size_t chunk = p->capacity - at;
        if (chunk > p->len - done)
            chunk = p->len - done;
        memcpy(buf + done, p->buf + at, chunk);
        done += chunk;
    }
    free(p->buf);
    p->buf = buf;
    p->head = 0;
    p->capacity = want;
    pthread_mutex_unlock(&p->lock);
    pipe_wake_writers(p);
    return (long)want;
}
