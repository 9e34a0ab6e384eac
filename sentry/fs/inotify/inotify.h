/* inotify(7) instances: an open file holding a queue of events, and watches that tie it to
 * inodes. The VFS reports events through vfs_notify (sentry/vfs/vfs.h); this module delivers
 * them to the watches on the inode, coalescing a repeat of the last queued event as Linux does.
 *
 * Lock order: watches_lock (inotify.c: every watch list and watch) → an instance's queue lock →
 * its wait queue's lock. All are leaves to the VFS: they are taken under dir_locks and never
 * held across a VFS call. */
#ifndef RUNSC_SENTRY_FS_INOTIFY_INOTIFY_H
#define RUNSC_SENTRY_FS_INOTIFY_INOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "sentry/vfs/vfs.h"

/* Linux's defaults for /proc/sys/fs/inotify/max_queued_events; past it one IN_Q_OVERFLOW
 * stands for what was dropped. */
#define INOTIFY_MAX_QUEUED_EVENTS 16384
/* Watches in the whole sandbox (Linux bounds them per user, 8192 at least): ENOSPC beyond. */
#define INOTIFY_MAX_WATCHES 65536

/* A new instance as an open file (one reference for the caller); `flags` may hold O_NONBLOCK. */
int inotify_create(int flags, struct file **out);
/* Whether f is an inotify instance. */
bool inotify_is_instance(const struct file *f);
/* inotify_add_watch(2) on a resolved inode, after the caller's checks (flags, permission):
 * the watch descriptor (the same one again for an inode already watched), -EEXIST with
 * IN_MASK_CREATE, -ENOSPC or -ENOMEM. */
int inotify_watch_add(struct file *f, struct inode *inode, uint32_t mask);
/* inotify_rm_watch(2): queues IN_IGNORED and drops the watch; -EINVAL for an unknown wd. */
int inotify_watch_remove(struct file *f, int wd);

/* fcntl(F_NOTIFY) (dnotify, fcntl(2)): events in directory f signal its owner (made the
 * caller's process if it has none) with fd as si_fd; without DN_MULTISHOT only once. An arg
 * with no event removes f's mark. -ENOTDIR for a file that is not a directory. */
struct task;
int dnotify_set(struct task *t, struct file *f, int fd, uint64_t arg);
/* Ends f's dnotify marks: on close(2) of any of its fds and when it is released. */
void dnotify_flush(struct file *f);

#endif
