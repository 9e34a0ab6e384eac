/* The container state store: id rules, atomic writes read back, the live status, removal. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runsc/oci_cli.h"

static void test_id_rules(void **state)
{
    assert_true(state_id_valid("abc"));
    assert_true(state_id_valid("a_b-c.d+e"));
    assert_true(state_id_valid("0123456789abcdef"));
    assert_false(state_id_valid(""));
    assert_false(state_id_valid("."));
    assert_false(state_id_valid(".."));
    assert_false(state_id_valid("../x"));
    assert_false(state_id_valid("a/b"));
    assert_false(state_id_valid("a b"));
    assert_false(state_id_valid("a\nb"));
}

static char root[64];

static int make_root(void **state)
{
    snprintf(root, sizeof(root), "/tmp/runsc-state-test.XXXXXX");
    assert_non_null(mkdtemp(root));
    /* The store makes missing parents of --root. */
    strcat(root, "/deep/root");
    return 0;
}

static int remove_root(void **state)
{
    char cmd[128];
    *strstr(root, "/deep") = '\0';
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    return system(cmd);
}

static void fill(struct container_state *st, const char *id, pid_t pid)
{
    memset(st, 0, sizeof(*st));
    snprintf(st->id, sizeof(st->id), "%s", id);
    st->bundle = strdup("/b/und le");
    st->rootfs = strdup("/b/und le/rootfs");
    snprintf(st->created, sizeof(st->created), "2024-01-02T03:04:05.5Z");
    st->pid = pid;
    st->pid_start = proc_start_time(pid);
    st->saved = CONTAINER_RUNNING;
    st->annotations_json = strdup("{\"k\":\"v/w\"}");
}

static void test_write_read_round_trip(void **state)
{
    int fd;
    struct container_state st, back;

    assert_int_equal(state_create_dir(root, "c1", &fd), 0);
    fill(&st, "c1", getpid());
    assert_int_equal(state_write(fd, &st), 0);
    assert_int_equal(state_read(fd, &back), 0);
    assert_string_equal(back.id, "c1");
    assert_string_equal(back.bundle, "/b/und le");
    assert_string_equal(back.rootfs, "/b/und le/rootfs");
    assert_string_equal(back.created, st.created);
    assert_int_equal(back.pid, getpid());
    assert_true(back.pid_start == st.pid_start);
    assert_int_equal(back.saved, CONTAINER_RUNNING);
    assert_non_null(strstr(back.annotations_json, "v/w"));
    /* No temporary file is left next to it. */
    assert_int_equal(faccessat(fd, "state.json.tmp", F_OK, 0), -1);
    /* A second directory for the same id is refused. */
    int fd2;
    assert_int_equal(state_create_dir(root, "c1", &fd2), -EEXIST);
    state_free(&st);
    state_free(&back);
    close(fd);
    assert_int_equal(state_remove(root, "c1"), 0);
    assert_int_equal(state_open_dir(root, "c1", &fd2), -ENOENT);
}

static void test_live_status(void **state)
{
    struct container_state st;
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    fill(&st, "c2", child);
    assert_int_equal(state_live_status(&st), CONTAINER_RUNNING);
    st.saved = CONTAINER_PAUSED;
    assert_int_equal(state_live_status(&st), CONTAINER_PAUSED);
    /* A pid reused by another process is not the sandbox. */
    st.pid_start++;
    assert_int_equal(state_live_status(&st), CONTAINER_STOPPED);
    st.pid_start--;
    kill(child, SIGKILL);
    /* A zombie that nobody reaped yet has stopped already. */
    usleep(100000);
    assert_int_equal(state_live_status(&st), CONTAINER_STOPPED);
    waitpid(child, NULL, 0);
    assert_int_equal(state_live_status(&st), CONTAINER_STOPPED);
    state_free(&st);
}

static void test_state_json_as_runc(void **state)
{
    struct container_state st;
    fill(&st, "c3", 1234);
    struct json_object *o = state_to_json(&st, CONTAINER_STOPPED, "");
    const char *want[] = {"ociVersion", "id", "pid", "status", "bundle", "rootfs", "created",
                          "annotations", "owner"};
    size_t i = 0;
    json_object_object_foreach(o, key, val)
    {
        (void)val;
        assert_true(i < sizeof(want) / sizeof(want[0]));
        assert_string_equal(key, want[i++]);
    }
    assert_int_equal(i, 9);
    struct json_object *v;
    assert_true(json_object_object_get_ex(o, "pid", &v));
    assert_int_equal(json_object_get_int(v), 0); /* stopped: runc shows pid 0 */
    assert_true(json_object_object_get_ex(o, "status", &v));
    assert_string_equal(json_object_get_string(v), "stopped");
    json_object_put(o);

    char *hook = state_hook_json(&st, CONTAINER_CREATING);
    assert_non_null(strstr(hook, "\"status\":\"creating\""));
    assert_non_null(strstr(hook, "\"pid\":1234"));
    assert_non_null(strstr(hook, "\"bundle\":\"/b/und le\""));
    free(hook);
    state_free(&st);
}

static void test_unfinished_create_reads_as_missing(void **state)
{
    int fd;
    struct container_state st;
    assert_int_equal(state_create_dir(root, "c4", &fd), 0);
    assert_int_equal(state_read(fd, &st), -ENOENT);
    close(fd);
    assert_int_equal(state_remove(root, "c4"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_rules),
        cmocka_unit_test_setup_teardown(test_write_read_round_trip, make_root, remove_root),
        cmocka_unit_test(test_live_status),
        cmocka_unit_test(test_state_json_as_runc),
        cmocka_unit_test_setup_teardown(test_unfinished_create_reads_as_missing, make_root,
                                        remove_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
