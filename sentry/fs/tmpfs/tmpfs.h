/* tmpfs: an in-memory filesystem implementing every inode_ops and file_ops the VFS asks of a
 * full filesystem. Regular files hold sparse 4 KiB pages allocated on write (holes read as zero);
 * directories list their entries in creation order; xattrs (user., trusted., security.) live in
 * memory. FIFOs, sockets and device nodes record their type and rdev; opening one is delegated to
 * a hook (the kernel's pipes and devices), ENXIO until it is set.
 *
 * Lock order (after the VFS's dir_lock): the super block's tree_lock (every directory's entry
 * list) → a regular file's data_lock → inode.lock (attributes, xattrs) → the super block's
 * usage lock (page and inode counts). */
#ifndef RUNSC_SENTRY_FS_TMPFS_TMPFS_H
#define RUNSC_SENTRY_FS_TMPFS_TMPFS_H

#include <stdint.h>
#include <sys/types.h>

#include "sentry/vfs/vfs.h"

#define TMPFS_PAGE_SIZE 4096
/* Linux's MAX_LFS_FILESIZE on 64-bit, tmpfs's s_maxbytes: writes reaching past it are EFBIG. */
#define TMPFS_MAX_FILE_SIZE INT64_MAX

/* Opens a FIFO, socket or device node of a tmpfs (the inode's mode and rdev say which). */
typedef int (*tmpfs_special_open_fn)(struct inode *inode, int flags, struct file **out);

struct tmpfs_options {
    mode_t root_mode; /* permission bits of the root directory, taken as given */
    uid_t uid;        /* owner of the root directory */
    gid_t gid;
    uint64_t size_limit; /* bytes of file data (rounded up to pages); 0: no limit */
    uint64_t nr_inodes;  /* inodes that may exist at once (the root counts); 0: no limit */
    /* Opens this instance's special files instead of the global hook (devfs serves its
     * character devices this way); NULL: the global hook. */
    tmpfs_special_open_fn special_open;
};

/* Makes a tmpfs: its super block and its root directory's dentry (one reference, for the
 * caller's mount). opts NULL: root mode 01777 owned by 0:0, no limits. The super block and
 * everything in the filesystem are freed when its last inode goes. Returns 0 or -ENOMEM. */
int tmpfs_create(const struct tmpfs_options *opts, struct super_block **sb, struct dentry **root);

struct memfile;
/* From now on file data lives in the sentry's memory file (the guest's memory): shared
 * mappings of tmpfs files then map the file's own pages, coherent with read and write. Set once
 * at start-up, before any tmpfs file has data; without it pages come from the heap and shared
 * writable mappings of tmpfs files are refused. */
void tmpfs_set_memfile(struct memfile *mf);

/* Sets the global hook that opens FIFOs, sockets and device nodes (default: -ENXIO). Set once
 * by the kernel at start-up, before any guest runs. */
void tmpfs_set_special_open(tmpfs_special_open_fn fn);
/* Calls the global hook: for an instance's own special_open to fall back on. */
int tmpfs_special_open(struct inode *inode, int flags, struct file **out);

/* Whether the super block is a tmpfs's (the overlay asks before using it as an upper layer). */
bool tmpfs_is_tmpfs(const struct super_block *sb);

#endif
