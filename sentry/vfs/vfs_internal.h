/* Private to sentry/vfs: the dentry cache under a directory's dir_lock. */
#ifndef RUNSC_SENTRY_VFS_VFS_INTERNAL_H
#define RUNSC_SENTRY_VFS_VFS_INTERNAL_H

#include "sentry/vfs/vfs.h"

/* All with dir->dir_lock held. */
struct dentry *dcache_find(struct dentry *dir, const char *name);
/* Caches name → inode (taking its own inode reference) and returns the new dentry referenced. */
int dcache_insert(struct dentry *dir, const char *name, struct inode *inode, struct dentry **out);
/* Drops d from dir's cache and marks it dead. */
void dcache_remove(struct dentry *dir, struct dentry *d);
/* Moves d from old_dir to new_dir under new_name (both locked). */
int dcache_rename(struct dentry *old_dir, struct dentry *d, struct dentry *new_dir,
                  const char *new_name);

/* d's parent (a new reference) with d's name copied into name[NAME_MAX + 1], or NULL for a
 * root: read under the leaf lock that renames take to change both (for notification, which
 * must not take vfs_rename_lock). */
struct dentry *dentry_get_parent_name(struct dentry *d, char *name);

/* A dentry's last reference went: IN_DELETE_SELF for its inode if that has no link left. */
void vfs_notify_dentry_gone(struct dentry *d);

/* Drops the cached dentries below root that nothing else holds. A cached child and its parent
 * hold each other (the cache's reference and the child's parent reference), so an unmounted
 * tree is freed only by pruning it: shrink_dcache_for_umount's job in Linux. Takes
 * vfs_rename_lock and dir_locks: call with neither held. */
void dcache_prune(struct dentry *root);

/* The sticky-bit rule (may_delete): in a sticky directory only the owner of the entry or of the
 * directory (or CAP_FOWNER) may remove or replace it; -EPERM otherwise. */
int vfs_may_delete(struct inode *dir, struct inode *victim, const struct vfs_cred *cred);

/* Serialises renames that move between directories, so ancestry can't change under a check. */
extern pthread_mutex_t vfs_rename_lock;

#endif
