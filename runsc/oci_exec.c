/* `runsc exec`: a new process in a running container, from --process (an OCI process JSON) or the
 * command line over the container's own process settings. Without --detach it waits and exits
 * with the process's status; with it, a small waiter process (whose pid --pid-file gets) stays
 * until the guest process exits, exits with its status and passes signals on to it. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/control/control.h"
#include "lib/errors.h"
#include "runsc/oci/oci.h"
#include "runsc/cli.h"
#include "runsc/oci_cli.h"

#define EXEC_FAILED 255 /* runc's exit code when the process could not be started */
#define ARGS_MAX 4096

struct exec_opts {
    const char *console_socket, *cwd, *user, *process, *pid_file, *process_label, *apparmor;
    const char *preserve_fds;
    bool tty, detach, no_new_privs, ignore_paused;
    struct oci_str_list env, caps, additional_gids, cgroup;
};

/* The process to start: strings are borrowed from the spec, the options or `doc`. */
struct exec_process {
    const char *argv[ARGS_MAX + 1];
    const char *envp[ARGS_MAX + 1];
    size_t n_env;
    const char *cwd;
    uid_t uid;
    gid_t gid;
    gid_t groups[64];
    size_t n_groups;
    bool terminal, no_new_privs;
    bool has_caps;
    struct oci_caps caps;
};

static int cap_from_name(const char *name)
{
    /* runc takes names with or without the CAP_ prefix. */
    char full[64];
    if (strncmp(name, "CAP_", 4) != 0) {
        snprintf(full, sizeof(full), "CAP_%s", name);
        name = full;
    }
    return oci_cap_from_name(name);
}

/* Replaces or adds NAME=VALUE in p's environment. */
static void env_set(struct exec_process *p, const char *kv)
{
    size_t len = strcspn(kv, "=");
    for (size_t i = 0; i < p->n_env; i++) {
        if (strncmp(p->envp[i], kv, len) == 0 && p->envp[i][len] == '=') {
            p->envp[i] = kv;
            return;
        }
    }
    if (p->n_env < ARGS_MAX)
        p->envp[p->n_env++] = kv;
}

static const char *json_str(struct json_object *o, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

static uint64_t caps_from_json(struct json_object *arr)
{
    uint64_t mask = 0;
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        int cap = cap_from_name(json_object_get_string(json_object_array_get_idx(arr, i)));
        if (cap >= 0)
            mask |= 1ULL << cap;
    }
    return mask;
}

/* Fills p from an OCI process JSON (--process). Returns 0, or -1 with err set. */
static int process_from_json(struct json_object *doc, struct exec_process *p, char *err,
                             size_t errlen)
{
    struct json_object *v, *u;
    if (!json_object_is_type(doc, json_type_object)) {
        snprintf(err, errlen, "process: must be an object");
        return -1;
    }
    if (!json_object_object_get_ex(doc, "args", &v) || !json_object_is_type(v, json_type_array) ||
        json_object_array_length(v) == 0 || json_object_array_length(v) > ARGS_MAX) {
        snprintf(err, errlen, "process.args: must be a non-empty array of strings");
        return -1;
    }
    for (size_t i = 0; i < json_object_array_length(v); i++)
        p->argv[i] = json_object_get_string(json_object_array_get_idx(v, i));
    p->argv[json_object_array_length(v)] = NULL;
    p->n_env = 0;
    if (json_object_object_get_ex(doc, "env", &v) && json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v) && i < ARGS_MAX; i++)
            p->envp[p->n_env++] = json_object_get_string(json_object_array_get_idx(v, i));
    }
    if (json_str(doc, "cwd"))
        p->cwd = json_str(doc, "cwd");
    if (json_object_object_get_ex(doc, "terminal", &v))
        p->terminal = json_object_get_boolean(v);
    if (json_object_object_get_ex(doc, "noNewPrivileges", &v))
        p->no_new_privs = json_object_get_boolean(v);
    if (json_object_object_get_ex(doc, "user", &u)) {
        if (json_object_object_get_ex(u, "uid", &v))
            p->uid = (uid_t)json_object_get_int64(v);
        if (json_object_object_get_ex(u, "gid", &v))
            p->gid = (gid_t)json_object_get_int64(v);
        if (json_object_object_get_ex(u, "additionalGids", &v)) {
            p->n_groups = 0;
            for (size_t i = 0; i < json_object_array_length(v) && i < 64; i++)
                p->groups[p->n_groups++] =
                    (gid_t)json_object_get_int64(json_object_array_get_idx(v, i));
        }
    }
    if (json_object_object_get_ex(doc, "capabilities", &u)) {
        /* process.json's sets replace the container's; a set it leaves out is empty. */
        const struct {
            const char *key;
            uint64_t *mask;
        } sets[] = {{"effective", &p->caps.effective},
                    {"permitted", &p->caps.permitted},
                    {"bounding", &p->caps.bounding},
                    {"inheritable", &p->caps.inheritable},
                    {"ambient", &p->caps.ambient}};
        p->has_caps = true;
        for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
            *sets[i].mask = json_object_object_get_ex(u, sets[i].key, &v) ? caps_from_json(v) : 0;
    }
    return 0;
}

