/* The OCI commands' shared parts, private to runsc/: errors in runc's log formats, subcommand
 * flags, the state store, hooks, the console socket and the sandbox's processes. */
#ifndef RUNSC_RUNSC_OCI_CLI_H
#define RUNSC_RUNSC_OCI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "runsc/cli.h"

struct oci_spec;
struct oci_hook;
struct json_object;

/* The runtime-spec version runsc implements, reported by `state` and to hooks. */
#define RUNSC_OCI_VERSION "1.1.0"

/* ---- errors and the log (oci_log.c) ---- */

/* Remembers where errors go: --log (and --log-format) or stderr. Errors printed before this go
 * to stderr as text. */
void oci_log_setup(const struct global_flags *g);
/* Reports an error as runc does: to the --log file as one line in its format and as a plain line
 * on stderr, or without --log as one line in the format on stderr. */
void oci_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A debug line, only with --debug, to the log (stderr without --log). */
void oci_debugf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One log line without its newline: `time="T" level=L msg="M"` or runc's JSON
 * {"level":"L","msg":"M","time":"T"}; T is RFC 3339 in UTC to the second. Returns the length
 * (truncated to size - 1). */
size_t oci_log_format(char *buf, size_t size, bool json, const char *level, const char *msg,
                      time_t when);
/* Go's time.RFC3339Nano in UTC: "2006-01-02T15:04:05.999999999Z", trailing zeros dropped. */
void oci_time_rfc3339nano(const struct timespec *ts, char *buf, size_t size);

/* ---- subcommand flags (oci_flags.c), as runc's (urfave/cli, Go flag) parse them ---- */

enum oci_flag_kind { OCI_FLAG_BOOL, OCI_FLAG_STRING, OCI_FLAG_LIST };

#define OCI_LIST_MAX 64
struct oci_str_list {
    const char *v[OCI_LIST_MAX];
    size_t n;
};

struct oci_flag {
    const char *name; /* long name, "bundle" */
    char short_name;  /* 'b', or 0 */
    enum oci_flag_kind kind;
    void *value; /* bool *, const char **, struct oci_str_list * */
    const char *help;
};

struct oci_command {
    const char *name;
    const char *args_usage; /* "<container-id>" */
    const char *summary;
    const struct oci_flag *flags;
    size_t n_flags;
    int min_args, max_args; /* max -1: any number */
};

/* Parses the flags after the command name (argv[0]) up to the first argument that is not one,
 * "-name", "--name", "--name=value" and "--name value" alike. Returns 0 with *first set, 1 after
 * printing the help (--help, -h), or -1 after reporting a usage error. */
int oci_parse_flags(const struct oci_command *c, int argc, char **argv, int *first);

/* ---- the state store (state.c): <root>/<id>/state.json, under flock of the directory ---- */

enum container_status {
    CONTAINER_CREATING,
    CONTAINER_CREATED,
    CONTAINER_RUNNING,
    CONTAINER_PAUSED,
    CONTAINER_STOPPED,
};

#define CONTAINER_ID_MAX 1024

struct container_state {
    char id[CONTAINER_ID_MAX + 1];
    char *bundle;       /* absolute */
    char *rootfs;       /* absolute */
    char created[48];   /* RFC 3339 with nanoseconds */
    pid_t pid;          /* the sandbox process, whose exit status is the container's */
    uint64_t pid_start; /* its start time (clock ticks after boot), against pid reuse */
    pid_t gofer_pid;
    uint64_t gofer_start;
    enum container_status saved; /* created, running or paused: what the last command did */
    char *annotations_json;      /* a JSON object's text, or NULL */
};

/* runc's rule: [\w+-.]+, and neither "." nor "..". */
bool state_id_valid(const char *id);
/* Makes <root>/<id> (and root) and locks it; -EEXIST if there is one. *dir_fd is the lock. */
int state_create_dir(const char *root, const char *id, int *dir_fd);
/* Opens and locks <root>/<id>; -ENOENT if there is none. */
int state_open_dir(const char *root, const char *id, int *dir_fd);
/* Writes state.json atomically (a temporary file renamed over it). */
int state_write(int dir_fd, const struct container_state *st);
/* Writes pid into the --pid-file at path as runc does: through a temporary name and a rename, so
 * a reader never sees it half written. 0 or -errno. */
int oci_write_pid_file(const char *path, pid_t pid);
/* Reads state.json; -ENOENT when the directory has none (a create that did not finish). */
int state_read(int dir_fd, struct container_state *st);
void state_free(struct container_state *st);
/* Removes <root>/<id> and everything in it. */
int state_remove(const char *root, const char *id);
/* The status now: the saved one while the sandbox lives, stopped once it is gone (or a zombie). */
enum container_status state_live_status(const struct container_state *st);
const char *state_status_name(enum container_status s);
/* The state as `runc state` and `runc list --format json` print it (pid 0 once stopped). */
struct json_object *state_to_json(const struct container_state *st, enum container_status s,
                                  const char *owner);
