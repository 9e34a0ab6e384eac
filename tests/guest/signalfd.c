/* signalfd: reading dequeues pending signals of the mask (struct signalfd_siginfo's fields for
 * kill, tgkill, sigqueue and a child's exit), several per read, EAGAIN and EINVAL rules, a
 * blocking read woken by another process's signal, poll and epoll readiness, a new mask set by
 * a second signalfd call on the same fd, SIGKILL/SIGSTOP silently left out, and sigtimedwait
 * and sigwaitinfo, which take signals the same way. */
#include "guest.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>

static void show(const char *what, const struct signalfd_siginfo *si, pid_t pid)
{
    printf("%s: signo %u code %d pid %s uid %u int %d ptr %llu status %d\n", what, si->ssi_signo,
           si->ssi_code, (pid_t)si->ssi_pid == pid ? "ok" : "wrong", si->ssi_uid, si->ssi_int,
           (unsigned long long)si->ssi_ptr, si->ssi_status);
}

int main(void)
{
    struct signalfd_siginfo si[4];
    sigset_t mask;

    setvbuf(stdout, NULL, _IOLBF, 0);
    CHECK(sizeof(struct signalfd_siginfo) == 128, "layout");
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGUSR2);
    sigaddset(&mask, SIGRTMIN);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, NULL);

    EXPECT_ERRNO("bad flags", signalfd(-1, &mask, 0x4), EINVAL);
    EXPECT_ERRNO("bad sigset size", syscall(SYS_signalfd4, -1, &mask, 4, 0), EINVAL);
    EXPECT_ERRNO("bad mask pointer", syscall(SYS_signalfd4, -1, 8, 8, 0), EFAULT);
    EXPECT_ERRNO("bad fd", signalfd(999, &mask, 0), EBADF);
    int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    CHECK(fd >= 0, "signalfd");
    EXPECT_RET("F_GETFL", fcntl(fd, F_GETFL), O_RDWR | O_NONBLOCK);
    EXPECT_RET("close-on-exec", fcntl(fd, F_GETFD), FD_CLOEXEC);
    EXPECT_ERRNO("not a signalfd", signalfd(1, &mask, 0), EINVAL);
    EXPECT_ERRNO("nothing pending", read(fd, si, sizeof(si)), EAGAIN);
    EXPECT_ERRNO("read under 128 bytes", read(fd, si, 100), EINVAL);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    EXPECT_RET("poll: nothing pending", poll(&pfd, 1, 0), 0);

    kill(getpid(), SIGUSR2);
    kill(getpid(), SIGUSR1);
    EXPECT_RET("poll: pending", poll(&pfd, 1, 0), 1);
    EXPECT_RET("read two at once", read(fd, si, sizeof(si)), 256);
    show("first (lowest number)", &si[0], getpid());
    show("second", &si[1], getpid());
    EXPECT_ERRNO("both taken", read(fd, si, sizeof(si)), EAGAIN);

    syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1);
    EXPECT_RET("read tgkill", read(fd, si, sizeof(si[0])), 128);
    show("tgkill", &si[0], getpid());
    union sigval val = {.sival_int = 1234};
    sigqueue(getpid(), SIGRTMIN, val);
    EXPECT_RET("read sigqueue", read(fd, si, sizeof(si)), 128);
    show("sigqueue", &si[0], getpid());

    /* A child's exit, seen as SIGCHLD. */
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0)
        _exit(7);
    waitpid(pid, NULL, 0);
    EXPECT_RET("read SIGCHLD", read(fd, si, sizeof(si)), 128);
    show("child exit", &si[0], pid);

    /* Blocking read woken by a child's kill. */
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    int bfd = signalfd(-1, &usr2, 0);
    pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        kill(getppid(), SIGUSR2);
        _exit(0);
    }
    EXPECT_RET("blocking read", read(bfd, si, sizeof(si)), 128);
    show("from the child", &si[0], pid);
    waitpid(pid, NULL, 0);
    EXPECT_RET("its SIGCHLD", read(fd, si, sizeof(si)), 128);
    printf("signo %u\n", si[0].ssi_signo);

    /* epoll, and a new mask on the same fd. */
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 3};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0, "epoll_ctl");
    EXPECT_RET("epoll: nothing", epoll_wait(ep, &ev, 1, 0), 0);
    kill(getpid(), SIGUSR1);
    EXPECT_RET("epoll: pending", epoll_wait(ep, &ev, 1, 0), 1);
    sigset_t only2;
    sigemptyset(&only2);
    sigaddset(&only2, SIGUSR2);
    sigaddset(&only2, SIGKILL);
    sigaddset(&only2, SIGSTOP);
    EXPECT_RET("new mask: same fd back", signalfd(fd, &only2, 0), fd);
    EXPECT_RET("epoll: SIGUSR1 no longer in the mask", epoll_wait(ep, &ev, 1, 0), 0);
    EXPECT_ERRNO("read: nothing in the mask", read(fd, si, sizeof(si)), EAGAIN);
    kill(getpid(), SIGUSR2);
    EXPECT_RET("read SIGUSR2", read(fd, si, sizeof(si)), 128);
    printf("signo %u\n", si[0].ssi_signo);
    sigset_t pending;
    sigpending(&pending);
    EXPECT_FACT("SIGUSR1 still pending", sigismember(&pending, SIGUSR1));

    /* sigtimedwait shares the dequeueing: it takes SIGUSR1, then times out. */
    siginfo_t info;
    struct timespec ts = {0, 20 * 1000 * 1000};
    EXPECT_RET("sigtimedwait takes the pending SIGUSR1", sigtimedwait(&mask, &info, &ts), SIGUSR1);
    printf("si_code %d pid %s\n", info.si_code, info.si_pid == getpid() ? "ok" : "wrong");
    EXPECT_ERRNO("then times out", sigtimedwait(&mask, &info, &ts), EAGAIN);
    pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        struct timespec nap = {0, 50 * 1000 * 1000};
        nanosleep(&nap, NULL);
        kill(getppid(), SIGUSR2);
        _exit(0);
    }
    EXPECT_RET("sigwaitinfo woken by the child's SIGUSR2", sigwaitinfo(&only2, &info), SIGUSR2);
    waitpid(pid, NULL, 0);
    return guest_ok();
}