/* The container's process settings, then the command line's. Returns 0 or -1 (reported). */
static int build_process(const struct oci_spec *spec, const struct exec_opts *o, int argc,
                         char **argv, struct json_object **doc, struct exec_process *p)
{
    char err[512];
    const struct oci_process *sp = &spec->process;

    memset(p, 0, sizeof(*p));
    for (size_t i = 0; sp->env && sp->env[i] && p->n_env < ARGS_MAX; i++)
        p->envp[p->n_env++] = sp->env[i];
    p->cwd = sp->cwd;
    p->uid = sp->user.uid;
    p->gid = sp->user.gid;
    for (size_t i = 0; i < sp->user.n_additional_gids && i < 64; i++)
        p->groups[p->n_groups++] = sp->user.additional_gids[i];
    /* The container's sets; none at all when its spec names none, as runc runs it. */
    p->has_caps = true;
    if (sp->has_caps)
        p->caps = sp->caps;
    p->no_new_privs = sp->no_new_privileges;
    if (o->process) {
        *doc = json_object_from_file(o->process);
        if (!*doc) {
            oci_errorf("exec failed: read %s: %s", o->process, json_util_get_last_err());
            return -1;
        }
        if (process_from_json(*doc, p, err, sizeof(err)) != 0) {
            oci_errorf("exec failed: %s: %s", o->process, err);
            return -1;
        }
    } else {
        if (argc == 0 || argc > ARGS_MAX) {
            oci_errorf("exec failed: args must not be empty");
            return -1;
        }
        for (int i = 0; i < argc; i++)
            p->argv[i] = argv[i];
        p->argv[argc] = NULL;
    }
    for (size_t i = 0; i < o->env.n; i++)
        env_set(p, o->env.v[i]);
    p->envp[p->n_env] = NULL;
    if (o->cwd)
        p->cwd = o->cwd;
    if (o->tty)
        p->terminal = true;
    if (o->no_new_privs)
        p->no_new_privs = true;
    if (o->user) {
        char *end;
        p->uid = (uid_t)strtoul(o->user, &end, 10);
        if (end == o->user || (*end && *end != ':')) {
            oci_errorf("exec failed: invalid user %s: want uid[:gid]", o->user);
            return -1;
        }
        if (*end == ':')
            p->gid = (gid_t)strtoul(end + 1, NULL, 10);
    }
    for (size_t i = 0; i < o->additional_gids.n && p->n_groups < 64; i++)
        p->groups[p->n_groups++] = (gid_t)strtoul(o->additional_gids.v[i], NULL, 10);
    for (size_t i = 0; i < o->caps.n; i++) {
        int cap = cap_from_name(o->caps.v[i]);
        if (cap < 0) {
            oci_errorf("exec failed: unknown capability %s", o->caps.v[i]);
            return -1;
        }
        /* runc exec --cap: into the bounding, effective and permitted sets (the ambient set
         * too when there are inheritable ones to hold it). */
        uint64_t bit = 1ULL << cap;
        p->has_caps = true;
        p->caps.bounding |= bit;
        p->caps.effective |= bit;
        p->caps.permitted |= bit;
        if (p->caps.inheritable)
            p->caps.ambient |= bit;
    }
    if (!p->cwd)
        p->cwd = "/";
    return 0;
}

