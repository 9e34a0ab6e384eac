/* Unix stream sockets by name: bind/listen/accept/connect with a forked echo server, name
 * lengths from getsockname/getpeername/accept, socket files, EADDRINUSE, ECONNREFUSED,
 * EPROTOTYPE, non-blocking accept and a full backlog, SO_PEERCRED, abstract and autobound names,
 * socket options. Paths live in a mkdtemp directory and are printed relative to it. */
#include "guest.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <poll.h>
#include <stddef.h>
#include <sys/random.h>
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

static socklen_t make_abstract(struct sockaddr_un *a, const char *name)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, name, strlen(name));
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
}

/* The child: accepts one connection and echoes until end of file, upper-casing. */
static void echo_server(int lfd)
{
    int c = accept(lfd, NULL, NULL);
    if (c < 0)
        _exit(10);
    char buf[4096];
    ssize_t n;
    while ((n = read(c, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] >= 'a' && buf[i] <= 'z')
                buf[i] -= 32;
        if (write(c, buf, (size_t)n) != n)
            _exit(11);
    }
    _exit(n == 0 ? 0 : 12);
}

static void test_echo(void)
{
    struct sockaddr_un a, got;
    socklen_t len = make_addr(&a, "echo.sock");
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(lfd >= 0, "socket");
    EXPECT_RET("bind echo.sock", bind(lfd, (struct sockaddr *)&a, len), 0);
    struct stat st;
    EXPECT_RET("stat socket file", stat("echo.sock", &st), 0);
    EXPECT_FACT("socket file is S_IFSOCK", S_ISSOCK(st.st_mode));
    printf("socket file mode: %o\n", (unsigned)(st.st_mode & 07777));
    EXPECT_ERRNO("connect before listen",
                 connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&a, len),
                 ECONNREFUSED);
    EXPECT_RET("listen", listen(lfd, 5), 0);
    int v;
    socklen_t vl = sizeof(v);
    EXPECT_RET("SO_ACCEPTCONN", getsockopt(lfd, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl), 0);
    printf("acceptconn=%d len=%u\n", v, vl);

    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0)
        echo_server(lfd);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_RET("connect", connect(c, (struct sockaddr *)&a, len), 0);
    EXPECT_ERRNO("connect again", connect(c, (struct sockaddr *)&a, len), EISCONN);
    socklen_t gl = sizeof(got);
    EXPECT_RET("getpeername", getpeername(c, (struct sockaddr *)&got, &gl), 0);
    printf("peer len=%u path=%s\n", gl, got.sun_path);
    gl = sizeof(got);
    EXPECT_RET("getsockname unbound", getsockname(c, (struct sockaddr *)&got, &gl), 0);
    printf("sock len=%u family=%d\n", gl, got.sun_family);
    gl = 4;
    memset(&got, 'z', sizeof(got));
    EXPECT_RET("getpeername short", getpeername(c, (struct sockaddr *)&got, &gl), 0);
    printf("short len=%u byte4=%c\n", gl, got.sun_path[2]);

    /* 200 KiB through the echo: the writer and the reader take turns. */
    static char out[200 * 1024], in[200 * 1024];
    for (size_t i = 0; i < sizeof(out); i++)
        out[i] = (char)('a' + i % 26);
    size_t sent = 0, got_bytes = 0;
    while (got_bytes < sizeof(in)) {
        if (sent < sizeof(out)) {
            ssize_t n = write(c, out + sent, sizeof(out) - sent > 8192 ? 8192 : sizeof(out) - sent);
            CHECK(n > 0, "write");
            sent += (size_t)n;
        }
        ssize_t n = recv(c, in + got_bytes, sizeof(in) - got_bytes, MSG_DONTWAIT);
        if (n < 0)
            CHECK(errno == EAGAIN, "recv errno %d", errno);
        else
            got_bytes += (size_t)n;
    }
    bool same = true;
    for (size_t i = 0; i < sizeof(in); i++)
        same &= in[i] == out[i] - 32;
    EXPECT_FACT("echo came back upper-cased", same);
    EXPECT_RET("shutdown write", shutdown(c, SHUT_WR), 0);
    char b;
    EXPECT_RET("read EOF after server exits", read(c, &b, 1), 0);
    int status;
    waitpid(pid, &status, 0);
    EXPECT_RET("server status", WEXITSTATUS(status), 0);
    close(c);

    /* A second bind of the path, and a bound socket binding again. */
    int s2 = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERRNO("bind same path", bind(s2, (struct sockaddr *)&a, len), EADDRINUSE);
    struct sockaddr_un b2;
    socklen_t l2 = make_addr(&b2, "other.sock");
    EXPECT_ERRNO("rebind bound socket", bind(lfd, (struct sockaddr *)&b2, l2), EINVAL);
    EXPECT_ERRNO("stat other.sock removed", stat("other.sock", &st), ENOENT);
    int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
    EXPECT_ERRNO("dgram connect to stream", connect(dg, (struct sockaddr *)&a, len), EPROTOTYPE);
    close(dg);
    close(s2);
    close(lfd);
    EXPECT_ERRNO("connect after close",
                 connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&a, len),
                 ECONNREFUSED);
    unlink("echo.sock");
    EXPECT_ERRNO("connect to nothing",
                 connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&a, len), ENOENT);
    int f = open("plain", O_CREAT | O_WRONLY, 0600);
    close(f);
    len = make_addr(&a, "plain");
    EXPECT_ERRNO("connect to a regular file",
                 connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&a, len),
                 ECONNREFUSED);
    unlink("plain");
}

