/* fork() while other threads are being created, write their stacks and heap, and exit (what
 * CPython's test_threading.test_is_alive_after_fork does): the parent and every thread must keep
 * their own data, and each child must see exactly what its parent had written before it forked,
 * however its pages are made copy-on-write. */
#include "guest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define WRITERS 4
#define ROUNDS 150
#define WORDS 2048 /* 16 KiB: more than one page, inside one copy window or across two */

static uint64_t shared_words[WORDS]; /* written by main before each fork, checked by the child */
static uint64_t *writer_heap[WRITERS];
static atomic_int stop_writers;

static void fill(volatile uint64_t *w, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++)
        w[i] = seed * 0x9e3779b97f4a7c15ULL + i;
}

static bool check(const volatile uint64_t *w, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        if (w[i] != seed * 0x9e3779b97f4a7c15ULL + i)
            return false;
    }
    return true;
}

/* Runs for the whole test: writes its stack and heap and checks them, so its writes fault on
 * pages a fork has just made copy-on-write. */
static void *writer(void *arg)
{
    int id = (int)(intptr_t)arg;
    volatile uint64_t stack_words[WORDS];
    uint64_t seed = (uint64_t)id << 32;
    while (!atomic_load(&stop_writers)) {
        seed++;
        fill(stack_words, WORDS, seed);
        fill(writer_heap[id], WORDS, seed + 7);
        if (!check(stack_words, WORDS, seed) || !check(writer_heap[id], WORDS, seed + 7))
            return (void *)1;
    }
    return NULL;
}

/* Started just before each fork and gone soon after: a fresh stack (or one glibc reuses),
 * written while the fork runs. */
static void *short_lived(void *arg)
{
    volatile uint64_t stack_words[WORDS / 4];
    uint64_t seed = (uint64_t)(intptr_t)arg;
    fill(stack_words, WORDS / 4, seed);
    return check(stack_words, WORDS / 4, seed) ? NULL : (void *)1;
}

/* In the child: what the parent wrote before forking is there, and the child's own writes stay
 * its own. 10 when all is right, as in the Python test. */
static int child_checks(uint64_t round, const volatile uint64_t *parent_stack)
{
    if (!check(shared_words, WORDS, round) || !check(parent_stack, WORDS / 8, round + 3))
        return 11;
    fill(shared_words, WORDS, round + 100);
    return check(shared_words, WORDS, round + 100) ? 10 : 12;
}

int main(void)
{
    pthread_t writers[WRITERS];
    volatile uint64_t main_stack[WORDS / 8];

    for (int i = 0; i < WRITERS; i++) {
        writer_heap[i] = malloc(WORDS * sizeof(uint64_t));
        EXPECT_FACT("malloc", writer_heap[i] != NULL);
        EXPECT_RET("pthread_create writer",
                   pthread_create(&writers[i], NULL, writer, (void *)(intptr_t)i), 0);
    }
    int children_ok = 0, short_ok = 0, parent_ok = 0;
    for (uint64_t round = 0; round < ROUNDS; round++) {
        fill(shared_words, WORDS, round);
        fill(main_stack, WORDS / 8, round + 3);
        pthread_t t;
        if (pthread_create(&t, NULL, short_lived, (void *)(intptr_t)(round + 1)) != 0)
            break;
        pid_t pid = fork();
        if (pid == 0)
            _exit(child_checks(round, main_stack));
        void *ret = (void *)1;
        pthread_join(t, &ret);
        short_ok += ret == NULL;
        int status = 0;
        if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
            WEXITSTATUS(status) == 10)
            children_ok++;
        /* The child's writes went to its own copy. */
        parent_ok += check(shared_words, WORDS, round) && check(main_stack, WORDS / 8, round + 3);
    }
    atomic_store(&stop_writers, 1);
    int writers_ok = 0;
    for (int i = 0; i < WRITERS; i++) {
        void *ret = (void *)1;
        pthread_join(writers[i], &ret);
        writers_ok += ret == NULL;
    }
    printf("children that saw their parent's memory: %d of %d\n", children_ok, ROUNDS);
    printf("parent rounds whose memory stayed its own: %d of %d\n", parent_ok, ROUNDS);
    printf("short-lived threads whose stack stayed right: %d of %d\n", short_ok, ROUNDS);
    printf("writers whose data stayed right: %d of %d\n", writers_ok, WRITERS);
    EXPECT_FACT("all fine", children_ok == ROUNDS && parent_ok == ROUNDS && short_ok == ROUNDS &&
                                writers_ok == WRITERS);
    guest_ok();
    return 0;
}
