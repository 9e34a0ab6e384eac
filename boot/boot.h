/* The sandbox process (`runsc boot`): confines itself, creates the memory file, the platform and
 * the kernel, runs the container's first process and exits with its status.
 *
 * Two modes. Started by `runsc do`: `runsc boot [flags] --exec-path=P -- ARGV...` runs ARGV at
 * once (the executable at BOOT_EXEC_FD, the log at BOOT_LOG_FD, the gofer at BOOT_GOFER_FD).
 * Container mode, started by `runsc create`: `runsc boot --spec-fd=N --control-fd=N
 * --ready-fd=N [--console-fd=N] [--log-fd=N] [--gofer-fd=N] [--platform= --log-level=
 * --strace --hostname= --uid= --gid=]`: no ARGV and no executable fd; the spec JSON is read
 * from spec-fd (process.args, env, cwd); the log and the gofer default to BOOT_LOG_FD and
 * BOOT_GOFER_FD. Boot loads init (its executable looked up in the spec's PATH), then writes one
 * line to ready-fd: "ok\n", or "err CODE MESSAGE\n" (CODE 127: not found, 126: not
 * executable, 1: anything else) and exits with CODE. It serves the control socket listening on
 * control-fd (bound by the CLI at <state dir>/sandbox.sock) and runs init on Start; when init
 * exits it kills what remains and exits with init's status (128+N for signal N). `runsc do`
 * may pass --control-fd too: its sandbox then serves the socket while running as usual. */
#ifndef RUNSC_BOOT_BOOT_H
#define RUNSC_BOOT_BOOT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/log.h"

struct oci_spec;

struct boot_config {
    const char *platform; /* "ptrace" */
    bool strace;
    enum log_level log_level;
    int log_fd;            /* owned: where the sandbox logs */
    int exec_fd;           /* owned: the executable, opened read-only by the CLI */
    int gofer_fd;          /* owned: the 9P socket to the gofer */
    const char *exec_path; /* its path as the guest sees it */
    char *const *argv;
    char *const *envp;
    const char *cwd;
    const char *hostname;
    uid_t uid; /* the guest's credentials */
    gid_t gid;
    /* owned: a host terminal for the guest's console, or -1. With one, the guest's stdio fds
     * named in console_stdio are the slave of a sentry pty, init's controlling terminal, and a
     * bridge copies between the pty's master and this terminal (console.c); the caller keeps
     * the host terminal in raw mode meanwhile. The OCI path (terminal: true) sets it too. */
    int console_fd;
    unsigned console_stdio;   /* bit i: the guest's fd i is the console (else host fd i) */
    bool container_mode;      /* load init, report on ready_fd, run it on Start */
    int control_fd;           /* owned: a listening SOCK_SEQPACKET socket to serve, -1 none */
    int ready_fd;             /* owned: container mode's "ok" / "err" line, -1 none */
    const char *seccomp_json; /* the spec's linux.seccomp as JSON text, or NULL: the guest's
                                 filter, compiled before the sandbox confines itself */
    /* Container mode's spec (borrowed, lives as long as the sandbox): the tree, init's user,
     * groups, umask, rlimits, capabilities and more come from it (container_fs.c,
     * container_init.c); NULL in `runsc do` mode. */
    const struct oci_spec *spec;
    /* linux.resources the sentry enforces (0: none): memory.limit in bytes (the memory file's
     * limit, past which the OOM killer runs) and pids.limit in tasks (fork/clone's EAGAIN). */
    int64_t memory_limit;
    int64_t pids_limit;
};

/* init's settings from spec->process (container_init.c): rlimits (into rlimits[], room for
 * RLIM_NLIMITS), noNewPrivileges, the capability bounding set, oomScoreAdj and the umask (into
 * init->fs, which must be set). */
struct init_process;
struct init_rlimit;
void boot_spec_init_settings(const struct oci_spec *spec, struct init_process *init,
                             struct init_rlimit *rlimits);
/* Applies linux.sysctl to `table` in order: 0, or -EINVAL with the first entry it can't take
 * (an unknown key, a value the key's setter refuses) named in why ("linux.sysctl: KEY ...").
 * Entries before it stay applied. */
struct sysctl_table;
int boot_spec_apply_sysctl(const struct oci_spec *spec, struct sysctl_table *table, char *why,
                           size_t whylen);
/* The same check on a scratch table, before the kernel exists: 0 if every entry applies. */
int boot_spec_check_sysctl(const struct oci_spec *spec, char *why, size_t whylen);

/* Runs the sandbox; returns the exit code for `runsc boot` (the guest's status, 128+N for a
 * signal, or 126/127/1 for failures to start, after printing why). */
int boot_run(const struct boot_config *cfg);

/* The control server (control_server.c): serves connections on listen_fd (owned from the call
 * on) on threads of its own, each request a kernel call. drain gives calls waiting for a
 * process up to timeout_ms to send their answers (once init is gone). */
struct kernel;
struct control_server;
int control_server_start(struct kernel *k, int listen_fd, struct control_server **out);
void control_server_drain(struct control_server *s, int timeout_ms);

