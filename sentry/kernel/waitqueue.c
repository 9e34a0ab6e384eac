/* Wait queues (see waitqueue.h). */
#include "sentry/kernel/waitqueue.h"

#include "sentry/kernel/kernel.h"

void waitqueue_init(struct waitqueue *wq)
{
    pthread_mutex_init(&wq->lock, NULL);
    wq->head = NULL;
}

void waitqueue_destroy(struct waitqueue *wq)
{
    pthread_mutex_destroy(&wq->lock);
}

void waiter_init_callback(struct waiter *w, waiter_notify_fn notify)
{
    w->task = NULL;
    w->notify = notify;
    w->prev = w->next = NULL;
}

void waitqueue_add(struct waitqueue *wq, struct waiter *w, struct task *t)
{
    w->task = t;
    if (t)
        w->notify = NULL; /* a task's waiter may come uninitialised from the stack */
    pthread_mutex_lock(&wq->lock);
    w->prev = NULL;
    w->next = wq->head;
    if (wq->head)
        wq->head->prev = w;
    wq->head = w;
    pthread_mutex_unlock(&wq->lock);
}

void waitqueue_remove(struct waitqueue *wq, struct waiter *w)
{
    pthread_mutex_lock(&wq->lock);
    if (w->prev)
        w->prev->next = w->next;
    else
        wq->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    pthread_mutex_unlock(&wq->lock);
}

void waitqueue_wake_all(struct waitqueue *wq)
{
    pthread_mutex_lock(&wq->lock);
    for (struct waiter *w = wq->head; w; w = w->next) {
        if (w->task)
            task_wake(w->task);
        else if (w->notify)
            w->notify(w);
    }
    pthread_mutex_unlock(&wq->lock);
}
