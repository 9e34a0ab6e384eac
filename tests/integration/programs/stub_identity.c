/* For stub_identity.sh: names two threads (one itself, through prctl; one by its parent,
 * through /proc/self/task/TID/comm), forks a child that waits, says "ready", and on SIGUSR1
 * execs `sleep 1000`, so the host's view of its stubs can be checked before and after. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

/* Both threads go back to guest code every 10 ms: a thread named by another shows on the host
 * once it next runs guest code. */
static void nap_forever(void)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};

    for (;;)
        nanosleep(&ts, NULL);
}

static void *self_named(void *arg)
{
    (void)arg;
    prctl(PR_SET_NAME, "self-named");
    nap_forever();
    return NULL;
}

static void *parent_named(void *arg)
{
    (void)arg;
    nap_forever();
    return NULL;
}

int main(void)
{
    pthread_t a, b;
    sigset_t set;
    int sig;

    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    if (fork() == 0)
        nap_forever();
    if (pthread_create(&a, NULL, self_named, NULL) != 0 ||
        pthread_create(&b, NULL, parent_named, NULL) != 0 ||
        pthread_setname_np(b, "parent-named") != 0) {
        perror("threads");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    sigwait(&set, &sig);
    execl("/bin/sleep", "sleep", "1000", (char *)NULL);
    perror("exec");
    return 1;
}
