/* Open files and fd tables. Today the only files are host fds donated to the sandbox (stdio);
 * the VFS proper (dentries, mounts, path walk) builds on these types. */
#ifndef RUNSC_SENTRY_VFS_VFS_H
#define RUNSC_SENTRY_VFS_VFS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct mm;
struct file;
struct task;
struct waiter;

struct file_ops {
    /* Read and write at the file's position for task `t` (which they may block, returning
     * -ERESTARTSYS when a signal interrupts them before any byte moved); bytes or -errno. */
    ssize_t (*read)(struct file *f, struct task *t, void *buf, size_t len);
    ssize_t (*write)(struct file *f, struct task *t, const void *buf, size_t len);
    /* ioctl(2) with guest memory reached through `mm`; -ENOTTY if not supported. */
    long (*ioctl)(struct file *f, struct mm *mm, unsigned int cmd, uint64_t arg);
    int (*stat)(struct file *f, struct stat *st);
    /* The POLL* events ready now. With `w`, also registers w for `t` on whatever wakes when
     * that changes (the caller removes it with file_poll_unregister). Files that can't register
     * (host fds) set *slice: the caller must poll again after a short wait. NULL: always ready
     * for reading and writing. */
    unsigned (*poll)(struct file *f, struct task *t, struct waiter *w, bool *slice);
    void (*poll_unregister)(struct file *f, struct waiter *w);
    /* lseek(2); NULL for files that can't seek (pipes): ESPIPE. */
    int64_t (*llseek)(struct file *f, int64_t offset, int whence);
    void (*release)(struct file *f);
};

/* An open file description. */
struct file {
    const struct file_ops *ops;
    atomic_int refs; /* atomic: taken and dropped from any task without a lock */
    int status_flags; /* O_APPEND, O_NONBLOCK, access mode: fixed for now */
};

void file_init(struct file *f, const struct file_ops *ops, int status_flags);
void file_get(struct file *f);
void file_put(struct file *f);

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

#endif
