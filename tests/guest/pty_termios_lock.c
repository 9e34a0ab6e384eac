/* Less common terminal ioctls (tty_ioctl(4)) on a pty: locked termios (TIOCGLCKTRMIOS/
 * TIOCSLCKTRMIOS: locked bits and control characters keep their values through tcsetattr on
 * either end; setting the lock takes privilege), System V's struct termio (TCGETA/TCSETA*), and
 * exclusive mode (TIOCEXCL/TIOCNXCL/TIOCGEXCL). */
#include "guest.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>

static void show(const char *what, int fd)
{
    struct termios t;
    CHECK(tcgetattr(fd, &t) == 0, "%s", "tcgetattr");
    printf("%s: echo=%d icanon=%d opost=%d vintr=%d veof=%d\n", what, !!(t.c_lflag & ECHO),
           !!(t.c_lflag & ICANON), !!(t.c_oflag & OPOST), t.c_cc[VINTR], t.c_cc[VEOF]);
}

int main(void)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(m >= 0 && unlockpt(m) == 0, "%s", "openpt");
    int s = open(ptsname(m), O_RDWR | O_NOCTTY);
    CHECK(s >= 0, "%s", "open slave");

    struct termios lock;
    memset(&lock, 0xff, sizeof(lock));
    CHECK(ioctl(s, TIOCGLCKTRMIOS, &lock) == 0, "%s", "TIOCGLCKTRMIOS");
    int zero = 1;
    for (size_t i = 0; i < 19; i++) /* the kernel's NCCS; glibc's c_cc is longer */
        zero &= lock.c_cc[i] == 0;
    printf("initial lock: iflag=%#x oflag=%#x cflag=%#x lflag=%#x cc all zero=%d\n", lock.c_iflag,
           lock.c_oflag, lock.c_cflag, lock.c_lflag, zero);

    memset(&lock, 0, sizeof(lock));
    lock.c_lflag = ECHO;
    lock.c_cc[VINTR] = 1;
    CHECK(ioctl(s, TIOCSLCKTRMIOS, &lock) == 0, "%s", "TIOCSLCKTRMIOS");
    show("before", s);

    struct termios t;
    CHECK(tcgetattr(s, &t) == 0, "%s", "tcgetattr");
    t.c_lflag &= ~(ECHO | ICANON);
    t.c_oflag &= ~OPOST;
    t.c_cc[VINTR] = 7;
    t.c_cc[VEOF] = 9;
    CHECK(tcsetattr(s, TCSANOW, &t) == 0, "%s", "tcsetattr slave");
    show("after tcsetattr on the slave", s);
    t.c_lflag |= ICANON;
    CHECK(tcsetattr(m, TCSANOW, &t) == 0, "%s", "tcsetattr master");
    show("after tcsetattr on the master", s);
    memset(&lock, 0, sizeof(lock));
    CHECK(ioctl(m, TIOCGLCKTRMIOS, &lock) == 0, "%s", "TIOCGLCKTRMIOS master");
    printf("lock seen from the master: lflag echo=%d vintr=%d\n", !!(lock.c_lflag & ECHO),
           lock.c_cc[VINTR]);

    printf("bad pointer: %s\n",
           ioctl(s, TIOCGLCKTRMIOS, (void *)8) == 0 ? "ok" : guest_errno_name(errno));

    struct termio tio1;
    CHECK(ioctl(s, TCGETA, &tio1) == 0, "%s", "TCGETA");
    printf("TCGETA: lflag=%#x vintr=%d veof=%d\n", tio1.c_lflag, tio1.c_cc[VINTR], tio1.c_cc[VEOF]);
    tio1.c_lflag &= (unsigned short)~(ICANON | ECHO);
    tio1.c_cc[VEOF] = 5;
    CHECK(ioctl(s, TCSETAW, &tio1) == 0, "%s", "TCSETAW");
    show("after TCSETAW", s);
    tio1.c_lflag |= ICANON;
    CHECK(ioctl(s, TCSETAF, &tio1) == 0, "%s", "TCSETAF");
    show("after TCSETAF", s);
    printf("TCSETA bad pointer: %s\n",
           ioctl(s, TCSETA, (void *)8) == 0 ? "ok" : guest_errno_name(errno));

    int excl = -1;
    CHECK(ioctl(s, TIOCGEXCL, &excl) == 0, "%s", "TIOCGEXCL");
    printf("exclusive at first: %d\n", excl);
    CHECK(ioctl(s, TIOCEXCL) == 0 && ioctl(s, TIOCGEXCL, &excl) == 0, "%s", "TIOCEXCL");
    printf("exclusive after TIOCEXCL: %d\n", excl);
    CHECK(ioctl(m, TIOCGEXCL, &excl) == 0, "%s", "TIOCGEXCL master");
    printf("master's own flag: %d\n", excl);
    CHECK(fchmod(s, 0666) == 0, "%s", "fchmod");
    int again = open(ptsname(m), O_RDWR | O_NOCTTY);
    printf("privileged reopen while exclusive: %s\n", again >= 0 ? "ok" : guest_errno_name(errno));
    if (again >= 0)
        close(again);

    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0, "%s", "fork");
    if (pid == 0) {
        if (setuid(65534) != 0)
            _exit(2);
        memset(&lock, 0, sizeof(lock));
        int r = ioctl(s, TIOCSLCKTRMIOS, &lock);
        printf("unprivileged TIOCSLCKTRMIOS: %s\n", r == 0 ? "ok" : guest_errno_name(errno));
        r = ioctl(s, TIOCGLCKTRMIOS, &lock);
        printf("unprivileged TIOCGLCKTRMIOS: %s\n", r == 0 ? "ok" : guest_errno_name(errno));
        r = open(ptsname(m), O_RDWR | O_NOCTTY);
        printf("unprivileged open while exclusive: %s\n", r >= 0 ? "ok" : guest_errno_name(errno));
        ioctl(s, TIOCNXCL);
        r = open(ptsname(m), O_RDWR | O_NOCTTY);
        printf("unprivileged open after TIOCNXCL: %s\n", r >= 0 ? "ok" : guest_errno_name(errno));
        fflush(stdout);
        _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid, "%s", "waitpid");
    printf("child status %d\n", status);
    return guest_ok();
}
