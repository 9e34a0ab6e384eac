/* A container's host processes: `runsc gofer` serving the bundle's root over a socketpair, and
 * `runsc boot` in new namespaces with the spec, the listening control socket and a ready pipe
 * (boot/boot.h has the protocol); create waits for boot's "ok" or "err CODE MESSAGE" line. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "boot/boot.h"
#include "lib/errors.h"
#include "runsc/oci/oci.h"
#include "runsc/cgroup.h"
#include "runsc/oci_cli.h"

/* Where `runsc boot` finds its container-mode inputs, after BOOT_GOFER_FD (cli.h). */
#define SANDBOX_SPEC_FD 6
#define SANDBOX_CONTROL_FD 7
#define SANDBOX_READY_FD 8
#define SANDBOX_CONSOLE_FD 9
#define GOFER_SOCK_FD 3
/* How long boot may take to load init before create gives up on it. */
#define READY_TIMEOUT_MS 60000

/* The gofer's --mount flags: one per bind mount the sentry attaches, in spec order (boot.h,
 * boot_build_container_fs), its source resolved against the bundle by the CLI's cwd. */
static char **gofer_mount_flags(const struct oci_spec *spec)
{
    char **flags = calloc(spec->n_mounts + 1, sizeof(*flags));
    size_t n = 0;
    for (size_t i = 0; flags && i < spec->n_mounts; i++) {
        const struct oci_mount *m = &spec->mounts[i];
        if (!boot_mount_is_gofer_bind(m))
            continue;
        bool ro = false;
        for (size_t j = 0; j < m->n_options; j++)
            ro |= strcmp(m->options[j], "ro") == 0 || strcmp(m->options[j], "rro") == 0;
        if (asprintf(&flags[n++], "--mount=%s:%s", ro ? "ro" : "rw", m->source ? m->source : "") <
            0)
            return NULL; /* the child exits at once on failure */
    }
    return flags;
}

static pid_t start_gofer(const struct oci_spec *spec, int sock)
{
    pid_t pid = fork();

    if (pid != 0)
        return pid < 0 ? -errno : pid;
    /* Its own session: a terminal's signals are the guest's, not its file server's. */
    setsid();
    /* Nor does it hold the container's stdio (or create's, which a console replaces): an engine
     * reading create's output or the container's waits for EOF until every holder is gone. */
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; fd < 3 && null_fd >= 0; fd++)
        dup2(null_fd, fd);
    int high = fcntl(sock, F_DUPFD, GOFER_SOCK_FD + 1);
    if (high < 0 || dup2(high, GOFER_SOCK_FD) < 0)
        _exit(1);
    syscall(SYS_close_range, GOFER_SOCK_FD + 1, ~0U, 0);
    char root_flag[PATH_MAX + 16], sock_flag[32];
    snprintf(root_flag, sizeof(root_flag), "--root=%s", spec->root_path);
    snprintf(sock_flag, sizeof(sock_flag), "--sock-fd=%d", GOFER_SOCK_FD);
    char **mounts = gofer_mount_flags(spec);
    char **argv = mounts ? calloc(spec->n_mounts + 6, sizeof(*argv)) : NULL;
    if (!argv)
        _exit(1);
    size_t n = 0;
    argv[n++] = "runsc";
    argv[n++] = "gofer";
    argv[n++] = root_flag;
    argv[n++] = sock_flag;
    if (spec->root_readonly)
        argv[n++] = "--readonly";
    for (size_t i = 0; mounts[i]; i++)
        argv[n++] = mounts[i];
    execv("/proc/self/exe", argv);
    dprintf(STDERR_FILENO, "runsc: re-exec as gofer: %s\n", strerror(errno));
    _exit(1);
}

pid_t sandbox_start_gofer(const struct oci_spec *spec, int sock)
{
    return start_gofer(spec, sock);
}

static int make_control_socket(int dir_fd)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    state_dir_path(dir_fd, "sandbox.sock", addr.sun_path, sizeof(addr.sun_path));
    int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return -errno;
    if (bind(sock, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(sock, 64) != 0) {
        int err = -errno;
        close(sock);
        return err;
    }
    return sock;
}

