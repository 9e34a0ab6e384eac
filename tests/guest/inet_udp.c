/* Loopback UDP over AF_INET and AF_INET6, and IPv6 TCP: message boundaries, MSG_TRUNC and
 * MSG_PEEK, sender addresses, connect() as default peer (and the only source), AF_UNSPEC to
 * disconnect, FIONREAD, EMSGSIZE, EDESTADDRREQ, dual-stack sockets with v4-mapped addresses and
 * IPV6_V6ONLY, address lengths. Ports are ephemeral and never printed. */
#include "guest.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static int udp4(struct sockaddr_in *a)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(fd >= 0, "socket");
    memset(a, 0, sizeof(*a));
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(fd, (struct sockaddr *)a, sizeof(*a)) == 0, "bind");
    socklen_t len = sizeof(*a);
    CHECK(getsockname(fd, (struct sockaddr *)a, &len) == 0, "getsockname");
    return fd;
}

static unsigned poll_mask(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
    CHECK(poll(&p, 1, 0) >= 0, "poll");
    return (unsigned)p.revents;
}

static void test_udp4(void)
{
    struct sockaddr_in sa, ca, from;
    int s = udp4(&sa), c = udp4(&ca);
    char buf[128];
    printf("poll empty: %s%s\n", poll_mask(s) & POLLIN ? "IN " : "",
           poll_mask(s) & POLLOUT ? "OUT" : "");
    EXPECT_ERRNO("recv empty", recv(s, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
    EXPECT_ERRNO("send unconnected", send(c, "x", 1, 0), EDESTADDRREQ);
    EXPECT_RET("sendto 1", sendto(c, "first", 5, 0, (struct sockaddr *)&sa, sizeof(sa)), 5);
    EXPECT_RET("sendto 2", sendto(c, "second!", 7, 0, (struct sockaddr *)&sa, sizeof(sa)), 7);
    EXPECT_RET("sendto empty", sendto(c, "", 0, 0, (struct sockaddr *)&sa, sizeof(sa)), 0);
    printf("poll queued: %s\n", poll_mask(s) & POLLIN ? "IN" : "-");
    int avail = -1;
    EXPECT_RET("FIONREAD", ioctl(s, FIONREAD, &avail), 0);
    printf("fionread=%d\n", avail);
    socklen_t fl = sizeof(from);
    EXPECT_RET("peek", recvfrom(s, buf, 3, MSG_PEEK, (struct sockaddr *)&from, &fl), 3);
    printf("peek %.3s from len %u client: %s\n", buf, fl,
           from.sin_port == ca.sin_port && from.sin_addr.s_addr == ca.sin_addr.s_addr ? "yes"
                                                                                     : "no");
    struct iovec iov = {buf, 3};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    EXPECT_RET("recvmsg truncated", recvmsg(s, &mh, 0), 3);
    printf("msg_flags trunc: %s\n", mh.msg_flags & MSG_TRUNC ? "yes" : "no");
    EXPECT_RET("recv MSG_TRUNC", recv(s, buf, 2, MSG_TRUNC), 7);
    EXPECT_RET("recv empty datagram", recv(s, buf, sizeof(buf), 0), 0);

    /* connect: the default peer, and the only source accepted. */
    EXPECT_RET("connect", connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
    struct sockaddr_in peer;
    socklen_t pl = sizeof(peer);
    EXPECT_RET("getpeername", getpeername(c, (struct sockaddr *)&peer, &pl), 0);
    printf("peer len %u is server: %s\n", pl, peer.sin_port == sa.sin_port ? "yes" : "no");
    EXPECT_RET("send connected", send(c, "hi", 2, 0), 2);
    EXPECT_RET("recv", recv(s, buf, sizeof(buf), 0), 2);
    struct sockaddr_in oa;
    int other = udp4(&oa);
    EXPECT_RET("connect server to client", connect(s, (struct sockaddr *)&ca, sizeof(ca)), 0);
    EXPECT_RET("other sends", sendto(other, "no", 2, 0, (struct sockaddr *)&sa, sizeof(sa)), 2);
    EXPECT_RET("client sends", send(c, "yes", 3, 0), 3);
    EXPECT_RET("server gets only client", recv(s, buf, sizeof(buf), 0), 3);
    printf("got %.3s\n", buf);
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    EXPECT_RET("disconnect", connect(s, &unspec, sizeof(unspec)), 0);
    pl = sizeof(peer);
    EXPECT_ERRNO("getpeername after disconnect", getpeername(s, (struct sockaddr *)&peer, &pl),
                 ENOTCONN);
    EXPECT_RET("shutdown connected", shutdown(c, SHUT_RD), 0);
    EXPECT_RET("recv after shutdown", recv(c, buf, sizeof(buf), 0), 0);
    EXPECT_ERRNO("shutdown unconnected", shutdown(other, SHUT_RD), ENOTCONN);
    /* The disconnect gave back the port bind(2) chose (port 0 takes no SOCK_BINDPORT_LOCK). */
    pl = sizeof(peer);
    EXPECT_RET("getsockname after disconnect", getsockname(s, (struct sockaddr *)&peer, &pl), 0);
    printf("port after disconnect: %d addr %s\n", ntohs(peer.sin_port), inet_ntoa(peer.sin_addr));
    close(s);
    s = udp4(&sa);

    static char big[70000];
    EXPECT_ERRNO("sendto too big", sendto(other, big, sizeof(big), 0, (struct sockaddr *)&sa,
                                          sizeof(sa)), EMSGSIZE);
    EXPECT_RET("sendto max", sendto(other, big, 65507, 0, (struct sockaddr *)&sa, sizeof(sa)),
               65507);
    EXPECT_RET("recv max", recv(s, big, sizeof(big), 0), 65507);
    struct sockaddr_in zero = sa;
    zero.sin_port = 0;
    EXPECT_ERRNO("sendto port 0", sendto(other, "x", 1, 0, (struct sockaddr *)&zero,
                                         sizeof(zero)), EINVAL);
    EXPECT_ERRNO("listen udp", listen(s, 1), EOPNOTSUPP);
    EXPECT_ERRNO("bind taken port", bind(socket(AF_INET, SOCK_DGRAM, 0), (struct sockaddr *)&sa,
                                         sizeof(sa)), EADDRINUSE);

    /* An unbound socket is bound on its first send; SO_REUSEADDR shares UDP ports. */
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ua;
    socklen_t ul = sizeof(ua);
    EXPECT_RET("send unbound", sendto(u, "auto", 4, 0, (struct sockaddr *)&sa, sizeof(sa)), 4);
    EXPECT_RET("getsockname autobound", getsockname(u, (struct sockaddr *)&ua, &ul), 0);
    printf("autobound: addr %s port ephemeral %s\n", inet_ntoa(ua.sin_addr),
           ntohs(ua.sin_port) >= 32768 ? "yes" : "no");
    fl = sizeof(from);
    EXPECT_RET("recv from autobound", recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from,
                                               &fl), 4);
    printf("from autobound port matches: %s addr %s\n",
           from.sin_port == ua.sin_port ? "yes" : "no", inet_ntoa(from.sin_addr));
    int one = 1, r1 = socket(AF_INET, SOCK_DGRAM, 0), r2 = socket(AF_INET, SOCK_DGRAM, 0);
    setsockopt(r1, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(r2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in ra;
    memset(&ra, 0, sizeof(ra));
    ra.sin_family = AF_INET;
    EXPECT_RET("bind reuse any", bind(r1, (struct sockaddr *)&ra, sizeof(ra)), 0);
    socklen_t rl = sizeof(ra);
    getsockname(r1, (struct sockaddr *)&ra, &rl);
    printf("bound any: %s\n", inet_ntoa(ra.sin_addr));
    EXPECT_RET("bind reuse second", bind(r2, (struct sockaddr *)&ra, sizeof(ra)), 0);
    int v = 0;
    socklen_t vl = sizeof(v);
    setsockopt(r1, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
    getsockopt(r1, SOL_SOCKET, SO_BROADCAST, &v, &vl);
    printf("SO_BROADCAST=%d\n", v);
    getsockopt(r1, SOL_SOCKET, SO_TYPE, &v, &vl);
    printf("SO_TYPE=%d\n", v);
    getsockopt(r1, SOL_SOCKET, SO_PROTOCOL, &v, &vl);
    printf("SO_PROTOCOL=%d\n", v);
    getsockopt(r1, SOL_SOCKET, SO_RCVBUF, &v, &vl);
    printf("SO_RCVBUF=%d\n", v);
    close(r1);
    close(r2);
    close(u);
    close(other);
    close(s);
    close(c);
}

static int udp6(const char *addr, struct sockaddr_in6 *a, int v6only)
{
    int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    CHECK(fd >= 0, "socket6");
    if (v6only >= 0)
        CHECK(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) == 0, "v6only");
    memset(a, 0, sizeof(*a));
    a->sin6_family = AF_INET6;
    inet_pton(AF_INET6, addr, &a->sin6_addr);
    CHECK(bind(fd, (struct sockaddr *)a, sizeof(*a)) == 0, "bind6 %s", addr);
    socklen_t len = sizeof(*a);
    CHECK(getsockname(fd, (struct sockaddr *)a, &len) == 0, "getsockname6");
    return fd;
}

static void print6(const char *what, const struct sockaddr_in6 *a, socklen_t len)
{
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
    printf("%s: len %u family %d addr %s\n", what, len, a->sin6_family, text);
}

static void test_udp6(void)
{
    struct sockaddr_in6 sa, ca, from;
    int s = udp6("::1", &sa, -1), c = udp6("::1", &ca, -1);
    print6("bound ::1", &sa, sizeof(sa));
    char buf[64];
    EXPECT_RET("sendto6", sendto(c, "six", 3, 0, (struct sockaddr *)&sa, sizeof(sa)), 3);
    socklen_t fl = sizeof(from);
    EXPECT_RET("recvfrom6", recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 3);
    print6("from", &from, fl);

    /* A dual-stack socket on :: hears IPv4 with v4-mapped sources. */
    struct sockaddr_in6 da;
    int d = udp6("::", &da, 0);
    int v = -1;
    socklen_t vl = sizeof(v);
    getsockopt(d, IPPROTO_IPV6, IPV6_V6ONLY, &v, &vl);
    printf("v6only=%d\n", v);
    EXPECT_ERRNO("v6only after bind", setsockopt(d, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof(v)),
                 EINVAL);
    int c4 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to4 = {.sin_family = AF_INET, .sin_port = da.sin6_port};
    to4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_RET("v4 to dual-stack", sendto(c4, "four", 4, 0, (struct sockaddr *)&to4,
                                          sizeof(to4)), 4);
    fl = sizeof(from);
    EXPECT_RET("dual-stack recv", recvfrom(d, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl),
               4);
    print6("v4-mapped from", &from, fl);
    /* And sends to a v4-mapped address. */
    struct sockaddr_in c4a;
    socklen_t c4l = sizeof(c4a);
    getsockname(c4, (struct sockaddr *)&c4a, &c4l);
    struct sockaddr_in6 mapped = {.sin6_family = AF_INET6, .sin6_port = c4a.sin_port};
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &mapped.sin6_addr);
    EXPECT_RET("dual-stack to v4", sendto(d, "back", 4, 0, (struct sockaddr *)&mapped,
                                          sizeof(mapped)), 4);
    EXPECT_RET("v4 recv", recv(c4, buf, sizeof(buf), 0), 4);
    close(c4);

    /* A v6-only socket takes no v4-mapped address. */
    int o = socket(AF_INET6, SOCK_DGRAM, 0);
    int one = 1;
    setsockopt(o, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    EXPECT_ERRNO("v6only bind mapped", bind(o, (struct sockaddr *)&mapped, sizeof(mapped)),
                 EINVAL);
    struct sockaddr_in6 bad = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "2001:db8::1", &bad.sin6_addr);
    EXPECT_ERRNO("bind6 non-local", bind(o, (struct sockaddr *)&bad, sizeof(bad)), EADDRNOTAVAIL);
    EXPECT_ERRNO("bind6 short", bind(o, (struct sockaddr *)&sa, 20), EINVAL);
    close(o);
    close(d);
    close(s);
    close(c);
}

static void test_tcp6(void)
{
    struct sockaddr_in6 la = {.sin6_family = AF_INET6};
    int l = socket(AF_INET6, SOCK_STREAM, 0);
    CHECK(l >= 0, "socket tcp6");
    EXPECT_RET("bind6 any", bind(l, (struct sockaddr *)&la, sizeof(la)), 0);
    EXPECT_RET("listen6", listen(l, 4), 0);
    socklen_t len = sizeof(la);
    getsockname(l, (struct sockaddr *)&la, &len);
    print6("listener", &la, len);
    struct sockaddr_in6 to = la;
    inet_pton(AF_INET6, "::1", &to.sin6_addr);
    int c = socket(AF_INET6, SOCK_STREAM, 0);
    EXPECT_RET("connect ::1", connect(c, (struct sockaddr *)&to, sizeof(to)), 0);
    struct sockaddr_in6 peer;
    len = sizeof(peer);
    int s = accept(l, (struct sockaddr *)&peer, &len);
    CHECK(s >= 0, "accept6");
    print6("accepted peer", &peer, len);
    EXPECT_RET("send6", send(c, "v6", 2, 0), 2);
    char buf[8];
    EXPECT_RET("recv6", recv(s, buf, sizeof(buf), 0), 2);
    close(s);
    close(c);

    /* IPv4 reaches the dual-stack listener. */
    int c4 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to4 = {.sin_family = AF_INET, .sin_port = la.sin6_port};
    to4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_RET("connect v4 to dual-stack", connect(c4, (struct sockaddr *)&to4, sizeof(to4)), 0);
    len = sizeof(peer);
    s = accept(l, (struct sockaddr *)&peer, &len);
    CHECK(s >= 0, "accept mapped");
    print6("accepted v4 peer", &peer, len);
    len = sizeof(peer);
    getsockname(s, (struct sockaddr *)&peer, &len);
    print6("accepted v4 local", &peer, len);
    close(s);
    close(c4);
    close(l);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    test_udp4();
    test_udp6();
    test_tcp6();
    return guest_ok();
}
