/* Socket syscalls without data: socket(2), socketpair(2), bind(2), listen(2), accept(2),
 * accept4(2), connect(2), getsockname(2), getpeername(2), shutdown(2), setsockopt(2),
 * getsockopt(2). Addresses cross as Linux's move_addr_to_kernel/move_addr_to_user do. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>

#include "sentry/mm/mm.h"
#include "sentry/socket/socket.h"
#include "sentry/syscalls/socket_internal.h"
#include "sentry/syscalls/syscalls.h"

int socket_fd_get(struct task *t, uint64_t fd, struct socket **out)
{
    struct file *f = task_get_file(t, fd);

    if (!f)
        return -EBADF;
    struct socket *s = socket_from_file(f);
    if (!s) {
        file_put(f);
        return -ENOTSOCK;
    }
    *out = s;
    return 0;
}

long socket_addr_copy_in(struct task *t, uint64_t addr, int64_t len, struct sockaddr_storage *out)
{
    if (len < 0 || (uint64_t)len > sizeof(*out))
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    if (len == 0)
        return 0;
    return mm_copy_in(t->mm, addr, out, (size_t)len) ? -EFAULT : 0;
}

long socket_addr_copy_out(struct task *t, const struct sockaddr_storage *addr, size_t klen,
                          uint64_t uaddr, uint64_t ulen_addr)
{
    int len;

    if (mm_copy_in(t->mm, ulen_addr, &len, sizeof(len)))
        return -EFAULT;
    if (len > (int)klen)
        len = (int)klen;
    if (len < 0)
        return -EINVAL;
    if (len && mm_copy_out(t->mm, uaddr, addr, (size_t)len))
        return -EFAULT;
    int full = (int)klen; /* 1003.1g: the length before truncation */
    return mm_copy_out(t->mm, ulen_addr, &full, sizeof(full)) ? -EFAULT : 0;
}

/* Gives `s` an fd (its reference passes to the table on success, is dropped either way). */
static long install_socket(struct task *t, struct socket *s, bool cloexec)
{
    long fd = fdtable_install_lowest(t->fds, 0, task_nofile_limit(t), &s->file, cloexec);
    file_put(&s->file);
    return fd;
}

long sys_socket(struct task *t, const struct syscall_args *a)
{
    struct socket *s;
    int type = (int)a->a[1];
    int err = socket_create(t, (int)a->a[0], type, (int)a->a[2], &s);

    if (err)
        return err;
    return install_socket(t, s, type & SOCK_CLOEXEC);
}

long sys_socketpair(struct task *t, const struct syscall_args *a)
{
    struct socket *sa, *sb;
    int type = (int)a->a[1];
    int err = socket_create_pair(t, (int)a->a[0], type, (int)a->a[2], &sa, &sb);

    if (err)
        return err;
    int fds[2];
    file_get(&sb->file);
    fds[0] = (int)install_socket(t, sa, type & SOCK_CLOEXEC);
    if (fds[0] < 0) {
        file_put(&sb->file);
        return fds[0];
    }
    fds[1] = (int)install_socket(t, sb, type & SOCK_CLOEXEC);
    file_put(&sb->file);
    if (fds[1] < 0) {
        fdtable_close(t->fds, fds[0]);
        return fds[1];
    }
    if (mm_copy_out(t->mm, a->a[3], fds, sizeof(fds))) {
        fdtable_close(t->fds, fds[0]);
        fdtable_close(t->fds, fds[1]);
        return -EFAULT;
    }
    return 0;
}

long sys_bind(struct task *t, const struct syscall_args *a)
{
    struct sockaddr_storage addr;
    struct socket *s;
    long err = socket_fd_get(t, a->a[0], &s);

    if (err)
        return err;
    err = socket_addr_copy_in(t, a->a[1], (int)a->a[2], &addr);
    if (!err)
        err = s->ops->bind ? s->ops->bind(s, t, &addr, (size_t)(int)a->a[2]) : -EOPNOTSUPP;
    file_put(&s->file);
    return err;
}

long sys_listen(struct task *t, const struct syscall_args *a)
{
    struct socket *s;
    long err = socket_fd_get(t, a->a[0], &s);

    if (err)
        return err;
    /* __sys_listen: the backlog is capped at net.core.somaxconn (compared unsigned, so a
     * negative one takes the cap too). */
    struct sysctl_values v;
    sysctl_read(&t->kernel->sysctl, &v);
    int backlog = (int)a->a[1];
    if ((unsigned)backlog > (unsigned)v.somaxconn)
        backlog = v.somaxconn;
    err = s->ops->listen ? s->ops->listen(s, t, backlog) : -EOPNOTSUPP;
    file_put(&s->file);
    return err;
}

