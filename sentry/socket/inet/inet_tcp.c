/* Loopback TCP: a connection is two inet_socks joined as peers, each holding a ring of the bytes
 * the other sent. listen/connect/accept with a backlog, FIN (shutdown, close) and RST (close
 * with unread data, SO_LINGER 0, a listener closing with connections pending), the errors
 * inet_stream_connect, tcp_sendmsg, tcp_recvmsg, inet_shutdown and tcp_poll give. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include "sentry/socket/inet/inet_internal.h"

/* The MSS a loopback connection settles on: its MTU (65536) less the IP and TCP headers with
 * timestamps (v4 20+32, v6 40+32... as Linux reports them). */
#define INET_TCP_MSS4 65483
#define INET_TCP_MSS6 65476

/* ---- the byte ring ---- */

static int ring_reserve(struct inet_sock *sk)
{
    if (!sk->ring) {
        sk->ring = malloc(INET_STREAM_CAPACITY);
        if (!sk->ring)
            return -ENOMEM;
        sk->ring_head = sk->ring_len = 0;
    }
    return 0;
}

/* What one direction of a connection holds in flight: the receiver's window and the sender's
 * queue. Linux autotunes both well past the defaults on loopback (half the ring each here);
 * SO_RCVBUF / SO_SNDBUF set by the program lock them (SOCK_RCVBUF_LOCK, SOCK_SNDBUF_LOCK), and
 * then the set size bounds them, so a small buffer fills as it would. */
static size_t tcp_flight_limit(const struct inet_sock *sender, const struct inet_sock *receiver)
{
    size_t rcv = receiver->rcvbuf_locked ? (size_t)receiver->rcvbuf : INET_STREAM_CAPACITY / 2;
    size_t snd = sender->sndbuf_locked ? (size_t)sender->sndbuf : INET_STREAM_CAPACITY / 2;
    return rcv + snd < INET_STREAM_CAPACITY ? rcv + snd : INET_STREAM_CAPACITY;
}

static size_t ring_put(struct inet_sock *sk, const char *data, size_t len, size_t limit)
{
    size_t room = sk->ring_len < limit ? limit - sk->ring_len : 0;
    size_t n = len < room ? len : room;
    size_t tail = (sk->ring_head + sk->ring_len) % INET_STREAM_CAPACITY;
    size_t first = INET_STREAM_CAPACITY - tail < n ? INET_STREAM_CAPACITY - tail : n;

    memcpy(sk->ring + tail, data, first);
    memcpy(sk->ring, data + first, n - first);
    sk->ring_len += n;
    return n;
}

/* Copies len bytes starting `skip` bytes into the ring (to buf unless NULL). */
static void ring_copy(const struct inet_sock *sk, size_t skip, char *buf, size_t len)
{
    if (!buf)
        return;
    size_t start = (sk->ring_head + skip) % INET_STREAM_CAPACITY;
    size_t first = INET_STREAM_CAPACITY - start < len ? INET_STREAM_CAPACITY - start : len;

    memcpy(buf, sk->ring + start, first);
    memcpy(buf + first, sk->ring, len - first);
}

static void ring_consume(struct inet_sock *sk, size_t len)
{
    sk->ring_head = (sk->ring_head + len) % INET_STREAM_CAPACITY;
    sk->ring_len -= len;
    if (sk->peer) {
        sk->peer->sent_unread -= len < sk->peer->sent_unread ? len : sk->peer->sent_unread;
        waitqueue_wake_all(&sk->peer->wq); /* room for its writes */
    }
}

/* ---- ends of connections ---- */

/* The peer learns that sk is gone: by RST (ECONNRESET, everything shut) or by FIN (end of
 * file after what is queued). Drops both peer references. inet_lock held. */
static void tcp_disconnect_peer(struct inet_sock *sk, bool rst)
{
    struct inet_sock *peer = sk->peer;

    if (!peer)
        return;
    if (rst) {
        peer->err = ECONNRESET;
        peer->state = INET_CLOSE;
        peer->shutdown = INET_SHUTDOWN_MASK;
    } else {
        peer->shutdown |= INET_RCV_SHUTDOWN;
        peer->fin_received = true;
    }
    peer->sent_unread = 0;
    if (peer->peer == sk) {
        peer->peer = NULL;
        inet_sock_put(sk);
    }
    sk->peer = NULL;
    waitqueue_wake_all(&peer->wq);
    inet_sock_put(peer);
}

static void tcp_close_locked(struct inet_sock *sk, bool rst);

