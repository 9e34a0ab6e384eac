/* NETLINK_ROUTE's answers for the sandbox's one interface, "lo" (index 1, 127.0.0.1/8 and
 * ::1/128, MTU 65536), laid out as rtnl_fill_ifinfo and inet_fill_ifaddr / inet6_fill_ifaddr
 * lay them out in a fresh network namespace. Changes (RTM_NEW*, RTM_DEL*, RTM_SET*) are not
 * supported: the sandbox's network is fixed. */
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sentry/socket/netlink/netlink_internal.h"

#define LO_INDEX 1
#define LO_NAME "lo"
#define LO_MTU 65536
#define LO_TXQLEN 1000
/* IFF_UP | IFF_LOOPBACK | IFF_RUNNING as SIOCGIFFLAGS shows them, plus IFF_LOWER_UP. */
#define LO_FLAGS (IFF_UP | IFF_LOOPBACK | IFF_RUNNING | 0x10000)
#define RT_SCOPE_HOST_VALUE 254

struct nlmsghdr *netlink_buf_put(struct netlink_buf *b, uint16_t type, uint16_t flags, uint32_t seq,
                                 uint32_t portid, size_t payload)
{
    size_t need = NLMSG_ALIGN(NLMSG_HDRLEN + payload);

    if (b->failed)
        return NULL;
    if (b->len + need > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < b->len + need)
            cap *= 2;
        char *data = realloc(b->data, cap);
        if (!data) {
            b->failed = true;
            return NULL;
        }
        b->data = data;
        b->cap = cap;
    }
    struct nlmsghdr *h = (struct nlmsghdr *)(b->data + b->len);
    memset(h, 0, need);
    h->nlmsg_len = (uint32_t)(NLMSG_HDRLEN + payload);
    h->nlmsg_type = type;
    h->nlmsg_flags = flags;
    h->nlmsg_seq = seq;
    h->nlmsg_pid = portid;
    b->len += need;
    return h;
}

void netlink_buf_attr(struct netlink_buf *b, size_t h_off, uint16_t type, const void *data,
                      size_t len)
{
    size_t need = RTA_SPACE(len);

    if (b->failed)
        return;
    if (b->len + need > b->cap) {
        size_t cap = b->cap * 2;
        while (cap < b->len + need)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) {
            b->failed = true;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    struct rtattr *a = (struct rtattr *)(b->data + b->len);
    memset(a, 0, need);
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    a->rta_type = type;
    memcpy(RTA_DATA(a), data, len);
    b->len += need;
    struct nlmsghdr *h = (struct nlmsghdr *)(b->data + h_off);
    h->nlmsg_len = (uint32_t)(b->len - h_off);
}

static void attr_u32(struct netlink_buf *b, size_t off, uint16_t type, uint32_t v)
{
    netlink_buf_attr(b, off, type, &v, sizeof(v));
}

static void attr_u8(struct netlink_buf *b, size_t off, uint16_t type, uint8_t v)
{
    netlink_buf_attr(b, off, type, &v, sizeof(v));
}

/* rtnl_fill_ifinfo for lo. */
static void put_link(struct netlink_buf *b, uint16_t flags, uint32_t seq, uint32_t portid)
{
    size_t off = b->len;
    struct nlmsghdr *h =
        netlink_buf_put(b, RTM_NEWLINK, flags, seq, portid, sizeof(struct ifinfomsg));
    if (!h)
        return;
    struct ifinfomsg *ifi = NLMSG_DATA(h);
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_type = ARPHRD_LOOPBACK;
    ifi->ifi_index = LO_INDEX;
    ifi->ifi_flags = LO_FLAGS;
    static const unsigned char hwaddr[6];
    netlink_buf_attr(b, off, IFLA_IFNAME, LO_NAME, sizeof(LO_NAME));
    attr_u32(b, off, IFLA_TXQLEN, LO_TXQLEN);
    attr_u8(b, off, IFLA_OPERSTATE, 0); /* IF_OPER_UNKNOWN, as lo reports */
    attr_u8(b, off, IFLA_LINKMODE, 0);
    attr_u32(b, off, IFLA_MTU, LO_MTU);
    attr_u32(b, off, IFLA_GROUP, 0);
    attr_u32(b, off, IFLA_PROMISCUITY, 0);
    attr_u32(b, off, IFLA_NUM_TX_QUEUES, 1);
    attr_u32(b, off, IFLA_NUM_RX_QUEUES, 1);
    attr_u8(b, off, IFLA_CARRIER, 1);
    netlink_buf_attr(b, off, IFLA_QDISC, "noqueue", sizeof("noqueue"));
    netlink_buf_attr(b, off, IFLA_ADDRESS, hwaddr, sizeof(hwaddr));
    netlink_buf_attr(b, off, IFLA_BROADCAST, hwaddr, sizeof(hwaddr));
}

/* inet_fill_ifaddr / inet6_fill_ifaddr for lo's two permanent addresses. */
static void put_addr(struct netlink_buf *b, int family, uint16_t flags, uint32_t seq,
                     uint32_t portid)
{
    size_t off = b->len;
    struct nlmsghdr *h =
        netlink_buf_put(b, RTM_NEWADDR, flags, seq, portid, sizeof(struct ifaddrmsg));
    if (!h)
        return;
    struct ifaddrmsg *ifa = NLMSG_DATA(h);
    ifa->ifa_family = (unsigned char)family;
    ifa->ifa_flags = IFA_F_PERMANENT;
    ifa->ifa_scope = RT_SCOPE_HOST_VALUE;
    ifa->ifa_index = LO_INDEX;
    struct ifa_cacheinfo ci = {.ifa_prefered = 0xffffffffu, .ifa_valid = 0xffffffffu};
    if (family == AF_INET) {
        struct in_addr a = {htonl(INADDR_LOOPBACK)};
        ifa->ifa_prefixlen = 8;
        netlink_buf_attr(b, off, IFA_ADDRESS, &a, sizeof(a));
        netlink_buf_attr(b, off, IFA_LOCAL, &a, sizeof(a));
        netlink_buf_attr(b, off, IFA_LABEL, LO_NAME, sizeof(LO_NAME));
        attr_u32(b, off, IFA_FLAGS, IFA_F_PERMANENT);
        netlink_buf_attr(b, off, IFA_CACHEINFO, &ci, sizeof(ci));
    } else {
        ifa->ifa_prefixlen = 128;
        netlink_buf_attr(b, off, IFA_ADDRESS, &in6addr_loopback, sizeof(in6addr_loopback));
        netlink_buf_attr(b, off, IFA_CACHEINFO, &ci, sizeof(ci));
        attr_u32(b, off, IFA_FLAGS, IFA_F_PERMANENT);
    }
}

/* The IFLA_IFNAME attribute of a RTM_GETLINK request, or NULL. */
static const char *find_ifname(const struct nlmsghdr *h, size_t *len)
{
    size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct ifinfomsg));
    while (off + sizeof(struct rtattr) <= h->nlmsg_len) {
        const struct rtattr *a = (const struct rtattr *)((const char *)h + off);
        if (a->rta_len < sizeof(*a) || off + a->rta_len > h->nlmsg_len)
            break;
        if (a->rta_type == IFLA_IFNAME) {
            *len = a->rta_len - RTA_LENGTH(0);
            return RTA_DATA(a);
        }
        off += RTA_ALIGN(a->rta_len);
    }
    return NULL;
}