/* The waiter's signal forwarding: signals it gets go to the guest process. */
struct forwarder {
    char socket_path[128];
    const char *id;
    pid_t guest_pid;
    sigset_t set;
};

static void *forward_signals(void *arg)
{
    struct forwarder *f = arg;
    for (;;) {
        int sig = sigwaitinfo(&f->set, NULL);
        if (sig < 0)
            continue;
        struct control_conn *c;
        if (control_connect(f->socket_path, &c) == 0) {
            control_signal(c, f->id, sig, CONTROL_SIGNAL_PROCESS, f->guest_pid);
            control_close(c);
        }
    }
    return NULL;
}

static int status_code(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Starts the process; returns 0 with *guest_pid, or EXEC_FAILED after reporting. */
static int start_process(const char *socket_path, const char *id, const struct exec_process *p,
                         int console_fd, pid_t *guest_pid)
{
    struct control_conn *c;
    char err[1024];
    struct control_exec e = {
        .argv = (char *const *)p->argv,
        .envp = (char *const *)p->envp,
        .cwd = p->cwd,
        .uid = p->uid,
        .gid = p->gid,
        .groups = p->groups,
        .n_groups = p->n_groups,
        .has_caps = p->has_caps,
        .caps_effective = p->caps.effective,
        .caps_permitted = p->caps.permitted,
        .caps_bounding = p->caps.bounding,
        .caps_inheritable = p->caps.inheritable,
        .caps_ambient = p->caps.ambient,
        .no_new_privs = p->no_new_privs,
        .stdio = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO},
        .console_fd = console_fd,
    };
    int ret = control_connect(socket_path, &c);
    if (ret != 0) {
        oci_errorf("exec failed: connect to the sandbox: %s", strerror(-ret));
        return EXEC_FAILED;
    }
    ret = control_execute(c, id, &e, guest_pid);
    if (ret != 0) {
        snprintf(err, sizeof(err), "%s", control_last_error(c));
        if (ret == -ENOENT)
            oci_errorf("exec failed: unable to start container process: exec: \"%s\": "
                       "executable file not found in $PATH",
                       p->argv[0]);
        else
            oci_errorf("exec failed: unable to start container process: %s",
                       *err ? err : strerror(-ret));
    }
    control_close(c);
    return ret == 0 ? 0 : EXEC_FAILED;
}

/* Waits for the guest process with forwarded signals; returns the exit code. */
static int wait_process(const char *socket_path, const char *id, pid_t guest_pid)
{
    static const int signals[] = {SIGINT,  SIGTERM, SIGHUP,   SIGQUIT,
                                  SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};
    static struct forwarder f;
    snprintf(f.socket_path, sizeof(f.socket_path), "%s", socket_path);
    f.id = id;
    f.guest_pid = guest_pid;
    sigemptyset(&f.set);
    for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
        sigaddset(&f.set, signals[i]);
    pthread_sigmask(SIG_BLOCK, &f.set, NULL);
    pthread_t t;
    if (pthread_create(&t, NULL, forward_signals, &f) == 0)
        pthread_detach(t);
    struct control_conn *c;
    int status = 0, ret = control_connect(socket_path, &c);
    if (ret == 0) {
        ret = control_wait_pid(c, id, guest_pid, &status);
        control_close(c);
    }
    if (ret != 0) {
        oci_errorf("wait for process %d: %s", guest_pid, strerror(-ret));
        return EXEC_FAILED;
    }
    return status_code(status);
}

