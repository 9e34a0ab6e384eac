/* Reopening a file through its /proc/self/fd/N magic link: a pipe opens again as a FIFO would
 * (a new open file description on the same pipe, for reading, writing or both), also through
 * /dev/stdin after dup2; the link still reads "pipe:[ino]" and fstat shows the pipe's inode. A
 * socket gives ENXIO. */
#include "guest.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>

static int reopen(int fd, int flags)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    return open(path, flags);
}

static ino_t ino_of(int fd)
{
    struct stat st;
    CHECK(fstat(fd, &st) == 0, "fstat: %s", guest_errno_name(errno));
    return st.st_ino;
}

static bool same_link(int a, int b)
{
    char pa[64], pb[64], la[64] = "", lb[64] = "";
    snprintf(pa, sizeof(pa), "/proc/self/fd/%d", a);
    snprintf(pb, sizeof(pb), "/proc/self/fd/%d", b);
    ssize_t na = readlink(pa, la, sizeof(la) - 1);
    ssize_t nb = readlink(pb, lb, sizeof(lb) - 1);
    return na > 0 && na == nb && memcmp(la, lb, (size_t)na) == 0 && strncmp(la, "pipe:[", 6) == 0;
}

int main(void)
{
    int p[2];
    char buf[16];
    CHECK(pipe(p) == 0, "pipe");

    /* The read end reopened for reading, the write end for writing. */
    int r = reopen(p[0], O_RDONLY);
    CHECK(r >= 0, "reopen read end: %s", guest_errno_name(errno));
    int w = reopen(p[1], O_WRONLY);
    CHECK(w >= 0, "reopen write end: %s", guest_errno_name(errno));
    EXPECT_FACT("reopened read end: same inode", ino_of(r) == ino_of(p[0]));
    EXPECT_FACT("reopened write end: same inode", ino_of(w) == ino_of(p[1]));
    struct stat st;
    CHECK(fstat(r, &st) == 0, "fstat");
    EXPECT_FACT("reopened end is a FIFO", S_ISFIFO(st.st_mode));
    EXPECT_FACT("links read the same pipe:[ino]", same_link(r, p[0]) && same_link(w, p[1]));
    EXPECT_RET("write through the reopened end", write(w, "abc", 3), 3);
    memset(buf, 0, sizeof(buf));
    EXPECT_RET("read through the original end", read(p[0], buf, sizeof(buf)), 3);
    printf("data %s\n", buf);
    EXPECT_RET("write through the original end", write(p[1], "de", 2), 2);
    memset(buf, 0, sizeof(buf));
    EXPECT_RET("read through the reopened end", read(r, buf, sizeof(buf)), 2);
    printf("data %s\n", buf);
    EXPECT_FACT("reopened read end is O_RDONLY", (fcntl(r, F_GETFL) & O_ACCMODE) == O_RDONLY);
    EXPECT_ERRNO("reopened read end can't write", write(r, "x", 1), EBADF);

    /* A separate file description: its own status flags. */
    EXPECT_RET("O_NONBLOCK on the reopened end", fcntl(r, F_SETFL, O_NONBLOCK), 0);
    EXPECT_FACT("the original end stays blocking", !(fcntl(p[0], F_GETFL) & O_NONBLOCK));
    EXPECT_ERRNO("empty reopened end: EAGAIN", read(r, buf, sizeof(buf)), EAGAIN);

    /* The read end opened for writing (and the other way round): Linux opens the pipe afresh. */
    int w2 = reopen(p[0], O_WRONLY);
    CHECK(w2 >= 0, "read end reopened for writing: %s", guest_errno_name(errno));
    EXPECT_RET("write through it", write(w2, "f", 1), 1);
    EXPECT_RET("read it back", read(p[0], buf, 1), 1);
    int rw = reopen(p[1], O_RDWR);
    CHECK(rw >= 0, "O_RDWR reopen: %s", guest_errno_name(errno));
    EXPECT_RET("O_RDWR end writes", write(rw, "gh", 2), 2);
    EXPECT_RET("O_RDWR end reads", read(rw, buf, sizeof(buf)), 2);
    /* A reopened end of a reopened end. */
    int r3 = reopen(r, O_RDONLY | O_NONBLOCK);
    CHECK(r3 >= 0, "reopen of a reopened end: %s", guest_errno_name(errno));
    EXPECT_FACT("still the same inode", ino_of(r3) == ino_of(p[0]));
    EXPECT_FACT("its link reads pipe:[ino]", same_link(r3, p[0]));

    /* All writers gone: the reopened reader sees end of file. */
    close(p[1]);
    close(w);
    close(w2);
    close(rw);
    EXPECT_RET("end of file on the reopened end", read(r, buf, sizeof(buf)), 0);
    EXPECT_RET("end of file on the second reopen", read(r3, buf, sizeof(buf)), 0);
    /* No reader but the ones we hold... a non-blocking write-open still finds readers. */
    int w4 = reopen(p[0], O_WRONLY | O_NONBLOCK);
    CHECK(w4 >= 0, "non-blocking write reopen with readers: %s", guest_errno_name(errno));
    close(w4);
    close(r3);
    close(r);
    close(p[0]);

    /* /dev/stdin after dup2 of a pipe's read end. */
    CHECK(pipe(p) == 0, "pipe");
    int saved = dup(0);
    CHECK(saved >= 0, "dup");
    CHECK(dup2(p[0], 0) == 0, "dup2");
    EXPECT_RET("write into the pipe", write(p[1], "stdin", 5), 5);
    int in = open("/dev/stdin", O_RDONLY);
    CHECK(in >= 0, "open /dev/stdin: %s", guest_errno_name(errno));
    EXPECT_FACT("/dev/stdin: same inode", ino_of(in) == ino_of(p[0]));
    memset(buf, 0, sizeof(buf));
    EXPECT_RET("read /dev/stdin", read(in, buf, sizeof(buf)), 5);
    printf("data %s\n", buf);
    int out = open("/dev/stdin", O_WRONLY);
    CHECK(out >= 0, "open /dev/stdin for writing: %s", guest_errno_name(errno));
    EXPECT_RET("write through /dev/stdin", write(out, "back", 4), 4);
    memset(buf, 0, sizeof(buf));
    EXPECT_RET("read it on fd 0", read(0, buf, sizeof(buf)), 4);
    printf("data %s\n", buf);
    close(in);
    close(out);
    CHECK(dup2(saved, 0) == 0, "dup2 back");
    close(saved);
    close(p[0]);
    close(p[1]);

    /* An anonymous pipe never waits for a partner, nor refuses one (unlike a FIFO): with every
     * writer gone, a reader opens at once and reads end of file; with no reader, a writer opens
     * too, blocking or not. */
    CHECK(pipe(p) == 0, "pipe");
    close(p[1]);
    int late = reopen(p[0], O_RDONLY);
    CHECK(late >= 0, "reopen without writers: %s", guest_errno_name(errno));
    char c;
    printf("read after reopen without writers: %zd\n", read(late, &c, 1));
    close(late);
    close(p[0]);
    CHECK(pipe(p) == 0, "pipe");
    close(p[0]);
    int nb = reopen(p[1], O_WRONLY | O_NONBLOCK);
    printf("nonblocking writer without readers: %s\n",
           nb >= 0 ? "opened" : guest_errno_name(errno));
    if (nb >= 0)
        close(nb);
    int lone = reopen(p[1], O_WRONLY);
    printf("blocking writer without readers: %s\n", lone >= 0 ? "opened" : guest_errno_name(errno));
    if (lone >= 0)
        close(lone);
    close(p[1]);

    /* Sockets can't be opened through /proc (Linux: ENXIO). */
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
    EXPECT_ERRNO("socket via /proc/self/fd", reopen(sv[0], O_RDWR), ENXIO);
    close(sv[0]);
    close(sv[1]);
    int efd = eventfd(0, 0);
    CHECK(efd >= 0, "eventfd");
    errno = 0;
    int e2 = reopen(efd, O_RDWR);
    printf("eventfd via /proc/self/fd: %s\n", e2 >= 0 ? "success" : guest_errno_name(errno));
    if (e2 >= 0)
        close(e2);
    close(efd);
    return guest_ok();
}