/* The OCI state hooks get on stdin: ociVersion, id, status, pid, bundle, annotations. */
char *state_hook_json(const struct container_state *st, enum container_status s);
/* A path to <dir>/name short enough for sockaddr_un whatever the root's length is. */
void state_dir_path(int dir_fd, const char *name, char *buf, size_t size);

/* A host process's start time from /proc/<pid>/stat (0 if gone), and whether pid is still the
 * process that started then and has not exited (a zombie has). */
uint64_t proc_start_time(pid_t pid);
bool proc_alive(pid_t pid, uint64_t start);

/* ---- hooks (oci_hooks.c) ---- */

/* Runs the hooks in order with `state_json` on stdin; stops at the first failure, which is
 * reported in err as runc words it ("error running hook #1: ..."). Returns 0 or -errno. */
int oci_hooks_run(const struct oci_hook *hooks, size_t n, const char *state_json, char *err,
                  size_t errlen);

/* ---- the console socket (oci_console.c) ---- */

/* Opens a host pty pair; sends the master over the AF_UNIX socket at `socket_path` as runc does
 * (SCM_RIGHTS with the master's name as data) and returns the slave in *slave_fd. */
int oci_console_send(const char *socket_path, int *slave_fd, char *err, size_t errlen);

/* ---- the sandbox's processes (oci_sandbox.c) ---- */

struct sandbox_start {
    const char *id;
    const char *bundle;
    const struct oci_spec *spec;
    const char *spec_json; /* config.json's text, passed to boot */
    int dir_fd;            /* the state directory: the control socket goes there */
    int console_fd;        /* the pty slave for terminal=true, or -1 */
    bool detach;           /* create: new session, reparented to the caller's subreaper */
};

struct sandbox_procs {
    pid_t sandbox_pid, gofer_pid;
};

/* Starts the gofer and the sandbox and waits until boot has loaded init. On failure both are
 * gone and reaped, *exit_code is what the command exits with (127 for a missing executable) and
 * err says why. */
int sandbox_start(const struct global_flags *g, const struct sandbox_start *s,
                  struct sandbox_procs *out, int *exit_code, char *err, size_t errlen);
/* Kills a sandbox and its gofer that are not (or no longer) the caller's children and waits
 * until they are gone (or zombies) for at most `timeout_ms`. */
void sandbox_kill(pid_t pid, uint64_t start, pid_t gofer_pid, uint64_t gofer_start, int timeout_ms);

/* Starts `runsc gofer` serving rootfs on sock (the gofer's end, still the caller's to close). */
pid_t sandbox_start_gofer(const struct oci_spec *spec, int sock);

/* ---- pods (oci_pod.c) ---- */

/* The sandbox a container joins by its annotations (io.kubernetes.cri.container-type=container
 * with io.kubernetes.cri.sandbox-id, or CRI-O's ContainerType and SandboxID), or NULL when it
 * makes its own. */
const char *pod_sandbox_of(const struct oci_spec *spec, const char *id);
/* Creates s->id inside that sandbox: its gofer, CreateContainer, and a waiter process whose pid
 * (out->sandbox_pid) exits with the member's status. As sandbox_start on failure. */
int pod_create_member(const struct global_flags *g, const struct sandbox_start *s,
                      const char *sandbox_id, struct sandbox_procs *out, int *exit_code, char *err,
                      size_t errlen);
/* Whether the container of this state directory is a pod member. */
bool pod_is_member(int dir_fd);
/* DestroyContainer for a member (its processes and mounts go); quiet when the sandbox is gone. */
void pod_destroy_member(int dir_fd, const char *id);
/* The sandbox process a member lives in, or `fallback` (not a member, or no sandbox). */
pid_t pod_sandbox_pid(const struct global_flags *g, int dir_fd, pid_t fallback);

/* ---- the commands (oci_*.c) ---- */
int oci_cmd_create(const struct global_flags *g, int argc, char **argv);
int oci_cmd_run(const struct global_flags *g, int argc, char **argv);
int oci_cmd_start(const struct global_flags *g, int argc, char **argv);
int oci_cmd_state(const struct global_flags *g, int argc, char **argv);
int oci_cmd_list(const struct global_flags *g, int argc, char **argv);
int oci_cmd_kill(const struct global_flags *g, int argc, char **argv);
int oci_cmd_delete(const struct global_flags *g, int argc, char **argv);
int oci_cmd_pause(const struct global_flags *g, int argc, char **argv);
int oci_cmd_resume(const struct global_flags *g, int argc, char **argv);
int oci_cmd_ps(const struct global_flags *g, int argc, char **argv);
int oci_cmd_events(const struct global_flags *g, int argc, char **argv);
int oci_cmd_exec(const struct global_flags *g, int argc, char **argv);

/* Parses a signal as runc's kill does: a number, or a name with or without SIG (any case).
 * Returns the number or -EINVAL. */
int oci_parse_signal(const char *text);

/* Opens and locks the container's directory and reads its state; reports "container does not
 * exist" (or the id's error) itself. Returns 0 or -1. */
int oci_load_container(const struct global_flags *g, const char *id, int *dir_fd,
                       struct container_state *st);

#endif
