/* Robust futexes: a robust mutex held by a thread that exits, or by a process that is killed
 * (the mutex in MAP_SHARED anonymous memory), is handed to the next locker with EOWNERDEAD,
 * whether it was already waiting or comes later; consistent/unrecoverable states; and
 * get_robust_list/set_robust_list. */
#include "guest.h"

#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

static pthread_mutex_t *mutex;
static int ready_pipe[2];

static void init_robust(pthread_mutex_t *m, bool shared)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    if (shared)
        pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(m, &attr);
    pthread_mutexattr_destroy(&attr);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Takes the lock, tells the main thread, and exits holding it (after `arg` ms). */
static void *lock_and_exit(void *arg)
{
    long delay_ms = (long)(intptr_t)arg;
    int err = pthread_mutex_lock(mutex);
    char c = err == 0 ? 'y' : 'n';
    if (write(ready_pipe[1], &c, 1) != 1)
        return NULL;
    sleep_ms(delay_ms);
    return NULL;
}

static void thread_case(long delay_ms)
{
    pthread_t th;
    char c = 0;

    pthread_create(&th, NULL, lock_and_exit, (void *)(intptr_t)delay_ms);
    CHECK(read(ready_pipe[0], &c, 1) == 1 && c == 'y', "the thread took the lock");
    /* With a delay, this lock waits until the owner dies; without, it comes after. */
    if (!delay_ms)
        pthread_join(th, NULL);
    EXPECT_RET("lock after the owner thread died", pthread_mutex_lock(mutex), EOWNERDEAD);
    EXPECT_RET("consistent", pthread_mutex_consistent(mutex), 0);
    EXPECT_RET("unlock", pthread_mutex_unlock(mutex), 0);
    EXPECT_RET("lock again", pthread_mutex_lock(mutex), 0);
    EXPECT_RET("unlock again", pthread_mutex_unlock(mutex), 0);
    if (delay_ms)
        pthread_join(th, NULL);
}

static void process_case(pthread_mutex_t *m, long delay_ms)
{
    char c = 0;
    pid_t pid = fork();
    if (pid == 0) {
        c = pthread_mutex_lock(m) == 0 ? 'y' : 'n';
        if (write(ready_pipe[1], &c, 1) != 1)
            _exit(1);
        sleep_ms(delay_ms);
        raise(SIGKILL);
        _exit(2);
    }
    CHECK(read(ready_pipe[0], &c, 1) == 1 && c == 'y', "the child took the lock");
    int status = 0;
    if (!delay_ms)
        waitpid(pid, &status, 0);
    EXPECT_RET("lock after the owner process was killed", pthread_mutex_lock(m), EOWNERDEAD);
    if (delay_ms)
        waitpid(pid, &status, 0);
    EXPECT_FACT("child died of SIGKILL", WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    EXPECT_RET("consistent", pthread_mutex_consistent(m), 0);
    EXPECT_RET("unlock", pthread_mutex_unlock(m), 0);
}

int main(void)
{
    static pthread_mutex_t private_mutex;
    CHECK(pipe(ready_pipe) == 0, "pipe");

    /* get_robust_list / set_robust_list: glibc registered a head for this thread. */
    uint64_t head = 0, len = 0;
    EXPECT_RET("get_robust_list self", syscall(SYS_get_robust_list, 0, &head, &len), 0);
    EXPECT_RET("head size", len, 24);
    EXPECT_FACT("a head is registered", head != 0);
    EXPECT_ERRNO("set_robust_list bad size", syscall(SYS_set_robust_list, head, 12), EINVAL);
    EXPECT_ERRNO("get_robust_list no such task", syscall(SYS_get_robust_list, 99999, &head, &len),
                 ESRCH);
    EXPECT_ERRNO("get_robust_list bad pointer", syscall(SYS_get_robust_list, 0, (void *)8, &len),
                 EFAULT);

    mutex = &private_mutex;
    init_robust(mutex, false);
    printf("thread exits, lock comes later\n");
    thread_case(0);
    printf("thread exits while the lock waits\n");
    thread_case(50);

    /* Dead owner, no consistent: the mutex becomes unrecoverable. */
    pthread_t th;
    char c;
    pthread_create(&th, NULL, lock_and_exit, (void *)(intptr_t)0);
    CHECK(read(ready_pipe[0], &c, 1) == 1, "ready");
    pthread_join(th, NULL);
    EXPECT_RET("lock", pthread_mutex_lock(mutex), EOWNERDEAD);
    EXPECT_RET("unlock without consistent", pthread_mutex_unlock(mutex), 0);
    EXPECT_RET("lock unrecoverable", pthread_mutex_lock(mutex), ENOTRECOVERABLE);

    pthread_mutex_t *shared =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(shared != MAP_FAILED, "mmap");
    init_robust(shared, true);
    printf("process killed, lock comes later\n");
    process_case(shared, 0);
    printf("process killed while the lock waits\n");
    process_case(shared, 50);
    return guest_ok();
}
