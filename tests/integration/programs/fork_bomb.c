/* Forks until fork fails, then reports how far it got and why, kills the children and reaps
 * them: runsc must bound it (EAGAIN) and stay responsive. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    int made = 0;

    for (;;) {
        pid_t pid = fork();
        if (pid == 0) {
            pause();
            _exit(0);
        }
        if (pid < 0) {
            printf("fork failed after %d children: %s\n", made, strerror(errno));
            break;
        }
        made++;
    }
    /* Init survives its own SIGTERM (no handler); the children do not. */
    kill(0, SIGTERM);
    int reaped = 0;
    while (wait(NULL) > 0)
        reaped++;
    printf("reaped %d\n", reaped);
    return 0;
}
