/* Unix stream sockets ending: shutdown(2) directions, EPIPE with SIGPIPE (none with
 * MSG_NOSIGNAL), end of file and ECONNRESET when the peer closes, poll readiness (POLLIN,
 * POLLOUT, POLLHUP, POLLRDHUP, POLLERR) at each step, a blocked reader woken by the peer, and
 * a blocked reader interrupted by a signal (EINTR, restarted with SA_RESTART). */
#include "guest.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

static volatile sig_atomic_t pipes, alarms;

static void on_pipe(int sig)
{
    (void)sig;
    pipes++;
}

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void handle(int sig, void (*fn)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigaction(sig, &sa, NULL);
}

static void show_poll(const char *what, int fd)
{
    struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
    int n = poll(&p, 1, 0);
    printf("%s: n=%d%s%s%s%s%s\n", what, n, (p.revents & POLLIN) ? " IN" : "",
           (p.revents & POLLOUT) ? " OUT" : "", (p.revents & POLLHUP) ? " HUP" : "",
           (p.revents & POLLRDHUP) ? " RDHUP" : "", (p.revents & POLLERR) ? " ERR" : "");
}

static void pair(int sv[2])
{
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
}

static void test_shutdown(void)
{
    int sv[2];
    char b[16];

    pair(sv);
    show_poll("fresh pair", sv[0]);
    EXPECT_RET("write", write(sv[0], "ab", 2), 2);
    show_poll("peer with data", sv[1]);
    EXPECT_RET("shutdown SHUT_WR", shutdown(sv[0], SHUT_WR), 0);
    show_poll("writer after SHUT_WR", sv[0]);
    show_poll("reader after peer SHUT_WR", sv[1]);
    EXPECT_RET("reader gets the data", read(sv[1], b, sizeof(b)), 2);
    EXPECT_RET("then end of file", read(sv[1], b, sizeof(b)), 0);
    EXPECT_ERRNO("write after SHUT_WR", send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
    printf("SIGPIPE so far: %d\n", (int)pipes);
    EXPECT_ERRNO("write() after SHUT_WR", write(sv[0], "x", 1), EPIPE);
    printf("SIGPIPE after write(): %d\n", (int)pipes);
    EXPECT_RET("the other direction still works", write(sv[1], "cd", 2), 2);
    EXPECT_RET("and reads", read(sv[0], b, sizeof(b)), 2);
    EXPECT_RET("shutdown SHUT_RD", shutdown(sv[0], SHUT_RD), 0);
    show_poll("after SHUT_RD too", sv[0]);
    EXPECT_RET("read after SHUT_RD", read(sv[0], b, sizeof(b)), 0);
    EXPECT_ERRNO("peer writes to a SHUT_RD socket", send(sv[1], "x", 1, MSG_NOSIGNAL), EPIPE);
    EXPECT_ERRNO("shutdown bad how", shutdown(sv[0], 3), EINVAL);
    close(sv[0]);
    close(sv[1]);

    int lone = socket(AF_UNIX, SOCK_STREAM, 0);
    show_poll("unconnected stream", lone);
    EXPECT_RET("shutdown unconnected", shutdown(lone, SHUT_RDWR), 0);
    EXPECT_ERRNO("read unconnected", read(lone, b, 1), EINVAL);
    EXPECT_ERRNO("write unconnected", send(lone, "x", 1, MSG_NOSIGNAL), ENOTCONN);
    EXPECT_ERRNO("shutdown a pipe", shutdown(0, SHUT_RD), ENOTSOCK);
    close(lone);
}

static void test_close(void)
{
    int sv[2];
    char b[16];

    /* The peer closes having read everything: end of file, then EPIPE. */
    pair(sv);
    EXPECT_RET("write before close", write(sv[0], "abc", 3), 3);
    EXPECT_RET("peer reads it all", read(sv[1], b, sizeof(b)), 3);
    close(sv[1]);
    show_poll("after clean peer close", sv[0]);
    EXPECT_RET("read EOF", read(sv[0], b, sizeof(b)), 0);
    EXPECT_ERRNO("write to closed peer", send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
    close(sv[0]);

    /* The peer closes with unread data: ECONNRESET once, then end of file. */
    pair(sv);
    EXPECT_RET("write to be left unread", write(sv[0], "abc", 3), 3);
    EXPECT_RET("write back", write(sv[1], "xyz", 3), 3);
    close(sv[1]);
    show_poll("after peer closed with unread data", sv[0]);
    EXPECT_RET("data still comes first", read(sv[0], b, sizeof(b)), 3);
    EXPECT_ERRNO("then ECONNRESET", read(sv[0], b, sizeof(b)), ECONNRESET);
    EXPECT_RET("then EOF", read(sv[0], b, sizeof(b)), 0);
    int err = -1;
    socklen_t el = sizeof(err);
    getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &err, &el);
    printf("SO_ERROR after: %d\n", err);
    pipes = 0;
    EXPECT_ERRNO("write raises SIGPIPE", write(sv[0], "x", 1), EPIPE);
    printf("SIGPIPE count: %d\n", (int)pipes);
    close(sv[0]);

    /* SO_ERROR takes the pending error. */
    pair(sv);
    write(sv[0], "abc", 3);
    close(sv[1]);
    getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &err, &el);
    printf("SO_ERROR pending: %s\n", guest_errno_name(err));
    getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &err, &el);
    printf("SO_ERROR again: %d\n", err);
    close(sv[0]);
}

