/* Change notification from the VFS's side: which IN_* events an operation makes and on which
 * inodes, as Linux's fsnotify hooks (include/linux/fsnotify.h) send them; the backend that
 * queues them for watches (sentry/fs/inotify) registers itself here. */
#include <fcntl.h>
#include <limits.h>
#include <sys/inotify.h>

#include "sentry/vfs/vfs.h"
#include "sentry/vfs/vfs_internal.h"

/* Set once by the first inotify instance; no watch exists before it. Acquire/release so a
 * caller that sees a watch (through an inode's mask) also sees the hook. */
static _Atomic(vfs_notify_fn) notify_hook;
/* Inodes with at least one watch: the whole cost of notification when no one watches anything.
 * Relaxed: like Linux, an event racing with the watch being added may or may not be seen. */
static atomic_long watched_inodes;
static atomic_uint next_cookie;

void vfs_set_notify_hook(vfs_notify_fn fn)
{
    atomic_store_explicit(&notify_hook, fn, memory_order_release);
}

void vfs_notify_set_mask(struct inode *inode, uint32_t mask)
{
    uint32_t old = atomic_exchange_explicit(&inode->notify_mask, mask, memory_order_relaxed);
    if (!old && mask)
        atomic_fetch_add_explicit(&watched_inodes, 1, memory_order_relaxed);
    else if (old && !mask)
        atomic_fetch_sub_explicit(&watched_inodes, 1, memory_order_relaxed);
}

uint32_t vfs_notify_cookie(void)
{
    /* Relaxed: cookies only need to be distinct (fsnotify_get_cookie). */
    return atomic_fetch_add_explicit(&next_cookie, 1, memory_order_relaxed) + 1;
}

void vfs_notify(struct inode *inode, uint32_t mask, const char *name, uint32_t cookie)
{
    uint32_t watched = atomic_load_explicit(&inode->notify_mask, memory_order_relaxed);
    if (!watched)
        return;
    /* IN_DELETE_SELF ends every watch, wanted or not (the watch hears IN_IGNORED). */
    if (!(mask & watched & IN_ALL_EVENTS) && !(mask & IN_DELETE_SELF))
        return;
    vfs_notify_fn fn = atomic_load_explicit(&notify_hook, memory_order_acquire);
    if (fn)
        fn(inode, mask, name, cookie);
}

void vfs_notify_dentry(struct dentry *d, uint32_t mask)
{
    if (!atomic_load_explicit(&watched_inodes, memory_order_relaxed))
        return;
    struct inode *inode = d->inode;
    if (S_ISDIR(inode->mode))
        mask |= IN_ISDIR;
    char name[NAME_MAX + 1];
    struct dentry *parent = dentry_get_parent_name(d, name);
    if (parent) {
        vfs_notify(parent->inode, mask, name, 0);
        dentry_put(parent);
    }
    vfs_notify(inode, mask, NULL, 0);
}

void vfs_notify_file(struct file *f, uint32_t mask)
{
    if (!f->path.dentry || (atomic_load_explicit(&f->status_flags, memory_order_relaxed) & O_PATH))
        return;
    if (!atomic_load_explicit(&watched_inodes, memory_order_relaxed))
        return;
    /* An unlinked file still reports to its old directory, unless the watch says
     * IN_EXCL_UNLINK. `dead` is read without its parent's lock: an unlink racing with this
     * event may go either way, as it may in Linux. */
    if (f->path.dentry->dead)
        mask |= VFS_NOTIFY_UNLINKED;
    vfs_notify_dentry(f->path.dentry, mask);
}

void vfs_notify_setattr(struct dentry *d, struct inode *inode, unsigned attr_mask)
{
    if (!atomic_load_explicit(&watched_inodes, memory_order_relaxed))
        return;
    /* fsnotify_change: both times set is utimes (IN_ATTRIB); one alone reads as an access or a
     * modification. */
    uint32_t mask = 0;
    if (attr_mask & (VFS_ATTR_UID | VFS_ATTR_GID | VFS_ATTR_MODE))
        mask |= IN_ATTRIB;
    if (attr_mask & VFS_ATTR_SIZE)
        mask |= IN_MODIFY;
    unsigned times = attr_mask & (VFS_ATTR_ATIME | VFS_ATTR_MTIME);
    if (times == (VFS_ATTR_ATIME | VFS_ATTR_MTIME))
        mask |= IN_ATTRIB;
    else if (times == VFS_ATTR_ATIME)
        mask |= IN_ACCESS;
    else if (times == VFS_ATTR_MTIME)
        mask |= IN_MODIFY;
    if (!mask)
        return;
    if (d)
        vfs_notify_dentry(d, mask);
    else
        vfs_notify(inode, mask | (S_ISDIR(inode->mode) ? IN_ISDIR : 0), NULL, 0);
}

void vfs_notify_dentry_gone(struct dentry *d)
{
    struct inode *inode = d->inode;
    if (!atomic_load_explicit(&inode->notify_mask, memory_order_relaxed))
        return;
    /* Linux sends IN_DELETE_SELF when the last dentry of an inode without links goes
     * (dentry_unlink_inode), which is at the unlink itself unless the file is open or a cwd. */
    pthread_mutex_lock(&inode->lock);
    bool gone = inode->nlink == 0;
    pthread_mutex_unlock(&inode->lock);
    if (gone)
        vfs_notify(inode, IN_DELETE_SELF, NULL, 0);
}
