/* The virtual filesystem: inodes, dentries, mounts, path walk, open file descriptions and fd
 * tables. Filesystems (sentry/fs/...) implement inode_ops and file_ops; syscalls reach files only
 * through the functions here.
 *
 * Objects and references:
 *   - struct inode: one per file a filesystem knows; refcounted (dentries and files hold refs).
 *   - struct dentry: a name in a directory bound to an inode. A directory's cached children are
 *     kept in its dentry (the cache holds a reference to each child; a child holds one to its
 *     parent), so a dentry lives while it is cached or referenced. Unlinking drops it from the
 *     cache. Only positive dentries are cached.
 *   - struct mount: a filesystem's root dentry attached at a dentry of a parent mount, in a
 *     mount namespace. Mounts live as long as their namespace.
 *   - struct vfs_path: (mount, dentry), the thing a walk yields and a file, cwd or root holds.
 *   - struct file: an open file description; struct fdtable maps fds to files.
 *
 * Lock order: vfs_rename_lock (renames, and reading names up the tree) → a directory dentry's
 * dir_lock (parent before child; two unrelated directories in address order) → inode.lock →
 * mount_ns.lock. dir_lock
 * is held across a filesystem's directory operation (it may block on the gofer, never on the
 * guest), which serialises lookups and changes in one directory as Linux's i_rwsem does. */
#ifndef RUNSC_SENTRY_VFS_VFS_H
#define RUNSC_SENTRY_VFS_VFS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <time.h>

struct mm;
struct file;
struct task;
struct waiter;
struct mappable;
struct inode;
struct dentry;
struct mount;
struct super_block;
struct vfs_path;
struct epoll_item;

/* ---- credentials, as the VFS checks them ---- */

struct vfs_cred {
    uid_t fsuid;
    gid_t fsgid;
    bool dac_override; /* CAP_DAC_OVERRIDE (and DAC_READ_SEARCH): root in the sandbox */
    bool fowner;       /* CAP_FOWNER / CAP_CHOWN / CAP_FSETID */
    bool no_chown;     /* fowner held without CAP_CHOWN (capset(2) dropped it): zero for the
                          sentry's own all-powerful creds */
    bool mknod;        /* CAP_MKNOD: may make device nodes */
};

#define MAY_EXEC 1
#define MAY_WRITE 2
#define MAY_READ 4

/* ---- inodes ---- */

/* Attribute changes for setattr (a subset of 9P's Tsetattr, which mirrors Linux's iattr). */
enum vfs_setattr_mask {
    VFS_ATTR_MODE = 1 << 0,
    VFS_ATTR_UID = 1 << 1,
    VFS_ATTR_GID = 1 << 2,
    VFS_ATTR_SIZE = 1 << 3,
    VFS_ATTR_ATIME = 1 << 4,
    VFS_ATTR_MTIME = 1 << 5,
    VFS_ATTR_CTIME = 1 << 6,
};

struct vfs_setattr {
    unsigned mask; /* enum vfs_setattr_mask */
    mode_t mode;   /* permission bits only */
    uid_t uid;
    gid_t gid;
    int64_t size;
    struct timespec atime, mtime, ctime;
};

/* A directory listing as readdir builds it, without "." and "..". */
struct dir_entry {
    char *name; /* owned */
    uint64_t ino;
    unsigned char type; /* DT_* */
};

struct dir_list {
    struct dir_entry *entries;
    size_t count, cap;
};

/* The DT_* type of a mode (DT_* values are S_IFMT >> 12). */
static inline unsigned char vfs_dtype(mode_t mode)
{
    return (unsigned char)((mode & S_IFMT) >> 12);
}

int dir_list_add(struct dir_list *l, const char *name, size_t len, uint64_t ino,
                 unsigned char type);
bool dir_list_contains(const struct dir_list *l, const char *name);
void dir_list_free(struct dir_list *l);

/* What a filesystem does on an inode. Directory operations are called with the directory
 * dentry's dir_lock held; `name` is one valid component (no '/', not "." or ".."). Creating
 * operations return the new inode with a reference for the caller. Any op may be NULL: the VFS
 * answers with the errno Linux gives for an object that can't do it. */