/* Moves each fds[i] to number targets[i] (all targets above stdio), without FD_CLOEXEC. */
static int place_fds(const int *fds, const int *targets, size_t n)
{
    int high[8];
    for (size_t i = 0; i < n; i++) {
        high[i] = fds[i] < 0 ? -1 : fcntl(fds[i], F_DUPFD, 32);
        if (fds[i] >= 0 && high[i] < 0)
            return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (high[i] >= 0 && dup2(high[i], targets[i]) < 0)
            return -1;
    }
    return 0;
}

struct boot_child {
    const struct global_flags *g;
    const struct sandbox_start *s;
    int log_fd, gofer_fd, spec_fd, control_fd, ready_fd;
    int netns_fd; /* the network namespace to join, or -1 for a new one */
};

/* The spec's namespace joined by path for the sandbox: network only, as gVisor does (the other
 * kinds are the sentry's own, so joining a host one would share nothing). Returns the open
 * namespace file, -1 when the sandbox makes its own, or -errno with err filled. */
static int open_netns(const struct oci_spec *spec, char *err, size_t errlen)
{
    static const char *const names[] = {
        [OCI_NS_PID] = "pid",       [OCI_NS_NETWORK] = "network", [OCI_NS_MOUNT] = "mount",
        [OCI_NS_IPC] = "ipc",       [OCI_NS_UTS] = "uts",         [OCI_NS_USER] = "user",
        [OCI_NS_CGROUP] = "cgroup", [OCI_NS_TIME] = "time",
    };
    const char *path = NULL;
    char text[128];

    for (size_t i = 0; i < spec->n_namespaces; i++) {
        const struct oci_namespace *ns = &spec->namespaces[i];
        if (!ns->path)
            continue;
        if (ns->type != OCI_NS_NETWORK) {
            snprintf(err, errlen,
                     "linux.namespaces: joining the %s namespace %s is not supported (only a "
                     "network one is)",
                     names[ns->type], ns->path);
            return -EINVAL;
        }
        path = ns->path;
    }
    if (!path)
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "open the network namespace %s: %s", path,
                 errno_text(e, text, sizeof(text)));
        return -e;
    }
    int type = ioctl(fd, NS_GET_NSTYPE);
    if (type != CLONE_NEWNET) {
        snprintf(err, errlen, "%s is not a network namespace", path);
        close(fd);
        return -EINVAL;
    }
    return fd;
}

static __attribute__((noreturn)) void exec_boot(const struct boot_child *c)
{
    if (c->netns_fd >= 0 && setns(c->netns_fd, CLONE_NEWNET) != 0) {
        char text[128];
        dprintf(c->ready_fd, "err 1 join the network namespace: %s\n",
                errno_text(errno, text, sizeof(text)));
        _exit(1);
    }
    if (c->s->detach)
        setsid();
    if (c->s->console_fd >= 0) {
        /* Until the sentry bridges its own pty to the console, the console is plain stdio. */
        for (int fd = 0; fd < 3; fd++)
            dup2(c->s->console_fd, fd);
    }
    int fds[] = {c->log_fd, c->gofer_fd, c->spec_fd, c->control_fd, c->ready_fd, c->s->console_fd};
    int targets[] = {BOOT_LOG_FD,        BOOT_GOFER_FD,    SANDBOX_SPEC_FD,
                     SANDBOX_CONTROL_FD, SANDBOX_READY_FD, SANDBOX_CONSOLE_FD};
    if (place_fds(fds, targets, sizeof(fds) / sizeof(fds[0])) != 0)
        _exit(1);
    syscall(SYS_close_range, SANDBOX_CONSOLE_FD + 1, ~0U, 0);
    if (c->s->console_fd < 0)
        close(SANDBOX_CONSOLE_FD);

    char a[10][PATH_MAX + 32];
    char *argv[16];
    size_t n = 0, b = 0;
    argv[n++] = "runsc";
    argv[n++] = "boot";
    snprintf(a[b], sizeof(a[b]), "--platform=%s", c->g->platform);
    argv[n++] = a[b++];
    snprintf(a[b], sizeof(a[b]), "--log-level=%d", c->g->debug ? 3 : 1);
    argv[n++] = a[b++];
    if (c->g->strace)
        argv[n++] = "--strace";
    if (c->s->spec->hostname) {
        snprintf(a[b], sizeof(a[b]), "--hostname=%s", c->s->spec->hostname);
        argv[n++] = a[b++];
    }
    snprintf(a[b], sizeof(a[b]), "--uid=%u", c->s->spec->process.user.uid);
    argv[n++] = a[b++];
    snprintf(a[b], sizeof(a[b]), "--gid=%u", c->s->spec->process.user.gid);
    argv[n++] = a[b++];
    snprintf(a[b], sizeof(a[b]), "--spec-fd=%d", SANDBOX_SPEC_FD);
    argv[n++] = a[b++];
    snprintf(a[b], sizeof(a[b]), "--control-fd=%d", SANDBOX_CONTROL_FD);
    argv[n++] = a[b++];
    snprintf(a[b], sizeof(a[b]), "--ready-fd=%d", SANDBOX_READY_FD);
    argv[n++] = a[b++];
    if (c->s->console_fd >= 0) {
        snprintf(a[b], sizeof(a[b]), "--console-fd=%d", SANDBOX_CONSOLE_FD);
        argv[n++] = a[b++];
    }
    argv[n] = NULL;
    execv("/proc/self/exe", argv);
    dprintf(STDERR_FILENO, "runsc: re-exec as boot: %s\n", strerror(errno));
    _exit(1);
}

