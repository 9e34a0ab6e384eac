/* Loopback UDP: datagrams queued at the socket bound to their destination port, message
 * boundaries with MSG_TRUNC, connect(2) as the default peer (and the only source accepted),
 * AF_UNSPEC to disconnect. A datagram to a port nobody bound, or to a full receiver, is dropped
 * (Linux would answer the first with ICMP port unreachable; loopback-only keeps it simple). */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include "sentry/socket/inet/inet_internal.h"

static void udp_purge_locked(struct inet_sock *sk)
{
    while (sk->rq_head) {
        struct inet_msg *m = sk->rq_head;
        sk->rq_head = m->next;
        free(m);
    }
    sk->rq_tail = NULL;
    sk->rq_len = sk->rq_bytes = 0;
}

static void inet_udp_release(struct socket *s)
{
    struct inet_sock *sk = inet_sk(s);

    pthread_mutex_lock(&inet_lock);
    sk->dead = true;
    sk->sock = NULL;
    inet_unhash_locked(sk);
    udp_purge_locked(sk);
    pthread_mutex_unlock(&inet_lock);
    inet_sock_put(sk);
}

/* __udp_disconnect(): forgets the peer, and an address or port the socket did not bind. */
static void udp_disconnect_locked(struct inet_sock *sk)
{
    sk->state = INET_CLOSE;
    memset(&sk->remote, 0, sizeof(sk->remote));
    if (!sk->bind_addr_explicit)
        sk->local.addr = sk->family == AF_INET ? inet_any4() : in6addr_any;
    if (sk->bound && !sk->bind_explicit) {
        inet_unhash_locked(sk);
        sk->bound = false;
        sk->local.port = 0;
    }
}

static int inet_udp_connect(struct socket *s, struct task *t, const struct sockaddr_storage *addr,
                            size_t len)
{
    struct inet_sock *sk = inet_sk(s);
    struct inet_endpoint dst;
    int err = 0;

    (void)t;
    pthread_mutex_lock(&inet_lock);
    if (len >= sizeof(sa_family_t) && addr->ss_family == AF_UNSPEC) {
        udp_disconnect_locked(sk);
        goto out;
    }
    err = inet_addr_from_user(sk, addr, len, false, &dst);
    if (err)
        goto out;
    struct in6_addr src = inet_source_for(&dst.addr);
    if (!sk->bound) {
        err = inet_autobind_locked(sk, NULL);
        if (err)
            goto out;
    }
    /* ip4_datagram_connect: an unbound local address takes the route's source. */
    if (inet_addr_is_any(&sk->local.addr))
        sk->local.addr = src;
    sk->remote = dst;
    sk->state = INET_ESTABLISHED;
out:
    pthread_mutex_unlock(&inet_lock);
    return err;
}

static ssize_t inet_udp_sendmsg(struct socket *s, struct task *t, const struct socket_send *m)
{
    struct inet_sock *sk = inet_sk(s);
    struct inet_endpoint dst;
    ssize_t err = 0;

    (void)t;
    if (m->flags & MSG_OOB)
        return -EOPNOTSUPP;
    pthread_mutex_lock(&inet_lock);
    if (m->addr) {
        err = inet_addr_from_user(sk, m->addr, m->addrlen, false, &dst);
        if (err)
            goto out;
        if (dst.port == 0) {
            err = -EINVAL; /* udp_sendmsg: no port to send to */
            goto out;
        }
    } else {
        if (sk->state != INET_ESTABLISHED) {
            err = -EDESTADDRREQ;
            goto out;
        }
        dst = sk->remote;
    }
    bool to_v4 = IN6_IS_ADDR_V4MAPPED(&dst.addr);
    struct inet_tx_opts opts;
    err = inet_cmsg_parse(sk, m, to_v4, &opts);
    if (err)
        goto out;
    size_t max = to_v4 ? INET_UDP_MAX4 : INET_UDP_MAX6;
    if (m->len > max) {
        err = -EMSGSIZE;
        goto out;
    }
    err = inet_autobind_locked(sk, NULL);
    if (err)
        goto out;
    struct inet_endpoint from = sk->local;
    if (inet_addr_is_any(&from.addr))
        from.addr = inet_source_for(&dst.addr);
    struct inet_sock *r = inet_lookup_locked(sk->protocol, &dst, &from, false);
    /* __udp_enqueue_schedule_skb: a receiver over its buffer drops what comes. */
    if (r && r->rq_bytes <= (size_t)r->rcvbuf) {
        struct inet_msg *msg = malloc(sizeof(*msg) + m->len);
        if (!msg) {
            err = -ENOMEM;
            goto out;
        }
        memset(msg, 0, sizeof(*msg));
        msg->from = from;
        msg->to = dst;
        inet_cmsg_stamp(sk, &opts, to_v4, msg);
        msg->len = m->len;
        memcpy(msg->data, m->data, m->len);
        if (r->rq_tail)
            r->rq_tail->next = msg;
        else
            r->rq_head = msg;
        r->rq_tail = msg;
        r->rq_len++;
        r->rq_bytes += m->len + INET_DGRAM_OVERHEAD;
        waitqueue_wake_all(&r->wq);
    }
    err = (ssize_t)m->len;
out:
    pthread_mutex_unlock(&inet_lock);
    return err;
}