struct inode_ops {
    /* -ENOENT when absent. */
    int (*lookup)(struct inode *dir, const char *name, struct inode **out);
    int (*create)(struct inode *dir, const char *name, mode_t mode, const struct vfs_cred *cred,
                  struct inode **out);
    int (*mkdir)(struct inode *dir, const char *name, mode_t mode, const struct vfs_cred *cred,
                 struct inode **out);
    /* Character/block devices, FIFOs and sockets: mode carries the type. */
    int (*mknod)(struct inode *dir, const char *name, mode_t mode, dev_t rdev,
                 const struct vfs_cred *cred, struct inode **out);
    int (*symlink)(struct inode *dir, const char *name, const char *target,
                   const struct vfs_cred *cred, struct inode **out);
    int (*link)(struct inode *dir, const char *name, struct inode *target);
    /* Removes name → victim (a non-directory / an empty directory). */
    int (*unlink)(struct inode *dir, const char *name, struct inode *victim);
    int (*rmdir)(struct inode *dir, const char *name, struct inode *victim);
    /* Moves old_dir/old_name over new_dir/new_name with RENAME_* flags; the VFS checked types,
     * emptiness and NOREPLACE against its cache first. Both dir_locks are held. */
    int (*rename)(struct inode *old_dir, const char *old_name, struct inode *new_dir,
                  const char *new_name, unsigned flags);
    /* Copies the link target (not NUL-terminated) into buf; its length or -errno. */
    ssize_t (*readlink)(struct inode *inode, char *buf, size_t size);
    /* "Magic" links (/proc/PID/fd/N, exe, cwd, root): the very object the link stands for, as a
     * referenced path. A walk following the link jumps there instead of resolving readlink's
     * text (Linux's nd_jump_link). NULL: an ordinary symlink. */
    int (*get_link_path)(struct inode *inode, struct vfs_path *out);
    /* Whether a cached dentry for this inode still names something (Linux's d_revalidate):
     * synthetic filesystems whose entries come and go (/proc/PID) answer false once gone, and
     * the walk drops the dentry and looks the name up afresh. NULL: always valid. Called with
     * the parent's dir_lock held. */
    bool (*revalidate)(struct inode *inode);
    /* Refreshes inode's attributes (gofer revalidation, /proc's live values); NULL: the
     * fields in struct inode are always current. Called with inode.lock NOT held. */
    int (*getattr)(struct inode *inode);
    /* Applies the change and updates the inode's fields; the VFS checked permissions. */
    int (*setattr)(struct inode *inode, const struct vfs_setattr *attr);
    /* Lists a directory (without "." and ".."). */
    int (*readdir)(struct inode *dir, struct dir_list *out);
    /* Makes the open file for this inode: fills *out with a file holding a reference to the
     * inode (file_init_inode). NULL: vfs_open fails with ENXIO. */
    int (*open)(struct inode *inode, int flags, struct file **out);
    /* Extended attributes: sizes and errnos as getxattr(2) etc. */
    ssize_t (*getxattr)(struct inode *inode, const char *name, void *buf, size_t size);
    int (*setxattr)(struct inode *inode, const char *name, const void *value, size_t size,
                    int flags);
    ssize_t (*listxattr)(struct inode *inode, char *buf, size_t size);
    int (*removexattr)(struct inode *inode, const char *name);
    /* Frees the filesystem's part of the inode when the last reference goes. */
    void (*evict)(struct inode *inode);
    /* The filesystem's own access rule in place of the mode bits (Linux's ->permission, as
     * /proc/sys has): 0 or -EACCES. NULL: inode_generic_permission. */
    int (*permission)(struct inode *inode, const struct vfs_cred *cred, int mask);
};

struct super_block_ops {
    int (*statfs)(struct super_block *sb, struct statfs *out);
};

struct super_block {
    const struct super_block_ops *ops;
    const char *fs_name; /* as /proc/mounts names it: "tmpfs", "proc", "9p", "overlay" */
    dev_t dev;
    atomic_uint_fast64_t next_ino; /* for filesystems that number their own inodes */
    void *priv;
};

/* Makes a super block with a fresh anonymous device number. */
struct super_block *super_block_create(const char *fs_name, const struct super_block_ops *ops,
                                       void *priv);

