/* `runsc kill`, `delete`, `pause` and `resume`, with runc's checks and messages. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/control/control.h"
#include "runsc/oci/oci.h"
#include "runsc/oci_cli.h"

/* Connects to the container's sandbox; on failure err holds why. */
static int connect_sandbox(int dir_fd, struct control_conn **c, char *err, size_t errlen)
{
    char path[128];
    state_dir_path(dir_fd, "sandbox.sock", path, sizeof(path));
    int ret = control_connect(path, c);
    if (ret != 0)
        strerror_r(-ret, err, errlen);
    return ret;
}

static void conn_error(struct control_conn *c, int ret, char *err, size_t errlen)
{
    const char *msg = control_last_error(c);
    if (msg && *msg)
        snprintf(err, errlen, "%s", msg);
    else
        strerror_r(-ret, err, errlen);
}

int oci_cmd_kill(const struct global_flags *g, int argc, char **argv)
{
    bool all = false;
    const struct oci_flag flags[] = {
        {"all", 'a', OCI_FLAG_BOOL, &all,
         "send the specified signal to all processes inside the container"},
    };
    const struct oci_command cmd = {
        "kill", "<container-id> [signal]",
        "kill sends the specified signal (default: SIGTERM) to the container's init process",
        flags, 1, 1, 2};
    int first, r = oci_parse_flags(&cmd, argc, argv, &first);
    if (r != 0)
        return r > 0 ? 0 : 1;
    const char *id = argv[first];
    const char *sig_text = first + 1 < argc ? argv[first + 1] : "SIGTERM";
    char *end;
    strtol(sig_text, &end, 10);
    bool numeric = *sig_text && *end == '\0';
    int sig = oci_parse_signal(sig_text);
    if (sig < 0 && !numeric) {
        oci_errorf("unknown signal \"%s\"", sig_text);
        return 1;
    }
    struct container_state st;
    int dir_fd, code = 1;
    if (oci_load_container(g, id, &dir_fd, &st) != 0)
        return 1;
    if (state_live_status(&st) == CONTAINER_STOPPED) {
        if (all)
            code = 0; /* runc: nothing left to signal is no error with --all */
        else
            oci_errorf("container not running");
        goto out;
    }
    if (sig < 0) {
        oci_errorf("unable to signal init: invalid argument");
        goto out;
    }
    struct control_conn *c;
    char err[1024];
    int ret = connect_sandbox(dir_fd, &c, err, sizeof(err));
    if (ret == 0) {
        ret = control_signal(c, id, sig, all ? CONTROL_SIGNAL_ALL : CONTROL_SIGNAL_INIT, 0);
        if (ret != 0)
            conn_error(c, ret, err, sizeof(err));
        control_close(c);
    }
    if (ret != 0 && sig == SIGKILL) {
        /* A sandbox that can't be asked is still ended: SIGKILL needs no cooperation. */
        sandbox_kill(st.pid, st.pid_start, st.gofer_pid, st.gofer_start, 0);
        ret = 0;
    }
    if (ret != 0) {
        oci_errorf("unable to signal init: %s", err);
        goto out;
    }
    code = 0;
out:
    state_free(&st);
    close(dir_fd);
    return code;
}

