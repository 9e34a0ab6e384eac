/* AF_NETLINK sockets (NETLINK_ROUTE): port ids and bind(2) as netlink_bind / netlink_autobind
 * assign them, requests parsed as netlink_rcv_skb walks them, replies queued as datagrams from
 * the kernel (port 0), acks as netlink_ack builds them.
 *
 * Locking: netlink_lock protects every netlink socket's state and the port table (sends reach
 * only the kernel, so one lock costs nothing); it comes before waitqueue.lock and is never held
 * across a block. */
#include "sentry/socket/netlink/netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/kernel/kernel.h"
#include "sentry/socket/netlink/netlink_internal.h"

#ifndef NLM_F_CAPPED
#define NLM_F_CAPPED 0x100
#endif
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
/* The defaults of net.core.{r,w}mem_default, and sock_setsockopt's floors. */
#define NETLINK_BUF_DEFAULT 212992
#define NETLINK_BUF_MAX 212992
#define NETLINK_MIN_SNDBUF 4608
#define NETLINK_MIN_RCVBUF 2304

/* A queued datagram. */
struct netlink_msg {
    struct netlink_msg *next;
    size_t len;
    char data[];
};

struct netlink_sock {
    struct socket *sock; /* the open file (constant) */
    /* Everything below is protected by netlink_lock. */
    uint32_t portid; /* 0 until bound */
    uint32_t groups; /* nl_groups of bind(2), kept to read back */
    uint32_t dst_portid, dst_group;
    struct netlink_sock *table_next;
    struct netlink_msg *rq_head, *rq_tail;
    size_t rq_bytes;
    int sndbuf, rcvbuf;
    int64_t rcvtimeo, sndtimeo;
    bool passcred, cap_ack, ext_ack, pktinfo, no_enobufs, strict_chk, listen_all_nsid;
    struct waitqueue wq; /* every change wakes it */
};

static pthread_mutex_t netlink_lock = PTHREAD_MUTEX_INITIALIZER;
static struct netlink_sock *netlink_table; /* bound sockets (netlink_lock) */
static int32_t netlink_rover = -4096;      /* netlink_autobind's next negative id (lock) */

static struct netlink_sock *nl_sk(struct socket *s)
{
    return s->priv;
}

static bool portid_used_locked(uint32_t portid)
{
    for (struct netlink_sock *n = netlink_table; n; n = n->table_next)
        if (n->portid == portid)
            return true;
    return false;
}

static void insert_locked(struct netlink_sock *nk, uint32_t portid)
{
    nk->portid = portid;
    nk->table_next = netlink_table;
    netlink_table = nk;
}

/* netlink_autobind: the thread group's id if free, else a negative one counting down. */
static int autobind_locked(struct netlink_sock *nk, struct task *t)
{
    if (nk->portid)
        return 0;
    uint32_t id = (uint32_t)t->tg->tgid;
    while (portid_used_locked(id)) {
        id = (uint32_t)netlink_rover--;
        if (netlink_rover > -4096)
            netlink_rover = -4096;
    }
    insert_locked(nk, id);
    return 0;
}

static int addr_from_user(const struct sockaddr_storage *addr, size_t len, struct sockaddr_nl *nl)
{
    if (len < sizeof(*nl))
        return -EINVAL;
    memcpy(nl, addr, sizeof(*nl));
    if (nl->nl_family != AF_NETLINK)
        return -EINVAL;
    return 0;
}

static int netlink_bind(struct socket *s, struct task *t, const struct sockaddr_storage *addr,
                        size_t len)
{
    struct netlink_sock *nk = nl_sk(s);
    struct sockaddr_nl nl;
    int err = addr_from_user(addr, len, &nl);

    if (err)
        return err;
    pthread_mutex_lock(&netlink_lock);
    if (nk->portid) {
        /* netlink_bind: a bound socket may only name its own id again. */
        if (nl.nl_pid != nk->portid)
            err = -EINVAL;
    } else if (nl.nl_pid) {
        if (portid_used_locked(nl.nl_pid))
            err = -EADDRINUSE;
        else
            insert_locked(nk, nl.nl_pid);
    } else {
        err = autobind_locked(nk, t);
    }
    if (!err)
        nk->groups = nl.nl_groups;
    pthread_mutex_unlock(&netlink_lock);
    return err;
}

