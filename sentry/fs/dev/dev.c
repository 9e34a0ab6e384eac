/* The character devices the sentry serves, by number, with the semantics of Linux's
 * drivers/char/mem.c and random.c: null reads EOF and swallows writes, zero reads zeros, full
 * reads zeros and refuses writes with ENOSPC, random and urandom read the host's getrandom(2)
 * and accept writes; their seeks all leave the position at 0. /dev/tty is the kernel's hook. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/sysmacros.h>

#include "sentry/fs/dev/dev.h"

struct dev_file {
    struct file base;
    dev_t rdev; /* what an inode-less file stats as */
};

static ssize_t read_eof(struct file *f, struct task *t, void *buf, size_t len)
{
    return 0;
}

static ssize_t read_zeros(struct file *f, struct task *t, void *buf, size_t len)
{
    memset(buf, 0, len);
    return (ssize_t)len;
}

static ssize_t read_random(struct file *f, struct task *t, void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        /* Since Linux 5.6 /dev/random only blocks before the pool is initialised, as
         * getrandom(2) without GRND_RANDOM does: both read it the same way. */
        ssize_t n = getrandom((char *)buf + done, len - done, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return done ? (ssize_t)done : -errno;
        }
        done += (size_t)n;
    }
    return (ssize_t)done;
}

static ssize_t write_all(struct file *f, struct task *t, const void *buf, size_t len)
{
    return (ssize_t)len;
}

static ssize_t write_enospc(struct file *f, struct task *t, const void *buf, size_t len)
{
    return -ENOSPC;
}

/* Positioned forms: the same, whatever the offset (pread(2) works on these devices). */
static ssize_t pread_eof(struct file *f, void *buf, size_t len, int64_t off)
{
    return 0;
}

static ssize_t pread_zeros(struct file *f, void *buf, size_t len, int64_t off)
{
    return read_zeros(f, NULL, buf, len);
}

static ssize_t pread_random(struct file *f, void *buf, size_t len, int64_t off)
{
    return read_random(f, NULL, buf, len);
}

static ssize_t pwrite_all(struct file *f, const void *buf, size_t len, int64_t off)
{
    return (ssize_t)len;
}

static ssize_t pwrite_enospc(struct file *f, const void *buf, size_t len, int64_t off)
{
    return -ENOSPC;
}

/* null_lseek and noop_llseek: the position never moves from 0, so both answer 0. */
static int64_t seek_zero(struct file *f, int64_t offset, int whence)
{
    return 0;
}

static int dev_stat(struct file *f, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_mode = S_IFCHR | 0666;
    st->st_nlink = 1;
    st->st_rdev = ((struct dev_file *)f)->rdev;
    st->st_blksize = 4096;
    return 0;
}

static void dev_release(struct file *f)
{
    file_release_common(f);
    free(f);
}

static const struct file_ops null_ops = {
    .read = read_eof,
    .write = write_all,
    .pread = pread_eof,
    .pwrite = pwrite_all,
    .llseek = seek_zero,
    .stat = dev_stat,
    .release = dev_release,
};

/* mmap stays NULL: the mmap syscall maps anonymous memory for dev_is_zero() files. */
static const struct file_ops zero_ops = {
    .read = read_zeros,
    .write = write_all,
    .pread = pread_zeros,
    .pwrite = pwrite_all,
    .llseek = seek_zero,
    .stat = dev_stat,
    .release = dev_release,
};

static const struct file_ops full_ops = {
    .read = read_zeros,
    .write = write_enospc,
    .pread = pread_zeros,
    .pwrite = pwrite_enospc,
    .llseek = seek_zero,
    .stat = dev_stat,
    .release = dev_release,
};

static const struct file_ops random_ops = {
    .read = read_random,
    .write = write_all,
    .pread = pread_random,
    .pwrite = pwrite_all,
    .llseek = seek_zero,
    .stat = dev_stat,
    .release = dev_release,
};

static const struct {
    unsigned major, minor;
    const struct file_ops *ops;
} devices[] = {
    {1, 3, &null_ops},   {1, 5, &zero_ops},   {1, 7, &full_ops},
    {1, 8, &random_ops}, {1, 9, &random_ops},
};

static int tty_enxio(int flags, struct file **out)
{
    return -ENXIO;
}

/* Set once before guests run; acquire/release so a reader sees the function published. */
static _Atomic(dev_tty_open_fn) tty_open_hook = tty_enxio;

void dev_set_tty_open(dev_tty_open_fn fn)
{
    atomic_store_explicit(&tty_open_hook, fn ? fn : tty_enxio, memory_order_release);
}

bool dev_is_zero(const struct file *f)
{
    return f->ops == &zero_ops;
}

static const struct file_ops *device_ops(dev_t rdev)
{
    for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++)
        if (major(rdev) == devices[i].major && minor(rdev) == devices[i].minor)
            return devices[i].ops;
    return NULL;
}

static bool is_tty(dev_t rdev)
{
    return major(rdev) == 5 && minor(rdev) == 0;
}

static int open_device(dev_t rdev, struct inode *inode, int flags, struct file **out)
{
    if (is_tty(rdev)) {
        dev_tty_open_fn fn = atomic_load_explicit(&tty_open_hook, memory_order_acquire);
        return fn(flags, out);
    }
    const struct file_ops *ops = device_ops(rdev);
    if (!ops)
        return -ENXIO; /* chrdev_open: no driver for the number */
    struct dev_file *df = calloc(1, sizeof(*df));
    if (!df)
        return -ENOMEM;
    if (inode)
        file_init_inode(&df->base, ops, flags, inode);
    else
        file_init(&df->base, ops, flags);
    df->rdev = rdev;
    *out = &df->base;
    return 0;
}

int dev_open_char(dev_t rdev, int flags, struct file **out)
{
    return open_device(rdev, NULL, flags, out);
}

int dev_open_inode(struct inode *inode, int flags, struct file **out)
{
    if (!S_ISCHR(inode->mode))
        return -ENXIO;
    return open_device(inode->rdev, inode, flags, out);
}
