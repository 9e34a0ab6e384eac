/* Benchmark guest for process and thread operations, one per mode, each timed over N iterations
 * and printed as "ns_per_op <mean ns>":
 *   fork    fork + _exit + waitpid
 *   exec    fork + execve of this (static) program in mode "noop" + waitpid
 *   pipe    a one-byte ping-pong between two processes over two pipes (one round trip)
 *   futex   a ping-pong between two threads through a futex word (one round trip)
 *   thread  pthread_create + pthread_join */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

static long iterations;
static unsigned int turn; /* futex word: whose move it is */

static void futex_wait_for(unsigned int want)
{
    unsigned int v;
    while ((v = __atomic_load_n(&turn, __ATOMIC_ACQUIRE)) != want)
        syscall(SYS_futex, &turn, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void futex_pass(unsigned int to)
{
    __atomic_store_n(&turn, to, __ATOMIC_RELEASE);
    syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *futex_partner(void *arg)
{
    (void)arg;
    for (long i = 0; i < iterations; i++) {
        futex_wait_for(1);
        futex_pass(0);
    }
    return NULL;
}

static void *nothing(void *arg)
{
    return arg;
}

static int run(const char *mode)
{
    if (strcmp(mode, "noop") == 0)
        return 0;
    if (strcmp(mode, "exec") == 0) {
        char *child_argv[] = {"proc_ops", "noop", "1", NULL};
        for (long i = 0; i < iterations; i++) {
            pid_t pid = fork();
            if (pid == 0) {
                execv("/proc/self/exe", child_argv);
                _exit(127);
            }
            int status;
            if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0)
                return -1;
        }
    } else if (strcmp(mode, "fork") == 0) {
        for (long i = 0; i < iterations; i++) {
            pid_t pid = fork();
            if (pid == 0)
                _exit(0);
            if (pid < 0 || waitpid(pid, NULL, 0) != pid)
                return -1;
        }
    } else if (strcmp(mode, "pipe") == 0) {
        int to_child[2], to_parent[2];
        char c = 'x';
        if (pipe(to_child) || pipe(to_parent))
            return -1;
        pid_t pid = fork();
        if (pid == 0) {
            for (long i = 0; i < iterations; i++) {
                if (read(to_child[0], &c, 1) != 1 || write(to_parent[1], &c, 1) != 1)
                    _exit(1);
            }
            _exit(0);
        }
        for (long i = 0; i < iterations; i++) {
            if (write(to_child[1], &c, 1) != 1 || read(to_parent[0], &c, 1) != 1)
                return -1;
        }
        waitpid(pid, NULL, 0);
    } else if (strcmp(mode, "futex") == 0) {
        pthread_t t;
        if (pthread_create(&t, NULL, futex_partner, NULL))
            return -1;
        for (long i = 0; i < iterations; i++) {
            futex_pass(1);
            futex_wait_for(0);
        }
        pthread_join(t, NULL);
    } else if (strcmp(mode, "thread") == 0) {
        for (long i = 0; i < iterations; i++) {
            pthread_t t;
            if (pthread_create(&t, NULL, nothing, NULL) || pthread_join(t, NULL))
                return -1;
        }
    } else {
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct timespec start, end;

    if (argc != 3 || (iterations = parse_count(argv[2])) < 0) {
        fprintf(stderr, "usage: proc_ops fork|exec|pipe|futex|thread ITERATIONS\n");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (run(argv[1]) != 0) {
        fprintf(stderr, "proc_ops %s failed\n", argv[1]);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    printf("ns_per_op %.1f\n", timespec_diff_ns(&start, &end) / (double)iterations);
    return 0;
}
