/* Socket data syscalls: sendto(2), recvfrom(2), sendmsg(2), recvmsg(2), and read/write on
 * sockets. Guest data moves through a sentry buffer of at most SOCKET_IO_MAX bytes; control
 * messages are parsed (__scm_send) and built (put_cmsg, scm_detach_fds) here, so protocol
 * families see only sentry memory. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "sentry/mm/mm.h"
#include "sentry/socket/socket.h"
#include "sentry/syscalls/socket_internal.h"
#include "sentry/syscalls/syscalls.h"

/* net.core.optmem_max: the most control data one sendmsg may carry. */
#define OPTMEM_MAX 131072

/* A position in a guest iovec array. */
struct iov_cursor {
    const struct iovec *iov;
    size_t n, idx, off;
};

/* Copies the next len bytes of the vectors into (in) or out of (!in) buf. */
static int iov_move(struct task *t, struct iov_cursor *c, char *buf, size_t len, bool in)
{
    size_t done = 0;

    while (done < len && c->idx < c->n) {
        size_t avail = c->iov[c->idx].iov_len - c->off;
        if (avail == 0) {
            c->idx++;
            c->off = 0;
            continue;
        }
        size_t k = avail < len - done ? avail : len - done;
        uint64_t at = (uint64_t)c->iov[c->idx].iov_base + c->off;
        int err = in ? mm_copy_in(t->mm, at, buf + done, k) : mm_copy_out(t->mm, at, buf + done, k);
        if (err)
            return -EFAULT;
        done += k;
        c->off += k;
    }
    return 0;
}

static size_t iov_total(const struct iovec *iov, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += iov[i].iov_len;
    return total;
}

/* What one send carries besides data. */
struct send_control {
    const struct sockaddr_storage *addr;
    size_t addrlen;
    struct file *files[SOCKET_MAX_FDS]; /* references */
    size_t nfiles;
    bool has_creds;
    struct ucred creds;
    char *control; /* the guest's control buffer, owned (malloc'd), for the family's levels */
    size_t controllen;
};

static void send_control_release(struct send_control *c)
{
    for (size_t i = 0; i < c->nfiles; i++)
        file_put(c->files[i]);
    c->nfiles = 0;
    free(c->control);
    c->control = NULL;
    c->controllen = 0;
}

/* Sends the vectors in chunks: a stream send may move more than one buffer's worth, and a
 * short or failed chunk ends it (with what was sent, if anything). */
static long socket_send(struct task *t, struct socket *s, const struct iovec *iov, size_t niov,
                        int flags, struct send_control *c)
{
    size_t total = iov_total(iov, niov);

    if (s->type != SOCK_STREAM && total > SOCKET_IO_MAX)
        return -EMSGSIZE;
    if (!s->ops->sendmsg)
        return -EOPNOTSUPP;
    size_t cap = total < SOCKET_IO_MAX ? total : SOCKET_IO_MAX;
    char *buf = malloc(cap ? cap : 1);
    if (!buf)
        return -ENOMEM;
    struct iov_cursor cur = {iov, niov, 0, 0};
    size_t sent = 0;
    long ret = 0;
    do {
        size_t chunk = total - sent < cap ? total - sent : cap;
        if (iov_move(t, &cur, buf, chunk, true)) {
            ret = -EFAULT;
            break;
        }
        struct socket_send m = {
            .data = buf,
            .len = chunk,
            .addr = c && c->addrlen ? c->addr : NULL,
            .addrlen = c ? c->addrlen : 0,
            .files = c ? c->files : NULL,
            .nfiles = c ? c->nfiles : 0,
            .has_creds = c && c->has_creds,
            .creds = c ? c->creds : (struct ucred){0},
            /* Only a call that moved nothing may raise SIGPIPE. */
            .flags = flags | (sent ? MSG_NOSIGNAL : 0),
            .continued = sent != 0,
            .control = c && !sent ? c->control : NULL,
            .controllen = c && !sent ? c->controllen : 0,
        };
        ret = s->ops->sendmsg(s, t, &m);
        if (ret < 0)
            break;
        sent += (size_t)ret;
        if ((size_t)ret < chunk)
            break;
    } while (sent < total);
    free(buf);
    return sent ? (long)sent : ret;
}

static void socket_recv_release(struct socket_recv *r)
{
    for (size_t i = 0; i < r->nfiles; i++)
        file_put(r->files[i]);
    free(r->files);
    r->files = NULL;
    r->nfiles = 0;
}

/* Receives into the vectors. *r gets the address, flags and control data of the (first)
 * message; the caller releases its files. */
