/* Pipes: a bounded byte buffer between a read end and a write end, with pipe(7)'s rules:
 * reads block while it is empty and there are writers, and see end of file once there are none;
 * writes of up to PIPE_BUF bytes are atomic; writing with no readers is EPIPE. */
#ifndef RUNSC_SENTRY_FS_PIPE_PIPE_H
#define RUNSC_SENTRY_FS_PIPE_PIPE_H

#include "sentry/vfs/vfs.h"

/* Makes a pipe's two open files (O_RDONLY and O_WRONLY, plus O_NONBLOCK if asked); the caller
 * owns one reference to each. Returns 0 or -ENOMEM. */
int pipe_create(int extra_flags, struct file **read_end, struct file **write_end);

/* Whether f is either end of a pipe (splice(2) needs one). */
bool pipe_is_pipe(const struct file *f);

#endif
