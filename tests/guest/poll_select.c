/* Readiness with poll, ppoll, select and pselect on pipes and stdio: each event (POLLIN, POLLOUT,
 * POLLHUP, POLLERR, POLLNVAL), timeouts, waking when another process writes, select's sets and
 * its errors, and the signal mask of ppoll/pselect letting a blocked signal interrupt them. */
#include "guest.h"

#include <poll.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>

static volatile sig_atomic_t usr1;

static void on_usr1(int sig)
{
    (void)sig;
    usr1++;
}

static long elapsed_ms(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* A child that sleeps 50 ms, then writes a byte to fd (if >= 0) or signals the parent. */
static pid_t later(int fd, int sig)
{
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (fd >= 0)
            (void)write(fd, "x", 1);
        else
            kill(getppid(), sig);
        _exit(0);
    }
    return pid;
}

int main(void)
{
    int p[2];
    struct pollfd pfd[3];
    struct timespec start;

    setvbuf(stdout, NULL, _IOLBF, 0);
    CHECK(pipe(p) == 0, "pipe");
    pfd[0] = (struct pollfd){.fd = p[0], .events = POLLIN};
    pfd[1] = (struct pollfd){.fd = p[1], .events = POLLOUT};
    EXPECT_RET("poll: write end ready", poll(pfd, 2, 0), 1);
    printf("revents: read %#x, write %#x\n", pfd[0].revents, pfd[1].revents);
    write(p[1], "a", 1);
    EXPECT_RET("poll: both ready", poll(pfd, 2, 0), 2);
    printf("revents: read %#x, write %#x\n", pfd[0].revents, pfd[1].revents);
    char c;
    read(p[0], &c, 1);

    clock_gettime(CLOCK_MONOTONIC, &start);
    EXPECT_RET("poll: timeout on an empty pipe", poll(pfd, 1, 50), 0);
    EXPECT_FACT("waited at least 50 ms", elapsed_ms(&start) >= 50);

    pid_t pid = later(p[1], 0);
    EXPECT_RET("poll: woken by a child's write", poll(pfd, 1, 5000), 1);
    printf("revents after the write: %#x\n", pfd[0].revents);
    waitpid(pid, NULL, 0);
    read(p[0], &c, 1);

    pfd[2] = (struct pollfd){.fd = 999, .events = POLLIN};
    struct pollfd neg = {.fd = -1, .events = POLLIN, .revents = 0x55};
    EXPECT_RET("poll: a closed fd is POLLNVAL", poll(&pfd[2], 1, 0), 1);
    printf("revents of fd 999: %#x\n", pfd[2].revents);
    EXPECT_RET("poll: a negative fd is skipped", poll(&neg, 1, 0), 0);
    EXPECT_RET("its revents cleared", neg.revents, 0);
    struct pollfd in = {.fd = 0, .events = POLLIN};
    EXPECT_RET("poll: stdin (/dev/null) is readable", poll(&in, 1, 0), 1);
    printf("stdin revents: %#x\n", in.revents);

    /* Hang-up and error once the other end is gone. */
    close(p[1]);
    EXPECT_RET("poll: read end after the writer closed", poll(pfd, 1, 0), 1);
    printf("revents: %#x\n", pfd[0].revents);
    close(p[0]);
    CHECK(pipe(p) == 0, "pipe");
    close(p[0]);
    pfd[1].fd = p[1];
    EXPECT_RET("poll: write end after the reader closed", poll(&pfd[1], 1, 0), 1);
    printf("revents: %#x\n", pfd[1].revents);
    close(p[1]);

    /* select: sets in and out, the timeout written back, errors. */
    CHECK(pipe(p) == 0, "pipe");
    fd_set rd, wr;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_SET(p[0], &rd);
    FD_SET(p[1], &wr);
    struct timeval tv = {0, 30000};
    EXPECT_RET("select: only the write end", select(p[1] + 1, &rd, &wr, NULL, &tv), 1);
    EXPECT_FACT("read end not set", !FD_ISSET(p[0], &rd));
    EXPECT_FACT("write end set", FD_ISSET(p[1], &wr));
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    tv = (struct timeval){0, 40000};
    clock_gettime(CLOCK_MONOTONIC, &start);
    EXPECT_RET("select: timeout", select(p[0] + 1, &rd, NULL, NULL, &tv), 0);
    EXPECT_FACT("waited at least 40 ms", elapsed_ms(&start) >= 40);
    EXPECT_FACT("timeout written back as 0", tv.tv_sec == 0 && tv.tv_usec == 0);
    pid = later(p[1], 0);
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    EXPECT_RET("select: woken by a child's write", select(p[0] + 1, &rd, NULL, NULL, NULL), 1);
    waitpid(pid, NULL, 0);
    /* Linux only checks fds below its fd table's capacity (a larger nfds is cut down to it), so
     * the closed fd must be a low one, not an arbitrary large number. */
    int closed_fd = dup(p[0]);
    close(closed_fd);
    FD_ZERO(&rd);
    FD_SET(closed_fd, &rd);
    tv = (struct timeval){0, 0};
    EXPECT_ERRNO("select: a closed fd", select(closed_fd + 1, &rd, NULL, NULL, &tv), EBADF);
    EXPECT_ERRNO("select: negative nfds", select(-1, NULL, NULL, NULL, &tv), EINVAL);
    tv = (struct timeval){0, -1};
    EXPECT_ERRNO("select: negative timeout", select(0, NULL, NULL, NULL, &tv), EINVAL);

    /* ppoll and pselect: a signal blocked outside is let in while waiting. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t usr1_set, none, now;
    sigemptyset(&usr1_set);
    sigaddset(&usr1_set, SIGUSR1);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &usr1_set, NULL);
    pfd[0] = (struct pollfd){.fd = p[0], .events = POLLIN};
    read(p[0], &c, 1);
    pid = later(-1, SIGUSR1);
    EXPECT_ERRNO("ppoll interrupted", ppoll(pfd, 1, NULL, &none), EINTR);
    EXPECT_RET("handler ran", usr1, 1);
    sigprocmask(SIG_SETMASK, NULL, &now);
    EXPECT_RET("SIGUSR1 blocked again", sigismember(&now, SIGUSR1), 1);
    waitpid(pid, NULL, 0);
    pid = later(-1, SIGUSR1);
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    EXPECT_ERRNO("pselect interrupted", pselect(p[0] + 1, &rd, NULL, NULL, NULL, &none), EINTR);
    EXPECT_RET("handler ran again", usr1, 2);
    waitpid(pid, NULL, 0);
    struct timespec zero = {0, 0};
    EXPECT_RET("ppoll with a zero timeout", ppoll(pfd, 1, &zero, NULL), 0);
    close(p[0]);
    close(p[1]);
    return guest_ok();
}
