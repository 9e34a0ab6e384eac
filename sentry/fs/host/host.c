/* Host-fd files and mappables. */
#include "sentry/fs/host/host.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "sentry/kernel/kernel.h"

/* The kernel's struct termios (not glibc's, which is larger): what TCGETS copies. */
#define KERNEL_TERMIOS_SIZE 36

struct host_file {
    struct file base;
    int fd;
    bool regular; /* a regular file: reads fill the buffer, as Linux's do */
};

static int host_fd(struct file *f)
{
    return ((struct host_file *)f)->fd;
}

static bool host_read_fills(struct file *f)
{
    return ((struct host_file *)f)->regular;
}

/* How long the sentry waits on a host fd before looking at the guest's signals again: host fds
 * can't wake a task, so blocking on one is done in slices. */
#define HOST_WAIT_SLICE_MS 10

/* Waits until the host fd is ready for `events` (0), the guest's file is non-blocking and it
 * isn't (-EAGAIN), or a signal comes for the task (-ERESTARTSYS). Regular files are always
 * ready; so is everything when there is no task to interrupt. */
static int host_wait(struct file *f, struct task *t, short events)
{
    for (;;) {
        struct pollfd p = {.fd = host_fd(f), .events = events};
        int r = poll(&p, 1, 0);
        if (r != 0 || !t)
            return r < 0 ? -errno : 0;
        if (f->status_flags & O_NONBLOCK)
            return -EAGAIN;
        r = poll(&p, 1, HOST_WAIT_SLICE_MS);
        if (r != 0)
            return r < 0 ? -errno : 0;
        if (task_signal_pending(t))
            return -ERESTARTSYS;
    }
}

static ssize_t host_read(struct file *f, struct task *t, void *buf, size_t len)
{
    int err = host_wait(f, t, POLLIN);
    if (err)
        return err;
    ssize_t n = read(host_fd(f), buf, len);
    return n < 0 ? -errno : n;
}

static ssize_t host_write(struct file *f, struct task *t, const void *buf, size_t len)
{
    int err = host_wait(f, t, POLLOUT);
    if (err)
        return err;
    ssize_t n = write(host_fd(f), buf, len);
    return n < 0 ? -errno : n;
}

static unsigned host_poll(struct file *f, struct task *t, struct waiter *w, bool *slice)
{
    struct pollfd p = {.fd = host_fd(f), .events = POLLIN | POLLOUT | POLLPRI};

    *slice = true;
    if (poll(&p, 1, 0) < 0)
        return POLLERR;
    return (unsigned)p.revents;
}

/* Runs a terminal ioctl whose argument is `size` bytes, in (guest to host) or out. */
static long host_ioctl_buffer(int fd, struct mm *mm, unsigned int cmd, uint64_t arg, size_t size,
                              bool in)
{
    char buf[64];

    if (in && mm_copy_in(mm, arg, buf, size) != 0)
        return -EFAULT;
    if (ioctl(fd, cmd, buf) != 0)
        return -errno;
    if (!in && mm_copy_out(mm, arg, buf, size) != 0)
        return -EFAULT;
    return 0;
}

static long host_ioctl(struct file *f, struct mm *mm, unsigned int cmd, uint64_t arg)
{
    int fd = host_fd(f);

    switch (cmd) {
    case TCGETS:
        return host_ioctl_buffer(fd, mm, cmd, arg, KERNEL_TERMIOS_SIZE, false);
    case TCSETS:
    case TCSETSW:
    case TCSETSF:
        return host_ioctl_buffer(fd, mm, cmd, arg, KERNEL_TERMIOS_SIZE, true);
    case TIOCGWINSZ:
        return host_ioctl_buffer(fd, mm, cmd, arg, sizeof(struct winsize), false);
    case TIOCSWINSZ:
        return host_ioctl_buffer(fd, mm, cmd, arg, sizeof(struct winsize), true);
    default:
        return -ENOTTY;
    }
}

static int host_stat(struct file *f, struct stat *st)
{
    return fstat(host_fd(f), st) == 0 ? 0 : -errno;
}

