/* `runsc create`, `start` and `run`: a bundle becomes a sandbox that has loaded the container's
 * init (created), init runs (running), and run waits for it and exits with its status. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/control/control.h"
#include "lib/errors.h"
#include "runsc/oci/oci.h"
#include "runsc/oci_cli.h"

#define SPEC_COPY "config.json"
#define CONFIG_MAX (4 << 20)

struct create_opts {
    const char *bundle, *pid_file, *console_socket, *preserve_fds;
    bool no_pivot, no_new_keyring, detach, keep;
};

/* Reads a whole file (at most CONFIG_MAX bytes) into a new string. */
static int read_text_at(int dir_fd, const char *path, char **out)
{
    int fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size > CONFIG_MAX) {
        close(fd);
        return -EFBIG;
    }
    char *text = malloc((size_t)st.st_size + 1);
    ssize_t n = text ? read(fd, text, (size_t)st.st_size) : -1;
    close(fd);
    if (n < 0) {
        free(text);
        return -EIO;
    }
    text[n] = '\0';
    *out = text;
    return 0;
}

static int write_text_at(int dir_fd, const char *path, const char *text)
{
    int fd = openat(dir_fd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    size_t len = strlen(text);
    int err = write(fd, text, len) == (ssize_t)len ? 0 : -EIO;
    close(fd);
    return err;
}

/* Loads the spec the container was created with (its copy in the state directory). */
static int load_saved_spec(int dir_fd, const struct container_state *st, struct oci_spec **out)
{
    char *text, err[512];
    int ret = read_text_at(dir_fd, SPEC_COPY, &text);
    if (ret != 0)
        return ret;
    ret = oci_spec_parse(text, st->bundle, out, err, sizeof(err));
    free(text);
    return ret;
}

static char *annotations_json(const struct oci_spec *spec)
{
    if (!spec->n_annotations)
        return NULL;
    struct json_object *o = json_object_new_object();
    for (size_t i = 0; i < spec->n_annotations; i++)
        json_object_object_add(o, spec->annotations[i].key,
                               json_object_new_string(spec->annotations[i].value));
    char *text = strdup(
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return text;
}

static int run_hooks(const struct oci_spec *spec, const enum oci_hook_kind *kinds, size_t n,
                     const struct container_state *st, enum container_status status, char *err,
                     size_t errlen)
{
    char *json = state_hook_json(st, status);
    int ret = 0;
    for (size_t i = 0; i < n && ret == 0; i++)
        ret = oci_hooks_run(spec->hooks[kinds[i]], spec->n_hooks[kinds[i]], json, err, errlen);
    free(json);
    return ret;
}

/* Creates the container; on success *dir_fd holds its locked state directory and st, *spec_out
 * are filled. Returns the exit code (0 on success), having reported any failure and left nothing
 * behind. */
static int container_create(const struct global_flags *g, const char *verb, const char *id,
                            const struct create_opts *o, int *dir_fd_out,
                            struct container_state *st, struct oci_spec **spec_out,
                            struct sandbox_procs *procs)
{
    char bundle[PATH_MAX], err[4096], text[128];
    char *spec_json = NULL;
    struct oci_spec *spec = NULL;
    int dir_fd = -1, console_fd = -1, ret, code = 1;

    if (!state_id_valid(id)) {
        oci_errorf("invalid container ID format");
        return 1;
    }
    if (!realpath(o->bundle ? o->bundle : ".", bundle)) {
        oci_errorf("runsc %s failed: chdir %s: %s", verb, o->bundle ? o->bundle : ".",
                   errno_text(errno, text, sizeof(text)));
        return 1;
    }
    int bundle_fd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ret = bundle_fd < 0 ? -errno : read_text_at(bundle_fd, "config.json", &spec_json);
    if (bundle_fd >= 0)
        close(bundle_fd);
    if (ret != 0) {
        oci_errorf("runsc %s failed: open %s/config.json: %s", verb, bundle,
                   errno_text(-ret, text, sizeof(text)));
        return 1;
    }
    if ((ret = oci_spec_parse(spec_json, bundle, &spec, err, sizeof(err))) != 0) {
        oci_errorf("runsc %s failed: %s", verb, err);
        goto out_json;
    }
    if (spec->process.terminal && !o->console_socket && o->detach) {
        oci_errorf("runsc %s failed: cannot allocate tty if runsc will detach without setting "
                   "console socket",
                   verb);
        goto out_spec;
    }
    if (!spec->process.terminal && o->console_socket) {
        oci_errorf("runsc %s failed: cannot use console socket if runsc will not detach or "
                   "allocate tty",
                   verb);
        goto out_spec;
    }
    if ((ret = state_create_dir(g->root, id, &dir_fd)) != 0) {
        if (ret == -EEXIST)
            oci_errorf("runsc %s failed: container with given ID already exists", verb);
        else
            oci_errorf("runsc %s failed: create the state directory in %s: %s", verb, g->root,
                       errno_text(-ret, text, sizeof(text)));
        goto out_spec;
    }
    if ((ret = write_text_at(dir_fd, SPEC_COPY, spec_json)) != 0) {
        oci_errorf("runsc %s failed: save the spec: %s", verb,
                   errno_text(-ret, text, sizeof(text)));
        goto out_dir;
    }
    if (spec->process.terminal && o->console_socket &&
        oci_console_send(o->console_socket, &console_fd, err, sizeof(err)) != 0) {
        oci_errorf("runsc %s failed: %s", verb, err);
        goto out_dir;
    }
    struct sandbox_start s = {
        .id = id,
        .bundle = bundle,
        .spec = spec,
        .spec_json = spec_json,
        .dir_fd = dir_fd,
        .console_fd = console_fd,
        .detach = o->detach,
    };
    int exit_code;
    const char *sandbox_id = pod_sandbox_of(spec, id);
    ret = sandbox_id ? pod_create_member(g, &s, sandbox_id, procs, &exit_code, err, sizeof(err))
                     : sandbox_start(g, &s, procs, &exit_code, err, sizeof(err));
    if (console_fd >= 0)
        close(console_fd);
    if (ret != 0) {
        oci_errorf("runsc %s failed: %s", verb, err);
        code = exit_code;
        goto out_dir;
    }
    memset(st, 0, sizeof(*st));
    snprintf(st->id, sizeof(st->id), "%s", id);
    st->bundle = strdup(bundle);
    st->rootfs = strdup(spec->root_path);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    oci_time_rfc3339nano(&now, st->created, sizeof(st->created));
    st->pid = procs->sandbox_pid;
    st->pid_start = proc_start_time(procs->sandbox_pid);
    st->gofer_pid = procs->gofer_pid;
    st->gofer_start = proc_start_time(procs->gofer_pid);
    st->saved = CONTAINER_CREATED;
    st->annotations_json = annotations_json(spec);
    if ((ret = state_write(dir_fd, st)) != 0) {
        oci_errorf("runsc %s failed: write the state: %s", verb,
                   errno_text(-ret, text, sizeof(text)));
        goto out_procs;
    }
    static const enum oci_hook_kind create_hooks[] = {OCI_HOOK_PRESTART, OCI_HOOK_CREATE_RUNTIME,
                                                      OCI_HOOK_CREATE_CONTAINER};
    if (run_hooks(spec, create_hooks, 3, st, CONTAINER_CREATING, err, sizeof(err)) != 0) {
        oci_errorf("runsc %s failed: %s", verb, err);
        goto out_procs;
    }
    if (o->pid_file && (ret = oci_write_pid_file(o->pid_file, procs->sandbox_pid)) != 0) {
        oci_errorf("runsc %s failed: write the pid file %s: %s", verb, o->pid_file,
                   errno_text(-ret, text, sizeof(text)));
        goto out_procs;
    }
    free(spec_json);
    *dir_fd_out = dir_fd;
    *spec_out = spec;
    return 0;

out_procs:
    state_free(st);
    if (sandbox_id)
        pod_destroy_member(dir_fd, id);
    sandbox_kill(procs->sandbox_pid, proc_start_time(procs->sandbox_pid), procs->gofer_pid,
                 proc_start_time(procs->gofer_pid), 5000);
out_dir:
    state_remove(g->root, id);
    close(dir_fd);
out_spec:
    oci_spec_free(spec);
out_json:
    free(spec_json);
    return code;
}

/* Starts a created container's init; reports failures. Returns 0 or 1. */
static int container_start(const char *id, int dir_fd, struct container_state *st,
                           const struct oci_spec *spec, const char *verb)
{
    char err[4096], path[128];
    struct control_conn *c;

    static const enum oci_hook_kind before[] = {OCI_HOOK_START_CONTAINER};
    if (run_hooks(spec, before, 1, st, CONTAINER_CREATED, err, sizeof(err)) != 0) {
        oci_errorf("%s%s", verb, err);
        return 1;
    }
    state_dir_path(dir_fd, "sandbox.sock", path, sizeof(path));
    int ret = control_connect(path, &c);
    if (ret == 0) {
        ret = control_start(c, id);
        if (ret != 0)
            snprintf(err, sizeof(err), "%s", control_last_error(c));
        control_close(c);
    } else {
        strerror_r(-ret, err, sizeof(err));
    }
    if (ret != 0) {
        oci_errorf("%sstart the container: %s", verb, err);
        return 1;
    }
    st->saved = CONTAINER_RUNNING;
    state_write(dir_fd, st);
    static const enum oci_hook_kind after[] = {OCI_HOOK_POSTSTART};
    if (run_hooks(spec, after, 1, st, CONTAINER_RUNNING, err, sizeof(err)) != 0) {
        /* runc ends a container whose poststart hook failed. */
        sandbox_kill(st->pid, st->pid_start, st->gofer_pid, st->gofer_start, 5000);
        oci_errorf("%s%s", verb, err);
        return 1;
    }
    return 0;
}

static const char create_summary[] = "create a container";

#define CREATE_FLAGS(o)                                                                            \
    {"bundle", 'b', OCI_FLAG_STRING, &(o).bundle,                                                  \
     "path to the root of the bundle directory, defaults to the current directory"},               \
        {"console-socket", 0, OCI_FLAG_STRING, &(o).console_socket,                                \
         "path to an AF_UNIX socket which will receive the console's pty master"},                 \
        {"pid-file", 0, OCI_FLAG_STRING, &(o).pid_file,                                            \
         "specify the file to write the process id to"},                                           \
        {"no-pivot", 0, OCI_FLAG_BOOL, &(o).no_pivot, "accepted; the sandbox always pivots"},      \
        {"no-new-keyring", 0, OCI_FLAG_BOOL, &(o).no_new_keyring, "accepted; no effect"},          \
    {                                                                                              \
        "preserve-fds", 0, OCI_FLAG_STRING, &(o).preserve_fds, "accepted; must be 0"               \
    }

int oci_cmd_create(const struct global_flags *g, int argc, char **argv)
{
    struct create_opts o = {.detach = true};
    const struct oci_flag flags[] = {CREATE_FLAGS(o)};
    const struct oci_command cmd = {
        "create", "<container-id>", create_summary, flags, sizeof(flags) / sizeof(flags[0]), 1, 1};
    int first, r = oci_parse_flags(&cmd, argc, argv, &first);
    if (r != 0)
        return r > 0 ? 0 : 1;

    struct container_state st;
    struct oci_spec *spec;
    struct sandbox_procs procs;
    int dir_fd;
    int code = container_create(g, "create", argv[first], &o, &dir_fd, &st, &spec, &procs);
    if (code != 0)
        return code;
    oci_spec_free(spec);
    state_free(&st);
    close(dir_fd);
    return 0;
}

int oci_cmd_start(const struct global_flags *g, int argc, char **argv)
{
    const struct oci_command cmd = {"start",
                                    "<container-id>",
                                    "executes the user defined process in a created container",
                                    NULL,
                                    0,
                                    1,
                                    1};
    int first, r = oci_parse_flags(&cmd, argc, argv, &first);
    if (r != 0)
        return r > 0 ? 0 : 1;
    const char *id = argv[first];
    struct container_state st;
    int dir_fd, code = 1;
    if (oci_load_container(g, id, &dir_fd, &st) != 0)
        return 1;
    switch (state_live_status(&st)) {
    case CONTAINER_CREATED:
        break;
    case CONTAINER_STOPPED:
        oci_errorf("cannot start a container that has stopped");
        goto out;
    default:
        oci_errorf("cannot start an already running container");
        goto out;
    }
    struct oci_spec *spec;
    int ret = load_saved_spec(dir_fd, &st, &spec);
    if (ret != 0) {
        oci_errorf("load the spec of %s: %s", id, strerror(-ret));
        goto out;
    }
    code = container_start(id, dir_fd, &st, spec, "");
    oci_spec_free(spec);
out:
    state_free(&st);
    close(dir_fd);
    return code;
}

static pid_t run_sandbox_pid;

/* Signals sent to `runsc run` go on to the sandbox, whose boot passes them to init. */
static void forward_signal(int sig)
{
    if (run_sandbox_pid > 0)
        kill(run_sandbox_pid, sig);
}

static const int run_forwarded[] = {SIGINT,  SIGTERM, SIGHUP,   SIGQUIT, SIGUSR1,
                                    SIGUSR2, SIGCONT, SIGWINCH, SIGALRM};

int oci_cmd_run(const struct global_flags *g, int argc, char **argv)
{
    struct create_opts o = {0};
    const struct oci_flag flags[] = {
        CREATE_FLAGS(o),
        {"detach", 'd', OCI_FLAG_BOOL, &o.detach, "detach from the container's process"},
        {"keep", 0, OCI_FLAG_BOOL, &o.keep, "do not delete the container after it exits"},
    };
    const struct oci_command cmd = {"run",
                                    "<container-id>",
                                    "create and run a container",
                                    flags,
                                    sizeof(flags) / sizeof(flags[0]),
                                    1,
                                    1};
    int first, r = oci_parse_flags(&cmd, argc, argv, &first);
    if (r != 0)
        return r > 0 ? 0 : 1;

    const char *id = argv[first];
    struct container_state st;
    struct oci_spec *spec;
    struct sandbox_procs procs;
    int dir_fd;
    int code = container_create(g, "run", id, &o, &dir_fd, &st, &spec, &procs);
    if (code != 0)
        return code;
    if (container_start(id, dir_fd, &st, spec, "runsc run failed: ") != 0) {
        sandbox_kill(st.pid, st.pid_start, st.gofer_pid, st.gofer_start, 5000);
        state_remove(g->root, id);
        code = 1;
        goto out;
    }
    if (o.detach)
        goto out;
    /* The lock is for commands that change the state; others may signal or exec meanwhile. A
     * pod member's directory stays reachable (without the lock) to destroy it in its sandbox. */
    int member_fd = pod_is_member(dir_fd) ? openat(dir_fd, ".", O_PATH | O_CLOEXEC) : -1;
    close(dir_fd);
    dir_fd = -1;
    run_sandbox_pid = procs.sandbox_pid;
    struct sigaction sa = {.sa_handler = forward_signal, .sa_flags = SA_RESTART};
    for (size_t i = 0; i < sizeof(run_forwarded) / sizeof(run_forwarded[0]); i++)
        sigaction(run_forwarded[i], &sa, NULL);
    int status = 0;
    while (waitpid(procs.sandbox_pid, &status, 0) < 0 && errno == EINTR) {
    }
    code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (member_fd >= 0) {
        pod_destroy_member(member_fd, id); /* its gofer ends with its tree */
        close(member_fd);
    }
    /* The gofer sees the sandbox hang up and exits; then the container is deleted, as runc's
     * run does. */
    for (int waited = 0; waited < 5000; waited += 5) {
        if (waitpid(procs.gofer_pid, NULL, WNOHANG) != 0)
            break;
        usleep(5000);
    }
    sandbox_kill(-1, 0, procs.gofer_pid, st.gofer_start, 1000);
    if (!o.keep) {
        char err[4096];
        state_remove(g->root, id);
        static const enum oci_hook_kind stop[] = {OCI_HOOK_POSTSTOP};
        if (run_hooks(spec, stop, 1, &st, CONTAINER_STOPPED, err, sizeof(err)) != 0)
            oci_errorf("%s", err);
    }
out:
    oci_spec_free(spec);
    state_free(&st);
    if (dir_fd >= 0)
        close(dir_fd);
    return code;
}
