/* Ancillary data on unix sockets: a pipe's ends passed with SCM_RIGHTS to a forked process,
 * MSG_CMSG_CLOEXEC, MSG_CTRUNC when the control buffer is short, MSG_PEEK duplicating files,
 * control-message errors (EBADF, EINVAL), and SCM_CREDENTIALS with SO_PASSCRED (EPERM for a
 * forged pid). */
#include "guest.h"

#include <fcntl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

static ssize_t send_fds(int sock, const int *fds, int n, const char *data)
{
    char ctl[CMSG_SPACE(sizeof(int) * 8)];
    struct iovec iov = {(void *)data, strlen(data)};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = ctl,
                        .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n)};
    memset(ctl, 0, sizeof(ctl));
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
    memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)n);
    return sendmsg(sock, &mh, 0);
}

/* Receives with a control buffer of ctl_len bytes; prints what came and returns the first fd
 * received (or -1). */
static int recv_fds(int sock, size_t ctl_len, int flags, const char *what)
{
    char data[64], ctl[256];
    struct iovec iov = {data, sizeof(data)};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = ctl_len ? ctl : NULL,
                        .msg_controllen = ctl_len};
    memset(ctl, 0, sizeof(ctl));
    ssize_t n = recvmsg(sock, &mh, flags);
    CHECK(n >= 0, "%s: recvmsg %s", what, guest_errno_name(errno));
    int first = -1, count = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            count = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            memcpy(&first, CMSG_DATA(cm), sizeof(int));
        }
    }
    printf("%s: %zd bytes, controllen=%zu, fds=%d, CTRUNC=%d, CLOEXEC flag=%d\n", what, n,
           (size_t)mh.msg_controllen, count, (mh.msg_flags & MSG_CTRUNC) != 0,
           (mh.msg_flags & MSG_CMSG_CLOEXEC) != 0);
    return first;
}