static int64_t host_llseek(struct file *f, int64_t offset, int whence)
{
    /* The host fd's offset is the open file description's: shared with the outside, as a
     * donated fd's is in any container. */
    off_t r = lseek(host_fd(f), (off_t)offset, whence);
    return r < 0 ? -errno : (int64_t)r;
}

/* /proc/PID/fd's name for a donated fd: what Linux shows for the same kind of object, by inode.
 * (The host's name of a terminal is out of reach: the sandbox has no host /proc, and its seccomp
 * filter kills it on readlink.) */
static int host_name(struct file *f, char *buf, size_t size)
{
    struct stat st;
    if (fstat(host_fd(f), &st) != 0)
        return -errno;
    const char *kind = S_ISFIFO(st.st_mode) ? "pipe" : S_ISSOCK(st.st_mode) ? "socket" : "host";
    int n = snprintf(buf, size, "%s:[%llu]", kind, (unsigned long long)st.st_ino);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

static void host_release(struct file *f)
{
    close(host_fd(f));
    free(f);
}

static const struct file_ops host_file_ops = {
    .read = host_read,
    .write = host_write,
    .ioctl = host_ioctl,
    .stat = host_stat,
    .poll = host_poll,
    .llseek = host_llseek,
    .name = host_name,
    .read_fills = host_read_fills,
    .release = host_release,
};

struct file *host_file_create(int fd, int status_flags)
{
    struct host_file *hf = calloc(1, sizeof(*hf));

    if (!hf)
        return NULL;
    file_init(&hf->base, &host_file_ops, status_flags);
    hf->fd = fd;
    struct stat st;
    hf->regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    return &hf->base;
}

struct host_mappable {
    struct mappable base;
    atomic_int refs; /* atomic: VMAs in any mm hold references */
    int fd;
    char *name; /* the guest's path of the file, or NULL; set before the mappable is shared */
};

ssize_t host_mappable_pread(struct mappable *m, void *buf, size_t len, uint64_t off)
{
    ssize_t n = pread(((struct host_mappable *)m)->fd, buf, len, (off_t)off);
    return n < 0 ? -errno : n;
}

uint64_t host_mappable_size(struct mappable *m)
{
    struct stat st;

    if (fstat(((struct host_mappable *)m)->fd, &st) != 0)
        return 0;
    return (uint64_t)st.st_size;
}

static void host_mappable_get(struct mappable *m)
{
    atomic_fetch_add_explicit(&((struct host_mappable *)m)->refs, 1, memory_order_relaxed);
}

static void host_mappable_put(struct mappable *m)
{
    struct host_mappable *hm = (struct host_mappable *)m;

    if (atomic_fetch_sub_explicit(&hm->refs, 1, memory_order_acq_rel) == 1) {
        close(hm->fd);
        free(hm->name);
        free(hm);
    }
}

static int host_mappable_name(struct mappable *m, char *buf, size_t size, dev_t *dev,
                              uint64_t *ino)
{
    struct host_mappable *hm = (struct host_mappable *)m;
    struct stat st;

    if (!hm->name)
        return -ENOENT;
    if (fstat(hm->fd, &st) == 0) {
        *dev = st.st_dev;
        *ino = st.st_ino;
    }
    int n = snprintf(buf, size, "%s", hm->name);
    return (size_t)n >= size ? -ENAMETOOLONG : n;
}

static const struct mappable_ops host_mappable_ops = {
    .read = host_mappable_pread,
    .get = host_mappable_get,
    .put = host_mappable_put,
    .name = host_mappable_name,
};

void host_mappable_set_name(struct mappable *m, const char *path)
{
    struct host_mappable *hm = (struct host_mappable *)m;
    free(hm->name);
    hm->name = path ? strdup(path) : NULL;
}

struct mappable *host_mappable_create(int fd)
{
    struct host_mappable *hm = calloc(1, sizeof(*hm));

    if (!hm)
        return NULL;
    hm->base.ops = &host_mappable_ops;
    atomic_init(&hm->refs, 1);
    hm->fd = fd;
    return &hm->base;
}
