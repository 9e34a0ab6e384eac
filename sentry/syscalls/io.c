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
#include "sentry/fs/pipe/pipe.h"
#include "sentry/kernel/filelock.h"
#include "sentry/socket/socket.h"
#include "sentry/fs/inotify/inotify.h"
#include "sentry/syscalls/syscalls.h"
#include "sentry/vfs/vfs.h"

#define IO_CHUNK (64UL << 10)
/* Linux caps one read or write at MAX_RW_COUNT (INT_MAX rounded down to a page). */
#define MAX_RW_COUNT (INT_MAX & ~4095L)

static struct file *get_file(struct task *t, uint64_t fd)
{
    return fd > INT_MAX ? NULL : fdtable_get(t->fds, (int)fd);
}

/* One transfer at the file position (off NULL) or at *off, which advances. */
static ssize_t io_read(struct file *f, struct task *t, void *buf, size_t len, int64_t *off)
{
    if (!off)
        return file_read(f, t, buf, len);
    ssize_t n = file_pread(f, buf, len, *off);
    if (n > 0)
        *off += n;
    return n;
}

static int64_t file_pos_get(struct file *f);

/* generic_write_checks' RLIMIT_FSIZE rule for a regular file: a write starting at or past the
 * limit fails with EFBIG (the caller sends SIGXFSZ once, for the call as a whole), one crossing
 * it is cut short at the limit. Returns the length to write, or -EFBIG. */
static ssize_t fsize_clamp(struct file *f, struct task *t, size_t len, const int64_t *off)
{
    rlim_t limit = task_rlimit(t, RLIMIT_FSIZE);

    if (limit == RLIM_INFINITY || !f->inode || !S_ISREG(f->inode->mode))
        return (ssize_t)len;
    int64_t pos;
    if (atomic_load_explicit(&f->status_flags, memory_order_relaxed) & O_APPEND)
        pos = inode_size(f->inode);
    else
        pos = off ? *off : file_pos_get(f);
    if ((uint64_t)pos >= limit)
        return -EFBIG;
    return (ssize_t)(len < limit - (uint64_t)pos ? len : limit - (uint64_t)pos);
}

static ssize_t io_write(struct file *f, struct task *t, const void *buf, size_t len, int64_t *off)
{
    ssize_t allowed = fsize_clamp(f, t, len, off);
    if (allowed < 0)
        return allowed;
    len = (size_t)allowed;
    if (!off)
        return file_write(f, t, buf, len);
    ssize_t n = file_pwrite(f, buf, len, *off);
    if (n > 0)
        *off += n;
    return n;
}

/* The file position, read under its lock. splice(2) and copy_file_range(2) move a file at a
 * guest loff_t, or without one at its file position: offset_store puts a moved offset back where
 * it came from (-EFAULT for a bad guest pointer). */
static int64_t file_pos_get(struct file *f)
{
    pthread_mutex_lock(&f->pos_lock);
    int64_t pos = f->pos;
    pthread_mutex_unlock(&f->pos_lock);
    return pos;
}

static long offset_store(struct task *t, struct file *f, uint64_t user, int64_t off)
{
    if (user)
        return mm_copy_out(t->mm, user, &off, sizeof(off)) ? -EFAULT : 0;
    pthread_mutex_lock(&f->pos_lock);
    f->pos = off;
    pthread_mutex_unlock(&f->pos_lock);
    return 0;
}

/* Writes guest memory [addr, addr+len) to f: stops at the first bad page, returning what was
 * written before it (as Linux's partial copies do), or -EFAULT if nothing was. */