static int netlink_connect(struct socket *s, struct task *t, const struct sockaddr_storage *addr,
                           size_t len)
{
    struct netlink_sock *nk = nl_sk(s);
    struct sockaddr_nl nl;
    int err = 0;

    if (len < sizeof(sa_family_t))
        return -EINVAL;
    pthread_mutex_lock(&netlink_lock);
    if (addr->ss_family == AF_UNSPEC) {
        nk->dst_portid = nk->dst_group = 0;
        goto out;
    }
    err = addr_from_user(addr, len, &nl);
    if (!err)
        err = autobind_locked(nk, t);
    if (!err) {
        nk->dst_portid = nl.nl_pid;
        nk->dst_group = nl.nl_groups ? (uint32_t)__builtin_ffs((int)nl.nl_groups) : 0;
    }
out:
    pthread_mutex_unlock(&netlink_lock);
    return err;
}

static int netlink_getname(struct socket *s, bool peer, struct sockaddr_storage *addr, size_t *len)
{
    struct netlink_sock *nk = nl_sk(s);
    struct sockaddr_nl nl = {.nl_family = AF_NETLINK};

    pthread_mutex_lock(&netlink_lock);
    if (peer) {
        nl.nl_pid = nk->dst_portid;
        nl.nl_groups = nk->dst_group ? 1u << (nk->dst_group - 1) : 0;
    } else {
        nl.nl_pid = nk->portid;
        nl.nl_groups = nk->groups;
    }
    pthread_mutex_unlock(&netlink_lock);
    memset(addr, 0, sizeof(*addr));
    memcpy(addr, &nl, sizeof(nl));
    *len = sizeof(nl);
    return 0;
}

/* Queues `b` as one datagram from the kernel; dropped when the receive buffer is already
 * over its size, as netlink_unicast drops. */
static void enqueue_locked(struct netlink_sock *nk, struct netlink_buf *b)
{
    if (!b->len || nk->rq_bytes > (size_t)nk->rcvbuf)
        return;
    struct netlink_msg *m = malloc(sizeof(*m) + b->len);
    if (!m)
        return;
    m->next = NULL;
    m->len = b->len;
    memcpy(m->data, b->data, b->len);
    if (nk->rq_tail)
        nk->rq_tail->next = m;
    else
        nk->rq_head = m;
    nk->rq_tail = m;
    nk->rq_bytes += b->len;
    waitqueue_wake_all(&nk->wq);
}

/* netlink_ack(): NLMSG_ERROR with the error and the request's header, and its payload too
 * when it failed and the socket did not ask for NETLINK_CAP_ACK. */
static void put_ack(struct netlink_sock *nk, const struct nlmsghdr *h, int err,
                    struct netlink_buf *b)
{
    size_t extra = 0;
    uint16_t flags = 0;

    if (err && !nk->cap_ack)
        extra = h->nlmsg_len - NLMSG_HDRLEN;
    else
        flags |= NLM_F_CAPPED;
    /* nlmsg_end measures the message to its aligned tail, the copied payload's padding too. */
    struct nlmsghdr *r = netlink_buf_put(b, NLMSG_ERROR, flags, h->nlmsg_seq, nk->portid,
                                         sizeof(struct nlmsgerr) + NLMSG_ALIGN(extra));
    if (!r)
        return;
    struct nlmsgerr *e = NLMSG_DATA(r);
    e->error = err;
    e->msg = *h;
    if (extra)
        memcpy((char *)(e + 1), (const char *)h + NLMSG_HDRLEN, extra);
}