/* inet_csk_listen_stop(): every pending connection is reset. inet_lock held. */
static void tcp_listen_stop(struct inet_sock *sk)
{
    while (sk->rq_head) {
        struct inet_msg *m = sk->rq_head;
        sk->rq_head = m->next;
        tcp_close_locked(m->embryo, true);
        inet_sock_put(m->embryo);
        free(m);
    }
    sk->rq_tail = NULL;
    sk->rq_len = 0;
    sk->state = INET_CLOSE;
    waitqueue_wake_all(&sk->wq);
}

static void tcp_close_locked(struct inet_sock *sk, bool rst)
{
    sk->dead = true;
    sk->sock = NULL;
    inet_unhash_locked(sk);
    if (sk->state == INET_LISTEN)
        tcp_listen_stop(sk);
    /* tcp_close: unread data, or SO_LINGER with a zero timeout, resets the connection. */
    if (sk->ring_len || (sk->linger.l_onoff && sk->linger.l_linger == 0))
        rst = true;
    tcp_disconnect_peer(sk, rst);
    sk->state = INET_CLOSE;
    sk->ring_len = 0;
    waitqueue_wake_all(&sk->wq);
}

static void inet_tcp_release(struct socket *s)
{
    struct inet_sock *sk = inet_sk(s);

    pthread_mutex_lock(&inet_lock);
    tcp_close_locked(sk, false);
    pthread_mutex_unlock(&inet_lock);
    inet_sock_put(sk);
}

/* ---- listen, connect, accept ---- */

static int inet_tcp_listen(struct socket *s, struct task *t, int backlog)
{
    struct inet_sock *sk = inet_sk(s);
    int err = 0;

    (void)t;
    pthread_mutex_lock(&inet_lock);
    if (sk->state == INET_LISTEN) {
        sk->max_backlog = backlog;
        goto out;
    }
    if (sk->state != INET_CLOSE || sk->connecting || sk->peer) {
        err = -EINVAL;
        goto out;
    }
    if (!sk->bound) {
        err = inet_autobind_locked(sk, NULL);
        if (err)
            goto out;
    } else {
        /* inet_csk_listen_start re-checks the port: SO_REUSEADDR does not share with a
         * listener. */
        sk->state = INET_LISTEN;
        bool conflict = inet_port_conflict_locked(sk, &sk->local);
        sk->state = INET_CLOSE;
        if (conflict) {
            err = -EADDRINUSE;
            goto out;
        }
    }
    sk->state = INET_LISTEN;
    sk->max_backlog = backlog;
    sk->shutdown = 0;
    waitqueue_wake_all(&sk->wq);
out:
    pthread_mutex_unlock(&inet_lock);
    return err;
}

/* The accepted end of a connection from `client` to listener `l` at `dst`. */
static struct inet_sock *tcp_embryo_new(struct inet_sock *l, struct inet_sock *client,
                                        const struct inet_endpoint *dst)
{
    struct inet_sock *e = inet_sock_alloc(l->sysctl, l->family, SOCK_STREAM, IPPROTO_TCP);

    if (!e)
        return NULL;
    e->state = INET_ESTABLISHED;
    e->bound = true;
    e->local = *dst;
    e->remote = client->local;
    /* Accepted sockets inherit the listener's options (sk_clone_lock copies the sock). */
    e->sndbuf = l->sndbuf;
    e->rcvbuf = l->rcvbuf;
    e->sndbuf_locked = l->sndbuf_locked;
    e->rcvbuf_locked = l->rcvbuf_locked;
    e->reuseaddr = l->reuseaddr;
    e->reuseport = l->reuseport;
    e->keepalive = l->keepalive;
    e->linger = l->linger;
    e->nodelay = l->nodelay;
    e->keepidle = l->keepidle;
    e->keepintvl = l->keepintvl;
    e->keepcnt = l->keepcnt;
    e->tos = l->tos;
    e->ttl = l->ttl;
    e->v6only = l->v6only;
    e->rcvtimeo = l->rcvtimeo;
    e->sndtimeo = l->sndtimeo;
    e->maxseg = IN6_IS_ADDR_V4MAPPED(&dst->addr) ? INET_TCP_MSS4 : INET_TCP_MSS6;
    return e;
}

static int tcp_connect_finish_locked(struct inet_sock *sk)
{
    sk->connecting = false;
    if (sk->state == INET_ESTABLISHED)
        return 0;
    int err = inet_take_error(sk);
    return err ? err : -ECONNREFUSED;
}

