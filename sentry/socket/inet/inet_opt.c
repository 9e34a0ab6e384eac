/* Inet socket options: SOL_SOCKET as sk_getsockopt/sk_setsockopt answer, SOL_IP and SOL_IPV6
 * (ip_setsockopt, ipv6_setsockopt) and SOL_TCP (do_tcp_setsockopt) with Linux's range checks.
 * Nothing here changes how loopback data moves; values are stored and read back. */
#include <errno.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <string.h>

#include "sentry/socket/inet/inet_internal.h"

#ifndef SO_RCVTIMEO_OLD
#define SO_RCVTIMEO_OLD 20
#define SO_SNDTIMEO_OLD 21
#endif
#ifndef SO_RCVTIMEO_NEW
#define SO_RCVTIMEO_NEW 66
#define SO_SNDTIMEO_NEW 67
#endif

/* sysctl net.ipv4.ip_default_ttl / net.ipv6.conf.*.hop_limit. */
#define INET_DEFAULT_TTL 64
/* include/net/tcp.h: TCP_MIN_MSS, MAX_TCP_WINDOW, MAX_TCP_KEEPIDLE/INTVL/CNT, MAX_TCP_SYNCNT. */
#define TCP_MIN_MSS_VALUE 88
#define TCP_MAX_WINDOW_VALUE 32767
#define TCP_MAX_KEEPIDLE 32767
#define TCP_MAX_KEEPINTVL 32767
#define TCP_MAX_KEEPCNT 127
#define TCP_MAX_SYNCNT 127
#define INET_ECN_MASK 3
/* include/uapi/linux/udp.h, include/linux/socket.h */
#ifndef UDPLITE_SEND_CSCOV
#define UDPLITE_SEND_CSCOV 10
#define UDPLITE_RECV_CSCOV 11
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef SOL_UDPLITE
#define SOL_UDPLITE 136
#endif

static void put_int(void *val, size_t *len, int v)
{
    memcpy(val, &v, sizeof(v));
    *len = sizeof(v);
}

static int sol_socket_get(struct socket *s, struct inet_sock *sk, int name, void *val,
                          size_t *len)
{
    switch (name) {
    case SO_TYPE:
        put_int(val, len, sk->type);
        return 0;
    case SO_DOMAIN:
        put_int(val, len, sk->family);
        return 0;
    case SO_PROTOCOL:
        put_int(val, len, s->protocol);
        return 0;
    case SO_ERROR:
        put_int(val, len, -inet_take_error(sk));
        return 0;
    case SO_ACCEPTCONN:
        put_int(val, len, sk->state == INET_LISTEN);
        return 0;
    case SO_SNDBUF:
        put_int(val, len, sk->sndbuf);
        return 0;
    case SO_RCVBUF:
        put_int(val, len, sk->rcvbuf);
        return 0;
    case SO_REUSEADDR:
        put_int(val, len, sk->reuseaddr);
        return 0;
    case SO_REUSEPORT:
        put_int(val, len, sk->reuseport);
        return 0;
    case SO_KEEPALIVE:
        put_int(val, len, sk->keepalive);
        return 0;
    case SO_BROADCAST:
        put_int(val, len, sk->broadcast);
        return 0;
    case SO_OOBINLINE:
        put_int(val, len, sk->oobinline);
        return 0;
    case SO_DONTROUTE:
        put_int(val, len, sk->dontroute);
        return 0;
    case SO_PRIORITY:
        put_int(val, len, sk->priority);
        return 0;
    case SO_RCVLOWAT:
        put_int(val, len, sk->rcvlowat);
        return 0;
    case SO_SNDLOWAT:
        put_int(val, len, 1);
        return 0;
    case SO_DEBUG:
    case SO_PASSCRED:
        put_int(val, len, 0);
        return 0;
    case SO_LINGER:
        memcpy(val, &sk->linger, sizeof(sk->linger));
        *len = sizeof(sk->linger);
        return 0;
    case SO_PEERCRED: {
        struct ucred c = {0, (uid_t)-1, (gid_t)-1}; /* no credentials cross inet sockets */
        memcpy(val, &c, sizeof(c));
        *len = sizeof(c);
        return 0;
    }
    case SO_RCVTIMEO_OLD:
    case SO_RCVTIMEO_NEW:
        socket_timeout_to_timeval(sk->rcvtimeo, val, len);
        return 0;
    case SO_SNDTIMEO_OLD:
    case SO_SNDTIMEO_NEW:
        socket_timeout_to_timeval(sk->sndtimeo, val, len);
        return 0;
    default:
        return -ENOPROTOOPT;
    }
}

