/* Unix socket data: stream sends split into messages and reads that join them, datagram and
 * seqpacket sends and reads that keep boundaries, with the files and credentials messages
 * carry (unix_stream_sendmsg, unix_dgram_sendmsg, unix_stream_read_generic and
 * __unix_dgram_recvmsg in Linux). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/socket/unix/unix_internal.h"

/* Linux's stream skbs hold at most about 32 KiB plus a page head. */
#define UNIX_STREAM_MSG_MAX (32768 + 4096)

/* A message of `len` bytes from `sender` carrying m's control data when `with_control`. */
static struct unix_msg *unix_msg_new(struct unix_sock *sender, const void *data, size_t len,
                                     const struct socket_send *m, bool with_control)
{
    struct unix_msg *msg = malloc(sizeof(*msg) + len);

    if (!msg)
        return NULL;
    memset(msg, 0, sizeof(*msg));
    if (with_control && m->nfiles) {
        msg->files = calloc(m->nfiles, sizeof(*msg->files));
        if (!msg->files) {
            free(msg);
            return NULL;
        }
        for (size_t i = 0; i < m->nfiles; i++) {
            file_get(m->files[i]);
            msg->files[i] = m->files[i];
        }
        msg->nfiles = m->nfiles;
    }
    if (m->has_creds) {
        msg->has_creds = true;
        msg->creds = m->creds;
    }
    memcpy(msg->data, data, len);
    msg->len = len;
    unix_sock_get(sender);
    msg->sender = sender;
    return msg;
}

/* unix_maybe_add_creds(): the sender's credentials go along when either end asked for them
 * with SO_PASSCRED, or the receiver is not accepted yet (it may ask later). */
static void unix_msg_add_creds(struct unix_msg *msg, struct unix_sock *u, struct unix_sock *other,
                               struct task *t)
{
    if (msg->has_creds)
        return;
    if (u->passcred || other->passcred || !other->sock) {
        msg->has_creds = true;
        msg->creds = unix_task_creds(t);
    }
}

/* Enqueues msg at other, charging the sender. unix_lock held. */
static void unix_deliver(struct unix_sock *u, struct unix_sock *other, struct unix_msg *msg)
{
    msg->charge = msg->len + UNIX_MSG_OVERHEAD;
    u->wmem += msg->charge;
    unix_queue_append(other, msg);
    waitqueue_wake_all(&other->wq);
}

/* sock_alloc_send_pskb()'s wait for room in the sender's own budget: 0, or -errno. */
static int unix_wait_for_room(struct unix_sock *u, struct task *t, bool *no_wait,
                              const struct timespec *deadline)
{
    for (;;) {
        int err = unix_take_error(u);
        if (err)
            return err;
        if (u->shutdown & UNIX_SEND_SHUTDOWN)
            return -EPIPE;
        if (u->wmem < (size_t)u->sndbuf)
            return 0;
        if (*no_wait)
            return -EAGAIN;
        err = unix_wait_locked(t, &u->wq, deadline);
        if (err == -EAGAIN)
            *no_wait = true;
        else if (err)
            return err;
    }
}

static ssize_t unix_stream_sendmsg(struct unix_sock *u, struct task *t, const struct socket_send *m)
{
    ssize_t err = 0;
    size_t sent = 0;
    bool sigpipe = false;

    if (m->flags & MSG_OOB)
        return -EOPNOTSUPP;
    pthread_mutex_lock(&unix_lock);
    if (m->addr) {
        err = u->state == UNIX_ESTABLISHED ? -EISCONN : -EOPNOTSUPP;
        goto out;
    }
    struct unix_sock *other = u->peer;
    if (!other) {
        err = -ENOTCONN;
        goto out;
    }
    if (u->shutdown & UNIX_SEND_SHUTDOWN) {
        err = -EPIPE;
        sigpipe = true;
        goto out;
    }
    struct timespec storage;
    const struct timespec *deadline = socket_deadline(u->sndtimeo, &storage);
    bool no_wait = (m->flags & MSG_DONTWAIT) || unix_nonblocking(u) || u->sndtimeo == 0;
    while (sent < m->len) {
        err = unix_wait_for_room(u, t, &no_wait, deadline);
        if (err)
            break;
        /* The socket may have been reconnected nowhere while we slept: not for streams,
         * whose peer is fixed, but it may have died. */
        other = u->peer;
        size_t size = m->len - sent;
        size_t half = (size_t)u->sndbuf / 2 - 64;
        if (size > half)
            size = half;
        if (size > UNIX_STREAM_MSG_MAX)
            size = UNIX_STREAM_MSG_MAX;
        bool first = sent == 0 && !m->continued;
        struct unix_msg *msg = unix_msg_new(u, (const char *)m->data + sent, size, m, first);
        if (!msg) {
            err = -ENOMEM;
            break;
        }
        if (other->dead || (other->shutdown & UNIX_RCV_SHUTDOWN)) {
            pthread_mutex_unlock(&unix_lock);
            unix_msg_destroy_list(msg);
            pthread_mutex_lock(&unix_lock);
            err = -EPIPE;
            sigpipe = sent == 0;
            break;
        }
        unix_msg_add_creds(msg, u, other, t);
        unix_deliver(u, other, msg);
        sent += size;
    }
out:
    pthread_mutex_unlock(&unix_lock);
    if (sent)
        return (ssize_t)sent;
    if (sigpipe && !(m->flags & MSG_NOSIGNAL))
        task_signal_send(t, SIGPIPE, NULL);
    return err;
}

