/* A large anonymous mapping: 512 MiB touched one byte per 4 KiB page, read back and summed,
 * then unmapped. Checks the sandbox backs every page and keeps every write. */
#include "guest.h"

#include <sys/mman.h>

#define MAP_BYTES (512UL << 20)
#define STRIDE 4096UL

int main(void)
{
    unsigned char *p =
        mmap(NULL, MAP_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED, "mmap 512 MiB: %s", guest_errno_name(errno));

    unsigned long pages = MAP_BYTES / STRIDE, expected = 0;
    for (unsigned long i = 0; i < pages; i++) {
        p[i * STRIDE + i % STRIDE] = (unsigned char)(i * 7 + 1);
        expected += (unsigned char)(i * 7 + 1);
    }

    unsigned long sum = 0, zero_elsewhere = 1;
    for (unsigned long i = 0; i < pages; i++) {
        sum += p[i * STRIDE + i % STRIDE];
        if (p[i * STRIDE + (i + 1) % STRIDE] != 0)
            zero_elsewhere = 0;
    }
    printf("pages touched: %lu\n", pages);
    printf("sum: %lu\n", sum);
    CHECK(sum == expected, "expected %lu", expected);
    EXPECT_FACT("untouched bytes still zero", zero_elsewhere);
    EXPECT_RET("munmap 512 MiB", munmap(p, MAP_BYTES), 0);
    return guest_ok();
}