/* --detach: the waiter is a child that reports "ok" (or its failure, already logged) on a pipe,
 * then waits for the guest process; create's caller (conmon, the shim) reaps it. */
static int exec_detached(const char *socket_path, const char *id, const struct exec_process *p,
                         int console_fd, const char *pid_file)
{
    int sync[2];
    if (pipe2(sync, O_CLOEXEC) != 0) {
        oci_errorf("exec failed: pipe: %s", strerror(errno));
        return EXEC_FAILED;
    }
    pid_t waiter = fork();
    if (waiter < 0) {
        oci_errorf("exec failed: fork: %s", strerror(errno));
        return EXEC_FAILED;
    }
    if (waiter == 0) {
        close(sync[0]);
        pid_t guest_pid;
        if (start_process(socket_path, id, p, console_fd, &guest_pid) != 0)
            _exit(EXEC_FAILED);
        if (write(sync[1], "ok", 2) != 2)
            _exit(EXEC_FAILED);
        close(sync[1]);
        /* The guest has its stdio now; the waiter holds none of the engine's pipes open. */
        int null_fd = open("/dev/null", O_RDWR);
        for (int fd = 0; fd < 3 && null_fd >= 0; fd++)
            dup2(null_fd, fd);
        if (console_fd >= 0)
            close(console_fd);
        _exit(wait_process(socket_path, id, guest_pid));
    }
    close(sync[1]);
    char ok[2];
    ssize_t n = read(sync[0], ok, sizeof(ok));
    close(sync[0]);
    if (n != 2) {
        waitpid(waiter, NULL, 0);
        return EXEC_FAILED;
    }
    if (pid_file) {
        int err = oci_write_pid_file(pid_file, waiter);
        if (err != 0) {
            oci_errorf("exec failed: write the pid file %s: %s", pid_file, strerror(-err));
            return EXEC_FAILED;
        }
    }
    return 0;
}

