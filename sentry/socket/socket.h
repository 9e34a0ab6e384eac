/* Sockets: an open file whose operations a protocol family implements (unix now; inet and
 * netlink plug in the same way). The syscall layer moves guest memory, addresses and control
 * messages into the sentry-side structures below, so a family never touches guest memory.
 *
 * Lock order: a family's own locks → waitqueue.lock → task.wait_lock. A family never holds its
 * locks across file_put() (the file may be one of its own sockets) or a signal send. */
#ifndef RUNSC_SENTRY_SOCKET_SOCKET_H
#define RUNSC_SENTRY_SOCKET_SOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "sentry/vfs/vfs.h"

struct task;
struct waiter;
struct socket;

/* The largest buffer one send or receive moves through the sentry at a time: above any
 * datagram a socket accepts (twice net.core.wmem_max), so a datagram is never split. */
#define SOCKET_IO_MAX (512UL << 10)
/* SCM_MAX_FD: the most descriptors one SCM_RIGHTS message carries (include/net/scm.h). */
#define SOCKET_MAX_FDS 253

/* A message to send: data and control already in sentry memory. */
struct socket_send {
    const void *data;
    size_t len;
    const struct sockaddr_storage *addr; /* destination (sendto), or NULL */
    size_t addrlen;
    struct file **files; /* SCM_RIGHTS (borrowed: the family takes its own references) */
    size_t nfiles;
    bool has_creds; /* SCM_CREDENTIALS given (already checked against the sender) */
    struct ucred creds;
    int flags; /* MSG_* */
    /* Set by the syscall layer when this is not the first chunk of one send: the family
     * attaches control data to the first chunk only. */
    bool continued;
    /* The whole control buffer as the guest gave it (headers already checked to lie within
     * it), for a family's own levels (ip_cmsg_send, ip6_datagram_send_ctl); NULL if none. */
    const void *control;
    size_t controllen;
};

/* One protocol-level control message to deliver (IPPROTO_IP / IPPROTO_IPV6 ones). */
#define SOCKET_CMSG_DATA_MAX 24 /* struct in6_pktinfo is the largest: 20 bytes */
#define SOCKET_CMSG_MAX 8
struct socket_cmsg {
    int level, type;
    size_t len;
    unsigned char data[SOCKET_CMSG_DATA_MAX];
};

/* A receive: the buffer in, what arrived out. */
struct socket_recv {
    void *data;
    size_t len;
    int flags;                    /* in: MSG_* */
    int msg_flags;                /* out: MSG_TRUNC, MSG_EOR... */
    struct sockaddr_storage addr; /* out: the sender's address */
    size_t addrlen;               /* out: 0 when the sender has none */
    struct file **files;          /* out: SCM_RIGHTS, references for the caller (malloc'd) */
    size_t nfiles;
    bool has_creds; /* out: SCM_CREDENTIALS to deliver (the receiver asked with SO_PASSCRED) */
    struct ucred creds;
    /* out: protocol control messages, in the order put_cmsg would write them. */
    struct socket_cmsg cmsgs[SOCKET_CMSG_MAX];
    size_t ncmsgs;
};

/* What a family implements. Every op may block `t` (returning -ERESTARTSYS or -EINTR when a
 * signal interrupts it) and returns 0 / a value or -errno. NULL ops answer EOPNOTSUPP. */
struct socket_ops {
    int (*bind)(struct socket *s, struct task *t, const struct sockaddr_storage *addr, size_t len);
    int (*connect)(struct socket *s, struct task *t, const struct sockaddr_storage *addr,
                   size_t len);
    int (*listen)(struct socket *s, struct task *t, int backlog);
    /* A new connected socket (a reference for the caller) with `file_flags` (O_NONBLOCK). */
    int (*accept)(struct socket *s, struct task *t, int file_flags, struct socket **out);
    /* The local (peer false) or remote address into *addr; its length into *len. */
    int (*getname)(struct socket *s, bool peer, struct sockaddr_storage *addr, size_t *len);
    int (*shutdown)(struct socket *s, int how);
    ssize_t (*sendmsg)(struct socket *s, struct task *t, const struct socket_send *m);
    ssize_t (*recvmsg)(struct socket *s, struct task *t, struct socket_recv *m);
    /* The option's value into val (at most SOCKET_OPT_MAX bytes), its natural length into
     * *len; the caller truncates to what the guest asked for. */
    int (*getsockopt)(struct socket *s, struct task *t, int level, int name, void *val,
                      size_t *len);
    /* `val` holds min(len, SOCKET_OPT_MAX) bytes; `len` is what the guest passed. */
    int (*setsockopt)(struct socket *s, struct task *t, int level, int name, const void *val,
                      size_t len);
    unsigned (*poll)(struct socket *s, struct task *t, struct waiter *w);
    void (*poll_unregister)(struct socket *s, struct waiter *w);
    /* SIOCINQ/SIOCOUTQ and the like: the int to hand back, or -errno (-ENOTTY unknown). */
    long (*ioctl)(struct socket *s, unsigned int cmd, int *value);
    /* Drops the family's state as the last file reference goes. */
    void (*release)(struct socket *s);
};

#define SOCKET_OPT_MAX 64

struct socket {
    struct file file; /* first: a socket is an open file description */
    const struct socket_ops *ops;
    int family, type, protocol; /* type without SOCK_NONBLOCK / SOCK_CLOEXEC */
    uint64_t ino;               /* "socket:[ino]" and fstat's st_ino */
    uid_t uid;                  /* the creator's, for fstat */
    gid_t gid;
    void *priv; /* the family's state */
};

/* socket(2): a new socket of `family` (a reference for the caller). `type` may carry
 * SOCK_NONBLOCK (SOCK_CLOEXEC is the fd's business). Families not built in: -EAFNOSUPPORT. */
int socket_create(struct task *t, int family, int type, int protocol, struct socket **out);
/* socketpair(2). */
int socket_create_pair(struct task *t, int family, int type, int protocol, struct socket **a,
                       struct socket **b);

/* For families: a socket file around `priv` with one reference. NULL on allocation failure. */
struct socket *socket_alloc(struct task *t, const struct socket_ops *ops, int family, int type,
                            int protocol, int file_flags, void *priv);

/* The socket behind an open file, or NULL if it is not one. */
struct socket *socket_from_file(struct file *f);

/* Blocking timeouts (SO_RCVTIMEO/SO_SNDTIMEO) in nanoseconds: SOCKET_TIMEOUT_NONE waits for
 * ever, 0 does not wait at all (what a negative timeval sets, as sock_set_timeout does). */
#define SOCKET_TIMEOUT_NONE INT64_MAX
/* A guest struct timeval of `len` bytes to a timeout: 0, -EINVAL (short) or -EDOM (bad usec). */
int socket_timeout_from_timeval(const void *val, size_t len, int64_t *out);
/* A timeout back to a struct timeval (for ever reads as 0,0) into val; its length in *len. */
void socket_timeout_to_timeval(int64_t timeout, void *val, size_t *len);
/* The CLOCK_MONOTONIC deadline `timeout` from now into *storage; NULL for none. */
const struct timespec *socket_deadline(int64_t timeout, struct timespec *storage);

#endif