struct inode {
    const struct inode_ops *ops;
    struct super_block *sb;
    atomic_int refs;      /* atomic: dentries and files take and drop refs without a lock */
    pthread_mutex_t lock; /* protects the attributes below and, unless the fs says otherwise,
                             its private data */
    uint64_t ino;
    mode_t mode; /* type and permission bits */
    nlink_t nlink;
    uid_t uid;
    gid_t gid;
    dev_t rdev;
    int64_t size;
    int64_t blocks; /* 512-byte units */
    struct timespec atime, mtime, ctime;
    void *priv; /* the filesystem's */
    /* Change notification (inotify): the union of the event masks of the watches on this inode
     * (0: unwatched, so vfs_notify costs one load), and the watches themselves. Both belong to
     * the notification backend and change under its lock (sentry/fs/inotify). */
    atomic_uint notify_mask;
    void *notify_watches;
};

/* A new inode with one reference, attributes zeroed but for `mode`, `ino` from the super block
 * (ino 0) and the current time. NULL on allocation failure. */
struct inode *inode_alloc(struct super_block *sb, const struct inode_ops *ops, mode_t mode,
                          uint64_t ino);
void inode_get(struct inode *inode);
/* A reference unless the last one is already being dropped (its evict may be waiting for a
 * filesystem lock): for filesystems that keep their own weak lists of inodes. */
bool inode_tryget(struct inode *inode);
void inode_put(struct inode *inode);
/* Fills *st from the inode (after ops->getattr when the fs has one). */
int inode_stat(struct inode *inode, struct stat *st);
/* The current size, refreshed from the filesystem first (a gofer file changes underneath). */
int64_t inode_size(struct inode *inode);
/* Whether `cred` may access the inode with `mask` (MAY_*): the filesystem's rule, else
 * inode_generic_permission. */
int inode_permission(struct inode *inode, const struct vfs_cred *cred, int mask);
/* Linux's generic_permission: the mode bits, and CAP_DAC_OVERRIDE. */
int inode_generic_permission(struct inode *inode, const struct vfs_cred *cred, int mask);
void inode_touch(struct inode *inode, bool atime, bool mtime, bool ctime);
/* An in-memory filesystem's setattr after its checks: mode bits, owner and times from `attr`
 * (size is the filesystem's own business), and ctime to now unless given, as notify_change
 * sets it. Takes inode->lock. */
void inode_apply_setattr(struct inode *inode, const struct vfs_setattr *attr);

/* ---- change notification (inotify(7)) ----
 *
 * The VFS reports what its operations did as IN_* events (<sys/inotify.h>) on the inodes
 * involved; a backend (sentry/fs/inotify) turns them into queued events for the watches on each
 * inode. Every call below takes only leaf locks and never blocks, so it may be made with
 * dir_locks held; all are one atomic load when nothing watches. */

/* Internal flag on an event about a file that has no name any more (IN_EXCL_UNLINK filters
 * those); not an IN_* bit. */
#define VFS_NOTIFY_UNLINKED 0x00100000u

/* The backend's delivery function: queues `mask` (IN_* event bits, IN_ISDIR, maybe
 * VFS_NOTIFY_UNLINKED) for the watches on `inode`, with a child's `name` (NULL: the inode
 * itself) and a rename `cookie`. IN_DELETE_SELF also ends every watch on the inode. */
typedef void (*vfs_notify_fn)(struct inode *inode, uint32_t mask, const char *name,
                              uint32_t cookie);
void vfs_set_notify_hook(vfs_notify_fn fn);
/* The backend publishes the union of an inode's watch masks (0 when none is left); it keeps
 * IN_IGNORED set while any watch exists, so a watch for no event still hears of deletion. */
void vfs_notify_set_mask(struct inode *inode, uint32_t mask);

/* An event on `inode` alone (IN_CREATE on a directory with the child's name, IN_MOVE_SELF...). */
void vfs_notify(struct inode *inode, uint32_t mask, const char *name, uint32_t cookie);
/* An event on the file named by dentry `d`: its parent directory hears it with d's name, then
 * d's inode without one (fsnotify_parent). IN_ISDIR is added for directories. */
void vfs_notify_dentry(struct dentry *d, uint32_t mask);
/* An event done through an open file (read, write, open, close): as vfs_notify_dentry for the
 * file's path, none for O_PATH or anonymous files. */
void vfs_notify_file(struct file *f, uint32_t mask);
/* The events of a successful setattr with `attr_mask` (VFS_ATTR_*), as fsnotify_change maps
 * them; `d` may be NULL (then only the inode hears). */
void vfs_notify_setattr(struct dentry *d, struct inode *inode, unsigned attr_mask);
/* A fresh cookie pairing IN_MOVED_FROM with IN_MOVED_TO. */
uint32_t vfs_notify_cookie(void);

