/* Synthetic filesystems: inodes for entry tables and dynamic directories, files generated when
 * read, symlinks and magic links. */
#include "sentry/fs/kernfs/kernfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- text buffers ---- */

static bool buf_reserve(struct kernfs_buf *b, size_t more)
{
    if (b->err)
        return false;
    if (b->len + more + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *data = realloc(b->data, cap);
    if (!data) {
        b->err = -ENOMEM;
        return false;
    }
    b->data = data;
    b->cap = cap;
    return true;
}

void kernfs_buf_free(struct kernfs_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

void kernfs_put(struct kernfs_buf *b, const void *data, size_t len)
{
    if (!buf_reserve(b, len))
        return;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void kernfs_printf(struct kernfs_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !buf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* ---- inodes ---- */

struct kernfs_super {
    long magic; /* statfs f_type */
};

static const struct inode_ops kernfs_dir_ops, kernfs_file_inode_ops, kernfs_link_ops,
    kernfs_magic_link_ops;

const struct kernfs_node *kernfs_node_of(struct inode *inode)
{
    return inode->priv;
}

static int kernfs_statfs(struct super_block *sb, struct statfs *out)
{
    const struct kernfs_super *ks = sb->priv;
    memset(out, 0, sizeof(*out));
    out->f_type = ks->magic;
    out->f_bsize = 4096;
    out->f_namelen = 255;
    out->f_frsize = 4096;
    return 0;
}

static const struct super_block_ops kernfs_sb_ops = {.statfs = kernfs_statfs};

static int node_inode(struct super_block *sb, const struct kernfs_node *n, struct inode **out)
{
    const struct kernfs_entry *e = n->entry;
    const struct inode_ops *ops = &kernfs_file_inode_ops;
    if (S_ISDIR(e->mode))
        ops = &kernfs_dir_ops;
    else if (S_ISLNK(e->mode))
        ops = e->get_link ? &kernfs_magic_link_ops : &kernfs_link_ops;
    struct kernfs_node *copy = malloc(sizeof(*copy));
    if (!copy)
        return -ENOMEM;
    *copy = *n;
    struct inode *inode = inode_alloc(sb, ops, e->mode, 0);
    if (!inode) {
        free(copy);
        return -ENOMEM;
    }
    inode->priv = copy;
    if (n->scope && n->scope->owner)
        n->scope->owner(n, &inode->uid, &inode->gid);
    *out = inode;
    return 0;
}

static void kernfs_evict(struct inode *inode)
{
    free(inode->priv);
}

static bool kernfs_revalidate(struct inode *inode)
{
    const struct kernfs_node *n = inode->priv;
    return !n->scope || !n->scope->valid || n->scope->valid(n);
}

static int kernfs_getattr(struct inode *inode)
{
    const struct kernfs_node *n = inode->priv;
    if (n->scope && n->scope->owner) {
        uid_t uid = 0;
        gid_t gid = 0;
        n->scope->owner(n, &uid, &gid);
        pthread_mutex_lock(&inode->lock);
        inode->uid = uid;
        inode->gid = gid;
        pthread_mutex_unlock(&inode->lock);
    }
    return 0;
}

static int kernfs_permission(struct inode *inode, const struct vfs_cred *cred, int mask)
{
    const struct kernfs_node *n = inode->priv;
    if (n->entry->permission)
        return n->entry->permission(n, mask);
    return inode_generic_permission(inode, cred, mask);
}

/* Linux's proc_setattr: truncation (O_TRUNC on a write) is accepted and ignored, so
 * `echo 1 > /proc/...` works; mode and owner changes are refused. */
static int kernfs_setattr(struct inode *inode, const struct vfs_setattr *attr)
{
    if (attr->mask & ~(unsigned)(VFS_ATTR_SIZE | VFS_ATTR_ATIME | VFS_ATTR_MTIME | VFS_ATTR_CTIME))
        return -EPERM;
    return 0;
}

static int kernfs_lookup(struct inode *dir, const char *name, struct inode **out)
{
    const struct kernfs_node *d = dir->priv;
    const struct kernfs_entry *e = d->entry;
    struct kernfs_node child = *d;
    for (const struct kernfs_entry *c = e->children; c && c->name; c++) {
        if (strcmp(c->name, name) == 0) {
            child.entry = c;
            return node_inode(dir->sb, &child, out);
        }
    }
    if (!e->lookup)
        return -ENOENT;
    int err = e->lookup(d, name, &child);
    if (err)
        return err;
    return node_inode(dir->sb, &child, out);
}

static int kernfs_readdir(struct inode *dir, struct dir_list *out)
{
    const struct kernfs_node *d = dir->priv;
    const struct kernfs_entry *e = d->entry;
    for (const struct kernfs_entry *c = e->children; c && c->name; c++) {
        /* Relaxed: only distinct numbers matter. */
        uint64_t ino = atomic_fetch_add_explicit(&dir->sb->next_ino, 1, memory_order_relaxed);
        int err = dir_list_add(out, c->name, strlen(c->name), ino, vfs_dtype(c->mode));
        if (err)
            return err;
    }
    if (!e->readdir)
        return 0;
    size_t first = out->count;
    int err = e->readdir(d, out);
    for (size_t i = first; i < out->count; i++)
        if (!out->entries[i].ino)
            out->entries[i].ino =
                atomic_fetch_add_explicit(&dir->sb->next_ino, 1, memory_order_relaxed);
    return err;
}

static ssize_t kernfs_readlink(struct inode *inode, char *buf, size_t size)
{
    const struct kernfs_node *n = inode->priv;
    struct kernfs_buf b = {0};
    int err = n->entry->readlink ? n->entry->readlink(n, &b) : -EINVAL;
    if (!err)
        err = b.err;
    if (err) {
        kernfs_buf_free(&b);
        return err;
    }
    size_t len = b.len < size ? b.len : size;
    memcpy(buf, b.data, len);
    kernfs_buf_free(&b);
    return (ssize_t)len;
}

static int kernfs_get_link_path(struct inode *inode, struct vfs_path *out)
{
    const struct kernfs_node *n = inode->priv;
    return n->entry->get_link(n, out);
}

/* ---- open files ---- */

struct kernfs_file {
    struct file base;
    pthread_mutex_t lock;  /* protects data and generated */
    struct kernfs_buf data; /* the contents as last generated */
    bool generated;
};

static ssize_t kernfs_pread(struct file *f, void *buf, size_t len, int64_t off)
{
    struct kernfs_file *kf = (struct kernfs_file *)f;
    const struct kernfs_node *n = f->inode->priv;
    ssize_t ret = 0;

    pthread_mutex_lock(&kf->lock);
    /* A read from the start sees the state now, as seq_file regenerates there: a monitor that
     * keeps the file open and preads at 0 sees fresh values. */
    if (!kf->generated || off == 0) {
        kernfs_buf_free(&kf->data);
        int err = n->entry->generate ? n->entry->generate(n, &kf->data) : 0;
        if (!err)
            err = kf->data.err;
        if (err) {
            kernfs_buf_free(&kf->data);
            pthread_mutex_unlock(&kf->lock);
            return err;
        }
        kf->generated = true;
    }
    if ((uint64_t)off < kf->data.len) {
        size_t n_copy = kf->data.len - (size_t)off;
        if (n_copy > len)
            n_copy = len;
        memcpy(buf, kf->data.data + off, n_copy);
        ret = (ssize_t)n_copy;
    }
    pthread_mutex_unlock(&kf->lock);
    return ret;
}

static ssize_t kernfs_pwrite(struct file *f, const void *buf, size_t len, int64_t off)
{
    const struct kernfs_node *n = f->inode->priv;
    if (!n->entry->write)
        return -EINVAL;
    return n->entry->write(n, buf, len, off);
}

static void kernfs_release(struct file *f)
{
    struct kernfs_file *kf = (struct kernfs_file *)f;
    file_release_common(f);
    kernfs_buf_free(&kf->data);
    pthread_mutex_destroy(&kf->lock);
    free(kf);
}

static const struct file_ops kernfs_file_ops = {
    .pread = kernfs_pread,
    .pwrite = kernfs_pwrite,
    .release = kernfs_release,
};

static const struct file_ops kernfs_dir_file_ops = {
    .release = kernfs_release,
};

static int kernfs_open(struct inode *inode, int flags, struct file **out)
{
    const struct kernfs_node *n = inode->priv;
    int acc = flags & O_ACCMODE;
    /* Files without a write handler can't be opened for writing even by root (Linux's proc
     * gives such files no write op, and open refuses write access). */
    if (acc != O_RDONLY && !n->entry->write)
        return -EACCES;
    struct kernfs_file *kf = calloc(1, sizeof(*kf));
    if (!kf)
        return -ENOMEM;
    pthread_mutex_init(&kf->lock, NULL);
    file_init_inode(&kf->base, S_ISDIR(inode->mode) ? &kernfs_dir_file_ops : &kernfs_file_ops,
                    flags, inode);
    *out = &kf->base;
    return 0;
}

static const struct inode_ops kernfs_dir_ops = {
    .lookup = kernfs_lookup,
    .readdir = kernfs_readdir,
    .getattr = kernfs_getattr,
    .setattr = kernfs_setattr,
    .open = kernfs_open,
    .revalidate = kernfs_revalidate,
    .evict = kernfs_evict,
};

static const struct inode_ops kernfs_file_inode_ops = {
    .getattr = kernfs_getattr,
    .setattr = kernfs_setattr,
    .permission = kernfs_permission,
    .open = kernfs_open,
    .revalidate = kernfs_revalidate,
    .evict = kernfs_evict,
};

static const struct inode_ops kernfs_link_ops = {
    .readlink = kernfs_readlink,
    .getattr = kernfs_getattr,
    .revalidate = kernfs_revalidate,
    .evict = kernfs_evict,
};

static const struct inode_ops kernfs_magic_link_ops = {
    .readlink = kernfs_readlink,
    .get_link_path = kernfs_get_link_path,
    .getattr = kernfs_getattr,
    .revalidate = kernfs_revalidate,
    .evict = kernfs_evict,
};

int kernfs_create(const char *fs_name, long magic, const struct kernfs_entry *root, void *fs,
                  struct super_block **sb_out, struct dentry **root_out)
{
    struct kernfs_super *ks = calloc(1, sizeof(*ks));
    if (!ks)
        return -ENOMEM;
    ks->magic = magic;
    struct super_block *sb = super_block_create(fs_name, &kernfs_sb_ops, ks);
    if (!sb) {
        free(ks);
        return -ENOMEM;
    }
    struct kernfs_node n = {.entry = root, .fs = fs};
    struct inode *inode;
    int err = node_inode(sb, &n, &inode);
    if (err)
        goto out_sb;
    struct dentry *d = dentry_alloc_root(inode);
    if (!d) {
        inode_put(inode);
        err = -ENOMEM;
        goto out_sb;
    }
    *sb_out = sb;
    *root_out = d;
    return 0;

out_sb:
    free(sb);
    free(ks);
    return err;
}

void kernfs_destroy(struct super_block *sb)
{
    if (!sb)
        return;
    free(sb->priv);
    free(sb);
}
