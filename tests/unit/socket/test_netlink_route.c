/* Unit tests for sentry/socket/netlink's route protocol (netlink_route_request): what each
 * request answers for lo, which requests are refused and with what error, and the layout of the
 * replies (alignment, attributes). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/socket/netlink/netlink_internal.h"

struct request {
    struct nlmsghdr h;
    union {
        struct rtgenmsg gen;
        struct ifinfomsg ifi;
    } u;
    char attrs[32];
};

static void request_init(struct request *r, uint16_t type, uint16_t flags, size_t payload)
{
    memset(r, 0, sizeof(*r));
    r->h.nlmsg_len = NLMSG_LENGTH(payload);
    r->h.nlmsg_type = type;
    r->h.nlmsg_flags = flags;
    r->h.nlmsg_seq = 77;
}

/* Counts the messages in the buffer of each type; checks seq and pid on all of them. */
static size_t count_type(const struct netlink_buf *b, uint16_t type)
{
    size_t n = 0, left = b->len;
    for (const struct nlmsghdr *h = (const struct nlmsghdr *)b->data; NLMSG_OK(h, left);
         h = NLMSG_NEXT(h, left)) {
        assert_int_equal(h->nlmsg_seq, 77);
        assert_int_equal(h->nlmsg_pid, 4242);
        if (h->nlmsg_type == type)
            n++;
    }
    assert_int_equal(left, 0); /* every message whole and aligned */
    return n;
}

static const struct rtattr *find_attr(const struct nlmsghdr *h, size_t fixed, uint16_t type)
{
    int len = (int)(h->nlmsg_len - NLMSG_LENGTH(fixed));
    for (const struct rtattr *a =
             (const struct rtattr *)((const char *)NLMSG_DATA(h) + NLMSG_ALIGN(fixed));
         RTA_OK(a, len); a = RTA_NEXT(a, len))
        if (a->rta_type == type)
            return a;
    return NULL;
}

static void test_dump_links(void **state)
{
    struct request r;
    struct netlink_buf b = {0};
    int err = -1;
    (void)state;

    request_init(&r, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, sizeof(struct rtgenmsg));
    assert_int_equal(netlink_route_request(&r.h, 4242, false, &b, &err), NETLINK_ROUTE_DUMP);
    assert_int_equal(err, 0);
    assert_int_equal(count_type(&b, RTM_NEWLINK), 1);
    const struct nlmsghdr *h = (const struct nlmsghdr *)b.data;
    assert_int_equal(h->nlmsg_flags, NLM_F_MULTI);
    const struct ifinfomsg *ifi = NLMSG_DATA(h);
    assert_int_equal(ifi->ifi_index, 1);
    const struct rtattr *name = find_attr(h, sizeof(*ifi), IFLA_IFNAME);
    assert_non_null(name);
    assert_string_equal((const char *)RTA_DATA(name), "lo");
    const struct rtattr *mtu = find_attr(h, sizeof(*ifi), IFLA_MTU);
    assert_non_null(mtu);
    assert_int_equal(*(const uint32_t *)RTA_DATA(mtu), 65536);
    free(b.data);
}

static void test_dump_addrs_by_family(void **state)
{
    struct request r;
    int err;
    (void)state;

    const struct {
        int family;
        size_t v4, v6;
    } cases[] = {{AF_UNSPEC, 1, 1}, {AF_INET, 1, 0}, {AF_INET6, 0, 1}, {AF_PACKET, 1, 1}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct netlink_buf b = {0};
        request_init(&r, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, sizeof(struct rtgenmsg));
        r.u.gen.rtgen_family = (unsigned char)cases[i].family;
        assert_int_equal(netlink_route_request(&r.h, 4242, false, &b, &err), NETLINK_ROUTE_DUMP);
        assert_int_equal(count_type(&b, RTM_NEWADDR), cases[i].v4 + cases[i].v6);
        size_t v4 = 0, left = b.len;
        for (const struct nlmsghdr *h = (const struct nlmsghdr *)b.data; NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left)) {
            const struct ifaddrmsg *ifa = NLMSG_DATA(h);
            if (ifa->ifa_family == AF_INET) {
                v4++;
                assert_int_equal(ifa->ifa_prefixlen, 8);
                const struct rtattr *a = find_attr(h, sizeof(*ifa), IFA_LOCAL);
                assert_non_null(a);
                assert_int_equal(*(const uint32_t *)RTA_DATA(a), htonl(INADDR_LOOPBACK));
            } else {
                assert_int_equal(ifa->ifa_family, AF_INET6);
                assert_int_equal(ifa->ifa_prefixlen, 128);
            }
        }
        assert_int_equal(v4, cases[i].v4);
        free(b.data);
    }
}

