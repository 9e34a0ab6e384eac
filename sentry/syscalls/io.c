/* I/O on open files: read(2), write(2), readv(2), writev(2), ioctl(2), fstat, close(2). Guest
 * buffers move through a bounded sentry buffer, so a guest size never sizes an allocation. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"
#include "sentry/vfs/vfs.h"

#define IO_CHUNK (64UL << 10)
/* Linux caps one read or write at MAX_RW_COUNT (INT_MAX rounded down to a page). */
#define MAX_RW_COUNT (INT_MAX & ~4095L)

static struct file *get_file(struct task *t, uint64_t fd)
{
    return fd > INT_MAX ? NULL : fdtable_get(t->fds, (int)fd);
}

/* Writes guest memory [addr, addr+len) to f: stops at the first bad page, returning what was
 * written before it (as Linux's partial copies do), or -EFAULT if nothing was. */
static long write_from_guest(struct task *t, struct file *f, uint64_t addr, size_t len)
{
    size_t total = 0;
    char *buf = malloc(len < IO_CHUNK ? (len ? len : 1) : IO_CHUNK);

    if (!buf)
        return -ENOMEM;
    while (total < len) {
        size_t want = len - total < IO_CHUNK ? len - total : IO_CHUNK;
        ssize_t got = mm_copy_in_partial(t->mm, addr + total, buf, want);
        if (got < 0) {
            if (total == 0)
                total = (size_t)got;
            break;
        }
        ssize_t w = f->ops->write(f, t, buf, (size_t)got);
        if (w < 0) {
            if (w == -EPIPE)
                task_signal_send(t, SIGPIPE, NULL);
            if (total == 0)
                total = (size_t)w;
            break;
        }
        total += (size_t)w;
        if (w < got || (size_t)got < want)
            break;
    }
    free(buf);
    return (long)total;
}

/* One read into guest memory; the buffer is checked first so no data is consumed that could not
 * be delivered. */
static long read_to_guest(struct task *t, struct file *f, uint64_t addr, size_t len)
{
    if (len == 0)
        return f->ops->read(f, t, NULL, 0);
    ssize_t ok = mm_writable_prefix(t->mm, addr, len < IO_CHUNK ? len : IO_CHUNK);
    if (ok < 0) {
        /* Linux faults only when there is something to copy: at end of file the answer is 0.
         * Probe with one byte, the least a bad buffer can cost the file. */
        char probe;
        ssize_t n = f->ops->read(f, t, &probe, 1);
        return n == 0 ? 0 : (n < 0 ? n : -EFAULT);
    }
    char *buf = malloc((size_t)ok);
    if (!buf)
        return -ENOMEM;
    ssize_t n = f->ops->read(f, t, buf, (size_t)ok);
    if (n > 0 && mm_copy_out(t->mm, addr, buf, (size_t)n) != 0)
        n = -EFAULT;
    free(buf);
    return n;
}

/* The open file at `fd` if it was opened for the direction asked, as read(2) and write(2) check:
 * NULL means EBADF. */
static struct file *get_file_for_io(struct task *t, uint64_t fd, bool write)
{
    struct file *f = get_file(t, fd);

    if (f && (write ? (!f->ops->write || (f->status_flags & O_ACCMODE) == O_RDONLY)
                    : (!f->ops->read || (f->status_flags & O_ACCMODE) == O_WRONLY))) {
        file_put(f);
        f = NULL;
    }
    return f;
}

long sys_read(struct task *t, const struct syscall_args *a)
{
    struct file *f = get_file_for_io(t, a->a[0], false);
    if (!f)
        return -EBADF;
    long ret = -EFAULT;
    if (mm_access_ok(t->mm, a->a[1], a->a[2]))
        ret = read_to_guest(t, f, a->a[1], a->a[2] > MAX_RW_COUNT ? MAX_RW_COUNT : a->a[2]);
    file_put(f);
    return ret;
}

long sys_write(struct task *t, const struct syscall_args *a)
{
    struct file *f = get_file_for_io(t, a->a[0], true);
    if (!f)
        return -EBADF;
    long ret = -EFAULT;
    size_t len = a->a[2] > MAX_RW_COUNT ? MAX_RW_COUNT : a->a[2];
    if (mm_access_ok(t->mm, a->a[1], a->a[2]))
        ret = len ? write_from_guest(t, f, a->a[1], len) : f->ops->write(f, t, "", 0);
    file_put(f);
    return ret;
}

/* Copies in and checks an iovec array as Linux's import_iovec() does. */
static long import_iovec(struct task *t, uint64_t addr, uint64_t count, struct iovec **out)
{
    if (count > IOV_MAX)
        return -EINVAL;
    struct iovec *iov = calloc(count ? count : 1, sizeof(*iov));
    if (!iov)
        return -ENOMEM;
    if (count && mm_copy_in(t->mm, addr, iov, count * sizeof(*iov)) != 0) {
        free(iov);
        return -EFAULT;
    }
    uint64_t total = 0;
    for (uint64_t i = 0; i < count; i++) {
        if ((ssize_t)iov[i].iov_len < 0) {
            free(iov);
            return -EINVAL;
        }
        if (!mm_access_ok(t->mm, (uint64_t)iov[i].iov_base, iov[i].iov_len)) {
            free(iov);
            return -EFAULT;
        }
        /* The total is capped at MAX_RW_COUNT by truncating, not failing. */
        if (iov[i].iov_len > MAX_RW_COUNT - total)
            iov[i].iov_len = MAX_RW_COUNT - total;
        total += iov[i].iov_len;
    }
    *out = iov;
    return 0;
}

