/* Mappables of open files as /proc/PID/maps names them: a filesystem's mappable (per inode)
 * wrapped with the path the file was opened by, as Linux names a mapping by its file's path. */
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/mm/mm.h"
#include "sentry/vfs/vfs.h"

struct named_mappable {
    struct mappable base;
    atomic_int refs; /* atomic: VMAs in several mms take and drop references */
    struct mappable *inner; /* a reference */
    char *name;
    dev_t dev;
    uint64_t ino;
};

static struct named_mappable *named_of(struct mappable *m)
{
    return (struct named_mappable *)m;
}

static ssize_t named_read(struct mappable *m, void *buf, size_t len, uint64_t off)
{
    struct mappable *inner = named_of(m)->inner;
    return inner->ops->read(inner, buf, len, off);
}

static void named_get(struct mappable *m)
{
    /* Relaxed: taking a reference needs no ordering, only the final put does. */
    atomic_fetch_add_explicit(&named_of(m)->refs, 1, memory_order_relaxed);
}

static void named_put(struct mappable *m)
{
    struct named_mappable *nm = named_of(m);
    if (atomic_fetch_sub_explicit(&nm->refs, 1, memory_order_acq_rel) != 1)
        return;
    nm->inner->ops->put(nm->inner);
    free(nm->name);
    free(nm);
}

static int named_name(struct mappable *m, char *buf, size_t size, dev_t *dev, uint64_t *ino)
{
    struct named_mappable *nm = named_of(m);
    *dev = nm->dev;
    *ino = nm->ino;
    int n = snprintf(buf, size, "%s", nm->name);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

static int named_translate(struct mappable *m, uint64_t off, uint64_t *mf_off)
{
    struct mappable *inner = named_of(m)->inner;
    return inner->ops->translate(inner, off, mf_off);
}

static int named_cache_range(struct mappable *m, struct memfile *mf, uint64_t off, uint64_t len,
                             uint64_t *mf_off)
{
    struct mappable *inner = named_of(m)->inner;
    if (!inner->ops->cache_range)
        return -EOPNOTSUPP;
    return inner->ops->cache_range(inner, mf, off, len, mf_off);
}

static const struct mappable_ops named_ops = {
    .read = named_read,
    .get = named_get,
    .put = named_put,
    .name = named_name,
    .cache_range = named_cache_range,
};

/* For files whose pages are in the memory file: shared mappings map them. */
static const struct mappable_ops named_shared_ops = {
    .read = named_read,
    .get = named_get,
    .put = named_put,
    .name = named_name,
    .translate = named_translate,
};

int vfs_mappable_for_file(struct file *f, struct mount_ns *ns, struct mappable **out)
{
    if (!f->ops->mmap)
        return -ENODEV;
    struct mappable *inner;
    int err = f->ops->mmap(f, &inner);
    if (err)
        return err;
    if (!f->path.dentry || !ns) {
        *out = inner;
        return 0;
    }
    struct named_mappable *nm = calloc(1, sizeof(*nm));
    char *path = malloc(PATH_MAX);
    struct vfs_path root = {ns->root, ns->root->root};
    int n = path ? vfs_path_string(ns, &root, &f->path, path, PATH_MAX) : -ENOMEM;
    if (!nm || n < 0) {
        free(nm);
        free(path);
        inner->ops->put(inner);
        return n < 0 ? n : -ENOMEM;
    }
    nm->base.ops = inner->ops->translate ? &named_shared_ops : &named_ops;
    atomic_init(&nm->refs, 1);
    nm->inner = inner;
    nm->name = path;
    nm->dev = f->path.dentry->inode->sb->dev;
    nm->ino = f->path.dentry->inode->ino;
    *out = &nm->base;
    return 0;
}
