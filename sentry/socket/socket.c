/* Sockets as open files (see socket.h): the file operations every family shares, socket(2)'s
 * family dispatch, and the SO_*TIMEO conversions. */
#include "sentry/socket/socket.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <linux/sockios.h>

#include "sentry/kernel/kernel.h"
#include "sentry/mm/mm.h"
#include "sentry/socket/inet/inet.h"
#include "sentry/socket/netlink/netlink.h"
#include "sentry/socket/unix/unix.h"

static _Atomic uint64_t next_socket_ino = 1;

static struct socket *socket_of(struct file *f)
{
    return (struct socket *)f;
}

/* read(2) on a socket is recvmsg without flags; what control data arrives is dropped. */
static ssize_t socket_read(struct file *f, struct task *t, void *buf, size_t len)
{
    struct socket *s = socket_of(f);
    struct socket_recv m = {.data = buf, .len = len};

    if (len == 0)
        return 0; /* sock_read_iter: an empty read asks the protocol nothing */
    if (!s->ops->recvmsg)
        return -EINVAL;
    ssize_t n = s->ops->recvmsg(s, t, &m);
    for (size_t i = 0; i < m.nfiles; i++)
        file_put(m.files[i]);
    free(m.files);
    return n;
}

static ssize_t socket_write(struct file *f, struct task *t, const void *buf, size_t len)
{
    struct socket *s = socket_of(f);
    struct socket_send m = {.data = buf, .len = len};

    if (!s->ops->sendmsg)
        return -EINVAL;
    return s->ops->sendmsg(s, t, &m);
}

static unsigned socket_poll(struct file *f, struct task *t, struct waiter *w, bool *slice)
{
    struct socket *s = socket_of(f);

    if (!s->ops->poll)
        return POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
    return s->ops->poll(s, t, w);
}

static void socket_poll_unregister(struct file *f, struct waiter *w)
{
    struct socket *s = socket_of(f);

    if (s->ops->poll_unregister)
        s->ops->poll_unregister(s, w);
}

/* sockfs inodes: S_IFSOCK | 0777, one link, owned by the creator. */
static int socket_stat(struct file *f, struct stat *st)
{
    struct socket *s = socket_of(f);

    memset(st, 0, sizeof(*st));
    st->st_mode = S_IFSOCK | 0777;
    st->st_nlink = 1;
    st->st_ino = s->ino;
    st->st_uid = s->uid;
    st->st_gid = s->gid;
    st->st_blksize = 4096;
    return 0;
}

static long socket_ioctl(struct file *f, struct mm *mm, unsigned int cmd, uint64_t arg)
{
    struct socket *s = socket_of(f);
    int value;

    /* sock_ioctl hands the interface ioctls to the network device layer for any family. */
    long ret = inet_ioctl_interface(mm, cmd, arg);
    if (ret != -ENOTTY)
        return ret;
    if (!s->ops->ioctl)
        return -ENOTTY;
    ret = s->ops->ioctl(s, cmd, &value);
    if (ret < 0)
        return ret;
    return mm_copy_out(mm, arg, &value, sizeof(value)) ? -EFAULT : 0;
}

static int socket_name(struct file *f, char *buf, size_t size)
{
    int n = snprintf(buf, size, "socket:[%llu]", (unsigned long long)socket_of(f)->ino);
    return (size_t)n >= size ? -ENAMETOOLONG : n;
}

static void socket_release(struct file *f)
{
    struct socket *s = socket_of(f);

    if (s->ops->release)
        s->ops->release(s);
    file_release_common(f);
    free(s);
}

static const struct file_ops socket_file_ops = {
    .read = socket_read,
    .write = socket_write,
    .poll = socket_poll,
    .poll_unregister = socket_poll_unregister,
    .stat = socket_stat,
    .ioctl = socket_ioctl,
    .name = socket_name,
    .release = socket_release,
};

struct socket *socket_from_file(struct file *f)
{
    return f && f->ops == &socket_file_ops ? socket_of(f) : NULL;
}

