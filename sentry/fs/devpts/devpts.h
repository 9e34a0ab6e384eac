/* devpts: Unix 98 pseudo-terminals (pty(7)). /dev/pts/ptmx opens a new master; /dev/pts/N names
 * its slave while the master lives. The line discipline, controlling terminals and job control
 * (tty(4), termios(3), credentials(7)) live here too. Mounted as with "gid=5,mode=620,
 * ptmxmode=666": slaves are crw--w---- owned by their opener and group tty (5). */
#ifndef RUNSC_SENTRY_FS_DEVPTS_DEVPTS_H
#define RUNSC_SENTRY_FS_DEVPTS_DEVPTS_H

#include "sentry/vfs/vfs.h"

/* The mount options devpts_create's filesystem behaves as (for /proc/mounts). */
#define DEVPTS_MOUNT_OPTIONS "gid=5,mode=620,ptmxmode=666"

/* Makes the devpts filesystem: its super block and root dentry (one reference, for the caller's
 * mount). There is one pty number space for the sandbox. 0 or -ENOMEM. */
int devpts_create(struct super_block **sb, struct dentry **root);

/* Sets the kernel's and /dev's hooks: /dev/tty opens the caller's controlling terminal, and a
 * session leader's exit hangs its terminal up. Once at start-up, before guests run. */
void devpts_install_hooks(void);

/* /dev/tty: the caller's controlling terminal, opened as its slave; -ENXIO without one. */
int devpts_open_ctty(int flags, struct file **out);

#endif
