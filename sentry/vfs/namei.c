/* Path walk: components looked up through the dentry cache, mounts crossed, symlinks resolved by
 * the sentry (at most VFS_MAX_SYMLINKS), ".." bounded by the walker's root. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/vfs/vfs.h"

struct walk_state {
    const struct walk_ctx *ctx;
    struct vfs_path root; /* referenced: "/" and the limit of ".." (the start with IN_ROOT) */
    int links;            /* symlinks followed so far */
};

static bool scoped(const struct walk_state *s)
{
    return s->ctx->resolve & (WALK_BENEATH | WALK_IN_ROOT);
}

static void path_set(struct vfs_path *dst, struct mount *mnt, struct dentry *d)
{
    dentry_get(d);
    vfs_path_put(dst);
    dst->mnt = mnt;
    dst->dentry = d;
}

/* Moves *cur to its parent, never above the walker's root, climbing out of mounts. With
 * RESOLVE_BENEATH, ".." at the start is an escape (EXDEV); with RESOLVE_NO_XDEV, so is climbing
 * out of a mount. */
static int walk_dotdot(struct walk_state *s, struct vfs_path *cur)
{
    const struct vfs_path *start = &s->ctx->start;
    for (;;) {
        if ((s->ctx->resolve & WALK_BENEATH) && cur->mnt == start->mnt &&
            cur->dentry == start->dentry)
            return -EXDEV;
        if (cur->mnt == s->root.mnt && cur->dentry == s->root.dentry)
            return 0;
        if (cur->dentry != cur->mnt->root)
            break;
        if (!cur->mnt->parent)
            return 0; /* the namespace's root: ".." stays */
        if (s->ctx->resolve & WALK_NO_XDEV)
            return -EXDEV;
        path_set(cur, cur->mnt->parent, cur->mnt->mountpoint);
    }
    if (cur->dentry->parent)
        path_set(cur, cur->mnt, cur->dentry->parent);
    return 0;
}

static int walk_path(struct walk_state *s, struct vfs_path *cur, const char *path, bool follow_last,
                     char *last, bool *trailing_slash);

/* Replaces *cur (the symlink's path) with what `link` resolves to, relative to `dir`. */
static int walk_symlink(struct walk_state *s, struct vfs_path *dir, struct vfs_path *cur)
{
    if (s->ctx->resolve & WALK_NO_SYMLINKS)
        return -ELOOP;
    if (++s->links > VFS_MAX_SYMLINKS)
        return -ELOOP;
    struct inode *inode = cur->dentry->inode;
    if (inode->ops->get_link_path) {
        /* A magic link: jump to the object itself, whatever its name reads as now. */
        if (s->ctx->resolve & WALK_NO_MAGICLINKS)
            return -ELOOP;
        if (scoped(s))
            return -EXDEV; /* not safe for scoped lookups (Linux's nd_jump_link) */
        struct vfs_path target;
        int err = inode->ops->get_link_path(inode, &target);
        if (err)
            return err;
        if ((s->ctx->resolve & WALK_NO_XDEV) && target.mnt != cur->mnt) {
            vfs_path_put(&target);
            return -EXDEV;
        }
        vfs_path_put(cur);
        *cur = target;
        return 0;
    }
    if (!inode->ops->readlink)
        return -EINVAL;
    char *target = malloc(PATH_MAX);
    if (!target)
        return -ENOMEM;
    ssize_t n = inode->ops->readlink(inode, target, PATH_MAX - 1);
    if (n < 0) {
        free(target);
        return (int)n;
    }
    target[n] = '\0';
    if (n == 0) {
        free(target);
        return -ENOENT;
    }
    struct vfs_path next = target[0] == '/' ? s->root : *dir;
    vfs_path_get(&next);
    int err = walk_path(s, &next, target, true, NULL, NULL);
    free(target);
    if (err) {
        vfs_path_put(&next);
        return err;
    }
    vfs_path_put(cur);
    *cur = next;
    return 0;
}

/* Walks `path` from *cur (referenced, replaced with the result). With `last`, stops before the
 * last component and copies it there. */
