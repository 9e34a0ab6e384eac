/* getrandom(2): every flag combination Linux accepts fills exactly the requested length and
 * nothing past it, successive calls differ, and unknown or conflicting flags give EINVAL. */
#include "guest.h"

#include <sys/random.h>

#define SENTINEL 0xa5

static int all_bytes(const unsigned char *p, size_t len, unsigned char value)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != value)
            return 0;
    return 1;
}

static void fill_case(const char *flag_name, unsigned flags, size_t len)
{
    static unsigned char buf[4096 + 64];

    memset(buf, SENTINEL, sizeof(buf));
    ssize_t n = getrandom(buf, len, flags);
    printf("getrandom(%zu, %s) = %zd\n", len, flag_name, n);
    CHECK(n == (ssize_t)len, "%s", n < 0 ? guest_errno_name(errno) : "short read");
    CHECK(all_bytes(buf + len, 64, SENTINEL), "wrote past the requested length");
    /* 16 or more random bytes all equal to the sentinel would be a 2^-128 accident. */
    if (len >= 16)
        CHECK(!all_bytes(buf, len, SENTINEL), "buffer left untouched");
}

int main(void)
{
    static const size_t lengths[] = {0, 1, 16, 256, 4096};
    static const struct {
        const char *name;
        unsigned flags;
    } modes[] = {
        {"0", 0},
        {"GRND_NONBLOCK", GRND_NONBLOCK},
        {"GRND_RANDOM", GRND_RANDOM},
        {"GRND_RANDOM|GRND_NONBLOCK", GRND_RANDOM | GRND_NONBLOCK},
        {"GRND_INSECURE", GRND_INSECURE},
    };

    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
        for (size_t l = 0; l < sizeof(lengths) / sizeof(lengths[0]); l++)
            fill_case(modes[m].name, modes[m].flags, lengths[l]);

    unsigned char a[16], b[16];
    CHECK(getrandom(a, sizeof(a), 0) == sizeof(a), "getrandom: %s", guest_errno_name(errno));
    CHECK(getrandom(b, sizeof(b), 0) == sizeof(b), "getrandom: %s", guest_errno_name(errno));
    EXPECT_FACT("two 16-byte reads differ", memcmp(a, b, sizeof(a)) != 0);

    EXPECT_ERRNO("unknown flag 0x80", getrandom(a, sizeof(a), 0x80), EINVAL);
    EXPECT_ERRNO("GRND_INSECURE|GRND_RANDOM", getrandom(a, sizeof(a), GRND_INSECURE | GRND_RANDOM),
                 EINVAL);
    EXPECT_ERRNO("all flag bits", getrandom(a, sizeof(a), ~0u), EINVAL);
    return guest_ok();
}
