/* Real-time signals queue (signal(7)): each instance of a pending real-time signal is kept, with
 * its own value, and taken lowest-numbered signal first, in order within one signal; a standard
 * signal pending twice is one. Ignoring a signal discards every queued instance; a handler runs
 * once per instance. */
#include "guest.h"

#include <signal.h>
#include <time.h>

static volatile sig_atomic_t handled, last_value;

static void on_rt(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    handled++;
    last_value = si->si_value.sival_int;
}

static void send(int sig, int value)
{
    union sigval v = {.sival_int = value};
    CHECK(sigqueue(getpid(), sig, v) == 0, "sigqueue %d", sig);
}

static void drain(const sigset_t *set)
{
    struct timespec zero = {0, 0};
    siginfo_t si;
    int sig;
    while ((sig = sigtimedwait(set, &si, &zero)) > 0)
        printf("took %s value=%d code=%d\n",
               sig == SIGUSR1        ? "SIGUSR1"
               : sig == SIGRTMIN + 1 ? "SIGRTMIN+1"
               : sig == SIGRTMIN + 2 ? "SIGRTMIN+2"
                                     : "other",
               si.si_value.sival_int, si.si_code);
    printf("then: %s\n", guest_errno_name(errno));
}

int main(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGRTMIN + 1);
    sigaddset(&set, SIGRTMIN + 2);
    sigprocmask(SIG_BLOCK, &set, NULL);

    send(SIGRTMIN + 2, 1);
    send(SIGRTMIN + 2, 2);
    send(SIGUSR1, 7);
    send(SIGRTMIN + 1, 9);
    send(SIGRTMIN + 2, 3);
    send(SIGUSR1, 8);
    sigset_t pending;
    sigpending(&pending);
    printf("pending: usr1=%d rt1=%d rt2=%d\n", sigismember(&pending, SIGUSR1),
           sigismember(&pending, SIGRTMIN + 1), sigismember(&pending, SIGRTMIN + 2));
    drain(&set);

    /* Ignoring discards all three queued instances. */
    for (int i = 0; i < 3; i++)
        send(SIGRTMIN + 2, 10 + i);
    signal(SIGRTMIN + 2, SIG_IGN);
    signal(SIGRTMIN + 2, SIG_DFL);
    sigpending(&pending);
    printf("after SIG_IGN: rt2 pending=%d\n", sigismember(&pending, SIGRTMIN + 2));

    /* A handler runs once per instance, in order. */
    struct sigaction sa = {.sa_sigaction = on_rt, .sa_flags = SA_SIGINFO};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGRTMIN + 2, &sa, NULL);
    for (int i = 0; i < 4; i++)
        send(SIGRTMIN + 2, 20 + i);
    sigset_t rt2;
    sigemptyset(&rt2);
    sigaddset(&rt2, SIGRTMIN + 2);
    sigprocmask(SIG_UNBLOCK, &rt2, NULL);
    printf("handled %d, last value %d\n", (int)handled, (int)last_value);
    return guest_ok();
}