static void write_all(int fd, const char *text)
{
    size_t len = strlen(text);
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* boot is gone: its ready pipe says why */
        done += (size_t)n;
    }
}

/* Reads boot's one line. Returns its length, 0 at end of file, -ETIMEDOUT or -errno. */
static ssize_t read_ready_line(int fd, char *buf, size_t size)
{
    size_t len = 0;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (len + 1 < size) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsed >= READY_TIMEOUT_MS)
            return -ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)(READY_TIMEOUT_MS - elapsed));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -ETIMEDOUT;
        ssize_t n = read(fd, buf + len, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        if (buf[len] == '\n')
            break;
        len++;
    }
    buf[len] = '\0';
    return (ssize_t)len;
}

static void describe_status(int status, char *buf, size_t size)
{
    if (WIFEXITED(status))
        snprintf(buf, size, "exit status %d", WEXITSTATUS(status));
    else
        snprintf(buf, size, "signal: %s", strsignal(WTERMSIG(status)));
}

static void kill_and_reap(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
}

int sandbox_start(const struct global_flags *g, const struct sandbox_start *s,
                  struct sandbox_procs *out, int *exit_code, char *err, size_t errlen)
{
    char text[128];
    int ret, gofer_sock[2] = {-1, -1}, spec_pipe[2] = {-1, -1}, ready_pipe[2] = {-1, -1};
    int control = -1, log_fd = -1, netns = -1;
    pid_t gofer_pid = -1, pid = -1;

