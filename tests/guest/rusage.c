/* CPU time accounting: a compute loop shows as CPU time in getrusage(RUSAGE_SELF/THREAD), the
 * CPU-time clocks and times(2); a reaped child's time shows in wait4's rusage and in
 * RUSAGE_CHILDREN. Only relations are printed (the amounts depend on the machine). */
#include "guest.h"

#include <stdint.h>
#include <sys/resource.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t sink;

/* Pure computation, no syscalls: user time wherever it runs. */
static void burn(uint64_t rounds)
{
    uint64_t x = 1;
    for (uint64_t i = 0; i < rounds; i++)
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    sink = x;
}

static double secs(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(void)
{
    struct rusage before, after;
    EXPECT_RET("getrusage(SELF)", getrusage(RUSAGE_SELF, &before), 0);
    burn(300000000);
    EXPECT_RET("getrusage(SELF) again", getrusage(RUSAGE_SELF, &after), 0);
    double spent = secs(after.ru_utime) + secs(after.ru_stime) - secs(before.ru_utime) -
                   secs(before.ru_stime);
    EXPECT_FACT("the loop took CPU time (> 20 ms)", spent > 0.02);
    EXPECT_FACT("user time never goes backwards",
                secs(after.ru_utime) >= secs(before.ru_utime));
    EXPECT_FACT("maxrss is positive", after.ru_maxrss > 0);

    struct rusage thread;
    EXPECT_RET("getrusage(THREAD)", getrusage(RUSAGE_THREAD, &thread), 0);
    EXPECT_FACT("the thread's time is part of the process's",
                secs(thread.ru_utime) <= secs(after.ru_utime) + 0.01);
    struct timespec cpu;
    EXPECT_RET("clock_gettime(THREAD_CPUTIME)", clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu), 0);
    EXPECT_FACT("the thread clock counts the loop",
                (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9 > 0.02);
    EXPECT_RET("clock_gettime(PROCESS_CPUTIME)", clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu), 0);
    EXPECT_FACT("the process clock counts the loop",
                (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9 > 0.02);
    EXPECT_ERRNO("getrusage(bad who)", getrusage(42, &thread), EINVAL);

    struct rusage none;
    EXPECT_RET("getrusage(CHILDREN) before any child", getrusage(RUSAGE_CHILDREN, &none), 0);
    EXPECT_FACT("no children's time yet", secs(none.ru_utime) == 0 && secs(none.ru_stime) == 0);

    pid_t pid = fork();
    if (pid == 0) {
        burn(300000000);
        _exit(0);
    }
    int status;
    struct rusage child;
    EXPECT_RET("wait4 with rusage", wait4(pid, &status, 0, &child), pid);
    EXPECT_FACT("the child's time comes back (> 20 ms)",
                secs(child.ru_utime) + secs(child.ru_stime) > 0.02);
    struct rusage children;
    EXPECT_RET("getrusage(CHILDREN)", getrusage(RUSAGE_CHILDREN, &children), 0);
    EXPECT_FACT("RUSAGE_CHILDREN has the reaped child",
                secs(children.ru_utime) + secs(children.ru_stime) >= 0.02);

    struct tms tms;
    clock_t ticks = times(&tms);
    EXPECT_FACT("times() returns ticks", ticks != (clock_t)-1);
    EXPECT_FACT("times: the process's time", tms.tms_utime + tms.tms_stime >= 2);
    EXPECT_FACT("times: the children's time", tms.tms_cutime + tms.tms_cstime >= 2);
    guest_ok();
    return 0;
}
