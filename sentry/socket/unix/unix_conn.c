/* Unix socket connections: listen, connect (stream and seqpacket through a listener's queue,
 * datagram as a default peer), accept and shutdown, as net/unix/af_unix.c does them. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "sentry/socket/unix/unix_internal.h"

int unix_listen(struct socket *s, struct task *t, int backlog)
{
    struct unix_sock *u = unix_sk(s);
    int err = 0;

    if (u->type != SOCK_STREAM && u->type != SOCK_SEQPACKET)
        return -EOPNOTSUPP;
    pthread_mutex_lock(&unix_lock);
    if (!u->has_addr) {
        err = -EINVAL; /* no listening on an unbound socket */
    } else if (u->state != UNIX_CLOSE && u->state != UNIX_LISTEN) {
        err = -EINVAL;
    } else {
        if (backlog > u->max_backlog)
            waitqueue_wake_all(&u->wq);
        u->max_backlog = backlog;
        u->state = UNIX_LISTEN;
        u->has_peercred = true;
        u->peercred = unix_task_peercred(t);
    }
    pthread_mutex_unlock(&unix_lock);
    return err;
}

/* unix_stream_connect(): a new server-side socket goes into the listener's queue and this
 * socket is connected to it at once, before accept. */
static int unix_stream_connect(struct unix_sock *u, struct task *t,
                               const struct sockaddr_storage *addr, size_t len)
{
    int err = unix_validate_addr(addr, len);
    if (err)
        return err;
    pthread_mutex_lock(&unix_lock);
    err = u->passcred ? unix_autobind_locked(u) : 0;
    struct timespec storage;
    const struct timespec *deadline = socket_deadline(u->sndtimeo, &storage);
    bool no_wait = unix_nonblocking(u) || u->sndtimeo == 0;
    pthread_mutex_unlock(&unix_lock);
    if (err)
        return err;

    struct unix_sock *newsk = unix_sock_alloc(u->type);
    struct unix_msg *m = calloc(1, sizeof(*m));
    if (!newsk || !m) {
        free(m);
        unix_sock_put(newsk);
        return -ENOMEM;
    }
    for (;;) {
        struct unix_sock *other;
        err = unix_find_other(t, addr, len, u->type, &other);
        if (err)
            break;
        pthread_mutex_lock(&unix_lock);
        if (other->dead || other->state != UNIX_LISTEN || (other->shutdown & UNIX_RCV_SHUTDOWN)) {
            err = -ECONNREFUSED;
        } else if (other->rq_len > (size_t)other->max_backlog) {
            /* A full backlog: wait for an accept, then look the name up again. */
            err = no_wait ? -EAGAIN : unix_wait_locked(t, &other->wq, deadline);
            if (err == -EAGAIN && !no_wait) {
                no_wait = true; /* the timeout passed: the next look is the last */
                err = 0;
            }
            if (!err) {
                pthread_mutex_unlock(&unix_lock);
                unix_sock_put(other);
                continue;
            }
        } else if (u->state != UNIX_CLOSE) {
            err = u->state == UNIX_ESTABLISHED ? -EISCONN : -EINVAL;
        } else {
            unix_sock_get(u);
            newsk->peer = u;
            newsk->state = UNIX_ESTABLISHED;
            newsk->passcred = other->passcred;
            newsk->has_peercred = true;
            newsk->peercred = unix_task_peercred(t);
            newsk->has_addr = other->has_addr;
            newsk->addr = other->addr;
            newsk->addrlen = other->addrlen;
            u->has_peercred = other->has_peercred;
            u->peercred = other->peercred;
            u->state = UNIX_ESTABLISHED;
            unix_sock_get(newsk);
            u->peer = newsk;
            m->embryo = newsk; /* the queue owns the embryo's first reference */
            unix_queue_append(other, m);
            waitqueue_wake_all(&other->wq);
            m = NULL;
            newsk = NULL;
        }
        pthread_mutex_unlock(&unix_lock);
        unix_sock_put(other);
        break;
    }
    free(m);
    if (newsk)
        unix_release_sock(newsk, false);
    return err;
}