static void test_backlog_and_nonblock(void)
{
    struct sockaddr_un a;
    socklen_t len = make_addr(&a, "nb.sock");
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    EXPECT_RET("bind nb", bind(lfd, (struct sockaddr *)&a, len), 0);
    EXPECT_RET("listen backlog 1", listen(lfd, 1), 0);
    EXPECT_ERRNO("accept nothing pending", accept(lfd, NULL, NULL), EAGAIN);
    struct pollfd p = {lfd, POLLIN | POLLOUT, 0};
    EXPECT_RET("poll idle listener", poll(&p, 1, 0), 0);
    int c[4];
    int ok = 0;
    for (int i = 0; i < 4; i++) {
        c[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (connect(c[i], (struct sockaddr *)&a, len) == 0)
            ok++;
        else
            printf("connect %d: %s\n", i, guest_errno_name(errno));
    }
    printf("connected before the backlog filled: %d\n", ok);
    EXPECT_RET("poll listener with pending", poll(&p, 1, 0), 1);
    printf("listener revents=%#x\n", p.revents);
    struct sockaddr_un peer;
    socklen_t pl = sizeof(peer);
    int s = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
    CHECK(s >= 0, "accept4");
    printf("accepted peer len=%u cloexec=%d nonblock=%d\n", pl, fcntl(s, F_GETFD) & FD_CLOEXEC,
           (fcntl(s, F_GETFL) & O_NONBLOCK) != 0);
    pl = sizeof(peer);
    EXPECT_RET("accepted getsockname", getsockname(s, (struct sockaddr *)&peer, &pl), 0);
    printf("accepted sock len=%u path=%s\n", pl, peer.sun_path);
    EXPECT_ERRNO("accept4 bad flags", accept4(lfd, NULL, NULL, 0x1), EINVAL);
    int unb = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERRNO("listen unbound", listen(unb, 1), EINVAL);
    EXPECT_ERRNO("accept not listening", accept(unb, NULL, NULL), EINVAL);
    int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
    EXPECT_ERRNO("listen dgram", listen(dg, 1), EOPNOTSUPP);
    EXPECT_ERRNO("accept dgram", accept(dg, NULL, NULL), EOPNOTSUPP);
    EXPECT_ERRNO("accept on a pipe", accept(0, NULL, NULL), ENOTSOCK);

    /* The client whose pending connection dies with the listener sees ECONNRESET. */
    close(s);
    close(lfd);
    char b;
    EXPECT_ERRNO("read on connection the listener dropped", read(c[1], &b, 1), ECONNRESET);
    EXPECT_RET("then end of file", read(c[1], &b, 1), 0);
    for (int i = 0; i < 4; i++)
        close(c[i]);
    close(unb);
    close(dg);
    unlink("nb.sock");
}

static void test_peercred_and_names(void)
{
    /* Abstract names are per network namespace, which the native run shares with everything
     * else on the host (other runs of this test too): the name gets a random part. */
    char abstract[64];
    unsigned rnd = 0;
    CHECK(getrandom(&rnd, sizeof(rnd), 0) == sizeof(rnd), "getrandom");
    snprintf(abstract, sizeof(abstract), "runsc-unix-test-%08x", rnd);
    struct sockaddr_un a, got;
    socklen_t len = make_abstract(&a, abstract);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_RET("bind abstract", bind(lfd, (struct sockaddr *)&a, len), 0);
    int dup = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERRNO("bind abstract again", bind(dup, (struct sockaddr *)&a, len), EADDRINUSE);
    socklen_t gl = sizeof(got);
    EXPECT_RET("getsockname abstract", getsockname(lfd, (struct sockaddr *)&got, &gl), 0);
    printf("abstract len=%u matches=%d\n", gl, memcmp(&got, &a, len) == 0);
    EXPECT_RET("listen abstract", listen(lfd, 4), 0);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_RET("connect abstract", connect(c, (struct sockaddr *)&a, len), 0);
    int s = accept(lfd, NULL, NULL);
    CHECK(s >= 0, "accept");
    struct ucred cr;
    socklen_t cl = sizeof(cr);
    EXPECT_RET("SO_PEERCRED client", getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &cl), 0);
    printf("client peercred len=%u pid_is_me=%d uid_ok=%d gid_ok=%d\n", cl, cr.pid == getpid(),
           cr.uid == geteuid(), cr.gid == getegid());
    cl = sizeof(cr);
    EXPECT_RET("SO_PEERCRED server", getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &cl), 0);
    printf("server peercred pid_is_me=%d\n", cr.pid == getpid());
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    cl = sizeof(cr);
    EXPECT_RET("SO_PEERCRED unconnected", getsockopt(u, SOL_SOCKET, SO_PEERCRED, &cr, &cl), 0);
    printf("unconnected peercred pid=%d uid=%d gid=%d\n", cr.pid, (int)cr.uid, (int)cr.gid);
    EXPECT_ERRNO("getpeername unconnected", getpeername(u, (struct sockaddr *)&got, &gl), ENOTCONN);

    /* Autobind: an empty name picks a unique abstract one of 5 hex digits. */
    struct sockaddr_un empty = {.sun_family = AF_UNIX};
    EXPECT_RET("autobind",
               bind(u, (struct sockaddr *)&empty, offsetof(struct sockaddr_un, sun_path)), 0);
    gl = sizeof(got);
    EXPECT_RET("getsockname autobound", getsockname(u, (struct sockaddr *)&got, &gl), 0);
    bool hex = got.sun_path[0] == 0;
    for (int i = 1; i < 6; i++)
        hex &= (got.sun_path[i] >= '0' && got.sun_path[i] <= '9') ||
               (got.sun_path[i] >= 'a' && got.sun_path[i] <= 'f');
    printf("autobound len=%u hex=%d\n", gl, hex);

    /* Address checks. */
    EXPECT_ERRNO("bind len 1", bind(dup, (struct sockaddr *)&a, 1), EINVAL);
    EXPECT_ERRNO("bind len too long", bind(dup, (struct sockaddr *)&a, sizeof(a) + 1), EINVAL);
    EXPECT_ERRNO("bind len way too long", bind(dup, (struct sockaddr *)&a, 4096), EINVAL);
    struct sockaddr_un inet = a;
    inet.sun_family = AF_INET;
    EXPECT_ERRNO("bind wrong family", bind(dup, (struct sockaddr *)&inet, len), EINVAL);
    EXPECT_ERRNO("connect len 2", connect(dup, (struct sockaddr *)&a, 2), EINVAL);
    /* A full 108-byte path without a NUL: the name is 111 bytes long, as Linux counts it. */
    struct sockaddr_un full;
    memset(&full, 'p', sizeof(full));
    full.sun_family = AF_UNIX;
    int fs = socket(AF_UNIX, SOCK_STREAM, 0);
    int r = bind(fs, (struct sockaddr *)&full, sizeof(full));
    printf("bind 108-byte path: %s\n", r == 0 ? "ok" : guest_errno_name(errno));
    if (r == 0) {
        struct sockaddr_storage ss;
        gl = sizeof(ss);
        getsockname(fs, (struct sockaddr *)&ss, &gl);
        printf("108-byte path name len=%u\n", gl);
        char name[109];
        memcpy(name, full.sun_path, 108);
        name[108] = 0;
        unlink(name);
    }

    /* Options. */
    int v;
    socklen_t vl = sizeof(v);
    getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &vl);
    printf("SO_TYPE=%d", v);
    getsockopt(s, SOL_SOCKET, SO_DOMAIN, &v, &vl);
    printf(" SO_DOMAIN=%d", v);
    getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &v, &vl);
    printf(" SO_PROTOCOL=%d", v);
    getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &vl);
    printf(" SO_ERROR=%d", v);
    getsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, &vl);
    printf(" SO_SNDBUF=%d\n", v);
    v = 10000;
    EXPECT_RET("set SO_SNDBUF", setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)), 0);
    getsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, &vl);
    printf("SO_SNDBUF after 10000: %d\n", v);
    v = 1;
    EXPECT_RET("set SO_SNDBUF tiny", setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)), 0);
    getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &vl);
    printf("SO_RCVBUF after 1: %d\n", v);
    v = 1;
    EXPECT_RET("SO_REUSEADDR", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)), 0);
    EXPECT_ERRNO("setsockopt short", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, 2), EINVAL);
    EXPECT_ERRNO("setsockopt SO_TYPE", setsockopt(s, SOL_SOCKET, SO_TYPE, &v, sizeof(v)),
                 ENOPROTOOPT);
    EXPECT_ERRNO("getsockopt other level", getsockopt(s, IPPROTO_TCP, 1, &v, &vl), EOPNOTSUPP);
    vl = 2;
    EXPECT_RET("getsockopt short len", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &vl), 0);
    printf("short getsockopt len=%u\n", vl);
    struct timeval tv = {0, 300000};
    EXPECT_RET("SO_RCVTIMEO", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    char b;
    EXPECT_ERRNO("recv times out", recv(s, &b, 1, 0), EAGAIN);
    tv.tv_usec = 2000000;
    EXPECT_ERRNO("SO_RCVTIMEO bad usec", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)),
                 EDOM);
    struct stat st;
    fstat(s, &st);
    EXPECT_FACT("fstat says S_IFSOCK", S_ISSOCK(st.st_mode));
    printf("fstat mode=%o\n", (unsigned)st.st_mode);

    EXPECT_ERRNO("socket AF_UNIX bad type", socket(AF_UNIX, 7, 0), ESOCKTNOSUPPORT);
    EXPECT_ERRNO("socket AF_UNIX bad protocol", socket(AF_UNIX, SOCK_STREAM, 5), EPROTONOSUPPORT);
    EXPECT_ERRNO("socket bad flags", socket(AF_UNIX, SOCK_STREAM | 0x100, 0), EINVAL);
    EXPECT_ERRNO("socket bad family", socket(4242, SOCK_STREAM, 0), EAFNOSUPPORT);
    close(fs);
    close(c);
    close(s);
    close(u);
    close(dup);
    close(lfd);
}

int main(void)
{
    char dir[] = "/tmp/unix_stream.XXXXXX";

    setvbuf(stdout, NULL, _IOLBF, 0);
    CHECK(mkdtemp(dir), "mkdtemp");
    CHECK(chdir(dir) == 0, "chdir");
    umask(022);
    test_echo();
    test_backlog_and_nonblock();
    test_peercred_and_names();
    CHECK(chdir("/") == 0, "chdir /");
    CHECK(rmdir(dir) == 0, "rmdir: %s", guest_errno_name(errno));
    return guest_ok();
}
