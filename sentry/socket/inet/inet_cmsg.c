/* Inet control messages: what a datagram's sender may set per packet (ip_cmsg_send,
 * ip6_datagram_send_ctl) and what its receiver asked to see (ip_cmsg_recv_offset,
 * ip6_datagram_recv_common_ctl / _specific_ctl), for loopback UDP. */
#include <errno.h>
#include <string.h>

#include "sentry/socket/inet/inet_internal.h"

/* sysctl net.ipv4.ip_default_ttl / net.ipv6.conf.lo.hop_limit. */
#define INET_DEFAULT_HOPS 64
/* The loopback interface's index: the only one a packet arrives on. */
#define INET_LO_IFINDEX 1
#ifndef IPV6_FLOWINFO
#define IPV6_FLOWINFO 11 /* include/uapi/linux/in6.h */
#endif

/* A control message's header and data inside the guest's control buffer. */
struct cmsg_view {
    int level, type;
    size_t data_len;
    const unsigned char *data;
};

/* Walks the control buffer as for_each_cmsghdr does; the syscall layer has checked each header
 * lies within it (CMSG_OK). Returns false at the end. */
static bool cmsg_next(const struct socket_send *m, size_t *pos, struct cmsg_view *v)
{
    const unsigned char *buf = m->control;
    struct cmsghdr h;

    if (!buf || *pos + sizeof(h) > m->controllen)
        return false;
    memcpy(&h, buf + *pos, sizeof(h));
    if (h.cmsg_len < sizeof(h) || h.cmsg_len > m->controllen - *pos)
        return false;
    v->level = h.cmsg_level;
    v->type = h.cmsg_type;
    v->data_len = h.cmsg_len - sizeof(h);
    v->data = buf + *pos + sizeof(h);
    *pos += CMSG_ALIGN(h.cmsg_len);
    return true;
}

static int cmsg_int(const struct cmsg_view *v)
{
    int val;
    memcpy(&val, v->data, sizeof(val));
    return val;
}

/* ip_cmsg_send(): SOL_IP messages; other levels are not IP's business. */
static int ip_cmsg_parse(const struct socket_send *m, struct inet_tx_opts *o)
{
    struct cmsg_view v;
    size_t pos = 0;

    while (cmsg_next(m, &pos, &v)) {
        if (v.level != SOL_IP)
            continue;
        switch (v.type) {
        case IP_TTL: {
            if (v.data_len != sizeof(int))
                return -EINVAL;
            int val = cmsg_int(&v);
            if (val < 1 || val > 255)
                return -EINVAL;
            o->hops = val;
            break;
        }
        case IP_TOS: {
            int val;
            if (v.data_len == sizeof(int))
                val = cmsg_int(&v);
            else if (v.data_len == 1)
                val = v.data[0];
            else
                return -EINVAL;
            if (val < 0 || val > 255)
                return -EINVAL;
            o->tclass = val;
            break;
        }
        case IP_PKTINFO:
            if (v.data_len != sizeof(struct in_pktinfo))
                return -EINVAL;
            break; /* the only route is loopback's */
        case IP_RETOPTS:
            if (v.data_len > 40)
                return -EINVAL; /* ip_options_get: at most 40 bytes of options */
            break;
        default:
            return -EINVAL;
        }
    }
    return 0;
}

/* ip6_datagram_send_ctl(): SOL_IPV6 messages. Extension headers are accepted and not carried
 * (nothing on loopback reads them). */
static int ipv6_cmsg_parse(const struct socket_send *m, struct inet_tx_opts *o)
{
    struct cmsg_view v;
    size_t pos = 0;

    while (cmsg_next(m, &pos, &v)) {
        if (v.level != SOL_IPV6)
            continue;
        switch (v.type) {
        case IPV6_PKTINFO: {
            struct in6_pktinfo info;
            if (v.data_len < sizeof(info))
                return -EINVAL;
            memcpy(&info, v.data, sizeof(info));
            if (info.ipi6_ifindex != 0 && info.ipi6_ifindex != INET_LO_IFINDEX)
                return -ENODEV;
            /* The source must be one of ours (ipv6_chk_addr): on loopback only ::1. */
            if (!inet_addr_is_any(&info.ipi6_addr) && !IN6_IS_ADDR_LOOPBACK(&info.ipi6_addr))
                return -EINVAL;
            break;
        }
        case IPV6_FLOWINFO:
            if (v.data_len < sizeof(uint32_t))
                return -EINVAL;
            break;
        case IPV6_2292HOPOPTS:
        case IPV6_HOPOPTS:
        case IPV6_2292DSTOPTS:
        case IPV6_DSTOPTS:
        case IPV6_RTHDRDSTOPTS:
        case IPV6_2292RTHDR:
        case IPV6_RTHDR:
            /* struct ipv6_opt_hdr at least, its length all there. */
            if (v.data_len < 2 || (size_t)(v.data[1] + 1) * 8 > v.data_len)
                return -EINVAL;
            break;
        case IPV6_2292HOPLIMIT:
        case IPV6_HOPLIMIT:
        case IPV6_TCLASS:
        case IPV6_DONTFRAG: {
            if (v.data_len != sizeof(int))
                return -EINVAL;
            int val = cmsg_int(&v);
            int max = v.type == IPV6_DONTFRAG ? 1 : 0xff;
            if (val < -1 || val > max)
                return -EINVAL;
            /* ipcm6_init_sk took the socket's class; a -1 here replaces it and goes out as
             * the header's byte, 0xff. */
            if (v.type == IPV6_TCLASS)
                o->tclass = val & 0xff;
            else if (v.type != IPV6_DONTFRAG)
                o->hops = val;
            break;
        }
        default:
            return -EINVAL;
        }
    }
    return 0;
}

