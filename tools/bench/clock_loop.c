/* Benchmark guest: the cost of one clock_gettime(CLOCK_MONOTONIC) through libc, which answers it
 * from the vDSO where there is one (natively the kernel's, in a sandbox the sandbox's own).
 * Prints one line, "ns_per_op <mean ns per call>". */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "workload.h"

#define DEFAULT_ITERATIONS 1000000L
#define WARMUP_ITERATIONS 1000L

int main(int argc, char **argv)
{
    long iterations = DEFAULT_ITERATIONS;
    struct timespec start, end, ts, prev = {0, 0};
    long i;

    if (argc > 2 || (argc == 2 && (iterations = parse_count(argv[1])) < 0)) {
        fprintf(stderr, "usage: clock_loop [ITERATIONS]\n");
        return 2;
    }
    /* Untimed warm-up: the first call may fault the vDSO's pages in. */
    for (i = 0; i < WARMUP_ITERATIONS; i++)
        clock_gettime(CLOCK_MONOTONIC, &ts);

    if (clock_gettime(CLOCK_MONOTONIC, &start) != 0) {
        perror("clock_loop: clock_gettime");
        return 1;
    }
    /* Check every result so that a sandbox failing the call fast cannot look fast. */
    for (i = 0; i < iterations; i++) {
        if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0 || ts.tv_sec < prev.tv_sec ||
            (ts.tv_sec == prev.tv_sec && ts.tv_nsec < prev.tv_nsec)) {
            fprintf(stderr, "clock_loop: clock_gettime failed or went back at call %ld\n", i);
            return 1;
        }
        prev = ts;
    }
    if (clock_gettime(CLOCK_MONOTONIC, &end) != 0) {
        perror("clock_loop: clock_gettime");
        return 1;
    }
    printf("ns_per_op %.1f\n", timespec_diff_ns(&start, &end) / (double)iterations);
    return 0;
}
