/* Private to the kernel: a pool of idle sentry threads for new tasks. Creating and ending a host
 * thread per guest thread costs a clone, the stack's mmap/mprotect/munmap, rseq and robust-list
 * registration and an exit: a task that ends hands its thread back here for the next one. */
#ifndef RUNSC_SENTRY_KERNEL_TASK_POOL_H
#define RUNSC_SENTRY_KERNEL_TASK_POOL_H

#include <stdbool.h>

/* At most this many threads wait idle; a thread that ends a job beyond that exits. */
#define TASK_POOL_MAX_IDLE 16
/* An idle thread nobody asks for within this long exits. */
#define TASK_POOL_IDLE_TIMEOUT_MS 10000

/* Runs fn(arg) on an idle pooled thread, or on a new detached one if none is idle. The thread
 * keeps its signal mask and thread-local state between jobs: fn must not rely on a fresh thread.
 * Returns 0 or -errno (then fn never runs). */
int task_pool_run(void (*fn)(void *), void *arg);
/* How many threads wait idle right now (for tests and diagnostics). */
unsigned task_pool_idle_count(void);

#endif