int inet_cmsg_parse(const struct inet_sock *sk, const struct socket_send *m, bool to_v4,
                    struct inet_tx_opts *o)
{
    o->hops = -1;
    o->tclass = -1;
    if (!m->control)
        return 0;
    /* udpv6_sendmsg hands a v4-mapped destination to udp_sendmsg, which reads SOL_IP. */
    if (sk->family == AF_INET || to_v4)
        return ip_cmsg_parse(m, o);
    return ipv6_cmsg_parse(m, o);
}

void inet_cmsg_stamp(const struct inet_sock *sk, const struct inet_tx_opts *o, bool to_v4,
                     struct inet_msg *msg)
{
    if (to_v4) {
        msg->hops = o->hops > 0 ? o->hops : sk->ttl >= 0 ? sk->ttl : INET_DEFAULT_HOPS;
        msg->tclass = o->tclass >= 0 ? o->tclass : sk->tos;
    } else {
        msg->hops = o->hops >= 0 ? o->hops : sk->hoplimit >= 0 ? sk->hoplimit : INET_DEFAULT_HOPS;
        msg->tclass = o->tclass >= 0 ? o->tclass : sk->tclass;
    }
}

static void cmsg_add(struct socket_recv *r, int level, int type, const void *data, size_t len)
{
    if (r->ncmsgs >= SOCKET_CMSG_MAX || len > SOCKET_CMSG_DATA_MAX)
        return;
    struct socket_cmsg *c = &r->cmsgs[r->ncmsgs++];
    c->level = level;
    c->type = type;
    c->len = len;
    memcpy(c->data, data, len);
}

void inet_cmsg_recv(const struct inet_sock *sk, const struct inet_msg *msg, struct socket_recv *r)
{
    bool v4 = IN6_IS_ADDR_V4MAPPED(&msg->to.addr);
    int hops = msg->hops, tclass = msg->tclass;

    /* ip6_datagram_recv_common_ctl: IPV6_PKTINFO for either kind of packet. */
    if (sk->family == AF_INET6 && sk->recvpktinfo6) {
        struct in6_pktinfo info = {.ipi6_addr = msg->to.addr, .ipi6_ifindex = INET_LO_IFINDEX};
        cmsg_add(r, SOL_IPV6, IPV6_PKTINFO, &info, sizeof(info));
    }
    if (v4) {
        /* ip_cmsg_recv_offset: IP_PKTINFO, IP_TTL, IP_TOS (one byte). */
        if (sk->pktinfo) {
            struct in_pktinfo info = {.ipi_ifindex = INET_LO_IFINDEX};
            memcpy(&info.ipi_spec_dst, &msg->to.addr.s6_addr[12], 4);
            memcpy(&info.ipi_addr, &msg->to.addr.s6_addr[12], 4);
            cmsg_add(r, SOL_IP, IP_PKTINFO, &info, sizeof(info));
        }
        if (sk->recvttl)
            cmsg_add(r, SOL_IP, IP_TTL, &hops, sizeof(hops));
        if (sk->recvtos) {
            unsigned char tos = (unsigned char)tclass;
            cmsg_add(r, SOL_IP, IP_TOS, &tos, sizeof(tos));
        }
        return;
    }
    if (sk->family != AF_INET6)
        return;
    /* ip6_datagram_recv_specific_ctl's order. */
    if (sk->recvhoplimit)
        cmsg_add(r, SOL_IPV6, IPV6_HOPLIMIT, &hops, sizeof(hops));
    if (sk->recvtclass)
        cmsg_add(r, SOL_IPV6, IPV6_TCLASS, &tclass, sizeof(tclass));
    if (sk->recvpktinfo2292) {
        struct in6_pktinfo info = {.ipi6_addr = msg->to.addr, .ipi6_ifindex = INET_LO_IFINDEX};
        cmsg_add(r, SOL_IPV6, IPV6_2292PKTINFO, &info, sizeof(info));
    }
    if (sk->recvhoplimit2292)
        cmsg_add(r, SOL_IPV6, IPV6_2292HOPLIMIT, &hops, sizeof(hops));
}