static ssize_t netlink_sendmsg(struct socket *s, struct task *t, const struct socket_send *m)
{
    struct netlink_sock *nk = nl_sk(s);
    ssize_t err = 0;

    if (m->flags & MSG_OOB)
        return -EOPNOTSUPP;
    pthread_mutex_lock(&netlink_lock);
    uint32_t dst_portid = nk->dst_portid;
    if (m->addr) {
        struct sockaddr_nl nl;
        err = addr_from_user(m->addr, m->addrlen, &nl);
        if (err)
            goto out;
        dst_portid = nl.nl_pid;
    }
    err = autobind_locked(nk, t);
    if (err)
        goto out;
    if (m->len > (size_t)nk->sndbuf - 32) {
        err = -EMSGSIZE;
        goto out;
    }
    if (dst_portid != 0) {
        err = -ECONNREFUSED; /* no other netlink socket receives unicasts in the sandbox */
        goto out;
    }
    /* netlink_rcv_skb: each whole message in turn; a malformed one ends the walk silently. */
    const char *data = m->data;
    size_t left = m->len;
    while (left >= NLMSG_HDRLEN) {
        struct nlmsghdr h;
        memcpy(&h, data, sizeof(h));
        if (h.nlmsg_len < NLMSG_HDRLEN || left < h.nlmsg_len)
            break;
        struct nlmsghdr *req = malloc(h.nlmsg_len);
        if (!req) {
            err = -ENOMEM;
            goto out;
        }
        memcpy(req, data, h.nlmsg_len);
        /* Replies, then NLMSG_DONE or the ack, each its own datagram: netlink_dump sends the
         * end of a dump in an skb of its own once the data filled one. */
        struct netlink_buf reply = {0}, tail = {0};
        int rerr = 0;
        enum netlink_route_result res = NETLINK_ROUTE_ACK;
        if ((h.nlmsg_flags & NLM_F_REQUEST) && h.nlmsg_type >= NLMSG_MIN_TYPE)
            res = netlink_route_request(req, nk->portid, task_capable(t, CAP_NET_ADMIN), &reply, &rerr);
        if (res == NETLINK_ROUTE_DUMP) /* netlink_dump_done: the dump's status, 0 */
            netlink_buf_put(&tail, NLMSG_DONE, NLM_F_MULTI, h.nlmsg_seq, nk->portid, sizeof(int));
        else if (rerr || (h.nlmsg_flags & NLM_F_ACK))
            put_ack(nk, req, rerr, &tail);
        enqueue_locked(nk, &reply);
        enqueue_locked(nk, &tail);
        free(reply.data);
        free(tail.data);
        free(req);
        size_t step = NLMSG_ALIGN(h.nlmsg_len);
        if (step > left)
            step = left;
        data += step;
        left -= step;
    }
    err = (ssize_t)m->len;
out:
    pthread_mutex_unlock(&netlink_lock);
    return err;
}

static bool nonblocking(struct netlink_sock *nk)
{
    return atomic_load_explicit(&nk->sock->file.status_flags, memory_order_relaxed) & O_NONBLOCK;
}

static ssize_t netlink_recvmsg(struct socket *s, struct task *t, struct socket_recv *m)
{
    struct netlink_sock *nk = nl_sk(s);
    ssize_t err = 0;

    if (m->flags & MSG_OOB)
        return -EOPNOTSUPP;
    pthread_mutex_lock(&netlink_lock);
    struct timespec storage;
    const struct timespec *deadline = socket_deadline(nk->rcvtimeo, &storage);
    bool no_wait = (m->flags & MSG_DONTWAIT) || nonblocking(nk) || nk->rcvtimeo == 0;
    while (!nk->rq_head) {
        if (no_wait) {
            err = -EAGAIN;
            goto out;
        }
        struct waiter w;
        waitqueue_add(&nk->wq, &w, t);
        pthread_mutex_unlock(&netlink_lock);
        int berr = task_block(t, deadline);
        waitqueue_remove(&nk->wq, &w);
        pthread_mutex_lock(&netlink_lock);
        if (berr == -EINTR) {
            err = deadline ? -EINTR : -ERESTARTSYS; /* sock_intr_errno() */
            goto out;
        }
        if (berr == -ETIMEDOUT) {
            err = -EAGAIN;
            goto out;
        }
    }
    struct netlink_msg *msg = nk->rq_head;
    size_t n = msg->len < m->len ? msg->len : m->len;
    memcpy(m->data, msg->data, n);
    if (n < msg->len)
        m->msg_flags |= MSG_TRUNC;
    struct sockaddr_nl from = {.nl_family = AF_NETLINK}; /* the kernel: port 0, no group */
    memset(&m->addr, 0, sizeof(m->addr));
    memcpy(&m->addr, &from, sizeof(from));
    m->addrlen = sizeof(from);
    err = (m->flags & MSG_TRUNC) ? (ssize_t)msg->len : (ssize_t)n;
    if (!(m->flags & MSG_PEEK)) {
        nk->rq_head = msg->next;
        if (!nk->rq_head)
            nk->rq_tail = NULL;
        nk->rq_bytes -= msg->len;
        free(msg);
    }
out:
    pthread_mutex_unlock(&netlink_lock);
    return err;
}