static int sol_ip_get(struct inet_sock *sk, int name, void *val, size_t *len)
{
    switch (name) {
    case IP_TOS:
        put_int(val, len, sk->tos);
        return 0;
    case IP_TTL:
        put_int(val, len, sk->ttl < 0 ? INET_DEFAULT_TTL : sk->ttl);
        return 0;
    case IP_RECVTOS:
        put_int(val, len, sk->recvtos);
        return 0;
    case IP_RECVTTL:
        put_int(val, len, sk->recvttl);
        return 0;
    case IP_PKTINFO:
        put_int(val, len, sk->pktinfo);
        return 0;
    case IP_RECVERR:
        put_int(val, len, sk->recverr);
        return 0;
    default:
        return -ENOPROTOOPT;
    }
}

static int sol_ipv6_get(struct inet_sock *sk, int name, void *val, size_t *len)
{
    if (sk->family != AF_INET6)
        return -ENOPROTOOPT;
    switch (name) {
    case IPV6_V6ONLY:
        put_int(val, len, sk->v6only);
        return 0;
    case IPV6_UNICAST_HOPS:
        put_int(val, len, sk->hoplimit < 0 ? INET_DEFAULT_TTL : sk->hoplimit);
        return 0;
    case IPV6_RECVPKTINFO:
        put_int(val, len, sk->recvpktinfo6);
        return 0;
    case IPV6_RECVHOPLIMIT:
        put_int(val, len, sk->recvhoplimit);
        return 0;
    case IPV6_RECVTCLASS:
        put_int(val, len, sk->recvtclass);
        return 0;
    case IPV6_2292PKTINFO:
        put_int(val, len, sk->recvpktinfo2292);
        return 0;
    case IPV6_2292HOPLIMIT:
        put_int(val, len, sk->recvhoplimit2292);
        return 0;
    case IPV6_TCLASS:
        put_int(val, len, sk->tclass);
        return 0;
    default:
        return -ENOPROTOOPT;
    }
}

/* udp_lib_getsockopt: the UDP-Lite checksum coverages (a UDP socket's ENOPROTOOPT). */
static int sol_udp_get(struct inet_sock *sk, int name, void *val, size_t *len)
{
    if (sk->protocol != IPPROTO_UDPLITE)
        return -ENOPROTOOPT;
    switch (name) {
    case UDPLITE_SEND_CSCOV:
        put_int(val, len, sk->udplite_send_cscov);
        return 0;
    case UDPLITE_RECV_CSCOV:
        put_int(val, len, sk->udplite_recv_cscov);
        return 0;
    default:
        return -ENOPROTOOPT;
    }
}

