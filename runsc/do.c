/* `runsc do CMD [ARGS...]`: runs CMD in a throw-away sandbox with the caller's stdio, environment
 * and working directory, and exits with CMD's status (128+N if signal N killed it). The CLI
 * resolves and opens the executable, starts `runsc gofer` to serve the host's "/" read-only over
 * a socketpair, then re-executes itself as `runsc boot` in new pid, mount, ipc, uts and network
 * namespaces (and a user namespace when not root) with the socket's other end. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/errors.h"
#include "runsc/cli.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Where `runsc boot` finds the control socket with --control-socket. */
#define DO_CONTROL_FD (BOOT_GOFER_FD + 1)

/* Where `runsc gofer` finds its socket. */
#define GOFER_SOCK_FD 3
/* How long the gofer may take to see the sandbox's hang-up and exit, once the sandbox is gone. */
#define GOFER_EXIT_GRACE_MS 5000

static pid_t sandbox_pid;

/* Signals sent to this process by another one go on to the sandbox. Terminal-generated ones
 * (SI_KERNEL) reached the sandbox directly: it is in our process group. */
static void forward_signal(int sig, siginfo_t *info, void *ctx)
{
    if (info->si_code != SI_KERNEL && sandbox_pid > 0)
        kill(sandbox_pid, sig);
}

static const int forwarded_signals[] = {SIGINT,  SIGTERM, SIGHUP,  SIGQUIT, SIGUSR1,
                                        SIGUSR2, SIGCONT, SIGWINCH, SIGALRM};

/* Finds CMD as execvp would: a name with a slash is a path; otherwise each PATH entry in turn.
 * Returns 0 with the path in `out`, or the errno to report. */
static int resolve_executable(const char *cmd, char *out, size_t size)
{
    if (strchr(cmd, '/')) {
        snprintf(out, size, "%s", cmd);
        return access(out, F_OK) == 0 ? 0 : errno;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = DEFAULT_PATH;
    int first_err = ENOENT;
    while (*path) {
        size_t len = strcspn(path, ":");
        if (len == 0)
            snprintf(out, size, "%s", cmd); /* an empty entry is the current directory */
        else
            snprintf(out, size, "%.*s/%s", (int)len, path, cmd);
        if (access(out, X_OK) == 0) {
            struct stat st;
            if (stat(out, &st) == 0 && S_ISREG(st.st_mode))
                return 0;
        } else if (errno == EACCES && first_err == ENOENT && access(out, F_OK) == 0) {
            first_err = EACCES;
        }
        path += len;
        if (*path == ':')
            path++;
    }
    snprintf(out, size, "%s", cmd);
    return first_err;
}

/* Opens the executable as execve would judge it: it must be a regular file we may execute. */
static int open_executable(const char *path, int *fd_out)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return errno;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || access(path, X_OK) != 0) {
        close(fd);
        return EACCES;
    }
    *fd_out = fd;
    return 0;
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, text, strlen(text));
    int err = n == (ssize_t)strlen(text) ? 0 : -errno;
    close(fd);
    return err;
}

/* Maps the caller to root in the sandbox's user namespace (the non-root case). */
static int write_id_maps(pid_t pid, uid_t uid, gid_t gid)
{
    char path[64], map[64];
    int err;

    snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
    snprintf(map, sizeof(map), "0 %u 1\n", uid);
    if ((err = write_file(path, map)) != 0)
        return err;
    snprintf(path, sizeof(path), "/proc/%d/setgroups", pid);
    if ((err = write_file(path, "deny")) != 0)
        return err;
    snprintf(path, sizeof(path), "/proc/%d/gid_map", pid);
    snprintf(map, sizeof(map), "0 %u 1\n", gid);
    return write_file(path, map);
}

/* Starts `runsc gofer` serving "/" read-only on sock (which stays the caller's). Returns its pid
 * or -errno. */
