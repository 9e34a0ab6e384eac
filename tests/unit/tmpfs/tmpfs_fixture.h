/* A tmpfs mounted as the root of a mount namespace, walked with root's credentials (or another
 * user's), for the tmpfs and VFS unit tests. Include after cmocka.h. */
#ifndef RUNSC_TESTS_UNIT_TMPFS_FIXTURE_H
#define RUNSC_TESTS_UNIT_TMPFS_FIXTURE_H

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sentry/fs/tmpfs/tmpfs.h"
#include "sentry/vfs/vfs.h"

struct fx {
    struct mount_ns *ns;
    struct fs_context *fs;
    struct vfs_cred root_cred, user_cred;
    struct walk_ctx ctx;  /* root */
    struct walk_ctx user; /* uid/gid 1000, no capabilities */
};

static inline struct fx *fx_create(const struct tmpfs_options *opts)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    struct super_block *sb;
    struct dentry *root;
    assert_int_equal(tmpfs_create(opts, &sb, &root), 0);
    assert_int_equal(mount_ns_create(sb, root, "tmpfs", 0, &fx->ns), 0);
    struct vfs_path rp = {fx->ns->root, fx->ns->root->root};
    fx->fs = fs_context_create(fx->ns, &rp);
    assert_non_null(fx->fs);
    fx->root_cred = (struct vfs_cred){.dac_override = true, .fowner = true, .mknod = true};
    fx->user_cred = (struct vfs_cred){.fsuid = 1000, .fsgid = 1000};
    fx->ctx = (struct walk_ctx){fx->fs, &fx->root_cred, fx->fs->root, 0};
    fx->user = (struct walk_ctx){fx->fs, &fx->user_cred, fx->fs->root, 0};
    return fx;
}

static inline void fx_destroy(struct fx *fx)
{
    fs_context_put(fx->fs);
    mount_ns_put(fx->ns);
    free(fx);
}

static inline int fx_setup(void **state)
{
    *state = fx_create(NULL);
    return 0;
}

static inline int fx_teardown(void **state)
{
    fx_destroy(*state);
    return 0;
}

/* Writes `data` to path (created or truncated) through vfs_open and file_write. */
static inline void fx_write(struct fx *fx, const char *path, const char *data)
{
    struct file *f;
    assert_int_equal(vfs_open(&fx->ctx, path, O_WRONLY | O_CREAT | O_TRUNC, 0644, &f), 0);
    size_t len = strlen(data);
    assert_int_equal(file_write(f, NULL, data, len), (ssize_t)len);
    file_put(f);
}

/* Reads the whole file (up to size - 1 bytes) into buf, NUL-terminated; returns the length. */
static inline ssize_t fx_read(struct fx *fx, const char *path, char *buf, size_t size)
{
    struct file *f;
    int err = vfs_open(&fx->ctx, path, O_RDONLY, 0, &f);
    if (err)
        return err;
    ssize_t n = file_pread(f, buf, size - 1, 0);
    file_put(f);
    buf[n > 0 ? n : 0] = '\0';
    return n;
}

/* lstat (follow = false) or stat of a path: 0 or -errno. */
static inline int fx_stat(struct fx *fx, const char *path, bool follow, struct stat *st)
{
    struct vfs_path p;
    int err = vfs_walk(&fx->ctx, path, follow ? WALK_FOLLOW : 0, &p);
    if (err)
        return err;
    err = inode_stat(p.dentry->inode, st);
    vfs_path_put(&p);
    return err;
}

static inline nlink_t fx_nlink(struct fx *fx, const char *path)
{
    struct stat st;
    assert_int_equal(fx_stat(fx, path, false, &st), 0);
    return st.st_nlink;
}

static inline bool fx_exists(struct fx *fx, const char *path)
{
    struct stat st;
    return fx_stat(fx, path, false, &st) == 0;
}

/* The inode at path, referenced. */
static inline struct inode *fx_inode(struct fx *fx, const char *path)
{
    struct vfs_path p;
    assert_int_equal(vfs_walk(&fx->ctx, path, 0, &p), 0);
    struct inode *inode = p.dentry->inode;
    inode_get(inode);
    vfs_path_put(&p);
    return inode;
}

#endif