static int sol_tcp_get(struct inet_sock *sk, int name, void *val, size_t *len)
{
    switch (name) {
    case TCP_NODELAY:
        put_int(val, len, sk->nodelay);
        return 0;
    case TCP_CORK:
        put_int(val, len, sk->cork);
        return 0;
    case TCP_MAXSEG:
        /* do_tcp_getsockopt: the user's MSS while closed or listening, else the path's. */
        put_int(val, len,
                sk->user_mss && sk->state != INET_ESTABLISHED ? sk->user_mss : sk->maxseg);
        return 0;
    case TCP_KEEPIDLE:
        put_int(val, len, sk->keepidle);
        return 0;
    case TCP_KEEPINTVL:
        put_int(val, len, sk->keepintvl);
        return 0;
    case TCP_KEEPCNT:
        put_int(val, len, sk->keepcnt);
        return 0;
    case TCP_SYNCNT:
        put_int(val, len, sk->syncnt);
        return 0;
    case TCP_LINGER2:
        put_int(val, len, sk->linger2);
        return 0;
    case TCP_DEFER_ACCEPT:
        put_int(val, len, sk->defer_accept);
        return 0;
    case TCP_WINDOW_CLAMP:
        put_int(val, len, sk->window_clamp);
        return 0;
    case TCP_QUICKACK:
        put_int(val, len, sk->quickack);
        return 0;
    case TCP_USER_TIMEOUT:
        put_int(val, len, sk->user_timeout);
        return 0;
    case TCP_NOTSENT_LOWAT:
        put_int(val, len, sk->notsent_lowat);
        return 0;
    case TCP_CONGESTION: {
        char name16[16] = "cubic";
        memcpy(val, name16, sizeof(name16));
        *len = sizeof(name16);
        return 0;
    }
    default:
        return -ENOPROTOOPT;
    }
}

int inet_getsockopt(struct socket *s, struct task *t, int level, int name, void *val, size_t *len)
{
    struct inet_sock *sk = inet_sk(s);
    int err;

    (void)t;
    pthread_mutex_lock(&inet_lock);
    if (level == SOL_SOCKET)
        err = sol_socket_get(s, sk, name, val, len);
    else if (level == SOL_IP)
        err = sol_ip_get(sk, name, val, len);
    else if (level == SOL_IPV6 && sk->family == AF_INET6)
        err = sol_ipv6_get(sk, name, val, len);
    else if (level == SOL_TCP && sk->type == SOCK_STREAM)
        err = sol_tcp_get(sk, name, val, len);
    else if ((level == SOL_UDP || level == SOL_UDPLITE) && sk->type == SOCK_DGRAM)
        err = sol_udp_get(sk, name, val, len);
    else /* a level nobody knows: ip_getsockopt's EOPNOTSUPP, ipv6_getsockopt's ENOPROTOOPT */
        err = sk->family == AF_INET ? -EOPNOTSUPP : -ENOPROTOOPT;
    pthread_mutex_unlock(&inet_lock);
    return err;
}

/* SO_SNDBUF/SO_RCVBUF: capped at {w,r}mem_max (compared unsigned), doubled, with a floor. */
static int inet_buf_size(int val, int floor)
{
    unsigned v = (unsigned)val > INET_BUF_MAX ? INET_BUF_MAX : (unsigned)val;
    return (int)(v * 2) > floor ? (int)(v * 2) : floor;
}

static int sol_socket_set(struct inet_sock *sk, struct task *t, int name, const void *val,
                          size_t len, int v)
{
    bool on = v != 0;

    switch (name) {
    case SO_SNDBUF:
        sk->sndbuf = inet_buf_size(v, INET_MIN_SNDBUF);
        sk->sndbuf_locked = true;
        return 0;
    case SO_RCVBUF:
        sk->rcvbuf = inet_buf_size(v, INET_MIN_RCVBUF);
        sk->rcvbuf_locked = true;
        return 0;
    case SO_REUSEADDR:
        sk->reuseaddr = on;
        return 0;
    case SO_REUSEPORT:
        sk->reuseport = on;
        return 0;
    case SO_KEEPALIVE:
        sk->keepalive = on;
        return 0;
    case SO_BROADCAST:
        sk->broadcast = on;
        return 0;
    case SO_OOBINLINE:
        sk->oobinline = on;
        return 0;
    case SO_DONTROUTE:
        sk->dontroute = on;
        return 0;
    case SO_DEBUG:
    case SO_PASSCRED:
        return 0;
    case SO_PRIORITY:
        /* 0..6 without CAP_NET_ADMIN (root in the sandbox has it). */
        if ((v < 0 || v > 6) && t->creds.euid != 0)
            return -EPERM;
        sk->priority = v;
        return 0;
    case SO_RCVLOWAT:
        sk->rcvlowat = v < 0 ? INT_MAX : (v ? v : 1);
        return 0;
    case SO_LINGER: {
        struct linger l;
        if (len < sizeof(l))
            return -EINVAL;
        memcpy(&l, val, sizeof(l));
        sk->linger.l_onoff = l.l_onoff != 0;
        if (l.l_onoff)
            sk->linger.l_linger = l.l_linger < 0 ? 0 : l.l_linger;
        return 0;
    }
    default:
        return -ENOPROTOOPT;
    }
}

