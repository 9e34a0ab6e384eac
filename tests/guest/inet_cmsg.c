/* Loopback UDP ancillary data: IPV6_RECVHOPLIMIT / IPV6_RECVTCLASS / IPV6_RECVPKTINFO and
 * IP_RECVTTL / IP_RECVTOS / IP_PKTINFO on receive, IPV6_HOPLIMIT / IPV6_TCLASS / IP_TTL / IP_TOS
 * as sendmsg control messages (with their EINVAL rules), MSG_CTRUNC truncation, and UDP-Lite's
 * checksum coverage options. Prints every control message as level/type/data. */
#include "guest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#ifndef UDPLITE_SEND_CSCOV
#define UDPLITE_SEND_CSCOV 10
#define UDPLITE_RECV_CSCOV 11
#endif
#ifndef SOL_UDPLITE
#define SOL_UDPLITE 136
#endif

static int bound(int family, int proto, struct sockaddr_storage *a, socklen_t *len)
{
    int fd = socket(family, SOCK_DGRAM, proto);
    CHECK(fd >= 0, "socket");
    memset(a, 0, sizeof(*a));
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)a;
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *len = sizeof(*in);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)a;
        in6->sin6_family = AF_INET6;
        in6->sin6_addr = in6addr_loopback;
        *len = sizeof(*in6);
    }
    CHECK(bind(fd, (struct sockaddr *)a, *len) == 0, "bind");
    CHECK(getsockname(fd, (struct sockaddr *)a, len) == 0, "getsockname");
    return fd;
}

static void set_int(int fd, int level, int name, int v)
{
    CHECK(setsockopt(fd, level, name, &v, sizeof(v)) == 0, "setsockopt %d/%d", level, name);
}

/* Sends "data" with control messages of int values (len: each one's data length). */
static long send_ints(int fd, const struct sockaddr_storage *to, socklen_t tolen, int n,
                      const int *levels, const int *types, const int *vals, const size_t *lens)
{
    char ctl[256];
    size_t off = 0;
    memset(ctl, 0, sizeof(ctl));
    for (int i = 0; i < n; i++) {
        struct cmsghdr h = {
            .cmsg_len = CMSG_LEN(lens[i]), .cmsg_level = levels[i], .cmsg_type = types[i]};
        memcpy(ctl + off, &h, sizeof(h));
        memcpy(ctl + off + sizeof(h), &vals[i], lens[i] < sizeof(int) ? lens[i] : sizeof(int));
        off += CMSG_SPACE(lens[i]);
    }
    struct iovec iov = {"data", 4};
    struct msghdr mh = {.msg_name = (void *)to,
                        .msg_namelen = tolen,
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = n ? ctl : NULL,
                        .msg_controllen = off};
    return sendmsg(fd, &mh, 0);
}

/* Receives one datagram with `ctl_len` bytes of control space and prints what came. */
static void recv_print(const char *what, int fd, size_t ctl_len)
{
    char buf[16], ctl[512];
    struct iovec iov = {buf, sizeof(buf)};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = ctl_len ? ctl : NULL,
                        .msg_controllen = ctl_len};
    memset(ctl, 0, sizeof(ctl));
    long n = recvmsg(fd, &mh, 0);
    CHECK(n == 4, "recvmsg: %ld %s", n, guest_errno_name(errno));
    printf("%s: controllen=%zu ctrunc=%s\n", what, (size_t)mh.msg_controllen,
           mh.msg_flags & MSG_CTRUNC ? "yes" : "no");
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        printf("  cmsg level=%d type=%d len=%zu data=", c->cmsg_level, c->cmsg_type,
               (size_t)c->cmsg_len);
        size_t dlen = c->cmsg_len - CMSG_LEN(0);
        /* PKTINFO's address and index are stable on loopback; print the bytes. */
        for (size_t i = 0; i < dlen && CMSG_LEN(0) + i < mh.msg_controllen; i++)
            printf("%02x", CMSG_DATA(c)[i]);
        printf("\n");
    }
}

