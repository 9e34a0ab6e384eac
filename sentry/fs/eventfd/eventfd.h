/* eventfd(2): a 64-bit counter as a file. Writes add to it (blocking while the sum would pass
 * 0xfffffffffffffffe), reads take all of it, or 1 with EFD_SEMAPHORE (blocking while it is 0). */
#ifndef RUNSC_SENTRY_FS_EVENTFD_EVENTFD_H
#define RUNSC_SENTRY_FS_EVENTFD_EVENTFD_H

#include <stdbool.h>
#include <stdint.h>

#include "sentry/vfs/vfs.h"

/* The largest value the counter holds (ULLONG_MAX - 1: ULLONG_MAX itself is refused). */
#define EVENTFD_MAX (UINT64_MAX - 1)

/* Makes an eventfd file (O_RDWR, plus O_NONBLOCK from `status_flags`) counting from initval;
 * `semaphore` is EFD_SEMAPHORE. The caller owns one reference. 0 or -ENOMEM. */
int eventfd_create(uint64_t initval, bool semaphore, int status_flags, struct file **out);

#endif
