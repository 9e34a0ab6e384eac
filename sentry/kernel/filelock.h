/* Advisory file locks: fcntl(2) record and OFD locks, flock(2). See filelock.c. */
#ifndef RUNSC_SENTRY_KERNEL_FILELOCK_H
#define RUNSC_SENTRY_KERNEL_FILELOCK_H

#include "sentry/kernel/kernel.h"

/* F_GETLK, F_SETLK, F_SETLKW and the F_OFD_ forms, with the guest's struct flock at `arg`. */
long filelock_fcntl(struct task *t, struct file *f, int cmd, uint64_t arg);
/* flock(2). */
long filelock_flock(struct task *t, struct file *f, int op);
/* A process closed an fd of f's file: its POSIX locks on the file go (all of them, per POSIX). */
void filelock_close(struct thread_group *tg, struct file *f);
/* The process is gone: all its POSIX locks go. */
void filelock_release_process(struct thread_group *tg);
/* The open file description is gone: its OFD and flock locks go. */
void filelock_file_released(struct file *f);

#endif
