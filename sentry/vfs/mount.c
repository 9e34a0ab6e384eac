/* Mounts and mount namespaces; paths as strings; per-process filesystem contexts. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/vfs/vfs.h"
#include "sentry/vfs/vfs_internal.h"

void vfs_path_get(const struct vfs_path *p)
{
    if (p->dentry)
        dentry_get(p->dentry);
}

void vfs_path_put(struct vfs_path *p)
{
    if (p->dentry)
        dentry_put(p->dentry);
    p->dentry = NULL;
    p->mnt = NULL;
}

static struct mount *mount_alloc(struct mount_ns *ns, struct super_block *sb,
                                 struct dentry *root, const char *source, const char *options,
                                 int flags)
{
    struct mount *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->source = strdup(source ? source : "none");
    m->options = strdup(options ? options : "");
    if (!m->source || !m->options) {
        free(m->source);
        free(m->options);
        free(m);
        return NULL;
    }
    m->id = ns->next_id++;
    m->sb = sb;
    m->root = root;
    m->flags = flags;
    return m;
}

int mount_ns_create(struct super_block *sb, struct dentry *root_dentry, const char *source,
                    int flags, struct mount_ns **out)
{
    struct mount_ns *ns = calloc(1, sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    atomic_init(&ns->refs, 1);
    pthread_mutex_init(&ns->lock, NULL);
    ns->next_id = 20; /* Linux's first ids go to its own internal mounts */
    ns->root = mount_alloc(ns, sb, root_dentry, source, NULL, flags);
    if (!ns->root) {
        free(ns);
        return -ENOMEM;
    }
    ns->mounts = ns->root;
    *out = ns;
    return 0;
}

void mount_ns_get(struct mount_ns *ns)
{
    /* Relaxed: taking a reference needs no ordering. */
    atomic_fetch_add_explicit(&ns->refs, 1, memory_order_relaxed);
}

void mount_ns_put(struct mount_ns *ns)
{
    if (!ns || atomic_fetch_sub_explicit(&ns->refs, 1, memory_order_acq_rel) != 1)
        return;
    /* Mountpoints first, so no mount pins another's tree; then each tree is pruned from its
     * filesystem's root (a bind mount's root may sit inside another mount's tree). */
    for (struct mount *m = ns->mounts; m; m = m->ns_next) {
        if (!m->mountpoint)
            continue;
        /* Release: pairs with mount_ns_cross's acquire, as in mount_ns_add. The dentry may
         * live on in another namespace's tree, no longer a mountpoint. */
        atomic_fetch_sub_explicit(&m->mountpoint->mounted, 1, memory_order_release);
        dentry_put(m->mountpoint);
        m->mountpoint = NULL;
    }
    struct mount *m = ns->mounts;
    while (m) {
        struct mount *next = m->ns_next;
        pthread_mutex_lock(&vfs_rename_lock);
        struct dentry *top = m->root;
        while (top->parent)
            top = top->parent;
        dentry_get(top);
        pthread_mutex_unlock(&vfs_rename_lock);
        dentry_put(m->root);
        dcache_prune(top);
        dentry_put(top);
        free(m->source);
        free(m->options);
        free(m);
        m = next;
    }
    pthread_mutex_destroy(&ns->lock);
    free(ns);
}

int mount_ns_add(struct mount_ns *ns, const struct vfs_path *at, struct super_block *sb,
                 struct dentry *root_dentry, const char *source, const char *options, int flags)
{
    if (!S_ISDIR(at->dentry->inode->mode) && S_ISDIR(root_dentry->inode->mode))
        return -ENOTDIR;
    pthread_mutex_lock(&ns->lock);
    struct mount *m = mount_alloc(ns, sb, root_dentry, source, options, flags);
    if (!m) {
        pthread_mutex_unlock(&ns->lock);
        return -ENOMEM;
    }
    m->parent = at->mnt;
    m->mountpoint = at->dentry;
    dentry_get(at->dentry);
    struct mount **pp = &ns->mounts;
    while (*pp)
        pp = &(*pp)->ns_next;
    *pp = m;
    atomic_fetch_add_explicit(&at->dentry->mounted, 1, memory_order_release);
    pthread_mutex_unlock(&ns->lock);
    return 0;
}

