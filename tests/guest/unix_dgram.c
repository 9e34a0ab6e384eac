/* Unix datagram and seqpacket sockets: message boundaries, MSG_TRUNC and MSG_PEEK, sender
 * addresses, connect as a default peer (EPERM for others, ECONNREFUSED once it is gone),
 * SIOCINQ, EMSGSIZE, the datagram queue limit, and seqpacket between forked processes. */
#include "guest.h"

#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

static socklen_t make_addr(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, path);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

static void test_dgram(void)
{
    struct sockaddr_un sa, ca, from;
    socklen_t sl = make_addr(&sa, "server.sock"), cl = make_addr(&ca, "client.sock");
    int s = socket(AF_UNIX, SOCK_DGRAM, 0), c = socket(AF_UNIX, SOCK_DGRAM, 0);
    EXPECT_RET("bind server", bind(s, (struct sockaddr *)&sa, sl), 0);
    char buf[256];
    EXPECT_ERRNO("send unconnected", send(c, "x", 1, 0), ENOTCONN);
    EXPECT_RET("sendto unbound client", sendto(c, "one", 3, 0, (struct sockaddr *)&sa, sl), 3);
    EXPECT_RET("bind client", bind(c, (struct sockaddr *)&ca, cl), 0);
    EXPECT_RET("sendto two", sendto(c, "two!", 4, 0, (struct sockaddr *)&sa, sl), 4);
    EXPECT_RET("sendto empty", sendto(c, "", 0, 0, (struct sockaddr *)&sa, sl), 0);
    EXPECT_RET("sendto long", sendto(c, "0123456789", 10, 0, (struct sockaddr *)&sa, sl), 10);
    int inq = -1;
    EXPECT_RET("SIOCINQ", ioctl(s, SIOCINQ, &inq), 0);
    printf("SIOCINQ (next datagram) = %d\n", inq);
    socklen_t fl = sizeof(from);
    EXPECT_RET("recvfrom one", recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 3);
    printf("from unbound: len=%u\n", fl);
    fl = sizeof(from);
    EXPECT_RET("peek two", recvfrom(s, buf, 2, MSG_PEEK, (struct sockaddr *)&from, &fl), 2);
    printf("from bound: len=%u path=%s\n", fl, from.sun_path);
    EXPECT_RET("peek two with MSG_TRUNC", recv(s, buf, 2, MSG_PEEK | MSG_TRUNC), 4);
    struct iovec iov = {buf, 2};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    EXPECT_RET("recvmsg two truncated", recvmsg(s, &mh, 0), 2);
    printf("msg_flags MSG_TRUNC=%d data=%.2s\n", (mh.msg_flags & MSG_TRUNC) != 0, buf);
    EXPECT_RET("recv empty datagram", recv(s, buf, sizeof(buf), 0), 0);
    EXPECT_RET("recv long", recv(s, buf, sizeof(buf), 0), 10);
    EXPECT_ERRNO("recv nothing", recv(s, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);

    /* connect: the default peer; a socket connected elsewhere refuses strangers. */
    EXPECT_RET("connect client to server", connect(c, (struct sockaddr *)&sa, sl), 0);
    EXPECT_RET("send connected", send(c, "hi", 2, 0), 2);
    EXPECT_RET("write connected", write(c, "yo", 2), 2);
    EXPECT_RET("server recv", recv(s, buf, sizeof(buf), 0), 2);
    EXPECT_RET("server read", read(s, buf, sizeof(buf)), 2);
    socklen_t pl = sizeof(from);
    EXPECT_RET("getpeername dgram", getpeername(c, (struct sockaddr *)&from, &pl), 0);
    printf("dgram peer len=%u path=%s\n", pl, from.sun_path);
    int third = socket(AF_UNIX, SOCK_DGRAM, 0);
    EXPECT_RET("server connects to client", connect(s, (struct sockaddr *)&ca, cl), 0);
    EXPECT_ERRNO("stranger to connected server",
                 sendto(third, "x", 1, 0, (struct sockaddr *)&sa, sl), EPERM);
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    EXPECT_RET("disconnect with AF_UNSPEC", connect(s, &unspec, sizeof(unspec)), 0);
    EXPECT_ERRNO("getpeername after AF_UNSPEC", getpeername(s, (struct sockaddr *)&from, &pl),
                 ENOTCONN);
    EXPECT_RET("stranger now", sendto(third, "x", 1, 0, (struct sockaddr *)&sa, sl), 1);
    EXPECT_RET("drain", recv(s, buf, sizeof(buf), 0), 1);

    /* Too big for the send buffer. */
    int v = 4096;
    setsockopt(c, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
    static char big[64 * 1024];
    EXPECT_ERRNO("datagram over SO_SNDBUF", send(c, big, sizeof(big), 0), EMSGSIZE);
    v = 200000;
    setsockopt(c, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
    EXPECT_RET("64 KiB datagram", send(c, big, sizeof(big), 0), (long)sizeof(big));
    EXPECT_RET("64 KiB read whole", read(s, big, sizeof(big)), (long)sizeof(big));

    /* A one-way sender fills the receiver's queue (net.unix.max_dgram_qlen 10). */
    int n = 0;
    while (sendto(third, "q", 1, MSG_DONTWAIT, (struct sockaddr *)&sa, sl) == 1 && n < 100)
        n++;
    printf("datagrams queued before %s: %d\n", guest_errno_name(errno), n);
    struct pollfd p = {c, POLLOUT, 0};
    EXPECT_RET("poll connected sender, receiver full", poll(&p, 1, 0), 0);
    EXPECT_RET("receive one", recv(s, buf, sizeof(buf), 0), 1);
    EXPECT_RET("poll again", poll(&p, 1, 0), 1);
    while (recv(s, buf, sizeof(buf), MSG_DONTWAIT) > 0)
        ;

    /* The peer goes away: ECONNREFUSED once, then ENOTCONN. */
    close(s);
    EXPECT_ERRNO("send to closed peer", send(c, "x", 1, 0), ECONNREFUSED);
    EXPECT_ERRNO("send again", send(c, "x", 1, 0), ENOTCONN);
    EXPECT_ERRNO("sendto a name nobody holds", sendto(third, "x", 1, 0, (struct sockaddr *)&sa, sl),
                 ECONNREFUSED);
    close(c);
    close(third);
    unlink("server.sock");
    unlink("client.sock");
}

static void test_socketpair_dgram(void)
{
    int sv[2];
    char buf[64];
    EXPECT_RET("socketpair dgram", socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
    EXPECT_RET("send a", send(sv[0], "abc", 3, 0), 3);
    EXPECT_RET("send b", send(sv[0], "defgh", 5, 0), 5);
    EXPECT_RET("recv a", recv(sv[1], buf, sizeof(buf), 0), 3);
    EXPECT_RET("recv b", recv(sv[1], buf, sizeof(buf), 0), 5);
    int n = 0;
    while (send(sv[0], "x", 1, MSG_DONTWAIT) == 1 && n < 100000)
        n++;
    printf("pair: many datagrams fit: %s, then %s\n", n > 100 ? "yes" : "no",
           guest_errno_name(errno));
    int outq = 0;
    ioctl(sv[0], SIOCOUTQ, &outq);
    printf("SIOCOUTQ non-zero: %d\n", outq > 0);
    close(sv[0]);
    close(sv[1]);
}

static void test_seqpacket(void)
{
    struct sockaddr_un a;
    socklen_t len = make_addr(&a, "seq.sock");
    int l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    EXPECT_RET("bind seqpacket", bind(l, (struct sockaddr *)&a, len), 0);
    EXPECT_RET("listen seqpacket", listen(l, 2), 0);
    int c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    char buf[64];
    EXPECT_ERRNO("seqpacket send unconnected", send(c, "x", 1, 0), ENOTCONN);
    EXPECT_ERRNO("seqpacket recv unconnected", recv(c, buf, 1, 0), ENOTCONN);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        int s = accept(l, NULL, NULL);
        ssize_t n;
        /* Echo each record back, as a record. */
        while ((n = recv(s, buf, sizeof(buf), 0)) > 0)
            send(s, buf, (size_t)n, 0);
        _exit(n == 0 ? 0 : 1);
    }
    EXPECT_RET("connect seqpacket", connect(c, (struct sockaddr *)&a, len), 0);
    EXPECT_RET("record 1", send(c, "first", 5, 0), 5);
    EXPECT_RET("record 2", send(c, "second!", 7, 0), 7);
    EXPECT_RET("echo 1", recv(c, buf, sizeof(buf), 0), 5);
    EXPECT_RET("echo 2 truncated", recv(c, buf, 3, 0), 3);
    EXPECT_RET("record 3", send(c, "x", 1, MSG_EOR), 1);
    EXPECT_RET("echo 3 (rest of 2 was dropped)", recv(c, buf, sizeof(buf), 0), 1);
    EXPECT_RET("shutdown seqpacket", shutdown(c, SHUT_WR), 0);
    int status;
    waitpid(pid, &status, 0);
    EXPECT_RET("seqpacket server status", WEXITSTATUS(status), 0);
    EXPECT_RET("EOF after server closed", recv(c, buf, sizeof(buf), 0), 0);
    EXPECT_ERRNO("send after shutdown", send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
    close(c);
    close(l);
    unlink("seq.sock");
}

int main(void)
{
    char dir[] = "/tmp/unix_dgram.XXXXXX";

    setvbuf(stdout, NULL, _IOLBF, 0);
    CHECK(mkdtemp(dir), "mkdtemp");
    CHECK(chdir(dir) == 0, "chdir");
    test_dgram();
    test_socketpair_dgram();
    test_seqpacket();
    CHECK(chdir("/") == 0, "chdir /");
    CHECK(rmdir(dir) == 0, "rmdir: %s", guest_errno_name(errno));
    return guest_ok();
}