int oci_cmd_exec(const struct global_flags *g, int argc, char **argv)
{
    struct exec_opts o = {0};
    const struct oci_flag flags[] = {
        {"console-socket", 0, OCI_FLAG_STRING, &o.console_socket,
         "path to an AF_UNIX socket which will receive the console's pty master"},
        {"cwd", 0, OCI_FLAG_STRING, &o.cwd, "current working directory in the container"},
        {"env", 'e', OCI_FLAG_LIST, &o.env, "set environment variables"},
        {"tty", 't', OCI_FLAG_BOOL, &o.tty, "allocate a pseudo-TTY"},
        {"user", 'u', OCI_FLAG_STRING, &o.user, "UID (format: <uid>[:<gid>])"},
        {"additional-gids", 'g', OCI_FLAG_LIST, &o.additional_gids, "additional gids"},
        {"process", 'p', OCI_FLAG_STRING, &o.process, "path to the process.json"},
        {"detach", 'd', OCI_FLAG_BOOL, &o.detach, "detach from the container's process"},
        {"pid-file", 0, OCI_FLAG_STRING, &o.pid_file,
         "specify the file to write the process id to"},
        {"process-label", 0, OCI_FLAG_STRING, &o.process_label, "accepted; no effect"},
        {"apparmor", 0, OCI_FLAG_STRING, &o.apparmor, "accepted; no effect"},
        {"no-new-privs", 0, OCI_FLAG_BOOL, &o.no_new_privs, "set the no new privileges value"},
        {"cap", 'c', OCI_FLAG_LIST, &o.caps, "add a capability to the bounding set"},
        {"preserve-fds", 0, OCI_FLAG_STRING, &o.preserve_fds, "accepted; must be 0"},
        {"cgroup", 0, OCI_FLAG_LIST, &o.cgroup, "accepted; no effect"},
        {"ignore-paused", 0, OCI_FLAG_BOOL, &o.ignore_paused, "allow exec in a paused container"},
    };
    const struct oci_command cmd = {"exec",
                                    "<container-id> <command> [command options]",
                                    "execute new process inside the container",
                                    flags,
                                    sizeof(flags) / sizeof(flags[0]),
                                    1,
                                    -1};
    int first, r = oci_parse_flags(&cmd, argc, argv, &first);
    if (r != 0)
        return r > 0 ? 0 : 1;
    const char *id = argv[first];
    struct container_state st;
    int dir_fd, code = EXEC_FAILED;
    if (oci_load_container(g, id, &dir_fd, &st) != 0)
        return 1;
    enum container_status status = state_live_status(&st);
    if (status == CONTAINER_STOPPED) {
        oci_errorf("exec failed: cannot exec in a stopped container");
        goto out_state;
    }
    if (status == CONTAINER_PAUSED && !o.ignore_paused) {
        oci_errorf("exec failed: cannot exec in a paused container (use --ignore-paused to "
                   "override)");
        goto out_state;
    }
    struct oci_spec *spec = NULL;
    char err[1024];
    int fd = openat(dir_fd, "config.json", O_RDONLY | O_CLOEXEC);
    char *text = calloc(1, 4 << 20);
    ssize_t n = fd >= 0 && text ? read(fd, text, (4 << 20) - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n < 0 || oci_spec_parse(text, st.bundle, &spec, err, sizeof(err)) != 0) {
        free(text);
        oci_errorf("exec failed: load the container's spec: %s", n < 0 ? "unreadable" : err);
        goto out_state;
    }
    free(text);
    struct json_object *doc = NULL;
    static struct exec_process p;
    if (build_process(spec, &o, argc - first - 1, argv + first + 1, &doc, &p) != 0)
        goto out_spec;
    int console_fd = -1;
    if (p.terminal) {
        if (o.console_socket) {
            if (oci_console_send(o.console_socket, &console_fd, err, sizeof(err)) != 0) {
                oci_errorf("exec failed: %s", err);
                goto out_doc;
            }
        } else if (o.detach) {
            oci_errorf("exec failed: cannot allocate tty if runsc will detach without setting "
                       "console socket");
            goto out_doc;
        } else if (isatty(STDIN_FILENO)) {
            /* The caller's own terminal is the console. */
            console_fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
        }
    } else if (o.console_socket) {
        oci_errorf("exec failed: cannot use console socket if runsc will not detach or allocate "
                   "tty");
        goto out_doc;
    }
    /* The lock is for commands that change the state; a process may run for long. The socket
     * is reached through an unlocked fd of the directory, whatever the root's length. */
    char socket_path[128];
    int sock_dir_fd = openat(dir_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    close(dir_fd);
    dir_fd = -1;
    if (sock_dir_fd < 0) {
        oci_errorf("exec failed: open the state directory: %s", strerror(errno));
        goto out_console;
    }
    state_dir_path(sock_dir_fd, "sandbox.sock", socket_path, sizeof(socket_path));
    if (o.detach) {
        code = exec_detached(socket_path, id, &p, console_fd, o.pid_file);
    } else {
        /* On the caller's own terminal, raw while the process runs: every key reaches the
         * guest's pty, whose line discipline turns ^C into its foreground job's SIGINT. */
        struct cli_terminal term = {.fd = -1};
        if (console_fd >= 0 && !o.console_socket)
            (void)cli_terminal_make_raw(STDIN_FILENO, &term);
        pid_t guest_pid;
        code = start_process(socket_path, id, &p, console_fd, &guest_pid);
        if (code == 0) {
            if (o.pid_file)
                oci_write_pid_file(o.pid_file, getpid());
            code = wait_process(socket_path, id, guest_pid);
        }
        cli_terminal_restore(&term);
    }
    close(sock_dir_fd);
out_console:
    if (console_fd >= 0)
        close(console_fd);
out_doc:
    json_object_put(doc);
out_spec:
    oci_spec_free(spec);
out_state:
    state_free(&st);
    if (dir_fd >= 0)
        close(dir_fd);
    return code;
}