int oci_cmd_delete(const struct global_flags *g, int argc, char **argv)
{
    bool force = false;
    const struct oci_flag flags[] = {
        {"force", 'f', OCI_FLAG_BOOL, &force,
         "forcibly deletes the container if it is still running (uses SIGKILL)"},
    };
    const struct oci_command cmd = {"delete", "<container-id>",
                                    "delete any resources held by the container", flags, 1, 1, 1};
    int first, r = oci_parse_flags(&cmd, argc, argv, &first);
    if (r != 0)
        return r > 0 ? 0 : 1;
    const char *id = argv[first];
    if (!state_id_valid(id)) {
        oci_errorf("invalid container ID format");
        return 1;
    }
    struct container_state st;
    int dir_fd, ret = state_open_dir(g->root, id, &dir_fd);
    if (ret == 0 && (ret = state_read(dir_fd, &st)) != 0)
        close(dir_fd);
    if (ret != 0) {
        /* A create that never wrote its state leaves a directory: --force clears it, as runc. */
        if (force) {
            state_remove(g->root, id);
            return 0;
        }
        oci_errorf("container does not exist");
        return 1;
    }
    enum container_status status = state_live_status(&st);
    if ((status == CONTAINER_RUNNING || status == CONTAINER_PAUSED) && !force) {
        oci_errorf("cannot delete container %s that is not stopped: %s", id,
                   state_status_name(status));
        state_free(&st);
        close(dir_fd);
        return 1;
    }
    /* The spec's poststop hooks run after the container is gone; read them first. */
    struct oci_spec *spec = NULL;
    char *text = NULL, err[4096];
    int fd = openat(dir_fd, "config.json", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        text = calloc(1, 4 << 20);
        ssize_t n = text ? read(fd, text, (4 << 20) - 1) : -1;
        close(fd);
        if (n < 0 || oci_spec_parse(text, st.bundle, &spec, err, sizeof(err)) != 0)
            spec = NULL;
        free(text);
    }
    /* A pod member goes from its sandbox first (its processes and mounts), then its waiter and
     * gofer; the root container takes the whole sandbox with it. */
    if (pod_is_member(dir_fd))
        pod_destroy_member(dir_fd, id);
    sandbox_kill(st.pid, st.pid_start, st.gofer_pid, st.gofer_start, 5000);
    int code = 0;
    if ((ret = state_remove(g->root, id)) != 0) {
        oci_errorf("remove the state of %s: %s", id, strerror(-ret));
        code = 1;
    }
    close(dir_fd);
    if (spec) {
        char *json = state_hook_json(&st, CONTAINER_STOPPED);
        if (oci_hooks_run(spec->hooks[OCI_HOOK_POSTSTOP], spec->n_hooks[OCI_HOOK_POSTSTOP], json,
                          err, sizeof(err)) != 0) {
            oci_errorf("%s", err);
            code = 1;
        }
        free(json);
        oci_spec_free(spec);
    }
    state_free(&st);
    return code;
}

static int pause_or_resume(const struct global_flags *g, int argc, char **argv, bool pause)
{
    const struct oci_command cmd = {
        pause ? "pause" : "resume", "<container-id>",
        pause ? "pause suspends all processes inside the container"
              : "resumes all processes that have been previously paused",
        NULL, 0, 1, 1};
    int first, r = oci_parse_flags(&cmd, argc, argv, &first);
    if (r != 0)
        return r > 0 ? 0 : 1;
    const char *id = argv[first];
    struct container_state st;
    int dir_fd, code = 1;
    if (oci_load_container(g, id, &dir_fd, &st) != 0)
        return 1;
    enum container_status status = state_live_status(&st);
    if (pause && status != CONTAINER_RUNNING && status != CONTAINER_CREATED) {
        oci_errorf("container not running");
        goto out;
    }
    if (!pause && status != CONTAINER_PAUSED) {
        oci_errorf("container not paused");
        goto out;
    }
    struct control_conn *c;
    char err[1024];
    int ret = connect_sandbox(dir_fd, &c, err, sizeof(err));
    if (ret == 0) {
        ret = pause ? control_pause(c) : control_resume(c);
        if (ret != 0)
            conn_error(c, ret, err, sizeof(err));
        control_close(c);
    }
    if (ret != 0) {
        oci_errorf("%s: %s", pause ? "pause" : "resume", err);
        goto out;
    }
    /* A created container paused and resumed is running: runc's resume makes it so too. */
    st.saved = pause ? CONTAINER_PAUSED : CONTAINER_RUNNING;
    if ((ret = state_write(dir_fd, &st)) != 0) {
        oci_errorf("write the state of %s: %s", id, strerror(-ret));
        goto out;
    }
    code = 0;
out:
    state_free(&st);
    close(dir_fd);
    return code;
}

int oci_cmd_pause(const struct global_flags *g, int argc, char **argv)
{
    return pause_or_resume(g, argc, argv, true);
}

int oci_cmd_resume(const struct global_flags *g, int argc, char **argv)
{
    return pause_or_resume(g, argc, argv, false);
}
