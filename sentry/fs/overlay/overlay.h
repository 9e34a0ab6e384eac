/* The overlay filesystem: a read-only lower layer under a writable upper layer (a tmpfs), with
 * Linux overlayfs's semantics (whiteouts, opaque directories, copy-up), as the sentry's root. */
#ifndef RUNSC_SENTRY_FS_OVERLAY_OVERLAY_H
#define RUNSC_SENTRY_FS_OVERLAY_OVERLAY_H

#include "sentry/vfs/vfs.h"

/* The upper layer records overlay state in these xattrs, as overlayfs does; the overlay never
 * shows or lets a guest change anything under "trusted.overlay.". */
#define OVERLAY_XATTR_PREFIX "trusted.overlay."
#define OVERLAY_XATTR_OPAQUE "trusted.overlay.opaque" /* "y": the lower directory is hidden */
#define OVERLAY_XATTR_ORIGIN "trusted.overlay.origin" /* a copy-up's lower inode number */

/* Inode numbers of objects that exist only in the upper layer carry this bit, so they never
 * collide with the lower layer's numbers (which lower-origin objects keep, like overlayfs's
 * xino). */
#define OVERLAY_UPPER_INO_BIT (1ULL << 62)

/* Makes an overlay of the filesystem rooted at `upper_root` (writable; a tmpfs) over the one at
 * `lower_root` (never modified). Both layers are reached only through their inode_ops and
 * file_ops. The overlay takes its own references to both roots (the caller keeps theirs) and
 * returns its super block and a referenced root dentry; the super block is freed with the root
 * inode, after the last overlay inode. Returns 0 or -errno. */
int overlay_create(struct dentry *lower_root, struct dentry *upper_root, struct super_block **sb,
                   struct dentry **root);

#endif
