/* Private to sentry/socket/unix: the socket state, the message queue and the name tables.
 *
 * Locking: one lock, unix_lock, protects every unix socket's state, queues and the name tables.
 * Linux locks each socket and double-locks pairs in address order; connect, send and release
 * each touch two or three sockets, and one lock keeps those paths simple and deadlock-free at a
 * cost that does not matter yet (copies under it are bounded by one message). unix_lock comes
 * before waitqueue.lock. It is never held across a VFS call, a block, file_put() (the file may
 * be a unix socket whose release takes unix_lock) or a signal send; unix_sock_put() may be
 * called with it held, since freeing a released socket takes no lock and drops no file. */
#ifndef RUNSC_SENTRY_SOCKET_UNIX_UNIX_INTERNAL_H
#define RUNSC_SENTRY_SOCKET_UNIX_UNIX_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "sentry/kernel/kernel.h"
#include "sentry/socket/unix/unix.h"

extern pthread_mutex_t unix_lock;

/* sk_shutdown bits: SHUT_RD sets RCV, SHUT_WR sets SEND (mode + 1 in unix_shutdown). */
#define UNIX_RCV_SHUTDOWN 1
#define UNIX_SEND_SHUTDOWN 2
#define UNIX_SHUTDOWN_MASK 3

/* Linux's defaults: net.core.{w,r}mem_default and _max, net.unix.max_dgram_qlen, and the
 * floors sock_setsockopt puts under SO_SNDBUF / SO_RCVBUF on x86_64. */
#define UNIX_BUF_DEFAULT 212992
#define UNIX_BUF_MAX 212992
#define UNIX_MIN_SNDBUF 4608
#define UNIX_MIN_RCVBUF 2304
#define UNIX_DGRAM_QLEN 10
/* What each queued message costs its sender beyond its bytes (an skb's overhead): it bounds
 * how many tiny messages fit, as truesize does in Linux. */
#define UNIX_MSG_OVERHEAD 768

enum unix_state {
    UNIX_CLOSE,       /* unconnected (TCP_CLOSE) */
    UNIX_LISTEN,      /* listen(2) was called */
    UNIX_ESTABLISHED, /* connected (a dgram socket with a default peer, too) */
};

struct unix_sock;

/* A queued message (Linux's skb): data, or for a listener one pending connection. */
struct unix_msg {
    struct unix_msg *next;
    struct unix_sock *sender; /* a reference, charged `charge` in its wmem; NULL for embryos */
    size_t charge;
    size_t len, consumed; /* stream reads consume a message piecewise */
    struct file **files;  /* SCM_RIGHTS: references, or NULL */
    size_t nfiles;
    bool has_creds;
    struct ucred creds;
    struct unix_sock *embryo; /* listener queue: the server end, owned by the message */
    char data[];
};

struct unix_sock {
    atomic_int refs; /* the file's, a peer's, each message it sent, the accept queue's */
    /* Everything below is protected by unix_lock. */
    struct socket *sock; /* the open file, NULL for an embryo or once released */
    int type;
    enum unix_state state;
    unsigned shutdown;      /* UNIX_*_SHUTDOWN */
    int err;                /* pending error for SO_ERROR and the next call (positive errno) */
    bool dead;              /* released: no more messages or connections */
    struct unix_sock *peer; /* a reference, or NULL */

    /* The name: has_addr with addr/addrlen for getsockname (an accepted socket shows its
     * listener's); `listed` when it is in the name table under it. */
    bool has_addr, listed;
    struct sockaddr_storage addr;
    size_t addrlen;
    struct vfs_path path;         /* the socket file it was bound to (a reference), or empty */
    struct super_block *bound_sb; /* the file's identity, found again by connect */
    uint64_t bound_ino;
    struct unix_sock *table_next;

    struct unix_msg *rq_head, *rq_tail; /* the receive queue (a listener's: connections) */
    size_t rq_len;                      /* messages queued */
    size_t rq_bytes;                    /* unread bytes queued (stream) */
    size_t wmem;                        /* what this socket's queued messages cost, until read */

    int sndbuf, rcvbuf;
    int max_backlog; /* listen's backlog, or the datagram queue limit */
    bool passcred, reuseaddr, reuseport, keepalive, broadcast, oobinline, dontroute, debug;
    int priority, rcvlowat;
    struct linger linger;
    int64_t rcvtimeo, sndtimeo; /* ns, SOCKET_TIMEOUT_NONE for ever */
    bool has_peercred;
    struct ucred peercred;

