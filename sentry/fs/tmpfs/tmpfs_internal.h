/* Private to sentry/fs/tmpfs: the super block's state, per-inode data, and the sparse page tree
 * of regular files. */
#ifndef RUNSC_SENTRY_FS_TMPFS_TMPFS_INTERNAL_H
#define RUNSC_SENTRY_FS_TMPFS_TMPFS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sentry/fs/tmpfs/tmpfs.h"

/* Linux's BOGO_DIRENT_SIZE: a tmpfs directory's size grows by this per entry, from two. */
#define TMPFS_DIRENT_SIZE 20
/* Linux keeps symlink targets shorter than this in the inode; longer ones take a page. */
#define TMPFS_SHORT_SYMLINK 128

struct tmpfs_sb {
    struct super_block *sb;
    pthread_mutex_t tree_lock;  /* protects every directory's entries (struct tmpfs_dir) */
    pthread_mutex_t usage_lock; /* protects the counts below */
    uint64_t max_pages;         /* 0: no limit */
    uint64_t used_pages;
    uint64_t max_inodes;                /* 0: no limit */
    uint64_t live_inodes;               /* the last inode to go frees the super block */
    tmpfs_special_open_fn special_open; /* immutable */
};

/* ---- data pages: zeroed 4 KiB pages from the memory file (or the heap, without one) ---- */

/* may_wait: past the sandbox's memory limit, wait for the OOM killer and retry (a syscall that
 * holds no mm lock); else fail at once. NULL when no page could be had. */
void *tmpfs_page_alloc(bool may_wait);
void tmpfs_page_free(void *page);
/* The memory-file offset of a page from tmpfs_page_alloc, or -1 for a heap page. */
int64_t tmpfs_page_mf_off(const void *page);
struct memfile *tmpfs_memfile(void);

/* ---- sparse pages: a radix tree of 64-way nodes indexed by page number ---- */

struct page_tree {
    void *root;      /* a node, or NULL when empty */
    unsigned height; /* levels of nodes; covers indexes < 64^height */
};

void *page_tree_lookup(const struct page_tree *t, uint64_t index);
/* Stores `page` at `index` (which is empty); -ENOMEM when a node can't be allocated. */
int page_tree_insert(struct page_tree *t, uint64_t index, void *page);
/* Frees the pages with first <= index <= last (and nodes left empty); returns how many. */
uint64_t page_tree_free_range(struct page_tree *t, uint64_t first, uint64_t last);

/* ---- per-inode data ---- */

struct tmpfs_dirent {
    char *name;
    struct inode *inode;              /* the directory's reference */
    struct tmpfs_dirent *prev, *next; /* creation order */
    struct tmpfs_dirent *hash_next;
};

struct tmpfs_dir {
    /* All under tmpfs_sb.tree_lock. */
    struct tmpfs_dirent *first, *last;
    struct tmpfs_dirent **buckets;
    size_t nbuckets, count;
};

struct tmpfs_regular {
    pthread_rwlock_t data_lock; /* protects pages and npages (inode.lock: size and blocks) */
    struct page_tree pages;
    uint64_t npages;
};

struct tmpfs_xattr {
    struct tmpfs_xattr *next;
    char *name;
    void *value;
    size_t size;
};

struct tmpfs_inode {
    struct tmpfs_sb *tsb;
    struct tmpfs_xattr *xattrs; /* under inode.lock */
    union {
        struct tmpfs_dir dir;
        struct tmpfs_regular reg;
        char *symlink; /* target, immutable */
    };
};

static inline struct tmpfs_inode *tmpfs_inode_of(struct inode *inode)
{
    return inode->priv;
}

extern const struct inode_ops tmpfs_inode_ops;

/* A new inode of `mode` (type and permissions) in directory `dir` (NULL for the root) owned by
 * `cred` with Linux's setgid-directory inheritance; one reference for the caller. -ENOSPC past
 * nr_inodes, -ENOMEM. */
int tmpfs_inode_new(struct tmpfs_sb *tsb, struct inode *dir, mode_t mode,
                    const struct vfs_cred *cred, struct inode **out);

/* Page accounting against the size limit: reserve -ENOSPC when it would be exceeded. */
int tmpfs_pages_reserve(struct tmpfs_sb *tsb, uint64_t n);
void tmpfs_pages_unreserve(struct tmpfs_sb *tsb, uint64_t n);

/* dir.c */
int tmpfs_lookup(struct inode *dir, const char *name, struct inode **out);
int tmpfs_create_file(struct inode *dir, const char *name, mode_t mode, const struct vfs_cred *cred,
                      struct inode **out);
int tmpfs_mkdir(struct inode *dir, const char *name, mode_t mode, const struct vfs_cred *cred,
                struct inode **out);
int tmpfs_mknod(struct inode *dir, const char *name, mode_t mode, dev_t rdev,
                const struct vfs_cred *cred, struct inode **out);
int tmpfs_symlink(struct inode *dir, const char *name, const char *target,
                  const struct vfs_cred *cred, struct inode **out);
int tmpfs_link(struct inode *dir, const char *name, struct inode *target);
int tmpfs_unlink(struct inode *dir, const char *name, struct inode *victim);
int tmpfs_rmdir(struct inode *dir, const char *name, struct inode *victim);
int tmpfs_rename(struct inode *old_dir, const char *old_name, struct inode *new_dir,
                 const char *new_name, unsigned flags);
int tmpfs_readdir(struct inode *dir, struct dir_list *out);
/* Moves a dying directory's entries out; their inode references are put by the caller. */
struct tmpfs_dirent *tmpfs_dir_take_entries(struct tmpfs_dir *d);
void tmpfs_dirent_free(struct tmpfs_dirent *e);

/* regular.c */
void tmpfs_regular_init(struct tmpfs_regular *reg);
void tmpfs_regular_destroy(struct tmpfs_sb *tsb, struct tmpfs_regular *reg);
/* Changes the size, freeing pages past it and zeroing the tail of the last one. */
int tmpfs_regular_truncate(struct inode *inode, int64_t size);
int tmpfs_regular_open(struct inode *inode, int flags, struct file **out);

/* xattr.c */
ssize_t tmpfs_getxattr(struct inode *inode, const char *name, void *buf, size_t size);
int tmpfs_setxattr(struct inode *inode, const char *name, const void *value, size_t size,
                   int flags);
ssize_t tmpfs_listxattr(struct inode *inode, char *buf, size_t size);
int tmpfs_removexattr(struct inode *inode, const char *name);
void tmpfs_xattrs_free(struct tmpfs_xattr *x);

#endif
