/* Private to sentry/fs/overlay: the overlay's super block and inode state, and the helpers its
 * files share.
 *
 * Lock order: the VFS's dir_lock → ovl_inode.copy_lock (an object before its ancestors: copy-up
 * climbs) → ovl_fs.lock → the layers' own locks. inode.lock of an overlay inode and of a layer
 * inode are never held together. */
#ifndef RUNSC_SENTRY_FS_OVERLAY_OVERLAY_INTERNAL_H
#define RUNSC_SENTRY_FS_OVERLAY_OVERLAY_INTERNAL_H

#include <stdatomic.h>

#include "sentry/fs/overlay/overlay.h"
#include "sentry/vfs/vfs.h"

struct ovl_fs {
    struct super_block *sb;
    struct dentry *lower_root; /* references */
    struct dentry *upper_root;
    /* Serialises every call into the upper layer's directory operations (lookup, create,
     * unlink, rename, readdir...) and the xattrs the overlay keeps there: the upper filesystem
     * expects one caller per directory (the VFS's dir_lock contract), and copy-up works in
     * ancestors whose overlay dir_lock nobody holds. Also protects every ovl_inode's parent,
     * children/sibling links and `listed`, and tmp_seq. Never held across a lower-layer call or
     * file data I/O, which may wait for the gofer. */
    pthread_mutex_t lock;
    unsigned long tmp_seq; /* names of temporary whiteouts */
};

/* inode->priv of every overlay inode. */
struct ovl_inode {
    struct inode *inode; /* the overlay inode this belongs to (not a reference) */
    /* A reference, or NULL: the lower object this one shows or was copied up from; for a
     * directory, the lower directory merged into it (NULL when opaque). Set at creation. */
    struct inode *lower;
    /* A reference, or NULL until copy-up. Written once, under copy_lock, after the copy is
     * complete (release); read without a lock (acquire). */
    _Atomic(struct inode *) upper;
    /* Where the object was found: the overlay parent directory (a reference; NULL for the
     * root) and the name in it. Set at creation and never changed: only copy-up uses them,
     * and an object without an upper copy is never renamed (rename copies a file up first and
     * refuses directories with lower parts with EXDEV) and is marked unlinked when removed. */
    struct inode *parent;
    char *name;
    pthread_mutex_t copy_lock; /* serialises copy-up of this object with its removal */
    bool unlinked;             /* under copy_lock: removed while it had no upper copy */
    /* Lower-only non-directories are listed in their parent's `children` so rename can find
     * the very inode the dentry cache holds and copy it up. Under ovl_fs.lock. */
    bool listed;
    struct ovl_inode *children; /* directories: the listed children */
    struct ovl_inode *sibling_prev, *sibling_next;
};

static inline struct ovl_inode *ovl_i(struct inode *inode)
{
    return inode->priv;
}

static inline struct ovl_fs *ovl_fs_of(struct inode *inode)
{
    return inode->sb->priv;
}

static inline struct inode *ovl_upper(struct ovl_inode *o)
{
    /* Acquire: pairs with the release in copy-up, so the upper object is seen complete. */
    return atomic_load_explicit(&o->upper, memory_order_acquire);
}

/* The layer object that holds the overlay object's current state: upper if copied up. */
static inline struct inode *ovl_real(struct ovl_inode *o)
{
    struct inode *upper = ovl_upper(o);
    return upper ? upper : o->lower;
}

/* Credentials the overlay uses for its own work in the upper layer (copy-up, whiteouts). */
extern const struct vfs_cred ovl_cred;

extern const struct inode_ops ovl_inode_ops;

/* super.c: overlay inodes. A new overlay inode for the given layer objects (taking its own
 * references) found as `name` in `parent`. */
int ovl_inode_new(struct ovl_fs *ofs, struct inode *parent, const char *name, struct inode *upper,
                  struct inode *lower, uint64_t ino, struct inode **out);
/* Copies the real object's attributes into the overlay inode (type and number kept). */
void ovl_attr_sync(struct inode *inode);
int ovl_getattr(struct inode *inode);
void ovl_evict(struct inode *inode);
/* The listed child named `name` of `dir`, with a reference, if there is a live one. */
struct inode *ovl_child_find(struct ovl_fs *ofs, struct inode *dir, const char *name);
/* Takes `o` off its parent's list (ofs->lock held). */
void ovl_child_unlist(struct ovl_inode *o);

/* layer.c: calls into the layers. Upper directory calls need ofs->lock. */
bool ovl_is_whiteout(struct inode *inode);
/* The overlay inode number for an upper object (its origin's number when it was copied up),
 * under ofs->lock. */
uint64_t ovl_upper_ino(struct inode *upper);
int ovl_layer_lookup(struct inode *dir, const char *name, struct inode **out);
/* Whether the lower directory merged into `dir` has `name` (so removing it needs a whiteout). */
bool ovl_lower_has(struct inode *dir, const char *name);
/* Whether an upper directory carries the opaque mark. */
bool ovl_upper_is_opaque(struct inode *upper_dir);
int ovl_set_opaque(struct inode *upper_dir);
/* A whiteout under a fresh temporary name in `upper_dir`, returned in tmp[32]. */
int ovl_whiteout_tmp(struct ovl_fs *ofs, struct inode *upper_dir, char *tmp);
/* Removes whatever is at `name` in `upper_dir` (a whiteout before creating there). */
int ovl_upper_remove(struct inode *upper_dir, const char *name, struct inode *victim);
/* Removes the whiteouts left in an upper directory that is empty in the merged view. */
int ovl_clear_whiteouts(struct inode *upper_dir);
/* Fills `out` with the merged listing of an overlay directory. */
int ovl_readdir(struct inode *dir, struct dir_list *out);
int ovl_lookup(struct inode *dir, const char *name, struct inode **out);

/* copy_up.c: makes sure the object (and its ancestors) exists in the upper layer. A regular
 * file's data is copied up to `max_len` bytes (a truncation copies no more than it keeps);
 * -1 for all. */
int ovl_copy_up(struct inode *inode, int64_t max_len);

/* file.c: opening, attributes, link targets and xattrs. */
int ovl_open(struct inode *inode, int flags, struct file **out);
int ovl_setattr(struct inode *inode, const struct vfs_setattr *attr);
ssize_t ovl_readlink(struct inode *inode, char *buf, size_t size);
ssize_t ovl_getxattr(struct inode *inode, const char *name, void *buf, size_t size);
int ovl_setxattr(struct inode *inode, const char *name, const void *value, size_t size, int flags);
ssize_t ovl_listxattr(struct inode *inode, char *buf, size_t size);
int ovl_removexattr(struct inode *inode, const char *name);

#endif