bool mount_ns_cross(struct mount_ns *ns, struct vfs_path *p)
{
    bool crossed = false;
    /* Acquire: pairs with mount_ns_add's release so the mount list is seen complete. */
    while (atomic_load_explicit(&p->dentry->mounted, memory_order_acquire)) {
        struct mount *top = NULL;
        pthread_mutex_lock(&ns->lock);
        for (struct mount *m = ns->mounts; m; m = m->ns_next)
            if (m->parent == p->mnt && m->mountpoint == p->dentry)
                top = m; /* the last one mounted there is on top */
        if (top)
            dentry_get(top->root);
        pthread_mutex_unlock(&ns->lock);
        if (!top)
            break;
        dentry_put(p->dentry);
        p->mnt = top;
        p->dentry = top->root;
        crossed = true;
    }
    return crossed;
}

void mount_ns_for_each(struct mount_ns *ns, void (*fn)(struct mount *m, void *arg), void *arg)
{
    pthread_mutex_lock(&ns->lock);
    for (struct mount *m = ns->mounts; m; m = m->ns_next)
        fn(m, arg);
    pthread_mutex_unlock(&ns->lock);
}

int vfs_path_string(struct mount_ns *ns, const struct vfs_path *root, const struct vfs_path *p,
                    char *buf, size_t size)
{
    /* Built backwards from the end of buf, then moved to the front. */
    if (size < 2)
        return -ENAMETOOLONG;
    size_t pos = size - 1;
    buf[pos] = '\0';
    struct mount *mnt = p->mnt;
    struct dentry *d = p->dentry;
    /* Names and parents change only under the rename lock. */
    pthread_mutex_lock(&vfs_rename_lock);
    pthread_mutex_lock(&ns->lock);
    while (!(mnt == root->mnt && d == root->dentry)) {
        if (d == mnt->root) {
            if (!mnt->parent)
                break;
            d = mnt->mountpoint;
            mnt = mnt->parent;
            continue;
        }
        size_t len = strlen(d->name);
        if (pos < len + 1) {
            pthread_mutex_unlock(&ns->lock);
            pthread_mutex_unlock(&vfs_rename_lock);
            return -ENAMETOOLONG;
        }
        pos -= len;
        memcpy(buf + pos, d->name, len);
        buf[--pos] = '/';
        d = d->parent;
    }
    pthread_mutex_unlock(&ns->lock);
    pthread_mutex_unlock(&vfs_rename_lock);
    if (pos == size - 1)
        buf[--pos] = '/';
    size_t n = size - 1 - pos;
    memmove(buf, buf + pos, n + 1);
    return (int)n;
}

struct fs_context *fs_context_create(struct mount_ns *ns, const struct vfs_path *root)
{
    struct fs_context *fs = calloc(1, sizeof(*fs));
    if (!fs)
        return NULL;
    atomic_init(&fs->refs, 1);
    pthread_mutex_init(&fs->lock, NULL);
    mount_ns_get(ns);
    fs->ns = ns;
    fs->root = fs->cwd = *root;
    vfs_path_get(root);
    vfs_path_get(root);
    fs->umask = 022;
    return fs;
}

struct fs_context *fs_context_copy(struct fs_context *src)
{
    pthread_mutex_lock(&src->lock);
    struct fs_context *fs = fs_context_create(src->ns, &src->root);
    if (fs) {
        vfs_path_put(&fs->cwd);
        fs->cwd = src->cwd;
        vfs_path_get(&fs->cwd);
        fs->umask = src->umask;
    }
    pthread_mutex_unlock(&src->lock);
    return fs;
}

void fs_context_get(struct fs_context *fs)
{
    atomic_fetch_add_explicit(&fs->refs, 1, memory_order_relaxed);
}

void fs_context_put(struct fs_context *fs)
{
    if (!fs || atomic_fetch_sub_explicit(&fs->refs, 1, memory_order_acq_rel) != 1)
        return;
    vfs_path_put(&fs->root);
    vfs_path_put(&fs->cwd);
    mount_ns_put(fs->ns);
    pthread_mutex_destroy(&fs->lock);
    free(fs);
}
