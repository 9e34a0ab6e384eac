/* POSIX timers through the raw syscalls: the default sigevent (SIGALRM with the id as value),
 * SIGEV_SIGNAL with si_value/SI_TIMER/si_timerid, overruns counted while the signal is pending,
 * SIGEV_NONE, SIGEV_THREAD_ID, TIMER_ABSTIME, CPU-time clocks, timer_gettime, timer_delete,
 * argument errors, and timers not surviving fork or execve. */
#include "guest.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static long k_timer_create(clockid_t clock, struct sigevent *sev, int *id)
{
    return syscall(SYS_timer_create, clock, sev, id);
}

static long k_timer_settime(int id, int flags, const struct itimerspec *v, struct itimerspec *o)
{
    return syscall(SYS_timer_settime, id, flags, v, o);
}

static long k_timer_gettime(int id, struct itimerspec *cur)
{
    return syscall(SYS_timer_gettime, id, cur);
}

static struct itimerspec ms_spec(long value_ms, long interval_ms)
{
    struct itimerspec it = {{interval_ms / 1000, (interval_ms % 1000) * 1000000},
                            {value_ms / 1000, (value_ms % 1000) * 1000000}};
    return it;
}

static struct sigevent sig_event(int notify, int sig, int value)
{
    struct sigevent sev;
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = notify;
    sev.sigev_signo = sig;
    sev.sigev_value.sival_int = value;
    return sev;
}

static volatile sig_atomic_t cpu_fired;

static void on_cpu_signal(int sig)
{
    (void)sig;
    cpu_fired = 1;
}

/* Spins on the CPU until the handler ran (or 20 s of wall time passed). */
static int spin_until_fired(void)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (!cpu_fired) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > 20)
            return 0;
    }
    return 1;
}

static int after_exec(void)
{
    struct itimerspec cur;
    EXPECT_ERRNO("after execve, timer 0 is gone", k_timer_gettime(0, &cur), EINVAL);
    return guest_ok();
}

