/* Private to boot/: the pieces rootfs.c and container_fs.c share to build a guest's tree. */
#ifndef RUNSC_BOOT_ROOTFS_INTERNAL_H
#define RUNSC_BOOT_ROOTFS_INTERNAL_H

#include "sentry/vfs/vfs.h"

struct memfile;
struct p9_client;

/* Who builds the tree: root, past every permission check. */
#define ROOTFS_CRED                                                                                \
    {                                                                                              \
        .fsuid = 0, .fsgid = 0, .dac_override = true, .fowner = true                               \
    }

struct userns_map;

/* Sets the in-memory filesystems' hooks: data in `mf`, special files opened by the kernel. */
void rootfs_set_hooks(struct memfile *mf);
/* Mounts a filesystem (root dentry reference passes) at `path` of the namespace: a directory,
 * or a file when the root is a file. */
int rootfs_mount_at(struct fs_context *fs, const char *path, struct super_block *sb,
                    struct dentry *root, const char *source, const char *options, int flags);
/* The namespace whose root is an overlay of a tmpfs over the gofer's root tree (attached
 * read-only over `gofer`, which must outlive it, its host ids seen through the user namespace
 * maps `uids` and `gids`, NULL for the identity); *out is its first fs context. */
int rootfs_make_overlay_root(struct p9_client *gofer, const struct userns_map *uids,
                             const struct userns_map *gids, struct fs_context **out);

#endif