static ssize_t inet_udp_recvmsg(struct socket *s, struct task *t, struct socket_recv *m)
{
    struct inet_sock *sk = inet_sk(s);
    ssize_t err = 0;

    if (m->flags & MSG_ERRQUEUE)
        return -EAGAIN; /* ip_recv_error: nothing is ever queued there */
    pthread_mutex_lock(&inet_lock);
    struct timespec storage;
    const struct timespec *deadline = socket_deadline(sk->rcvtimeo, &storage);
    bool no_wait = (m->flags & MSG_DONTWAIT) || inet_nonblocking(sk) || sk->rcvtimeo == 0;
    while (!sk->rq_head) {
        err = inet_take_error(sk);
        if (err)
            goto out;
        if (sk->shutdown & INET_RCV_SHUTDOWN)
            goto out; /* 0: end of file */
        if (no_wait) {
            err = -EAGAIN;
            goto out;
        }
        err = inet_wait_locked(&sk->wq, t, deadline);
        if (err)
            goto out;
    }
    struct inet_msg *msg = sk->rq_head;
    size_t n = msg->len < m->len ? msg->len : m->len;
    memcpy(m->data, msg->data, n);
    if (n < msg->len)
        m->msg_flags |= MSG_TRUNC;
    inet_addr_to_user(sk, &msg->from, &m->addr, &m->addrlen);
    inet_cmsg_recv(sk, msg, m);
    err = (m->flags & MSG_TRUNC) ? (ssize_t)msg->len : (ssize_t)n;
    if (!(m->flags & MSG_PEEK)) {
        sk->rq_head = msg->next;
        if (!sk->rq_head)
            sk->rq_tail = NULL;
        sk->rq_len--;
        sk->rq_bytes -= msg->len + INET_DGRAM_OVERHEAD;
        free(msg);
    }
out:
    pthread_mutex_unlock(&inet_lock);
    return err;
}

static int inet_udp_shutdown(struct socket *s, int how)
{
    struct inet_sock *sk = inet_sk(s);
    int err = 0;

    if (how < SHUT_RD || how > SHUT_RDWR)
        return -EINVAL;
    pthread_mutex_lock(&inet_lock);
    /* inet_shutdown: an unconnected datagram socket is TCP_CLOSE, so ENOTCONN. */
    if (sk->state != INET_ESTABLISHED)
        err = -ENOTCONN;
    else
        sk->shutdown |= (unsigned)how + 1;
    waitqueue_wake_all(&sk->wq);
    pthread_mutex_unlock(&inet_lock);
    return err;
}

/* datagram_poll(): readable with a datagram queued, always writable. */
static unsigned inet_udp_poll(struct socket *s, struct task *t, struct waiter *w)
{
    struct inet_sock *sk = inet_sk(s);
    unsigned mask = POLLOUT | POLLWRNORM | POLLWRBAND;

    pthread_mutex_lock(&inet_lock);
    if (w)
        waitqueue_add(&sk->wq, w, t);
    if (sk->err)
        mask |= POLLERR;
    if (sk->shutdown == INET_SHUTDOWN_MASK)
        mask |= POLLHUP;
    if (sk->shutdown & INET_RCV_SHUTDOWN)
        mask |= POLLIN | POLLRDNORM | POLLRDHUP;
    if (sk->rq_head)
        mask |= POLLIN | POLLRDNORM;
    pthread_mutex_unlock(&inet_lock);
    return mask;
}

static long inet_udp_ioctl(struct socket *s, unsigned int cmd, int *value)
{
    struct inet_sock *sk = inet_sk(s);
    long ret = 0;

    pthread_mutex_lock(&inet_lock);
    switch (cmd) {
    case SIOCINQ: /* udp_ioctl: the first datagram's payload */
        *value = sk->rq_head ? (int)sk->rq_head->len : 0;
        break;
    case SIOCOUTQ: /* nothing lingers in a loopback send queue */
        *value = 0;
        break;
    default:
        ret = -ENOTTY;
    }
    pthread_mutex_unlock(&inet_lock);
    return ret;
}

const struct socket_ops inet_dgram_ops = {
    .bind = inet_bind,
    .connect = inet_udp_connect,
    .getname = inet_getname,
    .shutdown = inet_udp_shutdown,
    .sendmsg = inet_udp_sendmsg,
    .recvmsg = inet_udp_recvmsg,
    .getsockopt = inet_getsockopt,
    .setsockopt = inet_setsockopt,
    .poll = inet_udp_poll,
    .poll_unregister = inet_poll_unregister,
    .ioctl = inet_udp_ioctl,
    .release = inet_udp_release,
};
