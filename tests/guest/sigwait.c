/* sigwait family: rt_sigtimedwait takes a blocked pending signal without running its handler,
 * polls with a zero timeout (EAGAIN), times out, takes a signal sent to the process while all
 * threads block it from a waiting thread (the process-wide pending queue), and reports siginfo. */
#include "guest.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handler_ran;

static void on_usr1(int sig)
{
    (void)sig;
    handler_ran = 1;
}

static void *waiter(void *arg)
{
    sigset_t *set = arg;
    int sig = 0;
    int err = sigwait(set, &sig);
    return (void *)(long)(err ? -err : sig);
}

int main(void)
{
    signal(SIGUSR1, on_usr1);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);

    struct timespec zero = {0, 0};
    siginfo_t info;
    EXPECT_ERRNO("nothing pending: poll", sigtimedwait(&set, &info, &zero), EAGAIN);
    struct timespec short_wait = {0, 30000000};
    EXPECT_ERRNO("nothing comes: timeout", sigtimedwait(&set, &info, &short_wait), EAGAIN);

    EXPECT_RET("kill self SIGUSR1", kill(getpid(), SIGUSR1), 0);
    memset(&info, 0, sizeof(info));
    EXPECT_RET("sigtimedwait takes it", sigtimedwait(&set, &info, &zero), SIGUSR1);
    printf("si_signo %d si_code %s si_pid is self: %s\n", info.si_signo,
           info.si_code == SI_USER ? "SI_USER" : "other", info.si_pid == getpid() ? "yes" : "no");
    EXPECT_FACT("the handler did not run", !handler_ran);

    EXPECT_RET("sigqueue-free raise of SIGUSR2", raise(SIGUSR2), 0);
    EXPECT_RET("sigwaitinfo", sigwaitinfo(&set, &info), SIGUSR2);
    printf("raised: si_code %s\n", info.si_code == SI_TKILL ? "SI_TKILL" : "other");

    /* A thread waits; the signal is sent to the process while every thread blocks it. */
    pthread_t th;
    EXPECT_RET("pthread_create", pthread_create(&th, NULL, waiter, &set), 0);
    struct timespec pause_a_bit = {0, 50000000};
    nanosleep(&pause_a_bit, NULL);
    EXPECT_RET("kill the process", kill(getpid(), SIGUSR2), 0);
    void *ret;
    pthread_join(th, &ret);
    printf("the waiting thread got: %ld\n", (long)ret);

    sigset_t pending;
    sigpending(&pending);
    printf("nothing left pending: %s\n", sigismember(&pending, SIGUSR1) || sigismember(&pending, SIGUSR2) ? "no" : "yes");
    guest_ok();
    return 0;
}