    *exit_code = 1;
    if ((netns = open_netns(s->spec, err, errlen)) < -1)
        return netns;
    /* The host cgroup is made and listed in the state directory (so delete, or create's own
     * cleanup, removes it) before anything joins it; this process joins it only while it
     * starts the gofer and the sandbox, which are born in it, and leaves before it returns. */
    struct host_cgroup cg;
    ret = host_cgroup_create_here(s->spec, s->id, g->systemd_cgroup, &cg, err, errlen);
    int saved = host_cgroup_save(&cg, s->dir_fd);
    if (ret == 0 && saved != 0) {
        ret = saved;
        snprintf(err, errlen, "list the host cgroup in the state directory: %s",
                 errno_text(-ret, text, sizeof(text)));
    }
    if (ret == 0)
        ret = host_cgroup_enter(&cg, err, errlen);
    if (ret != 0) {
        if (netns >= 0)
            close(netns);
        return ret;
    }
    if (g->debug_log)
        log_fd = open(g->debug_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    else if (s->console_fd >= 0)
        /* With a console, create's stderr is the engine's, which waits for its EOF (containerd's
         * shim reads create's output to the end before it takes the console): the sandbox must
         * not keep it. Failures still reach create through the ready pipe. */
        log_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    else
        log_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    if (log_fd < 0) {
        ret = -errno;
        snprintf(err, errlen, "open the sandbox's log: %s", errno_text(errno, text, sizeof(text)));
        goto out;
    }
    if ((control = make_control_socket(s->dir_fd)) < 0) {
        ret = control;
        snprintf(err, errlen, "create the control socket: %s",
                 errno_text(-ret, text, sizeof(text)));
        goto out;
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, gofer_sock) != 0 ||
        pipe2(spec_pipe, O_CLOEXEC) != 0 || pipe2(ready_pipe, O_CLOEXEC) != 0) {
        ret = -errno;
        snprintf(err, errlen, "create the sandbox's pipes: %s",
                 errno_text(errno, text, sizeof(text)));
        goto out;
    }
    gofer_pid = start_gofer(s->spec, gofer_sock[0]);
    if (gofer_pid < 0) {
        ret = gofer_pid;
        snprintf(err, errlen, "start the gofer: %s", errno_text(-ret, text, sizeof(text)));
        goto out;
    }
    long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
    if (netns < 0)
        flags |= CLONE_NEWNET;
    pid = (pid_t)syscall(SYS_clone, flags, 0, 0, 0, 0);
    if (pid < 0) {
        ret = -errno;
        snprintf(err, errlen, "create the sandbox's namespaces: %s",
                 errno_text(errno, text, sizeof(text)));
        goto out;
    }
    if (pid == 0) {
        struct boot_child c = {
            .g = g,
            .s = s,
            .log_fd = log_fd,
            .gofer_fd = gofer_sock[1],
            .spec_fd = spec_pipe[0],
            .control_fd = control,
            .ready_fd = ready_pipe[1],
            .netns_fd = netns,
        };
        exec_boot(&c);
    }
    host_cgroup_leave(&cg);
    /* Only the sandbox holds these ends now: its exit is the gofer's and our end of file. */
    close(gofer_sock[0]);
    close(gofer_sock[1]);
    close(spec_pipe[0]);
    close(ready_pipe[1]);
    gofer_sock[0] = gofer_sock[1] = spec_pipe[0] = ready_pipe[1] = -1;
    write_all(spec_pipe[1], s->spec_json);
    close(spec_pipe[1]);
    spec_pipe[1] = -1;

    char line[4096];
    ssize_t n = read_ready_line(ready_pipe[0], line, sizeof(line));
    if (n > 0 && strcmp(line, "ok") == 0) {
        out->sandbox_pid = pid;
        out->gofer_pid = gofer_pid;
        *exit_code = 0;
        ret = 0;
        goto out;
    }
    ret = -EIO;
    if (n > 4 && strncmp(line, "err ", 4) == 0) {
        char *msg;
        long code = strtol(line + 4, &msg, 10);
        *exit_code = code > 0 && code < 256 ? (int)code : 1;
        while (*msg == ' ')
            msg++;
        snprintf(err, errlen, "%s", msg);
    } else if (n == -ETIMEDOUT) {
        snprintf(err, errlen, "the sandbox did not load the container in %d s",
                 READY_TIMEOUT_MS / 1000);
    } else if (n > 0) {
        snprintf(err, errlen, "the sandbox said \"%s\" instead of ok", line);
    } else {
        int status = 0;
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        pid = -1;
        describe_status(status, text, sizeof(text));
        snprintf(err, errlen, "the sandbox exited before it was ready: %s", text);
    }
    kill_and_reap(pid);
    kill_and_reap(gofer_pid);
    pid = gofer_pid = -1;
out:
    if (pid < 0)
        host_cgroup_leave(&cg);
    if (ret != 0 && gofer_pid > 0 && pid < 0)
        kill_and_reap(gofer_pid);
    if (control >= 0)
        close(control);
    int fds[] = {gofer_sock[0], gofer_sock[1], spec_pipe[0], spec_pipe[1],
                 ready_pipe[0], ready_pipe[1], log_fd,       netns};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        if (fds[i] >= 0)
            close(fds[i]);
    }
    return ret;
}

void sandbox_kill(pid_t pid, uint64_t start, pid_t gofer_pid, uint64_t gofer_start, int timeout_ms)
{
    if (proc_alive(pid, start))
        kill(pid, SIGKILL);
    if (proc_alive(gofer_pid, gofer_start))
        kill(gofer_pid, SIGKILL);
    for (int waited = 0; waited < timeout_ms; waited += 5) {
        /* Ours to reap when `run` started them; otherwise their reaper's. */
        while (waitpid(-1, NULL, WNOHANG) > 0) {
        }
        if (!proc_alive(pid, start) && !proc_alive(gofer_pid, gofer_start))
            return;
        usleep(5000);
    }
}
