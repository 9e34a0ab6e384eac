/* Controlling terminals and job control on a pty: acquiring it, /dev/tty, TIOCSPGRP's rules,
 * SIGTTIN/SIGTTOU for background groups, ^C and ^Z for the foreground group, stop and continue
 * seen by waitpid, and SIGHUP to the session leader when the master closes. */
#include "guest.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>

static void show_status(const char *what, int st)
{
    if (WIFEXITED(st))
        printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: killed by %d\n", what, WTERMSIG(st));
    else if (WIFSTOPPED(st))
        printf("%s: stopped by %d\n", what, WSTOPSIG(st));
    else if (WIFCONTINUED(st))
        printf("%s: continued\n", what);
}

/* A child in a process group of its own, running fn. */
static pid_t spawn(int (*fn)(int), int fd)
{
    pid_t pid = fork();
    CHECK(pid >= 0, "%s", "fork");
    if (pid == 0) {
        setpgid(0, 0);
        signal(SIGTTOU, SIG_DFL); /* the leader ignores it */
        _exit(fn(fd));
    }
    setpgid(pid, pid);
    return pid;
}

static int read_ignoring_ttin(int fd)
{
    char c;
    signal(SIGTTIN, SIG_IGN);
    errno = 0;
    ssize_t n = read(fd, &c, 1);
    return n < 0 ? (errno == EIO ? 5 : 6) : 7;
}

static int read_line(int fd)
{
    char buf[16];
    ssize_t n = read(fd, buf, sizeof(buf));
    return n < 0 ? 100 : (int)n;
}

static int write_byte(int fd)
{
    return write(fd, "w", 1) == 1 ? 3 : 4;
}

static int sleep_forever(int fd)
{
    (void)fd;
    for (;;)
        pause();
    return 0;
}

static volatile sig_atomic_t got_hup;
static void on_hup(int sig)
{
    (void)sig;
    got_hup = 1;
}

