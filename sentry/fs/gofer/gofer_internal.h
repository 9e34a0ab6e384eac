/* Private to sentry/fs/gofer. */
#ifndef RUNSC_SENTRY_FS_GOFER_GOFER_INTERNAL_H
#define RUNSC_SENTRY_FS_GOFER_GOFER_INTERNAL_H

#include <stdint.h>

#include "lib/p9/p9_client.h"
#include "sentry/mm/mm.h"
#include "sentry/fs/gofer/gofer.h"
#include "sentry/userns/userns.h"

struct goferfs {
    struct p9_client *client;
    bool readonly;
    uint32_t root_fid;
    /* The sandbox's user namespace (copies, fixed at attach): the served files carry host ids;
     * inodes show them mapped to the guest's, and new files get the creator's mapped back. */
    struct userns_map uids, gids;
};

/* inode->priv. fid names the file (walked, never opened); read_fd is a donated host fd open for
 * reading, fetched at the first open and shared by every reader (inode->lock). */
struct gofer_inode {
    struct goferfs *fs;
    uint32_t fid;
    int read_fd;
    char *link_target; /* symlinks: the target read once (inode->lock) */
    size_t link_len;
    struct mappable mappable; /* private file mappings read through read_fd; its references
                                 are the inode's */
    struct inode *owner;      /* the inode this is the private part of */
    /* Regular files of read-only mounts, which never change (DESIGN.md §6): their data for
     * private mappings, shared by every mapping; released with the inode. */
    struct mm_file_cache cache;
    bool cache_init;
};

static inline struct gofer_inode *gofer_inode_of(struct inode *inode)
{
    return inode->priv;
}

extern const struct inode_ops gofer_inode_ops;

/* Makes an inode for `fid` (ownership passes) from its attributes. */
int gofer_inode_make(struct super_block *sb, struct goferfs *fs, uint32_t fid,
                     const struct p9_attr *attr, struct inode **out);
/* Copies 9P attributes into the inode's fields. */
void gofer_inode_set_attr(struct inode *inode, const struct p9_attr *attr);
/* Opens a regular file, directory or device of the gofer tree. */
int gofer_open(struct inode *inode, int flags, struct file **out);
void gofer_inode_release_files(struct gofer_inode *gi);
/* Drops the inode's page cache, if it has one (at eviction). */
void gofer_inode_release_cache(struct gofer_inode *gi);

#endif
