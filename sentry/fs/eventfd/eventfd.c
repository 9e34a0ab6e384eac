/* eventfd files (see eventfd.h). One lock guards the counter; readers and writers, and poll and
 * epoll watchers, sleep on one wait queue that every change of the counter wakes, as Linux's
 * eventfd_ctx.wqh. */
#include "sentry/fs/eventfd/eventfd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/kernel/kernel.h"

struct eventfd_file {
    struct file base;
    pthread_mutex_t lock; /* protects count */
    uint64_t count;
    bool semaphore;      /* immutable */
    struct waitqueue wq; /* woken when count changes */
};

static struct eventfd_file *eventfd_of(struct file *f)
{
    return (struct eventfd_file *)f;
}

static bool nonblocking(struct file *f)
{
    return atomic_load_explicit(&f->status_flags, memory_order_relaxed) & O_NONBLOCK;
}

/* Waits for a change of the counter: 0, or -ERESTARTSYS for a signal. e->lock held on entry and
 * on return; the waiter goes on the queue before the lock is dropped, so no wake is lost. */
static int eventfd_wait(struct eventfd_file *e, struct task *t)
{
    struct waiter w;

    waitqueue_add(&e->wq, &w, t);
    pthread_mutex_unlock(&e->lock);
    int err = task_block(t, NULL);
    waitqueue_remove(&e->wq, &w);
    pthread_mutex_lock(&e->lock);
    return err == -EINTR ? -ERESTARTSYS : 0;
}

static ssize_t eventfd_file_read(struct file *f, struct task *t, void *buf, size_t len)
{
    struct eventfd_file *e = eventfd_of(f);
    uint64_t value;

    if (len < sizeof(value))
        return -EINVAL;
    pthread_mutex_lock(&e->lock);
    while (e->count == 0) {
        int err = nonblocking(f) ? -EAGAIN : eventfd_wait(e, t);
        if (err) {
            pthread_mutex_unlock(&e->lock);
            return err;
        }
    }
    value = e->semaphore ? 1 : e->count;
    e->count -= value;
    pthread_mutex_unlock(&e->lock);
    waitqueue_wake_all(&e->wq);
    memcpy(buf, &value, sizeof(value));
    return sizeof(value);
}

static ssize_t eventfd_file_write(struct file *f, struct task *t, const void *buf, size_t len)
{
    struct eventfd_file *e = eventfd_of(f);
    uint64_t value;

    if (len < sizeof(value))
        return -EINVAL;
    memcpy(&value, buf, sizeof(value));
    if (value == UINT64_MAX)
        return -EINVAL;
    pthread_mutex_lock(&e->lock);
    while (EVENTFD_MAX - e->count < value) {
        int err = nonblocking(f) ? -EAGAIN : eventfd_wait(e, t);
        if (err) {
            pthread_mutex_unlock(&e->lock);
            return err;
        }
    }
    e->count += value;
    pthread_mutex_unlock(&e->lock);
    if (value)
        waitqueue_wake_all(&e->wq);
    return sizeof(value);
}

/* eventfd_poll() in Linux: readable with a count, writable while one more can be added, in
 * error at the (unreachable from user space) ULLONG_MAX. */
static unsigned eventfd_poll(struct file *f, struct task *t, struct waiter *w, bool *slice)
{
    struct eventfd_file *e = eventfd_of(f);
    unsigned events = 0;

    pthread_mutex_lock(&e->lock);
    if (w)
        waitqueue_add(&e->wq, w, t);
    if (e->count > 0)
        events |= POLLIN | POLLRDNORM;
    if (e->count == UINT64_MAX)
        events |= POLLERR;
    if (e->count < EVENTFD_MAX)
        events |= POLLOUT | POLLWRNORM;
    pthread_mutex_unlock(&e->lock);
    return events;
}

static void eventfd_poll_unregister(struct file *f, struct waiter *w)
{
    waitqueue_remove(&eventfd_of(f)->wq, w);
}

static int eventfd_stat(struct file *f, struct stat *st)
{
    file_anon_stat(st);
    return 0;
}

static int eventfd_name(struct file *f, char *buf, size_t size)
{
    int n = snprintf(buf, size, "anon_inode:[eventfd]");
    return (size_t)n >= size ? -ENAMETOOLONG : n;
}

static void eventfd_release(struct file *f)
{
    struct eventfd_file *e = eventfd_of(f);

    file_release_common(f);
    waitqueue_destroy(&e->wq);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

static const struct file_ops eventfd_ops = {
    .read = eventfd_file_read,
    .write = eventfd_file_write,
    .stat = eventfd_stat,
    .poll = eventfd_poll,
    .poll_unregister = eventfd_poll_unregister,
    .llseek = file_noop_llseek,
    .name = eventfd_name,
    .release = eventfd_release,
};

int eventfd_create(uint64_t initval, bool semaphore, int status_flags, struct file **out)
{
    struct eventfd_file *e = calloc(1, sizeof(*e));

    if (!e)
        return -ENOMEM;
    pthread_mutex_init(&e->lock, NULL);
    waitqueue_init(&e->wq);
    e->count = initval;
    e->semaphore = semaphore;
    file_init(&e->base, &eventfd_ops, O_RDWR | (status_flags & O_NONBLOCK));
    *out = &e->base;
    return 0;
}