/* rtnl_getlink: by index, else by IFLA_IFNAME. */
static int get_link(const struct nlmsghdr *h, uint32_t portid, struct netlink_buf *out)
{
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
        return -EINVAL;
    const struct ifinfomsg *ifi = NLMSG_DATA(h);
    if (ifi->ifi_index > 0) {
        if (ifi->ifi_index != LO_INDEX)
            return -ENODEV;
    } else {
        size_t len;
        const char *name = find_ifname(h, &len);
        if (!name)
            return -EINVAL;
        if (strnlen(name, len) != strlen(LO_NAME) || memcmp(name, LO_NAME, strlen(LO_NAME)))
            return -ENODEV;
    }
    put_link(out, 0, h->nlmsg_seq, portid);
    return 0;
}

enum netlink_route_result netlink_route_request(const struct nlmsghdr *h, uint32_t portid,
                                                bool admin, struct netlink_buf *out, int *err)
{
    *err = 0;
    if (h->nlmsg_type > RTM_MAX) {
        *err = -EOPNOTSUPP;
        return NETLINK_ROUTE_ACK;
    }
    /* Every message carries at least its family byte; a shorter one is ignored. */
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtgenmsg)))
        return NETLINK_ROUTE_ACK;
    int family = ((const struct rtgenmsg *)NLMSG_DATA(h))->rtgen_family;
    int kind = (h->nlmsg_type - RTM_BASE) & 3; /* new, del, get, set */
    if (kind != 2) {
        *err = admin ? -EOPNOTSUPP : -EPERM;
        return NETLINK_ROUTE_ACK;
    }
    if (h->nlmsg_flags & NLM_F_DUMP) {
        switch (h->nlmsg_type) {
        case RTM_GETLINK:
            put_link(out, NLM_F_MULTI, h->nlmsg_seq, portid);
            break;
        case RTM_GETADDR:
            /* rtnl_dump_all walks the families in order; one family dumps only its own. */
            if (family != AF_INET6)
                put_addr(out, AF_INET, NLM_F_MULTI, h->nlmsg_seq, portid);
            if (family != AF_INET)
                put_addr(out, AF_INET6, NLM_F_MULTI, h->nlmsg_seq, portid);
            break;
        case RTM_GETROUTE:
        case RTM_GETNEIGH:
        case RTM_GETRULE:
            break; /* no tables the sandbox exposes: an empty dump */
        default:
            *err = -EOPNOTSUPP;
            return NETLINK_ROUTE_ACK;
        }
        if (out->failed)
            *err = -ENOBUFS;
        return NETLINK_ROUTE_DUMP;
    }
    if (h->nlmsg_type == RTM_GETLINK)
        *err = get_link(h, portid, out);
    else
        *err = -EOPNOTSUPP; /* only IPv6's RTM_GETADDR has a doit; no single gets here */
    if (out->failed)
        *err = -ENOBUFS;
    return NETLINK_ROUTE_ACK;
}
