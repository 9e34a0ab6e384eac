/* When init exits, the rest of its pid namespace goes with it: init leaves children running
 * (blocked in pause and in a pipe read) and exits 5; the sandbox ends with status 5 at once. */
#include "guest.h"

#include <signal.h>

int main(void)
{
    int p[2];

    CHECK(pipe(p) == 0, "pipe");
    for (int i = 0; i < 3; i++) {
        pid_t pid = fork();
        CHECK(pid >= 0, "fork");
        if (pid == 0) {
            char c;
            if (i == 0)
                pause();
            else
                (void)read(p[0], &c, 1); /* init holds the write end: never returns */
            _exit(0);
        }
    }
    printf("init: leaving three children behind\n");
    guest_ok();
    fflush(stdout);
    exit(5);
}
