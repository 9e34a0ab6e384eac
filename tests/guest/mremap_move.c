/* mremap moving pages away: the pages keep their contents at the new address, and the old
 * address, once something new is mapped there, shows only the new mapping (a fresh anonymous
 * mapping reads zeroes), never the moved pages. Both for a move to a chosen address
 * (MREMAP_FIXED) and for a grow that has to move. */
#include "guest.h"

#include <sys/mman.h>

#define PAGES 16
#define PAGE 4096

static void fill(unsigned char *p, size_t len, unsigned char v)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)(v + i / PAGE);
}

static int holds(const unsigned char *p, size_t len, unsigned char v)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != (unsigned char)(v + i / PAGE))
            return 0;
    }
    return 1;
}

static int zero(const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i])
            return 0;
    }
    return 1;
}

int main(void)
{
    size_t len = PAGES * PAGE;
    /* Room for both ends of a move, reserved so nothing else lands there. */
    unsigned char *area = mmap(NULL, 3 * len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(area != MAP_FAILED, "reserve");
    unsigned char *a = area, *b = area + 2 * len;

    CHECK(mmap(a, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == a,
          "map a");
    fill(a, len, 0x40); /* every page touched: the host maps them all */
    unsigned char *moved = mremap(a, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, b);
    EXPECT_FACT("mremap FIXED moved to the chosen address", moved == b);
    EXPECT_FACT("the moved pages hold their data", holds(b, len, 0x40));
    CHECK(mmap(a, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == a,
          "map a again");
    EXPECT_FACT("a new mapping at the old address reads zeroes", zero(a, len));
    fill(a, len, 0x10);
    EXPECT_FACT("writing it leaves the moved pages alone", holds(b, len, 0x40));

    /* A grow that cannot happen in place (a mapping right after it) moves. */
    unsigned char *c =
        mmap(NULL, 2 * len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(c != MAP_FAILED, "map c");
    CHECK(munmap(c + len, len) == 0, "trim c");
    CHECK(mmap(c + len, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == c + len,
          "block c's growth");
    fill(c, len, 0x70);
    unsigned char *grown = mremap(c, len, 2 * len, MREMAP_MAYMOVE);
    CHECK(grown != MAP_FAILED, "grow c");
    EXPECT_FACT("the grow moved", grown != c);
    EXPECT_FACT("the grown mapping holds the old data", holds(grown, len, 0x70));
    EXPECT_FACT("and zeroes after it", zero(grown + len, len));
    CHECK(mmap(c, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == c,
          "map at c again");
    EXPECT_FACT("a new mapping where c was reads zeroes", zero(c, len));
    return guest_ok();
}
