/* Unix domain sockets (unix(7)): SOCK_STREAM, SOCK_DGRAM and SOCK_SEQPACKET between sockets
 * of the sandbox, named by a socket file in the VFS, by an abstract name, or unnamed
 * (socketpair), with SCM_RIGHTS and SCM_CREDENTIALS. Semantics follow Linux's net/unix. */
#ifndef RUNSC_SENTRY_SOCKET_UNIX_UNIX_H
#define RUNSC_SENTRY_SOCKET_UNIX_UNIX_H

#include "sentry/socket/socket.h"

/* socket(AF_UNIX, type, protocol): `type` without flags, `file_flags` O_NONBLOCK or 0. */
int unix_socket_create(struct task *t, int type, int protocol, int file_flags, struct socket **out);
/* socketpair(AF_UNIX, ...): two connected sockets. */
int unix_socket_create_pair(struct task *t, int type, int protocol, int file_flags,
                            struct socket **a, struct socket **b);

#endif
