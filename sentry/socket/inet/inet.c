/* Inet sockets' life, addresses and ports: allocation, socket(2), the loopback address rules,
 * the port table with bind(2)'s EADDRINUSE rules (inet_csk_bind_conflict, udp_lib_lport_inuse)
 * and ephemeral ports, getsockname/getpeername. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "sentry/socket/inet/inet_internal.h"

pthread_mutex_t inet_lock = PTHREAD_MUTEX_INITIALIZER;

/* Every socket with a port, TCP and UDP, under inet_lock. */
static struct inet_sock *inet_table;

struct inet_sock *inet_sock_alloc(struct sysctl_table *sysctl, int family, int type, int protocol)
{
    struct inet_sock *sk = calloc(1, sizeof(*sk));

    if (!sk)
        return NULL;
    atomic_init(&sk->refs, 1);
    sk->sysctl = sysctl;
    sk->family = family;
    sk->type = type;
    sk->protocol = protocol;
    sk->state = INET_CLOSE;
    if (family == AF_INET)
        sk->local.addr = inet_any4();
    if (type == SOCK_STREAM) {
        sk->rcvbuf = INET_TCP_RCVBUF;
        sk->sndbuf = INET_TCP_SNDBUF;
    } else {
        sk->rcvbuf = sk->sndbuf = INET_UDP_BUF;
    }
    sk->rcvlowat = 1;
    sk->ttl = -1;
    sk->hoplimit = -1;
    sk->rcvtimeo = sk->sndtimeo = SOCKET_TIMEOUT_NONE;
    /* tcp_init_sock / sysctl defaults: keepalive 7200s, 75s, 9 probes; 6 SYN retries;
     * FIN_WAIT2 60s; TCP_MAXSEG reads TCP_MSS_DEFAULT until connected. */
    sk->keepidle = 7200;
    sk->keepintvl = 75;
    sk->keepcnt = 9;
    sk->syncnt = 6;
    sk->linger2 = 60;
    sk->maxseg = 536;
    sk->quickack = true;
    sk->notsent_lowat = -1;
    waitqueue_init(&sk->wq);
    return sk;
}

void inet_sock_get(struct inet_sock *sk)
{
    /* Relaxed: a new reference needs no ordering, only the last put does. */
    atomic_fetch_add_explicit(&sk->refs, 1, memory_order_relaxed);
}

void inet_sock_put(struct inet_sock *sk)
{
    /* Acq-rel: the last put sees every holder's writes before freeing. */
    if (!sk || atomic_fetch_sub_explicit(&sk->refs, 1, memory_order_acq_rel) != 1)
        return;
    /* Only released sockets reach here: release emptied the queues and the port table. */
    waitqueue_destroy(&sk->wq);
    free(sk->ring);
    free(sk);
}

bool inet_nonblocking(struct inet_sock *sk)
{
    return sk->sock &&
           (atomic_load_explicit(&sk->sock->file.status_flags, memory_order_relaxed) & O_NONBLOCK);
}

int inet_wait_locked(struct waitqueue *q, struct task *t, const struct timespec *deadline)
{
    struct waiter w;

    waitqueue_add(q, &w, t);
    pthread_mutex_unlock(&inet_lock);
    int err = task_block(t, deadline);
    waitqueue_remove(q, &w);
    pthread_mutex_lock(&inet_lock);
    if (err == -EINTR)
        return deadline ? -EINTR : -ERESTARTSYS; /* sock_intr_errno() */
    return err == -ETIMEDOUT ? -EAGAIN : 0;
}

int inet_take_error(struct inet_sock *sk)
{
    int err = sk->err;
    sk->err = 0;
    return -err;
}

/* ---- addresses ---- */

bool inet_addr_is_any(const struct in6_addr *a)
{
    static const struct in6_addr mapped_any = {.s6_addr = {[10] = 0xff, [11] = 0xff}};
    return IN6_IS_ADDR_UNSPECIFIED(a) || !memcmp(a, &mapped_any, sizeof(*a));
}

