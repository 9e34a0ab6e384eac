/* Anonymous private mappings: zero fill, MAP_FIXED replacement, MAP_FIXED_NOREPLACE, munmap
 * of holes, mprotect, mremap grow/shrink/in-place limits, MADV_DONTNEED, and the EINVAL /
 * ENOMEM / EEXIST / EBADF answers Linux gives for malformed requests. */
#include "guest.h"

#include <sys/mman.h>

#define PRIV_ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define RW (PROT_READ | PROT_WRITE)

static int all_bytes(const char *p, size_t len, char value)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != value)
            return 0;
    return 1;
}

static char *map_anon(void *hint, size_t len, int extra_flags)
{
    char *p = mmap(hint, len, RW, PRIV_ANON | extra_flags, -1, 0);
    CHECK(p != MAP_FAILED, "mmap %zu bytes: %s", len, guest_errno_name(errno));
    return p;
}

int main(void)
{
    const size_t page = (size_t)guest_page_size();

    char *p = map_anon(NULL, 4 * page, 0);
    EXPECT_FACT("mmap result page-aligned", (uintptr_t)p % page == 0);
    EXPECT_FACT("anonymous private mapping reads zero", all_bytes(p, 4 * page, 0));
    memset(p, 'a', 4 * page);

    /* MAP_FIXED replaces exactly the pages it covers. */
    char *fixed = map_anon(p + page, page, MAP_FIXED);
    EXPECT_FACT("MAP_FIXED returns the requested address", fixed == p + page);
    EXPECT_FACT("MAP_FIXED page reads zero", all_bytes(p + page, page, 0));
    EXPECT_FACT("pages around MAP_FIXED keep their bytes",
                all_bytes(p, page, 'a') && all_bytes(p + 2 * page, 2 * page, 'a'));

    /* MAP_FIXED_NOREPLACE: refused over a mapping, honoured in a hole. */
    EXPECT_ERRNO("MAP_FIXED_NOREPLACE over a mapping",
                 mmap(p, page, RW, PRIV_ANON | MAP_FIXED_NOREPLACE, -1, 0), EEXIST);
    EXPECT_RET("munmap middle page", munmap(p + 2 * page, page), 0);
    EXPECT_RET("munmap the same hole again", munmap(p + 2 * page, page), 0);
    char *refill = map_anon(p + 2 * page, page, MAP_FIXED_NOREPLACE);
    EXPECT_FACT("MAP_FIXED_NOREPLACE fills the hole", refill == p + 2 * page);
    EXPECT_FACT("refilled hole reads zero", all_bytes(refill, page, 0));

    /* A free hint address is honoured without MAP_FIXED. */
    char *gone = map_anon(NULL, 2 * page, 0);
    CHECK(munmap(gone, 2 * page) == 0, "munmap: %s", guest_errno_name(errno));
    char *hinted = map_anon(gone, 2 * page, 0);
    EXPECT_FACT("free hint address honoured", hinted == gone);
    CHECK(munmap(hinted, 2 * page) == 0, "munmap: %s", guest_errno_name(errno));

    /* Malformed requests. */
    EXPECT_ERRNO("munmap unaligned address", munmap(p + 1, page), EINVAL);
    EXPECT_ERRNO("munmap length 0", munmap(p, 0), EINVAL);
    EXPECT_ERRNO("mmap length 0", mmap(NULL, 0, RW, PRIV_ANON, -1, 0), EINVAL);
    EXPECT_ERRNO("mmap MAP_FIXED unaligned", mmap(p + 1, page, RW, PRIV_ANON | MAP_FIXED, -1, 0),
                 EINVAL);
    EXPECT_ERRNO("mmap neither private nor shared", mmap(NULL, page, RW, MAP_ANONYMOUS, -1, 0),
                 EINVAL);
    EXPECT_ERRNO("mmap unaligned offset", mmap(NULL, page, RW, PRIV_ANON, -1, 1), EINVAL);
    EXPECT_ERRNO("mmap huge length", mmap(NULL, 1UL << 62, RW, PRIV_ANON, -1, 0), ENOMEM);
    EXPECT_ERRNO("mmap file without an fd", mmap(NULL, page, PROT_READ, MAP_PRIVATE, -1, 0), EBADF);

    /* mprotect: reads still work after dropping write; errors for bad ranges. */
    EXPECT_RET("mprotect PROT_READ", mprotect(p, page, PROT_READ), 0);
    EXPECT_FACT("read after mprotect PROT_READ", all_bytes(p, page, 'a'));
    EXPECT_RET("mprotect back to RW", mprotect(p, page, RW), 0);
    p[0] = 'b';
    EXPECT_FACT("write after mprotect RW", p[0] == 'b');
    EXPECT_ERRNO("mprotect unaligned", mprotect(p + 1, page, PROT_READ), EINVAL);
    EXPECT_ERRNO("mprotect bad prot bits", mprotect(p, page, 0x100), EINVAL);
    CHECK(munmap(p + 3 * page, page) == 0, "munmap: %s", guest_errno_name(errno));
    EXPECT_ERRNO("mprotect unmapped range", mprotect(p + 3 * page, page, PROT_READ), ENOMEM);
    EXPECT_ERRNO("mprotect range ending in a hole", mprotect(p, 4 * page, PROT_READ), ENOMEM);
    EXPECT_RET("mprotect length 0", mprotect(p, 0, PROT_READ), 0);

    /* mremap: growth with MAYMOVE keeps contents, shrink stays in place. */
    char *q = map_anon(NULL, 2 * page, 0);
    memset(q, 'q', 2 * page);
    char *grown = mremap(q, 2 * page, 16 * page, MREMAP_MAYMOVE);
    CHECK(grown != MAP_FAILED, "mremap grow: %s", guest_errno_name(errno));
    EXPECT_FACT("mremap grow keeps contents", all_bytes(grown, 2 * page, 'q'));
    EXPECT_FACT("mremap grown tail reads zero", all_bytes(grown + 2 * page, 14 * page, 0));
    memset(grown, 'g', 16 * page);
    char *shrunk = mremap(grown, 16 * page, 4 * page, 0);
    EXPECT_FACT("mremap shrink stays in place", shrunk == grown);
    EXPECT_FACT("mremap shrink keeps contents", all_bytes(shrunk, 4 * page, 'g'));
    EXPECT_ERRNO("mprotect the released tail", mprotect(grown + 4 * page, page, PROT_READ), ENOMEM);
    EXPECT_ERRNO("mremap grow into a mapping without MAYMOVE", mremap(shrunk, page, 2 * page, 0),
                 ENOMEM);
    EXPECT_ERRNO("mremap bad flags", mremap(shrunk, page, 2 * page, 0x80), EINVAL);
    EXPECT_ERRNO("mremap new length 0", mremap(shrunk, page, 0, MREMAP_MAYMOVE), EINVAL);
    EXPECT_ERRNO("mremap unaligned", mremap(shrunk + 1, page, page, 0), EINVAL);

    /* MADV_DONTNEED drops private anonymous pages: they read zero again. */
    EXPECT_RET("madvise MADV_DONTNEED", madvise(shrunk + page, 2 * page, MADV_DONTNEED), 0);
    EXPECT_FACT("pages read zero after MADV_DONTNEED", all_bytes(shrunk + page, 2 * page, 0));
    EXPECT_FACT("pages outside MADV_DONTNEED kept",
                all_bytes(shrunk, page, 'g') && all_bytes(shrunk + 3 * page, page, 'g'));
    EXPECT_ERRNO("madvise unaligned", madvise(shrunk + 1, page, MADV_DONTNEED), EINVAL);

    EXPECT_RET("munmap spanning mapped and unmapped", munmap(p, 4 * page), 0);
    EXPECT_RET("munmap the mremapped region", munmap(shrunk, 4 * page), 0);
    return guest_ok();
}
