/* Pipes: a bounded byte buffer between a read end and a write end, with pipe(7)'s rules:
 * reads block while it is empty and there are writers, and see end of file once there are none;
 * writes of up to PIPE_BUF bytes are atomic; writing with no readers is EPIPE. FIFOs (named
 * pipes, fifo(7)) are the same pipes, found through their inode while any end is open.
 *
 * Lock order: the FIFO registry's lock → a pipe's lock → wait queue locks. */
#ifndef RUNSC_SENTRY_FS_PIPE_PIPE_H
#define RUNSC_SENTRY_FS_PIPE_PIPE_H

#include <stdbool.h>
#include <stdint.h>

#include "sentry/vfs/vfs.h"

/* Makes a pipe's two open files (O_RDONLY and O_WRONLY, plus O_NONBLOCK if asked); the caller
 * owns one reference to each. Returns 0 or -ENOMEM. */
int pipe_create(int extra_flags, struct file **read_end, struct file **write_end);

/* F_GETPIPE_SZ / F_SETPIPE_SZ: the capacity, or the new one (-EBADF for a non-pipe, -EBUSY if
 * the data doesn't fit, -EPERM beyond pipe-max-size without privilege). */
long pipe_get_size(struct file *f);
long pipe_set_size(struct file *f, uint64_t size, bool privileged);

/* Whether f is either end of a pipe (splice(2) needs one). */
bool pipe_is_pipe(const struct file *f);

/* Whether f is an end of an anonymous pipe (pipe(2), or one reopened through /proc): /proc
 * shows its name, "pipe:[ino]", rather than a path. */
bool pipe_is_anonymous(const struct file *f);

/* The magic link /proc/PID/fd/N to an anonymous pipe's end f: a referenced path to an S_IFIFO
 * inode (in the internal pipefs) whose open opens the same pipe again as a FIFO open would.
 * -ENXIO for any file that is no anonymous pipe, -ENOMEM. */
int pipe_reopen_path(struct file *f, struct vfs_path *out);

/* Opens the FIFO `inode` with open(2)'s `flags` (for a filesystem's open of an S_IFIFO node),
 * as the calling task (task_current()): O_RDONLY waits for a writer and O_WRONLY for a reader
 * unless O_NONBLOCK (then O_WRONLY without a reader is ENXIO); O_RDWR never waits. Returns 0,
 * -ERESTARTSYS when a signal interrupts the wait, -ENXIO or -ENOMEM. */
int pipe_fifo_open(struct inode *inode, int flags, struct file **out);

#endif
