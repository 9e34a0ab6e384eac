/* The container's filesystem tree as the sentry sees it: the gofer's tree as the root (read-only
 * as `runsc do` serves it), /dev and /dev/shm over it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot/boot.h"
#include "lib/p9/p9_client.h"
#include "sentry/fs/dev/dev.h"
#include "sentry/fs/gofer/gofer.h"
#include "sentry/fs/tmpfs/tmpfs.h"
#include "sentry/vfs/vfs.h"

/* Mounts a filesystem (root dentry reference passes) at `path` of the namespace. */
static int mount_at(struct fs_context *fs, const char *path, struct super_block *sb,
                    struct dentry *root, const char *source, const char *options, int flags)
{
    struct vfs_cred cred = {.fsuid = 0, .fsgid = 0, .dac_override = true, .fowner = true};
    struct walk_ctx ctx = {.fs = fs, .cred = &cred, .start = fs->root};
    struct vfs_path at;
    int err = vfs_walk(&ctx, path, WALK_FOLLOW | WALK_DIRECTORY, &at);
    if (err) {
        dentry_put(root);
        return err;
    }
    err = mount_ns_add(fs->ns, &at, sb, root, source, options, flags);
    vfs_path_put(&at);
    if (err)
        dentry_put(root);
    return err;
}

/* FIFOs, sockets and devices found on in-memory filesystems: devices open by number. */
static int open_special(struct inode *inode, int flags, struct file **out)
{
    if (S_ISCHR(inode->mode))
        return dev_open_inode(inode, flags, out);
    return -ENXIO;
}

int boot_build_rootfs(int gofer_fd, struct fs_context **out)
{
    struct p9_client *client;
    int err = p9_client_create(gofer_fd, &client);
    if (err)
        return err;
    goferfs_set_device_open(dev_open_char);
    tmpfs_set_special_open(open_special);
    struct super_block *sb;
    struct dentry *root;
    if ((err = goferfs_create(client, true, &sb, &root)) != 0)
        return err;
    struct mount_ns *ns;
    if ((err = mount_ns_create(sb, root, "none", MNT_READONLY, &ns)) != 0)
        return err;
    struct vfs_path rp = {ns->root, ns->root->root};
    struct fs_context *fs = fs_context_create(ns, &rp);
    mount_ns_put(ns);
    if (!fs)
        return -ENOMEM;

    if ((err = devfs_create(&sb, &root)) != 0 ||
        (err = mount_at(fs, "/dev", sb, root, "tmpfs", "mode=755", MNT_NOSUID)) != 0)
        goto fail;
    struct tmpfs_options shm = {.root_mode = 01777};
    if ((err = tmpfs_create(&shm, &sb, &root)) != 0 ||
        (err = mount_at(fs, "/dev/shm", sb, root, "shm", "mode=1777",
                        MNT_NOSUID | MNT_NODEV)) != 0)
        goto fail;
    *out = fs;
    return 0;
fail:
    fs_context_put(fs);
    return err;
}
