/* FIFOs (fifo(7)): a registry from a FIFO's inode to its pipe while any end is open or an open
 * waits, and open(2)'s rendezvous of readers and writers (fifo_open() in Linux's fs/pipe.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "sentry/fs/pipe/pipe.h"
#include "sentry/fs/pipe/pipe_internal.h"

/* Protects the registry list and the decision to drop a FIFO's pipe (its last end going), so
 * an open can't find a pipe being freed. Comes before any pipe's lock. */
static pthread_mutex_t fifo_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pipe *fifo_pipes;

/* The pipe of `inode`, made if it has none (fifo_lock held); NULL without memory. */
static struct pipe *fifo_find(struct inode *inode)
{
    for (struct pipe *p = fifo_pipes; p; p = p->fifo_next) {
        if (p->fifo_inode == inode)
            return p;
    }
    struct pipe *p = pipe_alloc();
    if (!p)
        return NULL;
    p->fifo_inode = inode;
    p->fifo_next = fifo_pipes;
    fifo_pipes = p;
    return p;
}

/* Unlinks an unused pipe from the registry (fifo_lock and p->lock held); the caller frees it
 * after dropping the locks. */
static bool fifo_unlink_if_unused(struct pipe *p)
{
    if (p->readers || p->writers)
        return false;
    for (struct pipe **link = &fifo_pipes; *link; link = &(*link)->fifo_next) {
        if (*link == p) {
            *link = p->fifo_next;
            break;
        }
    }
    return true;
}

/* Drops the counts an end holds; wakes the other side (it sees EOF or EPIPE, and a waiting
 * open whose partner went sees that too) and frees the pipe with its last end. */
static void fifo_drop_end(struct pipe *p, enum pipe_end end)
{
    pthread_mutex_lock(&fifo_lock);
    pthread_mutex_lock(&p->lock);
    if (end != PIPE_WRITE_END)
        p->readers--;
    if (end != PIPE_READ_END)
        p->writers--;
    bool unused = fifo_unlink_if_unused(p);
    /* Woken under the locks: once they are dropped, another end's release may free p. */
    if (!unused && end != PIPE_WRITE_END)
        pipe_wake_writers(p);
    if (!unused && end != PIPE_READ_END)
        pipe_wake_readers(p);
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_unlock(&fifo_lock);
    if (unused)
        pipe_free(p);
}

void fifo_release_end(struct pipe *p, enum pipe_end end)
{
    fifo_drop_end(p, end);
}

int fifo_wait_partner(struct pipe *p, struct task *t, bool reader, unsigned seen)
{
    struct waitqueue *wq = reader ? &p->readable : &p->writable;

    while ((reader ? p->w_counter : p->r_counter) == seen) {
        struct waiter w;
        waitqueue_add(wq, &w, t);
        pthread_mutex_unlock(&p->lock);
        int err = task_block(t, NULL);
        waitqueue_remove(wq, &w);
        pthread_mutex_lock(&p->lock);
        if (err == -EINTR)
            return -ERESTARTSYS;
    }
    return 0;
}

int pipe_fifo_open(struct inode *inode, int flags, struct file **out)
{
    struct task *t = task_current();
    int acc = flags & O_ACCMODE;
    enum pipe_end end = acc == O_RDONLY   ? PIPE_READ_END
                        : acc == O_WRONLY ? PIPE_WRITE_END
                                          : PIPE_BOTH_ENDS;
    /* A caller that is no task (none in practice) can't wait: it opens as with O_NONBLOCK. */
    bool nonblock = (flags & O_NONBLOCK) || !t;
    int err = 0;

    pthread_mutex_lock(&fifo_lock);
    struct pipe *p = fifo_find(inode);
    if (!p) {
        pthread_mutex_unlock(&fifo_lock);
        return -ENOMEM;
    }
    struct pipe_file *pf = pipe_file_alloc(p, end);
    pthread_mutex_lock(&p->lock);
    if (!pf) {
        bool unused = fifo_unlink_if_unused(p);
        pthread_mutex_unlock(&p->lock);
        pthread_mutex_unlock(&fifo_lock);
        if (unused)
            pipe_free(p);
        return -ENOMEM;
    }
    if (end == PIPE_WRITE_END && nonblock && p->readers == 0) {
        /* fifo(7): a non-blocking open for writing fails without a reader. */
        bool unused = fifo_unlink_if_unused(p);
        pthread_mutex_unlock(&p->lock);
        pthread_mutex_unlock(&fifo_lock);
        free(pf);
        if (unused)
            pipe_free(p);
        return -ENXIO;
    }
    if (end != PIPE_WRITE_END) {
        p->readers++;
        p->r_counter++;
    }
    if (end != PIPE_READ_END) {
        p->writers++;
        p->w_counter++;
    }
    pf->w_counter_seen = p->w_counter;
    pthread_mutex_unlock(&fifo_lock);
    /* The partner waiting in its own open learns of us. */
    if (end != PIPE_WRITE_END)
        pipe_wake_writers(p);
    if (end != PIPE_READ_END)
        pipe_wake_readers(p);
    if (end == PIPE_READ_END && !nonblock && p->writers == 0)
        err = fifo_wait_partner(p, t, true, p->w_counter);
    else if (end == PIPE_WRITE_END && !nonblock && p->readers == 0)
        err = fifo_wait_partner(p, t, false, p->r_counter);
    pthread_mutex_unlock(&p->lock);
    if (err) {
        free(pf);
        fifo_drop_end(p, end);
        return err;
    }
    file_init_inode(&pf->base, pipe_file_ops(end), flags, inode);
    pf->pipe = p;
    pf->end = end;
    *out = &pf->base;
    return 0;
}
