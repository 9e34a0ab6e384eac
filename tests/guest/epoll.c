/* epoll: level- and edge-triggered reports, EPOLLONESHOT and re-arming with EPOLL_CTL_MOD,
 * EPOLLEXCLUSIVE's rules, nested epolls and ELOOP, the errors of epoll_ctl (EEXIST, ENOENT,
 * EBADF, EPERM for regular files, EINVAL), watches going away with the open file description,
 * timeouts, waking on another process's write, epoll_pwait's mask, EINTR, and epoll_pwait2. */
#include "guest.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
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
            (void)!write(fd, "x", 1);
        else
            kill(getppid(), sig);
        _exit(0);
    }
    return pid;
}

static int add(int ep, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Waits up to `ms` and prints what came, sorted by data so the output is stable. */
static int show(const char *what, int ep, int ms)
{
    struct epoll_event evs[8];
    int n = epoll_wait(ep, evs, 8, ms);
    for (int i = 1; i < n; i++) {
        for (int j = i; j > 0 && evs[j].data.u64 < evs[j - 1].data.u64; j--) {
            struct epoll_event tmp = evs[j];
            evs[j] = evs[j - 1];
            evs[j - 1] = tmp;
        }
    }
    printf("%s: %d", what, n);
    if (n < 0)
        printf(" %s", guest_errno_name(errno));
    for (int i = 0; i < n; i++)
        printf(" [%llu %#x]", (unsigned long long)evs[i].data.u64, evs[i].events);
    printf("\n");
    return n;
}

int main(void)
{
    int p[2], q[2];
    char c;
    struct epoll_event ev = {.events = EPOLLIN};

    setvbuf(stdout, NULL, _IOLBF, 0);
    EXPECT_ERRNO("epoll_create(0)", epoll_create(0), EINVAL);
    EXPECT_ERRNO("epoll_create1 with bad flags", epoll_create1(1), EINVAL);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK(ep >= 0, "epoll_create1");
    EXPECT_RET("close-on-exec", fcntl(ep, F_GETFD), FD_CLOEXEC);
    CHECK(pipe(p) == 0 && pipe(q) == 0, "pipe");

    /* Level-triggered: reported until drained. */
    EXPECT_RET("add read end", add(ep, p[0], EPOLLIN, 1), 0);
    EXPECT_RET("add write end", add(ep, p[1], EPOLLOUT, 2), 0);
    EXPECT_ERRNO("add again", add(ep, p[0], EPOLLIN, 1), EEXIST);
    show("write end only", ep, 0);
    CHECK(write(p[1], "ab", 2) == 2, "write");
    show("both", ep, 0);
    show("level-triggered: both again", ep, 0);
    CHECK(read(p[0], &c, 1) == 1, "read");
    show("one byte left: still both", ep, 0);
    CHECK(read(p[0], &c, 1) == 1, "read");
    show("drained: write end only", ep, 0);
    EXPECT_RET("del write end", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL), 0);
    EXPECT_ERRNO("del again", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL), ENOENT);
    EXPECT_ERRNO("mod of an fd not added", epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev), ENOENT);

    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    show("timeout of 50 ms", ep, 50);
    EXPECT_FACT("waited at least 50 ms", elapsed_ms(&start) >= 50);
    pid_t pid = later(p[1], 0);
    show("woken by a child's write", ep, 5000);
    waitpid(pid, NULL, 0);
    CHECK(read(p[0], &c, 1) == 1, "read");

    /* Edge-triggered: one report per write. */
    ev = (struct epoll_event){.events = EPOLLIN | EPOLLET, .data.u64 = 3};
    EXPECT_RET("mod to edge-triggered", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), 0);
    CHECK(write(p[1], "a", 1) == 1, "write");
    show("edge: first report", ep, 0);
    show("edge: no second report", ep, 0);
    CHECK(write(p[1], "b", 1) == 1, "write");
    show("edge: a new write reports again", ep, 0);
    CHECK(read(p[0], &c, 1) == 1 && read(p[0], &c, 1) == 1, "read");

    /* One-shot: reported once, then silent until modified. */
    ev = (struct epoll_event){.events = EPOLLIN | EPOLLONESHOT, .data.u64 = 4};
    EXPECT_RET("mod to one-shot", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), 0);
    CHECK(write(p[1], "a", 1) == 1, "write");
    show("one-shot: first report", ep, 0);
    CHECK(write(p[1], "b", 1) == 1, "write");
    show("one-shot: disabled", ep, 0);
    EXPECT_RET("re-arm", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), 0);
    show("re-armed: reported", ep, 0);
    CHECK(read(p[0], &c, 1) == 1 && read(p[0], &c, 1) == 1, "read");

    /* Hang-up: the write end closing is EPOLLHUP on the read end, asked for or not. */
    ev = (struct epoll_event){.events = EPOLLIN | EPOLLRDHUP, .data.u64 = 5};
    EXPECT_RET("mod with EPOLLRDHUP", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), 0);
    int p1dup = dup(p[1]);
    close(p[1]);
    show("one write fd still open: nothing", ep, 0);
    close(p1dup);
    show("hang-up", ep, 0);

    /* Closing the last fd of a watched file drops its watch; a dup keeps it. */
    int e1 = eventfd(1, 0), e1dup = dup(e1);
    EXPECT_RET("add eventfd", add(ep, e1, EPOLLIN, 6), 0);
    close(e1);
    show("closed fd, dup open: still reported", ep, 0);
    EXPECT_ERRNO("ctl on the closed fd", epoll_ctl(ep, EPOLL_CTL_DEL, e1, NULL), EBADF);
    close(e1dup);
    close(p[0]);
    show("everything closed: nothing", ep, 0);

    /* epoll_ctl errors. */
    int reg = open("/proc/self/exe", O_RDONLY);
    CHECK(reg >= 0, "open");
    EXPECT_ERRNO("regular file", add(ep, reg, EPOLLIN, 0), EPERM);
    EXPECT_ERRNO("bad epfd", add(999, q[0], EPOLLIN, 0), EBADF);
    EXPECT_ERRNO("bad fd", add(ep, 999, EPOLLIN, 0), EBADF);
    EXPECT_ERRNO("epfd not an epoll", add(q[1], q[0], EPOLLIN, 0), EINVAL);
    EXPECT_ERRNO("epoll into itself", add(ep, ep, EPOLLIN, 0), EINVAL);
    EXPECT_ERRNO("bad op", epoll_ctl(ep, 99, q[0], &ev), EINVAL);
    EXPECT_ERRNO("bad event pointer", epoll_ctl(ep, EPOLL_CTL_ADD, q[0], (void *)8), EFAULT);
    EXPECT_ERRNO("EPOLLEXCLUSIVE with EPOLLONESHOT",
                 add(ep, q[0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 0), EINVAL);
    EXPECT_RET("EPOLLEXCLUSIVE add", add(ep, q[0], EPOLLIN | EPOLLEXCLUSIVE, 7), 0);
    ev = (struct epoll_event){.events = EPOLLIN, .data.u64 = 7};
    EXPECT_ERRNO("mod of an exclusive watch", epoll_ctl(ep, EPOLL_CTL_MOD, q[0], &ev), EINVAL);
    ev.events |= EPOLLEXCLUSIVE;
    EXPECT_ERRNO("mod with EPOLLEXCLUSIVE", epoll_ctl(ep, EPOLL_CTL_MOD, q[0], &ev), EINVAL);
    CHECK(write(q[1], "a", 1) == 1, "write");
    show("exclusive watch reports", ep, 0);
    struct epoll_event out[1];
    EXPECT_ERRNO("maxevents 0", epoll_wait(ep, out, 0, 0), EINVAL);
    EXPECT_ERRNO("epoll_wait on a pipe", epoll_wait(q[0], out, 1, 0), EINVAL);
    EXPECT_ERRNO("epoll_wait on a bad fd", epoll_wait(999, out, 1, 0), EBADF);
    EXPECT_ERRNO("epoll_wait into a bad buffer", syscall(SYS_epoll_wait, ep, 8, 1, 0), EFAULT);
    EXPECT_ERRNO("read of an epoll", read(ep, &c, 1), EINVAL);

    /* Nesting: an epoll is readable when its own watches are; loops are refused. */
    int outer = epoll_create1(0), inner2 = epoll_create1(0);
    EXPECT_RET("nest ep in outer", add(outer, ep, EPOLLIN, 8), 0);
    show("outer sees inner ready", outer, 0);
    struct pollfd pf = {.fd = ep, .events = POLLIN};
    EXPECT_RET("poll on the epoll fd", poll(&pf, 1, 0), 1);
    printf("poll revents %#x\n", pf.revents);
    CHECK(read(q[0], &c, 1) == 1, "read");
    show("inner drained: outer sees nothing", outer, 0);
    EXPECT_ERRNO("loop outer into ep", add(ep, outer, EPOLLIN, 0), ELOOP);
    EXPECT_RET("nest inner2 in ep", add(ep, inner2, EPOLLIN, 9), 0);
    EXPECT_ERRNO("longer loop inner2 -> outer", add(inner2, outer, EPOLLIN, 0), ELOOP);
    EXPECT_ERRNO("EPOLLEXCLUSIVE on an epoll", add(outer, inner2, EPOLLIN | EPOLLEXCLUSIVE, 0),
                 EINVAL);
    EXPECT_RET("add the pipe to inner2", add(inner2, q[0], EPOLLIN, 10), 0);
    pid = later(q[1], 0);
    show("outer woken through two levels", outer, 5000);
    waitpid(pid, NULL, 0);
    CHECK(read(q[0], &c, 1) == 1, "read");

    /* Signals: epoll_wait fails with EINTR (never restarted); epoll_pwait's mask. */
    struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
    sigaction(SIGUSR1, &sa, NULL);
    pid = later(-1, SIGUSR1);
    show("interrupted even with SA_RESTART", ep, 5000);
    waitpid(pid, NULL, 0);
    EXPECT_RET("handler ran", usr1, 1);
    sigset_t block, none;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &block, NULL);
    pid = later(-1, SIGUSR1);
    struct epoll_event evs[2];
    errno = 0;
    int n = epoll_pwait(ep, evs, 2, 5000, &none);
    printf("epoll_pwait unblocking SIGUSR1: %d %s\n", n, guest_errno_name(errno));
    EXPECT_RET("handler ran during epoll_pwait", usr1, 2);
    waitpid(pid, NULL, 0);
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    EXPECT_FACT("mask restored: SIGUSR1 blocked again", sigismember(&now, SIGUSR1));
    EXPECT_ERRNO("epoll_pwait with a bad sigsetsize",
                 syscall(SYS_epoll_pwait, ep, evs, 2, 0, &none, 4), EINVAL);
    struct timespec ts = {0, 30 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &start);
    EXPECT_RET("epoll_pwait2 timeout", syscall(SYS_epoll_pwait2, ep, evs, 2, &ts, NULL, 8), 0);
    EXPECT_FACT("waited at least 30 ms", elapsed_ms(&start) >= 30);
    ts.tv_nsec = 1000000000L;
    EXPECT_ERRNO("epoll_pwait2 bad timeout", syscall(SYS_epoll_pwait2, ep, evs, 2, &ts, NULL, 8),
                 EINVAL);
    CHECK(write(q[1], "a", 1) == 1, "write");
    EXPECT_RET("epoll_pwait2 without timeout, ready",
               syscall(SYS_epoll_pwait2, outer, evs, 2, NULL, NULL, 8), 1);
    return guest_ok();
}
