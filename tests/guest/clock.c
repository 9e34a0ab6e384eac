/* Clocks and sleeps: monotonic never goes back, the realtime sources agree, relative and
 * absolute sleeps last at least as asked, resolutions, and EINVAL for bad clocks and times. */
#include "guest.h"

#include <sys/time.h>
#include <time.h>

#define NSEC_PER_SEC 1000000000LL

static long long now_ns(clockid_t clock)
{
    struct timespec ts;

    CHECK(clock_gettime(clock, &ts) == 0, "clock_gettime(%d): %s", (int)clock,
          guest_errno_name(errno));
    CHECK(ts.tv_nsec >= 0 && ts.tv_nsec < NSEC_PER_SEC, "tv_nsec %ld", ts.tv_nsec);
    return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

int main(void)
{
    /* Monotonic: 10000 reads never go backwards. */
    long long prev = now_ns(CLOCK_MONOTONIC), first = prev;
    int backwards = 0;
    for (int i = 0; i < 10000; i++) {
        long long t = now_ns(CLOCK_MONOTONIC);
        if (t < prev)
            backwards = 1;
        prev = t;
    }
    EXPECT_FACT("CLOCK_MONOTONIC non-decreasing over 10000 reads", !backwards);
    EXPECT_FACT("CLOCK_MONOTONIC positive", first > 0);

    /* Realtime: clock_gettime, gettimeofday and time agree to within a couple of seconds. */
    struct timeval tv;
    time_t t_arg = 0;
    long long real = now_ns(CLOCK_REALTIME) / NSEC_PER_SEC;
    CHECK(gettimeofday(&tv, NULL) == 0, "gettimeofday: %s", guest_errno_name(errno));
    time_t t = time(&t_arg);
    EXPECT_FACT("CLOCK_REALTIME after 2020", real > 1577836800LL);
    EXPECT_FACT("gettimeofday within 2s of CLOCK_REALTIME", llabs(tv.tv_sec - real) <= 2);
    EXPECT_FACT("gettimeofday tv_usec in range", tv.tv_usec >= 0 && tv.tv_usec < 1000000);
    EXPECT_FACT("time() within 2s of CLOCK_REALTIME", llabs((long long)t - real) <= 2);
    EXPECT_FACT("time() stores what it returns", t_arg == t);
    EXPECT_FACT("raw gettimeofday syscall agrees",
                syscall(SYS_gettimeofday, &tv, NULL) == 0 && llabs(tv.tv_sec - real) <= 2);
    EXPECT_FACT("raw time syscall agrees", llabs(syscall(SYS_time, NULL) - real) <= 2);

    /* Relative sleep: at least 10ms of monotonic time passes. */
    struct timespec req = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
    long long before = now_ns(CLOCK_MONOTONIC);
    EXPECT_RET("nanosleep 10ms", nanosleep(&req, NULL), 0);
    EXPECT_FACT("monotonic advanced by >= 10ms", now_ns(CLOCK_MONOTONIC) - before >= 10000000LL);
    before = now_ns(CLOCK_MONOTONIC);
    EXPECT_RET("clock_nanosleep relative 5ms",
               clock_nanosleep(CLOCK_MONOTONIC, 0, &(struct timespec){.tv_nsec = 5000000}, NULL),
               0);
    EXPECT_FACT("monotonic advanced by >= 5ms", now_ns(CLOCK_MONOTONIC) - before >= 5000000LL);

    /* Absolute sleep: wakes at or after the deadline; a past deadline returns at once. */
    long long deadline = now_ns(CLOCK_MONOTONIC) + 20000000LL;
    struct timespec abs_ts = {.tv_sec = deadline / NSEC_PER_SEC,
                              .tv_nsec = deadline % NSEC_PER_SEC};
    EXPECT_RET("clock_nanosleep TIMER_ABSTIME +20ms",
               clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs_ts, NULL), 0);
    EXPECT_FACT("woke at or after the deadline", now_ns(CLOCK_MONOTONIC) >= deadline);
    before = now_ns(CLOCK_MONOTONIC);
    EXPECT_RET(
        "clock_nanosleep TIMER_ABSTIME in the past",
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &(struct timespec){.tv_sec = 1}, NULL), 0);
    EXPECT_FACT("past deadline returns within 1s", now_ns(CLOCK_MONOTONIC) - before < NSEC_PER_SEC);

    /* Invalid clocks and times. clock_nanosleep returns the error number instead of -1. */
    struct timespec ts;
    EXPECT_ERRNO("clock_gettime clock 100", syscall(SYS_clock_gettime, 100, &ts), EINVAL);
    EXPECT_ERRNO("clock_getres clock 100", syscall(SYS_clock_getres, 100, &ts), EINVAL);
    EXPECT_ERRNO("nanosleep tv_nsec 1e9",
                 nanosleep(&(struct timespec){.tv_nsec = NSEC_PER_SEC}, NULL), EINVAL);
    EXPECT_ERRNO("nanosleep tv_nsec -1", nanosleep(&(struct timespec){.tv_nsec = -1}, NULL),
                 EINVAL);
    EXPECT_ERRNO("nanosleep tv_sec -1", nanosleep(&(struct timespec){.tv_sec = -1}, NULL), EINVAL);
    int err = clock_nanosleep(100, 0, &req, NULL);
    printf("clock_nanosleep clock 100: %s\n", guest_errno_name(err));
    CHECK(err == EINVAL, "want EINVAL");
    err = clock_nanosleep(CLOCK_MONOTONIC, 0, &(struct timespec){.tv_nsec = NSEC_PER_SEC}, NULL);
    printf("clock_nanosleep tv_nsec 1e9: %s\n", guest_errno_name(err));
    CHECK(err == EINVAL, "want EINVAL");

    /* Resolutions: Linux with high-resolution timers reports 1ns for both clocks. */
    CHECK(clock_getres(CLOCK_MONOTONIC, &ts) == 0, "clock_getres: %s", guest_errno_name(errno));
    printf("clock_getres(CLOCK_MONOTONIC) = %lld.%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
    CHECK(ts.tv_sec == 0 && ts.tv_nsec > 0, "resolution must be positive and below 1s");
    CHECK(clock_getres(CLOCK_REALTIME, &ts) == 0, "clock_getres: %s", guest_errno_name(errno));
    printf("clock_getres(CLOCK_REALTIME) = %lld.%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
    CHECK(ts.tv_sec == 0 && ts.tv_nsec > 0, "resolution must be positive and below 1s");
    EXPECT_RET("clock_getres with NULL", clock_getres(CLOCK_MONOTONIC, NULL), 0);
    return guest_ok();
}