static int inet_tcp_connect(struct socket *s, struct task *t, const struct sockaddr_storage *addr,
                            size_t len)
{
    struct inet_sock *sk = inet_sk(s);
    struct inet_endpoint dst;
    int err;

    pthread_mutex_lock(&inet_lock);
    if (len >= sizeof(sa_family_t) && addr->ss_family == AF_UNSPEC) {
        /* inet_stream_connect's disconnect: a connection is reset. */
        if (sk->state == INET_LISTEN)
            tcp_listen_stop(sk);
        tcp_disconnect_peer(sk, true);
        sk->state = INET_CLOSE;
        sk->connecting = false;
        err = 0;
        goto out;
    }
    if (sk->connecting) {
        /* SS_CONNECTING: loopback connections complete at once, so a second connect reports
         * how the first ended. */
        err = tcp_connect_finish_locked(sk);
        goto out;
    }
    if (sk->state != INET_CLOSE || sk->peer) {
        err = -EISCONN;
        goto out;
    }
    err = inet_addr_from_user(sk, addr, len, false, &dst);
    if (err)
        goto out;
    if (!sk->bound) {
        err = inet_autobind_locked(sk, NULL);
        if (err)
            goto out;
    }
    struct timespec storage;
    const struct timespec *deadline = socket_deadline(sk->sndtimeo, &storage);
    bool nonblock = inet_nonblocking(sk);
    struct inet_sock *l;
    for (;;) {
        l = inet_lookup_locked(IPPROTO_TCP, &dst, NULL, true);
        /* sk_acceptq_is_full: the SYN is dropped and retried while the queue is over the
         * backlog; a non-blocking connect queues regardless (its retry would succeed). */
        if (!l || nonblock || l->rq_len <= (size_t)l->max_backlog)
            break;
        inet_sock_get(l);
        err = inet_wait_locked(&l->wq, t, deadline);
        inet_sock_put(l);
        if (err == -EAGAIN)
            err = -ETIMEDOUT;
        if (err)
            goto out;
        if (sk->state != INET_CLOSE || sk->peer) {
            err = -EISCONN;
            goto out;
        }
    }
    if (!l) {
        /* An RST answers the SYN. */
        if (!sk->bind_explicit) {
            inet_unhash_locked(sk);
            sk->bound = false;
            sk->local.port = 0;
        }
        if (nonblock) {
            sk->err = ECONNREFUSED;
            sk->connecting = true;
            waitqueue_wake_all(&sk->wq);
            err = -EINPROGRESS;
        } else {
            err = -ECONNREFUSED;
        }
        goto out;
    }
    struct inet_msg *m = calloc(1, sizeof(*m));
    if (!m) {
        err = -ENOMEM;
        goto out;
    }
    if (inet_addr_is_any(&sk->local.addr))
        sk->local.addr = inet_source_for(&dst.addr);
    struct inet_sock *e = tcp_embryo_new(l, sk, &dst);
    if (!e) {
        free(m);
        err = -ENOMEM;
        goto out;
    }
    inet_sock_get(e);
    sk->peer = e;
    inet_sock_get(sk);
    e->peer = sk;
    sk->remote = dst;
    sk->state = INET_ESTABLISHED;
    sk->shutdown = 0;
    sk->fin_received = false;
    sk->maxseg = e->maxseg;
    m->embryo = e; /* the queue's reference */
    if (l->rq_tail)
        l->rq_tail->next = m;
    else
        l->rq_head = m;
    l->rq_tail = m;
    l->rq_len++;
    waitqueue_wake_all(&l->wq);
    waitqueue_wake_all(&sk->wq);
    if (nonblock) {
        sk->connecting = true;
        err = -EINPROGRESS;
    }
out:
    pthread_mutex_unlock(&inet_lock);
    return err;
}

static int inet_tcp_accept(struct socket *s, struct task *t, int file_flags, struct socket **out)
{
    struct inet_sock *sk = inet_sk(s);
    int err = 0;

    pthread_mutex_lock(&inet_lock);
    struct timespec storage;
    const struct timespec *deadline = socket_deadline(sk->rcvtimeo, &storage);
    bool nonblock = inet_nonblocking(sk) || sk->rcvtimeo == 0;
    while (!err && !sk->rq_head) {
        if (sk->state != INET_LISTEN)
            err = -EINVAL;
        else if (nonblock)
            err = -EAGAIN;
        else
            err = inet_wait_locked(&sk->wq, t, deadline);
    }
    if (err)
        goto out;
    if (sk->state != INET_LISTEN) {
        err = -EINVAL;
        goto out;
    }
    struct inet_msg *m = sk->rq_head;
    sk->rq_head = m->next;
    if (!sk->rq_head)
        sk->rq_tail = NULL;
    sk->rq_len--;
    waitqueue_wake_all(&sk->wq); /* connectors waiting for room in the backlog */
    struct inet_sock *e = m->embryo;
    free(m);
    struct socket *ns =
        socket_alloc(t, &inet_stream_ops, e->family, SOCK_STREAM, IPPROTO_TCP, file_flags, e);
    if (!ns) {
        tcp_close_locked(e, true);
        inet_sock_put(e);
        err = -ENOMEM;
        goto out;
    }
    e->sock = ns;
    *out = ns;
out:
    pthread_mutex_unlock(&inet_lock);
    return err;
}

