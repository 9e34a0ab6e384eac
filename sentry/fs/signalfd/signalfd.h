/* signalfd(2): reading takes pending signals in the file's mask from the reading task, as
 * struct signalfd_siginfo records; poll says readable while one is pending for the polling
 * task. The kernel wakes watchers whenever a signal is queued (kernel.signal_queued). */
#ifndef RUNSC_SENTRY_FS_SIGNALFD_SIGNALFD_H
#define RUNSC_SENTRY_FS_SIGNALFD_SIGNALFD_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/signalfd.h>

#include "sentry/vfs/vfs.h"

struct kernel;

/* Makes a signalfd file for `mask` (bit N-1 for signal N; SIGKILL and SIGSTOP are dropped),
 * O_RDWR plus O_NONBLOCK from `status_flags`. 0 or -ENOMEM. */
int signalfd_file_create(struct kernel *k, uint64_t mask, int status_flags, struct file **out);
bool signalfd_file_is(const struct file *f);
/* A second signalfd(2) on the file: replaces its mask and wakes its watchers. */
void signalfd_file_set_mask(struct file *f, uint64_t mask);
/* The record read(2) returns for a dequeued signal (Linux's signalfd_copyinfo). */
void signalfd_fill_siginfo(const siginfo_t *info, struct signalfd_siginfo *out);

#endif
