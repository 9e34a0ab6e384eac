/* ITIMER_REAL: alarm(2)'s return values, one-shot and interval timers delivering SIGALRM,
 * getitimer, disarming, argument errors, a sleep cut short by the timer, and init ignoring a
 * SIGALRM it has no handler for. */
#include "guest.h"

#include <signal.h>
#include <sys/time.h>
#include <time.h>

static volatile sig_atomic_t ticks;

static void on_alarm(int sig)
{
    (void)sig;
    ticks++;
}

static struct itimerval ms_timer(long value_ms, long interval_ms)
{
    struct itimerval it = {{interval_ms / 1000, (interval_ms % 1000) * 1000},
                           {value_ms / 1000, (value_ms % 1000) * 1000}};
    return it;
}

int main(void)
{
    struct itimerval it, old;

    /* Init ignores a SIGALRM it has no handler for (the harness runs us as pid 1). */
    it = ms_timer(10, 0);
    EXPECT_RET("setitimer 10 ms, no handler", setitimer(ITIMER_REAL, &it, NULL), 0);
    struct timespec ts = {0, 60 * 1000 * 1000};
    EXPECT_RET("nanosleep past it", nanosleep(&ts, NULL), 0);

    EXPECT_RET("alarm(0) with no timer", alarm(0), 0);
    EXPECT_RET("alarm(5)", alarm(5), 0);
    EXPECT_RET("alarm(0) returns the seconds left", alarm(0), 5);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);

    /* One-shot: pause returns EINTR once the handler ran. */
    it = ms_timer(30, 0);
    EXPECT_RET("setitimer 30 ms", setitimer(ITIMER_REAL, &it, NULL), 0);
    EXPECT_ERRNO("pause", pause(), EINTR);
    EXPECT_RET("one tick", ticks, 1);
    getitimer(ITIMER_REAL, &old);
    EXPECT_FACT("one-shot timer disarmed", old.it_value.tv_sec == 0 && old.it_value.tv_usec == 0);

    /* Interval: five ticks, then disarm and read back the previous setting. */
    ticks = 0;
    it = ms_timer(20, 20);
    setitimer(ITIMER_REAL, &it, NULL);
    sigset_t none;
    sigemptyset(&none);
    while (ticks < 5)
        sigsuspend(&none);
    it = ms_timer(0, 0);
    EXPECT_RET("disarm", setitimer(ITIMER_REAL, &it, &old), 0);
    EXPECT_FACT("old interval was 20 ms", old.it_interval.tv_sec == 0 &&
                                             old.it_interval.tv_usec == 20000);
    EXPECT_FACT("old value within the period",
                old.it_value.tv_sec == 0 && old.it_value.tv_usec <= 20000);
    EXPECT_RET("five ticks", ticks, 5);

    /* getitimer on an armed timer: what is left, and the interval as set. */
    /* What is left is 1.5 s less the time between the two calls, which is measured around
     * them: the bounds hold however slowly the calls run. */
    struct timespec before, after;
    it = ms_timer(1500, 250);
    clock_gettime(CLOCK_MONOTONIC, &before);
    setitimer(ITIMER_REAL, &it, NULL);
    getitimer(ITIMER_REAL, &old);
    clock_gettime(CLOCK_MONOTONIC, &after);
    long left_us = old.it_value.tv_sec * 1000000L + old.it_value.tv_usec;
    long gap_us = (after.tv_sec - before.tv_sec) * 1000000L +
                  (after.tv_nsec - before.tv_nsec) / 1000 + 1;
    EXPECT_FACT("value left is 1.5 s less the time between the calls",
                left_us <= 1500000 && left_us >= 1500000 - gap_us);
    EXPECT_FACT("interval 250 ms", old.it_interval.tv_sec == 0 && old.it_interval.tv_usec == 250000);
    EXPECT_RET("alarm rounds 1.5 s to 2... or 1", alarm(0) >= 1, 1);

    /* A sleep interrupted by the timer returns EINTR with the time left. */
    ticks = 0;
    it = ms_timer(20, 0);
    setitimer(ITIMER_REAL, &it, NULL);
    struct timespec req = {2, 0}, rem = {0, 0};
    EXPECT_ERRNO("nanosleep interrupted", nanosleep(&req, &rem), EINTR);
    EXPECT_FACT("remaining time reported", rem.tv_sec == 1 && rem.tv_nsec > 0);
    EXPECT_RET("tick during sleep", ticks, 1);

    /* Errors. */
    it = ms_timer(10, 0);
    it.it_value.tv_usec = 1000000;
    EXPECT_ERRNO("tv_usec of a second", setitimer(ITIMER_REAL, &it, NULL), EINVAL);
    EXPECT_ERRNO("no such timer", setitimer(7, &it, NULL), EINVAL);
    EXPECT_ERRNO("getitimer of no such timer", getitimer(7, &old), EINVAL);
    EXPECT_ERRNO("getitimer into a bad pointer", getitimer(ITIMER_REAL, (void *)8), EFAULT);
    return guest_ok();
}