/* ---- dentries and mounts ---- */

struct dentry {
    atomic_int refs;          /* the cache's and every holder's */
    struct dentry *parent;    /* a reference; NULL for a filesystem root */
    char *name;               /* owned; "/" for a root */
    struct inode *inode;      /* a reference; never NULL */
    pthread_mutex_t dir_lock; /* directories: protects children, and serialises the fs's
                                 directory ops on this inode */
    struct dentry **children; /* hash table of cached children, chained through hash_next */
    size_t nchildren, nbuckets;
    struct dentry *hash_next;
    atomic_int mounted; /* mounts whose mountpoint this is: walks look them up when non-zero */
    bool dead;          /* unlinked or renamed over: no longer reachable by name */
    /* Every cached dentry is on one list, oldest first, so the cache can be shrunk (each cached
     * gofer file holds a fid and a host fd in the gofer). Guarded by the list's lock. */
    struct dentry *lru_prev, *lru_next;
    bool on_lru;
};

/* Drops cached dentries no one holds until the cache is back under its limit: called where no
 * dentry lock is held (after walks). Cheap when the cache is small. */
void dcache_shrink(void);
/* How many dentries are cached (for tests and /proc). */
long dcache_cached_count(void);

/* Renames an unlinked (dead) dentry: what /proc shows for an anonymous file made by creating and
 * unlinking one (memfd_create's "memfd:NAME"). -EINVAL if the dentry is still linked. */
int dentry_rename_unlinked(struct dentry *d, const char *name);
/* A root dentry for `inode` (taking over the caller's reference). */
struct dentry *dentry_alloc_root(struct inode *inode);
void dentry_get(struct dentry *d);
void dentry_put(struct dentry *d);
/* Empties the dentry cache below `d` (children hold their parent, so a cached tree is never
 * freed by its root's last put): for a filesystem going away. Dentries still referenced
 * elsewhere stay alive, uncached. */
void dentry_prune(struct dentry *d);

#define MNT_READONLY 1
#define MNT_NOSUID 2
#define MNT_NODEV 4
#define MNT_NOEXEC 8

struct mount {
    int id;
    struct super_block *sb;
    struct dentry *root;       /* a reference */
    struct mount *parent;      /* NULL for the namespace's root mount */
    struct dentry *mountpoint; /* in parent; a reference */
    int flags;                 /* MNT_* */
    char *source;              /* for /proc/mounts */
    char *options;             /* for /proc/mounts: "rw,size=..." etc. without the ro/rw */
    struct mount *ns_next;     /* in mount_ns.mounts, in mount order */
};

struct mount_ns {
    atomic_int refs;
    pthread_mutex_t lock; /* protects the mount list */
    struct mount *root;
    struct mount *mounts; /* the root first, then in mount order */
    int next_id;
};

struct vfs_path {
    struct mount *mnt;
    struct dentry *dentry;
};

void vfs_path_get(const struct vfs_path *p);
void vfs_path_put(struct vfs_path *p);

/* A namespace whose root mount is `root_dentry` of `sb` (the reference passes to it). */
int mount_ns_create(struct super_block *sb, struct dentry *root_dentry, const char *source,
                    int flags, struct mount_ns **out);
void mount_ns_get(struct mount_ns *ns);
void mount_ns_put(struct mount_ns *ns);
/* Mounts the filesystem rooted at root_dentry (reference passes) on `at`. */
int mount_ns_add(struct mount_ns *ns, const struct vfs_path *at, struct super_block *sb,
                 struct dentry *root_dentry, const char *source, const char *options, int flags);
/* The root of the mount stacked last on `at`, if any: *p is replaced with a referenced path. */
bool mount_ns_cross(struct mount_ns *ns, struct vfs_path *p);
/* Calls fn for each mount in mount order with the namespace locked (for /proc/mounts). */
void mount_ns_for_each(struct mount_ns *ns, void (*fn)(struct mount *m, void *arg), void *arg);
/* The path of `p` as seen from `root` into buf (NUL-terminated); its length or -ENAMETOOLONG.
 * A path not under root reads as Linux's d_path does for it (the part below its mount). */
int vfs_path_string(struct mount_ns *ns, const struct vfs_path *root, const struct vfs_path *p,
                    char *buf, size_t size);

