/* Private to sentry/socket/inet: the socket state, the port table and the shared helpers of
 * the loopback-only TCP and UDP (`--network=none`: nothing ever leaves the sentry).
 *
 * Locking: one lock, inet_lock, protects every inet socket's state, buffers and the port table
 * (as unix_lock does for unix sockets: connect, send and close each touch two or three sockets,
 * and one lock keeps them deadlock-free). inet_lock comes before waitqueue.lock; it is never held
 * across a block, file_put() or a signal send. */
#ifndef RUNSC_SENTRY_SOCKET_INET_INET_INTERNAL_H
#define RUNSC_SENTRY_SOCKET_INET_INET_INTERNAL_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "sentry/kernel/kernel.h"
#include "sentry/socket/inet/inet.h"

extern pthread_mutex_t inet_lock;

#define INET_RCV_SHUTDOWN 1
#define INET_SEND_SHUTDOWN 2
#define INET_SHUTDOWN_MASK 3

/* Linux's defaults: tcp_rmem[1], tcp_wmem[1], {r,w}mem_default/_max, and sock_setsockopt's
 * floors on x86_64. */
#define INET_TCP_RCVBUF 131072
#define INET_TCP_SNDBUF 16384
#define INET_UDP_BUF 212992
#define INET_BUF_MAX 212992
#define INET_MIN_SNDBUF 4608
#define INET_MIN_RCVBUF 2304
/* A stream's bytes in flight to one receiver: what loopback TCP buffers before a writer
 * blocks (Linux autotunes well above the defaults; this is fixed). */
#define INET_STREAM_CAPACITY (256UL << 10)
/* What each queued datagram costs its receiver beyond its bytes (an skb's truesize). */
#define INET_DGRAM_OVERHEAD 768
/* The largest UDP payload: 65535 less the IP and UDP headers (v4; v6's is 65527). */
#define INET_UDP_MAX4 65507
#define INET_UDP_MAX6 65527

enum inet_state {
    INET_CLOSE,       /* unconnected, or after a reset */
    INET_LISTEN,      /* listen(2) was called */
    INET_ESTABLISHED, /* connected (a UDP socket with a default peer, too) */
};

/* An endpoint: an IPv6 address (IPv4 ones v4-mapped) and a port in host order. */
struct inet_endpoint {
    struct in6_addr addr;
    uint16_t port;
};

/* A queued datagram, or for a listener one pending connection. */
struct inet_msg {
    struct inet_msg *next;
    struct inet_endpoint from;
    struct inet_sock *embryo; /* listener queue: the server end, owned by the message */
    struct inet_endpoint to;  /* UDP: the destination the sender named (for PKTINFO) */
    int hops, tclass;         /* UDP: the packet's hop limit / TTL and traffic class / TOS */
    size_t len;
    char data[];
};

struct inet_sock {
    atomic_int refs; /* the file's, a peer's, the accept queue's */
    /* Everything below is protected by inet_lock. */
    struct socket *sock; /* the open file, NULL for an embryo or once released */
    struct sysctl_table *sysctl; /* its kernel's (the port range); immutable */
    int family, type, protocol; /* protocol: IPPROTO_TCP, _UDP or _UDPLITE (its own ports) */
    enum inet_state state;
    bool connecting; /* a non-blocking connect returned EINPROGRESS (SS_CONNECTING) */
    unsigned shutdown;
    int err;   /* pending error for SO_ERROR and the next call (positive errno) */
    bool dead; /* released */
    bool bound, listed; /* has a port; is in the port table */
    bool bind_explicit;      /* bind(2) named the port (SOCK_BINDPORT_LOCK) */
    bool bind_addr_explicit; /* bind(2) named the address (SOCK_BINDADDR_LOCK) */
    bool fin_received;  /* the peer shut down its sending side or closed (SOCK_DONE) */
    struct inet_endpoint local, remote;
    struct inet_sock *table_next;
    struct inet_sock *peer; /* TCP: the other end (a reference), or NULL */

    /* TCP: the bytes the peer sent, a ring of `capacity` bytes. */
    char *ring;
    size_t ring_head, ring_len;
    size_t sent_unread; /* what this socket wrote that its peer has not read (SIOCOUTQ) */
    /* UDP datagrams, or a listener's pending connections. */
    struct inet_msg *rq_head, *rq_tail;
    size_t rq_len, rq_bytes;
    int max_backlog;

