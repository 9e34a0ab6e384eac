/* Benchmark guest: the cost of an anonymous mapping's life cycle — mmap 64 MiB private
 * anonymous, write one byte to every 4 KiB page (one fault each), munmap. Prints one line,
 * "ns_per_op <mean ns per mmap+touch+munmap iteration>". */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "workload.h"

#define DEFAULT_ITERATIONS 20L
#define MAPPING_SIZE (64UL << 20)
#define TOUCH_STRIDE 4096UL

/* One mmap + touch + munmap cycle; returns 0, or -1 after printing why. */
static int map_touch_unmap(unsigned char fill)
{
    volatile unsigned char *mapping;
    unsigned long offset;

    mapping = mmap(NULL, MAPPING_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                   0);
    if (mapping == MAP_FAILED) {
        perror("mmap_touch: mmap");
        return -1;
    }
    for (offset = 0; offset < MAPPING_SIZE; offset += TOUCH_STRIDE)
        mapping[offset] = fill;
    /* A sandbox that dropped the writes would otherwise look fast. */
    if (mapping[0] != fill || mapping[MAPPING_SIZE - TOUCH_STRIDE] != fill) {
        fprintf(stderr, "mmap_touch: written bytes did not read back\n");
        return -1;
    }
    if (munmap((void *)mapping, MAPPING_SIZE) != 0) {
        perror("mmap_touch: munmap");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long iterations = DEFAULT_ITERATIONS;
    struct timespec start, end;
    long i;

    if (argc > 2 || (argc == 2 && (iterations = parse_count(argv[1])) < 0)) {
        fprintf(stderr, "usage: mmap_touch [ITERATIONS]\n");
        return 2;
    }

    /* Untimed warm-up cycle: first use of the allocator paths in the kernel or sandbox. */
    if (map_touch_unmap(0xa5) != 0)
        return 1;

    if (clock_gettime(CLOCK_MONOTONIC, &start) != 0) {
        perror("mmap_touch: clock_gettime");
        return 1;
    }
    for (i = 0; i < iterations; i++) {
        if (map_touch_unmap((unsigned char)(i | 1)) != 0)
            return 1;
    }
    if (clock_gettime(CLOCK_MONOTONIC, &end) != 0) {
        perror("mmap_touch: clock_gettime");
        return 1;
    }

    printf("ns_per_op %.1f\n", timespec_diff_ns(&start, &end) / (double)iterations);
    return 0;
}
