/* /dev: a tmpfs populated with the character devices the sentry serves (null, zero, full,
 * random, urandom, tty) and the usual links and directories (fd, stdin/stdout/stderr, shm/,
 * pts/, ptmx). The devices are reached by number, so a device node made anywhere (mknod in a
 * tmpfs, the host's /dev through the gofer) opens the same device.
 *
 * /dev/zero's mmap is anonymous memory: its files leave mmap NULL and the mmap syscall maps
 * anonymous memory for a file that is dev_is_zero(). */
#ifndef RUNSC_SENTRY_FS_DEV_DEV_H
#define RUNSC_SENTRY_FS_DEV_DEV_H

#include <stdbool.h>
#include <sys/types.h>

#include "sentry/vfs/vfs.h"

/* Makes /dev: its super block and root dentry (one reference, for the caller's mount). The
 * kernel mounts a tmpfs on shm/ and devpts on pts/. Returns 0 or -ENOMEM. */
int devfs_create(struct super_block **sb, struct dentry **root);

/* Opens character device `rdev` with open(2) flags: a file without an inode (it stats as the
 * device). -ENXIO for a device the sentry doesn't serve. */
int dev_open_char(dev_t rdev, int flags, struct file **out);
/* Opens the character device an inode names, the file holding the inode (fstat shows the node):
 * for filesystems' special-file open hooks. */
int dev_open_inode(struct inode *inode, int flags, struct file **out);

/* Opens the caller's controlling terminal for /dev/tty (5,0); the kernel sets it once at
 * start-up. Default: -ENXIO (no controlling terminal). */
typedef int (*dev_tty_open_fn)(int flags, struct file **out);
void dev_set_tty_open(dev_tty_open_fn fn);

/* Whether f is /dev/zero (whose shared and private mappings are anonymous memory). */
bool dev_is_zero(const struct file *f);

#endif
