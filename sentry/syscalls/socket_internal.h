/* Private to sentry/syscalls: what socket.c and socket_msg.c share. */
#ifndef RUNSC_SENTRY_SYSCALLS_SOCKET_INTERNAL_H
#define RUNSC_SENTRY_SYSCALLS_SOCKET_INTERNAL_H

#include <stdint.h>
#include <sys/socket.h>

#include "sentry/kernel/kernel.h"

struct socket;

/* The socket open at fd (a file reference the caller puts): -EBADF, -ENOTSOCK. */
int socket_fd_get(struct task *t, uint64_t fd, struct socket **out);
/* move_addr_to_kernel(): -EINVAL for a length outside 0..sizeof(sockaddr_storage), -EFAULT. */
long socket_addr_copy_in(struct task *t, uint64_t addr, int64_t len, struct sockaddr_storage *out);
/* move_addr_to_user(): copies min(*ulen, klen) bytes, then stores klen in *ulen. */
long socket_addr_copy_out(struct task *t, const struct sockaddr_storage *addr, size_t klen,
                          uint64_t uaddr, uint64_t ulen_addr);

#endif
