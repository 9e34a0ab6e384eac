/* Timeouts and timer values far beyond any wait are valid: Linux saturates them (ktime_set,
 * timespec64_add_safe) rather than overflowing. Each call here has something ready at once, so
 * it returns without waiting; a timer set that far reads back as "very far". */
#include "guest.h"

#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>

#define FAR_SEC (INT64_MAX / 4) /* no overflow in the test's own arithmetic */

static void on_alarm(int sig)
{
    (void)sig;
}

int main(void)
{
    int p[2];
    CHECK(pipe(p) == 0, "pipe");
    CHECK(write(p[1], "x", 1) == 1, "write");

    struct timespec far = {FAR_SEC, 999999999};
    struct pollfd pfd = {.fd = p[0], .events = POLLIN};
    EXPECT_RET("ppoll with a far timeout, fd ready", ppoll(&pfd, 1, &far, NULL), 1);

    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    struct timeval tv = {FAR_SEC, 999999};
    EXPECT_RET("select with a far timeout, fd ready", select(p[0] + 1, &rd, NULL, NULL, &tv), 1);
    printf("select's time left is still far: %s\n", tv.tv_sec > 1000000000L ? "yes" : "no");
    /* The raw call (glibc checks on its own): microseconds beyond a second are carried into
     * the seconds; a carry past the largest time is EINVAL, one just short of it is far. */
    FD_SET(p[0], &rd);
    tv = (struct timeval){INT64_MAX, INT64_MAX};
    EXPECT_ERRNO("raw select, both fields at their maximum",
                 syscall(SYS_select, p[0] + 1, &rd, NULL, NULL, &tv), EINVAL);
    FD_SET(p[0], &rd);
    tv = (struct timeval){INT64_MAX - 10, 5000000};
    EXPECT_RET("raw select, a carry just short of the maximum",
               syscall(SYS_select, p[0] + 1, &rd, NULL, NULL, &tv), 1);
    struct timespec ts6 = {FAR_SEC, 0};
    FD_SET(p[0], &rd);
    EXPECT_RET("pselect with a far timeout", pselect(p[0] + 1, &rd, NULL, NULL, &ts6, NULL), 1);

    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    raise(SIGUSR1);
    EXPECT_RET("sigtimedwait with a far timeout, signal pending", sigtimedwait(&usr1, NULL, &far),
               SIGUSR1);

    /* ITIMER_REAL that far: set, read back as far, and disarmed. */
    struct itimerval it = {{0, 0}, {FAR_SEC, 0}}, old;
    EXPECT_RET("setitimer far", setitimer(ITIMER_REAL, &it, NULL), 0);
    EXPECT_RET("getitimer", getitimer(ITIMER_REAL, &old), 0);
    printf("ITIMER_REAL reads back far: %s\n", old.it_value.tv_sec > 1000000000L ? "yes" : "no");
    it = (struct itimerval){{0, 0}, {0, 0}};
    EXPECT_RET("setitimer off", setitimer(ITIMER_REAL, &it, &old), 0);

    /* A timerfd and a POSIX timer the same way. */
    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    CHECK(tfd >= 0, "timerfd_create");
    struct itimerspec its = {{FAR_SEC, 0}, {FAR_SEC, 0}}, got;
    EXPECT_RET("timerfd_settime far", timerfd_settime(tfd, 0, &its, NULL), 0);
    EXPECT_RET("timerfd_gettime", timerfd_gettime(tfd, &got), 0);
    printf("timerfd reads back far: %s\n", got.it_value.tv_sec > 1000000000L ? "yes" : "no");
    close(tfd);
    timer_t timer;
    struct sigevent sev = {.sigev_notify = SIGEV_NONE};
    EXPECT_RET("timer_create", timer_create(CLOCK_MONOTONIC, &sev, &timer), 0);
    EXPECT_RET("timer_settime far", timer_settime(timer, 0, &its, NULL), 0);
    EXPECT_RET("timer_gettime", timer_gettime(timer, &got), 0);
    printf("POSIX timer reads back far: %s\n", got.it_value.tv_sec > 1000000000L ? "yes" : "no");
    EXPECT_RET("timer_delete", timer_delete(timer), 0);
    /* Sleeps that far, cut short by a 20 ms timer's signal, say how far is left. */
    signal(SIGALRM, on_alarm);
    struct itimerval soon = {{0, 0}, {0, 20000}};
    EXPECT_RET("setitimer 20 ms", setitimer(ITIMER_REAL, &soon, NULL), 0);
    struct timespec rem = {0, 0};
    EXPECT_ERRNO("nanosleep far, interrupted", nanosleep(&far, &rem), EINTR);
    printf("nanosleep's time left is far: %s\n", rem.tv_sec > 1000000000L ? "yes" : "no");
    EXPECT_RET("setitimer 20 ms again", setitimer(ITIMER_REAL, &soon, NULL), 0);
    EXPECT_RET("clock_nanosleep far, interrupted", clock_nanosleep(CLOCK_MONOTONIC, 0, &far, &rem),
               EINTR);
    /* A futex whose word differs returns at once whatever the timeout. */
    int word = 1;
    EXPECT_ERRNO("futex wait far, word differs",
                 syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &far, NULL, 0), EAGAIN);
    return guest_ok();
}
