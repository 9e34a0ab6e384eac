/* The OCI commands' shared parts: subcommand flags as runc parses them, runc's log lines,
 * signal names, and hooks (stdin, failure and timeout wording). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "runsc/oci/oci.h"
#include "runsc/oci_cli.h"

static void test_flags_forms(void **state)
{
    const char *bundle = NULL, *pid_file = NULL;
    bool detach = false;
    struct oci_str_list env = {0};
    const struct oci_flag flags[] = {
        {"bundle", 'b', OCI_FLAG_STRING, &bundle, ""},
        {"pid-file", 0, OCI_FLAG_STRING, &pid_file, ""},
        {"detach", 'd', OCI_FLAG_BOOL, &detach, ""},
        {"env", 'e', OCI_FLAG_LIST, &env, ""},
    };
    const struct oci_command cmd = {"x", "<id>", "", flags, 4, 1, -1};
    char *argv[] = {"x", "-b", "/b", "--pid-file=/p", "-d", "-e", "A=1", "--env", "B=2",
                    "id",  "--not-a-flag", NULL};
    int first = -1;
    assert_int_equal(oci_parse_flags(&cmd, 11, argv, &first), 0);
    assert_int_equal(first, 9);
    assert_string_equal(bundle, "/b");
    assert_string_equal(pid_file, "/p");
    assert_true(detach);
    assert_int_equal(env.n, 2);
    assert_string_equal(env.v[1], "B=2");

    char *argv2[] = {"x", "--detach=false", "--", "-id", NULL};
    assert_int_equal(oci_parse_flags(&cmd, 4, argv2, &first), 0);
    assert_false(detach);
    assert_int_equal(first, 3);
}

static void test_flags_errors(void **state)
{
    bool all = false;
    const struct oci_flag flags[] = {{"all", 'a', OCI_FLAG_BOOL, &all, ""}};
    const struct oci_command cmd = {"kill", "<id> [signal]", "", flags, 1, 1, 2};
    int first;
    /* Quiet the usage text on stderr for the duration. */
    int saved = dup(2), null_fd = open("/dev/null", O_WRONLY);
    dup2(null_fd, 2);
    char *unknown[] = {"kill", "--bogus", "id", NULL};
    int r1 = oci_parse_flags(&cmd, 3, unknown, &first);
    char *none[] = {"kill", NULL};
    int r2 = oci_parse_flags(&cmd, 1, none, &first);
    char *many[] = {"kill", "a", "b", "c", NULL};
    int r3 = oci_parse_flags(&cmd, 4, many, &first);
    dup2(saved, 2);
    close(saved);
    close(null_fd);
    assert_int_equal(r1, -1);
    assert_int_equal(r2, -1);
    assert_int_equal(r3, -1);
}

static void test_log_lines(void **state)
{
    char buf[256];
    time_t t = 86400 * 365; /* 1971-01-01T00:00:00Z */
    oci_log_format(buf, sizeof(buf), true, "error", "container \"x\" /y", t);
    assert_string_equal(buf,
                        "{\"level\":\"error\",\"msg\":\"container \\\"x\\\" /y\","
                        "\"time\":\"1971-01-01T00:00:00Z\"}");
    oci_log_format(buf, sizeof(buf), false, "error", "a \"b\"\nc", t);
    assert_string_equal(buf, "time=\"1971-01-01T00:00:00Z\" level=error msg=\"a \\\"b\\\"\\nc\"");

    struct timespec ts = {86400 * 365, 935085210};
    oci_time_rfc3339nano(&ts, buf, sizeof(buf));
    assert_string_equal(buf, "1971-01-01T00:00:00.93508521Z");
    ts.tv_nsec = 0;
    oci_time_rfc3339nano(&ts, buf, sizeof(buf));
    assert_string_equal(buf, "1971-01-01T00:00:00Z");
}

static void test_signal_names(void **state)
{
    assert_int_equal(oci_parse_signal("9"), SIGKILL);
    assert_int_equal(oci_parse_signal("KILL"), SIGKILL);
    assert_int_equal(oci_parse_signal("SIGTERM"), SIGTERM);
    assert_int_equal(oci_parse_signal("term"), SIGTERM);
    assert_int_equal(oci_parse_signal("sigusr1"), SIGUSR1);
    assert_int_equal(oci_parse_signal("CLD"), SIGCHLD);
    assert_int_equal(oci_parse_signal("0"), 0);
    assert_int_equal(oci_parse_signal("FOO"), -EINVAL);
    assert_int_equal(oci_parse_signal("SIGFOO"), -EINVAL);
    assert_int_equal(oci_parse_signal("99"), -EINVAL);
    assert_int_equal(oci_parse_signal(""), -EINVAL);
}

static void test_hooks(void **state)
{
    char out[] = "/tmp/runsc-hook-test.XXXXXX";
    int fd = mkstemp(out);
    assert_true(fd >= 0);
    close(fd);
    char script[256], err[2048];
    snprintf(script, sizeof(script), "cat > %s; echo \"$HOOKVAR $0 $1\" >> %s", out, out);
    char *args[] = {"sh", "-c", script, "zero", "arg1", NULL};
    char *env[] = {"HOOKVAR=yes", NULL};
    struct oci_hook ok = {.path = "/bin/sh", .args = args, .env = env};
    assert_int_equal(oci_hooks_run(&ok, 1, "{\"id\":\"x\"}", err, sizeof(err)), 0);
    char got[256] = "";
    fd = open(out, O_RDONLY);
    ssize_t n = read(fd, got, sizeof(got) - 1);
    close(fd);
    unlink(out);
    assert_true(n > 0);
    got[n] = '\0';
    assert_string_equal(got, "{\"id\":\"x\"}yes zero arg1\n");

    char *fail_args[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
    struct oci_hook hooks[2] = {ok, {.path = "/bin/sh", .args = fail_args}};
    hooks[0].args = (char *[]){"sh", "-c", "true", NULL};
    assert_int_equal(oci_hooks_run(hooks, 2, "{}", err, sizeof(err)), -ECHILD);
    assert_string_equal(err, "error running hook #1: error running hook: exit status 3, "
                             "stdout: out\n, stderr: err\n");

    char *slow_args[] = {"sh", "-c", "sleep 5", NULL};
    struct oci_hook slow = {.path = "/bin/sh", .args = slow_args, .timeout = 1};
    time_t start = time(NULL);
    assert_int_equal(oci_hooks_run(&slow, 1, "{}", err, sizeof(err)), -ETIMEDOUT);
    assert_true(time(NULL) - start < 4);
    assert_string_equal(err, "error running hook #0: error running hook: hook ran past "
                             "specified timeout of 1.0s");

    struct oci_hook missing = {.path = "/nonexistent/hook"};
    assert_int_equal(oci_hooks_run(&missing, 1, "{}", err, sizeof(err)), -ECHILD);
    assert_non_null(strstr(err, "exit status 127"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags_forms),  cmocka_unit_test(test_flags_errors),
        cmocka_unit_test(test_log_lines),    cmocka_unit_test(test_signal_names),
        cmocka_unit_test(test_hooks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
