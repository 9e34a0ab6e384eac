/* CPU-time clocks by id (clock_getcpuclockid, pthread_getcpuclockid, Linux's encoding of another
 * thread's or process's clock) and clock_settime's errors for a caller that may not set the
 * clock or a clock that can't be set. */
#include "guest.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static pthread_barrier_t barrier;

static void *thread_main(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&barrier); /* the main thread reads our clock */
    pthread_barrier_wait(&barrier); /* then we exit */
    return NULL;
}

static long read_clock(clockid_t clk)
{
    struct timespec ts;
    return clock_gettime(clk, &ts);
}

/* Linux's CPU-clock id for pid `pid`: ~pid << 3 | which (| 4 for a thread). */
static clockid_t cpu_clock(pid_t pid, int which, int thread)
{
    return (clockid_t)((~(unsigned)pid << 3) | (unsigned)which | (thread ? 4u : 0u));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    pthread_t th;
    clockid_t clk;
    struct timespec a, b;

    /* Busy a little so the clocks have something to show. */
    volatile unsigned long spin = 0;
    for (unsigned long i = 0; i < 20000000UL; i++)
        spin = spin + i;
    CHECK(spin != 1, "spin");

    EXPECT_RET("pthread_getcpuclockid self", pthread_getcpuclockid(pthread_self(), &clk), 0);
    EXPECT_FACT("self thread clock differs from CLOCK_THREAD_CPUTIME_ID",
                clk != CLOCK_THREAD_CPUTIME_ID);
    EXPECT_RET("clock_gettime(self thread clock)", clock_gettime(clk, &a), 0);
    EXPECT_RET("clock_gettime again", clock_gettime(clk, &b), 0);
    EXPECT_FACT("thread clock monotonic",
                b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec));
    EXPECT_FACT("thread clock nonzero", a.tv_sec > 0 || a.tv_nsec > 0);
    EXPECT_RET("clock_getres(self thread clock)", clock_getres(clk, &a), 0);
    printf("thread clock resolution: %ld ns\n", a.tv_nsec);

    pthread_barrier_init(&barrier, NULL, 2);
    CHECK(pthread_create(&th, NULL, thread_main, NULL) == 0, "pthread_create");
    EXPECT_RET("pthread_getcpuclockid other", pthread_getcpuclockid(th, &clk), 0);
    pthread_barrier_wait(&barrier);
    EXPECT_RET("clock_gettime(other thread clock)", clock_gettime(clk, &a), 0);
    pthread_barrier_wait(&barrier);
    pthread_join(th, NULL);
    /* pthread_join returns once the kernel clears the thread's tid word, which Linux does before
     * the thread is gone: its clock stays readable for a moment. Give it up to a second. */
    long joined_ret = 0;
    for (int i = 0; i < 1000 && (joined_ret = read_clock(clk)) == 0; i++)
        usleep(1000);
    printf("clock_gettime(joined thread clock) soon fails: %s\n",
           joined_ret == 0 ? "no" : guest_errno_name(errno));

    EXPECT_RET("clock_getcpuclockid(0)", clock_getcpuclockid(0, &clk), 0);
    EXPECT_RET("clock_gettime(own process clock)", clock_gettime(clk, &a), 0);
    EXPECT_RET("clock_getcpuclockid(getpid())", clock_getcpuclockid(getpid(), &clk), 0);
    EXPECT_RET("clock_gettime(process clock by pid)", clock_gettime(clk, &a), 0);
    EXPECT_RET("process PROF clock", read_clock(cpu_clock(getpid(), 0, 0)), 0);
    EXPECT_RET("process VIRT clock", read_clock(cpu_clock(getpid(), 1, 0)), 0);
    EXPECT_ERRNO("which 3", read_clock(cpu_clock(getpid(), 3, 0)), EINVAL);
    EXPECT_RET("thread clock of pid 0", read_clock(cpu_clock(0, 2, 1)), 0);
    EXPECT_RET("thread clock of own tid", read_clock(cpu_clock(gettid(), 2, 1)), 0);
    EXPECT_ERRNO("no such process", read_clock(cpu_clock(30000, 2, 0)), EINVAL);

    /* A child's process clock can be read; its thread clock can't (another process). */
    int pipefd[2];
    CHECK(pipe(pipefd) == 0, "pipe");
    pid_t child = fork();
    if (child == 0) {
        char c;
        close(pipefd[1]);
        (void)read(pipefd[0], &c, 1);
        _exit(0);
    }
    EXPECT_RET("child's process clock", read_clock(cpu_clock(child, 2, 0)), 0);
    EXPECT_ERRNO("child's thread clock", read_clock(cpu_clock(child, 2, 1)), EINVAL);
    close(pipefd[1]);
    CHECK(waitpid(child, NULL, 0) == child, "waitpid");
    EXPECT_ERRNO("reaped child's process clock", read_clock(cpu_clock(child, 2, 0)), EINVAL);

    struct timespec zero = {0, 0};
    EXPECT_ERRNO("clock_settime(CLOCK_MONOTONIC)", clock_settime(CLOCK_MONOTONIC, &zero), EINVAL);
    EXPECT_ERRNO("clock_settime(CLOCK_BOOTTIME)", clock_settime(CLOCK_BOOTTIME, &zero), EINVAL);
    EXPECT_ERRNO("clock_settime(bad clock)", clock_settime(100, &zero), EINVAL);
    struct timespec bad = {0, -1};
    EXPECT_ERRNO("clock_settime(REALTIME, bad nsec)", clock_settime(CLOCK_REALTIME, &bad),
                 EINVAL);
    /* Setting the time itself needs CAP_SYS_TIME: drop to an unprivileged user first, so that
     * native root and the sandbox agree (the sandbox never sets the host's clock). */
    child = fork();
    if (child == 0) {
        CHECK(setuid(65534) == 0 || getuid() != 0, "setuid");
        clock_gettime(CLOCK_REALTIME, &a);
        EXPECT_ERRNO("unprivileged clock_settime(REALTIME)", clock_settime(CLOCK_REALTIME, &a),
                     EPERM);
        fflush(stdout);
        _exit(0);
    }
    int status;
    CHECK(waitpid(child, &status, 0) == child && status == 0, "child status");
    return guest_ok();
}
