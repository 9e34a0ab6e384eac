/* Pods: a container whose annotations name an existing sandbox is created inside it (DESIGN.md
 * §1). Its state directory gets a `sandbox.sock` symlink to the sandbox's control socket (so
 * every command reaches the sandbox as for a root container, naming the member by its id), its
 * own gofer, and a waiter: a small host process that waits for the member's first process over
 * the control socket, exits with its status and forwards signals to it. The waiter's pid is the
 * member's, as conmon and containerd need a pid of its own to wait on. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boot/boot.h"
#include "lib/control/control.h"
#include "lib/errors.h"
#include "runsc/oci/oci.h"
#include "runsc/oci_cli.h"

#define SOCKET_NAME "sandbox.sock"

const char *pod_sandbox_of(const struct oci_spec *spec, const char *id)
{
    static const char *const type_keys[] = {"io.kubernetes.cri.container-type",
                                            "io.kubernetes.cri-o.ContainerType"};
    static const char *const sandbox_keys[] = {"io.kubernetes.cri.sandbox-id",
                                               "io.kubernetes.cri-o.SandboxID"};

    for (size_t i = 0; i < 2; i++) {
        const char *type = oci_spec_annotation(spec, type_keys[i]);
        const char *sandbox = oci_spec_annotation(spec, sandbox_keys[i]);
        if (type && strcmp(type, "container") == 0 && sandbox && sandbox[0] &&
            strcmp(sandbox, id) != 0)
            return sandbox;
    }
    return NULL;
}

bool pod_is_member(int dir_fd)
{
    char target[PATH_MAX];
    return readlinkat(dir_fd, SOCKET_NAME, target, sizeof(target)) > 0;
}

/* The sandbox id a member's symlink names ("../ID/sandbox.sock"), or -ENOENT. */
static int member_sandbox_id(int dir_fd, char *id, size_t size)
{
    char target[PATH_MAX];
    ssize_t n = readlinkat(dir_fd, SOCKET_NAME, target, sizeof(target) - 1);
    if (n <= 3)
        return -ENOENT;
    target[n] = '\0';
    char *slash = strchr(target + 3, '/');
    if (strncmp(target, "../", 3) != 0 || !slash)
        return -ENOENT;
    snprintf(id, size, "%.*s", (int)(slash - (target + 3)), target + 3);
    return 0;
}

void pod_destroy_member(int dir_fd, const char *id)
{
    char path[128];
    struct control_conn *c;

    state_dir_path(dir_fd, SOCKET_NAME, path, sizeof(path));
    if (control_connect(path, &c) != 0)
        return; /* the sandbox is gone, and the member with it */
    int ret = control_destroy_container(c, id);
    if (ret != 0 && ret != -ESRCH)
        oci_debugf("destroy %s in its sandbox: %s", id, control_last_error(c));
    control_close(c);
}

pid_t pod_sandbox_pid(const struct global_flags *g, int dir_fd, pid_t fallback)
{
    char sandbox_id[CONTAINER_ID_MAX + 1];
    struct container_state st;
    int sandbox_fd;

    if (member_sandbox_id(dir_fd, sandbox_id, sizeof(sandbox_id)) != 0 ||
        state_open_dir(g->root, sandbox_id, &sandbox_fd) != 0)
        return fallback;
    pid_t pid = fallback;
    if (state_read(sandbox_fd, &st) == 0) {
        pid = st.pid;
        state_free(&st);
    }
    close(sandbox_fd);
    return pid;
}

/* ---- the waiter ---- */

struct waiter {
    char socket_path[128];
    const char *id;
    sigset_t set;
};

/* Signals the waiter gets go to the member's first process, as the sandbox's boot forwards
 * them to init. */
static void *waiter_forward(void *arg)
{
    struct waiter *w = arg;
    for (;;) {
        int sig = sigwaitinfo(&w->set, NULL);
        if (sig < 0)
            continue;
        struct control_conn *c;
        if (control_connect(w->socket_path, &c) == 0) {
            control_signal(c, w->id, sig, CONTROL_SIGNAL_INIT, 0);
            control_close(c);
        }
    }
    return NULL;
}

static __attribute__((noreturn)) void waiter_main(const char *root, const char *sandbox_id,
                                                  const char *id, bool detach)
{
    static const int signals[] = {SIGINT,  SIGTERM, SIGHUP,   SIGQUIT, SIGUSR1,
                                  SIGUSR2, SIGCONT, SIGWINCH, SIGALRM};
    static struct waiter w;
    char dir[PATH_MAX];

    if (detach)
        setsid();
    /* No fd of create's stays open here: not the state directories' locks, not the engine's
     * pipes (the member has its own copies of its stdio). */
    int null_fd = open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3 && null_fd >= 0; fd++)
        dup2(null_fd, fd);
    syscall(SYS_close_range, 3, ~0U, 0);
    snprintf(dir, sizeof(dir), "%s/%s", root, sandbox_id);
    int dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0)
        _exit(128 + SIGKILL);
    state_dir_path(dir_fd, SOCKET_NAME, w.socket_path, sizeof(w.socket_path));
    w.id = id;
    sigemptyset(&w.set);
    for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
        sigaddset(&w.set, signals[i]);
    pthread_sigmask(SIG_BLOCK, &w.set, NULL);
    pthread_t t;
    if (pthread_create(&t, NULL, waiter_forward, &w) == 0)
        pthread_detach(t);
    struct control_conn *c;
    int status = 0, ret = control_connect(w.socket_path, &c);
    if (ret == 0) {
        ret = control_wait(c, id, &status);
        control_close(c);
    }
    /* A sandbox that went away took the member with it: as killed. */
    if (ret != 0)
        _exit(128 + SIGKILL);
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

