/* epoll(7): a file that watches other files and reports which are ready, level-triggered or
 * edge-triggered (EPOLLET), once (EPOLLONESHOT), nested (an epoll watching an epoll, without
 * loops), and forgets a watched file when its open file description is released.
 *
 * Lock order: epoll's global lock (adding and removing watches, loop checks, releases) → an
 * epoll's lock (its watches' settings; an outer epoll's before an inner one's) → the watched
 * files' own locks → wait queue locks → an epoll's ready-list lock (a leaf). A watched file
 * wakes its epoll through a callback waiter (waitqueue.h) that takes only the ready-list lock
 * and wakes the epoll's own queue. */
#ifndef RUNSC_SENTRY_FS_EPOLL_EPOLL_H
#define RUNSC_SENTRY_FS_EPOLL_EPOLL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "sentry/vfs/vfs.h"

struct task;

/* Linux's limit on epolls nested in each other (EP_MAX_NESTS). */
#define EPOLL_MAX_NESTS 4

/* One event as the epoll reports it (the guest's layout is the syscall layer's business). */
struct epoll_record {
    uint32_t events;
    uint64_t data;
};

/* Makes an epoll file (O_RDWR). 0 or -ENOMEM. */
int epoll_file_create(struct file **out);
bool epoll_file_is(const struct file *f);
/* epoll_ctl(2) on the epoll `ep` for `target` open at `fd` (the caller checked that target
 * can be polled and is not ep): EPOLL_CTL_ADD / MOD / DEL with `ev` (NULL for DEL). 0, or
 * -EEXIST, -ENOENT, -ELOOP, -EINVAL, -ENOMEM. */
int epoll_file_ctl(struct file *ep, int op, int fd, struct file *target,
                   const struct epoll_record *ev);
/* epoll_wait(2) for task t: up to `max` events into out; waits until one is ready, `deadline`
 * (CLOCK_MONOTONIC) passes (NULL: no limit) or a signal comes. The count, 0 on timeout, or
 * -EINTR (epoll_wait is never restarted, signal(7)). */
long epoll_file_wait(struct file *ep, struct task *t, struct epoll_record *out, int max,
                     const struct timespec *deadline);
/* The release hook's part for epoll: drops every watch on f (called as f's last reference
 * goes). */
void epoll_file_released(struct file *f);

#endif