    /* Every change wakes wq: arrivals, room, shutdown, errors, connections. */
    struct waitqueue wq;
    /* A dgram socket polling for room in a full peer's queue registers here (Linux's
     * peer_wake): peer_wake_target is that peer, listed in its peer_wake_head list. */
    struct unix_sock *peer_wake_target;
    struct unix_sock *peer_wake_next;
    struct unix_sock *peer_wake_head;
};

static inline struct unix_sock *unix_sk(struct socket *s)
{
    return s->priv;
}

struct unix_sock *unix_sock_alloc(int type);
void unix_sock_get(struct unix_sock *u);
void unix_sock_put(struct unix_sock *u);

/* The task's credentials as SO_PEERCRED / SCM_CREDENTIALS give them. */
struct ucred unix_task_peercred(struct task *t);
struct ucred unix_task_creds(struct task *t);

/* Waits on `q` with unix_lock held (dropped while asleep): 0 to re-check, -EAGAIN when the
 * deadline passed, -ERESTARTSYS (no deadline) or -EINTR on a signal. */
int unix_wait_locked(struct task *t, struct waitqueue *q, const struct timespec *deadline);
/* sock_error(): takes the pending error (as -errno), or 0. unix_lock held. */
int unix_take_error(struct unix_sock *u);
bool unix_nonblocking(struct unix_sock *u);

/* The socket named by addr (a reference) for connect/sendto: -ECONNREFUSED, -EPROTOTYPE or
 * the walk's error. unix_lock not held. */
int unix_find_other(struct task *t, const struct sockaddr_storage *addr, size_t len, int type,
                    struct unix_sock **out);
/* unix_validate_addr(): length and family of a name. */
int unix_validate_addr(const struct sockaddr_storage *addr, size_t len);
/* Binds an unnamed socket to a fresh abstract name; 0 if it has one. unix_lock held. */
int unix_autobind_locked(struct unix_sock *u);

/* The queue. unix_lock held for all but unix_msg_destroy. */
void unix_queue_append(struct unix_sock *u, struct unix_msg *m);
/* Takes the head message off the queue, returning the sender its room (and waking it). */
struct unix_msg *unix_queue_pop(struct unix_sock *u);
/* Frees messages taken off queues: drops their files and sender references. Not locked. */
void unix_msg_destroy_list(struct unix_msg *m);
/* Wakes the dgram sockets waiting for room in u's queue. */
void unix_peer_wake_all(struct unix_sock *u);
void unix_peer_wake_disconnect(struct unix_sock *u);
/* A dgram socket losing its peer drops what that peer sent it (unix_dgram_disconnected):
 * the purged messages are appended to *dead for destruction after unlocking. */
void unix_dgram_disconnected(struct unix_sock *u, struct unix_sock *old_peer,
                             struct unix_msg **dead);

/* unix_release_sock(): the socket dies; its peer learns of it, queued messages and pending
 * connections (`embryo` ones are released in turn) are dropped. unix_lock not held. */
void unix_release_sock(struct unix_sock *u, bool embryo);
extern const struct socket_ops unix_socket_ops;

/* unix_conn.c */
int unix_listen(struct socket *s, struct task *t, int backlog);
int unix_connect(struct socket *s, struct task *t, const struct sockaddr_storage *addr, size_t len);
int unix_accept(struct socket *s, struct task *t, int file_flags, struct socket **out);
int unix_shutdown(struct socket *s, int how);

/* unix_io.c */
/* unix_recvq_full(): a datagram receiver's queue is over its limit. */
bool unix_recvq_full(const struct unix_sock *u);
/* unix_dgram_peer_wake_me(): registers u to hear when `other` has room; true if u must wait
 * (other is full and alive). unix_lock held. */
bool unix_dgram_peer_wake_me(struct unix_sock *u, struct unix_sock *other);
ssize_t unix_sendmsg(struct socket *s, struct task *t, const struct socket_send *m);
ssize_t unix_recvmsg(struct socket *s, struct task *t, struct socket_recv *m);

/* unix_opt.c */
int unix_getsockopt(struct socket *s, struct task *t, int level, int name, void *val, size_t *len);
int unix_setsockopt(struct socket *s, struct task *t, int level, int name, const void *val,
                    size_t len);
unsigned unix_poll(struct socket *s, struct task *t, struct waiter *w);
void unix_poll_unregister(struct socket *s, struct waiter *w);
long unix_ioctl(struct socket *s, unsigned int cmd, int *value);

#endif