bool inet_addr_is_v4mapped(const struct in6_addr *a)
{
    return IN6_IS_ADDR_V4MAPPED(a);
}

bool inet_addr_is_loopback(const struct in6_addr *a)
{
    if (IN6_IS_ADDR_V4MAPPED(a))
        return a->s6_addr[12] == 127;
    return IN6_IS_ADDR_LOOPBACK(a);
}

static struct in6_addr inet_map_v4(uint32_t be_addr)
{
    struct in6_addr a = {.s6_addr = {[10] = 0xff, [11] = 0xff}};
    memcpy(&a.s6_addr[12], &be_addr, 4);
    return a;
}

struct in6_addr inet_any4(void)
{
    return inet_map_v4(htonl(INADDR_ANY));
}

struct in6_addr inet_source_for(const struct in6_addr *dst)
{
    /* The loopback route's preferred source: 127.0.0.1 for all of 127/8, ::1 for ::1. */
    if (IN6_IS_ADDR_V4MAPPED(dst))
        return inet_map_v4(htonl(INADDR_LOOPBACK));
    return in6addr_loopback;
}

int inet_addr_from_user(struct inet_sock *sk, const struct sockaddr_storage *addr, size_t len,
                        bool bind, struct inet_endpoint *out)
{
    if (sk->family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        if (len < sizeof(*in))
            return -EINVAL;
        /* inet_bind: AF_UNSPEC passes only with INADDR_ANY (a compatibility hack). */
        if (in->sin_family != AF_INET &&
            !(bind && in->sin_family == AF_UNSPEC && in->sin_addr.s_addr == htonl(INADDR_ANY)))
            return -EAFNOSUPPORT;
        out->addr = inet_map_v4(in->sin_addr.s_addr);
        out->port = ntohs(in->sin_port);
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        /* SIN6_LEN_RFC2133: the older sockaddr_in6 without sin6_scope_id is accepted. */
        if (len < 24)
            return -EINVAL;
        if (in6->sin6_family != AF_INET6)
            return -EAFNOSUPPORT;
        out->addr = in6->sin6_addr;
        out->port = ntohs(in6->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&out->addr) && sk->v6only)
            return bind ? -EINVAL : -ENETUNREACH;
    }
    if (inet_addr_is_any(&out->addr)) {
        if (!bind) /* connecting to the any address reaches this host's loopback */
            out->addr = IN6_IS_ADDR_V4MAPPED(&out->addr) || sk->family == AF_INET
                            ? inet_map_v4(htonl(INADDR_LOOPBACK))
                            : in6addr_loopback;
        return 0;
    }
    if (!inet_addr_is_loopback(&out->addr))
        return bind ? -EADDRNOTAVAIL : -ENETUNREACH;
    return 0;
}

void inet_addr_to_user(const struct inet_sock *sk, const struct inet_endpoint *ep,
                       struct sockaddr_storage *addr, size_t *len)
{
    memset(addr, 0, sizeof(*addr));
    if (sk->family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)addr;
        in->sin_family = AF_INET;
        in->sin_port = htons(ep->port);
        memcpy(&in->sin_addr.s_addr, &ep->addr.s6_addr[12], 4);
        *len = sizeof(*in);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(ep->port);
        in6->sin6_addr = ep->addr;
        *len = sizeof(*in6);
    }
}

/* ---- ports ---- */

/* Whether sockets bound to a and b (ports equal) would receive the same packets. */
static bool inet_addrs_overlap(const struct inet_sock *a, const struct in6_addr *aa,
                               const struct inet_sock *b)
{
    const struct in6_addr *ba = &b->local.addr;
    bool a_any6 = IN6_IS_ADDR_UNSPECIFIED(aa) && a->family == AF_INET6;
    bool b_any6 = IN6_IS_ADDR_UNSPECIFIED(ba) && b->family == AF_INET6;

    /* An IPv6 any address covers IPv4 too, unless the socket is v6-only. */
    if (a_any6 && b_any6)
        return true;
    if (a_any6)
        return !a->v6only || !IN6_IS_ADDR_V4MAPPED(ba);
    if (b_any6)
        return !b->v6only || !IN6_IS_ADDR_V4MAPPED(aa);
    bool a_v4 = IN6_IS_ADDR_V4MAPPED(aa), b_v4 = IN6_IS_ADDR_V4MAPPED(ba);
    if (a_v4 != b_v4)
        return false;
    return inet_addr_is_any(aa) || inet_addr_is_any(ba) || !memcmp(aa, ba, sizeof(*aa));
}