static void test_blocking(void)
{
    int sv[2];
    char b[16];

    /* A blocked reader woken by the peer's write in another process. */
    pair(sv);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        write(sv[1], "late", 4);
        nanosleep(&ts, NULL);
        _exit(0);
    }
    close(sv[1]);
    EXPECT_RET("blocked read woken", read(sv[0], b, sizeof(b)), 4);
    EXPECT_RET("EOF once the child exits", read(sv[0], b, sizeof(b)), 0);
    waitpid(pid, NULL, 0);
    close(sv[0]);

    /* MSG_WAITALL gathers across writes. */
    pair(sv);
    pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        for (int i = 0; i < 4; i++) {
            write(sv[1], "ab", 2);
            nanosleep(&ts, NULL);
        }
        _exit(0);
    }
    EXPECT_RET("MSG_WAITALL", recv(sv[0], b, 8, MSG_WAITALL), 8);
    waitpid(pid, NULL, 0);

    /* A signal interrupts a blocked read: EINTR without SA_RESTART. */
    handle(SIGALRM, on_alarm, 0);
    alarm(1);
    EXPECT_ERRNO("read interrupted", read(sv[0], b, sizeof(b)), EINTR);
    printf("alarms: %d\n", (int)alarms);

    /* With SA_RESTART the read goes on, and ends when data comes. */
    handle(SIGALRM, on_alarm, SA_RESTART);
    pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        kill(getppid(), SIGALRM);
        nanosleep(&ts, NULL);
        write(sv[1], "R", 1);
        _exit(0);
    }
    EXPECT_RET("read restarted", read(sv[0], b, sizeof(b)), 1);
    printf("alarms: %d\n", (int)alarms);
    waitpid(pid, NULL, 0);
    close(sv[0]);
    close(sv[1]);

    /* A full buffer: non-blocking writes stop with EAGAIN and poll says not writable. */
    pair(sv);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    static char chunk[4096];
    size_t total = 0;
    while (write(sv[0], chunk, sizeof(chunk)) > 0)
        total += sizeof(chunk);
    printf("full after more than 64 KiB: %d, errno %s\n", total > 65536, guest_errno_name(errno));
    struct pollfd p = {sv[0], POLLOUT, 0};
    EXPECT_RET("poll full writer", poll(&p, 1, 0), 0);
    int inq = 0;
    ioctl(sv[1], FIONREAD, &inq);
    printf("FIONREAD matches what was written: %d\n", (size_t)inq == total);
    while (total > 0) {
        ssize_t n = read(sv[1], chunk, sizeof(chunk));
        CHECK(n > 0, "drain");
        total -= (size_t)n;
    }
    EXPECT_RET("poll drained writer", poll(&p, 1, 0), 1);
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    handle(SIGPIPE, on_pipe, 0);
    test_shutdown();
    test_close();
    test_blocking();
    return guest_ok();
}
