/* Wait queues: how a task blocks on a sentry object (a pipe, its children) until the object
 * changes or a signal arrives. The object registers the task under its own lock, drops the lock,
 * and blocks; a change wakes every registered task, which re-checks the object. A wake that
 * comes between dropping the lock and blocking is not lost: it leaves the task's `woken` set. */
#ifndef RUNSC_SENTRY_KERNEL_WAITQUEUE_H
#define RUNSC_SENTRY_KERNEL_WAITQUEUE_H

#include <pthread.h>

struct task;

struct waiter {
    struct task *task;
    struct waiter *prev, *next; /* in waitqueue.head, guarded by waitqueue.lock */
};

struct waitqueue {
    pthread_mutex_t lock; /* a leaf lock: protects head only */
    struct waiter *head;
};

void waitqueue_init(struct waitqueue *wq);
void waitqueue_destroy(struct waitqueue *wq);
/* Registers and unregisters a waiter (on the caller's stack) for task `t`. */
void waitqueue_add(struct waitqueue *wq, struct waiter *w, struct task *t);
void waitqueue_remove(struct waitqueue *wq, struct waiter *w);
/* Wakes every registered task. */
void waitqueue_wake_all(struct waitqueue *wq);

#endif
