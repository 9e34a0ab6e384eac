/* The program break: brk(0) queries, growth by pages (writable, zero-filled), shrink and regrow
 * (pages released by a shrink come back zeroed; the kept part of a page keeps its bytes), and
 * requests Linux refuses (huge, below the start, into a mapping) returning the old break. */
#include "guest.h"

#include <sys/mman.h>

static char *sys_brk(void *addr)
{
    return (char *)syscall(SYS_brk, addr);
}

static int all_bytes(const char *p, size_t len, char value)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != value)
            return 0;
    return 1;
}

int main(void)
{
    const long page = guest_page_size();

    /* stdio's buffer comes from malloc, which may move the break: allocate it first. */
    printf("brk test\n");
    fflush(stdout);

    char *start = sys_brk(NULL);
    EXPECT_FACT("brk(0) nonzero", start != NULL);
    EXPECT_FACT("brk(0) is stable", sys_brk(NULL) == start);
    EXPECT_FACT("brk(0) page-aligned", ((uintptr_t)start % page) == 0);
    EXPECT_FACT("sbrk(0) agrees with brk(0)", sbrk(0) == start);

    /* Grow by five pages: the new memory reads zero and is writable. */
    char *want = start + 5 * page;
    EXPECT_FACT("grow 5 pages returns the new break", sys_brk(want) == want);
    EXPECT_FACT("brk(0) reports the new break", sys_brk(NULL) == want);
    EXPECT_FACT("grown pages read zero", all_bytes(start, 5 * page, 0));
    memset(start, 0x5a, 5 * page);
    EXPECT_FACT("grown pages hold what was written", all_bytes(start, 5 * page, 0x5a));

    /* An unaligned break is kept as given. */
    EXPECT_FACT("unaligned brk returns the request", sys_brk(want + 100) == want + 100);
    EXPECT_FACT("brk(0) reports the unaligned break", sys_brk(NULL) == want + 100);

    /* Shrink to the middle of the first page, then grow back over the released pages. */
    EXPECT_FACT("shrink returns the new break", sys_brk(start + 100) == start + 100);
    EXPECT_FACT("regrow returns the new break", sys_brk(want) == want);
    printf("kept page tail after shrink+regrow: %s\n",
           all_bytes(start + 100, page - 100, 0x5a) ? "preserved"
           : all_bytes(start + 100, page - 100, 0)  ? "zeroed"
                                                    : "mixed");
    EXPECT_FACT("released pages read zero after regrow", all_bytes(start + page, 4 * page, 0));

    /* Refused requests leave the break where it is and return it. */
    EXPECT_FACT("huge brk returns the old break", sys_brk(start + (1UL << 46)) == want);
    EXPECT_FACT("brk below the start returns the old break", sys_brk(start - page * 1024) == want);
    EXPECT_FACT("brk(1) returns the old break", sys_brk((void *)1) == want);

    char *wall = mmap(start + 16 * page, page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK(wall == start + 16 * page, "mmap above the break: %s", guest_errno_name(errno));
    EXPECT_FACT("brk over a mapping returns the old break", sys_brk(start + 32 * page) == want);
    EXPECT_FACT("brk up to just below the mapping works",
                sys_brk(start + 10 * page) == start + 10 * page);
    CHECK(munmap(wall, page) == 0, "munmap: %s", guest_errno_name(errno));

    /* Back to where malloc left it, then the libc wrappers. */
    EXPECT_FACT("shrink back to the start", sys_brk(start) == start);
    char *old = sbrk(3 * page);
    EXPECT_FACT("sbrk(3 pages) returns the old break", old == start);
    EXPECT_FACT("sbrk(0) is 3 pages higher", sbrk(0) == start + 3 * page);
    memset(old, 1, 3 * page);
    EXPECT_FACT("sbrk(-3 pages) returns the previous break", sbrk(-3 * page) == start + 3 * page);
    EXPECT_FACT("brk() wrapper succeeds", brk(start + page) == 0);
    EXPECT_FACT("brk() wrapper restores", brk(start) == 0);
    errno = 0;
    EXPECT_FACT("brk() wrapper fails on a huge request", brk(start + (1UL << 46)) == -1);
    printf("brk() wrapper errno: %s\n", guest_errno_name(errno));
    EXPECT_FACT("break unchanged after failure", sys_brk(NULL) == start);
    return guest_ok();
}
