/* The sysctl table: Linux's defaults and text, the parse rules of a /proc/sys write (C notation,
 * separators, vectors, trailing text), each key's range, the cross-key rules, and that a
 * refused write leaves the value as it was. Expected results were checked against Linux 6.18
 * writing the same text to its /proc/sys in a fresh network and IPC namespace. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "sentry/sysctl/sysctl.h"

static struct sysctl_table table;

static int setup(void **state)
{
    (void)state;
    sysctl_table_init(&table);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sysctl_table_destroy(&table);
    return 0;
}

static const char *show(int id)
{
    static char buf[64];
    int n = sysctl_format(&table, id, buf, sizeof(buf));
    assert_true(n > 0 && (size_t)n < sizeof(buf));
    assert_int_equal(strlen(buf), n);
    return buf;
}

static int set(int id, const char *text)
{
    return sysctl_set(&table, id, text, strlen(text));
}

static void test_defaults(void **state)
{
    (void)state;
    assert_string_equal(show(SYSCTL_KERNEL_SHMMAX), "18446744073692774399\n");
    assert_string_equal(show(SYSCTL_KERNEL_SHMALL), "18446744073692774399\n");
    assert_string_equal(show(SYSCTL_KERNEL_SHMMNI), "4096\n");
    assert_string_equal(show(SYSCTL_KERNEL_SHM_RMID_FORCED), "0\n");
    assert_string_equal(show(SYSCTL_KERNEL_MSGMAX), "8192\n");
    assert_string_equal(show(SYSCTL_KERNEL_MSGMNB), "16384\n");
    assert_string_equal(show(SYSCTL_KERNEL_MSGMNI), "32000\n");
    assert_string_equal(show(SYSCTL_KERNEL_SEM), "32000\t1024000000\t500\t32000\n");
    assert_string_equal(show(SYSCTL_NET_CORE_SOMAXCONN), "4096\n");
    assert_string_equal(show(SYSCTL_NET_IPV4_IP_LOCAL_PORT_RANGE), "32768\t60999\n");
    assert_string_equal(show(SYSCTL_NET_IPV4_IP_UNPRIVILEGED_PORT_START), "1024\n");
    assert_string_equal(show(SYSCTL_NET_IPV4_PING_GROUP_RANGE), "1\t0\n");
    assert_string_equal(show(SYSCTL_NET_IPV4_TCP_SYNCOOKIES), "1\n");
    /* A short buffer: the length needed, as snprintf. */
    char small[4];
    assert_int_equal(sysctl_format(&table, SYSCTL_KERNEL_SEM, small, sizeof(small)), 27);
    assert_string_equal(small, "320");
}

static void test_lookup(void **state)
{
    (void)state;
    assert_int_equal(sysctl_lookup("kernel.shmmax"), SYSCTL_KERNEL_SHMMAX);
    assert_int_equal(sysctl_lookup("net/ipv4/ip_local_port_range"),
                     SYSCTL_NET_IPV4_IP_LOCAL_PORT_RANGE);
    assert_int_equal(sysctl_lookup("kernel.hostname"), -ENOENT);
    assert_int_equal(sysctl_lookup("kernel.shmmax.x"), -ENOENT);
    assert_int_equal(sysctl_lookup(""), -ENOENT);
    assert_string_equal(sysctl_name(SYSCTL_NET_CORE_SOMAXCONN), "net.core.somaxconn");
    assert_true(sysctl_is_net(SYSCTL_NET_IPV4_TCP_SYNCOOKIES));
    assert_false(sysctl_is_net(SYSCTL_KERNEL_SEM));
}

static void test_number_text(void **state)
{
    (void)state;
    int id = SYSCTL_NET_CORE_SOMAXCONN;
    assert_int_equal(set(id, "128"), 0);
    assert_string_equal(show(id), "128\n");
    assert_int_equal(set(id, "0x10"), 0);
    assert_string_equal(show(id), "16\n");
    assert_int_equal(set(id, "010"), 0);
    assert_string_equal(show(id), "8\n");
    assert_int_equal(set(id, "\t 9\n\n"), 0);
    assert_string_equal(show(id), "9\n");
    /* Text after the value the key takes is ignored once a separator ends the number. */
    assert_int_equal(set(id, "11\tx"), 0);
    assert_string_equal(show(id), "11\n");
    assert_int_equal(set(id, "12 13"), 0);
    assert_string_equal(show(id), "12\n");
    /* Refused, value kept. */
    static const char *const bad[] = {"12abc",      "+7", "0x", "08",  "-1",
                                      "2147483648", "\n", "",   "abc", "000000000000000000001",
                                      "1,2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(set(id, bad[i]), -EINVAL);
        assert_string_equal(show(id), "12\n");
    }
    /* Only the given bytes count. */
    assert_int_equal(sysctl_set(&table, id, "345", 2), 0);
    assert_string_equal(show(id), "34\n");
}

