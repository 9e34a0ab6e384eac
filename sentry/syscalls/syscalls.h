/* The syscall table and the helpers handlers share. A handler is `sys_<name>` in the file of its
 * family; it returns what the guest sees (a value or -errno). */
#ifndef RUNSC_SENTRY_SYSCALLS_SYSCALLS_H
#define RUNSC_SENTRY_SYSCALLS_SYSCALLS_H

#include <stdint.h>

#include "sentry/kernel/kernel.h"

struct syscall_args {
    uint64_t a[6];
};

typedef long (*syscall_handler)(struct task *t, const struct syscall_args *args);

struct syscall_entry {
    const char *name;
    syscall_handler handler; /* NULL: not implemented (ENOSYS) */
    const char *format;      /* strace argument format, see strace.c */
};

/* Generated from arch/<arch>/syscalls.tbl and syscalls.list. */
extern const struct syscall_entry syscall_table[];
extern const unsigned syscall_table_size;

/* A handler's return value meaning "the registers are already what the guest must see"
 * (rt_sigreturn); outside the -errno range so it can't be confused with an error. */
#define SYSCALL_KEEP_REGS (-0x10000L)

/* Runs the syscall the task stopped on and writes its result into the task's registers. */
void syscall_dispatch(struct task *t);
/* Whether --strace is on, and turning it on. */
void syscall_set_strace(bool on);

#endif