    /* Options, stored as set and read back. */
    int sndbuf, rcvbuf;
    bool sndbuf_locked, rcvbuf_locked; /* set by SO_SNDBUF / SO_RCVBUF (SOCK_*BUF_LOCK) */
    bool reuseaddr, reuseport, keepalive, broadcast, oobinline, dontroute, v6only;
    int priority, rcvlowat, tos, ttl, hoplimit;
    struct linger linger;
    int64_t rcvtimeo, sndtimeo;
    bool nodelay, cork, quickack;
    int maxseg, user_mss, keepidle, keepintvl, keepcnt, syncnt, linger2, defer_accept, user_timeout,
        notsent_lowat, window_clamp;
    bool recvtos, recvttl, pktinfo, recvpktinfo6, recverr;
    int tclass; /* IPV6_TCLASS */
    bool recvhoplimit, recvtclass, recvpktinfo2292, recvhoplimit2292;
    int udplite_send_cscov, udplite_recv_cscov; /* UDPLITE_SEND_CSCOV / _RECV_CSCOV */

    struct waitqueue wq; /* every change wakes it */
};

static inline struct inet_sock *inet_sk(struct socket *s)
{
    return s->priv;
}

struct inet_sock *inet_sock_alloc(struct sysctl_table *sysctl, int family, int type, int protocol);
void inet_sock_get(struct inet_sock *sk);
void inet_sock_put(struct inet_sock *sk);
bool inet_nonblocking(struct inet_sock *sk);
/* Waits on sk->wq with inet_lock held (dropped while asleep): 0 to re-check, -EAGAIN when
 * the deadline passed, -ERESTARTSYS or -EINTR on a signal. */
int inet_wait_locked(struct waitqueue *q, struct task *t, const struct timespec *deadline);
int inet_take_error(struct inet_sock *sk);

/* Addresses. */
bool inet_addr_is_any(const struct in6_addr *a);
bool inet_addr_is_loopback(const struct in6_addr *a);
bool inet_addr_is_v4mapped(const struct in6_addr *a);
/* A guest sockaddr for this socket to an endpoint: for bind (bind true: INADDR_ANY allowed,
 * EADDRNOTAVAIL) or connect/sendto (ENETUNREACH; the any address means loopback). */
int inet_addr_from_user(struct inet_sock *sk, const struct sockaddr_storage *addr, size_t len,
                        bool bind, struct inet_endpoint *out);
/* An endpoint as the socket's family shows it, its length into *len. */
void inet_addr_to_user(const struct inet_sock *sk, const struct inet_endpoint *ep,
                       struct sockaddr_storage *addr, size_t *len);
/* 0.0.0.0 as the endpoints store it (v4-mapped). */
struct in6_addr inet_any4(void);
/* The source address a connection to `dst` gets on loopback. */
struct in6_addr inet_source_for(const struct in6_addr *dst);

/* The port table. inet_lock held. */
int inet_bind_locked(struct inet_sock *sk, const struct inet_endpoint *ep);
/* Binds an unbound socket to an ephemeral port on `addr`; 0 if already bound. */
int inet_autobind_locked(struct inet_sock *sk, const struct in6_addr *addr);
/* The socket of `protocol` bound to the port of `dst` that accepts it: a TCP listener, or a
 * UDP socket (a connected one only from its peer `src`). NULL if none. */
struct inet_sock *inet_lookup_locked(int protocol, const struct inet_endpoint *dst,
                                     const struct inet_endpoint *src, bool listener);
/* Whether binding sk to ep now would break the EADDRINUSE rules. */
bool inet_port_conflict_locked(const struct inet_sock *sk, const struct inet_endpoint *ep);
void inet_unhash_locked(struct inet_sock *sk);

extern const struct socket_ops inet_stream_ops;
extern const struct socket_ops inet_dgram_ops;

int inet_bind(struct socket *s, struct task *t, const struct sockaddr_storage *addr, size_t len);
int inet_getname(struct socket *s, bool peer, struct sockaddr_storage *addr, size_t *len);

/* inet_opt.c */
int inet_getsockopt(struct socket *s, struct task *t, int level, int name, void *val,
                    size_t *len);
int inet_setsockopt(struct socket *s, struct task *t, int level, int name, const void *val,
                    size_t len);
void inet_poll_unregister(struct socket *s, struct waiter *w);

/* inet_cmsg.c: per-packet options a sender's control messages set (-1: the socket's). */
struct inet_tx_opts {
    int hops, tclass;
};
/* Parses the IP (to_v4) or IPv6 control messages of one send: 0 or -EINVAL / -ENODEV. */
int inet_cmsg_parse(const struct inet_sock *sk, const struct socket_send *m, bool to_v4,
                    struct inet_tx_opts *o);
/* Fills the datagram's hop limit and traffic class from the options or the socket's. */
void inet_cmsg_stamp(const struct inet_sock *sk, const struct inet_tx_opts *o, bool to_v4,
                     struct inet_msg *msg);
/* The control messages the receiver asked for about msg, appended to r. */
void inet_cmsg_recv(const struct inet_sock *sk, const struct inet_msg *msg, struct socket_recv *r);

/* inet_tcp.c / inet_udp.c */
unsigned inet_tcp_poll(struct socket *s, struct task *t, struct waiter *w);
long inet_tcp_ioctl(struct socket *s, unsigned int cmd, int *value);

#endif
