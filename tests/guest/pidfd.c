/* pidfds: pidfd_open's errors, poll readiness once the process has exited (before and after it
 * is reaped), pidfd_send_signal (with and without siginfo, through /proc/PID too), pidfd_getfd,
 * waitid(P_PIDFD) blocking and with PIDFD_NONBLOCK, CLONE_PIDFD through clone and clone3, and
 * what fstat and /proc/self/fdinfo show. */
#include "guest.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#define PIDFD_NONBLOCK O_NONBLOCK

static long pidfd_open(pid_t pid, unsigned flags)
{
    return syscall(SYS_pidfd_open, pid, flags);
}

static long pidfd_send_signal(int fd, int sig, siginfo_t *info, unsigned flags)
{
    return syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}

static long pidfd_getfd(int fd, int target, unsigned flags)
{
    return syscall(SYS_pidfd_getfd, fd, target, flags);
}

static int readable(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, timeout_ms);
    return n == 1 && (p.revents & POLLIN);
}

/* A child that waits for a byte on `gate` (or EOF), then exits with `code`. */
static pid_t gated_child(int gate[2], int code)
{
    CHECK(pipe(gate) == 0, "pipe");
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        char c;
        close(gate[1]);
        (void)read(gate[0], &c, 1);
        _exit(code);
    }
    close(gate[0]);
    return pid;
}

static void *idle_thread(void *arg)
{
    (void)arg;
    pause();
    return NULL;
}

static volatile sig_atomic_t got_usr1, usr1_code, usr1_value;
static void on_usr1(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    got_usr1++;
    usr1_code = si->si_code;
    usr1_value = si->si_value.sival_int;
}

