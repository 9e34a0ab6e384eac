/* timerfd_create(2): a timer as a file. Reading returns how many times it expired since the
 * last read (or set), blocking until it has; poll says readable once it has expired. */
#ifndef RUNSC_SENTRY_FS_TIMERFD_TIMERFD_H
#define RUNSC_SENTRY_FS_TIMERFD_TIMERFD_H

#include <stdbool.h>
#include <time.h>

#include "sentry/vfs/vfs.h"

/* Makes a timer file on CLOCK_REALTIME, CLOCK_MONOTONIC or CLOCK_BOOTTIME (the caller checked
 * which), disarmed, O_RDWR plus O_NONBLOCK from `status_flags`. 0 or -ENOMEM. */
int timerfd_file_create(clockid_t clockid, int status_flags, struct file **out);
/* Whether f is a timer file. */
bool timerfd_file_is(const struct file *f);
/* timerfd_settime(2) on a timer file: `abstime` is TFD_TIMER_ABSTIME; `value` (valid timespecs,
 * checked by the caller) arms or, all zero, disarms; *old gets the setting before. 0 or
 * -ENOMEM / -EAGAIN from the timer service. */
int timerfd_file_settime(struct file *f, bool abstime, const struct itimerspec *value,
                         struct itimerspec *old);
/* timerfd_gettime(2): the time to the next expiry (0: disarmed or a one-shot that expired) and
 * the interval. */
void timerfd_file_gettime(struct file *f, struct itimerspec *cur);

#endif