bool inet_port_conflict_locked(const struct inet_sock *sk, const struct inet_endpoint *ep)
{
    for (const struct inet_sock *o = inet_table; o; o = o->table_next) {
        if (o == sk || o->protocol != sk->protocol || o->local.port != ep->port)
            continue;
        if (!inet_addrs_overlap(sk, &ep->addr, o))
            continue;
        /* SO_REUSEPORT on both shares the port; SO_REUSEADDR on both too, except that a TCP
         * listener keeps its port to itself. */
        if (sk->reuseport && o->reuseport)
            continue;
        if (sk->reuseaddr && o->reuseaddr &&
            (sk->type != SOCK_STREAM || o->state != INET_LISTEN))
            continue;
        return true;
    }
    return false;
}

static void inet_hash_locked(struct inet_sock *sk)
{
    sk->table_next = inet_table;
    inet_table = sk;
    sk->listed = true;
    sk->bound = true;
}

void inet_unhash_locked(struct inet_sock *sk)
{
    if (!sk->listed)
        return;
    for (struct inet_sock **p = &inet_table; *p; p = &(*p)->table_next) {
        if (*p == sk) {
            *p = sk->table_next;
            break;
        }
    }
    sk->listed = false;
}

int inet_bind_locked(struct inet_sock *sk, const struct inet_endpoint *ep)
{
    struct inet_endpoint want = *ep;

    if (want.port == 0) {
        /* An ephemeral port: from net.ipv4.ip_local_port_range, at a random start. */
        struct sysctl_values v;
        sysctl_read(sk->sysctl, &v);
        unsigned low = (unsigned)v.ip_local_port_range[0];
        unsigned span = (unsigned)v.ip_local_port_range[1] - low + 1;
        uint32_t r;
        if (getrandom(&r, sizeof(r), 0) != sizeof(r))
            r = 0;
        unsigned i;
        for (i = 0; i < span; i++) {
            want.port = (uint16_t)(low + (r + i) % span);
            if (!inet_port_conflict_locked(sk, &want))
                break;
        }
        if (i == span)
            return -EADDRINUSE;
    } else if (inet_port_conflict_locked(sk, &want)) {
        return -EADDRINUSE;
    }
    sk->local = want;
    inet_hash_locked(sk);
    return 0;
}

int inet_autobind_locked(struct inet_sock *sk, const struct in6_addr *addr)
{
    struct inet_endpoint ep = {.port = 0};

    if (sk->bound)
        return 0;
    if (addr)
        ep.addr = *addr;
    else if (sk->family == AF_INET)
        ep.addr = inet_map_v4(htonl(INADDR_ANY));
    return inet_bind_locked(sk, &ep);
}

static bool inet_accepts(const struct inet_sock *sk, const struct in6_addr *dst)
{
    const struct in6_addr *la = &sk->local.addr;

    if (IN6_IS_ADDR_V4MAPPED(dst)) {
        if (sk->family == AF_INET6 && sk->v6only)
            return false;
        if (sk->family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(la))
            return true;
        return IN6_IS_ADDR_V4MAPPED(la) && (inet_addr_is_any(la) || !memcmp(la, dst, 16));
    }
    if (sk->family != AF_INET6)
        return false;
    return IN6_IS_ADDR_UNSPECIFIED(la) || !memcmp(la, dst, 16);
}