static long socket_recv(struct task *t, struct socket *s, const struct iovec *iov, size_t niov,
                        int flags, struct socket_recv *r)
{
    size_t total = iov_total(iov, niov);
    size_t cap = total < SOCKET_IO_MAX ? total : SOCKET_IO_MAX;

    memset(r, 0, sizeof(*r));
    if (!s->ops->recvmsg)
        return -EOPNOTSUPP;
    char *buf = malloc(cap ? cap : 1);
    if (!buf)
        return -ENOMEM;
    struct iov_cursor cur = {iov, niov, 0, 0};
    r->data = buf;
    r->len = cap;
    r->flags = flags;
    long ret = s->ops->recvmsg(s, t, r);
    size_t got = ret > 0 ? ((size_t)ret < cap ? (size_t)ret : cap) : 0;
    if (got && iov_move(t, &cur, buf, got, false))
        ret = -EFAULT;
    /* MSG_WAITALL on a stream larger than one buffer: keep filling while whole buffers come. */
    size_t done = got;
    while (ret > 0 && s->type == SOCK_STREAM && (flags & MSG_WAITALL) && !(flags & MSG_PEEK) &&
           got == cap && done < total) {
        struct socket_recv more = {.data = buf, .flags = flags};
        more.len = total - done < cap ? total - done : cap;
        long n = s->ops->recvmsg(s, t, &more);
        socket_recv_release(&more);
        if (n <= 0)
            break;
        got = (size_t)n;
        if (iov_move(t, &cur, buf, got, false))
            break;
        done += got;
        ret = (long)done;
        if (got < more.len)
            break;
    }
    free(buf);
    r->data = NULL;
    return ret;
}

long socket_transfer(struct task *t, struct socket *s, const struct iovec *iov, size_t n,
                     bool write)
{
    if (write)
        return socket_send(t, s, iov, n, 0, NULL);
    if (iov_total(iov, n) == 0)
        return 0; /* sock_read_iter: nothing asked, nothing done */
    struct socket_recv r;
    long ret = socket_recv(t, s, iov, n, 0, &r);
    socket_recv_release(&r);
    return ret;
}

/* scm_check_creds(): a sender may claim its own pid and any of its ids; root any. */
static int check_creds(struct task *t, const struct ucred *c)
{
    const struct creds *k = &t->creds;

    if (c->uid == (uid_t)-1 || c->gid == (gid_t)-1)
        return -EINVAL;
    /* scm_check_creds: another pid needs CAP_SYS_ADMIN, other ids CAP_SETUID/CAP_SETGID. */
    if ((c->pid == t->tg->tgid || task_capable(t, CAP_SYS_ADMIN)) &&
        (c->uid == k->ruid || c->uid == k->euid || c->uid == k->suid ||
         task_capable(t, CAP_SETUID)) &&
        (c->gid == k->rgid || c->gid == k->egid || c->gid == k->sgid ||
         task_capable(t, CAP_SETGID)))
        return 0;
    return -EPERM;
}

/* __scm_send(): walks the control messages, taking SCM_RIGHTS files and SCM_CREDENTIALS. */
static long parse_control(struct task *t, struct socket *s, uint64_t addr, uint64_t len,
                          struct send_control *c)
{
    if (len > INT_MAX || len > OPTMEM_MAX)
        return -ENOBUFS;
    if (len < sizeof(struct cmsghdr))
        return 0;
    char *buf = malloc(len);
    if (!buf)
        return -ENOMEM;
    long err = mm_copy_in(t->mm, addr, buf, len) ? -EFAULT : 0;
    for (size_t pos = 0; !err && pos + sizeof(struct cmsghdr) <= len;) {
        struct cmsghdr h;
        memcpy(&h, buf + pos, sizeof(h));
        if (h.cmsg_len < sizeof(h) || h.cmsg_len > len - pos) {
            err = -EINVAL;
            break;
        }
        if (h.cmsg_level == SOL_SOCKET) {
            size_t data_len = h.cmsg_len - sizeof(h);
            const char *data = buf + pos + sizeof(h);
            if (h.cmsg_type == SCM_RIGHTS && s->family == AF_UNIX) {
                size_t num = data_len / sizeof(int);
                if (c->nfiles + num > SOCKET_MAX_FDS) {
                    err = -EINVAL;
                    break;
                }
                for (size_t i = 0; i < num; i++) {
                    int fd;
                    memcpy(&fd, data + i * sizeof(int), sizeof(fd));
                    struct file *f = fd < 0 ? NULL : task_get_file(t, (uint64_t)fd);
                    if (!f) {
                        err = -EBADF;
                        break;
                    }
                    c->files[c->nfiles++] = f;
                }
            } else if (h.cmsg_type == SCM_CREDENTIALS) {
                if (h.cmsg_len != CMSG_LEN(sizeof(struct ucred))) {
                    err = -EINVAL;
                    break;
                }
                memcpy(&c->creds, data, sizeof(c->creds));
                err = check_creds(t, &c->creds);
                c->has_creds = !err;
            } else {
                err = -EINVAL;
            }
        }
        /* CMSG_NXTHDR: the next header must fit whole. */
        pos += CMSG_ALIGN(h.cmsg_len);
    }
    if (err) {
        free(buf);
        send_control_release(c);
        return err;
    }
    c->control = buf;
    c->controllen = len;
    return 0;
}

