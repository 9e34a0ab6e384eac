/* Benchmark helper (runs on the host): run a command and print its wall time from fork to
 * reaped exit, "wall_ns <ns>". Exits with the command's status (128+signal if killed). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct timespec start, end;
    int status;
    pid_t pid;
    long long elapsed_ns;

    if (argc < 2) {
        fprintf(stderr, "usage: walltime COMMAND [ARGS...]\n");
        return 2;
    }

    if (clock_gettime(CLOCK_MONOTONIC, &start) != 0) {
        perror("walltime: clock_gettime");
        return 1;
    }
    pid = fork();
    if (pid < 0) {
        perror("walltime: fork");
        return 1;
    }
    if (pid == 0) {
        execvp(argv[1], &argv[1]);
        fprintf(stderr, "walltime: exec %s: %s\n", argv[1], strerror(errno));
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            perror("walltime: waitpid");
            return 1;
        }
    }
    if (clock_gettime(CLOCK_MONOTONIC, &end) != 0) {
        perror("walltime: clock_gettime");
        return 1;
    }

    elapsed_ns = (long long)(end.tv_sec - start.tv_sec) * 1000000000LL +
                 (end.tv_nsec - start.tv_nsec);
    printf("wall_ns %lld\n", elapsed_ns);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