static void test_get_link(void **state)
{
    struct request r;
    struct netlink_buf b = {0};
    int err;
    (void)state;

    request_init(&r, RTM_GETLINK, NLM_F_REQUEST, sizeof(struct ifinfomsg));
    r.u.ifi.ifi_index = 1;
    assert_int_equal(netlink_route_request(&r.h, 4242, false, &b, &err), NETLINK_ROUTE_ACK);
    assert_int_equal(err, 0);
    assert_int_equal(count_type(&b, RTM_NEWLINK), 1);
    assert_int_equal(((const struct nlmsghdr *)b.data)->nlmsg_flags, 0);
    free(b.data);

    /* By name: IFLA_IFNAME after the ifinfomsg. */
    memset(&b, 0, sizeof(b));
    request_init(&r, RTM_GETLINK, NLM_F_REQUEST, sizeof(struct ifinfomsg) + RTA_SPACE(3));
    struct rtattr *a = (struct rtattr *)r.attrs;
    a->rta_len = RTA_LENGTH(3);
    a->rta_type = IFLA_IFNAME;
    memcpy(RTA_DATA(a), "lo", 3);
    assert_int_equal(netlink_route_request(&r.h, 4242, false, &b, &err), NETLINK_ROUTE_ACK);
    assert_int_equal(err, 0);
    assert_int_equal(count_type(&b, RTM_NEWLINK), 1);
    free(b.data);

    memcpy(RTA_DATA(a), "l0", 3);
    memset(&b, 0, sizeof(b));
    netlink_route_request(&r.h, 4242, false, &b, &err);
    assert_int_equal(err, -ENODEV);
    assert_int_equal(b.len, 0);

    request_init(&r, RTM_GETLINK, NLM_F_REQUEST, sizeof(struct ifinfomsg));
    r.u.ifi.ifi_index = 2;
    netlink_route_request(&r.h, 4242, false, &b, &err);
    assert_int_equal(err, -ENODEV);
    r.u.ifi.ifi_index = 0; /* neither index nor name */
    netlink_route_request(&r.h, 4242, false, &b, &err);
    assert_int_equal(err, -EINVAL);
    request_init(&r, RTM_GETLINK, NLM_F_REQUEST, sizeof(struct rtgenmsg));
    netlink_route_request(&r.h, 4242, false, &b, &err);
    assert_int_equal(err, -EINVAL); /* too short for an ifinfomsg */
    assert_int_equal(b.len, 0);
}

static void test_refusals(void **state)
{
    struct request r;
    struct netlink_buf b = {0};
    int err;
    (void)state;

    request_init(&r, RTM_NEWADDR, NLM_F_REQUEST | NLM_F_CREATE, sizeof(struct rtgenmsg));
    netlink_route_request(&r.h, 4242, false, &b, &err);
    assert_int_equal(err, -EPERM);
    netlink_route_request(&r.h, 4242, true, &b, &err);
    assert_int_equal(err, -EOPNOTSUPP);
    request_init(&r, RTM_MAX + 1, NLM_F_REQUEST, sizeof(struct rtgenmsg));
    netlink_route_request(&r.h, 4242, true, &b, &err);
    assert_int_equal(err, -EOPNOTSUPP);
    /* No family byte: ignored, no error. */
    request_init(&r, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 0);
    assert_int_equal(netlink_route_request(&r.h, 4242, false, &b, &err), NETLINK_ROUTE_ACK);
    assert_int_equal(err, 0);
    assert_int_equal(b.len, 0);
    /* A table the sandbox does not expose dumps empty. */
    request_init(&r, RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, sizeof(struct rtgenmsg));
    assert_int_equal(netlink_route_request(&r.h, 4242, false, &b, &err), NETLINK_ROUTE_DUMP);
    assert_int_equal(b.len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dump_links),
        cmocka_unit_test(test_dump_addrs_by_family),
        cmocka_unit_test(test_get_link),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