static void test_ipv6(int proto)
{
    struct sockaddr_storage sa, ca;
    socklen_t sl, cl;
    int s = bound(AF_INET6, proto, &sa, &sl), c = bound(AF_INET6, proto, &ca, &cl);
    int v = -2;
    socklen_t vl = sizeof(v);

    CHECK(getsockopt(s, IPPROTO_IPV6, IPV6_TCLASS, &v, &vl) == 0, "get tclass");
    printf("default tclass %d\n", v);
    EXPECT_ERRNO("tclass 256", setsockopt(c, IPPROTO_IPV6, IPV6_TCLASS, &(int){256}, 4), EINVAL);

    /* Nothing asked for: no control data. */
    EXPECT_RET("send plain", sendto(c, "data", 4, 0, (struct sockaddr *)&sa, sl), 4);
    recv_print("plain", s, 64);

    set_int(s, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1);
    vl = sizeof(v);
    CHECK(getsockopt(s, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &v, &vl) == 0, "get recvhoplimit");
    printf("recvhoplimit %d\n", v);
    EXPECT_RET("send hop", sendto(c, "data", 4, 0, (struct sockaddr *)&sa, sl), 4);
    recv_print("hop default", s, 64);
    set_int(c, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 9);
    EXPECT_RET("send hop 9", sendto(c, "data", 4, 0, (struct sockaddr *)&sa, sl), 4);
    recv_print("hop unicast 9", s, 64);

    set_int(s, IPPROTO_IPV6, IPV6_RECVTCLASS, 1);
    set_int(c, IPPROTO_IPV6, IPV6_TCLASS, 12);
    int levels[2] = {IPPROTO_IPV6, IPPROTO_IPV6};
    int types[2] = {IPV6_TCLASS, IPV6_HOPLIMIT};
    int vals[2] = {-1, 2};
    size_t lens[2] = {4, 4};
    EXPECT_RET("send tclass -1 hop 2", send_ints(c, &sa, sl, 2, levels, types, vals, lens), 4);
    recv_print("both", s, 64);
    vals[0] = 0x28;
    vals[1] = -1;
    EXPECT_RET("send tclass 0x28 hop -1", send_ints(c, &sa, sl, 2, levels, types, vals, lens), 4);
    recv_print("both cmsg", s, CMSG_SPACE(4) * 2);

    /* Truncation: no room for a header; a first whole message; the second's data cut. */
    EXPECT_RET("send", sendto(c, "data", 4, 0, (struct sockaddr *)&sa, sl), 4);
    recv_print("trunc none", s, 0);
    EXPECT_RET("send", sendto(c, "data", 4, 0, (struct sockaddr *)&sa, sl), 4);
    recv_print("trunc header", s, CMSG_LEN(0) - 1);
    EXPECT_RET("send", sendto(c, "data", 4, 0, (struct sockaddr *)&sa, sl), 4);
    recv_print("trunc in data", s, CMSG_LEN(4) - 1);
    EXPECT_RET("send", sendto(c, "data", 4, 0, (struct sockaddr *)&sa, sl), 4);
    recv_print("trunc second", s, CMSG_SPACE(4) + CMSG_LEN(0) - 1);
    EXPECT_RET("send", sendto(c, "data", 4, 0, (struct sockaddr *)&sa, sl), 4);
    recv_print("trunc second data", s, CMSG_SPACE(4) + CMSG_LEN(4) - 1);

    /* Bad control messages. */
    lens[0] = 5;
    EXPECT_ERRNO("tclass len 5", send_ints(c, &sa, sl, 2, levels, types, vals, lens), EINVAL);
    lens[0] = 4;
    vals[0] = 256;
    EXPECT_ERRNO("tclass 256 cmsg", send_ints(c, &sa, sl, 1, levels, types, vals, lens), EINVAL);
    vals[1] = -2;
    EXPECT_ERRNO("hop -2", send_ints(c, &sa, sl, 1, levels + 1, types + 1, vals + 1, lens), EINVAL);
    int bad_type = 1234;
    EXPECT_ERRNO("unknown type", send_ints(c, &sa, sl, 1, levels, &bad_type, vals, lens), EINVAL);
    int ip_level = IPPROTO_IP, ttl = IP_TTL, zero = 0;
    EXPECT_RET("SOL_IP on v6 ignored", send_ints(c, &sa, sl, 1, &ip_level, &ttl, &zero, lens), 4);
    recv_print("ignored", s, 64);

    set_int(s, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
    EXPECT_RET("send pktinfo", sendto(c, "data", 4, 0, (struct sockaddr *)&sa, sl), 4);
    recv_print("pktinfo", s, 128);
    close(s);
    close(c);
}

static void test_ipv4(void)
{
    struct sockaddr_storage sa, ca;
    socklen_t sl, cl;
    int s = bound(AF_INET, 0, &sa, &sl), c = bound(AF_INET, 0, &ca, &cl);

    set_int(s, IPPROTO_IP, IP_RECVTTL, 1);
    set_int(s, IPPROTO_IP, IP_RECVTOS, 1);
    set_int(s, IPPROTO_IP, IP_PKTINFO, 1);
    EXPECT_RET("v4 send", sendto(c, "data", 4, 0, (struct sockaddr *)&sa, sl), 4);
    recv_print("v4 default", s, 128);
    int levels[2] = {IPPROTO_IP, IPPROTO_IP};
    int types[2] = {IP_TTL, IP_TOS};
    int vals[2] = {7, 0x10};
    size_t lens[2] = {4, 1};
    EXPECT_RET("v4 ttl 7 tos 0x10", send_ints(c, &sa, sl, 2, levels, types, vals, lens), 4);
    recv_print("v4 cmsg", s, 128);
    vals[0] = 0;
    EXPECT_ERRNO("v4 ttl 0", send_ints(c, &sa, sl, 1, levels, types, vals, lens), EINVAL);
    lens[1] = 2;
    EXPECT_ERRNO("v4 tos len 2",
                 send_ints(c, &sa, sl, 1, levels + 1, types + 1, vals + 1, lens + 1), EINVAL);
    close(s);
    close(c);
}

static void test_udplite(void)
{
    int l = socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDPLITE);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    int v = 0;
    socklen_t vl = sizeof(v);
    CHECK(l >= 0 && u >= 0, "socket");
    CHECK(getsockopt(l, SOL_UDPLITE, UDPLITE_SEND_CSCOV, &v, &vl) == 0, "get cscov");
    printf("udplite send cscov %d\n", v);
    set_int(l, SOL_UDPLITE, UDPLITE_SEND_CSCOV, 3);
    set_int(l, SOL_UDPLITE, UDPLITE_RECV_CSCOV, 100000);
    CHECK(getsockopt(l, SOL_UDPLITE, UDPLITE_SEND_CSCOV, &v, &vl) == 0, "get cscov");
    printf("udplite send cscov after 3: %d\n", v);
    CHECK(getsockopt(l, SOL_UDPLITE, UDPLITE_RECV_CSCOV, &v, &vl) == 0, "get cscov");
    printf("udplite recv cscov after 100000: %d\n", v);
    EXPECT_ERRNO("udp cscov", setsockopt(u, IPPROTO_UDP, UDPLITE_SEND_CSCOV, &v, sizeof(v)),
                 ENOPROTOOPT);
    close(l);
    close(u);
}

int main(void)
{
    test_ipv6(0);
    test_ipv6(IPPROTO_UDPLITE);
    test_ipv4();
    test_udplite();
    return guest_ok();
}
