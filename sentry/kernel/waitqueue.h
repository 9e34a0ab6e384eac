/* Wait queues: how a task blocks on a sentry object (a pipe, its children) until the object
 * changes or a signal arrives. The object registers the task under its own lock, drops the lock,
 * and blocks; a change wakes every registered task, which re-checks the object. A wake that
 * comes between dropping the lock and blocking is not lost: it leaves the task's `woken` set.
 *
 * A waiter may instead stand for an object that wants a call, not a task woken (epoll's watch on
 * a file): waiter_init_callback gives it a `notify` function, and registering it with a NULL task
 * keeps that. notify runs with the queue's lock held, so it may only take leaf locks and wake
 * other queues (never the lock of the object whose queue it is on). */
#ifndef RUNSC_SENTRY_KERNEL_WAITQUEUE_H
#define RUNSC_SENTRY_KERNEL_WAITQUEUE_H

#include <pthread.h>

struct task;

struct waiter;
typedef void (*waiter_notify_fn)(struct waiter *w);

struct waiter {
    struct task *task;          /* woken by a wake, or NULL for a callback waiter */
    waiter_notify_fn notify;    /* a callback waiter's function; set before registering */
    struct waiter *prev, *next; /* in waitqueue.head, guarded by waitqueue.lock */
};

struct waitqueue {
    pthread_mutex_t lock; /* a leaf lock: protects head only */
    struct waiter *head;
};

void waitqueue_init(struct waitqueue *wq);
void waitqueue_destroy(struct waitqueue *wq);
/* Makes `w` a callback waiter: registered with a NULL task, a wake calls notify(w). */
void waiter_init_callback(struct waiter *w, waiter_notify_fn notify);
/* Registers and unregisters a waiter (on the caller's stack) for task `t`; with t NULL, a
 * callback waiter (waiter_init_callback) keeps its notify. */
void waitqueue_add(struct waitqueue *wq, struct waiter *w, struct task *t);
void waitqueue_remove(struct waitqueue *wq, struct waiter *w);
/* Wakes every registered task and calls every callback waiter. */
void waitqueue_wake_all(struct waitqueue *wq);

#endif
