/* ITIMER_VIRTUAL and ITIMER_PROF: a guest spinning without syscalls gets SIGVTALRM / SIGPROF
 * once it used the CPU time asked for; getitimer reads the time left; interval timers repeat;
 * disarming; init ignores the signals without a handler. */
#include "guest.h"

#include <signal.h>
#include <sys/time.h>
#include <time.h>

static volatile sig_atomic_t ticks;

static void on_tick(int sig)
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

/* Spins without syscalls until `want` ticks arrived (false after about 20 s of wall time). */
static int spin_until(int want)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start); /* the vDSO: no syscall */
    while (ticks < want) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > 20)
            return 0;
    }
    return 1;
}

int main(void)
{
    static const int which[] = {ITIMER_VIRTUAL, ITIMER_PROF};
    static const int sigs[] = {SIGVTALRM, SIGPROF};
    static const char *const names[] = {"ITIMER_VIRTUAL", "ITIMER_PROF"};
    struct itimerval it, old;

    for (int i = 0; i < 2; i++) {
        printf("%s\n", names[i]);
        /* Init (the harness runs us as pid 1) ignores it without a handler. */
        it = ms_timer(5, 0);
        EXPECT_RET("arm 5 ms, no handler", setitimer(which[i], &it, NULL), 0);
        ticks = 0;
        struct timespec start, now;
        clock_gettime(CLOCK_MONOTONIC, &start);
        do
            clock_gettime(CLOCK_MONOTONIC, &now);
        while ((now.tv_sec - start.tv_sec) * 1000000000L + now.tv_nsec - start.tv_nsec < 50000000L);

        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_tick;
        sigaction(sigs[i], &sa, NULL);

        it = ms_timer(10000, 0);
        EXPECT_RET("arm 10 s", setitimer(which[i], &it, NULL), 0);
        EXPECT_RET("getitimer", getitimer(which[i], &old), 0);
        EXPECT_FACT("time left at most 10 s and more than 9 s",
                    old.it_value.tv_sec == 9 ||
                        (old.it_value.tv_sec == 10 && old.it_value.tv_usec < 20000));
        it = ms_timer(0, 0);
        EXPECT_RET("disarm", setitimer(which[i], &it, &old), 0);
        EXPECT_FACT("old value was armed", old.it_value.tv_sec >= 9);
        EXPECT_RET("getitimer disarmed", getitimer(which[i], &old), 0);
        EXPECT_FACT("disarmed", old.it_value.tv_sec == 0 && old.it_value.tv_usec == 0);

        ticks = 0;
        it = ms_timer(30, 0);
        EXPECT_RET("arm 30 ms one-shot", setitimer(which[i], &it, NULL), 0);
        EXPECT_FACT("one tick while spinning", spin_until(1));
        EXPECT_RET("getitimer after it", getitimer(which[i], &old), 0);
        EXPECT_FACT("one-shot disarmed", old.it_value.tv_sec == 0 && old.it_value.tv_usec == 0);

        ticks = 0;
        it = ms_timer(10, 10);
        EXPECT_RET("arm 10 ms period", setitimer(which[i], &it, NULL), 0);
        EXPECT_FACT("three ticks while spinning", spin_until(3));
        EXPECT_RET("getitimer periodic", getitimer(which[i], &old), 0);
        EXPECT_FACT("interval 10 ms",
                    old.it_interval.tv_sec == 0 && old.it_interval.tv_usec == 10000);
        it = ms_timer(0, 0);
        EXPECT_RET("disarm", setitimer(which[i], &it, NULL), 0);
    }
    EXPECT_ERRNO("bad which", setitimer(5, &it, NULL), EINVAL);
    return guest_ok();
}