static void test_ranges(void **state)
{
    (void)state;
    assert_int_equal(set(SYSCTL_KERNEL_SHMMAX, "65536"), 0);
    assert_string_equal(show(SYSCTL_KERNEL_SHMMAX), "65536\n");
    assert_int_equal(set(SYSCTL_KERNEL_SHMMAX, "18446744073709551615"), 0);
    assert_string_equal(show(SYSCTL_KERNEL_SHMMAX), "18446744073709551615\n");
    assert_int_equal(set(SYSCTL_KERNEL_SHMMAX, "18446744073709551616"), -EINVAL);
    assert_int_equal(set(SYSCTL_KERNEL_SHMMAX, "-1"), -EINVAL);
    assert_int_equal(set(SYSCTL_KERNEL_SHMALL, "0"), 0);
    assert_int_equal(set(SYSCTL_KERNEL_SHMMNI, "32769"), -EINVAL);
    assert_int_equal(set(SYSCTL_KERNEL_SHMMNI, "32768"), 0);
    assert_int_equal(set(SYSCTL_KERNEL_MSGMNI, "32769"), -EINVAL);
    assert_int_equal(set(SYSCTL_KERNEL_MSGMAX, "-5"), -EINVAL);
    assert_int_equal(set(SYSCTL_KERNEL_MSGMNB, "2147483647"), 0);
    assert_int_equal(set(SYSCTL_KERNEL_MSGMNB, "2147483648"), -EINVAL);
    assert_string_equal(show(SYSCTL_KERNEL_MSGMNB), "2147483647\n");
    assert_int_equal(set(SYSCTL_KERNEL_SHM_RMID_FORCED, "2"), -EINVAL);
    assert_int_equal(set(SYSCTL_KERNEL_SHM_RMID_FORCED, "1"), 0);
    assert_string_equal(show(SYSCTL_KERNEL_SHM_RMID_FORCED), "1\n");
    assert_int_equal(set(SYSCTL_NET_IPV4_TCP_SYNCOOKIES, "255"), 0);
    assert_int_equal(set(SYSCTL_NET_IPV4_TCP_SYNCOOKIES, "256"), -EINVAL);
    assert_string_equal(show(SYSCTL_NET_IPV4_TCP_SYNCOOKIES), "255\n");
    assert_int_equal(set(SYSCTL_NET_CORE_SOMAXCONN, "-2147483648"), -EINVAL);
}

static void test_vectors(void **state)
{
    (void)state;
    assert_int_equal(set(SYSCTL_KERNEL_SEM, "250 32000 32 128"), 0);
    assert_string_equal(show(SYSCTL_KERNEL_SEM), "250\t32000\t32\t128\n");
    /* A prefix sets the first values only; extra ones are ignored. */
    assert_int_equal(set(SYSCTL_KERNEL_SEM, "1 2"), 0);
    assert_string_equal(show(SYSCTL_KERNEL_SEM), "1\t2\t32\t128\n");
    assert_int_equal(set(SYSCTL_KERNEL_SEM, "1 2 3 4 5"), 0);
    assert_string_equal(show(SYSCTL_KERNEL_SEM), "1\t2\t3\t4\n");
    /* Only SEMMNI is bounded; the sentry refuses the whole write (Linux keeps the first three
     * values it parsed). */
    assert_int_equal(set(SYSCTL_KERNEL_SEM, "-1 2 3 32769"), -EINVAL);
    assert_int_equal(set(SYSCTL_KERNEL_SEM, "5 6 7 8x"), -EINVAL);
    assert_string_equal(show(SYSCTL_KERNEL_SEM), "1\t2\t3\t4\n");
    assert_int_equal(set(SYSCTL_KERNEL_SEM, "-1 2 3 32768"), 0);
    assert_string_equal(show(SYSCTL_KERNEL_SEM), "-1\t2\t3\t32768\n");

    int pr = SYSCTL_NET_IPV4_IP_LOCAL_PORT_RANGE;
    assert_int_equal(set(pr, "40000 40010"), 0);
    assert_string_equal(show(pr), "40000\t40010\n");
    assert_int_equal(set(pr, "40000\t40020\n"), 0);
    assert_int_equal(set(pr, "40001 40031 junk"), 0);
    assert_string_equal(show(pr), "40001\t40031\n");
    static const char *const bad[] = {"500 600", "5000 4000",   "0 100",        "41000",
                                      "abc",     "40000,40030", "40002 40032x", "40000 65536"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(set(pr, bad[i]), -EINVAL);
        assert_string_equal(show(pr), "40001\t40031\n");
    }

    int pg = SYSCTL_NET_IPV4_PING_GROUP_RANGE;
    assert_int_equal(set(pg, "0 4294967294"), 0);
    assert_string_equal(show(pg), "0\t4294967294\n");
    assert_int_equal(set(pg, "0 4294967295"), -EINVAL);
    assert_int_equal(set(pg, "7"), 0);
    assert_string_equal(show(pg), "7\t4294967294\n");
    /* An inverted range becomes the empty one. */
    assert_int_equal(set(pg, "10 5"), 0);
    assert_string_equal(show(pg), "1\t0\n");
}

static void test_privileged_ports(void **state)
{
    (void)state;
    int up = SYSCTL_NET_IPV4_IP_UNPRIVILEGED_PORT_START;
    /* The privileged ports may not reach the local port range (32768 by default). */
    assert_int_equal(set(up, "50000"), -EINVAL);
    assert_string_equal(show(up), "1024\n");
    assert_int_equal(set(up, "30000"), 0);
    assert_int_equal(set(SYSCTL_NET_IPV4_IP_LOCAL_PORT_RANGE, "20000 30000"), -EINVAL);
    assert_int_equal(set(up, "-1"), -EINVAL);
    assert_int_equal(set(up, "65536"), -EINVAL);
    assert_int_equal(set(up, " 0 "), 0);
    assert_string_equal(show(up), "0\n");
    assert_int_equal(set(SYSCTL_NET_IPV4_IP_LOCAL_PORT_RANGE, "20000 30000"), 0);

    struct sysctl_values v;
    sysctl_read(&table, &v);
    assert_int_equal(v.ip_unprivileged_port_start, 0);
    assert_int_equal(v.ip_local_port_range[0], 20000);
    assert_int_equal(v.ip_local_port_range[1], 30000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_number_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_privileged_ports, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
