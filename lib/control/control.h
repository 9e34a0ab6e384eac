/* The control socket between the runsc CLI and a sandbox (DESIGN.md §8): JSON requests and
 * replies (json-c), one per SOCK_SEQPACKET message, with fds passed by SCM_RIGHTS. The sandbox
 * listens on <state dir>/sandbox.sock; each CLI command connects, makes its calls and goes.
 * Every call returns 0 or -errno; a failure the sandbox reports comes back as its errno, with its
 * message in conn's last_error (control_last_error). A sandbox that is gone gives -ECONNREFUSED
 * or -ENOENT (connect) or -EPIPE/-ECONNRESET (mid-call). */
#ifndef RUNSC_LIB_CONTROL_CONTROL_H
#define RUNSC_LIB_CONTROL_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct control_conn;

int control_connect(const char *socket_path, struct control_conn **out);
void control_close(struct control_conn *c);
const char *control_last_error(const struct control_conn *c);

/* Starts the container's init, which `runsc boot` has loaded but not run. */
int control_start(struct control_conn *c, const char *container_id);

enum control_signal_target {
    CONTROL_SIGNAL_INIT,      /* the container's init process */
    CONTROL_SIGNAL_ALL,       /* every process of the container */
    CONTROL_SIGNAL_PROCESS,   /* one process, by guest pid */
    CONTROL_SIGNAL_FG_GROUP,  /* the foreground process group of the process's terminal */
};
int control_signal(struct control_conn *c, const char *container_id, int sig,
                   enum control_signal_target target, pid_t guest_pid);

/* Blocks until the container's init (or one guest process) has exited; *status is a wait
 * status as wait4 reports it. Waiting again for one already gone gives its status again. */
int control_wait(struct control_conn *c, const char *container_id, int *status);
int control_wait_pid(struct control_conn *c, const char *container_id, pid_t guest_pid,
                     int *status);

struct control_process {
    pid_t pid, ppid;          /* guest pids */
    pid_t host_pid;           /* the host process that runs it (its stub), 0 if none */
    uid_t uid;
    uint64_t start_ns;        /* CLOCK_REALTIME when it started */
    uint64_t cpu_ns;          /* user + system time */
    char tty[32];             /* "pts/0" or "?" */
    char comm[16];
    char cmdline[256];        /* argv joined by spaces, truncated */
};
/* Lists the container's processes; caller frees *out. */
int control_processes(struct control_conn *c, const char *container_id,
                      struct control_process **out, size_t *n);

struct control_exec {
    char *const *argv;        /* argv[0] is resolved against env's PATH in the guest */
    char *const *envp;
    const char *cwd;
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    size_t n_groups;
    /* The process's capability sets (CAP_* bit masks), used only with has_caps; without them
     * the process gets what its uid gets (uid 0: the whole bounding set). */
    bool has_caps;
    uint64_t caps_effective, caps_permitted, caps_bounding, caps_inheritable, caps_ambient;
    bool no_new_privs;
    /* Host fds the new process's stdio is bridged to or made of; with console_fd >= 0 the guest
     * gets a sentry pty whose other side is bridged to console_fd (a host pty), and stdio is
     * ignored. */
    int stdio[3];
    int console_fd;
};
/* Starts a new process in the running container; *guest_pid is its pid in the sandbox. */
int control_execute(struct control_conn *c, const char *container_id,
                    const struct control_exec *e, pid_t *guest_pid);

/* Stops every task of the sandbox at a safe point / lets them go on. */
int control_pause(struct control_conn *c);
int control_resume(struct control_conn *c);

struct control_stats {
    uint64_t cpu_total_ns, cpu_user_ns, cpu_system_ns;
    uint64_t memory_usage_bytes;  /* the memory file's committed pages the container uses */
    uint64_t memory_limit_bytes;  /* 0: none */
    uint64_t pids_current, pids_limit; /* limit 0: none */
};
int control_event(struct control_conn *c, const char *container_id, struct control_stats *out);

