/* timerfd: one-shot and periodic timers on CLOCK_MONOTONIC, CLOCK_REALTIME and CLOCK_BOOTTIME,
 * TFD_TIMER_ABSTIME (also in the past: expirations counted at once), expiration counts,
 * timerfd_gettime, disarming, TFD_NONBLOCK's EAGAIN, blocking reads, poll and epoll readiness,
 * and the EINVAL/EBADF rules. Times are only checked as lower bounds. */
#include "guest.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>

static long elapsed_ms(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

static uint64_t ticks(int fd)
{
    uint64_t v = 0;
    CHECK(read(fd, &v, sizeof(v)) == sizeof(v), "read: %s", guest_errno_name(errno));
    return v;
}

static struct itimerspec ms_timer(long value_ms, long interval_ms)
{
    struct itimerspec its = {
        .it_value = {value_ms / 1000, (value_ms % 1000) * 1000000L},
        .it_interval = {interval_ms / 1000, (interval_ms % 1000) * 1000000L},
    };
    return its;
}

int main(void)
{
    struct timespec start;
    struct itimerspec its, old;
    uint64_t v;

    setvbuf(stdout, NULL, _IOLBF, 0);
    EXPECT_ERRNO("bad clock", timerfd_create(12345, 0), EINVAL);
    EXPECT_ERRNO("bad flags", timerfd_create(CLOCK_MONOTONIC, 0x4), EINVAL);
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    CHECK(fd >= 0, "timerfd_create");
    EXPECT_RET("F_GETFL", fcntl(fd, F_GETFL), O_RDWR | O_NONBLOCK);
    EXPECT_RET("close-on-exec", fcntl(fd, F_GETFD), FD_CLOEXEC);
    EXPECT_ERRNO("read of a disarmed timer", read(fd, &v, sizeof(v)), EAGAIN);
    char small[4];
    EXPECT_ERRNO("read of 4 bytes", read(fd, small, sizeof(small)), EINVAL);
    EXPECT_ERRNO("write", write(fd, &v, sizeof(v)), EINVAL);
    CHECK(timerfd_gettime(fd, &its) == 0, "gettime");
    EXPECT_FACT("disarmed reads as zero", its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0);

    /* One-shot, relative. */
    clock_gettime(CLOCK_MONOTONIC, &start);
    its = ms_timer(50, 0);
    EXPECT_RET("settime 50 ms", timerfd_settime(fd, 0, &its, &old), 0);
    CHECK(timerfd_gettime(fd, &its) == 0, "gettime");
    EXPECT_FACT("gettime: some time left, at most 50 ms", its.it_value.tv_sec == 0 &&
                                                              its.it_value.tv_nsec > 0 &&
                                                              its.it_value.tv_nsec <= 50000000L);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    EXPECT_RET("poll: not yet", poll(&pfd, 1, 0), 0);
    EXPECT_RET("poll: ready within 5 s", poll(&pfd, 1, 5000), 1);
    EXPECT_FACT("at least 50 ms passed", elapsed_ms(&start) >= 50);
    EXPECT_RET("one expiration", ticks(fd), 1);
    EXPECT_ERRNO("then nothing", read(fd, &v, sizeof(v)), EAGAIN);
    CHECK(timerfd_gettime(fd, &its) == 0, "gettime");
    EXPECT_FACT("expired one-shot reads as zero",
                its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0);

    /* Periodic: expirations accumulate while nobody reads. */
    clock_gettime(CLOCK_MONOTONIC, &start);
    its = ms_timer(20, 20);
    CHECK(timerfd_settime(fd, 0, &its, NULL) == 0, "settime");
    struct timespec nap = {0, 110 * 1000 * 1000};
    nanosleep(&nap, NULL);
    v = ticks(fd);
    printf("periodic: at least 5 expirations after 110 ms: %s\n", v >= 5 ? "yes" : "no");
    CHECK(v >= 5, "got %llu", (unsigned long long)v);
    CHECK(timerfd_gettime(fd, &its) == 0, "gettime");
    EXPECT_FACT("gettime: interval 20 ms",
                its.it_interval.tv_sec == 0 && its.it_interval.tv_nsec == 20000000L);
    EXPECT_FACT("gettime: next within 20 ms",
                its.it_value.tv_sec == 0 && its.it_value.tv_nsec <= 20000000L);
    its = ms_timer(0, 0);
    CHECK(timerfd_settime(fd, 0, &its, &old) == 0, "settime");
    EXPECT_FACT("old value had the interval", old.it_interval.tv_nsec == 20000000L);
    nanosleep(&nap, NULL);
    EXPECT_ERRNO("disarmed: no expirations", read(fd, &v, sizeof(v)), EAGAIN);

    /* Absolute times, in the past and the future, on each clock. */
    const clockid_t clocks[] = {CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME};
    const char *names[] = {"MONOTONIC", "REALTIME", "BOOTTIME"};
    for (int i = 0; i < 3; i++) {
        int tfd = timerfd_create(clocks[i], 0);
        CHECK(tfd >= 0, "timerfd_create");
        struct timespec now;
        clock_gettime(clocks[i], &now);
        its = (struct itimerspec){.it_value = {now.tv_sec - 1, now.tv_nsec},
                                  .it_interval = {0, 100 * 1000 * 1000}};
        CHECK(timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0, "settime");
        v = ticks(tfd);
        printf("%s: 1 s in the past, every 100 ms: 10 or 11 expirations: %s\n", names[i],
               v == 10 || v == 11 ? "yes" : "no");
        CHECK(v == 10 || v == 11, "got %llu", (unsigned long long)v);
        clock_gettime(clocks[i], &now);
        clock_gettime(CLOCK_MONOTONIC, &start);
        its = (struct itimerspec){.it_value = {now.tv_sec, now.tv_nsec + 0}};
        its.it_value.tv_nsec += 40 * 1000 * 1000;
        if (its.it_value.tv_nsec >= 1000000000L) {
            its.it_value.tv_sec++;
            its.it_value.tv_nsec -= 1000000000L;
        }
        CHECK(timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0, "settime");
        printf("%s: blocking read of a timer 40 ms ahead: %llu\n", names[i],
               (unsigned long long)ticks(tfd));
        EXPECT_FACT("waited at least 39 ms", elapsed_ms(&start) >= 39);
        close(tfd);
    }

    /* epoll sees the expiry. */
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 7};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0, "epoll_ctl");
    its = ms_timer(30, 0);
    CHECK(timerfd_settime(fd, 0, &its, NULL) == 0, "settime");
    EXPECT_RET("epoll_wait: expiry", epoll_wait(ep, &ev, 1, 5000), 1);
    printf("epoll event %#x data %llu\n", ev.events, (unsigned long long)ev.data.u64);
    EXPECT_RET("read", ticks(fd), 1);
    EXPECT_RET("epoll_wait: nothing after the read", epoll_wait(ep, &ev, 1, 0), 0);

    /* Errors. */
    its = ms_timer(10, 0);
    EXPECT_ERRNO("settime on a bad fd", timerfd_settime(999, 0, &its, NULL), EBADF);
    EXPECT_ERRNO("settime on an epoll", timerfd_settime(ep, 0, &its, NULL), EINVAL);
    EXPECT_ERRNO("settime bad flags", timerfd_settime(fd, 0x10, &its, NULL), EINVAL);
    its.it_value.tv_nsec = 1000000000L;
    EXPECT_ERRNO("settime bad nsec", timerfd_settime(fd, 0, &its, NULL), EINVAL);
    its = ms_timer(10, 0);
    its.it_interval.tv_sec = -1;
    EXPECT_ERRNO("settime negative interval", timerfd_settime(fd, 0, &its, NULL), EINVAL);
    EXPECT_ERRNO("settime bad pointer", timerfd_settime(fd, 0, (void *)8, NULL), EFAULT);
    EXPECT_ERRNO("gettime on a bad fd", timerfd_gettime(999, &its), EBADF);
    EXPECT_ERRNO("gettime bad pointer", timerfd_gettime(fd, (void *)8), EFAULT);
    return guest_ok();
}