struct inet_sock *inet_lookup_locked(int protocol, const struct inet_endpoint *dst,
                                     const struct inet_endpoint *src, bool listener)
{
    for (struct inet_sock *o = inet_table; o; o = o->table_next) {
        if (o->protocol != protocol || o->local.port != dst->port || o->dead)
            continue;
        if (listener && o->state != INET_LISTEN)
            continue;
        if (src && o->state == INET_ESTABLISHED &&
            (o->remote.port != src->port || memcmp(&o->remote.addr, &src->addr, 16)))
            continue;
        if (inet_accepts(o, &dst->addr))
            return o;
    }
    return NULL;
}

int inet_bind(struct socket *s, struct task *t, const struct sockaddr_storage *addr, size_t len)
{
    struct inet_sock *sk = inet_sk(s);
    struct inet_endpoint ep;
    struct sysctl_values v;

    sysctl_read(sk->sysctl, &v);
    pthread_mutex_lock(&inet_lock);
    int err = inet_addr_from_user(sk, addr, len, true, &ep);
    if (err)
        goto out;
    /* inet_port_requires_bind_service: a port below net.ipv4.ip_unprivileged_port_start needs
     * CAP_NET_BIND_SERVICE. */
    if (ep.port && ep.port < v.ip_unprivileged_port_start &&
        !task_capable(t, CAP_NET_BIND_SERVICE)) {
        err = -EACCES;
        goto out;
    }
    /* Binding twice, or after a connect bound the socket implicitly. */
    if (sk->bound || sk->state != INET_CLOSE) {
        err = -EINVAL;
        goto out;
    }
    err = inet_bind_locked(sk, &ep);
    /* inet_bind: SOCK_BINDPORT_LOCK only for a port the caller named, BINDADDR_LOCK for an
     * address; a disconnect or a failed connect gives back what was not locked. */
    if (!err) {
        sk->bind_explicit = ep.port != 0;
        sk->bind_addr_explicit = !inet_addr_is_any(&ep.addr);
    }
out:
    pthread_mutex_unlock(&inet_lock);
    return err;
}

int inet_getname(struct socket *s, bool peer, struct sockaddr_storage *addr, size_t *len)
{
    struct inet_sock *sk = inet_sk(s);
    int err = 0;

    pthread_mutex_lock(&inet_lock);
    if (peer) {
        if (sk->state != INET_ESTABLISHED && !(sk->type == SOCK_STREAM && sk->peer))
            err = -ENOTCONN;
        else
            inet_addr_to_user(sk, &sk->remote, addr, len);
    } else {
        inet_addr_to_user(sk, &sk->local, addr, len);
    }
    pthread_mutex_unlock(&inet_lock);
    return err;
}

int inet_socket_create(struct task *t, int family, int type, int protocol, int file_flags,
                       struct socket **out)
{
    const struct socket_ops *ops;

    /* inet_create: a raw or unknown type, or a protocol that does not match it. */
    if (type == SOCK_STREAM) {
        if (protocol != 0 && protocol != IPPROTO_TCP)
            return -EPROTONOSUPPORT;
        protocol = IPPROTO_TCP;
        ops = &inet_stream_ops;
    } else if (type == SOCK_DGRAM) {
        if (protocol != 0 && protocol != IPPROTO_UDP && protocol != IPPROTO_UDPLITE)
            return -EPROTONOSUPPORT;
        if (protocol == 0)
            protocol = IPPROTO_UDP;
        ops = &inet_dgram_ops;
    } else if (type == SOCK_RAW) {
        return -EPERM; /* raw sockets need CAP_NET_RAW, which the sandbox does not grant */
    } else {
        return -ESOCKTNOSUPPORT;
    }
    struct inet_sock *sk = inet_sock_alloc(&t->kernel->sysctl, family, type, protocol);
    if (!sk)
        return -ENOMEM;
    struct socket *s = socket_alloc(t, ops, family, type, protocol, file_flags, sk);
    if (!s) {
        inet_sock_put(sk);
        return -ENOMEM;
    }
    sk->sock = s;
    *out = s;
    return 0;
}