/* unix_dgram_connect(): sets (or with AF_UNSPEC clears) the default peer. */
static int unix_dgram_connect(struct unix_sock *u, struct task *t,
                              const struct sockaddr_storage *addr, size_t len)
{
    struct unix_sock *other = NULL;
    struct unix_msg *dead = NULL;
    int err;

    if (len < offsetof(struct sockaddr, sa_data))
        return -EINVAL;
    if (addr->ss_family != AF_UNSPEC) {
        err = unix_validate_addr(addr, len);
        if (err)
            return err;
        if (u->passcred) {
            pthread_mutex_lock(&unix_lock);
            err = unix_autobind_locked(u);
            pthread_mutex_unlock(&unix_lock);
            if (err)
                return err;
        }
        err = unix_find_other(t, addr, len, u->type, &other);
        if (err)
            return err;
    }
    pthread_mutex_lock(&unix_lock);
    if (other) {
        if (other->dead) {
            err = -ECONNREFUSED;
            goto out_unlock;
        }
        if (other->peer && other->peer != u) {
            err = -EPERM; /* unix_may_send() */
            goto out_unlock;
        }
        u->state = UNIX_ESTABLISHED;
        other->state = UNIX_ESTABLISHED;
    }
    struct unix_sock *old = u->peer;
    u->peer = other;
    other = NULL;
    if (old) {
        if (!u->peer)
            u->state = UNIX_CLOSE;
        unix_peer_wake_disconnect(u);
        waitqueue_wake_all(&u->wq);
        if (u->peer != old) {
            unix_dgram_disconnected(u, old, &dead);
            if (!old->peer)
                old->state = UNIX_CLOSE;
        }
        unix_sock_put(old);
    }
    err = 0;
out_unlock:
    pthread_mutex_unlock(&unix_lock);
    unix_sock_put(other);
    unix_msg_destroy_list(dead);
    return err;
}

int unix_connect(struct socket *s, struct task *t, const struct sockaddr_storage *addr, size_t len)
{
    struct unix_sock *u = unix_sk(s);

    if (u->type == SOCK_DGRAM)
        return unix_dgram_connect(u, t, addr, len);
    return unix_stream_connect(u, t, addr, len);
}

int unix_accept(struct socket *s, struct task *t, int file_flags, struct socket **out)
{
    struct unix_sock *u = unix_sk(s);
    struct unix_msg *m = NULL;
    int err = 0;

    if (u->type != SOCK_STREAM && u->type != SOCK_SEQPACKET)
        return -EOPNOTSUPP;
    pthread_mutex_lock(&unix_lock);
    if (u->state != UNIX_LISTEN) {
        pthread_mutex_unlock(&unix_lock);
        return -EINVAL;
    }
    struct timespec storage;
    const struct timespec *deadline = socket_deadline(u->rcvtimeo, &storage);
    bool no_wait = unix_nonblocking(u) || u->rcvtimeo == 0;
    while (!(m = u->rq_head)) {
        err = unix_take_error(u);
        if (err)
            break;
        if (u->shutdown & UNIX_RCV_SHUTDOWN) {
            err = -EINVAL;
            break;
        }
        if (no_wait) {
            err = -EAGAIN;
            break;
        }
        err = unix_wait_locked(t, &u->wq, deadline);
        if (err == -EAGAIN)
            no_wait = true;
        else if (err)
            break;
    }
    if (m)
        unix_queue_pop(u);
    pthread_mutex_unlock(&unix_lock);
    if (!m)
        return err;

    struct unix_sock *newsk = m->embryo;
    m->embryo = NULL;
    unix_msg_destroy_list(m);
    struct socket *ns =
        socket_alloc(t, &unix_socket_ops, AF_UNIX, newsk->type, 0, file_flags, newsk);
    if (!ns) {
        unix_release_sock(newsk, false);
        return -ENOMEM;
    }
    pthread_mutex_lock(&unix_lock);
    newsk->sock = ns;
    pthread_mutex_unlock(&unix_lock);
    *out = ns;
    return 0;
}

int unix_shutdown(struct socket *s, int how)
{
    struct unix_sock *u = unix_sk(s);

    if (how < SHUT_RD || how > SHUT_RDWR)
        return -EINVAL;
    unsigned mode = (unsigned)how + 1; /* SHUT_RD → RCV, SHUT_WR → SEND, SHUT_RDWR → both */
    pthread_mutex_lock(&unix_lock);
    u->shutdown |= mode;
    waitqueue_wake_all(&u->wq);
    struct unix_sock *other = u->peer;
    if (other && (u->type == SOCK_STREAM || u->type == SOCK_SEQPACKET)) {
        unsigned peer_mode = 0;
        if (mode & UNIX_RCV_SHUTDOWN)
            peer_mode |= UNIX_SEND_SHUTDOWN;
        if (mode & UNIX_SEND_SHUTDOWN)
            peer_mode |= UNIX_RCV_SHUTDOWN;
        other->shutdown |= peer_mode;
        waitqueue_wake_all(&other->wq);
    }
    pthread_mutex_unlock(&unix_lock);
    return 0;
}
