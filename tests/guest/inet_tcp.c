/* Loopback TCP over AF_INET and AF_INET6: bind/listen/accept/connect with ephemeral ports
 * (never printed), address lengths, EADDRINUSE and SO_REUSEADDR, ECONNREFUSED, non-blocking
 * connect and accept, a forked echo server, shutdown and end of file, RST on close with unread
 * data, MSG_PEEK and MSG_WAITALL, poll readiness, FIONREAD, and stored options. */
#include "guest.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

static struct sockaddr_in loop4(uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/* A listener on 127.0.0.1 with an ephemeral port; its address into *a. */
static int listener4(struct sockaddr_in *a, int backlog)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(l >= 0, "socket");
    *a = loop4(0);
    CHECK(bind(l, (struct sockaddr *)a, sizeof(*a)) == 0, "bind");
    CHECK(listen(l, backlog) == 0, "listen");
    socklen_t len = sizeof(*a);
    CHECK(getsockname(l, (struct sockaddr *)a, &len) == 0, "getsockname");
    return l;
}

static unsigned poll_mask(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP};
    CHECK(poll(&p, 1, 0) >= 0, "poll");
    return (unsigned)p.revents;
}

static void print_mask(const char *what, unsigned m)
{
    printf("%s:%s%s%s%s%s\n", what, m & POLLIN ? " IN" : "", m & POLLOUT ? " OUT" : "",
           m & POLLHUP ? " HUP" : "", m & POLLRDHUP ? " RDHUP" : "", m & POLLERR ? " ERR" : "");
}

