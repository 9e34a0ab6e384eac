/* F_GETPIPE_SZ / F_SETPIPE_SZ: the default capacity, rounding up to a power-of-two number of
 * pages, EBUSY when the data doesn't fit, and a non-blocking writer filling exactly the new
 * capacity before EAGAIN. */
#include "guest.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static long fill(int fd)
{
    static char chunk[4096];
    long total = 0;
    for (;;) {
        ssize_t n = write(fd, chunk, sizeof(chunk));
        if (n < 0)
            return errno == EAGAIN ? total : -1;
        total += n;
    }
}

int main(void)
{
    int p[2];
    EXPECT_RET("pipe2", pipe2(p, O_NONBLOCK), 0);
    EXPECT_RET("default size", fcntl(p[0], F_GETPIPE_SZ), 65536);
    EXPECT_RET("set 100000 rounds up", fcntl(p[1], F_SETPIPE_SZ, 100000), 131072);
    EXPECT_RET("both ends see it", fcntl(p[0], F_GETPIPE_SZ), 131072);
    printf("a non-blocking writer fills: %ld\n", fill(p[1]));
    EXPECT_ERRNO("shrinking below the data", fcntl(p[1], F_SETPIPE_SZ, 4096), EBUSY);
    char buf[4096];
    while (read(p[0], buf, sizeof(buf)) > 0)
        ;
    EXPECT_RET("shrink to one page when empty", fcntl(p[1], F_SETPIPE_SZ, 1), 4096);
    printf("now it fills: %ld\n", fill(p[1]));
    int f = open("/dev/null", O_RDONLY);
    EXPECT_ERRNO("not a pipe", fcntl(f, F_GETPIPE_SZ), EBADF);
    guest_ok();
    return 0;
}