static pid_t start_gofer(int sock)
{
    pid_t parent = getpid();
    pid_t pid = fork();

    if (pid != 0)
        return pid < 0 ? -errno : pid;
    /* The gofer dies with runsc, and if runsc is already gone, at once. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(1);
    /* Out of the terminal's process group and session: ^C is the guest's, not its file
     * server's. */
    setsid();
    int high = fcntl(sock, F_DUPFD, GOFER_SOCK_FD + 1);
    if (high < 0 || dup2(high, GOFER_SOCK_FD) < 0)
        _exit(1);
    syscall(SYS_close_range, GOFER_SOCK_FD + 1, ~0U, 0);
    char sock_flag[32];
    snprintf(sock_flag, sizeof(sock_flag), "--sock-fd=%d", GOFER_SOCK_FD);
    char *argv[] = {"runsc", "gofer", "--root=/", sock_flag, "--readonly", NULL};
    execv("/proc/self/exe", argv);
    dprintf(STDERR_FILENO, "runsc: re-exec as gofer: %s\n", strerror(errno));
    _exit(1);
}

/* How a child ended, for a message: "exit status 1", "killed by SIGKILL". */
static void describe_status(int status, char *buf, size_t size)
{
    if (WIFEXITED(status)) {
        snprintf(buf, size, "exit status %d", WEXITSTATUS(status));
    } else {
        const char *name = sigabbrev_np(WTERMSIG(status));
        if (name)
            snprintf(buf, size, "killed by SIG%s", name);
        else
            snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
    }
}

static bool gofer_failed(int status)
{
    return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

static void report_gofer_death(int status)
{
    char why[64];
    describe_status(status, why, sizeof(why));
    fprintf(stderr, "runsc: gofer died: %s\n", why);
}

/* After the sandbox is gone: the gofer sees its socket hang up and exits. Returns its status, or
 * 0 when it had to be killed for taking too long (a hang is not a crash to report). */
static int reap_gofer(pid_t gofer_pid)
{
    int status;

    for (int waited = 0; waited < GOFER_EXIT_GRACE_MS; waited += 10) {
        pid_t w = waitpid(gofer_pid, &status, WNOHANG);
        if (w == gofer_pid)
            return status;
        if (w < 0 && errno != EINTR)
            return 0;
        usleep(10 * 1000);
    }
    fprintf(stderr, "runsc: the gofer did not exit after the sandbox: killing it\n");
    kill(gofer_pid, SIGKILL);
    while (waitpid(gofer_pid, &status, 0) < 0 && errno == EINTR) {
    }
    return 0;
}

/* In the child: put the inputs at their fixed fds and become `runsc boot`. */
static __attribute__((noreturn)) void exec_boot(int exec_fd, int log_fd, int gofer_fd, int sync_fd,
                                                int control_fd, char **boot_argv)
{
    char c;
    /* The sandbox dies with runsc: nothing else would end it if runsc were killed. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        _exit(1);
    /* Wait for the parent to finish the user namespace's id maps; end of file here means it died
     * before it could (and before PR_SET_PDEATHSIG could catch it). */
    if (read(sync_fd, &c, 1) != 1)
        _exit(1);
    /* Through fds above both targets, so neither move clobbers the other, and dup2 always makes
     * a new fd without FD_CLOEXEC (it keeps the flag when source and target are equal). */
    int exec_high = fcntl(exec_fd, F_DUPFD, BOOT_GOFER_FD + 1);
    int log_high = fcntl(log_fd, F_DUPFD, BOOT_GOFER_FD + 1);
    int gofer_high = fcntl(gofer_fd, F_DUPFD, BOOT_GOFER_FD + 1);
    int control_high = control_fd >= 0 ? fcntl(control_fd, F_DUPFD, DO_CONTROL_FD + 1) : -1;
    if (exec_high < 0 || log_high < 0 || gofer_high < 0 || dup2(exec_high, BOOT_EXEC_FD) < 0 ||
        dup2(log_high, BOOT_LOG_FD) < 0 || dup2(gofer_high, BOOT_GOFER_FD) < 0 ||
        (control_fd >= 0 && (control_high < 0 || dup2(control_high, DO_CONTROL_FD) < 0)))
        _exit(1);
    syscall(SYS_close_range, control_fd >= 0 ? DO_CONTROL_FD + 1 : BOOT_GOFER_FD + 1, ~0U, 0);
    execv("/proc/self/exe", boot_argv);
    dprintf(STDERR_FILENO, "runsc: re-exec as boot: %s\n", strerror(errno));
    _exit(1);
}

static void build_boot_argv(char **v, size_t max, const struct global_flags *g, const char *path,
                            bool control, char *const *cmd_argv, char bufs[][PATH_MAX + 32])
{
    size_t n = 0, b = 0;
    char host[HOST_NAME_MAX + 1] = "localhost", cwd[PATH_MAX] = "/";

    gethostname(host, sizeof(host));
    host[sizeof(host) - 1] = '\0';
    if (!getcwd(cwd, sizeof(cwd)))
        snprintf(cwd, sizeof(cwd), "/");
    v[n++] = "runsc";
    v[n++] = "boot";
    snprintf(bufs[b], sizeof(bufs[b]), "--platform=%s", g->platform);
    v[n++] = bufs[b++];
    snprintf(bufs[b], sizeof(bufs[b]), "--log-level=%d", g->debug ? 3 : 1);
    v[n++] = bufs[b++];
    if (g->strace)
        v[n++] = "--strace";
    snprintf(bufs[b], sizeof(bufs[b]), "--exec-path=%s", path);
    v[n++] = bufs[b++];
    snprintf(bufs[b], sizeof(bufs[b]), "--cwd=%s", cwd);
    v[n++] = bufs[b++];
    snprintf(bufs[b], sizeof(bufs[b]), "--hostname=%s", host);
    v[n++] = bufs[b++];
    snprintf(bufs[b], sizeof(bufs[b]), "--uid=%u", getuid());
    v[n++] = bufs[b++];
    snprintf(bufs[b], sizeof(bufs[b]), "--gid=%u", getgid());
    v[n++] = bufs[b++];
    if (control) {
        snprintf(bufs[b], sizeof(bufs[b]), "--control-fd=%d", DO_CONTROL_FD);
        v[n++] = bufs[b++];
    }
    v[n++] = "--";
    for (size_t i = 0; cmd_argv[i] && n < max - 1; i++)
        v[n++] = cmd_argv[i];
    v[n] = NULL;
}

/* Binds and listens on a SOCK_SEQPACKET unix socket at path (a stale one is replaced): the fd
 * or -errno. */
static int listen_control_socket(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};

    if (strlen(path) >= sizeof(addr.sun_path))
        return -ENAMETOOLONG;
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    unlink(path);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 16) != 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