static void test_names(void)
{
    struct sockaddr_in a;
    int l = listener4(&a, 5);
    printf("listener port ephemeral: %s\n",
           ntohs(a.sin_port) >= 32768 && ntohs(a.sin_port) <= 60999 ? "yes" : "no");
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in got;
    socklen_t len = sizeof(got);
    EXPECT_RET("getsockname unbound", getsockname(c, (struct sockaddr *)&got, &len), 0);
    printf("unbound: len=%u family=%d port=%d addr=%s\n", len, got.sin_family,
           ntohs(got.sin_port), inet_ntoa(got.sin_addr));
    EXPECT_ERRNO("getpeername unconnected", getpeername(c, (struct sockaddr *)&got, &len),
                 ENOTCONN);
    EXPECT_RET("connect", connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
    EXPECT_ERRNO("connect again", connect(c, (struct sockaddr *)&a, sizeof(a)), EISCONN);
    struct sockaddr_in peer;
    len = sizeof(peer);
    int s = accept(l, (struct sockaddr *)&peer, &len);
    CHECK(s >= 0, "accept");
    printf("accept: len=%u addr=%s\n", len, inet_ntoa(peer.sin_addr));
    len = sizeof(got);
    EXPECT_RET("client getsockname", getsockname(c, (struct sockaddr *)&got, &len), 0);
    printf("client: len=%u addr=%s same port as accept's peer: %s\n", len,
           inet_ntoa(got.sin_addr), got.sin_port == peer.sin_port ? "yes" : "no");
    len = sizeof(got);
    EXPECT_RET("client getpeername", getpeername(c, (struct sockaddr *)&got, &len), 0);
    printf("client peer is listener: %s\n", got.sin_port == a.sin_port ? "yes" : "no");
    len = sizeof(got);
    EXPECT_RET("server getsockname", getsockname(s, (struct sockaddr *)&got, &len), 0);
    printf("server local port is listener's: %s\n", got.sin_port == a.sin_port ? "yes" : "no");

    /* The listener's port is taken; SO_REUSEADDR does not share it with a listener. */
    int d = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_ERRNO("bind taken port", bind(d, (struct sockaddr *)&a, sizeof(a)), EADDRINUSE);
    int one = 1;
    setsockopt(d, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    EXPECT_ERRNO("bind listener port with SO_REUSEADDR", bind(d, (struct sockaddr *)&a,
                                                               sizeof(a)), EADDRINUSE);
    struct sockaddr_in bad = loop4(0);
    inet_pton(AF_INET, "192.0.2.1", &bad.sin_addr);
    EXPECT_ERRNO("bind non-local address", bind(d, (struct sockaddr *)&bad, sizeof(bad)),
                 EADDRNOTAVAIL);
    EXPECT_ERRNO("bind short address", bind(d, (struct sockaddr *)&a, sizeof(a) - 1), EINVAL);
    struct sockaddr_in wrong = loop4(0);
    wrong.sin_family = AF_INET6;
    EXPECT_ERRNO("bind wrong family", bind(d, (struct sockaddr *)&wrong, sizeof(wrong)),
                 EAFNOSUPPORT);
    struct sockaddr_in two = loop4(0);
    inet_pton(AF_INET, "127.0.0.2", &two.sin_addr);
    EXPECT_RET("bind 127.0.0.2", bind(d, (struct sockaddr *)&two, sizeof(two)), 0);
    EXPECT_ERRNO("bind twice", bind(d, (struct sockaddr *)&two, sizeof(two)), EINVAL);
    close(d);

    /* Two unlistened sockets with SO_REUSEADDR share a port. */
    int e = socket(AF_INET, SOCK_STREAM, 0), f = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(e, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(f, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in ea = loop4(0);
    EXPECT_RET("bind reuse 1", bind(e, (struct sockaddr *)&ea, sizeof(ea)), 0);
    len = sizeof(ea);
    getsockname(e, (struct sockaddr *)&ea, &len);
    EXPECT_RET("bind reuse 2", bind(f, (struct sockaddr *)&ea, sizeof(ea)), 0);
    EXPECT_RET("listen reuse 1", listen(e, 1), 0);
    EXPECT_ERRNO("listen reuse 2", listen(f, 1), EADDRINUSE);
    close(e);
    close(f);
    close(s);
    close(c);
    close(l);

    /* Nobody listens on a port once its listener closed. */
    int r = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_ERRNO("connect refused", connect(r, (struct sockaddr *)&a, sizeof(a)), ECONNREFUSED);
    close(r);
}

static void test_nonblocking(void)
{
    struct sockaddr_in a;
    int l = listener4(&a, 5);
    fcntl(l, F_SETFL, O_NONBLOCK);
    EXPECT_ERRNO("accept empty", accept(l, NULL, NULL), EAGAIN);
    print_mask("listener empty", poll_mask(l));
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    print_mask("fresh socket", poll_mask(c));
    EXPECT_ERRNO("nonblocking connect", connect(c, (struct sockaddr *)&a, sizeof(a)),
                 EINPROGRESS);
    struct pollfd p = {.fd = c, .events = POLLOUT};
    EXPECT_RET("poll writable", poll(&p, 1, 5000), 1);
    int err = -1;
    socklen_t el = sizeof(err);
    EXPECT_RET("SO_ERROR", getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el), 0);
    printf("so_error=%d\n", err);
    struct pollfd lp = {.fd = l, .events = POLLIN};
    EXPECT_RET("listener readable", poll(&lp, 1, 5000), 1);
    int s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
    CHECK(s >= 0, "accept4");
    print_mask("connected client", poll_mask(c));
    EXPECT_ERRNO("recv nothing", recv(s, (char[4]){0}, 4, 0), EAGAIN);
    close(s);
    close(c);

    /* A refused non-blocking connect: writable with an error. */
    int r = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in gone;
    int g = listener4(&gone, 1);
    close(g);
    int ret = connect(r, (struct sockaddr *)&gone, sizeof(gone));
    if (ret < 0 && errno == EINPROGRESS) {
        struct pollfd rp = {.fd = r, .events = POLLOUT};
        poll(&rp, 1, 5000);
        el = sizeof(err);
        getsockopt(r, SOL_SOCKET, SO_ERROR, &err, &el);
        printf("refused: %s\n", guest_errno_name(err));
    } else {
        printf("refused: %s\n", guest_errno_name(errno));
    }
    close(r);
    close(l);
}

static void echo_server(int l)
{
    int c = accept(l, NULL, NULL);
    if (c < 0)
        _exit(10);
    char buf[8192];
    ssize_t n;
    while ((n = read(c, buf, sizeof(buf))) > 0)
        if (write(c, buf, (size_t)n) != n)
            _exit(11);
    _exit(n == 0 ? 0 : 12);
}

static void test_echo(void)
{
    struct sockaddr_in a;
    int l = listener4(&a, 5);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0)
        echo_server(l);
    close(l);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_RET("connect echo", connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
    /* 1 MiB through the echo server, writer and reader interleaved by poll. */
    size_t total = 1 << 20, sent = 0, got = 0;
    static char out[1 << 20], in[1 << 20];
    for (size_t i = 0; i < total; i++)
        out[i] = (char)(i * 7 + i / 251);
    fcntl(c, F_SETFL, O_NONBLOCK);
    while (got < total) {
        struct pollfd p = {.fd = c, .events = POLLIN | (sent < total ? POLLOUT : 0)};
        CHECK(poll(&p, 1, 10000) > 0, "poll echo");
        if ((p.revents & POLLOUT) && sent < total) {
            ssize_t n = write(c, out + sent, total - sent);
            CHECK(n > 0 || errno == EAGAIN, "write");
            if (n > 0)
                sent += (size_t)n;
        }
        if (p.revents & POLLIN) {
            ssize_t n = read(c, in + got, total - got);
            CHECK(n > 0 || errno == EAGAIN, "read");
            if (n > 0)
                got += (size_t)n;
        }
    }
    EXPECT_FACT("echo matches", memcmp(in, out, total) == 0);
    fcntl(c, F_SETFL, 0);
    EXPECT_RET("shutdown write", shutdown(c, SHUT_WR), 0);
    EXPECT_RET("read eof", read(c, in, 10), 0);
    int status;
    EXPECT_RET("wait", waitpid(pid, &status, 0), pid);
    printf("server status %d\n", WEXITSTATUS(status));
    EXPECT_ERRNO("write after shutdown", send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
    close(c);
}

static void test_data(void)
{
    struct sockaddr_in a;
    int l = listener4(&a, 5);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0, "connect");
    int s = accept(l, NULL, NULL);
    CHECK(s >= 0, "accept");
    char buf[64];
    EXPECT_RET("send hello", send(c, "hello world", 11, 0), 11);
    int avail = -1;
    EXPECT_RET("FIONREAD", ioctl(s, FIONREAD, &avail), 0);
    printf("fionread=%d\n", avail);
    print_mask("server with data", poll_mask(s));
    EXPECT_RET("peek", recv(s, buf, 5, MSG_PEEK), 5);
    printf("peeked %.5s\n", buf);
    EXPECT_RET("recv 5", recv(s, buf, 5, 0), 5);
    printf("got %.5s\n", buf);
    pid_t pid = fork();
    if (pid == 0) {
        usleep(50000);
        send(c, "abc", 3, 0);
        _exit(0);
    }
    EXPECT_RET("recv waitall", recv(s, buf, 9, MSG_WAITALL), 9);
    printf("waitall %.9s\n", buf);
    waitpid(pid, NULL, 0);
    int outq = -1;
    EXPECT_RET("SIOCOUTQ", ioctl(c, SIOCOUTQ, &outq), 0);
    printf("outq=%d\n", outq);
    EXPECT_RET("shutdown rd invalid", shutdown(s, 7) == -1 && errno == EINVAL, 1);
    EXPECT_RET("client shutdown wr", shutdown(c, SHUT_WR), 0);
    print_mask("server after peer's FIN", poll_mask(s));
    EXPECT_RET("eof", recv(s, buf, sizeof(buf), 0), 0);
    EXPECT_RET("server still writes", send(s, "back", 4, 0), 4);
    EXPECT_RET("client reads", recv(c, buf, sizeof(buf), 0), 4);
    close(s);
    EXPECT_RET("client eof", recv(c, buf, sizeof(buf), 0), 0);
    print_mask("client after close", poll_mask(c));
    close(c);

    /* Close with unread data resets the connection. */
    c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0, "connect");
    s = accept(l, NULL, NULL);
    EXPECT_RET("send unread", send(c, "unread", 6, 0), 6);
    close(s);
    print_mask("client after reset", poll_mask(c));
    EXPECT_ERRNO("recv after reset", recv(c, buf, sizeof(buf), 0), ECONNRESET);
    EXPECT_RET("recv after reset again", recv(c, buf, sizeof(buf), 0), 0);
    EXPECT_ERRNO("send after reset", send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
    close(c);

    /* SO_LINGER 0 resets too; unaccepted connections are reset when the listener closes. */
    c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0, "connect");
    s = accept(l, NULL, NULL);
    struct linger lg = {1, 0};
    EXPECT_RET("SO_LINGER", setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
    close(s);
    EXPECT_ERRNO("recv after linger reset", recv(c, buf, sizeof(buf), 0), ECONNRESET);
    close(c);
    c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0, "connect");
    close(l);
    EXPECT_ERRNO("recv after listener close", recv(c, buf, sizeof(buf), 0), ECONNRESET);
    close(c);

    int u = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_ERRNO("send unconnected", send(u, "x", 1, MSG_NOSIGNAL), EPIPE);
    EXPECT_ERRNO("recv unconnected", recv(u, buf, 1, 0), ENOTCONN);
    EXPECT_ERRNO("shutdown unconnected", shutdown(u, SHUT_RDWR), ENOTCONN);
    close(u);
}

static void show_int(int fd, int level, int name, const char *what)
{
    int v = -7;
    socklen_t len = sizeof(v);
    int r = getsockopt(fd, level, name, &v, &len);
    if (r)
        printf("%s: %s\n", what, guest_errno_name(errno));
    else
        printf("%s: %d (len %u)\n", what, v, len);
}

static void set_int(int fd, int level, int name, int v, const char *what)
{
    int r = setsockopt(fd, level, name, &v, sizeof(v));
    printf("set %s=%d: %s\n", what, v, r ? guest_errno_name(errno) : "OK");
}

static void test_options(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    show_int(fd, SOL_SOCKET, SO_TYPE, "SO_TYPE");
    show_int(fd, SOL_SOCKET, SO_DOMAIN, "SO_DOMAIN");
    show_int(fd, SOL_SOCKET, SO_PROTOCOL, "SO_PROTOCOL");
    show_int(fd, SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN");
    show_int(fd, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE");
    set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
    show_int(fd, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE");
    set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
    show_int(fd, SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT");
    set_int(fd, SOL_SOCKET, SO_RCVBUF, 65536, "SO_RCVBUF");
    show_int(fd, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF");
    set_int(fd, SOL_SOCKET, SO_SNDBUF, 1, "SO_SNDBUF");
    show_int(fd, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF");
    show_int(fd, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY");
    set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
    show_int(fd, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY");
    show_int(fd, IPPROTO_TCP, TCP_MAXSEG, "TCP_MAXSEG");
    set_int(fd, IPPROTO_TCP, TCP_MAXSEG, 10, "TCP_MAXSEG");
    set_int(fd, IPPROTO_TCP, TCP_MAXSEG, 1000, "TCP_MAXSEG");
    show_int(fd, IPPROTO_TCP, TCP_MAXSEG, "TCP_MAXSEG");
    show_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE");
    set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, 0, "TCP_KEEPIDLE");
    set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, 30, "TCP_KEEPIDLE");
    show_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE");
    show_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL");
    set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, 200, "TCP_KEEPCNT");
    set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, 3, "TCP_KEEPCNT");
    show_int(fd, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT");
    show_int(fd, SOL_IP, IP_TTL, "IP_TTL");
    set_int(fd, SOL_IP, IP_TTL, 0, "IP_TTL");
    set_int(fd, SOL_IP, IP_TTL, 9, "IP_TTL");
    show_int(fd, SOL_IP, IP_TTL, "IP_TTL");
    set_int(fd, SOL_IP, IP_TOS, 0x13, "IP_TOS");
    show_int(fd, SOL_IP, IP_TOS, "IP_TOS");
    show_int(fd, SOL_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY on v4");
    show_int(fd, 99, 1, "unknown level");
    struct linger lg = {1, 5}, back;
    socklen_t len = sizeof(back);
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    getsockopt(fd, SOL_SOCKET, SO_LINGER, &back, &len);
    printf("SO_LINGER: %d %d (len %u)\n", back.l_onoff, back.l_linger, len);
    struct timeval tv = {2, 500000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    memset(&tv, 0, sizeof(tv));
    len = sizeof(tv);
    getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len);
    printf("SO_RCVTIMEO: %ld.%06ld\n", (long)tv.tv_sec, (long)tv.tv_usec);
    close(fd);

    EXPECT_ERRNO("socket stream udp", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
    EXPECT_ERRNO("socket seqpacket", socket(AF_INET, SOCK_SEQPACKET, 0), ESOCKTNOSUPPORT);
    EXPECT_ERRNO("socketpair inet", socketpair(AF_INET, SOCK_STREAM, 0, (int[2]){0}),
                 EOPNOTSUPP);
}

static void test_timeout(void)
{
    struct sockaddr_in a;
    int l = listener4(&a, 5);
    struct timeval tv = {0, 100000};
    setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    EXPECT_ERRNO("accept timeout", accept(l, NULL, NULL), EAGAIN);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0, "connect");
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    EXPECT_ERRNO("recv timeout", recv(c, (char[4]){0}, 4, 0), EAGAIN);
    close(c);
    close(l);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGPIPE, SIG_IGN);
    test_names();
    test_nonblocking();
    test_echo();
    test_data();
    test_options();
    test_timeout();
    return guest_ok();
}