static void test_rights(void)
{
    int sv[2], p[2];
    EXPECT_RET("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    EXPECT_RET("pipe", pipe(p), 0);

    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        /* The child gets the pipe's write end and writes through it. */
        close(p[1]);
        close(p[0]);
        close(sv[0]);
        char data[16], ctl[CMSG_SPACE(sizeof(int))];
        struct iovec iov = {data, sizeof(data)};
        struct msghdr mh = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
        if (recvmsg(sv[1], &mh, 0) <= 0)
            _exit(2);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        if (!cm || cm->cmsg_type != SCM_RIGHTS)
            _exit(3);
        int fd;
        memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
        if (write(fd, "through the passed fd", 21) != 21)
            _exit(4);
        _exit(0);
    }
    EXPECT_RET("send the pipe's write end", send_fds(sv[0], &p[1], 1, "w"), 1);
    close(p[1]);
    int status;
    waitpid(pid, &status, 0);
    EXPECT_RET("child status", WEXITSTATUS(status), 0);
    char buf[64] = {0};
    EXPECT_RET("read what the child wrote", read(p[0], buf, sizeof(buf)), 21);
    printf("pipe says: %s\n", buf);
    EXPECT_RET("EOF: the child's copy is gone too", read(p[0], buf, sizeof(buf)), 0);
    close(sv[1]);

    /* Same process: cloexec, truncation, peeking. */
    EXPECT_RET("socketpair 2", socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    EXPECT_RET("pipe 2", pipe(p), 0);
    int three[3] = {p[0], p[1], p[0]};
    EXPECT_RET("send 3 fds", send_fds(sv[0], three, 3, "abc"), 3);
    int fd = recv_fds(sv[1], CMSG_SPACE(sizeof(int) * 3), MSG_PEEK, "peek");
    EXPECT_FACT("peeked fd is a new fd", fd > p[1]);
    close(fd);
    close(fd + 1);
    close(fd + 2);
    fd = recv_fds(sv[1], CMSG_SPACE(sizeof(int) * 3), MSG_CMSG_CLOEXEC, "cloexec");
    printf("received fd close-on-exec: %d\n", fcntl(fd, F_GETFD) & FD_CLOEXEC);
    struct stat st1, st2;
    fstat(fd, &st1);
    fstat(p[0], &st2);
    EXPECT_FACT("received fd is the same pipe", st1.st_ino == st2.st_ino);
    close(fd);
    close(fd + 1);
    close(fd + 2);

    EXPECT_RET("send 3 fds again", send_fds(sv[0], three, 3, "def"), 3);
    fd = recv_fds(sv[1], CMSG_LEN(sizeof(int)), 0, "room for one");
    close(fd);
    EXPECT_RET("send 2 fds", send_fds(sv[0], three, 2, "gh"), 2);
    recv_fds(sv[1], 0, 0, "no control buffer");
    EXPECT_RET("send 1 fd", send_fds(sv[0], three, 1, "i"), 1);
    recv_fds(sv[1], sizeof(struct cmsghdr), 0, "header only");

    /* A stream read stops after the message that carried files. */
    EXPECT_RET("send fd with data", send_fds(sv[0], three, 1, "xy"), 2);
    EXPECT_RET("plain data after", send(sv[0], "zz", 2, 0), 2);
    fd = recv_fds(sv[1], CMSG_SPACE(sizeof(int)), 0, "stops at the fd message");
    close(fd);
    EXPECT_RET("rest", recv(sv[1], buf, sizeof(buf), 0), 2);

    int bad = 999;
    EXPECT_ERRNO("SCM_RIGHTS with a closed fd", send_fds(sv[0], &bad, 1, "x"), EBADF);
    char ctl[CMSG_SPACE(4)];
    struct iovec iov = {"x", 1};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = 77;
    cm->cmsg_len = CMSG_LEN(4);
    EXPECT_ERRNO("unknown SOL_SOCKET cmsg type", sendmsg(sv[0], &mh, 0), EINVAL);
    cm->cmsg_len = sizeof(ctl) + 8;
    EXPECT_ERRNO("cmsg_len past the buffer", sendmsg(sv[0], &mh, 0), EINVAL);
    cm->cmsg_level = 99;
    cm->cmsg_len = CMSG_LEN(4);
    EXPECT_RET("other levels are ignored", sendmsg(sv[0], &mh, 0), 1);
    EXPECT_RET("drain", recv(sv[1], buf, sizeof(buf), 0), 1);
    close(sv[0]);
    close(sv[1]);
    close(p[0]);
    close(p[1]);
}

static void test_credentials(void)
{
    int sv[2];
    EXPECT_RET("socketpair dgram", socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
    int one = 1;
    EXPECT_RET("SO_PASSCRED", setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
    EXPECT_RET("send", send(sv[0], "c", 1, 0), 1);
    char data[8], ctl[CMSG_SPACE(sizeof(struct ucred))];
    struct iovec iov = {data, sizeof(data)};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
    EXPECT_RET("recvmsg", recvmsg(sv[1], &mh, 0), 1);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    CHECK(cm && cm->cmsg_type == SCM_CREDENTIALS, "no SCM_CREDENTIALS");
    struct ucred uc;
    memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
    printf("creds len=%zu pid_is_me=%d uid_ok=%d gid_ok=%d\n", (size_t)cm->cmsg_len,
           uc.pid == getpid(), uc.uid == getuid(), uc.gid == getgid());

    /* Explicit credentials: our own are fine, someone else's pid is not. */
    char sctl[CMSG_SPACE(sizeof(struct ucred))];
    struct msghdr sm = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = sctl, .msg_controllen = sizeof(sctl)};
    iov.iov_len = 1;
    cm = CMSG_FIRSTHDR(&sm);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_CREDENTIALS;
    cm->cmsg_len = CMSG_LEN(sizeof(struct ucred));
    uc = (struct ucred){getpid(), getuid(), getgid()};
    memcpy(CMSG_DATA(cm), &uc, sizeof(uc));
    EXPECT_RET("send own creds", sendmsg(sv[0], &sm, 0), 1);
    iov.iov_len = sizeof(data);
    mh.msg_controllen = sizeof(ctl);
    EXPECT_RET("recv own creds", recvmsg(sv[1], &mh, 0), 1);
    if (getuid() != 0) {
        uc.pid = getpid() + 1;
        memcpy(CMSG_DATA(cm), &uc, sizeof(uc));
        EXPECT_ERRNO("send a forged pid", sendmsg(sv[0], &sm, 0), EPERM);
    } else {
        printf("send a forged pid: EPERM\n"); /* root may; the line stays comparable */
    }
    cm->cmsg_len = CMSG_LEN(sizeof(struct ucred)) - 1;
    EXPECT_ERRNO("SCM_CREDENTIALS of the wrong size", sendmsg(sv[0], &sm, 0), EINVAL);

    /* Short control buffer: the credentials are cut with MSG_CTRUNC. */
    EXPECT_RET("send again", send(sv[0], "d", 1, 0), 1);
    mh.msg_controllen = sizeof(struct cmsghdr) + 4;
    iov.iov_len = sizeof(data);
    EXPECT_RET("recvmsg short control", recvmsg(sv[1], &mh, 0), 1);
    printf("short: controllen=%zu CTRUNC=%d\n", (size_t)mh.msg_controllen,
           (mh.msg_flags & MSG_CTRUNC) != 0);
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_rights();
    test_credentials();
    return guest_ok();
}