/* ---- create ---- */

/* Asks the sandbox to create the member; 0, or -errno with err and *exit_code set. */
static int create_in_sandbox(int dir_fd, const struct sandbox_start *s, int gofer_fd,
                             int *exit_code, char *err, size_t errlen)
{
    char path[128], text[128];
    struct control_conn *c;
    const int stdio[3] = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO};
    struct sock_filter *prog = NULL;
    struct control_seccomp seccomp = {0};
    char why[256];

    /* The member's linux.seccomp is compiled here, as the root container's is in boot before
     * the sandbox confines itself: inside the running sandbox libseccomp would need syscalls
     * the sandbox's own filter forbids. */
    if (s->spec->seccomp_json) {
        if (boot_seccomp_compile(s->spec->seccomp_json, &prog, &seccomp.len, &seccomp.log, why,
                                 sizeof(why)) != 0) {
            snprintf(err, errlen, "linux.seccomp: %s", why);
            return -EINVAL;
        }
        seccomp.prog = prog;
    }
    state_dir_path(dir_fd, SOCKET_NAME, path, sizeof(path));
    int ret = control_connect(path, &c);
    if (ret != 0) {
        snprintf(err, errlen, "connect to the sandbox: %s", errno_text(-ret, text, sizeof(text)));
        free(prog);
        return ret;
    }
    ret =
        control_create_container(c, s->id, s->spec_json, gofer_fd, stdio, s->console_fd, &seccomp);
    free(prog);
    if (ret != 0) {
        /* As a shell reports a failed exec: 127 not found, 126 not executable. */
        *exit_code = ret == -ENOENT ? 127 : ret == -EACCES || ret == -ENOEXEC ? 126 : 1;
        snprintf(err, errlen, "%s",
                 *control_last_error(c) ? control_last_error(c)
                                        : errno_text(-ret, text, sizeof(text)));
    }
    control_close(c);
    return ret;
}

int pod_create_member(const struct global_flags *g, const struct sandbox_start *s,
                      const char *sandbox_id, struct sandbox_procs *out, int *exit_code, char *err,
                      size_t errlen)
{
    char target[CONTAINER_ID_MAX + 32], text[128];
    struct container_state sandbox;
    int sandbox_fd, gofer_sock[2] = {-1, -1}, ret;
    pid_t gofer_pid = -1;

    *exit_code = 1;
    if (!state_id_valid(sandbox_id)) {
        snprintf(err, errlen, "sandbox id \"%s\" (annotation) is not a valid container id",
                 sandbox_id);
        return -EINVAL;
    }
    ret = state_open_dir(g->root, sandbox_id, &sandbox_fd);
    if (ret == 0 && (ret = state_read(sandbox_fd, &sandbox)) != 0)
        close(sandbox_fd);
    if (ret != 0) {
        snprintf(err, errlen, "sandbox %s does not exist: a pod member needs a running sandbox",
                 sandbox_id);
        return -ENOENT;
    }
    if (pod_is_member(sandbox_fd) || state_live_status(&sandbox) == CONTAINER_STOPPED) {
        snprintf(err, errlen, "sandbox %s is %s", sandbox_id,
                 pod_is_member(sandbox_fd) ? "itself a pod member, not a sandbox" : "not running");
        ret = -ESRCH;
        goto out_sandbox;
    }
    snprintf(target, sizeof(target), "../%s/%s", sandbox_id, SOCKET_NAME);
    if (symlinkat(target, s->dir_fd, SOCKET_NAME) != 0) {
        ret = -errno;
        snprintf(err, errlen, "link to the sandbox's control socket: %s",
                 errno_text(errno, text, sizeof(text)));
        goto out_sandbox;
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, gofer_sock) != 0) {
        ret = -errno;
        snprintf(err, errlen, "create the gofer's socket: %s",
                 errno_text(errno, text, sizeof(text)));
        goto out_sandbox;
    }
    gofer_pid = sandbox_start_gofer(s->spec, gofer_sock[0]);
    close(gofer_sock[0]);
    if (gofer_pid < 0) {
        ret = gofer_pid;
        snprintf(err, errlen, "start the gofer: %s", errno_text(-ret, text, sizeof(text)));
        goto out_sock;
    }
    if ((ret = create_in_sandbox(s->dir_fd, s, gofer_sock[1], exit_code, err, errlen)) != 0)
        goto out_gofer;
    pid_t waiter = fork();
    if (waiter < 0) {
        ret = -errno;
        snprintf(err, errlen, "fork the waiter: %s", errno_text(errno, text, sizeof(text)));
        pod_destroy_member(s->dir_fd, s->id);
        goto out_gofer;
    }
    if (waiter == 0)
        waiter_main(g->root, sandbox_id, s->id, s->detach);
    out->sandbox_pid = waiter;
    out->gofer_pid = gofer_pid;
    *exit_code = 0;
    goto out_sock;

out_gofer:
    kill(gofer_pid, SIGKILL);
    while (waitpid(gofer_pid, NULL, 0) < 0 && errno == EINTR) {
    }
out_sock:
    close(gofer_sock[1]);
out_sandbox:
    state_free(&sandbox);
    close(sandbox_fd);
    return ret;
}