/* ---- per-process filesystem context (CLONE_FS shares it) ---- */

struct fs_context {
    atomic_int refs;
    pthread_mutex_t lock; /* protects root, cwd, umask */
    struct mount_ns *ns;  /* a reference */
    struct vfs_path root, cwd;
    mode_t umask;
};

struct fs_context *fs_context_create(struct mount_ns *ns, const struct vfs_path *root);
/* A copy for fork without CLONE_FS. */
struct fs_context *fs_context_copy(struct fs_context *fs);
void fs_context_get(struct fs_context *fs);
void fs_context_put(struct fs_context *fs);

/* ---- path walk ---- */

enum walk_flags {
    WALK_FOLLOW = 1 << 0,    /* follow a symlink in the last component */
    WALK_DIRECTORY = 1 << 1, /* the result must be a directory (a trailing '/' implies it) */
    WALK_EMPTY = 1 << 2,     /* "" names the start itself (AT_EMPTY_PATH) */
};

#define VFS_MAX_SYMLINKS 40 /* Linux's MAXSYMLINKS */

/* Where a walk starts and who walks: the task's root bounds "..", `start` is where relative
 * paths begin (cwd or a dirfd's directory). */
struct walk_ctx {
    struct fs_context *fs;
    const struct vfs_cred *cred;
    struct vfs_path start; /* borrowed */
    unsigned resolve;      /* openat2's RESOLVE_* restrictions (enum walk_resolve) */
};

/* openat2(2)'s resolve flags, as the walk enforces them. */
enum walk_resolve {
    WALK_NO_XDEV = 1 << 0,       /* no mount crossing: EXDEV */
    WALK_NO_MAGICLINKS = 1 << 1, /* no /proc magic links: ELOOP */
    WALK_NO_SYMLINKS = 1 << 2,   /* no symlinks at all: ELOOP */
    WALK_BENEATH = 1 << 3,       /* never above the start: EXDEV */
    WALK_IN_ROOT = 1 << 4,       /* the start acts as the root */
};

/* Resolves `path` to a referenced vfs_path in *out. */
int vfs_walk(const struct walk_ctx *ctx, const char *path, int flags, struct vfs_path *out);
/* Resolves all but the last component: *parent (referenced, a directory the caller may search)
 * and the last component copied into last[NAME_MAX + 1]. *trailing_slash says whether the path
 * ended in '/'. The last component is "" for "/" and "." / ".." as written: callers refuse those
 * per their syscall's rule. */
int vfs_walk_parent(const struct walk_ctx *ctx, const char *path, struct vfs_path *parent,
                    char *last, bool *trailing_slash);
/* Looks `name` up in the directory `dir` (cache first, then the fs). Returns a referenced dentry.
 * `dir` must be locked by the caller when `locked`. */
int vfs_lookup_child(struct dentry *dir, const char *name, bool locked, struct dentry **out);

/* ---- operations (syscall level) ---- */

/* open(2)/openat(2) after the walk context is known: flags and mode as the guest gave them,
 * umask applied here. */
int vfs_open(const struct walk_ctx *ctx, const char *path, int flags, mode_t mode,
             struct file **out);
/* Opens an already resolved path (for execve and /proc/self/fd). */
int vfs_open_path(const struct vfs_path *p, const struct vfs_cred *cred, int flags,
                  struct file **out);
int vfs_mkdir(const struct walk_ctx *ctx, const char *path, mode_t mode);
int vfs_mknod(const struct walk_ctx *ctx, const char *path, mode_t mode, dev_t dev);
/* vfs_mknod that also returns the new object's path (referenced) in *out (NULL: not wanted):
 * for bind(2), which keeps the socket file it made. */
int vfs_mknod_path(const struct walk_ctx *ctx, const char *path, mode_t mode, dev_t dev,
                   struct vfs_path *out);
int vfs_symlink(const struct walk_ctx *ctx, const char *target, const char *path);
int vfs_link(const struct walk_ctx *old_ctx, const char *old_path, const struct walk_ctx *new_ctx,
             const char *new_path, int flags);
int vfs_unlink(const struct walk_ctx *ctx, const char *path);
int vfs_rmdir(const struct walk_ctx *ctx, const char *path);
int vfs_rename(const struct walk_ctx *old_ctx, const char *old_path, const struct walk_ctx *new_ctx,
               const char *new_path, unsigned flags);
