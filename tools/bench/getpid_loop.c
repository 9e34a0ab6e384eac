/* Benchmark guest: the cost of one raw getpid(2), i.e. of a syscall round trip through the
 * kernel (or sandbox) under test. Prints one line, "ns_per_op <mean ns per call>". */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>

#include "workload.h"
#include <unistd.h>

#define DEFAULT_ITERATIONS 50000L
#define WARMUP_ITERATIONS 1000L

int main(int argc, char **argv)
{
    long iterations = DEFAULT_ITERATIONS;
    struct timespec start, end;
    long pid, i;

    if (argc > 2 || (argc == 2 && (iterations = parse_count(argv[1])) < 0)) {
        fprintf(stderr, "usage: getpid_loop [ITERATIONS]\n");
        return 2;
    }

    /* Untimed warm-up: the first calls may fault in pages or take a sandbox's slow path. */
    pid = syscall(SYS_getpid);
    if (pid <= 0) {
        perror("getpid_loop: getpid");
        return 1;
    }
    for (i = 0; i < WARMUP_ITERATIONS; i++)
        syscall(SYS_getpid);

    if (clock_gettime(CLOCK_MONOTONIC, &start) != 0) {
        perror("getpid_loop: clock_gettime");
        return 1;
    }
    /* Check every result so that a sandbox failing the call fast (ENOSYS) cannot look fast. */
    for (i = 0; i < iterations; i++) {
        if (syscall(SYS_getpid) != pid) {
            fprintf(stderr, "getpid_loop: getpid changed or failed at call %ld\n", i);
            return 1;
        }
    }
    if (clock_gettime(CLOCK_MONOTONIC, &end) != 0) {
        perror("getpid_loop: clock_gettime");
        return 1;
    }

    printf("ns_per_op %.1f\n", timespec_diff_ns(&start, &end) / (double)iterations);
    return 0;
}