static int do_run(const struct global_flags *g, int argc, char **argv, const char **control_out);

int cmd_do(const struct global_flags *g, int argc, char **argv)
{
    const char *control_path = NULL;
    int code = do_run(g, argc, argv, &control_path);
    if (control_path)
        unlink(control_path);
    return code;
}

static int do_run(const struct global_flags *g, int argc, char **argv, const char **control_out)
{
    char path[PATH_MAX];
    int exec_fd = -1, log_fd, err;
    int i = 1;

    /* Hidden: serve the sandbox's control socket at PATH, for `runsc debug` and tests. */
    const char *control_path = NULL;
    if (i < argc && strncmp(argv[i], "--control-socket=", 17) == 0)
        control_path = argv[i++] + 17;
    if (i < argc && strcmp(argv[i], "--") == 0)
        i++;
    else if (i < argc && argv[i][0] == '-') {
        fprintf(stderr, "runsc: do: unknown flag: %s\n", argv[i]);
        cli_print_usage(STDERR_FILENO);
        return EXIT_USAGE;
    }
    if (i >= argc) {
        fprintf(stderr, "runsc: do: missing command\n");
        cli_print_usage(STDERR_FILENO);
        return EXIT_USAGE;
    }
    /* As a shell reports: 127 when the command isn't there, 126 when it can't be run. */
    if ((err = resolve_executable(argv[i], path, sizeof(path))) != 0 ||
        (err = open_executable(path, &exec_fd)) != 0) {
        char text[128];
        fprintf(stderr, "runsc: exec %s: %s\n", path, errno_text(err, text, sizeof(text)));
        return err == ENOENT || err == ENOTDIR ? 127 : 126;
    }
    if (g->debug_log) {
        log_fd = open(g->debug_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (log_fd < 0) {
            fprintf(stderr, "runsc: open debug log %s: %s\n", g->debug_log, strerror(errno));
            return 1;
        }
    } else {
        log_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, BOOT_GOFER_FD + 1);
        if (log_fd < 0)
            log_fd = STDERR_FILENO;
    }

    char *boot_argv[4096];
    static char bufs[8][PATH_MAX + 32];
    build_boot_argv(boot_argv, sizeof(boot_argv) / sizeof(boot_argv[0]), g, path,
                    control_path != NULL, argv + i, bufs);
    int control_fd = -1;
    if (control_path && (control_fd = listen_control_socket(control_path)) < 0) {
        char text[128];
        fprintf(stderr, "runsc: do: control socket %s: %s\n", control_path,
                errno_text(-control_fd, text, sizeof(text)));
        return 1;
    }
    *control_out = control_path;

    /* The gofer first: the sandbox starts with its file server already there. */
    int gofer_sock[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, gofer_sock) != 0) {
        fprintf(stderr, "runsc: create the gofer's socket: %s\n", strerror(errno));
        return 1;
    }
    pid_t gofer_pid = start_gofer(gofer_sock[0]);
    close(gofer_sock[0]);
    if (gofer_pid < 0) {
        fprintf(stderr, "runsc: start the gofer: %s\n", strerror(-gofer_pid));
        return 1;
    }

    bool rootless = geteuid() != 0;
    int sync[2] = {-1, -1};
    if (pipe2(sync, O_CLOEXEC) != 0) {
        fprintf(stderr, "runsc: pipe: %s\n", strerror(errno));
        kill(gofer_pid, SIGKILL);
        return 1;
    }
    long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET |
                 (rootless ? CLONE_NEWUSER : 0) | SIGCHLD;
    pid_t pid = (pid_t)syscall(SYS_clone, flags, 0, 0, 0, 0);
    if (pid < 0) {
        fprintf(stderr, "runsc: create the sandbox's namespaces: %s\n", strerror(errno));
        kill(gofer_pid, SIGKILL);
        return 1;
    }
    if (pid == 0) {
        close(sync[1]);
        exec_boot(exec_fd, log_fd, gofer_sock[1], sync[0], control_fd, boot_argv);
    }
    if (control_fd >= 0)
        close(control_fd); /* the sandbox's now; the path goes when runsc does (below) */
    sandbox_pid = pid;
    /* Only the sandbox holds this end now, so its exit is the gofer's end of file. */
    close(gofer_sock[1]);
    close(exec_fd);
    close(sync[0]);
    if (rootless && (err = write_id_maps(pid, getuid(), getgid())) != 0) {
        char text[128];
        fprintf(stderr, "runsc: set up the user namespace: %s\n",
                errno_text(-err, text, sizeof(text)));
        kill(pid, SIGKILL);
    }
    if (write(sync[1], "x", 1) != 1) {
        /* The child is gone; waitpid reports how. */
    }
    close(sync[1]);

    struct sigaction sa = {.sa_sigaction = forward_signal, .sa_flags = SA_SIGINFO | SA_RESTART};
    for (size_t s = 0; s < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); s++)
        sigaction(forwarded_signals[s], &sa, NULL);

    /* Both children. A gofer that dies first takes the sandbox's files with it: the guest's file
     * operations fail with EIO from then on (the sentry's 9P client sees the hang-up), the guest
     * goes on to its end, and runsc reports the death and fails. */
    int status, child_status, code;
    bool gofer_died = false, gofer_reaped = false;
    for (;;) {
        pid_t w = waitpid(-1, &child_status, 0);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "runsc: wait for the sandbox: %s\n", strerror(errno));
            kill(pid, SIGKILL);
            kill(gofer_pid, SIGKILL);
            return 1;
        }
        if (w == pid) {
            status = child_status;
            break;
        }
        if (w == gofer_pid) {
            gofer_reaped = true;
            if (gofer_failed(child_status)) {
                report_gofer_death(child_status);
                gofer_died = true;
            }
        }
    }
    if (WIFEXITED(status)) {
        code = WEXITSTATUS(status);
    } else {
        fprintf(stderr, "runsc: the sandbox was killed by signal %d\n", WTERMSIG(status));
        code = 128 + WTERMSIG(status);
    }
    if (gofer_died)
        return code != 0 ? code : 1;
    if (!gofer_reaped) {
        int gofer_status = reap_gofer(gofer_pid);
        /* A gofer crashing after the sandbox is still a bug to see; the guest's failure status
         * wins over it. */
        if (gofer_failed(gofer_status)) {
            report_gofer_death(gofer_status);
            return code != 0 ? code : 1;
        }
    }
    return code;
}
