/* Unix socket options, readiness and ioctls: SOL_SOCKET as sk_getsockopt/sk_setsockopt answer
 * for a unix socket, unix_poll / unix_dgram_poll, SIOCINQ and SIOCOUTQ. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include "sentry/socket/unix/unix_internal.h"

#ifndef SO_RCVTIMEO_OLD
#define SO_RCVTIMEO_OLD 20
#define SO_SNDTIMEO_OLD 21
#endif
#ifndef SO_RCVTIMEO_NEW
#define SO_RCVTIMEO_NEW 66
#define SO_SNDTIMEO_NEW 67
#endif

static void put_int(void *val, size_t *len, int v)
{
    memcpy(val, &v, sizeof(v));
    *len = sizeof(v);
}

int unix_getsockopt(struct socket *s, struct task *t, int level, int name, void *val, size_t *len)
{
    struct unix_sock *u = unix_sk(s);
    int err = 0;

    if (level != SOL_SOCKET)
        return -EOPNOTSUPP;
    pthread_mutex_lock(&unix_lock);
    switch (name) {
    case SO_TYPE:
        put_int(val, len, u->type);
        break;
    case SO_DOMAIN:
        put_int(val, len, AF_UNIX);
        break;
    case SO_PROTOCOL:
        put_int(val, len, s->protocol);
        break;
    case SO_ERROR:
        put_int(val, len, -unix_take_error(u));
        break;
    case SO_ACCEPTCONN:
        put_int(val, len, u->state == UNIX_LISTEN);
        break;
    case SO_PASSCRED:
        put_int(val, len, u->passcred);
        break;
    case SO_SNDBUF:
        put_int(val, len, u->sndbuf);
        break;
    case SO_RCVBUF:
        put_int(val, len, u->rcvbuf);
        break;
    case SO_REUSEADDR:
        put_int(val, len, u->reuseaddr);
        break;
    case SO_REUSEPORT:
        put_int(val, len, u->reuseport);
        break;
    case SO_KEEPALIVE:
        put_int(val, len, u->keepalive);
        break;
    case SO_BROADCAST:
        put_int(val, len, u->broadcast);
        break;
    case SO_OOBINLINE:
        put_int(val, len, u->oobinline);
        break;
    case SO_DONTROUTE:
        put_int(val, len, u->dontroute);
        break;
    case SO_DEBUG:
        put_int(val, len, u->debug);
        break;
    case SO_PRIORITY:
        put_int(val, len, u->priority);
        break;
    case SO_RCVLOWAT:
        put_int(val, len, u->rcvlowat);
        break;
    case SO_SNDLOWAT:
        put_int(val, len, 1);
        break;
    case SO_LINGER:
        memcpy(val, &u->linger, sizeof(u->linger));
        *len = sizeof(u->linger);
        break;
    case SO_PEERCRED: {
        /* cred_to_ucred(): no peer reads as pid 0 with ids -1. */
        struct ucred c = {0, (uid_t)-1, (gid_t)-1};
        if (u->has_peercred)
            c = u->peercred;
        memcpy(val, &c, sizeof(c));
        *len = sizeof(c);
        break;
    }
    case SO_RCVTIMEO_OLD:
    case SO_RCVTIMEO_NEW:
        socket_timeout_to_timeval(u->rcvtimeo, val, len);
        break;
    case SO_SNDTIMEO_OLD:
    case SO_SNDTIMEO_NEW:
        socket_timeout_to_timeval(u->sndtimeo, val, len);
        break;
    default:
        err = -ENOPROTOOPT;
    }
    pthread_mutex_unlock(&unix_lock);
    return err;
}

/* SO_SNDBUF/SO_RCVBUF: the value capped at {w,r}mem_max (compared unsigned, so a negative one
 * is the cap), doubled for bookkeeping overhead, with a floor. */
static int unix_buf_size(int val, int floor)
{
    unsigned v = (unsigned)val > UNIX_BUF_MAX ? UNIX_BUF_MAX : (unsigned)val;
    return (int)(v * 2) > floor ? (int)(v * 2) : floor;
}

