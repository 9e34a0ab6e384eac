/* Faults on protected memory are fatal: `prot_none_segv MODE` touches memory it may not and must
 * die of SIGSEGV (no handler is installed). Each mode first shows the access was set up. */
#include "guest.h"

#include <sys/mman.h>

static char *map_page(int prot)
{
    char *p = mmap(NULL, (size_t)guest_page_size(), prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED, "mmap: %s", guest_errno_name(errno));
    return p;
}

int main(int argc, char **argv)
{
    CHECK(argc == 2, "usage: prot_none_segv read-none|write-readonly|exec-noexec|read-unmapped");
    const char *mode = argv[1];
    volatile char *target;

    if (strcmp(mode, "read-none") == 0) {
        target = map_page(PROT_READ | PROT_WRITE);
        target[0] = 1;
        EXPECT_RET("mprotect PROT_NONE", mprotect((void *)target, guest_page_size(), PROT_NONE), 0);
    } else if (strcmp(mode, "write-readonly") == 0) {
        target = map_page(PROT_READ | PROT_WRITE);
        target[0] = 1;
        EXPECT_RET("mprotect PROT_READ", mprotect((void *)target, guest_page_size(), PROT_READ), 0);
        printf("still readable: %d\n", target[0]);
    } else if (strcmp(mode, "exec-noexec") == 0) {
        target = map_page(PROT_READ | PROT_WRITE);
        target[0] = (char)0xc3; /* ret: would return normally if the page were executable. */
    } else if (strcmp(mode, "read-unmapped") == 0) {
        target = map_page(PROT_READ | PROT_WRITE);
        EXPECT_RET("munmap", munmap((void *)target, guest_page_size()), 0);
    } else {
        CHECK(0, "unknown mode %s", mode);
    }

    printf("%s: about to fault\n", mode);
    fflush(stdout);
    if (strcmp(mode, "write-readonly") == 0) {
        target[0] = 2;
    } else if (strcmp(mode, "exec-noexec") == 0) {
        void (*fn)(void) = (void (*)(void))(uintptr_t)target;
        fn();
    } else {
        printf("read %d\n", target[0]);
    }
    printf("%s: survived the access\n", mode);
    return 1;
}
