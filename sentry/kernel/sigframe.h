/* Running guest signal handlers: pushing a signal frame and returning from one. */
#ifndef RUNSC_SENTRY_KERNEL_SIGFRAME_H
#define RUNSC_SENTRY_KERNEL_SIGFRAME_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

struct task;
struct k_sigaction;

/* Pushes a frame for `sig` and points the task's registers at the handler. `old_mask` is the
 * mask the handler's return restores. Returns 0, or -EFAULT if the frame can't be written. */
int sigframe_setup(struct task *t, int sig, const siginfo_t *info, const struct k_sigaction *act,
                   uint64_t old_mask);
/* rt_sigreturn(2): restores registers, FPU state, mask and alternate stack from the frame.
 * Returns 0, or -EFAULT for a bad frame (the caller then forces SIGSEGV). */
int sigframe_return(struct task *t);
/* Whether `sp` lies on the task's alternate signal stack. */
bool sigframe_on_altstack(const struct task *t, uint64_t sp);

#endif