/* A classic BPF program (the spec's linux.seccomp compiled on the CLI side, as the sandbox can't
 * run libseccomp once its own filter is in place), or none (prog NULL, len 0). */
struct sock_filter;
struct control_seccomp {
    const struct sock_filter *prog;
    unsigned len;
    bool log; /* SECCOMP_FILTER_FLAG_LOG */
};
/* Pods: a further container in this sandbox, with its own root served by gofer_fd (9P socket)
 * and the spec as JSON; it is loaded, then started by control_start like the root one. With
 * console_fd >= 0 its stdio is a sentry pty bridged to that host terminal (stdio ignored);
 * seccomp (may be NULL) is the filter of its first process and every process exec'd into it. */
int control_create_container(struct control_conn *c, const char *container_id,
                             const char *spec_json, int gofer_fd, const int stdio[3],
                             int console_fd, const struct control_seccomp *seccomp);
int control_destroy_container(struct control_conn *c, const char *container_id);

/* The wire, shared by the client above and the server in `runsc boot`. A message is one JSON
 * object of at most CONTROL_MAX_MSG bytes in one SOCK_SEQPACKET record, with at most
 * CONTROL_MAX_FDS fds riding along (SCM_RIGHTS). A request is {"method": NAME, ...}; a reply is
 * {"ok": true, ...} or {"errno": N, "error": TEXT}. Sends never raise SIGPIPE (MSG_NOSIGNAL).
 * Each returns 0 or -errno: -ECONNRESET when the peer closed, -EMSGSIZE for an oversized or
 * truncated message, -EPROTO for one that is not a JSON object. */
#define CONTROL_MAX_MSG (64 * 1024)
#define CONTROL_MAX_FDS 8

struct json_object;
/* Sends `msg` (not consumed) with `nfds` fds (still the caller's). */
int control_msg_send(int sock, struct json_object *msg, const int *fds, size_t nfds);
/* Receives one message: *msg is the caller's (json_object_put); fds[0..*nfds) are new fds with
 * FD_CLOEXEC, the caller's; fds must hold CONTROL_MAX_FDS. On error no fd stays open. */
int control_msg_recv(int sock, struct json_object **msg, int *fds, size_t *nfds);
/* A BPF program on the wire: msg's "seccomp" is {"program": HEX, "log": BOOL}, 16 hex digits
 * per instruction (code 4, jt 2, jf 2, k 8). Add: 0 or -ENOMEM (len 0: nothing added). Get: 0
 * with *prog (the caller's, free) and *len, or *prog NULL and *len 0 when msg has none; -EPROTO
 * for a malformed or empty one or more than CONTROL_MAX_BPF instructions. */
#define CONTROL_MAX_BPF 4096
int control_msg_add_seccomp(struct json_object *msg, const struct control_seccomp *s);
int control_msg_get_seccomp(struct json_object *msg, struct sock_filter **prog, unsigned *len,
                            bool *log);
/* Sends {"errno": err, "error": text} (err positive, as errno). */
int control_reply_error(int sock, int err, const char *text);
/* The method names on the wire. */
#define CONTROL_METHOD_START "Start"
#define CONTROL_METHOD_SIGNAL "Signal"
#define CONTROL_METHOD_WAIT "Wait"
#define CONTROL_METHOD_WAIT_PID "WaitPID"
#define CONTROL_METHOD_PROCESSES "Processes"
#define CONTROL_METHOD_EXECUTE "Execute"
#define CONTROL_METHOD_PAUSE "Pause"
#define CONTROL_METHOD_RESUME "Resume"
#define CONTROL_METHOD_EVENT "Event"
#define CONTROL_METHOD_CREATE_CONTAINER "CreateContainer"
#define CONTROL_METHOD_DESTROY_CONTAINER "DestroyContainer"

#endif
