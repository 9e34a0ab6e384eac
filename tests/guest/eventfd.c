/* eventfd: counter semantics, EFD_SEMAPHORE, EFD_NONBLOCK, EFD_CLOEXEC, the EINVAL and EAGAIN
 * rules, 8-byte reads and writes, a write blocking at the top of the counter until a read
 * makes room, a read blocking until another process writes, poll readiness, and fstat. */
#include "guest.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static uint64_t get(int fd)
{
    uint64_t v = 0;
    CHECK(read(fd, &v, sizeof(v)) == sizeof(v), "read: %s", guest_errno_name(errno));
    return v;
}

static void put(int fd, uint64_t v)
{
    CHECK(write(fd, &v, sizeof(v)) == sizeof(v), "write: %s", guest_errno_name(errno));
}

static unsigned poll_events(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
    CHECK(poll(&p, 1, 0) >= 0, "poll");
    return (unsigned)p.revents;
}

/* A child that sleeps 50 ms, then writes `v` to fd (or reads once when v is 0). */
static pid_t later(int fd, uint64_t v)
{
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        uint64_t got;
        if (v)
            (void)!write(fd, &v, sizeof(v));
        else
            (void)!read(fd, &got, sizeof(got));
        _exit(0);
    }
    return pid;
}

int main(void)
{
    uint64_t v;
    char small[4];

    setvbuf(stdout, NULL, _IOLBF, 0);
    EXPECT_ERRNO("eventfd2 with unknown flags", syscall(SYS_eventfd2, 0, 0x12345), EINVAL);
    int fd = eventfd(5, EFD_NONBLOCK);
    CHECK(fd >= 0, "eventfd");
    EXPECT_RET("F_GETFL is O_RDWR|O_NONBLOCK", fcntl(fd, F_GETFL), O_RDWR | O_NONBLOCK);
    EXPECT_RET("no close-on-exec", fcntl(fd, F_GETFD), 0);
    EXPECT_RET("poll: readable and writable", poll_events(fd), POLLIN | POLLOUT);
    EXPECT_ERRNO("read of 4 bytes", read(fd, small, sizeof(small)), EINVAL);
    EXPECT_ERRNO("write of 4 bytes", write(fd, small, sizeof(small)), EINVAL);
    EXPECT_RET("read takes the count", get(fd), 5);
    EXPECT_ERRNO("read at zero (nonblocking)", read(fd, &v, sizeof(v)), EAGAIN);
    EXPECT_RET("poll: only writable", poll_events(fd), POLLOUT);
    put(fd, 3);
    put(fd, 4);
    char big[16] = {0};
    EXPECT_RET("read into 16 bytes returns 8", read(fd, big, sizeof(big)), 8);
    memcpy(&v, big, sizeof(v));
    EXPECT_RET("writes add up", v, 7);
    v = UINT64_MAX;
    EXPECT_ERRNO("write of ULLONG_MAX", write(fd, &v, sizeof(v)), EINVAL);
    put(fd, UINT64_MAX - 1);
    EXPECT_RET("poll at the maximum: readable only", poll_events(fd), POLLIN);
    v = 1;
    EXPECT_ERRNO("write past the maximum (nonblocking)", write(fd, &v, sizeof(v)), EAGAIN);
    v = 0;
    EXPECT_RET("a zero write always fits", write(fd, &v, sizeof(v)), 8);
    EXPECT_RET("read the maximum", get(fd) == UINT64_MAX - 1, 1);
    EXPECT_RET("lseek is a no-op", lseek(fd, 100, SEEK_SET), 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0, "fstat");
    printf("fstat: mode %o nlink %lu size %ld\n", st.st_mode, (unsigned long)st.st_nlink,
           (long)st.st_size);
    char link[64] = {0}, path[32];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    CHECK(readlink(path, link, sizeof(link) - 1) > 0, "readlink");
    printf("/proc/self/fd names it %s\n", link);
    close(fd);

    /* EFD_SEMAPHORE: each read takes one. */
    fd = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK(fd >= 0, "eventfd");
    EXPECT_RET("close-on-exec", fcntl(fd, F_GETFD), FD_CLOEXEC);
    EXPECT_RET("semaphore read 1", get(fd), 1);
    EXPECT_RET("semaphore read 2", get(fd), 1);
    EXPECT_ERRNO("semaphore empty", read(fd, &v, sizeof(v)), EAGAIN);
    close(fd);

    /* Blocking: a read waits for a writer; a write at the top waits for a reader. */
    fd = eventfd(0, 0);
    CHECK(fd >= 0, "eventfd");
    pid_t pid = later(fd, 42);
    EXPECT_RET("blocking read woken by a child's write", get(fd), 42);
    waitpid(pid, NULL, 0);
    put(fd, UINT64_MAX - 1);
    pid = later(fd, 0);
    put(fd, 9); /* blocks until the child's read empties the counter */
    waitpid(pid, NULL, 0);
    EXPECT_RET("the blocked write landed after the read", get(fd), 9);
    EXPECT_RET("eventfd (old call) works", syscall(SYS_eventfd, 1) >= 0, 1);
    return guest_ok();
}