static int inet_tcp_shutdown(struct socket *s, int how)
{
    struct inet_sock *sk = inet_sk(s);
    int err = 0;

    if (how < SHUT_RD || how > SHUT_RDWR)
        return -EINVAL;
    unsigned bits = (unsigned)how + 1;
    pthread_mutex_lock(&inet_lock);
    if (sk->connecting)
        sk->connecting = false;
    if (sk->state == INET_LISTEN) {
        if (bits & INET_RCV_SHUTDOWN)
            tcp_listen_stop(sk);
    } else if (sk->state == INET_CLOSE) {
        err = -ENOTCONN;
    } else {
        sk->shutdown |= bits;
        if ((bits & INET_SEND_SHUTDOWN) && sk->peer) {
            sk->peer->shutdown |= INET_RCV_SHUTDOWN;
            sk->peer->fin_received = true;
            waitqueue_wake_all(&sk->peer->wq);
        }
    }
    waitqueue_wake_all(&sk->wq);
    pthread_mutex_unlock(&inet_lock);
    return err;
}

/* ---- data ---- */

static ssize_t inet_tcp_sendmsg(struct socket *s, struct task *t, const struct socket_send *m)
{
    struct inet_sock *sk = inet_sk(s);
    ssize_t err = 0;
    size_t sent = 0;

    pthread_mutex_lock(&inet_lock);
    struct timespec storage;
    const struct timespec *deadline = socket_deadline(sk->sndtimeo, &storage);
    bool no_wait = (m->flags & MSG_DONTWAIT) || inet_nonblocking(sk) || sk->sndtimeo == 0;
    while (sent < m->len || (m->len == 0 && !err && sent == 0)) {
        err = inet_take_error(sk);
        if (err)
            break;
        if (sk->shutdown & INET_SEND_SHUTDOWN) {
            err = -EPIPE;
            break;
        }
        if (sk->state != INET_ESTABLISHED) {
            err = -EPIPE; /* sk_stream_wait_connect: not connected (nor connecting) */
            break;
        }
        struct inet_sock *peer = sk->peer;
        if (!peer || peer->dead) {
            /* Data to a closed socket draws an RST: this send succeeds, the next fails. */
            tcp_disconnect_peer(sk, false);
            sk->err = EPIPE;
            sk->state = INET_CLOSE;
            sk->shutdown = INET_SHUTDOWN_MASK;
            waitqueue_wake_all(&sk->wq);
            sent = m->len;
            break;
        }
        if (m->len == 0)
            break;
        size_t limit = tcp_flight_limit(sk, peer);
        if (peer->ring_len < limit) {
            err = ring_reserve(peer);
            if (err)
                break;
            size_t n = ring_put(peer, (const char *)m->data + sent, m->len - sent, limit);
            sent += n;
            sk->sent_unread += n;
            waitqueue_wake_all(&peer->wq);
            continue;
        }
        if (no_wait) {
            err = -EAGAIN;
            break;
        }
        err = inet_wait_locked(&sk->wq, t, deadline);
        if (err == -EAGAIN) {
            no_wait = true;
            err = 0;
        }
        if (err)
            break;
    }
    pthread_mutex_unlock(&inet_lock);
    if (sent)
        return (ssize_t)sent;
    if (err == -EPIPE && !(m->flags & MSG_NOSIGNAL))
        task_signal_send(t, SIGPIPE, NULL);
    return err;
}

