/* FIFOs made with mkfifo/mknod: a node on the filesystem whose opens rendezvous on one pipe.
 * O_RDONLY|O_NONBLOCK opens at once, O_WRONLY|O_NONBLOCK without a reader is ENXIO, O_RDWR
 * never waits, a blocking O_RDONLY open waits for a writer (and the reverse), data flows
 * between separate opens, end of file and EPIPE when the other side goes, poll, fstat. */
#include "guest.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static long elapsed_ms(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* A child that sleeps 50 ms, then opens path with flags, writes "hi" if it can, and exits. */
static pid_t later_open(const char *path, int flags)
{
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        int fd = open(path, flags);
        if (fd >= 0 && (flags & O_ACCMODE) != O_RDONLY)
            (void)!write(fd, "hi", 2);
        _exit(fd >= 0 ? 0 : 1);
    }
    return pid;
}

int main(void)
{
    char dir[] = "/tmp/fifoXXXXXX", path[64], path2[64], buf[8];
    struct timespec start;
    int status;

    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    CHECK(mkdtemp(dir), "mkdtemp");
    snprintf(path, sizeof(path), "%s/f", dir);
    snprintf(path2, sizeof(path2), "%s/g", dir);
    EXPECT_RET("mkfifo", mkfifo(path, 0600), 0);
    EXPECT_RET("mknod S_IFIFO", mknod(path2, S_IFIFO | 0644, 0), 0);
    EXPECT_ERRNO("mkfifo over it", mkfifo(path, 0600), EEXIST);
    struct stat st;
    CHECK(stat(path2, &st) == 0, "stat");
    printf("stat: fifo %d mode %o size %ld\n", S_ISFIFO(st.st_mode), st.st_mode & 07777,
           (long)st.st_size);

    EXPECT_ERRNO("O_WRONLY|O_NONBLOCK without a reader", open(path, O_WRONLY | O_NONBLOCK), ENXIO);
    int r = open(path, O_RDONLY | O_NONBLOCK);
    CHECK(r >= 0, "open reader: %s", guest_errno_name(errno));
    struct pollfd pfd = {.fd = r, .events = POLLIN};
    EXPECT_RET("poll: no writer yet is no hang-up", poll(&pfd, 1, 0), 0);
    EXPECT_RET("read with no writer: end of file", read(r, buf, sizeof(buf)), 0);
    int w = open(path, O_WRONLY | O_NONBLOCK);
    CHECK(w >= 0, "open writer: %s", guest_errno_name(errno));
    CHECK(fstat(w, &st) == 0, "fstat");
    printf("fstat of the open fifo: fifo %d\n", S_ISFIFO(st.st_mode));
    EXPECT_RET("write", write(w, "abc", 3), 3);
    EXPECT_RET("poll: readable", poll(&pfd, 1, 0), 1);
    printf("revents %#x\n", pfd.revents);
    EXPECT_RET("read across opens", read(r, buf, sizeof(buf)), 3);
    EXPECT_ERRNO("empty with a writer: EAGAIN", read(r, buf, sizeof(buf)), EAGAIN);
    close(w);
    EXPECT_RET("poll after the writer left", poll(&pfd, 1, 0), 1);
    printf("revents %#x\n", pfd.revents);
    EXPECT_RET("end of file", read(r, buf, sizeof(buf)), 0);
    close(r);

    /* O_RDWR never waits and is both ends. */
    int rw = open(path, O_RDWR);
    CHECK(rw >= 0, "open O_RDWR");
    EXPECT_RET("O_RDWR write", write(rw, "xy", 2), 2);
    EXPECT_RET("O_RDWR read", read(rw, buf, sizeof(buf)), 2);
    close(rw);

    /* Data does not outlive the last close. */
    rw = open(path, O_RDWR);
    CHECK(write(rw, "old", 3) == 3, "write");
    close(rw);
    rw = open(path, O_RDWR | O_NONBLOCK);
    EXPECT_ERRNO("a new pipe is empty", read(rw, buf, sizeof(buf)), EAGAIN);
    close(rw);

    /* A blocking reader waits for a writer. */
    clock_gettime(CLOCK_MONOTONIC, &start);
    pid_t pid = later_open(path, O_WRONLY);
    r = open(path, O_RDONLY);
    CHECK(r >= 0, "blocking open: %s", guest_errno_name(errno));
    EXPECT_FACT("open waited at least 50 ms for the writer", elapsed_ms(&start) >= 50);
    memset(buf, 0, sizeof(buf));
    EXPECT_RET("read the child's data", read(r, buf, sizeof(buf)), 2);
    printf("data %s\n", buf);
    waitpid(pid, &status, 0);
    EXPECT_RET("child status", WEXITSTATUS(status), 0);
    EXPECT_RET("then end of file", read(r, buf, sizeof(buf)), 0);
    close(r);

    /* A blocking writer waits for a reader. */
    clock_gettime(CLOCK_MONOTONIC, &start);
    pid = later_open(path, O_RDONLY);
    w = open(path, O_WRONLY);
    CHECK(w >= 0, "blocking open: %s", guest_errno_name(errno));
    EXPECT_FACT("open waited at least 50 ms for the reader", elapsed_ms(&start) >= 50);
    waitpid(pid, &status, 0);
    EXPECT_ERRNO("the reader left: EPIPE", write(w, "z", 1), EPIPE);
    close(w);

    EXPECT_RET("unlink", unlink(path), 0);
    EXPECT_RET("unlink", unlink(path2), 0);
    EXPECT_RET("rmdir", rmdir(dir), 0);
    return guest_ok();
}
