/* The user namespace maps: Linux's rules for a uid_map write (zero counts, wrapping, overlap on
 * either side, the extent limit), translation both ways with the overflow id for host ids
 * outside the map, and /proc/PID/uid_map's format. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sentry/userns/userns.h"

static struct userns_map map;

static int clear_map(void **state)
{
    memset(&map, 0, sizeof(map));
    return 0;
}

static void test_identity_when_empty(void **state)
{
    char buf[64];
    assert_int_equal(userns_to_host(&map, 0), 0);
    assert_int_equal(userns_to_host(&map, 123456), 123456);
    assert_int_equal(userns_from_host(&map, 7), 7);
    /* (uid_t)-1 is never an id, even in the identity map. */
    assert_false(userns_valid(&map, UINT32_MAX));
    assert_true(userns_valid(&map, UINT32_MAX - 1));
    assert_int_equal(userns_map_format(&map, buf, sizeof(buf)), 33);
    assert_string_equal(buf, "         0          0 4294967295\n");
}

static void test_translation_both_ways(void **state)
{
    assert_int_equal(userns_map_add(&map, 0, 100000, 65536), 0);
    assert_int_equal(userns_map_add(&map, 65536, 5000, 10), 0);
    assert_int_equal(userns_to_host(&map, 0), 100000);
    assert_int_equal(userns_to_host(&map, 65535), 165535);
    assert_int_equal(userns_to_host(&map, 65540), 5004);
    assert_int_equal(userns_to_host(&map, 65546), USERNS_INVALID_ID);
    assert_false(userns_valid(&map, 70000));
    assert_int_equal(userns_from_host(&map, 101000), 1000);
    assert_int_equal(userns_from_host(&map, 5009), 65545);
    assert_int_equal(userns_from_host(&map, 0), USERNS_OVERFLOW_ID);
    assert_int_equal(userns_from_host(&map, 165536), USERNS_OVERFLOW_ID);

    char buf[128];
    size_t n = userns_map_format(&map, buf, sizeof(buf));
    assert_string_equal(buf,
                        "         0     100000      65536\n     65536       5000         10\n");
    assert_int_equal(n, strlen(buf));
    /* Too small a buffer: truncated, the full length reported. */
    char small[8];
    assert_int_equal(userns_map_format(&map, small, sizeof(small)), n);
    assert_int_equal(strlen(small), sizeof(small) - 1);
}

static void test_writes_linux_refuses(void **state)
{
    assert_int_equal(userns_map_add(&map, 0, 1000, 0), -EINVAL);
    /* Reaching (uid_t)-1 on either side. */
    assert_int_equal(userns_map_add(&map, UINT32_MAX - 9, 0, 10), -EINVAL);
    assert_int_equal(userns_map_add(&map, 0, UINT32_MAX - 9, 10), -EINVAL);
    assert_int_equal(userns_map_add(&map, UINT32_MAX - 10, 0, 10), 0);
    /* Overlap in the namespace's ids, then in the host's. */
    assert_int_equal(userns_map_add(&map, 0, 1000, 10), 0);
    assert_int_equal(userns_map_add(&map, 9, 5000, 1), -EINVAL);
    assert_int_equal(userns_map_add(&map, 10, 1009, 5), -EINVAL);
    assert_int_equal(userns_map_add(&map, 10, 1010, 5), 0);
    assert_int_equal(map.n, 3);
    /* The extent limit. */
    memset(&map, 0, sizeof(map));
    for (uint32_t i = 0; i < USERNS_MAX_EXTENTS; i++)
        assert_int_equal(userns_map_add(&map, i * 2, i * 2, 1), 0);
    assert_int_equal(userns_map_add(&map, 100000, 100000, 1), -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_identity_when_empty, clear_map),
        cmocka_unit_test_setup(test_translation_both_ways, clear_map),
        cmocka_unit_test_setup(test_writes_linux_refuses, clear_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