/* unix_recvq_full(): a datagram receiver's queue is over its limit. */
bool unix_recvq_full(const struct unix_sock *u)
{
    return u->rq_len > (size_t)u->max_backlog;
}

bool unix_dgram_peer_wake_me(struct unix_sock *u, struct unix_sock *other)
{
    if (!u->peer_wake_target) {
        u->peer_wake_target = other;
        u->peer_wake_next = other->peer_wake_head;
        other->peer_wake_head = u;
    }
    if (unix_recvq_full(other) && !other->dead)
        return true;
    unix_peer_wake_disconnect(u);
    return false;
}

static ssize_t unix_dgram_sendmsg(struct unix_sock *u, struct task *t, const struct socket_send *m)
{
    struct unix_sock *other = NULL;
    struct unix_msg *msg = NULL, *dead = NULL;
    ssize_t err;

    if (m->flags & MSG_OOB)
        return -EOPNOTSUPP;
    if (m->addr) {
        err = unix_validate_addr(m->addr, m->addrlen);
        if (err)
            return err;
    }
    pthread_mutex_lock(&unix_lock);
    err = u->passcred ? unix_autobind_locked(u) : 0;
    if (!err && m->len > (size_t)u->sndbuf - 32)
        err = -EMSGSIZE;
    struct timespec storage;
    const struct timespec *deadline = socket_deadline(u->sndtimeo, &storage);
    bool no_wait = (m->flags & MSG_DONTWAIT) || unix_nonblocking(u) || u->sndtimeo == 0;
    if (!err)
        err = unix_wait_for_room(u, t, &no_wait, deadline);
    if (!err && !(msg = unix_msg_new(u, m->data, m->len, m, true)))
        err = -ENOMEM;
    if (!err && !m->addr) {
        other = u->peer;
        if (other)
            unix_sock_get(other);
        else
            err = -ENOTCONN;
    }
    pthread_mutex_unlock(&unix_lock);
    if (err)
        goto out;

lookup:
    if (m->addr) {
        err = unix_find_other(t, m->addr, m->addrlen, u->type, &other);
        if (err)
            goto out;
    }
    pthread_mutex_lock(&unix_lock);
    for (;;) {
        if (other->peer && other->peer != u) {
            err = -EPERM; /* unix_may_send(): other talks only to its own peer */
            break;
        }
        if (other->dead) {
            if (u->type == SOCK_SEQPACKET) {
                err = -EPIPE;
                break;
            }
            if (u->peer == other) {
                u->peer = NULL;
                unix_peer_wake_disconnect(u);
                u->state = UNIX_CLOSE;
                unix_dgram_disconnected(u, other, &dead);
                unix_sock_put(other); /* the peer reference */
                err = -ECONNREFUSED;
                break;
            }
            if (!m->addr) {
                err = -ECONNRESET;
                break;
            }
            pthread_mutex_unlock(&unix_lock);
            unix_sock_put(other);
            other = NULL;
            goto lookup;
        }
        if (other->shutdown & UNIX_RCV_SHUTDOWN) {
            err = -EPIPE;
            break;
        }
        if (other != u && other->peer != u && unix_recvq_full(other)) {
            if (!no_wait) {
                err = unix_wait_locked(t, &other->wq, deadline);
                if (err == -EAGAIN) {
                    no_wait = true;
                    err = 0;
                }
                if (err)
                    break;
                continue;
            }
            if (u->peer != other || unix_dgram_peer_wake_me(u, other)) {
                err = -EAGAIN;
                break;
            }
            continue;
        }
        unix_msg_add_creds(msg, u, other, t);
        unix_deliver(u, other, msg);
        msg = NULL;
        err = (ssize_t)m->len;
        break;
    }
    pthread_mutex_unlock(&unix_lock);
out:
    unix_sock_put(other);
    unix_msg_destroy_list(msg);
    unix_msg_destroy_list(dead);
    return err;
}

