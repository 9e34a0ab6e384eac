/* /sys for the sentry: the few sysfs files programs read to size themselves (CPUs online,
 * transparent huge pages), and an empty fs/cgroup. Generated when read. */
#ifndef RUNSC_SENTRY_FS_SYS_SYS_H
#define RUNSC_SENTRY_FS_SYS_SYS_H

#include "sentry/vfs/vfs.h"

/* Makes a sysfs presenting `ncpus` CPUs (0: the sandbox process's CPU affinity count): its super
 * block and root dentry (a reference for the caller). */
int sysfs_create(unsigned ncpus, struct super_block **sb, struct dentry **root);
/* Drops the root reference and frees the super block once nothing else uses it. */
void sysfs_destroy(struct super_block *sb, struct dentry *root);

#endif