static int sol_ip_set(struct inet_sock *sk, int name, int v)
{
    bool on = v != 0;

    switch (name) {
    case IP_TOS:
        /* TCP keeps the ECN bits its own (ip_setsockopt's __ip_sock_set_tos). */
        if (sk->type == SOCK_STREAM)
            v = (v & ~INET_ECN_MASK) | (sk->tos & INET_ECN_MASK);
        sk->tos = v & 0xff;
        return 0;
    case IP_TTL:
        if (v != -1 && (v < 1 || v > 255))
            return -EINVAL;
        sk->ttl = v;
        return 0;
    case IP_RECVTOS:
        sk->recvtos = on;
        return 0;
    case IP_RECVTTL:
        sk->recvttl = on;
        return 0;
    case IP_PKTINFO:
        sk->pktinfo = on;
        return 0;
    case IP_RECVERR:
        sk->recverr = on;
        return 0;
    default:
        return -ENOPROTOOPT;
    }
}

static int sol_ipv6_set(struct inet_sock *sk, int name, int v)
{
    if (sk->family != AF_INET6)
        return -ENOPROTOOPT;
    switch (name) {
    case IPV6_V6ONLY:
        if (sk->bound)
            return -EINVAL; /* do_ipv6_setsockopt: not once a port is bound */
        sk->v6only = v != 0;
        return 0;
    case IPV6_UNICAST_HOPS:
        if (v < -1 || v > 255)
            return -EINVAL;
        sk->hoplimit = v;
        return 0;
    case IPV6_RECVPKTINFO:
        sk->recvpktinfo6 = v != 0;
        return 0;
    case IPV6_RECVHOPLIMIT:
        sk->recvhoplimit = v != 0;
        return 0;
    case IPV6_RECVTCLASS:
        sk->recvtclass = v != 0;
        return 0;
    case IPV6_2292PKTINFO:
        sk->recvpktinfo2292 = v != 0;
        return 0;
    case IPV6_2292HOPLIMIT:
        sk->recvhoplimit2292 = v != 0;
        return 0;
    case IPV6_TCLASS:
        if (v < -1 || v > 0xff)
            return -EINVAL;
        sk->tclass = v == -1 ? 0 : v; /* -1 asks for the default */
        return 0;
    default:
        return -ENOPROTOOPT;
    }
}

/* udp_lib_setsockopt: UDP-Lite's coverages, 0 (whole datagram) or at least the 8-byte header,
 * at most 0xffff. */
static int sol_udp_set(struct inet_sock *sk, int name, int v)
{
    if (sk->protocol != IPPROTO_UDPLITE)
        return -ENOPROTOOPT;
    if (v != 0 && v < 8)
        v = 8;
    else if (v > USHRT_MAX)
        v = USHRT_MAX;
    switch (name) {
    case UDPLITE_SEND_CSCOV:
        sk->udplite_send_cscov = v;
        return 0;
    case UDPLITE_RECV_CSCOV:
        sk->udplite_recv_cscov = v;
        return 0;
    default:
        return -ENOPROTOOPT;
    }
}