/* Copies in a struct msghdr and its vectors as copy_msghdr_from_user does. */
static long import_msghdr(struct task *t, uint64_t addr, struct msghdr *msg, struct iovec **iov)
{
    if (mm_copy_in(t->mm, addr, msg, sizeof(*msg)))
        return -EFAULT;
    int namelen = (int)msg->msg_namelen;
    if (!msg->msg_name)
        namelen = 0;
    if (namelen < 0)
        return -EINVAL;
    if (namelen > (int)sizeof(struct sockaddr_storage))
        namelen = (int)sizeof(struct sockaddr_storage);
    msg->msg_namelen = (socklen_t)namelen;
    if (msg->msg_iovlen > IOV_MAX)
        return -EMSGSIZE;
    return import_iovec(t, (uint64_t)msg->msg_iov, msg->msg_iovlen, iov);
}

static long do_send(struct task *t, uint64_t fd, const struct iovec *iov, size_t niov, int flags,
                    struct send_control *c, uint64_t ctl_addr, uint64_t ctl_len)
{
    struct socket *s;
    long err = socket_fd_get(t, fd, &s);

    if (err)
        return err;
    if (ctl_len)
        err = parse_control(t, s, ctl_addr, ctl_len, c);
    if (!err)
        err = socket_send(t, s, iov, niov, flags, c);
    send_control_release(c);
    file_put(&s->file);
    return err;
}

long sys_sendto(struct task *t, const struct syscall_args *a)
{
    struct sockaddr_storage addr;
    struct send_control c = {0};
    size_t len = a->a[2] > INT_MAX ? INT_MAX : a->a[2];
    struct iovec iov = {(void *)a->a[1], len};

    if (!mm_access_ok(t->mm, a->a[1], len))
        return -EFAULT;
    if (a->a[4]) {
        long err = socket_addr_copy_in(t, a->a[4], (int)a->a[5], &addr);
        if (err)
            return err;
        c.addr = &addr;
        c.addrlen = (size_t)(int)a->a[5];
    }
    return do_send(t, a->a[0], &iov, 1, (int)a->a[3], &c, 0, 0);
}

long sys_sendmsg(struct task *t, const struct syscall_args *a)
{
    struct msghdr msg;
    struct iovec *iov;
    struct sockaddr_storage addr;
    struct send_control c = {0};

    long err = import_msghdr(t, a->a[1], &msg, &iov);
    if (err)
        return err;
    if (msg.msg_namelen) {
        err = socket_addr_copy_in(t, (uint64_t)msg.msg_name, msg.msg_namelen, &addr);
        c.addr = &addr;
        c.addrlen = msg.msg_namelen;
    }
    if (!err)
        err = do_send(t, a->a[0], iov, msg.msg_iovlen, (int)a->a[2], &c, (uint64_t)msg.msg_control,
                      msg.msg_controllen);
    free(iov);
    return err;
}

/* Writes one control message (put_cmsg): truncated with MSG_CTRUNC when it does not fit. */
static long put_cmsg(struct task *t, uint64_t *at, uint64_t *avail, int level, int type,
                     const void *data, size_t len, int *msg_flags)
{
    if (*avail < sizeof(struct cmsghdr)) {
        *msg_flags |= MSG_CTRUNC;
        return 0;
    }
    size_t cmlen = CMSG_LEN(len);
    if (*avail < cmlen) {
        *msg_flags |= MSG_CTRUNC;
        cmlen = *avail;
    }
    struct cmsghdr h = {.cmsg_len = cmlen, .cmsg_level = level, .cmsg_type = type};
    if (mm_copy_out(t->mm, *at, &h, sizeof(h)) ||
        mm_copy_out(t->mm, *at + sizeof(h), data, cmlen - sizeof(h)))
        return -EFAULT;
    size_t space = CMSG_SPACE(len) < *avail ? CMSG_SPACE(len) : *avail;
    *at += space;
    *avail -= space;
    return 0;
}

