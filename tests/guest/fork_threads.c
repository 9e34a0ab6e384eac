/* fork() in a process whose other threads keep writing to their stacks and heap: after each fork
 * their pages are copy-on-write, and threads whose writes fault at the same time (one of them
 * breaking the copy for a window the others' pages are in) must all go on. Every thread checks
 * its data; the children just exit. */
#include "guest.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define THREADS 16
#define ROUNDS 300

static uint64_t *heap_blocks[THREADS];

static void *writer(void *arg)
{
    int id = (int)(intptr_t)arg;
    volatile uint64_t stack_block[512];
    uint64_t *heap = heap_blocks[id];
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < 512; i++) {
            stack_block[i] = (uint64_t)(id * 1000000 + round * 1000 + i);
            heap[i] = stack_block[i] + 1;
        }
        for (int i = 0; i < 512; i++) {
            if (stack_block[i] + 1 != heap[i])
                return (void *)1;
        }
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int main(void)
{
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        heap_blocks[i] = malloc(512 * sizeof(uint64_t));
        EXPECT_FACT("malloc", heap_blocks[i] != NULL);
        EXPECT_RET("pthread_create", pthread_create(&threads[i], NULL, writer, (void *)(intptr_t)i), 0);
    }
    int forks_ok = 0;
    for (int f = 0; f < 20; f++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        int status;
        if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
            WEXITSTATUS(status) == 0)
            forks_ok++;
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    printf("children that exited 0: %d of 20\n", forks_ok);
    int threads_ok = 0;
    for (int i = 0; i < THREADS; i++) {
        void *ret;
        pthread_join(threads[i], &ret);
        threads_ok += ret == NULL;
    }
    printf("threads whose data stayed right: %d of %d\n", threads_ok, THREADS);
    EXPECT_FACT("all children and threads fine", forks_ok == 20 && threads_ok == THREADS);
    guest_ok();
    return 0;
}
