/* boot_seccomp_compile: OCI profiles compiled by libseccomp, then run by the sentry's own BPF
 * interpreter on made-up syscalls; and the profiles it must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

#include "arch.h"
#include "boot/boot.h"
#include "lib/bpf/bpf.h"
#include "sentry/kernel/kernel.h"

static uint32_t run(const struct sock_filter *prog, unsigned len, int nr, uint64_t arg0)
{
    struct seccomp_data d = {.nr = nr, .arch = ARCH_AUDIT_ARCH, .args = {arg0}};
    return bpf_run(prog, len, &d, sizeof(d));
}

static void test_docker_like_profile(void **state)
{
    (void)state;
    const char *json =
        "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 1,"
        " \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"],"
        " \"flags\": [\"SECCOMP_FILTER_FLAG_LOG\"],"
        " \"syscalls\": ["
        "  {\"names\": [\"read\", \"write\", \"not_a_syscall\"], \"action\": \"SCMP_ACT_ALLOW\"},"
        "  {\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\","
        "   \"args\": [{\"index\": 0, \"value\": 40, \"op\": \"SCMP_CMP_NE\"}]},"
        "  {\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ALLOW\","
        "   \"args\": [{\"index\": 0, \"value\": 0, \"op\": \"SCMP_CMP_EQ\"},"
        "              {\"index\": 0, \"value\": 8, \"op\": \"SCMP_CMP_EQ\"}]},"
        "  {\"names\": [\"getuid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 38},"
        "  {\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"}]}";
    struct sock_filter *prog;
    unsigned len;
    bool log;
    char why[256] = "";

    assert_int_equal(boot_seccomp_compile(json, &prog, &len, &log, why, sizeof(why)), 0);
    assert_true(log);
    assert_int_equal(bpf_check_classic(prog, len), 0);
    assert_int_equal(run(prog, len, SYS_read, 0), SECCOMP_RET_ALLOW);
    assert_int_equal(run(prog, len, SYS_getpid, 0), SECCOMP_RET_ERRNO | 1);
    assert_int_equal(run(prog, len, SYS_getuid, 0), SECCOMP_RET_ERRNO | 38);
    assert_int_equal(run(prog, len, SYS_getppid, 0), SECCOMP_RET_KILL_PROCESS);
    assert_int_equal(run(prog, len, SYS_socket, 1), SECCOMP_RET_ALLOW);
    assert_int_equal(run(prog, len, SYS_socket, 40), SECCOMP_RET_ERRNO | 1);
    /* Two conditions on one argument are ORed (runc's split into rules). */
    assert_int_equal(run(prog, len, SYS_personality, 0), SECCOMP_RET_ALLOW);
    assert_int_equal(run(prog, len, SYS_personality, 8), SECCOMP_RET_ALLOW);
    assert_int_equal(run(prog, len, SYS_personality, 9), SECCOMP_RET_ERRNO | 1);
    /* The sentry takes the program as a guest filter. */
    struct seccomp_filter *f;
    assert_int_equal(seccomp_filter_create(prog, len, log, &f), 0);
    seccomp_filter_put(f);
    free(prog);
}

static void test_refused_profiles(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *why;
    } cases[] = {
        {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_AARCH64\"]}",
         "architectures do not include"},
        {"{\"defaultAction\": \"SCMP_ACT_NOPE\"}", "unknown seccomp action"},
        {"{}", "action is missing"},
        {"[1]", "not a JSON object"},
        {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_X\"]}",
         "unknown seccomp filter flag"},
        {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"],"
         " \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 6, \"op\": \"SCMP_CMP_EQ\"}]}]}",
         "index must be 0 to 5"},
        {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"],"
         " \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"op\": \"SCMP_CMP_XX\"}]}]}",
         "unknown seccomp operator"},
        {"{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}", "not supported"},
        {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/x\"}", "not supported"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sock_filter *prog = (struct sock_filter *)1;
        unsigned len;
        bool log;
        char why[256] = "";
        assert_int_equal(boot_seccomp_compile(cases[i].json, &prog, &len, &log, why, sizeof(why)),
                         -1);
        assert_null(prog);
        if (!strstr(why, cases[i].why))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, why, cases[i].why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docker_like_profile),
        cmocka_unit_test(test_refused_profiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
