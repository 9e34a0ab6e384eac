/* --strace: one line per syscall in strace's format, written to the log. */
#ifndef RUNSC_SENTRY_SYSCALLS_STRACE_H
#define RUNSC_SENTRY_SYSCALLS_STRACE_H

#include "sentry/syscalls/syscalls.h"

/* Logs a finished syscall: `name(args) = result`. `e` is NULL for numbers the arch lacks. */
void strace_syscall(struct task *t, unsigned nr, const struct syscall_entry *e,
                    const struct syscall_args *args, long ret);

#endif
