/* memfd_create(2): an anonymous file in memory. Each is a file of a tmpfs instance private to the
 * sentry (never mounted where a guest could walk to it), created and unlinked at once, so it
 * lives as long as its open file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <linux/memfd.h>

#include "sentry/fs/tmpfs/tmpfs.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

#define MFD_NAME_MAX 249 /* NAME_MAX minus "memfd:" */

static pthread_once_t memfd_once = PTHREAD_ONCE_INIT;
static struct fs_context *memfd_fs; /* the private tmpfs; NULL if it could not be made */
static _Atomic unsigned long memfd_seq;

static void memfd_fs_init(void)
{
    struct super_block *sb;
    struct dentry *root;
    struct tmpfs_options opts = {.root_mode = 01777};
    if (tmpfs_create(&opts, &sb, &root) != 0)
        return;
    struct mount_ns *ns;
    if (mount_ns_create(sb, root, "memfd", 0, &ns) != 0)
        return;
    struct vfs_path rp = {ns->root, ns->root->root};
    memfd_fs = fs_context_create(ns, &rp);
    mount_ns_put(ns);
}

long sys_memfd_create(struct task *t, const struct syscall_args *a)
{
    unsigned flags = (unsigned)a->a[1];
    if (flags & ~(unsigned)(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB |
                            ((unsigned)MFD_HUGE_MASK << MFD_HUGE_SHIFT)))
        return -EINVAL;
    if (flags & MFD_HUGETLB)
        return -EINVAL; /* no hugetlbfs in the sandbox */
    char name[MFD_NAME_MAX + 1];
    long len = mm_copy_string_in(t->mm, a->a[0], name, sizeof(name));
    if (len < 0)
        return len == -ENAMETOOLONG ? -EINVAL : len;
    pthread_once(&memfd_once, memfd_fs_init);
    if (!memfd_fs)
        return -ENOMEM;
    /* A unique name per file: a '/' in the guest's name is fine, it never reaches a walk. */
    char path[64];
    snprintf(path, sizeof(path), "/memfd-%lu", ++memfd_seq);
    struct vfs_cred root = {.fsuid = t->creds.fsuid, .fsgid = t->creds.fsgid,
                            .dac_override = true, .fowner = true};
    struct walk_ctx ctx = {.fs = memfd_fs, .cred = &root, .start = memfd_fs->root};
    struct file *f;
    int err = vfs_open(&ctx, path, O_RDWR | O_CREAT | O_EXCL | O_LARGEFILE, 0777, &f);
    if (err)
        return err;
    vfs_unlink(&ctx, path);
    char shown[sizeof("memfd:") + MFD_NAME_MAX];
    snprintf(shown, sizeof(shown), "memfd:%s", name);
    if ((err = dentry_rename_unlinked(f->path.dentry, shown)) != 0) {
        file_put(f);
        return err;
    }
    long fd = fdtable_install_lowest(t->fds, 0, task_nofile_limit(t), f, flags & MFD_CLOEXEC);
    file_put(f);
    return fd;
}
