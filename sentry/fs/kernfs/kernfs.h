/* Synthetic filesystems whose contents the sentry generates from its own state when they are
 * read (/proc, /sys), after gVisor's kernfs: a filesystem is a tree of static entry tables plus
 * directories whose entries are looked up live (processes, fds). Files are generated into a
 * buffer when read from offset 0 (as Linux's seq_file does) and report size 0; symlinks are
 * generated on each readlink, and may be "magic" (the walk jumps to the object itself).
 *
 * Every inode carries a struct kernfs_node: which entry it is and the identifiers that say of
 * what (a pid, a tid, a number), inherited by the entries below it. No lock of the filesystem's
 * own: nodes are immutable, and generators take whatever locks the state they read needs. */
#ifndef RUNSC_SENTRY_FS_KERNFS_KERNFS_H
#define RUNSC_SENTRY_FS_KERNFS_KERNFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sentry/vfs/vfs.h"

/* A growing text buffer; a failed allocation sets err (-ENOMEM) and later writes do nothing. */
struct kernfs_buf {
    char *data;
    size_t len, cap;
    int err;
};

void kernfs_buf_free(struct kernfs_buf *b);
__attribute__((format(printf, 2, 3))) void kernfs_printf(struct kernfs_buf *b, const char *fmt,
                                                          ...);
void kernfs_put(struct kernfs_buf *b, const void *data, size_t len);

struct kernfs_node;

/* What a dynamic directory's entries share with everything below them: whether the object still
 * exists (dentries of gone ones are dropped) and who owns its files. */
struct kernfs_scope {
    bool (*valid)(const struct kernfs_node *n);
    void (*owner)(const struct kernfs_node *n, uid_t *uid, gid_t *gid);
};

struct kernfs_entry {
    const char *name; /* NULL ends a table */
    mode_t mode;      /* type and permissions */
    /* Regular files: the contents; 0 or -errno. */
    int (*generate)(const struct kernfs_node *n, struct kernfs_buf *out);
    /* Writable files: takes one write(2)'s bytes; returns the count taken or -errno. */
    ssize_t (*write)(const struct kernfs_node *n, const char *buf, size_t len, int64_t off);
    /* Who may open it (MAY_* in mask), in place of the mode bits: 0 or -EACCES. NULL: the
     * mode bits against the owner, as for any file. */
    int (*permission)(const struct kernfs_node *n, int mask);
    /* Symlinks: the target text; 0 or -errno. */
    int (*readlink)(const struct kernfs_node *n, struct kernfs_buf *out);
    /* Magic symlinks: the object itself, referenced. */
    int (*get_link)(const struct kernfs_node *n, struct vfs_path *out);
    /* Directories: the static entries (ended by a NULL name), then dynamic ones. lookup fills
     * *out (a copy of dir to adjust: entry, scope, ids) or returns -ENOENT; readdir lists the
     * dynamic names with ino 0 (kernfs numbers them). */
    const struct kernfs_entry *children;
    int (*lookup)(const struct kernfs_node *dir, const char *name, struct kernfs_node *out);
    int (*readdir)(const struct kernfs_node *dir, struct dir_list *out);
};

struct kernfs_node {
    const struct kernfs_entry *entry;
    const struct kernfs_scope *scope; /* NULL: always valid, owned by root */
    void *fs;                         /* the filesystem's state */
    int pid, tid, num;                /* meaning per filesystem (/proc: tgid, tid, fd) */
};

/* Makes the filesystem: a super block named fs_name whose statfs reports `magic`, and its root
 * dentry for the directory entry `root`. */
int kernfs_create(const char *fs_name, long magic, const struct kernfs_entry *root, void *fs,
                  struct super_block **sb_out, struct dentry **root_out);

/* The node behind an inode of a kernfs filesystem (for tests and magic links). */
const struct kernfs_node *kernfs_node_of(struct inode *inode);
/* Frees a super block made by kernfs_create once nothing uses it (tests, unmount). */
void kernfs_destroy(struct super_block *sb);

#endif