static long do_accept(struct task *t, uint64_t fd, uint64_t uaddr, uint64_t ulen, int flags)
{
    struct socket *s, *ns;

    if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
        return -EINVAL;
    long err = socket_fd_get(t, fd, &s);
    if (err)
        return err;
    err = s->ops->accept ? s->ops->accept(s, t, (flags & SOCK_NONBLOCK) ? O_NONBLOCK : 0, &ns)
                         : -EOPNOTSUPP;
    file_put(&s->file);
    if (err)
        return err;
    if (uaddr) {
        struct sockaddr_storage addr;
        size_t len;
        err = ns->ops->getname(ns, true, &addr, &len);
        if (!err)
            err = socket_addr_copy_out(t, &addr, len, uaddr, ulen);
        if (err) {
            /* The connection is lost, as Linux loses it when the copy fails. */
            file_put(&ns->file);
            return err == -ENOTCONN ? -ECONNABORTED : err;
        }
    }
    return install_socket(t, ns, flags & SOCK_CLOEXEC);
}

long sys_accept(struct task *t, const struct syscall_args *a)
{
    return do_accept(t, a->a[0], a->a[1], a->a[2], 0);
}

long sys_accept4(struct task *t, const struct syscall_args *a)
{
    return do_accept(t, a->a[0], a->a[1], a->a[2], (int)a->a[3]);
}

long sys_connect(struct task *t, const struct syscall_args *a)
{
    struct sockaddr_storage addr;
    struct socket *s;
    long err = socket_fd_get(t, a->a[0], &s);

    if (err)
        return err;
    err = socket_addr_copy_in(t, a->a[1], (int)a->a[2], &addr);
    if (!err)
        err = s->ops->connect ? s->ops->connect(s, t, &addr, (size_t)(int)a->a[2]) : -EOPNOTSUPP;
    file_put(&s->file);
    return err;
}

static long get_name(struct task *t, const struct syscall_args *a, bool peer)
{
    struct sockaddr_storage addr;
    size_t len;
    struct socket *s;
    long err = socket_fd_get(t, a->a[0], &s);

    if (err)
        return err;
    err = s->ops->getname(s, peer, &addr, &len);
    if (!err)
        err = socket_addr_copy_out(t, &addr, len, a->a[1], a->a[2]);
    file_put(&s->file);
    return err;
}

long sys_getsockname(struct task *t, const struct syscall_args *a)
{
    return get_name(t, a, false);
}

long sys_getpeername(struct task *t, const struct syscall_args *a)
{
    return get_name(t, a, true);
}

long sys_shutdown(struct task *t, const struct syscall_args *a)
{
    struct socket *s;
    long err = socket_fd_get(t, a->a[0], &s);

    if (err)
        return err;
    err = s->ops->shutdown ? s->ops->shutdown(s, (int)a->a[1]) : -EOPNOTSUPP;
    file_put(&s->file);
    return err;
}

long sys_setsockopt(struct task *t, const struct syscall_args *a)
{
    char val[SOCKET_OPT_MAX];
    struct socket *s;
    int optlen = (int)a->a[4];

    if (optlen < 0)
        return -EINVAL;
    long err = socket_fd_get(t, a->a[0], &s);
    if (err)
        return err;
    size_t n = (size_t)optlen < sizeof(val) ? (size_t)optlen : sizeof(val);
    memset(val, 0, sizeof(val));
    if (n && mm_copy_in(t->mm, a->a[3], val, n))
        err = -EFAULT;
    else if (!s->ops->setsockopt)
        err = -EOPNOTSUPP;
    else
        err = s->ops->setsockopt(s, t, (int)a->a[1], (int)a->a[2], val, (size_t)optlen);
    file_put(&s->file);
    return err;
}

long sys_getsockopt(struct task *t, const struct syscall_args *a)
{
    char val[SOCKET_OPT_MAX];
    size_t natural = 0;
    struct socket *s;
    int len;

    long err = socket_fd_get(t, a->a[0], &s);
    if (err)
        return err;
    if (mm_copy_in(t->mm, a->a[4], &len, sizeof(len))) {
        err = -EFAULT;
        goto out;
    }
    if (len < 0) {
        err = -EINVAL;
        goto out;
    }
    err = s->ops->getsockopt ? s->ops->getsockopt(s, t, (int)a->a[1], (int)a->a[2], val, &natural)
                             : -EOPNOTSUPP;
    if (err)
        goto out;
    if ((size_t)len > natural)
        len = (int)natural;
    if ((len && mm_copy_out(t->mm, a->a[3], val, (size_t)len)) ||
        mm_copy_out(t->mm, a->a[4], &len, sizeof(len)))
        err = -EFAULT;
out:
    file_put(&s->file);
    return err;
}
