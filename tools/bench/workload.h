/* Shared by the benchmark workloads: argument parsing and timing. */
#ifndef RUNSC_BENCH_WORKLOAD_H
#define RUNSC_BENCH_WORKLOAD_H

#include <stdlib.h>
#include <time.h>

/* A positive count from the command line, or -1. */
static inline long parse_count(const char *text)
{
    char *end;
    long value = strtol(text, &end, 10);

    if (*text == '\0' || *end != '\0' || value <= 0)
        return -1;
    return value;
}

static inline double timespec_diff_ns(const struct timespec *start, const struct timespec *end)
{
    return (double)(end->tv_sec - start->tv_sec) * 1e9 + (double)(end->tv_nsec - start->tv_nsec);
}

#endif