static int sol_tcp_set(struct inet_sock *sk, int name, int v)
{
    switch (name) {
    case TCP_NODELAY:
        sk->nodelay = v != 0;
        return 0;
    case TCP_CORK:
        sk->cork = v != 0;
        return 0;
    case TCP_MAXSEG:
        if (v && (v < TCP_MIN_MSS_VALUE || v > TCP_MAX_WINDOW_VALUE))
            return -EINVAL;
        sk->user_mss = v;
        return 0;
    case TCP_KEEPIDLE:
        if (v < 1 || v > TCP_MAX_KEEPIDLE)
            return -EINVAL;
        sk->keepidle = v;
        return 0;
    case TCP_KEEPINTVL:
        if (v < 1 || v > TCP_MAX_KEEPINTVL)
            return -EINVAL;
        sk->keepintvl = v;
        return 0;
    case TCP_KEEPCNT:
        if (v < 1 || v > TCP_MAX_KEEPCNT)
            return -EINVAL;
        sk->keepcnt = v;
        return 0;
    case TCP_SYNCNT:
        if (v < 1 || v > TCP_MAX_SYNCNT)
            return -EINVAL;
        sk->syncnt = v;
        return 0;
    case TCP_LINGER2:
        sk->linger2 = v < 0 ? -1 : v;
        return 0;
    case TCP_DEFER_ACCEPT:
        sk->defer_accept = v < 0 ? 0 : v;
        return 0;
    case TCP_WINDOW_CLAMP:
        sk->window_clamp = v < INET_MIN_RCVBUF / 2 && v ? INET_MIN_RCVBUF / 2 : v;
        return 0;
    case TCP_QUICKACK:
        sk->quickack = v != 0;
        return 0;
    case TCP_USER_TIMEOUT:
        if (v < 0)
            return -EINVAL;
        sk->user_timeout = v;
        return 0;
    case TCP_NOTSENT_LOWAT:
        sk->notsent_lowat = v;
        return 0;
    default:
        return -ENOPROTOOPT;
    }
}

int inet_setsockopt(struct socket *s, struct task *t, int level, int name, const void *val,
                    size_t len)
{
    struct inet_sock *sk = inet_sk(s);
    int v = 0, err;

    pthread_mutex_lock(&inet_lock);
    if (level == SOL_SOCKET && (name == SO_RCVTIMEO_OLD || name == SO_RCVTIMEO_NEW)) {
        err = socket_timeout_from_timeval(val, len, &sk->rcvtimeo);
        goto out;
    }
    if (level == SOL_SOCKET && (name == SO_SNDTIMEO_OLD || name == SO_SNDTIMEO_NEW)) {
        err = socket_timeout_from_timeval(val, len, &sk->sndtimeo);
        goto out;
    }
    if (level == SOL_IP && len >= 1 && len < sizeof(int)) {
        /* ip_setsockopt takes a single byte for its int options, too. */
        v = *(const unsigned char *)val;
    } else if (level == SOL_SOCKET && name == SO_LINGER) {
        v = 0;
    } else {
        if (len < sizeof(int)) {
            err = -EINVAL;
            goto out;
        }
        memcpy(&v, val, sizeof(v));
    }
    if (level == SOL_SOCKET)
        err = sol_socket_set(sk, t, name, val, len, v);
    else if (level == SOL_IP)
        err = sol_ip_set(sk, name, v);
    else if (level == SOL_IPV6)
        err = sol_ipv6_set(sk, name, v);
    else if (level == SOL_TCP && sk->type == SOCK_STREAM)
        err = sol_tcp_set(sk, name, v);
    else if ((level == SOL_UDP || level == SOL_UDPLITE) && sk->type == SOCK_DGRAM)
        err = sol_udp_set(sk, name, v);
    else
        err = -ENOPROTOOPT;
    waitqueue_wake_all(&sk->wq);
out:
    pthread_mutex_unlock(&inet_lock);
    return err;
}

void inet_poll_unregister(struct socket *s, struct waiter *w)
{
    waitqueue_remove(&inet_sk(s)->wq, w);
}
