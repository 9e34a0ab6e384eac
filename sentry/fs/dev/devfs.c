/* devfs: a tmpfs populated as a container's /dev (the entries runc and gVisor give one), whose
 * character device nodes open the sentry's devices. */
#include <errno.h>
#include <sys/sysmacros.h>

#include "sentry/fs/dev/dev.h"
#include "sentry/fs/tmpfs/tmpfs.h"

/* Character devices are ours; FIFOs and sockets made in /dev go to the kernel's hook. */
static int devfs_special_open(struct inode *inode, int flags, struct file **out)
{
    if (S_ISCHR(inode->mode))
        return dev_open_inode(inode, flags, out);
    return tmpfs_special_open(inode, flags, out);
}

struct devfs_entry {
    const char *name;
    mode_t mode; /* type and permissions */
    unsigned major, minor;
    const char *target; /* symlinks */
};

static const struct devfs_entry devfs_entries[] = {
    {"null", S_IFCHR | 0666, 1, 3, NULL},
    {"zero", S_IFCHR | 0666, 1, 5, NULL},
    {"full", S_IFCHR | 0666, 1, 7, NULL},
    {"random", S_IFCHR | 0666, 1, 8, NULL},
    {"urandom", S_IFCHR | 0666, 1, 9, NULL},
    {"tty", S_IFCHR | 0666, 5, 0, NULL},
    {"fd", S_IFLNK | 0777, 0, 0, "/proc/self/fd"},
    {"stdin", S_IFLNK | 0777, 0, 0, "/proc/self/fd/0"},
    {"stdout", S_IFLNK | 0777, 0, 0, "/proc/self/fd/1"},
    {"stderr", S_IFLNK | 0777, 0, 0, "/proc/self/fd/2"},
    {"shm", S_IFDIR | 01777, 0, 0, NULL},
    {"pts", S_IFDIR | 0755, 0, 0, NULL},
    {"ptmx", S_IFLNK | 0777, 0, 0, "pts/ptmx"},
};

static int devfs_add(struct inode *dir, const struct devfs_entry *e, const struct vfs_cred *cred)
{
    struct inode *inode;
    int err;
    if (S_ISLNK(e->mode))
        err = dir->ops->symlink(dir, e->name, e->target, cred, &inode);
    else if (S_ISDIR(e->mode))
        err = dir->ops->mkdir(dir, e->name, e->mode, cred, &inode);
    else
        err = dir->ops->mknod(dir, e->name, e->mode, makedev(e->major, e->minor), cred, &inode);
    if (err)
        return err;
    inode_put(inode);
    return 0;
}

int devfs_create(struct super_block **sb, struct dentry **root)
{
    struct tmpfs_options opts = {.root_mode = 0755, .special_open = devfs_special_open};
    struct super_block *s;
    struct dentry *d;
    int err = tmpfs_create(&opts, &s, &d);
    if (err)
        return err;
    const struct vfs_cred root_cred = {.dac_override = true, .fowner = true, .mknod = true};
    for (size_t i = 0; i < sizeof(devfs_entries) / sizeof(devfs_entries[0]); i++) {
        err = devfs_add(d->inode, &devfs_entries[i], &root_cred);
        if (err) {
            dentry_put(d); /* frees the filesystem */
            return err;
        }
    }
    *sb = s;
    *root = d;
    return 0;
}