typedef long (*guest_io_fn)(struct task *t, struct file *f, uint64_t addr, size_t len);

/* Transfers each non-empty vector in turn; a short transfer ends the call, as it ends Linux's
 * loop over the vectors of a pipe or terminal. */
static long io_each_vector(struct task *t, struct file *f, const struct iovec *iov, uint64_t n,
                           guest_io_fn io)
{
    long ret = 0;

    for (uint64_t i = 0; i < n; i++) {
        if (iov[i].iov_len == 0)
            continue;
        long done = io(t, f, (uint64_t)iov[i].iov_base, iov[i].iov_len);
        if (done < 0)
            return ret ? ret : done;
        ret += done;
        if ((size_t)done < iov[i].iov_len)
            break;
    }
    return ret;
}

/* Gathers vectors (at most IO_CHUNK in all) into one host write, so a small writev stays one
 * write, as Linux keeps it one operation on pipes and terminals. */
static long write_gathered(struct task *t, struct file *f, const struct iovec *iov, uint64_t n,
                           size_t total)
{
    char *buf = malloc(total ? total : 1);
    size_t got = 0;
    long ret;

    if (!buf)
        return -ENOMEM;
    for (uint64_t i = 0; i < n; i++) {
        if (iov[i].iov_len == 0)
            continue;
        ssize_t c = mm_copy_in_partial(t->mm, (uint64_t)iov[i].iov_base, buf + got,
                                       iov[i].iov_len);
        if (c < 0)
            break;
        got += (size_t)c;
        if ((size_t)c < iov[i].iov_len)
            break;
    }
    ret = got == 0 && total > 0 ? -EFAULT : f->ops->write(f, t, buf, got);
    if (ret == -EPIPE)
        task_signal_send(t, SIGPIPE, NULL);
    free(buf);
    return ret;
}

static long vectored_io(struct task *t, const struct syscall_args *a, bool write)
{
    struct iovec *iov;
    struct file *f = get_file_for_io(t, a->a[0], write);
    long ret;

    if (!f)
        return -EBADF;
    if ((ret = import_iovec(t, a->a[1], a->a[2], &iov)) == 0) {
        size_t total = 0;
        for (uint64_t i = 0; i < a->a[2]; i++)
            total += iov[i].iov_len;
        if (!write)
            ret = io_each_vector(t, f, iov, a->a[2], read_to_guest);
        else if (total <= IO_CHUNK)
            ret = write_gathered(t, f, iov, a->a[2], total);
        else
            ret = io_each_vector(t, f, iov, a->a[2], write_from_guest);
        free(iov);
    }
    file_put(f);
    return ret;
}

long sys_readv(struct task *t, const struct syscall_args *a)
{
    return vectored_io(t, a, false);
}

long sys_writev(struct task *t, const struct syscall_args *a)
{
    return vectored_io(t, a, true);
}

long sys_lseek(struct task *t, const struct syscall_args *a)
{
    struct file *f = get_file(t, a->a[0]);
    long ret;

    if (!f)
        return -EBADF;
    if (a->a[2] > SEEK_MAX)
        ret = -EINVAL;
    else
        ret = f->ops->llseek ? f->ops->llseek(f, (int64_t)a->a[1], (int)a->a[2]) : -ESPIPE;
    file_put(f);
    return ret;
}

long sys_ioctl(struct task *t, const struct syscall_args *a)
{
    struct file *f = get_file(t, a->a[0]);
    long ret;

    if (!f)
        return -EBADF;
    unsigned int cmd = (unsigned int)a->a[1];
    switch (cmd) {
    case FIOCLEX:
    case FIONCLEX:
        ret = 0; /* close-on-exec has no effect until execve exists */
        break;
    default:
        ret = f->ops->ioctl ? f->ops->ioctl(f, t->mm, cmd, a->a[2]) : -ENOTTY;
    }
    file_put(f);
    return ret;
}

static long stat_file_to_guest(struct task *t, uint64_t fd, uint64_t addr)
{
    struct stat st;
    struct file *f = get_file(t, fd);

    if (!f)
        return -EBADF;
    int err = f->ops->stat ? f->ops->stat(f, &st) : -EINVAL;
    file_put(f);
    if (err)
        return err;
    /* The host libc's struct stat is the kernel's on the 64-bit arches runsc supports. */
    return mm_copy_out(t->mm, addr, &st, sizeof(st));
}

long sys_fstat(struct task *t, const struct syscall_args *a)
{
    return stat_file_to_guest(t, a->a[0], a->a[1]);
}

long sys_newfstatat(struct task *t, const struct syscall_args *a)
{
    char path[2];
    ssize_t len = mm_copy_string_in(t->mm, a->a[1], path, sizeof(path));

    if (len < 0)
        return len == -ENAMETOOLONG ? -ENOENT : len;
    if (a->a[3] & ~(uint64_t)(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT))
        return -EINVAL;
    if (len == 0 && (a->a[3] & AT_EMPTY_PATH))
        return stat_file_to_guest(t, a->a[0], a->a[2]);
    /* Paths need the VFS, which reaches files only through the gofer. */
    return -ENOENT;
}

long sys_close(struct task *t, const struct syscall_args *a)
{
    return a->a[0] > INT_MAX ? -EBADF : fdtable_close(t->fds, (int)a->a[0]);
}
