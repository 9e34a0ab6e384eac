/* /proc for the sentry: a synthetic filesystem generated from kernel state when read. Global
 * files (meminfo, cpuinfo, stat, uptime, loadavg, version, filesystems, sys/...), /proc/self and
 * /proc/thread-self (the calling task, task_current()), and one directory per process with
 * status, stat, statm, cmdline, environ, auxv, maps, smaps_rollup, fd/, fdinfo/, exe, cwd, root,
 * mounts, mountinfo, limits, comm, oom_score_adj, cgroup and task/TID/. */
#ifndef RUNSC_SENTRY_FS_PROC_PROC_H
#define RUNSC_SENTRY_FS_PROC_PROC_H

#include "sentry/kernel/kernel.h"
#include "sentry/vfs/vfs.h"

/* Makes a proc filesystem for the kernel's processes: its super block and root dentry (a
 * reference for the caller, e.g. to pass to mount_ns_add). */
int procfs_create(struct kernel *k, struct super_block **sb, struct dentry **root);
/* Drops the root reference and frees the super block once nothing else uses the filesystem. */
void procfs_destroy(struct super_block *sb, struct dentry *root);

/* The tgid of a /proc/PID directory open at `f` (which pidfd_send_signal(2) takes as a pidfd),
 * or -EBADF for any other file. */
int procfs_file_tgid(struct file *f);

#endif