static int walk_path(struct walk_state *s, struct vfs_path *cur, const char *path, bool follow_last,
                     char *last, bool *trailing_slash)
{
    const struct walk_ctx *ctx = s->ctx;
    if (path[0] == '/') {
        if (ctx->resolve & WALK_BENEATH)
            return -EXDEV;
        if ((ctx->resolve & WALK_NO_XDEV) && cur->mnt != s->root.mnt)
            return -EXDEV;
        path_set(cur, s->root.mnt, s->root.dentry);
    }
    if (last) {
        last[0] = '\0';
        *trailing_slash = false;
    }
    const char *p = path;
    for (;;) {
        while (*p == '/')
            p++;
        if (!*p)
            return 0;
        const char *end = strchrnul(p, '/');
        size_t len = (size_t)(end - p);
        if (len > NAME_MAX)
            return -ENAMETOOLONG;
        const char *rest = end;
        while (*rest == '/')
            rest++;
        bool is_last = *rest == '\0';
        bool slash_after = *end == '/';
        char name[NAME_MAX + 1];
        memcpy(name, p, len);
        name[len] = '\0';
        p = end;

        struct inode *dir_inode = cur->dentry->inode;
        if (!S_ISDIR(dir_inode->mode))
            return -ENOTDIR;
        if (is_last && last) {
            memcpy(last, name, len + 1);
            *trailing_slash = slash_after;
            return 0;
        }
        int err = inode_permission(dir_inode, ctx->cred, MAY_EXEC);
        if (err)
            return err;
        if (strcmp(name, ".") == 0)
            continue;
        if (strcmp(name, "..") == 0) {
            if ((err = walk_dotdot(s, cur)) != 0)
                return err;
            continue;
        }
        struct dentry *child;
        err = vfs_lookup_child(cur->dentry, name, false, &child);
        if (err)
            return err;
        struct vfs_path next = {cur->mnt, child};
        if (mount_ns_cross(ctx->fs->ns, &next) && (ctx->resolve & WALK_NO_XDEV)) {
            vfs_path_put(&next);
            return -EXDEV;
        }
        if (S_ISLNK(next.dentry->inode->mode) && (!is_last || follow_last || slash_after)) {
            err = walk_symlink(s, cur, &next);
            if (err) {
                vfs_path_put(&next);
                return err;
            }
        }
        vfs_path_put(cur);
        *cur = next;
        if (is_last && slash_after && !S_ISDIR(cur->dentry->inode->mode))
            return -ENOTDIR;
    }
}

static void walk_begin(struct walk_state *s, const struct walk_ctx *ctx, struct vfs_path *cur)
{
    s->ctx = ctx;
    s->links = 0;
    pthread_mutex_lock(&ctx->fs->lock);
    s->root = (ctx->resolve & WALK_IN_ROOT) ? ctx->start : ctx->fs->root;
    vfs_path_get(&s->root);
    pthread_mutex_unlock(&ctx->fs->lock);
    *cur = ctx->start;
    vfs_path_get(cur);
}

int vfs_walk(const struct walk_ctx *ctx, const char *path, int flags, struct vfs_path *out)
{
    if (!path[0] && !(flags & WALK_EMPTY))
        return -ENOENT;
    struct walk_state s;
    struct vfs_path cur;
    walk_begin(&s, ctx, &cur);
    int err = walk_path(&s, &cur, path, flags & WALK_FOLLOW, NULL, NULL);
    if (!err && (flags & WALK_DIRECTORY) && !S_ISDIR(cur.dentry->inode->mode))
        err = -ENOTDIR;
    vfs_path_put(&s.root);
    dcache_shrink();
    if (err) {
        vfs_path_put(&cur);
        return err;
    }
    *out = cur;
    return 0;
}

int vfs_walk_parent(const struct walk_ctx *ctx, const char *path, struct vfs_path *parent,
                    char *last, bool *trailing_slash)
{
    if (!path[0])
        return -ENOENT;
    struct walk_state s;
    struct vfs_path cur;
    walk_begin(&s, ctx, &cur);
    int err = walk_path(&s, &cur, path, false, last, trailing_slash);
    if (!err && !S_ISDIR(cur.dentry->inode->mode))
        err = -ENOTDIR;
    if (!err)
        err = inode_permission(cur.dentry->inode, ctx->cred, MAY_EXEC);
    vfs_path_put(&s.root);
    dcache_shrink();
    if (err) {
        vfs_path_put(&cur);
        return err;
    }
    *parent = cur;
    return 0;
}
