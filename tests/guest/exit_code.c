/* Exit status plumbing: `exit_code MODE CODE` leaves with CODE through exit(3), return from main,
 * _exit(2), the exit_group syscall or the (single-thread) exit syscall. Linux keeps CODE & 0xff. */
#include "guest.h"

int main(int argc, char **argv)
{
    CHECK(argc == 3, "usage: exit_code exit|return|_exit|exit_group|exit_thread CODE");
    const char *mode = argv[1];
    int code = (int)strtol(argv[2], NULL, 0);

    printf("leaving via %s with %d (status %d)\n", mode, code, code & 0xff);
    /* exit_group/_exit/exit skip stdio's flush, so finish the output now. */
    guest_ok();

    if (strcmp(mode, "exit") == 0)
        exit(code);
    if (strcmp(mode, "return") == 0)
        return code;
    if (strcmp(mode, "_exit") == 0)
        _exit(code);
    if (strcmp(mode, "exit_group") == 0)
        syscall(SYS_exit_group, code);
    if (strcmp(mode, "exit_thread") == 0)
        syscall(SYS_exit, code);
    CHECK(0, "unknown mode %s", mode);
}
