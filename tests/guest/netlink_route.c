/* NETLINK_ROUTE as glibc's if_nameindex(3) and getaddrinfo(3) use it: bind/getsockname port
 * ids, RTM_GETLINK and RTM_GETADDR dumps ending in NLMSG_DONE, RTM_GETLINK by index and by name,
 * error and NLM_F_ACK acks, plus if_nameindex/if_nametoindex/if_indextoname. Natively it runs in
 * a network namespace of its own with lo up, which is what the sandbox shows; only lo's facts
 * are printed. */
#include "guest.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static char buf[65536];

static int nl_open(void)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    CHECK(fd >= 0, "socket: %s", guest_errno_name(errno));
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind");
    return fd;
}

static void nl_send(int fd, uint16_t type, uint16_t flags, uint32_t seq, const void *payload,
                    size_t len)
{
    char req[256];
    struct nlmsghdr *h = (struct nlmsghdr *)req;
    memset(req, 0, sizeof(req));
    h->nlmsg_len = NLMSG_LENGTH(len);
    h->nlmsg_type = type;
    h->nlmsg_flags = flags;
    h->nlmsg_seq = seq;
    memcpy(NLMSG_DATA(h), payload, len);
    struct sockaddr_nl to = {.nl_family = AF_NETLINK};
    CHECK(sendto(fd, req, h->nlmsg_len, 0, (struct sockaddr *)&to, sizeof(to)) ==
              (ssize_t)h->nlmsg_len,
          "sendto");
}

static void print_link(struct nlmsghdr *h)
{
    struct ifinfomsg *ifi = NLMSG_DATA(h);
    if (ifi->ifi_index != 1)
        return;
    printf("  link index=%d type=%u flags=%#x", ifi->ifi_index, ifi->ifi_type, ifi->ifi_flags);
    int len = (int)IFLA_PAYLOAD(h);
    for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == IFLA_IFNAME)
            printf(" name=%s", (char *)RTA_DATA(a));
        else if (a->rta_type == IFLA_MTU)
            printf(" mtu=%u", *(unsigned *)RTA_DATA(a));
        else if (a->rta_type == IFLA_ADDRESS)
            printf(" hwaddr_len=%zu", (size_t)RTA_PAYLOAD(a));
    }
    printf("\n");
}

static void print_addr(struct nlmsghdr *h)
{
    struct ifaddrmsg *ifa = NLMSG_DATA(h);
    if (ifa->ifa_index != 1)
        return;
    printf("  addr family=%u prefix=%u scope=%u", ifa->ifa_family, ifa->ifa_prefixlen,
           ifa->ifa_scope);
    int len = (int)IFA_PAYLOAD(h);
    for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        char text[INET6_ADDRSTRLEN];
        if (a->rta_type == IFA_ADDRESS || a->rta_type == IFA_LOCAL) {
            inet_ntop(ifa->ifa_family, RTA_DATA(a), text, sizeof(text));
            printf(" %s=%s", a->rta_type == IFA_ADDRESS ? "address" : "local", text);
        } else if (a->rta_type == IFA_LABEL) {
            printf(" label=%s", (char *)RTA_DATA(a));
        }
    }
    printf("\n");
}

/* Reads replies until NLMSG_DONE or an NLMSG_ERROR; prints them. */
static void nl_read(const char *what, int fd, uint32_t seq, uint32_t portid)
{
    printf("%s:\n", what);
    for (;;) {
        struct sockaddr_nl from;
        struct iovec iov = {buf, sizeof(buf)};
        struct msghdr mh = {
            .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n = recvmsg(fd, &mh, 0);
        CHECK(n > 0, "recvmsg: %s", guest_errno_name(errno));
        CHECK(mh.msg_namelen == sizeof(from) && from.nl_pid == 0, "from the kernel");
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
             h = NLMSG_NEXT(h, n)) {
            CHECK(h->nlmsg_seq == seq && h->nlmsg_pid == portid, "seq %u pid %u", h->nlmsg_seq,
                  h->nlmsg_pid);
            if (h->nlmsg_type == NLMSG_DONE) {
                printf("  done len=%u flags=%#x\n", h->nlmsg_len, h->nlmsg_flags);
                return;
            }
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *e = NLMSG_DATA(h);
                printf("  error %s len=%u flags=%#x msg.type=%u msg.len=%u\n",
                       guest_errno_name(-e->error), h->nlmsg_len, h->nlmsg_flags, e->msg.nlmsg_type,
                       e->msg.nlmsg_len);
                return;
            }
            printf("  message type=%u flags=%#x\n", h->nlmsg_type, h->nlmsg_flags);
            if (h->nlmsg_type == RTM_NEWLINK)
                print_link(h);
            else if (h->nlmsg_type == RTM_NEWADDR)
                print_addr(h);
            if (!(h->nlmsg_flags & NLM_F_MULTI))
                return;
        }
    }
}