ssize_t unix_sendmsg(struct socket *s, struct task *t, const struct socket_send *m)
{
    struct unix_sock *u = unix_sk(s);

    switch (u->type) {
    case SOCK_STREAM:
        return unix_stream_sendmsg(u, t, m);
    case SOCK_SEQPACKET: {
        /* unix_seqpacket_sendmsg(): a pending error first, then connected only; a name given
         * is ignored. */
        pthread_mutex_lock(&unix_lock);
        int err = unix_take_error(u);
        if (!err && u->state != UNIX_ESTABLISHED)
            err = -ENOTCONN;
        pthread_mutex_unlock(&unix_lock);
        if (err)
            return err;
        struct socket_send unnamed = *m;
        unnamed.addr = NULL;
        unnamed.addrlen = 0;
        return unix_dgram_sendmsg(u, t, &unnamed);
    }
    default:
        return unix_dgram_sendmsg(u, t, m);
    }
}

/* The sender's address for recvfrom (set once per call). unix_lock held. */
static void unix_copy_addr(struct socket_recv *m, struct unix_sock *sender)
{
    if (sender && sender->has_addr) {
        m->addr = sender->addr;
        m->addrlen = sender->addrlen;
    }
}

/* Hands the message's files to the receiver: moved, or duplicated for MSG_PEEK. */
static void unix_take_files(struct socket_recv *m, struct unix_msg *msg, bool peek)
{
    if (!msg->nfiles)
        return;
    if (peek) {
        struct file **files = calloc(msg->nfiles, sizeof(*files));
        if (!files)
            return; /* as scm_fp_dup failing: the peek shows no files */
        for (size_t i = 0; i < msg->nfiles; i++) {
            file_get(msg->files[i]);
            files[i] = msg->files[i];
        }
        m->files = files;
    } else {
        m->files = msg->files;
        msg->files = NULL;
    }
    m->nfiles = msg->nfiles;
    if (!peek)
        msg->nfiles = 0;
}

static bool unix_creds_equal(const struct ucred *a, const struct ucred *b)
{
    return a->pid == b->pid && a->uid == b->uid && a->gid == b->gid;
}

/* What SCM_CREDENTIALS reports for a message that carried none (scm_send's INVALID_UID,
 * shown as the overflow id). */
static const struct ucred unix_no_creds = {0, 65534, 65534};

static ssize_t unix_stream_recvmsg(struct unix_sock *u, struct task *t, struct socket_recv *m)
{
    bool peek = m->flags & MSG_PEEK;
    size_t copied = 0;
    ssize_t err = 0;
    bool check_creds = false, have_addr = false;
    struct unix_msg *done = NULL;

    if (m->flags & MSG_OOB)
        return -EOPNOTSUPP;
    pthread_mutex_lock(&unix_lock);
    if (u->state != UNIX_ESTABLISHED) {
        pthread_mutex_unlock(&unix_lock);
        return -EINVAL;
    }
    size_t target = (m->flags & MSG_WAITALL) ? m->len : 1;
    struct timespec storage;
    const struct timespec *deadline = socket_deadline(u->rcvtimeo, &storage);
    bool no_wait = (m->flags & MSG_DONTWAIT) || unix_nonblocking(u) || u->rcvtimeo == 0;
    struct unix_msg *msg = u->rq_head;
    while (copied < m->len) {
        if (!msg) {
            if (copied >= target || (peek && copied))
                break;
            err = unix_take_error(u);
            if (err || (u->shutdown & UNIX_RCV_SHUTDOWN))
                break;
            if (no_wait) {
                err = -EAGAIN;
                break;
            }
            err = unix_wait_locked(t, &u->wq, deadline);
            if (err == -EAGAIN) {
                no_wait = true;
                err = 0;
            } else if (err) {
                break;
            }
            msg = u->rq_head;
            continue;
        }
        /* Never glue messages from different writers (when credentials are passed). */
        struct ucred creds = msg->has_creds ? msg->creds : unix_no_creds;
        if (check_creds) {
            if (!unix_creds_equal(&m->creds, &creds))
                break;
        } else if (u->passcred) {
            m->has_creds = true;
            m->creds = creds;
            check_creds = true;
        }
        if (!have_addr) {
            unix_copy_addr(m, msg->sender);
            have_addr = true;
        }
        size_t chunk = msg->len - msg->consumed;
        if (chunk > m->len - copied)
            chunk = m->len - copied;
        memcpy((char *)m->data + copied, msg->data + msg->consumed, chunk);
        copied += chunk;
        if (!peek) {
            msg->consumed += chunk;
            u->rq_bytes -= chunk;
            bool had_files = msg->nfiles > 0;
            if (had_files && !m->files)
                unix_take_files(m, msg, false);
            if (msg->consumed < msg->len)
                break;
            /* The whole message is read: off the queue (its bytes are already counted). */
            unix_queue_pop(u);
            msg->next = done;
            done = msg;
            if (had_files)
                break;
            msg = u->rq_head;
        } else {
            if (msg->nfiles) {
                unix_take_files(m, msg, true);
                break;
            }
            msg = msg->next;
            if (!msg)
                break;
        }
    }
    pthread_mutex_unlock(&unix_lock);
    unix_msg_destroy_list(done);
    if (copied)
        return (ssize_t)copied;
    return err;
}

