/* Calls the libc time functions N times each; they go through the vDSO where libc uses one.
 * Prints "monotonic ok" when CLOCK_MONOTONIC never went back. With a second argument
 * "cputime", also reads CLOCK_PROCESS_CPUTIME_ID once (a clock the vDSO passes to the kernel).
 * Built static, dynamic, and with musl-gcc by tests/integration/vdso.sh. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    struct timespec ts, prev = {0, 0};
    struct timeval tv;
    int backwards = 0;

    for (long i = 0; i < n; i++) {
        if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
            return 1;
        if (ts.tv_sec < prev.tv_sec || (ts.tv_sec == prev.tv_sec && ts.tv_nsec < prev.tv_nsec))
            backwards = 1;
        prev = ts;
        if (gettimeofday(&tv, NULL) != 0 || time(NULL) <= 0)
            return 1;
    }
    if (argc > 2 && strcmp(argv[2], "cputime") == 0 &&
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
        return 1;
    printf("monotonic %s\n", backwards ? "went back" : "ok");
    return 0;
}
