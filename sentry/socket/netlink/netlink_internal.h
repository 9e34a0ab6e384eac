/* Private to sentry/socket/netlink: the reply buffer the route protocol fills, and the entry
 * point netlink.c hands each request message to. */
#ifndef RUNSC_SENTRY_SOCKET_NETLINK_NETLINK_INTERNAL_H
#define RUNSC_SENTRY_SOCKET_NETLINK_NETLINK_INTERNAL_H

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Netlink messages being built for one datagram; `failed` once an allocation failed. */
struct netlink_buf {
    char *data;
    size_t len, cap;
    bool failed;
};

/* Appends a message header of `type` with `payload` bytes of zeroed room after it; returns the
 * header (valid until the next append) or NULL. `portid` and `seq` address the requester. */
struct nlmsghdr *netlink_buf_put(struct netlink_buf *b, uint16_t type, uint16_t flags, uint32_t seq,
                                 uint32_t portid, size_t payload);
/* Appends an attribute to the message `h` (the buffer's last) and grows its nlmsg_len. */
void netlink_buf_attr(struct netlink_buf *b, size_t h_off, uint16_t type, const void *data,
                      size_t len);

/* What a request left to do after its replies. */
enum netlink_route_result {
    NETLINK_ROUTE_ACK,  /* ack it (with the returned error, or when NLM_F_ACK asks) */
    NETLINK_ROUTE_DUMP, /* a dump was answered: NLMSG_DONE follows, never an ack */
};

/* rtnetlink_rcv_msg() for one whole request `h` from `portid`: replies go into `out`. *err gets
 * 0 or the -errno its ack carries. `admin`: the sender holds CAP_NET_ADMIN. */
enum netlink_route_result netlink_route_request(const struct nlmsghdr *h, uint32_t portid,
                                                bool admin, struct netlink_buf *out, int *err);

#endif