int unix_setsockopt(struct socket *s, struct task *t, int level, int name, const void *val,
                    size_t len)
{
    struct unix_sock *u = unix_sk(s);
    int v, err = 0;

    if (level != SOL_SOCKET)
        return -EOPNOTSUPP;
    if (len < sizeof(int))
        return -EINVAL;
    memcpy(&v, val, sizeof(v));
    bool on = v != 0;
    pthread_mutex_lock(&unix_lock);
    switch (name) {
    case SO_PASSCRED:
        u->passcred = on;
        break;
    case SO_SNDBUF:
        u->sndbuf = unix_buf_size(v, UNIX_MIN_SNDBUF);
        waitqueue_wake_all(&u->wq);
        break;
    case SO_RCVBUF:
        u->rcvbuf = unix_buf_size(v, UNIX_MIN_RCVBUF);
        break;
    case SO_REUSEADDR:
        u->reuseaddr = on;
        break;
    case SO_REUSEPORT:
        u->reuseport = on;
        break;
    case SO_KEEPALIVE:
        u->keepalive = on;
        break;
    case SO_BROADCAST:
        u->broadcast = on;
        break;
    case SO_OOBINLINE:
        u->oobinline = on;
        break;
    case SO_DONTROUTE:
        u->dontroute = on;
        break;
    case SO_DEBUG:
        u->debug = on;
        break;
    case SO_PRIORITY:
        /* 0..6 without CAP_NET_ADMIN (root in the sandbox has it). */
        if ((v < 0 || v > 6) && t->creds.euid != 0)
            err = -EPERM;
        else
            u->priority = v;
        break;
    case SO_RCVLOWAT:
        u->rcvlowat = v < 0 ? INT_MAX : (v ? v : 1);
        break;
    case SO_LINGER: {
        struct linger l;
        if (len < sizeof(l)) {
            err = -EINVAL;
            break;
        }
        memcpy(&l, val, sizeof(l));
        u->linger.l_onoff = l.l_onoff != 0;
        u->linger.l_linger = l.l_onoff ? l.l_linger : u->linger.l_linger;
        break;
    }
    case SO_RCVTIMEO_OLD:
    case SO_RCVTIMEO_NEW:
        err = socket_timeout_from_timeval(val, len, &u->rcvtimeo);
        break;
    case SO_SNDTIMEO_OLD:
    case SO_SNDTIMEO_NEW:
        err = socket_timeout_from_timeval(val, len, &u->sndtimeo);
        break;
    default:
        err = -ENOPROTOOPT;
    }
    pthread_mutex_unlock(&unix_lock);
    return err;
}

/* unix_writable(): not listening, and at most a quarter of the send budget in flight. */
static bool unix_writable(const struct unix_sock *u)
{
    return u->state != UNIX_LISTEN && u->wmem * 4 <= (size_t)u->sndbuf;
}

unsigned unix_poll(struct socket *s, struct task *t, struct waiter *w)
{
    struct unix_sock *u = unix_sk(s);
    unsigned mask = 0;

    pthread_mutex_lock(&unix_lock);
    if (w)
        waitqueue_add(&u->wq, w, t);
    if (u->err)
        mask |= POLLERR;
    if (u->shutdown == UNIX_SHUTDOWN_MASK)
        mask |= POLLHUP;
    if (u->shutdown & UNIX_RCV_SHUTDOWN)
        mask |= POLLRDHUP | POLLIN | POLLRDNORM;
    if (u->rq_head)
        mask |= POLLIN | POLLRDNORM;
    bool connection = u->type == SOCK_STREAM || u->type == SOCK_SEQPACKET;
    if (u->type == SOCK_STREAM) {
        /* unix_poll: streams are writable even when the peer is gone, so nobody sticks. */
        if (u->state == UNIX_CLOSE)
            mask |= POLLHUP;
        if (unix_writable(u))
            mask |= POLLOUT | POLLWRNORM | POLLWRBAND;
    } else {
        /* unix_dgram_poll: also not writable while a one-way peer's queue is full. */
        if (connection && u->state == UNIX_CLOSE)
            mask |= POLLHUP;
        bool writable = unix_writable(u);
        struct unix_sock *other = u->peer;
        if (writable && other && other->peer != u && unix_recvq_full(other) &&
            unix_dgram_peer_wake_me(u, other))
            writable = false;
        if (writable)
            mask |= POLLOUT | POLLWRNORM | POLLWRBAND;
    }
    pthread_mutex_unlock(&unix_lock);
    return mask;
}

void unix_poll_unregister(struct socket *s, struct waiter *w)
{
    waitqueue_remove(&unix_sk(s)->wq, w);
}

/* unix_inq_len(): streams count unread bytes; seqpacket all queued messages; datagrams the
 * next one. */
static long unix_inq_len(struct unix_sock *u)
{
    if (u->state == UNIX_LISTEN)
        return -EINVAL;
    if (u->type == SOCK_STREAM)
        return (long)u->rq_bytes;
    if (u->type == SOCK_SEQPACKET) {
        long total = 0;
        for (struct unix_msg *m = u->rq_head; m; m = m->next)
            total += (long)(m->len - m->consumed);
        return total;
    }
    return u->rq_head ? (long)u->rq_head->len : 0;
}

long unix_ioctl(struct socket *s, unsigned int cmd, int *value)
{
    struct unix_sock *u = unix_sk(s);
    long ret = 0;

    pthread_mutex_lock(&unix_lock);
    switch (cmd) {
    case SIOCINQ:
        ret = unix_inq_len(u);
        if (ret >= 0) {
            *value = ret > INT_MAX ? INT_MAX : (int)ret;
            ret = 0;
        }
        break;
    case SIOCOUTQ:
        *value = u->wmem > INT_MAX ? INT_MAX : (int)u->wmem;
        break;
    default:
        ret = -ENOTTY;
    }
    pthread_mutex_unlock(&unix_lock);
    return ret;
}