static void isolate(void)
{
    /* Natively: our own network namespace with lo up. The sandbox's is its own already (ENOSYS
     * there); elsewhere, stay put and bring nothing up. */
    if (unshare(CLONE_NEWNET) != 0)
        return;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq r;
    memset(&r, 0, sizeof(r));
    strcpy(r.ifr_name, "lo");
    if (fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &r) == 0) {
        r.ifr_flags |= IFF_UP;
        ioctl(fd, SIOCSIFFLAGS, &r);
    }
    if (fd >= 0)
        close(fd);
}

int main(void)
{
    isolate();
    EXPECT_ERRNO("netlink stream", socket(AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE), ESOCKTNOSUPPORT);
    int fd = nl_open();
    struct sockaddr_nl me;
    socklen_t ml = sizeof(me);
    CHECK(getsockname(fd, (struct sockaddr *)&me, &ml) == 0, "getsockname");
    EXPECT_FACT("bound to the pid", me.nl_pid == (uint32_t)getpid() && ml == sizeof(me));
    int fd2 = nl_open();
    struct sockaddr_nl me2;
    ml = sizeof(me2);
    CHECK(getsockname(fd2, (struct sockaddr *)&me2, &ml) == 0, "getsockname");
    EXPECT_FACT("second socket another id", me2.nl_pid != me.nl_pid && me2.nl_pid != 0);
    struct sockaddr_nl taken = {.nl_family = AF_NETLINK, .nl_pid = me.nl_pid};
    int fd3 = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    EXPECT_ERRNO("bind taken id", bind(fd3, (struct sockaddr *)&taken, sizeof(taken)), EADDRINUSE);
    EXPECT_ERRNO("bind short", bind(fd3, (struct sockaddr *)&taken, 4), EINVAL);

    struct rtgenmsg gen = {.rtgen_family = AF_UNSPEC};
    nl_send(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1, &gen, sizeof(gen));
    nl_read("dump links", fd, 1, me.nl_pid);
    nl_send(fd, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 2, &gen, sizeof(gen));
    nl_read("dump addrs", fd, 2, me.nl_pid);
    gen.rtgen_family = AF_INET6;
    nl_send(fd, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 3, &gen, sizeof(gen));
    nl_read("dump inet6 addrs", fd, 3, me.nl_pid);

    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = 1};
    nl_send(fd, RTM_GETLINK, NLM_F_REQUEST, 4, &ifi, sizeof(ifi));
    nl_read("get link", fd, 4, me.nl_pid);
    ifi.ifi_index = 4242;
    nl_send(fd, RTM_GETLINK, NLM_F_REQUEST, 5, &ifi, sizeof(ifi));
    nl_read("get link 4242", fd, 5, me.nl_pid);
    ifi.ifi_index = 1;
    nl_send(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 6, &ifi, sizeof(ifi));
    nl_read("get link with ack", fd, 6, me.nl_pid);
    nl_read("its ack", fd, 6, me.nl_pid);
    nl_send(fd, 200, NLM_F_REQUEST, 7, &gen, sizeof(gen));
    nl_read("type 200", fd, 7, me.nl_pid);
    nl_send(fd, RTM_GETLINK, NLM_F_DUMP, 8, &gen, sizeof(gen));
    char c;
    EXPECT_ERRNO("no request flag, no reply", recv(fd, &c, 1, MSG_DONTWAIT), EAGAIN);

    struct if_nameindex *ni = if_nameindex();
    CHECK(ni != NULL, "if_nameindex: %s", guest_errno_name(errno));
    for (struct if_nameindex *p = ni; p->if_index; p++)
        if (p->if_index == 1)
            printf("if_nameindex: %u %s\n", p->if_index, p->if_name);
    if_freenameindex(ni);
    printf("if_nametoindex(lo)=%u\n", if_nametoindex("lo"));
    char name[IF_NAMESIZE];
    printf("if_indextoname(1)=%s\n", if_indextoname(1, name) ? name : "NULL");
    close(fd);
    close(fd2);
    close(fd3);
    return guest_ok();
}
