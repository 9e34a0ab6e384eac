/* The smallest guest: one line through stdio's printf, one through write(2) on stdout and stderr.
 * Checks that write reports the full length. */
#include "guest.h"

int main(void)
{
    static const char out_line[] = "hello from write(2)\n";
    static const char err_line[] = "hello on stderr\n";

    printf("hello from printf, %d + %d = %d\n", 2, 3, 2 + 3);
    fflush(stdout);

    ssize_t n = write(STDOUT_FILENO, out_line, sizeof(out_line) - 1);
    CHECK(n == (ssize_t)sizeof(out_line) - 1, "write returned %zd", n);
    n = write(STDERR_FILENO, err_line, sizeof(err_line) - 1);
    CHECK(n == (ssize_t)sizeof(err_line) - 1, "write returned %zd", n);
    return guest_ok();
}
