/* The gofer filesystem: a mount tree served by a gofer process over 9P2000.L. Regular files are
 * read and written through host fds the gofer donates with Rlopen, so the data path makes no
 * round trip; everything else (walks, attributes, directory listings, changes) is a 9P call.
 *
 * Caching: the sentry assumes it is the only one changing the served tree (gVisor's "exclusive"
 * file access, the right model for a container's root): attributes and symlink targets fetched
 * once per inode are kept and updated by the sentry's own changes; cached dentries are never
 * revalidated against the host. */
#ifndef RUNSC_SENTRY_FS_GOFER_GOFER_H
#define RUNSC_SENTRY_FS_GOFER_GOFER_H

#include <stdbool.h>

#include "sentry/vfs/vfs.h"

struct p9_client;

struct userns_map;

/* How a tree is attached: `readonly` refuses changes with EROFS without asking the gofer;
 * `uids` and `gids` (NULL: the identity map) are the sandbox's user namespace, which the
 * served files' host ids are seen through (sentry/userns). */
struct goferfs_options {
    bool readonly;
    const struct userns_map *uids, *gids;
};

/* Attaches to the gofer's root over `client` (ownership passes to the filesystem) and makes the
 * super block and root dentry. */
int goferfs_create(struct p9_client *client, const struct goferfs_options *o,
                   struct super_block **sb, struct dentry **root);

/* Attaches to the gofer's tree `aname` over `client`, which stays the caller's: several trees of
 * one gofer share its connection, which must outlive them all (the sandbox's lifetime). A tree
 * whose root is a file (a file bind mount) has a file as its root dentry. */
int goferfs_create_tree(struct p9_client *client, const char *aname,
                        const struct goferfs_options *o, struct super_block **sb,
                        struct dentry **root);

/* Opens character devices found on the served tree (the same device numbers as /dev's);
 * set by whoever wires the filesystems together. Default: ENXIO. */
void goferfs_set_device_open(int (*open_char)(dev_t rdev, int flags, struct file **out));

#endif