static long write_from_guest(struct task *t, struct file *f, uint64_t addr, size_t len,
                             int64_t *off)
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
        ssize_t w = io_write(f, t, buf, (size_t)got, off);
        if (w < 0) {
            if (w == -EPIPE)
                task_signal_send(t, SIGPIPE, NULL);
            if (w == -EFBIG && total == 0)
                task_signal_send(t, SIGXFSZ, NULL);
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
static long read_chunk_to_guest(struct task *t, struct file *f, uint64_t addr, size_t len,
                                int64_t *off)
{
    if (len == 0)
        return io_read(f, t, NULL, 0, off);
    ssize_t ok = mm_writable_prefix(t->mm, addr, len < IO_CHUNK ? len : IO_CHUNK);
    if (ok < 0) {
        /* Linux faults only when there is something to copy: at end of file the answer is 0.
         * Probe with one byte, the least a bad buffer can cost the file. */
        char probe;
        int64_t probe_off;
        if (off) {
            probe_off = *off;
        } else if (!f->ops->read && f->ops->pread) {
            /* A positioned file probes at its position without moving it: Linux's read
             * faults before it advances f_pos. */
            probe_off = file_pos_get(f);
            off = &probe_off;
        }
        ssize_t n = io_read(f, t, &probe, 1, off ? &probe_off : NULL);
        return n == 0 ? 0 : (n < 0 ? n : -EFAULT);
    }
    char *buf = malloc((size_t)ok);
    if (!buf)
        return -ENOMEM;
    ssize_t n = io_read(f, t, buf, (size_t)ok, off);
    if (n > 0 && mm_copy_out(t->mm, addr, buf, (size_t)n) != 0)
        n = -EFAULT;
    free(buf);
    return n;
}

/* Reads into guest memory: streams return after one transfer, as Linux's pipes and terminals
 * do; regular files and devices fill the buffer until end of file or a bad page. */
static long read_to_guest(struct task *t, struct file *f, uint64_t addr, size_t len, int64_t *off)
{
    if (!f->ops->pread && !(f->ops->read_fills && f->ops->read_fills(f)))
        return read_chunk_to_guest(t, f, addr, len, off);
    size_t total = 0;
    do {
        size_t want = len - total < IO_CHUNK ? len - total : IO_CHUNK;
        long n = read_chunk_to_guest(t, f, addr + total, want, off);
        if (n < 0)
            return total ? (long)total : n;
        total += (size_t)n;
        if ((size_t)n < want)
            break;
    } while (total < len);
    return (long)total;
}

/* The open file at `fd` if it was opened for the direction asked, as read(2) and write(2) check:
 * NULL means EBADF. */
static struct file *get_file_for_io(struct task *t, uint64_t fd, bool write)
{
    struct file *f = get_file(t, fd);

    if (f && !(write ? file_writable(f) : file_readable(f))) {
        file_put(f);
        f = NULL;
    }
    return f;
}

/* Why get_file_for_io refused `fd`: a directory open for reading passes Linux's FMODE_READ
 * check and fails in its read op (generic_read_dir: EISDIR); anything else is EBADF. */
static long io_refusal(struct task *t, uint64_t fd, bool write)
{
    struct file *f = get_file(t, fd);
    long err = -EBADF;

    if (f) {
        int flags = atomic_load_explicit(&f->status_flags, memory_order_relaxed);
        if (!write && f->inode && S_ISDIR(f->inode->mode) && !(flags & O_PATH) &&
            (flags & O_ACCMODE) != O_WRONLY)
            err = -EISDIR;
        file_put(f);
    }
    return err;
}

long sys_read(struct task *t, const struct syscall_args *a)
{
    struct file *f = get_file_for_io(t, a->a[0], false);
    if (!f)
        return io_refusal(t, a->a[0], false);
    long ret = -EFAULT;
    size_t len = a->a[2] > MAX_RW_COUNT ? MAX_RW_COUNT : a->a[2];
    struct socket *s = socket_from_file(f);
    if (!mm_access_ok(t->mm, a->a[1], a->a[2]))
        ret = -EFAULT;
    else if (s)
        ret = socket_transfer(t, s, &(struct iovec){(void *)a->a[1], len}, 1, false);
    else
        ret = read_to_guest(t, f, a->a[1], len, NULL);
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
    struct socket *s = socket_from_file(f);
    if (!mm_access_ok(t->mm, a->a[1], a->a[2]))
        ret = -EFAULT;
    else if (s)
        ret = socket_transfer(t, s, &(struct iovec){(void *)a->a[1], len}, 1, true);
    else
        ret = len ? write_from_guest(t, f, a->a[1], len, NULL) : file_write(f, t, "", 0);
    file_put(f);
    return ret;
}

long import_iovec(struct task *t, uint64_t addr, uint64_t count, struct iovec **out)
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

typedef long (*guest_io_fn)(struct task *t, struct file *f, uint64_t addr, size_t len,
                            int64_t *off);

/* Transfers each non-empty vector in turn; a short transfer ends the call, as it ends Linux's
 * loop over the vectors of a pipe or terminal. */
static long io_each_vector(struct task *t, struct file *f, const struct iovec *iov, uint64_t n,
                           guest_io_fn io, int64_t *off)
{
    long ret = 0;

    for (uint64_t i = 0; i < n; i++) {
        if (iov[i].iov_len == 0)
            continue;
        long done = io(t, f, (uint64_t)iov[i].iov_base, iov[i].iov_len, off);
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
                           size_t total, int64_t *off)
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
    ret = got == 0 && total > 0 ? -EFAULT : io_write(f, t, buf, got, off);
    if (ret == -EPIPE)
        task_signal_send(t, SIGPIPE, NULL);
    if (ret == -EFBIG)
        task_signal_send(t, SIGXFSZ, NULL);
    free(buf);
    return ret;
}

/* readv/writev and their positioned forms: off NULL uses the file position. */
static long vectored_io(struct task *t, uint64_t fd, uint64_t iov_addr, uint64_t iovcnt,
                        bool write, int64_t *off)
{
    struct iovec *iov;
    struct file *f = get_file_for_io(t, fd, write);
    long ret;

    if (!f)
        return io_refusal(t, fd, write);
    if (off && !f->ops->pread) {
        file_put(f);
        return -ESPIPE;
    }
    if ((ret = import_iovec(t, iov_addr, iovcnt, &iov)) == 0) {
        size_t total = 0;
        for (uint64_t i = 0; i < iovcnt; i++)
            total += iov[i].iov_len;
        struct socket *s = socket_from_file(f);
        if (s && !off)
            ret = socket_transfer(t, s, iov, iovcnt, write);
        else if (!write)
            ret = io_each_vector(t, f, iov, iovcnt, read_to_guest, off);
        else if (total <= IO_CHUNK)
            ret = write_gathered(t, f, iov, iovcnt, total, off);
        else
            ret = io_each_vector(t, f, iov, iovcnt, write_from_guest, off);
        free(iov);
    }
    file_put(f);
    return ret;
}

long sys_readv(struct task *t, const struct syscall_args *a)
{
    return vectored_io(t, a->a[0], a->a[1], a->a[2], false, NULL);
}

long sys_writev(struct task *t, const struct syscall_args *a)
{
    return vectored_io(t, a->a[0], a->a[1], a->a[2], true, NULL);
}

static long positioned(struct task *t, const struct syscall_args *a, bool write)
{
    int64_t off = (int64_t)a->a[3];
    if (off < 0)
        return -EINVAL;
    struct file *f = get_file_for_io(t, a->a[0], write);
    if (!f)
        return io_refusal(t, a->a[0], write);
    long ret;
    size_t len = a->a[2] > MAX_RW_COUNT ? MAX_RW_COUNT : a->a[2];
    if (!f->ops->pread)
        ret = -ESPIPE;
    else if (!mm_access_ok(t->mm, a->a[1], a->a[2]))
        ret = -EFAULT;
    else if (write)
        ret = len ? write_from_guest(t, f, a->a[1], len, &off) : 0;
    else
        ret = read_to_guest(t, f, a->a[1], len, &off);
    file_put(f);
    return ret;
}

long sys_pread64(struct task *t, const struct syscall_args *a)
{
    return positioned(t, a, false);
}

long sys_pwrite64(struct task *t, const struct syscall_args *a)
{
    return positioned(t, a, true);
}

/* pwritev2's RWF_APPEND on a regular file: the write goes to the end, like O_APPEND for this
 * call; at offset -1 the file position moves there too, otherwise it stays (Linux's
 * IOCB_APPEND). */
static long append_position(struct task *t, uint64_t fd, int64_t *off)
{
    struct file *f = get_file(t, fd);
    if (!f)
        return -EBADF;
    long err = 0;
    if (f->inode && S_ISREG(f->inode->mode)) {
        struct stat st;
        err = file_stat(f, &st);
        if (!err && *off == -1) {
            pthread_mutex_lock(&f->pos_lock);
            f->pos = st.st_size;
            pthread_mutex_unlock(&f->pos_lock);
        } else if (!err) {
            *off = st.st_size;
        }
    }
    file_put(f);
    return err;
}

/* preadv/pwritev split the offset in two registers (pos_l, pos_h); -1 in the v2 forms means
 * "the file position". */
static long vectored_at(struct task *t, const struct syscall_args *a, bool write, bool v2)
{
    int64_t off = (int64_t)a->a[3];
    if (v2) {
        int flags = (int)a->a[5];
        if (flags & ~(RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND))
            return -EOPNOTSUPP;
        if (write && (flags & RWF_APPEND)) {
            long err = append_position(t, a->a[0], &off);
            if (err)
                return err;
        }
        if (off == -1)
            return vectored_io(t, a->a[0], a->a[1], a->a[2], write, NULL);
    }
    if (off < 0)
        return -EINVAL;
    return vectored_io(t, a->a[0], a->a[1], a->a[2], write, &off);
}

long sys_preadv(struct task *t, const struct syscall_args *a)
{
    return vectored_at(t, a, false, false);
}

long sys_pwritev(struct task *t, const struct syscall_args *a)
{
    return vectored_at(t, a, true, false);
}

long sys_preadv2(struct task *t, const struct syscall_args *a)
{
    return vectored_at(t, a, false, true);
}

long sys_pwritev2(struct task *t, const struct syscall_args *a)
{
    return vectored_at(t, a, true, true);
}

/* sendfile(2) and copy_file_range(2): through a sentry buffer, in chunks. */
static long copy_between(struct task *t, struct file *in, int64_t *in_off, struct file *out,
                         int64_t *out_off, size_t count)
{
    char *buf = malloc(IO_CHUNK);
    if (!buf)
        return -ENOMEM;
    size_t total = 0;
    long ret = 0;
    while (total < count) {
        size_t want = count - total < IO_CHUNK ? count - total : IO_CHUNK;
        int64_t probe = in_off ? *in_off : 0;
        ssize_t n = io_read(in, t, buf, want, in_off ? &probe : NULL);
        if (n <= 0) {
            ret = n;
            break;
        }
        ssize_t w = io_write(out, t, buf, (size_t)n, out_off);
        if (w < 0) {
            if (w == -EPIPE)
                task_signal_send(t, SIGPIPE, NULL);
            ret = w;
            break;
        }
        if (in_off)
            *in_off += w;
        total += (size_t)w;
        if (w < n || (size_t)n < want)
            break;
    }
    free(buf);
    return total ? (long)total : ret;
}

/* splice(2): one end must be a pipe; the other moves at *off (which must be NULL for a pipe) or
 * at its file position. A read from a pipe takes what is there (waiting only while it is
 * empty), as Linux's splice does. */
long sys_splice(struct task *t, const struct syscall_args *a)
{
    struct file *in = get_file_for_io(t, a->a[0], false);
    struct file *out = get_file_for_io(t, a->a[2], true);
    unsigned flags = (unsigned)a->a[5];
    long ret = -EBADF;
    if (!in || !out)
        goto out;
    ret = -EINVAL;
    if (flags & ~(unsigned)(SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT))
        goto out;
    bool in_pipe = pipe_is_pipe(in), out_pipe = pipe_is_pipe(out);
    if (!in_pipe && !out_pipe)
        goto out;
    if ((in_pipe && a->a[1]) || (out_pipe && a->a[3])) {
        ret = -ESPIPE;
        goto out;
    }
    if (atomic_load_explicit(&out->status_flags, memory_order_relaxed) & O_APPEND)
        goto out;
    int64_t in_off = 0, out_off = 0;
    if ((a->a[1] && mm_copy_in(t->mm, a->a[1], &in_off, 8)) ||
        (a->a[3] && mm_copy_in(t->mm, a->a[3], &out_off, 8))) {
        ret = -EFAULT;
        goto out;
    }
    if (in_off < 0 || out_off < 0)
        goto out;
    size_t count = a->a[4] > MAX_RW_COUNT ? MAX_RW_COUNT : a->a[4];
    if (in_pipe && count > IO_CHUNK)
        count = IO_CHUNK; /* one pipe's worth at most, like one pipe_read */
    if (count == 0) {
        ret = 0;
        goto out;
    }
    if (!a->a[1] && !in_pipe)
        in_off = file_pos_get(in);
    if (!a->a[3] && !out_pipe)
        out_off = file_pos_get(out);
    ret = copy_between(t, in, in_pipe ? NULL : &in_off, out, out_pipe ? NULL : &out_off, count);
    if (ret < 0)
        goto out;
    long in_err = in_pipe ? 0 : offset_store(t, in, a->a[1], in_off);
    if ((!out_pipe && offset_store(t, out, a->a[3], out_off)) || in_err)
        ret = -EFAULT;
out:
    if (in)
        file_put(in);
    if (out)
        file_put(out);
    return ret;
}

long sys_sendfile(struct task *t, const struct syscall_args *a)
{
    struct file *out = get_file_for_io(t, a->a[0], true);
    struct file *in = get_file_for_io(t, a->a[1], false);
    long ret = -EBADF;
    if (!in || !out)
        goto out;
    if (atomic_load_explicit(&out->status_flags, memory_order_relaxed) & O_APPEND) {
        ret = -EINVAL;
        goto out;
    }
    size_t count = a->a[3] > MAX_RW_COUNT ? MAX_RW_COUNT : a->a[3];
    if (a->a[2]) {
        int64_t off;
        if (mm_copy_in(t->mm, a->a[2], &off, sizeof(off))) {
            ret = -EFAULT;
            goto out;
        }
        if (off < 0 || !in->ops->pread) {
            ret = off < 0 ? -EINVAL : -ESPIPE;
            goto out;
        }
        ret = copy_between(t, in, &off, out, NULL, count);
        if (ret >= 0 && mm_copy_out(t->mm, a->a[2], &off, sizeof(off)))
            ret = -EFAULT;
    } else {
        ret = copy_between(t, in, NULL, out, NULL, count);
    }
out:
    if (in)
        file_put(in);
    if (out)
        file_put(out);
    return ret;
}

long sys_copy_file_range(struct task *t, const struct syscall_args *a)
{
    if (a->a[5])
        return -EINVAL;
    struct file *in = get_file(t, a->a[0]);
    struct file *out = get_file(t, a->a[2]);
    long ret = -EBADF;
    int64_t in_off = 0, out_off = 0;
    if (!in || !out)
        goto out;
    /* generic_file_rw_checks' order: file types first, then access modes and O_APPEND. */
    ret = -EINVAL;
    if (!in->inode || !out->inode || !S_ISREG(in->inode->mode) || !S_ISREG(out->inode->mode)) {
        ret = (in->inode && S_ISDIR(in->inode->mode)) || (out->inode && S_ISDIR(out->inode->mode))
                  ? -EISDIR
                  : -EINVAL;
        goto out;
    }
    ret = -EBADF;
    if (!file_readable(in) || !file_writable(out) ||
        (atomic_load_explicit(&out->status_flags, memory_order_relaxed) & O_APPEND))
        goto out;
    ret = -EINVAL;
    if ((a->a[1] && mm_copy_in(t->mm, a->a[1], &in_off, 8)) ||
        (a->a[3] && mm_copy_in(t->mm, a->a[3], &out_off, 8))) {
        ret = -EFAULT;
        goto out;
    }
    if (in_off < 0 || out_off < 0)
        goto out;
    /* Without an offset pointer the file position is used and advanced. */
    if (!a->a[1])
        in_off = file_pos_get(in);
    if (!a->a[3])
        out_off = file_pos_get(out);
    size_t count = a->a[4] > MAX_RW_COUNT ? MAX_RW_COUNT : a->a[4];
    if (in->inode == out->inode) {
        /* generic_copy_file_checks: the copy, cut at the end of the input, must not overlap. */
        struct stat st;
        ret = file_stat(in, &st);
        if (ret)
            goto out;
        uint64_t len = in_off >= st.st_size ? 0 : (uint64_t)(st.st_size - in_off);
        if (len > count)
            len = count;
        ret = -EINVAL;
        if ((uint64_t)out_off + len > (uint64_t)in_off && (uint64_t)out_off < in_off + len)
            goto out;
    }
    ret = copy_between(t, in, &in_off, out, &out_off, count);
    if (ret < 0)
        goto out;
    /* Both offsets go back even when the first store faults, as before. */
    long in_err = offset_store(t, in, a->a[1], in_off);
    if (offset_store(t, out, a->a[3], out_off) || in_err)
        ret = -EFAULT;
out:
    if (in)
        file_put(in);
    if (out)
        file_put(out);
    return ret;
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
        ret = file_llseek(f, (int64_t)a->a[1], (int)a->a[2]);
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
        ret = fdtable_set_cloexec(t->fds, (int)a->a[0], cmd == FIOCLEX);
        break;
    case FIONBIO: {
        /* The same flag F_SETFL's O_NONBLOCK sets (ioctl_fionbio). */
        int on;
        ret = mm_copy_in(t->mm, a->a[2], &on, sizeof(on));
        if (!ret) {
            if (on)
                atomic_fetch_or_explicit(&f->status_flags, O_NONBLOCK, memory_order_relaxed);
            else
                atomic_fetch_and_explicit(&f->status_flags, ~O_NONBLOCK, memory_order_relaxed);
        }
        break;
    }
    case FIOASYNC: {
        int on;
        ret = mm_copy_in(t->mm, a->a[2], &on, sizeof(on));
        if (!ret) {
            if (on)
                atomic_fetch_or_explicit(&f->status_flags, O_ASYNC, memory_order_relaxed);
            else
                atomic_fetch_and_explicit(&f->status_flags, ~O_ASYNC, memory_order_relaxed);
        }
        break;
    }
    case FIONREAD:
        if (f->inode && S_ISREG(f->inode->mode)) {
            struct stat st;
            ret = file_stat(f, &st);
            if (!ret) {
                pthread_mutex_lock(&f->pos_lock);
                /* Linux's do_vfs_ioctl: i_size - f_pos as an int, negative past the end. */
                int avail = (int)(st.st_size - f->pos);
                pthread_mutex_unlock(&f->pos_lock);
                ret = mm_copy_out(t->mm, a->a[2], &avail, sizeof(avail));
            }
            break;
        }
        ret = f->ops->ioctl ? f->ops->ioctl(f, t->mm, cmd, a->a[2]) : -ENOTTY;
        break;
    default:
        ret = f->ops->ioctl ? f->ops->ioctl(f, t->mm, cmd, a->a[2]) : -ENOTTY;
    }
    file_put(f);
    return ret;
}

long sys_close(struct task *t, const struct syscall_args *a)
{
    struct file *f = get_file(t, a->a[0]);
    if (!f)
        return -EBADF;
    /* Closing any fd of a file drops the process's record locks on it (fcntl(2)). */
    filelock_close(t->tg, f);
    dnotify_flush(f); /* and its dnotify marks (dnotify_flush in filp_flush) */
    file_put(f);
    return fdtable_close(t->fds, (int)a->a[0]);
}