/* The protocol's control messages first (udpv6_recvmsg's, as the family listed them), then
 * scm_recv's: SCM_CREDENTIALS, then the files as SCM_RIGHTS (scm_detach_fds): as many as fit
 * are installed, the rest dropped with MSG_CTRUNC. Returns the control bytes used. */
static long put_control(struct task *t, uint64_t ctl, uint64_t ctl_len, struct socket_recv *r,
                        int flags, int *msg_flags)
{
    uint64_t at = ctl, avail = ctl ? ctl_len : 0;
    long err = 0;

    for (size_t i = 0; !err && i < r->ncmsgs; i++) {
        const struct socket_cmsg *m = &r->cmsgs[i];
        err = put_cmsg(t, &at, &avail, m->level, m->type, m->data, m->len, msg_flags);
    }
    if (!err && r->has_creds)
        err = put_cmsg(t, &at, &avail, SOL_SOCKET, SCM_CREDENTIALS, &r->creds, sizeof(r->creds),
                       msg_flags);
    if (err || !r->nfiles)
        return err ? err : (long)(at - ctl);
    size_t fdmax = avail <= sizeof(struct cmsghdr) ? 0 : (avail - sizeof(struct cmsghdr)) / 4;
    if (fdmax > r->nfiles)
        fdmax = r->nfiles;
    int fds[SOCKET_MAX_FDS];
    size_t i;
    int limit = task_nofile_limit(t);
    for (i = 0; i < fdmax; i++) {
        int fd = fdtable_install_lowest(t->fds, 0, limit, r->files[i], flags & MSG_CMSG_CLOEXEC);
        if (fd < 0)
            break;
        fds[i] = fd;
    }
    if (i > 0)
        err = put_cmsg(t, &at, &avail, SOL_SOCKET, SCM_RIGHTS, fds, i * sizeof(int), msg_flags);
    if (i < r->nfiles)
        *msg_flags |= MSG_CTRUNC;
    return err ? err : (long)(at - ctl);
}

long sys_recvfrom(struct task *t, const struct syscall_args *a)
{
    size_t len = a->a[2] > INT_MAX ? INT_MAX : a->a[2];
    struct iovec iov = {(void *)a->a[1], len};
    struct socket_recv r;
    struct socket *s;

    if (!mm_access_ok(t->mm, a->a[1], len))
        return -EFAULT;
    long ret = socket_fd_get(t, a->a[0], &s);
    if (ret)
        return ret;
    ret = socket_recv(t, s, &iov, 1, (int)a->a[3], &r);
    socket_recv_release(&r);
    if (ret >= 0 && a->a[4]) {
        long err = socket_addr_copy_out(t, &r.addr, r.addrlen, a->a[4], a->a[5]);
        if (err)
            ret = err;
    }
    file_put(&s->file);
    return ret;
}

long sys_recvmsg(struct task *t, const struct syscall_args *a)
{
    struct msghdr msg;
    struct iovec *iov;
    struct socket_recv r;
    struct socket *s;
    int flags = (int)a->a[2];

    long ret = import_msghdr(t, a->a[1], &msg, &iov);
    if (ret)
        return ret;
    ret = socket_fd_get(t, a->a[0], &s);
    if (ret) {
        free(iov);
        return ret;
    }
    ret = socket_recv(t, s, iov, msg.msg_iovlen, flags, &r);
    free(iov);
    if (ret < 0)
        goto out;
    /* The flags handed back include MSG_CMSG_CLOEXEC as given, as ____sys_recvmsg keeps it. */
    int msg_flags = r.msg_flags | (flags & MSG_CMSG_CLOEXEC);
    long used =
        put_control(t, (uint64_t)msg.msg_control, msg.msg_controllen, &r, flags, &msg_flags);
    if (used < 0) {
        ret = used;
        goto out;
    }
    uint64_t uaddr = a->a[1];
    if (msg.msg_name) {
        long err = socket_addr_copy_out(t, &r.addr, r.addrlen, (uint64_t)msg.msg_name,
                                        uaddr + offsetof(struct msghdr, msg_namelen));
        if (err) {
            ret = err;
            goto out;
        }
    }
    size_t controllen = (size_t)used;
    if (mm_copy_out(t->mm, uaddr + offsetof(struct msghdr, msg_flags), &msg_flags,
                    sizeof(msg_flags)) ||
        mm_copy_out(t->mm, uaddr + offsetof(struct msghdr, msg_controllen), &controllen,
                    sizeof(controllen)))
        ret = -EFAULT;
out:
    socket_recv_release(&r);
    file_put(&s->file);
    return ret;
}