struct socket *socket_alloc(struct task *t, const struct socket_ops *ops, int family, int type,
                            int protocol, int file_flags, void *priv)
{
    struct socket *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    file_init(&s->file, &socket_file_ops, O_RDWR | (file_flags & O_NONBLOCK));
    s->ops = ops;
    s->family = family;
    s->type = type;
    s->protocol = protocol;
    s->ino = atomic_fetch_add_explicit(&next_socket_ino, 1, memory_order_relaxed);
    if (t) {
        s->uid = t->creds.euid;
        s->gid = t->creds.egid;
    }
    s->priv = priv;
    return s;
}

/* __sys_socket and __sock_create's checks, in their order: flag bits, family range, type
 * range, then the family itself. */
static int socket_check(int family, int type, int *base_type, int *file_flags)
{
    if (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC | 0xf))
        return -EINVAL;
    if (family < 0 || family >= AF_MAX)
        return -EAFNOSUPPORT;
    *base_type = type & 0xf;
    if (*base_type < SOCK_STREAM || *base_type > SOCK_PACKET)
        return -EINVAL;
    *file_flags = (type & SOCK_NONBLOCK) ? O_NONBLOCK : 0;
    return 0;
}

int socket_create(struct task *t, int family, int type, int protocol, struct socket **out)
{
    int base_type, file_flags;
    int err = socket_check(family, type, &base_type, &file_flags);

    if (err)
        return err;
    switch (family) {
    case AF_UNIX:
        return unix_socket_create(t, base_type, protocol, file_flags, out);
    case AF_INET:
    case AF_INET6:
        return inet_socket_create(t, family, base_type, protocol, file_flags, out);
    case AF_NETLINK:
        return netlink_socket_create(t, base_type, protocol, file_flags, out);
    default:
        return -EAFNOSUPPORT;
    }
}

int socket_create_pair(struct task *t, int family, int type, int protocol, struct socket **a,
                       struct socket **b)
{
    int base_type, file_flags;
    int err = socket_check(family, type, &base_type, &file_flags);

    if (err)
        return err;
    if (family == AF_INET || family == AF_INET6 || family == AF_NETLINK)
        return -EOPNOTSUPP; /* inet's and netlink's sock_no_socketpair */
    if (family != AF_UNIX)
        return -EAFNOSUPPORT;
    return unix_socket_create_pair(t, base_type, protocol, file_flags, a, b);
}

int socket_timeout_from_timeval(const void *val, size_t len, int64_t *out)
{
    struct timeval tv;

    if (len < sizeof(tv))
        return -EINVAL;
    memcpy(&tv, val, sizeof(tv));
    if (tv.tv_usec < 0 || tv.tv_usec >= 1000000)
        return -EDOM;
    if (tv.tv_sec < 0)
        *out = 0; /* Linux: a negative timeout means "don't wait" */
    else if (tv.tv_sec == 0 && tv.tv_usec == 0)
        *out = SOCKET_TIMEOUT_NONE;
    else if (tv.tv_sec >= INT64_MAX / 1000000000 - 1)
        *out = SOCKET_TIMEOUT_NONE;
    else
        *out = (int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000;
    return 0;
}

void socket_timeout_to_timeval(int64_t timeout, void *val, size_t *len)
{
    struct timeval tv = {0, 0};

    if (timeout != SOCKET_TIMEOUT_NONE) {
        tv.tv_sec = timeout / 1000000000;
        tv.tv_usec = (timeout % 1000000000) / 1000;
    }
    memcpy(val, &tv, sizeof(tv));
    *len = sizeof(tv);
}

const struct timespec *socket_deadline(int64_t timeout, struct timespec *storage)
{
    if (timeout == SOCKET_TIMEOUT_NONE)
        return NULL;
    clock_gettime(CLOCK_MONOTONIC, storage);
    storage->tv_sec += timeout / 1000000000;
    storage->tv_nsec += timeout % 1000000000;
    if (storage->tv_nsec >= 1000000000) {
        storage->tv_sec++;
        storage->tv_nsec -= 1000000000;
    }
    return storage;
}
