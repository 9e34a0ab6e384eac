/* Netlink sockets (AF_NETLINK), NETLINK_ROUTE only: the sentry answers as the kernel would for
 * the sandbox's one interface, "lo" (RTM_GETLINK and RTM_GETADDR, each as a dump or a single
 * get), which is what glibc's if_nameindex(3) and getaddrinfo(3)'s AI_ADDRCONFIG ask. Nothing is
 * multicast and nothing can be changed. */
#ifndef RUNSC_SENTRY_SOCKET_NETLINK_NETLINK_H
#define RUNSC_SENTRY_SOCKET_NETLINK_NETLINK_H

#include "sentry/socket/socket.h"

/* socket(AF_NETLINK, type, protocol): `type` without flags (SOCK_RAW or SOCK_DGRAM),
 * `file_flags` O_NONBLOCK or 0. */
int netlink_socket_create(struct task *t, int type, int protocol, int file_flags,
                          struct socket **out);

#endif