static int leader(int m, const char *name)
{
    int st;
    CHECK(setsid() > 0, "%s", "setsid");
    int fd = open(name, O_RDWR);
    CHECK(fd >= 0, "%s", "open slave");
    pid_t sid = -1;
    CHECK(ioctl(fd, TIOCGSID, &sid) == 0, "%s", "TIOCGSID");
    printf("controlling terminal: sid is mine %d, fg is mine %d\n", sid == getpid(),
           tcgetpgrp(fd) == getpgrp());
    int tty = open("/dev/tty", O_RDWR);
    printf("/dev/tty: %s\n", tty >= 0 ? "opened" : guest_errno_name(errno));
    close(tty);
    signal(SIGTTOU, SIG_IGN); /* the shell's way: tcsetpgrp from the background */

    /* TIOCSPGRP's rules. */
    EXPECT_ERRNO("tcsetpgrp no such group", tcsetpgrp(fd, 99999), ESRCH);
    EXPECT_ERRNO("tcsetpgrp other session", tcsetpgrp(fd, 1), EPERM);
    EXPECT_ERRNO("tcsetpgrp negative", tcsetpgrp(fd, -1), EINVAL);
    int other = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(other >= 0 && unlockpt(other) == 0, "%s", "second pty");
    int other_slave = open(ptsname(other), O_RDWR | O_NOCTTY);
    EXPECT_ERRNO("tcsetpgrp not my terminal", tcsetpgrp(other_slave, getpgrp()), ENOTTY);
    EXPECT_ERRNO("tcgetpgrp not my terminal", tcgetpgrp(other_slave), ENOTTY);
    EXPECT_ERRNO("TIOCSCTTY second terminal", ioctl(other_slave, TIOCSCTTY, 0), EPERM);
    close(other_slave);
    close(other);

    /* A background reader with SIGTTIN ignored reads EIO. */
    pid_t b = spawn(read_ignoring_ttin, fd);
    CHECK(waitpid(b, &st, 0) == b, "%s", "wait");
    show_status("background read, SIGTTIN ignored (5: EIO)", st);

    /* A background reader stops with SIGTTIN; in the foreground and continued, it reads. */
    b = spawn(read_line, fd);
    CHECK(waitpid(b, &st, WUNTRACED) == b, "%s", "wait");
    show_status("background read", st);
    CHECK(tcsetpgrp(fd, b) == 0, "%s", "tcsetpgrp");
    CHECK(write(m, "hi\n", 3) == 3, "%s", "type");
    CHECK(kill(b, SIGCONT) == 0, "%s", "kill");
    CHECK(waitpid(b, &st, 0) == b, "%s", "wait");
    show_status("foreground read (3 bytes)", st);
    CHECK(tcsetpgrp(fd, getpgrp()) == 0, "%s", "tcsetpgrp back");

    /* Background writes: allowed, until TOSTOP; then SIGTTOU stops the writer. */
    b = spawn(write_byte, fd);
    CHECK(waitpid(b, &st, WUNTRACED) == b, "%s", "wait");
    show_status("background write", st);
    struct termios t;
    CHECK(tcgetattr(fd, &t) == 0, "%s", "tcgetattr");
    t.c_lflag |= TOSTOP;
    CHECK(tcsetattr(fd, TCSANOW, &t) == 0, "%s", "tcsetattr");
    b = spawn(write_byte, fd);
    CHECK(waitpid(b, &st, WUNTRACED) == b, "%s", "wait");
    show_status("background write with TOSTOP", st);
    kill(b, SIGKILL);
    CHECK(waitpid(b, &st, 0) == b, "%s", "wait");
    show_status("killed writer", st);
    t.c_lflag &= ~TOSTOP;
    CHECK(tcsetattr(fd, TCSANOW, &t) == 0, "%s", "tcsetattr");

    /* ^Z stops the foreground group, SIGCONT resumes it, ^C ends it. */
    b = spawn(sleep_forever, fd);
    CHECK(tcsetpgrp(fd, b) == 0, "%s", "tcsetpgrp");
    CHECK(write(m, "\x1a", 1) == 1, "%s", "type ^Z");
    CHECK(waitpid(b, &st, WUNTRACED) == b, "%s", "wait");
    show_status("^Z", st);
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    CHECK(waitid(P_PID, (id_t)b, &info, WSTOPPED | WNOHANG) == 0, "%s", "waitid");
    printf("waitid again: pid seen %d\n", info.si_pid == b);
    CHECK(kill(b, SIGCONT) == 0, "%s", "kill");
    memset(&info, 0, sizeof(info));
    CHECK(waitid(P_PID, (id_t)b, &info, WCONTINUED) == 0, "%s", "waitid");
    printf("waitid: code continued %d status %d\n", info.si_code == CLD_CONTINUED,
           info.si_status);
    CHECK(write(m, "\x03", 1) == 1, "%s", "type ^C");
    CHECK(waitpid(b, &st, 0) == b, "%s", "wait");
    show_status("^C", st);
    CHECK(tcsetpgrp(fd, getpgrp()) == 0, "%s", "tcsetpgrp back");

    /* The master closing hangs up the session: its leader gets SIGHUP. */
    signal(SIGHUP, on_hup);
    fflush(stdout);
    CHECK(write(m, "", 0) == 0, "%s", "sync");
    return fd;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0, "%s", "openpt");
    const char *name = ptsname(m);
    int ready[2], go[2];
    CHECK(pipe(ready) == 0 && pipe(go) == 0, "%s", "pipe");
    pid_t l = fork();
    CHECK(l >= 0, "%s", "fork");
    if (l == 0) {
        int fd = leader(m, name);
        close(m);
        char c = 1;
        CHECK(write(ready[1], &c, 1) == 1, "%s", "ready");
        while (!got_hup)
            pause();
        char buf[4];
        ssize_t n = read(fd, buf, sizeof(buf));
        printf("leader: SIGHUP, read after hangup %zd\n", n);
        _exit(9);
    }
    char c;
    close(ready[1]);
    CHECK(read(ready[0], &c, 1) == 1, "%s", "wait for leader");
    close(m);
    int st;
    CHECK(waitpid(l, &st, 0) == l, "%s", "wait leader");
    show_status("leader", st);
    return guest_ok();
}
