/* Touches MIB mebibytes of anonymous memory, a page at a time, in 1 MiB mappings, then sleeps
 * SECONDS (default 0): the victim (or survivor) of a memory limit. Prints "touched N" per 16 MiB.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long mib = argc > 1 ? atol(argv[1]) : 1;
    int seconds = argc > 2 ? atoi(argv[2]) : 0;

    for (long i = 0; i < mib; i++) {
        char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            perror("mmap");
            return 1;
        }
        for (long off = 0; off < 1 << 20; off += 4096)
            p[off] = 1;
        if ((i + 1) % 16 == 0)
            printf("touched %ld\n", i + 1);
        fflush(stdout);
    }
    sleep((unsigned)seconds);
    printf("done %ld\n", mib);
    return 0;
}