/* Compiles an OCI linux.seccomp profile (JSON text) with libseccomp into a classic BPF program
 * for the guest's arch (oci_seccomp.c), honouring defaultAction, defaultErrnoRet, each
 * syscall's action, errnoRet and args (SCMP_CMP_*), and the LOG flag (*log); syscall names
 * unknown to the arch are skipped, as runc does. 0 with *prog (malloc'd, *len instructions), or
 * -1 with the reason in `why` (a profile without the guest's arch among its architectures, an
 * unknown action, operator or flag, user notification). Host side: call before confinement. */
struct sock_filter;
int boot_seccomp_compile(const char *json, struct sock_filter **prog, unsigned *len, bool *log,
                         char *why, size_t whylen);
/* Pods (pod.c): CreateContainer's work. Every fd in the request is owned by the call,
 * whatever it returns (-1: none). Returns the member's first pid, or -errno with why. */
struct boot_pod_request {
    const char *id;
    const char *spec_json;
    int gofer_fd;   /* its 9P socket */
    int stdio[3];   /* host fds for its fds 0-2 */
    int console_fd; /* a host terminal for its stdio instead: bridged to a sentry pty */
    /* its linux.seccomp compiled by the CLI (borrowed), or NULL */
    const struct sock_filter *seccomp_prog;
    unsigned seccomp_len;
    bool seccomp_log;
};
int boot_pod_create_container(struct kernel *k, const struct boot_pod_request *r, char *why,
                              size_t whylen);

/* Confinement steps (confine.c, seccomp.c). Each returns 0 or -errno. */
int boot_enter_empty_root(void);
int boot_set_hostname(const char *hostname);
int boot_drop_capabilities(void);
int boot_install_sentry_seccomp(void);

/* The console bridge (console.c). Open before the seccomp filter (it makes its wake-up pipe),
 * start once the kernel and devpts exist: it makes the pty, the controlling terminal of session
 * `sid` with that group in the foreground, and gives the caller a reference to its slave. */
struct boot_console;
struct file;
struct kernel;
int boot_console_open(int host_fd, struct boot_console **out);
int boot_console_start(struct boot_console *c, struct kernel *k, uid_t owner, int sid,
                       struct file **slave);
/* A console started with sid 0: makes its pty the controlling terminal of session sid (a pod
 * member's first process, whose pid comes after its stdio), that group in the foreground. */
int boot_console_set_session(struct boot_console *c, int sid);
/* Stops it (boot_console_stop), closes the host terminal and frees it: for a console no other
 * thread can still hold (a pod member's). */
void boot_console_free(struct boot_console *c);
/* The host terminal's size changed (SIGWINCH): the pty takes it. Any thread. */
void boot_console_resize(struct boot_console *c);
/* The guest is done: copies out what the pty still holds, ends the bridge and lets the pty go.
 * The console stays allocated (the signal thread may still hold it) until the process exits. */
void boot_console_stop(struct boot_console *c);

/* Terminals of processes started from outside (exec_console.c): runsc exec -t, pod members. */
struct exec_console;
struct kernel_exec;
/* Bridges host terminal `host_fd` (owned from the call on) to a new sentry pty owned by
 * `owner` and makes e's stdio its slave and its session's controlling terminal. After
 * kernel_execute, call boot_exec_console_started with the pid, or _abandon on failure. */
int boot_exec_console_attach(struct kernel *k, int host_fd, uid_t owner, struct kernel_exec *e,
                             struct exec_console **out);
void boot_exec_console_started(struct exec_console *ec, int pid);
void boot_exec_console_abandon(struct exec_console *ec);
/* After process `pid` exited: returns once its console (if it has one) has written its last
 * output to the host, so a waiter sees all of it before the exit status. */
void boot_exec_console_drain(int pid);

struct fs_context;
struct memfile;
/* Builds the guest's filesystem tree over the gofer connection (ownership of gofer_fd passes);
 * in-memory files keep their data in `mf`. */
int boot_build_rootfs(int gofer_fd, struct memfile *mf, struct fs_context **out);
/* Mounts the filesystems that show the kernel's state: /proc and /sys. */
int boot_mount_kernel_fs(struct fs_context *fs, struct kernel *k, unsigned ncpus);

/* A container's whole tree from its spec (container_fs.c): the overlay root over the gofer's
 * root tree, /dev, /dev/pts, /dev/shm, /proc and /sys unless the spec mounts them itself, then
 * spec->mounts in order (mount points the image lacks are made in the overlay), maskedPaths,
 * readonlyPaths, and root.readonly last. Bind mounts (boot_mount_is_gofer_bind) are the
 * gofer's extra trees: the i-th of them in spec->mounts (from 0) is attach name "mount<i>",
 * which is the i-th --mount flag the CLI gives `runsc gofer`. Ownership of gofer_fd passes.
 * Makes no host syscall but 9P traffic on gofer_fd (plus getsockopt SO_TYPE and fcntl), so it
 * may run under the sandbox's seccomp filter; `k` is for /proc. Returns 0 or -errno after
 * logging which mount failed and why. */
struct oci_mount;
int boot_build_container_fs(const struct oci_spec *spec, int gofer_fd, struct memfile *mf,
                            struct kernel *k, struct fs_context **out);
/* Whether the gofer serves this spec mount (type "bind": the parser sets it for bind/rbind
 * options too), except a /dev/shm bind, which the sandbox makes a tmpfs of. */
bool boot_mount_is_gofer_bind(const struct oci_mount *m);

#endif
