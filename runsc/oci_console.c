/* --console-socket, as runc does it: a new pty pair on the host; its master goes to the engine
 * over the AF_UNIX socket with SCM_RIGHTS (the data is the master's name, "/dev/ptmx"), and its
 * slave becomes the container's console. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/errors.h"
#include "runsc/oci_cli.h"

#define PTMX "/dev/ptmx"

static int send_fd(int sock, int fd)
{
    char data[] = PTMX;
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = {data, strlen(data)};
    struct msghdr msg = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.buf,
        .msg_controllen = sizeof(control.buf),
    };
    memset(control.buf, 0, sizeof(control.buf));
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    while (sendmsg(sock, &msg, 0) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    return 0;
}

static int connect_unix(const char *path, int *out)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};

    if (strlen(path) >= sizeof(addr.sun_path))
        return -ENAMETOOLONG;
    strcpy(addr.sun_path, path);
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return -errno;
    if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        int err = -errno;
        close(sock);
        return err;
    }
    *out = sock;
    return 0;
}

int oci_console_send(const char *socket_path, int *slave_fd, char *err, size_t errlen)
{
    char text[128];
    int sock = -1, ret;

    if ((ret = connect_unix(socket_path, &sock)) != 0) {
        snprintf(err, errlen, "dial unix %s: connect: %s", socket_path,
                 errno_text(-ret, text, sizeof(text)));
        return ret;
    }
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) {
        ret = -errno;
        snprintf(err, errlen, "open %s: %s", PTMX, errno_text(errno, text, sizeof(text)));
        goto out_sock;
    }
    char name[64];
    if (grantpt(master) != 0 || unlockpt(master) != 0 || ptsname_r(master, name, sizeof(name))) {
        ret = -errno;
        snprintf(err, errlen, "unlock the pty: %s", errno_text(errno, text, sizeof(text)));
        goto out_master;
    }
    int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) {
        ret = -errno;
        snprintf(err, errlen, "open %s: %s", name, errno_text(errno, text, sizeof(text)));
        goto out_master;
    }
    if ((ret = send_fd(sock, master)) != 0) {
        snprintf(err, errlen, "send the console to %s: %s", socket_path,
                 errno_text(-ret, text, sizeof(text)));
        close(slave);
        goto out_master;
    }
    *slave_fd = slave;
out_master:
    close(master);
out_sock:
    close(sock);
    return ret;
}
