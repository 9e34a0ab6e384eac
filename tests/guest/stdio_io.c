/* I/O on the inherited stdio fds: readv/writev with several iovecs, zero-length transfers, EOF
 * on stdin, wrong-direction and closed fds, and what isatty/TCGETS/TIOCGWINSZ/fstat report.
 * Expects the harness's stdio: stdin /dev/null, stdout and stderr regular files. */
#include "guest.h"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <termios.h>

static const char *file_type(int fd)
{
    struct stat st;

    if (fstat(fd, &st) != 0)
        return guest_errno_name(errno);
    if (S_ISREG(st.st_mode))
        return "regular file";
    if (S_ISFIFO(st.st_mode))
        return "fifo";
    if (S_ISCHR(st.st_mode))
        return "character device";
    if (S_ISSOCK(st.st_mode))
        return "socket";
    return "other";
}

int main(void)
{
    char buf[64];
    char a[] = "writev: one, ", b[] = "", c[] = "two, ", d[] = "three\n";
    struct iovec out[] = {{a, strlen(a)}, {b, 0}, {c, strlen(c)}, {d, strlen(d)}};

    printf("fd 0: %s\nfd 1: %s\nfd 2: %s\n", file_type(0), file_type(1), file_type(2));
    fflush(stdout);

    EXPECT_RET("writev 4 iovecs (one empty)", writev(STDOUT_FILENO, out, 4),
               strlen(a) + strlen(c) + strlen(d));
    EXPECT_RET("writev 0 iovecs", writev(STDOUT_FILENO, out, 0), 0);
    EXPECT_RET("write 0 bytes", write(STDOUT_FILENO, a, 0), 0);
    EXPECT_RET("write 0 bytes from NULL", syscall(SYS_write, STDOUT_FILENO, NULL, 0), 0);
    EXPECT_RET("writev to stderr", writev(STDERR_FILENO, out, 4),
               strlen(a) + strlen(c) + strlen(d));
    EXPECT_ERRNO("writev iovcnt -1", syscall(SYS_writev, STDOUT_FILENO, out, -1), EINVAL);
    EXPECT_ERRNO("writev iovcnt 1025", syscall(SYS_writev, STDOUT_FILENO, out, 1025), EINVAL);

    /* stdin is /dev/null: every read is EOF. */
    struct iovec in[] = {{buf, 10}, {buf + 10, 20}};
    EXPECT_RET("read stdin", read(STDIN_FILENO, buf, sizeof(buf)), 0);
    EXPECT_RET("readv stdin 2 iovecs", readv(STDIN_FILENO, in, 2), 0);
    EXPECT_RET("read 0 bytes", read(STDIN_FILENO, buf, 0), 0);

    /* Wrong direction and fds that are not open. */
    EXPECT_ERRNO("write to stdin (read-only)", write(STDIN_FILENO, a, 1), EBADF);
    EXPECT_ERRNO("read from stdout (write-only)", read(STDOUT_FILENO, buf, 1), EBADF);
    EXPECT_ERRNO("write to fd 1000", write(1000, a, 1), EBADF);
    EXPECT_ERRNO("write to fd -1", write(-1, a, 1), EBADF);
    struct stat st;
    EXPECT_ERRNO("fstat fd 1000", fstat(1000, &st), EBADF);

    /* None of them is a terminal. */
    struct termios tio;
    struct winsize ws;
    for (int fd = 0; fd <= 2; fd++) {
        errno = 0;
        int tty = isatty(fd);
        printf("isatty(%d) = %d %s\n", fd, tty, guest_errno_name(errno));
        CHECK(tty == 0 && errno == ENOTTY, "want 0 ENOTTY");
    }
    EXPECT_ERRNO("ioctl(1, TCGETS)", ioctl(STDOUT_FILENO, TCGETS, &tio), ENOTTY);
    EXPECT_ERRNO("ioctl(0, TCGETS)", ioctl(STDIN_FILENO, TCGETS, &tio), ENOTTY);
    EXPECT_ERRNO("ioctl(1, TIOCGWINSZ)", ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws), ENOTTY);
    EXPECT_ERRNO("ioctl(1000, TCGETS)", ioctl(1000, TCGETS, &tio), EBADF);
    return guest_ok();
}
