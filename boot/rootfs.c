/* The container's filesystem tree as the sentry sees it: an overlay of an in-memory upper layer
 * over the gofer's read-only tree as the root (writes stay in the sandbox and vanish with it),
 * /dev and /dev/shm over it, then /proc and /sys once the kernel exists. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot/boot.h"
#include "boot/rootfs_internal.h"
#include "lib/p9/p9_client.h"
#include "sentry/fs/dev/dev.h"
#include "sentry/fs/devpts/devpts.h"
#include "sentry/fs/gofer/gofer.h"
#include "sentry/fs/overlay/overlay.h"
#include "sentry/fs/pipe/pipe.h"
#include "sentry/fs/proc/proc.h"
#include "sentry/fs/sys/sys.h"
#include "sentry/fs/tmpfs/tmpfs.h"
#include "sentry/vfs/vfs.h"

int rootfs_mount_at(struct fs_context *fs, const char *path, struct super_block *sb,
                    struct dentry *root, const char *source, const char *options, int flags)
{
    struct vfs_cred cred = ROOTFS_CRED;
    struct walk_ctx ctx = {.fs = fs, .cred = &cred, .start = fs->root};
    struct vfs_path at;
    int walk_flags = WALK_FOLLOW | (S_ISDIR(root->inode->mode) ? WALK_DIRECTORY : 0);
    int err = vfs_walk(&ctx, path, walk_flags, &at);
    /* A directory the image lacks is made first, as runc does (a pause image holds one
     * binary). */
    if (err == -ENOENT && S_ISDIR(root->inode->mode) && (err = vfs_mkdir(&ctx, path, 0755)) == 0)
        err = vfs_walk(&ctx, path, walk_flags, &at);
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

/* FIFOs, sockets and devices found on in-memory filesystems: devices open by number, FIFOs as
 * the pipe their inode stands for. */
static int open_special(struct inode *inode, int flags, struct file **out)
{
    if (S_ISCHR(inode->mode))
        return dev_open_inode(inode, flags, out);
    if (S_ISFIFO(inode->mode))
        return pipe_fifo_open(inode, flags, out);
    return -ENXIO;
}

void rootfs_set_hooks(struct memfile *mf)
{
    /* In-memory files keep their data in the guest's memory file, so shared mappings of them
     * (/dev/shm, the overlay's upper layer) map the very pages read and write use. */
    tmpfs_set_memfile(mf);
    goferfs_set_device_open(dev_open_char);
    tmpfs_set_special_open(open_special);
    devpts_install_hooks();
}

int rootfs_make_overlay_root(struct p9_client *gofer, const struct userns_map *uids,
                             const struct userns_map *gids, struct fs_context **out)
{
    struct super_block *sb, *upper_sb;
    struct dentry *lower, *upper, *root;
    struct goferfs_options lower_opts = {.readonly = true, .uids = uids, .gids = gids};
    int err;

    if ((err = goferfs_create_tree(gofer, "/", &lower_opts, &sb, &lower)) != 0)
        return err;
    struct inode *li = lower->inode;
    struct tmpfs_options upper_opts = {
        .root_mode = li->mode & 07777, .uid = li->uid, .gid = li->gid};
    if ((err = tmpfs_create(&upper_opts, &upper_sb, &upper)) != 0) {
        dentry_put(lower);
        return err;
    }
    /* The upper root stands for the lower one: same times, as a copy-up would give it. */
    upper->inode->atime = li->atime;
    upper->inode->mtime = li->mtime;
    upper->inode->ctime = li->ctime;
    err = overlay_create(lower, upper, &sb, &root);
    dentry_put(lower);
    dentry_put(upper);
    if (err)
        return err;
    struct mount_ns *ns;
    if ((err = mount_ns_create(sb, root, "overlay", 0, &ns)) != 0)
        return err;
    struct vfs_path rp = {ns->root, ns->root->root};
    struct fs_context *fs = fs_context_create(ns, &rp);
    mount_ns_put(ns);
    if (!fs)
        return -ENOMEM;
    *out = fs;
    return 0;
}

int boot_build_rootfs(int gofer_fd, struct memfile *mf, struct fs_context **out)
{
    struct p9_client *client;
    struct super_block *sb;
    struct dentry *root;
    struct fs_context *fs;
    int err;

    rootfs_set_hooks(mf);
    if ((err = p9_client_create(gofer_fd, &client)) != 0)
        return err;
    /* The connection lives as long as the sandbox (the root's tree uses it). */
    if ((err = rootfs_make_overlay_root(client, NULL, NULL, &fs)) != 0)
        return err;

    if ((err = devfs_create(&sb, &root)) != 0 ||
        (err = rootfs_mount_at(fs, "/dev", sb, root, "tmpfs", "mode=755", MNT_NOSUID)) != 0)
        goto fail;
    if ((err = devpts_create(&sb, &root)) != 0 ||
        (err = rootfs_mount_at(fs, "/dev/pts", sb, root, "devpts", DEVPTS_MOUNT_OPTIONS,
                               MNT_NOSUID | MNT_NOEXEC)) != 0)
        goto fail;
    struct tmpfs_options shm = {.root_mode = 01777};
    if ((err = tmpfs_create(&shm, &sb, &root)) != 0 ||
        (err = rootfs_mount_at(fs, "/dev/shm", sb, root, "shm", "mode=1777",
                               MNT_NOSUID | MNT_NODEV)) != 0)
        goto fail;
    *out = fs;
    return 0;
fail:
    fs_context_put(fs);
    return err;
}

int boot_mount_kernel_fs(struct fs_context *fs, struct kernel *k, unsigned ncpus)
{
    struct super_block *sb;
    struct dentry *root;
    int err;
    if ((err = procfs_create(k, &sb, &root)) != 0 ||
        (err = rootfs_mount_at(fs, "/proc", sb, root, "proc", "",
                               MNT_NOSUID | MNT_NODEV | MNT_NOEXEC)) != 0)
        return err;
    if ((err = sysfs_create(ncpus, &sb, &root)) != 0 ||
        (err = rootfs_mount_at(fs, "/sys", sb, root, "sysfs", "",
                               MNT_READONLY | MNT_NOSUID | MNT_NODEV | MNT_NOEXEC)) != 0)
        return err;
    return 0;
}
