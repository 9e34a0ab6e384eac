/* Futexes: EAGAIN on a changed word, timeouts (relative and absolute), wakes across processes
 * through shared memory, FUTEX_WAKE_OP, argument errors, and process-shared pthread mutexes and
 * semaphores built on them. */
#include "guest.h"

#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

static long futex(uint32_t *addr, int op, uint32_t val, const struct timespec *ts, uint32_t *addr2,
                  uint32_t val3)
{
    return syscall(SYS_futex, addr, op, val, ts, addr2, val3);
}

static long elapsed_ms(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

struct shared {
    uint32_t word;
    uint32_t word2;
    pthread_mutex_t mutex;
    sem_t sem;
    long counter;
};

int main(void)
{
    static uint32_t word = 7, word2 = 0;
    struct timespec start, ts;

    setvbuf(stdout, NULL, _IOLBF, 0);
    EXPECT_ERRNO("wait on a changed word", futex(&word, FUTEX_WAIT_PRIVATE, 8, NULL, NULL, 0),
                 EAGAIN);
    EXPECT_RET("wake with no waiters", futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), 0);
    ts = (struct timespec){0, 30 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &start);
    EXPECT_ERRNO("relative timeout", futex(&word, FUTEX_WAIT_PRIVATE, 7, &ts, NULL, 0), ETIMEDOUT);
    EXPECT_FACT("waited at least 30 ms", elapsed_ms(&start) >= 30);
    /* The deadline is 20 ms after `start` itself, so the check holds however late we get to
     * the call. */
    clock_gettime(CLOCK_MONOTONIC, &start);
    ts = start;
    ts.tv_nsec += 20 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    EXPECT_ERRNO("absolute timeout (WAIT_BITSET)",
                 futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 7, &ts, NULL, FUTEX_BITSET_MATCH_ANY),
                 ETIMEDOUT);
    EXPECT_FACT("waited at least 20 ms", elapsed_ms(&start) >= 20);
    EXPECT_ERRNO("zero bitset", futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 7, NULL, NULL, 0), EINVAL);
    EXPECT_ERRNO("unaligned word", futex((uint32_t *)((char *)&word + 1), FUTEX_WAKE, 1, NULL, NULL, 0),
                 EINVAL);
    EXPECT_ERRNO("bad address", futex((uint32_t *)8, FUTEX_WAIT, 0, NULL, NULL, 0), EFAULT);
    ts = (struct timespec){0, 1000000000L};
    EXPECT_ERRNO("bad timeout", futex(&word, FUTEX_WAIT, 7, &ts, NULL, 0), EINVAL);
    EXPECT_ERRNO("unknown op", futex(&word, 99, 0, NULL, NULL, 0), ENOSYS);

    /* FUTEX_WAKE_OP: word2 += 5 and wake on word2 if its old value was 0 (nobody waits). */
    uint32_t op = FUTEX_OP(FUTEX_OP_ADD, 5, FUTEX_OP_CMP_EQ, 0);
    EXPECT_RET("wake_op", futex(&word, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &word2, op), 0);
    EXPECT_RET("wake_op changed the second word", word2, 5);

    /* A wake across processes through a MAP_SHARED word. */
    struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                             -1, 0);
    CHECK(sh != MAP_FAILED, "mmap");
    pid_t pid = fork();
    if (pid == 0) {
        while (__atomic_load_n(&sh->word, __ATOMIC_ACQUIRE) == 0)
            futex(&sh->word, FUTEX_WAIT, 0, NULL, NULL, 0);
        _exit(sh->word == 42 ? 0 : 1);
    }
    ts = (struct timespec){0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    __atomic_store_n(&sh->word, 42, __ATOMIC_RELEASE);
    long woken = futex(&sh->word, FUTEX_WAKE, 1, NULL, NULL, 0);
    int status;
    waitpid(pid, &status, 0);
    EXPECT_FACT("the child was asleep and got woken", woken == 1);
    EXPECT_RET("child saw the value", WEXITSTATUS(status), 0);

    /* Process-shared mutex and semaphore. */
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&sh->mutex, &ma);
    sem_init(&sh->sem, 1, 0);
    pid = fork();
    for (int i = 0; i < 20000; i++) {
        pthread_mutex_lock(&sh->mutex);
        sh->counter++;
        pthread_mutex_unlock(&sh->mutex);
    }
    if (pid == 0) {
        sem_post(&sh->sem);
        _exit(0);
    }
    EXPECT_RET("sem_wait for the child", sem_wait(&sh->sem), 0);
    waitpid(pid, &status, 0);
    EXPECT_RET("counter under the shared mutex", sh->counter, 40000);
    return guest_ok();
}
