/* Threads: pthread_create/join with return values, a mutex-protected counter under contention,
 * a condition variable ping-pong, thread-local storage, thread ids, pthread_kill reaching the
 * chosen thread, and (by argument) exit() from a thread or pthread_exit() from main. */
#include "guest.h"

#include <pthread.h>
#include <signal.h>

#define THREADS 4
#define ROUNDS 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long counter;
static int turn, pings;
static __thread int tls_value;
static volatile pid_t handler_tid;

static void *add(void *arg)
{
    tls_value = (int)(intptr_t)arg;
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    /* Each thread's TLS is its own, and its tid is not the process's pid. */
    int ok = tls_value == (int)(intptr_t)arg && gettid() != getpid();
    return (void *)(intptr_t)(ok ? 100 + tls_value : -1);
}

static void *pong(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < 500; i++) {
        while (turn != 1)
            pthread_cond_wait(&cond, &lock);
        pings++;
        turn = 0;
        pthread_cond_signal(&cond);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void on_usr1(int sig)
{
    (void)sig;
    handler_tid = gettid();
}

static void *wait_for_signal(void *arg)
{
    pid_t *tid = arg;
    *tid = gettid();
    while (!handler_tid)
        sched_yield();
    return NULL;
}

static void *exit_from_thread(void *arg)
{
    (void)arg;
    printf("thread: calling exit(3)\n");
    guest_ok(); /* the verdict line: what's checked is that exit(3) ends every thread */
    fflush(stdout);
    exit(3);
}

static void *exit_later(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 30 * 1000 * 1000};
    nanosleep(&ts, NULL);
    printf("thread: exit(4) while main is blocked in read\n");
    guest_ok();
    fflush(stdout);
    exit(4);
}

static void *outlive_main(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    printf("thread: main is gone, still here\n");
    guest_ok(); /* the process exits when this, its last thread, returns */
    fflush(stdout);
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t th[THREADS];

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "exit-from-thread") == 0) {
        pthread_create(&th[0], NULL, exit_from_thread, NULL);
        pthread_join(th[0], NULL);
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], "exit-while-blocked") == 0) {
        /* exit() in one thread ends a thread blocked anywhere else, here in a pipe read. */
        int p[2];
        CHECK(pipe(p) == 0, "pipe");
        pthread_create(&th[0], NULL, exit_later, NULL);
        char c;
        (void)read(p[0], &c, 1);
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], "main-exits-first") == 0) {
        pthread_create(&th[0], NULL, outlive_main, NULL);
        printf("main: pthread_exit\n");
        pthread_exit(NULL);
    }

    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_create(&th[i], NULL, add, (void *)(intptr_t)(i + 1)) == 0, "create");
    for (int i = 0; i < THREADS; i++) {
        void *ret;
        CHECK(pthread_join(th[i], &ret) == 0, "join");
        printf("thread %d returned %ld\n", i + 1, (long)(intptr_t)ret);
    }
    EXPECT_RET("counter", counter, (long)THREADS * ROUNDS);

    pthread_create(&th[0], NULL, pong, NULL);
    pthread_mutex_lock(&lock);
    for (int i = 0; i < 500; i++) {
        turn = 1;
        pthread_cond_signal(&cond);
        while (turn != 0)
            pthread_cond_wait(&cond, &lock);
    }
    pthread_mutex_unlock(&lock);
    pthread_join(th[0], NULL);
    EXPECT_RET("ping-pong rounds", pings, 500);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    pid_t target = 0;
    pthread_create(&th[0], NULL, wait_for_signal, &target);
    while (!__atomic_load_n(&target, __ATOMIC_ACQUIRE))
        sched_yield();
    EXPECT_RET("pthread_kill", pthread_kill(th[0], SIGUSR1), 0);
    pthread_join(th[0], NULL);
    EXPECT_FACT("the handler ran in the target thread", handler_tid == target);
    EXPECT_RET("getpid in main", getpid(), 1);
    EXPECT_RET("gettid in main", gettid(), 1);
    return guest_ok();
}