static ssize_t inet_tcp_recvmsg(struct socket *s, struct task *t, struct socket_recv *m)
{
    struct inet_sock *sk = inet_sk(s);
    size_t copied = 0;
    ssize_t err = 0;

    if (m->flags & MSG_OOB)
        return -EINVAL; /* tcp_recv_urg: no urgent data is ever pending */
    pthread_mutex_lock(&inet_lock);
    if (sk->state == INET_LISTEN) {
        err = -ENOTCONN;
        goto out;
    }
    struct timespec storage;
    const struct timespec *deadline = socket_deadline(sk->rcvtimeo, &storage);
    bool no_wait = (m->flags & MSG_DONTWAIT) || inet_nonblocking(sk) || sk->rcvtimeo == 0;
    bool peek = m->flags & MSG_PEEK;
    size_t target = (m->flags & MSG_WAITALL) ? m->len : (size_t)sk->rcvlowat;
    if (target > m->len)
        target = m->len;
    if (target == 0)
        target = 1;
    for (;;) {
        size_t avail = sk->ring_len > (peek ? copied : 0) ? sk->ring_len - (peek ? copied : 0) : 0;
        size_t n = m->len - copied < avail ? m->len - copied : avail;
        if (n) {
            ring_copy(sk, peek ? copied : 0, (m->flags & MSG_TRUNC) ? NULL : (char *)m->data + copied,
                      n);
            if (!peek)
                ring_consume(sk, n);
            copied += n;
        }
        if (copied >= target || copied == m->len)
            break;
        if (copied && (sk->err || sk->state == INET_CLOSE || (sk->shutdown & INET_RCV_SHUTDOWN)))
            break;
        if (!copied) {
            if (sk->fin_received && (sk->shutdown & INET_RCV_SHUTDOWN))
                break;
            if (sk->err) {
                err = inet_take_error(sk);
                break;
            }
            if (sk->shutdown & INET_RCV_SHUTDOWN)
                break;
            if (sk->state == INET_CLOSE) {
                err = -ENOTCONN;
                break;
            }
        }
        if (no_wait) {
            if (!copied)
                err = -EAGAIN;
            break;
        }
        err = inet_wait_locked(&sk->wq, t, deadline);
        if (err)
            break;
    }
out:
    pthread_mutex_unlock(&inet_lock);
    if (copied)
        return (ssize_t)copied;
    return err;
}

/* ---- readiness and ioctls ---- */

unsigned inet_tcp_poll(struct socket *s, struct task *t, struct waiter *w)
{
    struct inet_sock *sk = inet_sk(s);
    unsigned mask = 0;

    pthread_mutex_lock(&inet_lock);
    if (w)
        waitqueue_add(&sk->wq, w, t);
    if (sk->state == INET_LISTEN) {
        if (sk->rq_head)
            mask |= POLLIN | POLLRDNORM;
        goto out;
    }
    if (sk->shutdown == INET_SHUTDOWN_MASK || sk->state == INET_CLOSE)
        mask |= POLLHUP;
    if (sk->shutdown & INET_RCV_SHUTDOWN)
        mask |= POLLIN | POLLRDNORM | POLLRDHUP;
    if (sk->ring_len)
        mask |= POLLIN | POLLRDNORM;
    if (sk->shutdown & INET_SEND_SHUTDOWN)
        mask |= POLLOUT | POLLWRNORM;
    else if (!sk->peer || sk->peer->ring_len < tcp_flight_limit(sk, sk->peer))
        mask |= POLLOUT | POLLWRNORM;
    if (sk->err)
        mask |= POLLERR;
out:
    pthread_mutex_unlock(&inet_lock);
    return mask;
}

long inet_tcp_ioctl(struct socket *s, unsigned int cmd, int *value)
{
    struct inet_sock *sk = inet_sk(s);
    long ret = 0;

    pthread_mutex_lock(&inet_lock);
    switch (cmd) {
    case SIOCINQ:
        if (sk->state == INET_LISTEN)
            ret = -EINVAL;
        else
            *value = sk->ring_len > INT_MAX ? INT_MAX : (int)sk->ring_len;
        break;
    case SIOCOUTQ:
    case SIOCOUTQNSD: {
        /* Loopback acknowledges what reaches the peer's receive window at once: what is
         * still unacknowledged is what the window did not take. */
        size_t window = sk->peer ? (size_t)sk->peer->rcvbuf : 0;
        size_t queued = sk->peer ? sk->peer->ring_len : 0;
        if (sk->state == INET_LISTEN)
            ret = -EINVAL;
        else
            *value = queued > window ? (int)(queued - window) : 0;
        break;
    }
    default:
        ret = -ENOTTY;
    }
    pthread_mutex_unlock(&inet_lock);
    return ret;
}

const struct socket_ops inet_stream_ops = {
    .bind = inet_bind,
    .connect = inet_tcp_connect,
    .listen = inet_tcp_listen,
    .accept = inet_tcp_accept,
    .getname = inet_getname,
    .shutdown = inet_tcp_shutdown,
    .sendmsg = inet_tcp_sendmsg,
    .recvmsg = inet_tcp_recvmsg,
    .getsockopt = inet_getsockopt,
    .setsockopt = inet_setsockopt,
    .poll = inet_tcp_poll,
    .poll_unregister = inet_poll_unregister,
    .ioctl = inet_tcp_ioctl,
    .release = inet_tcp_release,
};
