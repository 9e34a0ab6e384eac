/* The container's filesystem tree as the sentry sees it: the gofer's tree as the root, read-only
 * as `runsc do` serves it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot/boot.h"
#include "lib/p9/p9_client.h"
#include "sentry/fs/gofer/gofer.h"
#include "sentry/vfs/vfs.h"

int boot_build_rootfs(int gofer_fd, struct fs_context **out)
{
    struct p9_client *client;
    int err = p9_client_create(gofer_fd, &client);
    if (err)
        return err;
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
    *out = fs;
    return 0;
}
