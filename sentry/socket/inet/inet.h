/* Internet sockets on loopback only (`--network=none`): AF_INET and AF_INET6 TCP and UDP between
 * sockets of the sandbox, entirely inside the sentry; no host socket is ever opened. Addresses
 * other than loopback (127.0.0.0/8, ::1, their v4-mapped form) are unreachable. */
#ifndef RUNSC_SENTRY_SOCKET_INET_INET_H
#define RUNSC_SENTRY_SOCKET_INET_INET_H

#include "sentry/socket/socket.h"

/* socket(AF_INET or AF_INET6, type, protocol): `type` without flags, `file_flags` O_NONBLOCK
 * or 0. SOCK_STREAM (protocol 0 or IPPROTO_TCP) and SOCK_DGRAM (0 or IPPROTO_UDP). */
int inet_socket_create(struct task *t, int family, int type, int protocol, int file_flags,
                       struct socket **out);

/* The interface ioctls on any socket (SIOCGIFCONF, SIOCGIFFLAGS, SIOCGIFINDEX, SIOCGIFNAME...):
 * the sandbox has one interface, "lo". `arg` is the guest's pointer. -ENOTTY for other cmds. */
long inet_ioctl_interface(struct mm *mm, unsigned int cmd, uint64_t arg);

#endif