static void print_fdinfo_pid(const char *what, int fd)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
    int in = open(path, O_RDONLY);
    CHECK(in >= 0, "open %s", path);
    ssize_t n = read(in, buf, sizeof(buf) - 1);
    close(in);
    CHECK(n > 0, "read fdinfo");
    buf[n] = '\0';
    char *line = strstr(buf, "Pid:\t");
    CHECK(line != NULL, "no Pid line");
    long pid = strtol(line + 5, NULL, 10);
    printf("%s: %s\n", what, pid == -1 ? "-1" : pid > 0 ? "the pid" : "other");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int gate[2], status;
    siginfo_t si;

    EXPECT_ERRNO("pidfd_open(0)", pidfd_open(0, 0), EINVAL);
    EXPECT_ERRNO("pidfd_open(-1)", pidfd_open(-1, 0), EINVAL);
    EXPECT_ERRNO("pidfd_open bad flags", pidfd_open(getpid(), 1), EINVAL);
    EXPECT_ERRNO("pidfd_open(no such pid)", pidfd_open(30000, 0), ESRCH);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, idle_thread, NULL) == 0, "pthread_create");
    usleep(20000);
    /* A thread's tid is no process. */
    char taskdir[64];
    snprintf(taskdir, sizeof(taskdir), "/proc/self/task");
    pid_t tid = 0;
    for (int i = getpid() + 1; i < getpid() + 64 && !tid; i++) {
        char p[96];
        snprintf(p, sizeof(p), "%s/%d", taskdir, i);
        if (access(p, F_OK) == 0)
            tid = i;
    }
    CHECK(tid > 0, "find the thread's tid");
    /* Linux 6.1 says EINVAL, newer ones (with PIDFD_THREAD) ENOENT. */
    errno = 0;
    long thread_fd = pidfd_open(tid, 0);
    EXPECT_FACT("pidfd_open(a thread) fails",
                thread_fd == -1 && (errno == EINVAL || errno == ENOENT));

    int self = (int)pidfd_open(getpid(), 0);
    CHECK(self >= 0, "pidfd_open(self): %s", guest_errno_name(errno));
    EXPECT_RET("pidfd is close-on-exec", fcntl(self, F_GETFD), FD_CLOEXEC);
    struct stat st;
    CHECK(fstat(self, &st) == 0, "fstat");
    EXPECT_FACT("fstat: an anon inode (no file type)", (st.st_mode & S_IFMT) == 0);
    char link[64], target[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", self);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    CHECK(n > 0, "readlink");
    target[n] = '\0';
    printf("fd link: %s\n", target);
    print_fdinfo_pid("fdinfo Pid of self", self);
    EXPECT_RET("self not readable while running", readable(self, 0), 0);
    char buf[8];
    EXPECT_ERRNO("read(pidfd)", read(self, buf, sizeof(buf)), EINVAL);

    /* Signals to ourselves. */
    struct sigaction sa = {.sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO};
    sigaction(SIGUSR1, &sa, NULL);
    EXPECT_ERRNO("pidfd_send_signal bad flags", pidfd_send_signal(self, SIGUSR1, NULL, 0x100), EINVAL);
    EXPECT_ERRNO("pidfd_send_signal(-1)", pidfd_send_signal(-1, SIGUSR1, NULL, 0), EBADF);
    EXPECT_ERRNO("pidfd_send_signal(stdout)", pidfd_send_signal(1, 0, NULL, 0), EBADF);
    EXPECT_RET("pidfd_send_signal(SIGUSR1)", pidfd_send_signal(self, SIGUSR1, NULL, 0), 0);
    EXPECT_RET("  handled, SI_USER", got_usr1 == 1 && usr1_code == SI_USER, 1);
    memset(&si, 0, sizeof(si));
    si.si_signo = SIGUSR1;
    si.si_code = SI_QUEUE;
    si.si_value.sival_int = 77;
    EXPECT_RET("pidfd_send_signal with siginfo", pidfd_send_signal(self, SIGUSR1, &si, 0), 0);
    EXPECT_RET("  its value", usr1_value, 77);
    si.si_signo = SIGUSR2;
    EXPECT_ERRNO("siginfo for another signal", pidfd_send_signal(self, SIGUSR1, &si, 0), EINVAL);
    int procdir = open("/proc/self", O_DIRECTORY | O_RDONLY);
    CHECK(procdir >= 0, "open /proc/self");
    EXPECT_RET("pidfd_send_signal(/proc/self dir)", pidfd_send_signal(procdir, SIGUSR1, NULL, 0),
               0);
    EXPECT_RET("  handled", got_usr1, 3);
    int procfile = open("/proc/self/status", O_RDONLY);
    EXPECT_ERRNO("pidfd_send_signal(/proc/self/status)",
                 pidfd_send_signal(procfile, SIGUSR1, NULL, 0), EBADF);
    close(procfile);
    close(procdir);

    /* pidfd_getfd: a copy of our own fd. */
    int dup = (int)pidfd_getfd(self, 1, 0);
    CHECK(dup >= 0, "pidfd_getfd: %s", guest_errno_name(errno));
    EXPECT_RET("pidfd_getfd result is close-on-exec", fcntl(dup, F_GETFD), FD_CLOEXEC);
    close(dup);
    EXPECT_ERRNO("pidfd_getfd(bad target fd)", pidfd_getfd(self, 999, 0), EBADF);
    EXPECT_ERRNO("pidfd_getfd bad flags", pidfd_getfd(self, 1, 1), EINVAL);
    EXPECT_ERRNO("pidfd_getfd(not a pidfd)", pidfd_getfd(1, 1, 0), EBADF);

    /* A child: a signal through its pidfd, readiness at exit, then reaped. */
    pid_t pid = gated_child(gate, 3);
    int pfd = (int)pidfd_open(pid, 0);
    CHECK(pfd >= 0, "pidfd_open(child)");
    int child_fd = (int)pidfd_getfd(pfd, 0, 0);
    EXPECT_FACT("pidfd_getfd from the child", child_fd >= 0);
    close(child_fd);
    EXPECT_RET("child not readable while running", readable(pfd, 50), 0);
    EXPECT_RET("waitid(P_PIDFD, WNOHANG) while running",
               waitid(P_PIDFD, (id_t)pfd, &si, WEXITED | WNOHANG), 0);
    int nb = (int)pidfd_open(pid, PIDFD_NONBLOCK);
    CHECK(nb >= 0, "pidfd_open(PIDFD_NONBLOCK)");
    EXPECT_RET("PIDFD_NONBLOCK sets O_NONBLOCK", (fcntl(nb, F_GETFL) & O_NONBLOCK) != 0, 1);
    EXPECT_ERRNO("waitid(P_PIDFD nonblocking) while running",
                 waitid(P_PIDFD, (id_t)nb, &si, WEXITED), EAGAIN);
    close(gate[1]);
    EXPECT_RET("child readable once exited", readable(pfd, 5000), 1);
    EXPECT_RET("  still (a zombie)", readable(pfd, 0), 1);
    EXPECT_RET("pidfd_send_signal to a zombie", pidfd_send_signal(pfd, SIGTERM, NULL, 0), 0);
    print_fdinfo_pid("fdinfo Pid of a zombie", pfd);
    memset(&si, 0, sizeof(si));
    EXPECT_RET("waitid(P_PIDFD)", waitid(P_PIDFD, (id_t)pfd, &si, WEXITED), 0);
    EXPECT_RET("  si_pid", si.si_pid == pid, 1);
    EXPECT_RET("  si_status", si.si_status, 3);
    EXPECT_RET("readable after reaping", readable(pfd, 0), 1);
    print_fdinfo_pid("fdinfo Pid once reaped", pfd);
    EXPECT_ERRNO("waitid(P_PIDFD) once reaped", waitid(P_PIDFD, (id_t)pfd, &si, WEXITED), ECHILD);
    EXPECT_ERRNO("pidfd_send_signal once reaped", pidfd_send_signal(pfd, SIGTERM, NULL, 0), ESRCH);
    EXPECT_ERRNO("pidfd_getfd once reaped", pidfd_getfd(pfd, 0, 0), ESRCH);
    close(pfd);
    close(nb);
    EXPECT_ERRNO("waitid(P_PIDFD, not a pidfd)", waitid(P_PIDFD, 0, &si, WEXITED), EBADF);

    /* A blocking waitid(P_PIDFD) and a signal that kills. */
    pid = gated_child(gate, 0);
    pfd = (int)pidfd_open(pid, 0);
    EXPECT_RET("pidfd_send_signal(SIGKILL) to the child", pidfd_send_signal(pfd, SIGKILL, NULL, 0),
               0);
    memset(&si, 0, sizeof(si));
    EXPECT_RET("waitid(P_PIDFD) blocking", waitid(P_PIDFD, (id_t)pfd, &si, WEXITED), 0);
    EXPECT_RET("  killed by", si.si_code == CLD_KILLED && si.si_status == SIGKILL, 1);
    close(gate[1]);
    close(pfd);
    si.si_code = SI_QUEUE;

    /* CLONE_PIDFD through clone(2) (the fd at parent_tid's slot) and clone3. */
    int cfd = -1;
    fflush(stdout);
    long cpid = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &cfd, 0, 0);
    if (cpid == 0)
        _exit(4);
    CHECK(cpid > 0, "clone(CLONE_PIDFD): %s", guest_errno_name(errno));
    EXPECT_FACT("clone gave a pidfd", cfd >= 0 && fcntl(cfd, F_GETFD) == FD_CLOEXEC);
    EXPECT_RET("its exit through the pidfd", readable(cfd, 5000), 1);
    CHECK(waitpid((pid_t)cpid, &status, 0) == cpid, "waitpid");
    EXPECT_RET("  code", WEXITSTATUS(status), 4);
    close(cfd);
    EXPECT_ERRNO("clone(CLONE_PIDFD|CLONE_PARENT_SETTID)",
                 syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &cfd, 0, 0),
                 EINVAL);
    /* (CLONE_PIDFD|CLONE_THREAD is EINVAL in Linux 6.1, a thread's pidfd since 6.9.) */
    struct clone_args ca;
    memset(&ca, 0, sizeof(ca));
    cfd = -1;
    ca.flags = CLONE_PIDFD;
    ca.pidfd = (uint64_t)(uintptr_t)&cfd;
    ca.exit_signal = SIGCHLD;
    fflush(stdout);
    cpid = syscall(SYS_clone3, &ca, sizeof(ca));
    if (cpid == 0)
        _exit(6);
    CHECK(cpid > 0, "clone3(CLONE_PIDFD): %s", guest_errno_name(errno));
    EXPECT_FACT("clone3 gave a pidfd", cfd >= 0);
    memset(&si, 0, sizeof(si));
    EXPECT_RET("waitid(P_PIDFD) on it", waitid(P_PIDFD, (id_t)cfd, &si, WEXITED), 0);
    EXPECT_RET("  code", si.si_status, 6);
    close(cfd);
    ca.pidfd = 8; /* an unmapped address */
    EXPECT_ERRNO("clone3(CLONE_PIDFD) with a bad address", syscall(SYS_clone3, &ca, sizeof(ca)),
                 EFAULT);
    EXPECT_ERRNO("no child left behind", waitpid(-1, &status, WNOHANG), ECHILD);
    return guest_ok();
}
