/* Pseudo-terminals: posix_openpt/grantpt/unlockpt/ptsname, the slave's lock, default termios,
 * canonical and raw reads, echo, output processing, hangups both ways. */
#include "guest.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>

/* Reads what the master has now (echoes, output) and prints it escaped. */
static void show_master(int m, const char *what)
{
    char buf[256];
    struct pollfd p = {.fd = m, .events = POLLIN};
    printf("%s: \"", what);
    while (poll(&p, 1, 100) == 1 && (p.revents & POLLIN)) {
        ssize_t n = read(m, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)buf[i];
            if (c < 32 || c >= 127)
                printf("\\x%02x", c);
            else
                putchar(c);
        }
    }
    printf("\"\n");
}

static void show_read(int s, const char *what)
{
    char buf[64];
    ssize_t n = read(s, buf, sizeof(buf));
    if (n < 0)
        printf("%s: %s\n", what, guest_errno_name(errno));
    else
        printf("%s: %zd \"%.*s\"\n", what, n, (int)n, buf);
}

int main(void)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(m >= 0, "%s", "failed");
    char *name = ptsname(m);
    CHECK(name != NULL, "%s", "failed");
    int num = -1;
    printf("ptsname form: %d\n", sscanf(name, "/dev/pts/%d", &num) == 1 && num >= 0);
    unsigned ptn = 99999;
    CHECK(ioctl(m, TIOCGPTN, &ptn) == 0, "%s", "failed");
    printf("TIOCGPTN matches: %d\n", (int)ptn == num);
    int s = open(name, O_RDWR | O_NOCTTY);
    printf("open locked slave: %s\n", s < 0 ? guest_errno_name(errno) : "opened");
    CHECK(grantpt(m) == 0, "%s", "failed");
    CHECK(unlockpt(m) == 0, "%s", "failed");
    /* Writing the master before any slave is open fails. */
    printf("master write without slave: %s\n",
           write(m, "x", 1) < 0 ? guest_errno_name(errno) : "written");
    s = open(name, O_RDWR | O_NOCTTY);
    CHECK(s >= 0, "%s", "failed");
    printf("isatty: %d %d\n", isatty(m), isatty(s));
    struct stat st;
    CHECK(fstat(s, &st) == 0, "%s", "failed");
    /* The mode depends on the host's devpts mount options: not printed. */
    printf("slave: chr %d major %u\n", S_ISCHR(st.st_mode), major(st.st_rdev));

    struct termios t;
    CHECK(tcgetattr(s, &t) == 0, "%s", "failed");
    printf("termios: i=%o o=%o c=%o l=%o vmin=%d vtime=%d intr=%d erase=%d\n", t.c_iflag,
           t.c_oflag, t.c_cflag, t.c_lflag, t.c_cc[VMIN], t.c_cc[VTIME], t.c_cc[VINTR],
           t.c_cc[VERASE]);
    struct winsize ws = {.ws_row = 24, .ws_col = 80};
    CHECK(ioctl(m, TIOCSWINSZ, &ws) == 0, "%s", "failed");
    memset(&ws, 0, sizeof(ws));
    CHECK(ioctl(s, TIOCGWINSZ, &ws) == 0, "%s", "failed");
    printf("winsize: %d %d\n", ws.ws_row, ws.ws_col);

    /* Canonical mode: a line with editing; echo with ONLCR. */
    CHECK(write(m, "helo\x7flo wor\x17world\r", 18) == 18, "%s", "failed");
    int avail = -1;
    /* Linux hands typed input to the line discipline asynchronously: wait for the line. */
    struct pollfd ps = {.fd = s, .events = POLLIN};
    CHECK(poll(&ps, 1, 1000) == 1, "%s", "no line");
    CHECK(ioctl(s, FIONREAD, &avail) == 0, "%s", "failed");
    printf("FIONREAD: %d\n", avail);
    show_read(s, "canonical read");
    show_master(m, "echo");
    CHECK(write(m, "abc\x15xyz\n", 8) == 8, "%s", "failed");
    show_read(s, "after kill");
    show_master(m, "kill echo");
    /* EOF: a partial line is returned without it, an empty one reads as 0. */
    CHECK(write(m, "ab\x04\x04", 4) == 4, "%s", "failed");
    show_read(s, "eof line");
    show_read(s, "eof empty");
    show_master(m, "eof echo");
    /* A short read takes part of a line; the rest stays. */
    CHECK(write(m, "0123456789\n", 11) == 11, "%s", "failed");
    char small[4];
    printf("short read: %zd\n", read(s, small, sizeof(small)));
    show_read(s, "rest");
    show_master(m, "line echo");
    /* Output processing: \n becomes \r\n; without OPOST it doesn't. */
    CHECK(write(s, "a\nb\n", 4) == 4, "%s", "failed");
    show_master(m, "onlcr");

    /* Raw mode: bytes as they come, no echo. */
    struct termios raw = t;
    cfmakeraw(&raw);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    CHECK(tcsetattr(s, TCSANOW, &raw) == 0, "%s", "failed");
    CHECK(write(m, "q\x03\r", 3) == 3, "%s", "failed");
    show_read(s, "raw read");
    show_master(m, "raw echo");
    CHECK(write(s, "x\ny", 3) == 3, "%s", "failed");
    show_master(m, "raw output");
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 1;
    CHECK(tcsetattr(s, TCSANOW, &raw) == 0, "%s", "failed");
    show_read(s, "vtime timeout");
    CHECK(tcsetattr(s, TCSANOW, &t) == 0, "%s", "failed");

    /* ECHOCTL and ISIG without a foreground group: the echo still shows ^C. */
    CHECK(write(m, "z\x1c", 2) == 2, "%s", "failed");
    show_master(m, "quit echo");
    int outq = -1;
    CHECK(ioctl(s, TIOCOUTQ, &outq) == 0, "%s", "failed");
    printf("TIOCOUTQ: %d\n", outq);
    CHECK(tcflush(s, TCIOFLUSH) == 0, "%s", "failed");
    CHECK(tcflow(s, TCOON) == 0, "%s", "failed");
    printf("TIOCGPGRP on a non-controlling slave: %s\n",
           ioctl(s, TIOCGPGRP, &outq) < 0 ? guest_errno_name(errno) : "ok");

    /* The slave closes: the master drains what is left, then reads EIO and polls HUP. */
    CHECK(write(s, "bye", 3) == 3, "%s", "failed");
    close(s);
    struct pollfd pm = {.fd = m, .events = POLLIN};
    CHECK(poll(&pm, 1, 1000) == 1, "%s", "failed");
    printf("master poll: in=%d hup=%d\n", !!(pm.revents & POLLIN), !!(pm.revents & POLLHUP));
    show_read(m, "master drain");
    show_read(m, "master after drain");

    /* The master closes: the slave reads end of file and writes EIO. */
    s = open(name, O_RDWR | O_NOCTTY);
    CHECK(s >= 0, "%s", "failed");
    close(m);
    show_read(s, "slave after hangup");
    printf("slave write after hangup: %s\n",
           write(s, "x", 1) < 0 ? guest_errno_name(errno) : "written");
    printf("slave tcgetattr after hangup: %s\n",
           tcgetattr(s, &t) < 0 ? guest_errno_name(errno) : "ok");
    close(s);
    printf("open after master close: %s\n",
           open(name, O_RDWR | O_NOCTTY) < 0 ? guest_errno_name(errno) : "opened");
    return guest_ok();
}