static void put_int(void *val, size_t *len, int v)
{
    memcpy(val, &v, sizeof(v));
    *len = sizeof(v);
}

static int netlink_getsockopt(struct socket *s, struct task *t, int level, int name, void *val,
                              size_t *len)
{
    struct netlink_sock *nk = nl_sk(s);
    int err = 0;

    (void)t;
    pthread_mutex_lock(&netlink_lock);
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_TYPE:
            put_int(val, len, s->type);
            break;
        case SO_DOMAIN:
            put_int(val, len, AF_NETLINK);
            break;
        case SO_PROTOCOL:
            put_int(val, len, s->protocol);
            break;
        case SO_ERROR:
            put_int(val, len, 0);
            break;
        case SO_SNDBUF:
            put_int(val, len, nk->sndbuf);
            break;
        case SO_RCVBUF:
            put_int(val, len, nk->rcvbuf);
            break;
        case SO_PASSCRED:
            put_int(val, len, nk->passcred);
            break;
        case SO_RCVTIMEO:
            socket_timeout_to_timeval(nk->rcvtimeo, val, len);
            break;
        case SO_SNDTIMEO:
            socket_timeout_to_timeval(nk->sndtimeo, val, len);
            break;
        default:
            err = -ENOPROTOOPT;
        }
    } else if (level == SOL_NETLINK) {
        switch (name) {
        case NETLINK_PKTINFO:
            put_int(val, len, nk->pktinfo);
            break;
        case NETLINK_NO_ENOBUFS:
            put_int(val, len, nk->no_enobufs);
            break;
        case NETLINK_LISTEN_ALL_NSID:
            put_int(val, len, nk->listen_all_nsid);
            break;
        case NETLINK_CAP_ACK:
            put_int(val, len, nk->cap_ack);
            break;
        case NETLINK_EXT_ACK:
            put_int(val, len, nk->ext_ack);
            break;
        case NETLINK_GET_STRICT_CHK:
            put_int(val, len, nk->strict_chk);
            break;
        default:
            err = -ENOPROTOOPT;
        }
    } else {
        err = -ENOPROTOOPT;
    }
    pthread_mutex_unlock(&netlink_lock);
    return err;
}

/* SO_SNDBUF/SO_RCVBUF: capped at the sysctl maximum, doubled, with a floor. */
static int buf_size(int v, int floor)
{
    unsigned u = (unsigned)v > NETLINK_BUF_MAX ? NETLINK_BUF_MAX : (unsigned)v;
    return (int)(u * 2) > floor ? (int)(u * 2) : floor;
}

static int netlink_setsockopt(struct socket *s, struct task *t, int level, int name,
                              const void *val, size_t len)
{
    struct netlink_sock *nk = nl_sk(s);
    int v = 0, err = 0;

    (void)t;
    pthread_mutex_lock(&netlink_lock);
    if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
        err = socket_timeout_from_timeval(val, len,
                                          name == SO_RCVTIMEO ? &nk->rcvtimeo : &nk->sndtimeo);
        goto out;
    }
    if (len < sizeof(int)) {
        err = -EINVAL;
        goto out;
    }
    memcpy(&v, val, sizeof(v));
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_SNDBUF:
            nk->sndbuf = buf_size(v, NETLINK_MIN_SNDBUF);
            break;
        case SO_RCVBUF:
            nk->rcvbuf = buf_size(v, NETLINK_MIN_RCVBUF);
            break;
        case SO_PASSCRED:
            nk->passcred = v != 0;
            break;
        default:
            err = -ENOPROTOOPT;
        }
    } else if (level == SOL_NETLINK) {
        switch (name) {
        case NETLINK_ADD_MEMBERSHIP:
        case NETLINK_DROP_MEMBERSHIP:
            /* netlink_setsockopt: groups 1..32 for the route family; nothing is multicast. */
            if (v <= 0 || v > 32)
                err = -EINVAL;
            break;
        case NETLINK_PKTINFO:
            nk->pktinfo = v != 0;
            break;
        case NETLINK_NO_ENOBUFS:
            nk->no_enobufs = v != 0;
            break;
        case NETLINK_LISTEN_ALL_NSID:
            nk->listen_all_nsid = v != 0;
            break;
        case NETLINK_CAP_ACK:
            nk->cap_ack = v != 0;
            break;
        case NETLINK_EXT_ACK:
            nk->ext_ack = v != 0;
            break;
        case NETLINK_GET_STRICT_CHK:
            nk->strict_chk = v != 0;
            break;
        default:
            err = -ENOPROTOOPT;
        }
    } else {
        err = -ENOPROTOOPT;
    }