ssize_t vfs_readlink(const struct walk_ctx *ctx, const char *path, char *buf, size_t size);
int vfs_setattr(struct inode *inode, const struct vfs_cred *cred, const struct vfs_setattr *attr);
int vfs_statfs(const struct vfs_path *p, struct statfs *out);

/* ---- open files ---- */

/* Context for getdents: the VFS fills the guest's buffer through emit. */
struct dir_emit {
    /* Returns false when the entry does not fit (the walk stops there). */
    bool (*emit)(struct dir_emit *e, const char *name, size_t len, uint64_t ino, unsigned char type,
                 int64_t next_pos);
};

struct file_ops {
    /* Stream read and write for task `t` (which they may block, returning -ERESTARTSYS when a
     * signal interrupts them before any byte moved); bytes or -errno. Files with pread/pwrite
     * leave these NULL: the VFS reads and writes at the file position. */
    ssize_t (*read)(struct file *f, struct task *t, void *buf, size_t len);
    ssize_t (*write)(struct file *f, struct task *t, const void *buf, size_t len);
    /* Positioned I/O (regular files and devices): bytes or -errno. */
    ssize_t (*pread)(struct file *f, void *buf, size_t len, int64_t off);
    ssize_t (*pwrite)(struct file *f, const void *buf, size_t len, int64_t off);
    /* ioctl(2) with guest memory reached through `mm`; -ENOTTY if not supported. */
    long (*ioctl)(struct file *f, struct mm *mm, unsigned int cmd, uint64_t arg);
    /* For files without an inode (host fds); inode-backed files stat their inode. */
    int (*stat)(struct file *f, struct stat *st);
    /* The POLL* events ready now. With `w`, also registers w for `t` on whatever wakes when
     * that changes (the caller removes it with file_poll_unregister). Files that can't register
     * (host fds) set *slice: the caller must poll again after a short wait. NULL: always ready
     * for reading and writing. */
    unsigned (*poll)(struct file *f, struct task *t, struct waiter *w, bool *slice);
    void (*poll_unregister)(struct file *f, struct waiter *w);
    /* lseek(2); NULL for files with pread (the VFS seeks them) or that can't seek: ESPIPE. */
    int64_t (*llseek)(struct file *f, int64_t offset, int whence);
    /* A mappable for mmap(2) of this file (a new reference); NULL op: ENODEV. */
    int (*mmap)(struct file *f, struct mappable **out);
    int (*fsync)(struct file *f, bool datasync);
    int (*fallocate)(struct file *f, int mode, int64_t off, int64_t len);
    /* The name of a file without a path, as /proc/PID/fd shows it ("pipe:[ino]",
     * "anon_inode:[eventfd]", "/dev/pts/0"): NUL-terminated into buf; its length or -errno.
     * NULL: "anon_inode:[unknown]"-like names are made up by the caller. */
    int (*name)(struct file *f, char *buf, size_t size);
    void (*release)(struct file *f);
    /* Whether a read(2) fills the buffer as far as the data goes (a regular file behind a
     * stream op, such as a donated host file), rather than returning what one transfer gives
     * (pipes, terminals). Files with pread always fill. NULL: they don't. */
    bool (*read_fills)(struct file *f);
};

/* An open file description. */
struct file {
    const struct file_ops *ops;
    atomic_int refs;          /* atomic: taken and dropped from any task without a lock */
    atomic_int status_flags;  /* O_APPEND, O_NONBLOCK, access mode...: F_SETFL changes them */
    struct vfs_path path;     /* a reference, or {NULL, NULL} for anonymous files (pipes, stdio) */
    struct inode *inode;      /* a reference, or NULL */
    pthread_mutex_t pos_lock; /* protects pos and dir */
    int64_t pos;
    struct dir_list dir; /* directories: the listing read at position 0 */
    bool dir_loaded;
    /* The epoll items watching this file (sentry/fs/epoll), under epoll's global lock; they
     * go when the file is released (vfs_set_file_release_hook). */
    struct epoll_item *epoll_watches;
    /* Who hears of this file by signal (F_SETOWN, F_SETOWN_EX, F_SETSIG: sentry/kernel/fown.c):
     * dnotify and O_ASYNC. Each word is read and set alone, as Linux's f_owner under its lock
     * would give no more to a racing reader. */
    atomic_int owner_type; /* F_OWNER_TID, F_OWNER_PID or F_OWNER_PGRP */
    atomic_int owner_id;   /* the tid, tgid or pgid; 0: no owner */
    atomic_int owner_sig;  /* 0: SIGIO without siginfo */
};