int main(int argc, char **argv)
{
    struct itimerspec it, cur;
    struct sigevent sev;
    siginfo_t info;
    sigset_t set;
    int id, id2;

    if (argc > 1 && strcmp(argv[1], "after-exec") == 0)
        return after_exec();

    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);

    /* The default event: SIGALRM, the id as value. Ids count up from 0 in a new process. */
    EXPECT_RET("timer_create default", k_timer_create(CLOCK_MONOTONIC, NULL, &id), 0);
    EXPECT_RET("first id", id, 0);
    it = ms_spec(10, 0);
    EXPECT_RET("arm 10 ms", k_timer_settime(id, 0, &it, NULL), 0);
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    EXPECT_RET("sigwaitinfo SIGALRM", sigwaitinfo(&set, &info), SIGALRM);
    EXPECT_RET("si_code SI_TIMER", info.si_code, SI_TIMER);
    EXPECT_RET("si_timerid", info.si_timerid, id);
    EXPECT_RET("si_value is the id", info.si_value.sival_int, id);
    EXPECT_RET("gettime after a one-shot", k_timer_gettime(id, &cur), 0);
    EXPECT_FACT("disarmed", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);

    /* SIGEV_SIGNAL with a value; a 1 ms period while the signal is blocked: overruns. */
    sev = sig_event(SIGEV_SIGNAL, SIGUSR1, 4242);
    EXPECT_RET("timer_create SIGUSR1", k_timer_create(CLOCK_REALTIME, &sev, &id2), 0);
    EXPECT_RET("second id", id2, 1);
    it = ms_spec(1, 1);
    EXPECT_RET("arm 1 ms period", k_timer_settime(id2, 0, &it, NULL), 0);
    struct timespec pause_ts = {0, 60 * 1000 * 1000};
    nanosleep(&pause_ts, NULL);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    EXPECT_RET("sigwaitinfo SIGUSR1", sigwaitinfo(&set, &info), SIGUSR1);
    EXPECT_RET("si_value", info.si_value.sival_int, 4242);
    EXPECT_FACT("si_overrun counted while pending", info.si_overrun > 0);
    int delivered_overrun = info.si_overrun;
    long overrun = syscall(SYS_timer_getoverrun, id2);
    EXPECT_FACT("timer_getoverrun is the delivered signal's", overrun == delivered_overrun);
    EXPECT_RET("gettime periodic", k_timer_gettime(id2, &cur), 0);
    EXPECT_FACT("interval 1 ms", cur.it_interval.tv_sec == 0 && cur.it_interval.tv_nsec == 1000000);
    EXPECT_FACT("value within a period", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 &&
                                             cur.it_value.tv_nsec <= 1000000);
    it = ms_spec(0, 0);
    EXPECT_RET("disarm", k_timer_settime(id2, 0, &it, NULL), 0);
    struct timespec zero_ts = {0, 0};
    sigtimedwait(&set, &info, &zero_ts); /* an expiry that may have been pending at the disarm */
    EXPECT_RET("delete", syscall(SYS_timer_delete, id2), 0);
    EXPECT_ERRNO("delete again", syscall(SYS_timer_delete, id2), EINVAL);
    EXPECT_ERRNO("gettime deleted", k_timer_gettime(id2, &cur), EINVAL);
    EXPECT_ERRNO("getoverrun deleted", syscall(SYS_timer_getoverrun, id2), EINVAL);

    /* SIGEV_NONE: nothing is sent, the time left can be read; old values come back. */
    sev = sig_event(SIGEV_NONE, 0, 0);
    EXPECT_RET("timer_create SIGEV_NONE", k_timer_create(CLOCK_BOOTTIME, &sev, &id2), 0);
    EXPECT_RET("ids don't reuse at once", id2, 2);
    it = ms_spec(10000, 5000);
    EXPECT_RET("arm 10 s", k_timer_settime(id2, 0, &it, NULL), 0);
    EXPECT_RET("gettime", k_timer_gettime(id2, &cur), 0);
    EXPECT_FACT("value in (9 s, 10 s]", cur.it_value.tv_sec == 9 || (cur.it_value.tv_sec == 10 &&
                                                                     cur.it_value.tv_nsec == 0));
    EXPECT_FACT("interval 5 s", cur.it_interval.tv_sec == 5 && cur.it_interval.tv_nsec == 0);
    it = ms_spec(0, 0);
    struct itimerspec old;
    EXPECT_RET("disarm with old value", k_timer_settime(id2, 0, &it, &old), 0);
    EXPECT_FACT("old interval 5 s", old.it_interval.tv_sec == 5);
    EXPECT_FACT("old value near 10 s", old.it_value.tv_sec == 9 || old.it_value.tv_sec == 10);

    /* TIMER_ABSTIME on CLOCK_MONOTONIC, thread-directed (SIGEV_THREAD_ID). */
    sev = sig_event(SIGEV_THREAD_ID, SIGUSR2, 7);
    sev._sigev_un._tid = (int)syscall(SYS_gettid);
    EXPECT_RET("timer_create SIGEV_THREAD_ID", k_timer_create(CLOCK_MONOTONIC, &sev, &id2), 0);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    it = ms_spec(0, 0);
    it.it_value = now;
    it.it_value.tv_nsec += 20 * 1000 * 1000;
    if (it.it_value.tv_nsec >= 1000000000L) {
        it.it_value.tv_sec++;
        it.it_value.tv_nsec -= 1000000000L;
    }
    EXPECT_RET("arm absolute", k_timer_settime(id2, TIMER_ABSTIME, &it, NULL), 0);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    EXPECT_RET("sigwaitinfo SIGUSR2", sigwaitinfo(&set, &info), SIGUSR2);
    EXPECT_RET("thread timer's value", info.si_value.sival_int, 7);
    struct timespec after;
    clock_gettime(CLOCK_MONOTONIC, &after);
    EXPECT_FACT("not before the absolute time",
                after.tv_sec > it.it_value.tv_sec ||
                    (after.tv_sec == it.it_value.tv_sec && after.tv_nsec >= it.it_value.tv_nsec));
    it.it_value.tv_sec = 1; /* long past */
    it.it_value.tv_nsec = 0;
    EXPECT_RET("arm absolute in the past", k_timer_settime(id2, TIMER_ABSTIME, &it, NULL), 0);
    EXPECT_RET("fires at once", sigwaitinfo(&set, &info), SIGUSR2);

    /* Argument errors. */
    EXPECT_ERRNO("bad clock", k_timer_create(99, NULL, &id2), EINVAL);
    sev = sig_event(SIGEV_SIGNAL, 0, 0);
    EXPECT_ERRNO("signal 0", k_timer_create(CLOCK_MONOTONIC, &sev, &id2), EINVAL);
    sev = sig_event(SIGEV_SIGNAL, 65, 0);
    EXPECT_ERRNO("signal 65", k_timer_create(CLOCK_MONOTONIC, &sev, &id2), EINVAL);
    sev = sig_event(99, SIGUSR1, 0);
    EXPECT_ERRNO("bad notify", k_timer_create(CLOCK_MONOTONIC, &sev, &id2), EINVAL);
    sev = sig_event(SIGEV_THREAD_ID, SIGUSR1, 0);
    sev._sigev_un._tid = 99999;
    EXPECT_ERRNO("foreign thread", k_timer_create(CLOCK_MONOTONIC, &sev, &id2), EINVAL);
    EXPECT_ERRNO("bad sigevent pointer", k_timer_create(CLOCK_MONOTONIC, (void *)8, &id2), EFAULT);
    EXPECT_ERRNO("bad id pointer", k_timer_create(CLOCK_MONOTONIC, NULL, (void *)8), EFAULT);
    it = ms_spec(10, 0);
    it.it_value.tv_nsec = 1000000000L;
    EXPECT_ERRNO("nsec out of range", k_timer_settime(id, 0, &it, NULL), EINVAL);
    it = ms_spec(10, 0);
    EXPECT_ERRNO("unknown id", k_timer_settime(12345, 0, &it, NULL), EINVAL);
    EXPECT_ERRNO("settime bad pointer", k_timer_settime(id, 0, (void *)8, NULL), EFAULT);

    /* CPU-time clocks: a handler stops the spin once the process, then the thread, ran 30 ms. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_cpu_signal;
    sigaction(SIGUSR1, &sa, NULL);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    static const clockid_t cpu_clocks[] = {CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID};
    for (int i = 0; i < 2; i++) {
        sev = sig_event(SIGEV_SIGNAL, SIGUSR1, 0);
        EXPECT_RET("timer_create CPU clock", k_timer_create(cpu_clocks[i], &sev, &id2), 0);
        cpu_fired = 0;
        it = ms_spec(30, 0);
        EXPECT_RET("arm 30 ms of CPU", k_timer_settime(id2, 0, &it, NULL), 0);
        EXPECT_FACT("CPU timer fired in the spin", spin_until_fired());
        EXPECT_RET("delete CPU timer", syscall(SYS_timer_delete, id2), 0);
    }

    /* Neither a fork child nor a new image has the timers. */
    it = ms_spec(100000, 0);
    EXPECT_RET("arm the first again", k_timer_settime(id, 0, &it, NULL), 0);
    pid_t pid = fork();
    if (pid == 0) {
        _exit(k_timer_gettime(id, &cur) == -1 && errno == EINVAL ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    EXPECT_FACT("fork child has no timers", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fflush(stdout);
    char *args[] = {argv[0], "after-exec", NULL};
    execv("/proc/self/exe", args);
    printf("execv failed: %s\n", guest_errno_name(errno));
    return 1;
}