static ssize_t unix_dgram_recvmsg(struct unix_sock *u, struct task *t, struct socket_recv *m)
{
    bool peek = m->flags & MSG_PEEK;
    struct unix_msg *msg = NULL;
    ssize_t err = 0;

    if (m->flags & MSG_OOB)
        return -EOPNOTSUPP;
    pthread_mutex_lock(&unix_lock);
    if (u->type == SOCK_SEQPACKET && u->state != UNIX_ESTABLISHED) {
        pthread_mutex_unlock(&unix_lock);
        return -ENOTCONN;
    }
    struct timespec storage;
    const struct timespec *deadline = socket_deadline(u->rcvtimeo, &storage);
    bool no_wait = (m->flags & MSG_DONTWAIT) || unix_nonblocking(u) || u->rcvtimeo == 0;
    for (;;) {
        /* __skb_try_recv_datagram: a pending error comes before any data. */
        err = unix_take_error(u);
        if (err)
            goto out_unlock;
        if ((msg = u->rq_head))
            break;
        if (no_wait) {
            err = -EAGAIN;
            /* EOF on a disconnected non-blocking seqpacket socket. */
            if (u->type == SOCK_SEQPACKET && (u->shutdown & UNIX_RCV_SHUTDOWN))
                err = 0;
            goto out_unlock;
        }
        /* __skb_wait_for_more_packets */
        if (u->shutdown & UNIX_RCV_SHUTDOWN) {
            err = 0;
            goto out_unlock;
        }
        if (u->type == SOCK_SEQPACKET && u->state != UNIX_ESTABLISHED && u->state != UNIX_LISTEN) {
            err = -ENOTCONN;
            goto out_unlock;
        }
        err = unix_wait_locked(t, &u->wq, deadline);
        if (err == -EAGAIN)
            no_wait = true;
        else if (err)
            goto out_unlock;
    }
    if (!peek)
        unix_queue_pop(u);
    unix_copy_addr(m, msg->sender);
    size_t size = msg->len;
    if (m->len < size) {
        size = m->len;
        m->msg_flags |= MSG_TRUNC;
    }
    memcpy(m->data, msg->data, size);
    if (u->passcred) {
        m->has_creds = true;
        m->creds = msg->has_creds ? msg->creds : unix_no_creds;
    }
    unix_take_files(m, msg, peek);
    err = (m->flags & MSG_TRUNC) ? (ssize_t)msg->len : (ssize_t)size;
    if (peek)
        msg = NULL;
out_unlock:
    pthread_mutex_unlock(&unix_lock);
    if (err >= 0 && msg && !peek)
        unix_msg_destroy_list(msg);
    return err;
}

ssize_t unix_recvmsg(struct socket *s, struct task *t, struct socket_recv *m)
{
    struct unix_sock *u = unix_sk(s);

    if (u->type == SOCK_STREAM)
        return unix_stream_recvmsg(u, t, m);
    return unix_dgram_recvmsg(u, t, m);
}