void file_init(struct file *f, const struct file_ops *ops, int status_flags);
/* For inode-backed files: takes a reference to inode. */
void file_init_inode(struct file *f, const struct file_ops *ops, int status_flags,
                     struct inode *inode);
/* Frees what file_init*() and the VFS attached (path, inode, listing); each release op calls it
 * before freeing its own structure. */
void file_release_common(struct file *f);
void file_get(struct file *f);
void file_put(struct file *f);
/* Called with every open file description as its last reference goes, before its release op
 * (the kernel drops the file's locks there). Set once at start-up. */
void vfs_set_file_release_hook(void (*fn)(struct file *f));

/* The mappable for mmap(2) of f (a new reference), named for /proc/PID/maps by the path f was
 * opened by (from the root of `ns`). -ENODEV for files that can't be mapped. */
int vfs_mappable_for_file(struct file *f, struct mount_ns *ns, struct mappable **out);

/* read(2)/write(2)/pread/pwrite/lseek/getdents at the file level. */
ssize_t file_read(struct file *f, struct task *t, void *buf, size_t len);
ssize_t file_write(struct file *f, struct task *t, const void *buf, size_t len);
ssize_t file_pread(struct file *f, void *buf, size_t len, int64_t off);
ssize_t file_pwrite(struct file *f, const void *buf, size_t len, int64_t off);
int64_t file_llseek(struct file *f, int64_t offset, int whence);
int file_stat(struct file *f, struct stat *st);
/* What fstat(2) shows for Linux's anonymous-inode files (eventfd, epoll, timerfd, signalfd):
 * the one shared anon inode, mode 0600 without a type, owned by root. For their stat ops. */
void file_anon_stat(struct stat *st);
/* lseek(2) on an anonymous-inode file: Linux's noop_llseek, which moves nothing. */
int64_t file_noop_llseek(struct file *f, int64_t offset, int whence);
/* Emits entries from the file position on; returns the number emitted (0 at the end), -EINVAL
 * if the first entry does not fit, or -errno. */
int file_getdents(struct file *f, struct dir_emit *e);
/* Whether the file can be read / written per its access mode and ops. */
bool file_readable(const struct file *f);
bool file_writable(const struct file *f);

#define FDTABLE_MAX 1048576 /* Linux's default fs.nr_open */

struct fdtable {
    atomic_int refs;      /* tasks sharing the table (CLONE_FILES); atomic, taken without lock */
    pthread_mutex_t lock; /* protects files, cloexec, size */
    struct file **files;
    bool *cloexec;
    int size;
};

int fdtable_init(struct fdtable *t);
/* A new empty table with one reference, or NULL. */
struct fdtable *fdtable_alloc(void);
void fdtable_get_ref(struct fdtable *t);
/* Drops a reference; the last closes every file and frees the table. */
void fdtable_put_ref(struct fdtable *t);
/* Fills the empty table `dst` with the files of `src` (new references), as fork copies it. */
int fdtable_copy(struct fdtable *src, struct fdtable *dst);
void fdtable_destroy(struct fdtable *t);
/* Installs `f` (taking a new reference) at `fd` exactly, replacing what is there. */
int fdtable_install_at(struct fdtable *t, int fd, struct file *f, bool cloexec);
/* Installs `f` (taking a new reference) at the lowest free fd >= `min_fd`, below `limit`.
 * Returns the fd, or -EMFILE / -EINVAL. */
int fdtable_install_lowest(struct fdtable *t, int min_fd, int limit, struct file *f, bool cloexec);
/* The close-on-exec flag of `fd`: 0/1, or -EBADF. */
int fdtable_get_cloexec(struct fdtable *t, int fd);
int fdtable_set_cloexec(struct fdtable *t, int fd, bool cloexec);
/* Returns the file at `fd` with a reference the caller must put, or NULL. */
struct file *fdtable_get(struct fdtable *t, int fd);
int fdtable_close(struct fdtable *t, int fd);
/* Closes every fd marked close-on-exec (execve). */
void fdtable_close_on_exec(struct fdtable *t);
/* The highest open fd + 1 (for close_range and /proc/self/fd listings). */
int fdtable_size(struct fdtable *t);

#endif