out:
    pthread_mutex_unlock(&netlink_lock);
    return err;
}

/* datagram_poll(): readable with a reply queued, always writable. */
static unsigned netlink_poll(struct socket *s, struct task *t, struct waiter *w)
{
    struct netlink_sock *nk = nl_sk(s);
    unsigned mask = POLLOUT | POLLWRNORM | POLLWRBAND;

    pthread_mutex_lock(&netlink_lock);
    if (w)
        waitqueue_add(&nk->wq, w, t);
    if (nk->rq_head)
        mask |= POLLIN | POLLRDNORM;
    pthread_mutex_unlock(&netlink_lock);
    return mask;
}

static void netlink_poll_unregister(struct socket *s, struct waiter *w)
{
    waitqueue_remove(&nl_sk(s)->wq, w);
}

static long netlink_ioctl(struct socket *s, unsigned int cmd, int *value)
{
    (void)s;
    (void)cmd;
    (void)value;
    return -ENOTTY;
}

static void netlink_release(struct socket *s)
{
    struct netlink_sock *nk = nl_sk(s);

    pthread_mutex_lock(&netlink_lock);
    for (struct netlink_sock **p = &netlink_table; *p; p = &(*p)->table_next) {
        if (*p == nk) {
            *p = nk->table_next;
            break;
        }
    }
    while (nk->rq_head) {
        struct netlink_msg *m = nk->rq_head;
        nk->rq_head = m->next;
        free(m);
    }
    pthread_mutex_unlock(&netlink_lock);
    waitqueue_destroy(&nk->wq);
    free(nk);
}

static const struct socket_ops netlink_ops = {
    .bind = netlink_bind,
    .connect = netlink_connect,
    .getname = netlink_getname,
    .sendmsg = netlink_sendmsg,
    .recvmsg = netlink_recvmsg,
    .getsockopt = netlink_getsockopt,
    .setsockopt = netlink_setsockopt,
    .poll = netlink_poll,
    .poll_unregister = netlink_poll_unregister,
    .ioctl = netlink_ioctl,
    .release = netlink_release,
};

int netlink_socket_create(struct task *t, int type, int protocol, int file_flags,
                          struct socket **out)
{
    /* netlink_create: raw or datagram only; then the protocol must be one with a kernel side. */
    if (type != SOCK_RAW && type != SOCK_DGRAM)
        return -ESOCKTNOSUPPORT;
    if (protocol != NETLINK_ROUTE)
        return -EPROTONOSUPPORT;
    struct netlink_sock *nk = calloc(1, sizeof(*nk));
    if (!nk)
        return -ENOMEM;
    nk->sndbuf = nk->rcvbuf = NETLINK_BUF_DEFAULT;
    nk->rcvtimeo = nk->sndtimeo = SOCKET_TIMEOUT_NONE;
    waitqueue_init(&nk->wq);
    struct socket *s = socket_alloc(t, &netlink_ops, AF_NETLINK, type, protocol, file_flags, nk);
    if (!s) {
        waitqueue_destroy(&nk->wq);
        free(nk);
        return -ENOMEM;
    }
    nk->sock = s;
    *out = s;
    return 0;
}
