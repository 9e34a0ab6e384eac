/* `runsc debug --socket=PATH ACTION`: talks to a running sandbox over its control socket, for
 * people and tests. gVisor's `runsc debug` takes a container id; here the socket path is the one
 * input (the state store turns an id into it). Actions:
 *   --ps                          the sandbox's processes, one line each
 *   --signal=N [--pid=P | --all]  signal N (a number or a name: TERM, SIGTERM) to init, P or all
 *   --pause, --resume             stop every task / let them go on
 *   --stats                       cpu, memory and pids figures, "name value" lines
 *   --exec ARGV...                runs ARGV in the sandbox with this process's stdio, waits for
 *                                 it and exits with its status (128+N for signal N)
 * Exit: 0 done, 1 with the error printed, 2 for a usage error. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/control/control.h"
#include "runsc/cli.h"

#define DEFAULT_PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

enum debug_action { ACT_NONE, ACT_PS, ACT_SIGNAL, ACT_PAUSE, ACT_RESUME, ACT_STATS, ACT_EXEC };

struct debug_args {
    const char *socket;
    enum debug_action action;
    int signo;
    pid_t pid;
    bool all;
    char **exec_argv;
};

static int parse_signal(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10);
    if (*s && !*end)
        return n > 0 && n <= 64 ? (int)n : -1;
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (int sig = 1; sig < 32; sig++) {
        const char *name = sigabbrev_np(sig);
        if (name && strcasecmp(name, s) == 0)
            return sig;
    }
    return -1;
}

static int usage(const char *why)
{
    fprintf(stderr, "runsc: debug: %s\n"
                    "usage: runsc debug --socket=PATH <--ps | --signal=N [--pid=P | --all] | "
                    "--pause | --resume | --stats | --exec ARGV...>\n",
            why);
    return EXIT_USAGE;
}

static int set_action(struct debug_args *a, enum debug_action act)
{
    if (a->action != ACT_NONE)
        return -1;
    a->action = act;
    return 0;
}

static int parse_args(int argc, char **argv, struct debug_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] == '-' && arg[1] == '-')
            arg++; /* --flag and -flag alike, as Go's flag package */
        int bad = 0;
        if (strncmp(arg, "-socket=", 8) == 0) {
            a->socket = arg + 8;
        } else if (strcmp(arg, "-ps") == 0) {
            bad = set_action(a, ACT_PS);
        } else if (strncmp(arg, "-signal=", 8) == 0) {
            bad = set_action(a, ACT_SIGNAL);
            if ((a->signo = parse_signal(arg + 8)) < 0)
                return usage("bad signal");
        } else if (strncmp(arg, "-pid=", 5) == 0) {
            a->pid = (pid_t)atoi(arg + 5);
            if (a->pid <= 0)
                return usage("bad pid");
        } else if (strcmp(arg, "-all") == 0) {
            a->all = true;
        } else if (strcmp(arg, "-pause") == 0) {
            bad = set_action(a, ACT_PAUSE);
        } else if (strcmp(arg, "-resume") == 0) {
            bad = set_action(a, ACT_RESUME);
        } else if (strcmp(arg, "-stats") == 0) {
            bad = set_action(a, ACT_STATS);
        } else if (strcmp(arg, "-exec") == 0) {
            bad = set_action(a, ACT_EXEC);
            if (i + 1 < argc && strcmp(argv[i + 1], "--") == 0)
                i++;
            if (i + 1 >= argc)
                return usage("--exec needs a command");
            a->exec_argv = argv + i + 1;
            break;
        } else {
            fprintf(stderr, "runsc: debug: unknown flag: %s\n", argv[i]);
            return usage("bad flag");
        }
        if (bad)
            return usage("give one action");
    }
    if (!a->socket)
        return usage("--socket is required");
    if (a->action == ACT_NONE)
        return usage("no action given");
    if ((a->pid || a->all) && a->action != ACT_SIGNAL)
        return usage("--pid and --all go with --signal");
    if (a->pid && a->all)
        return usage("--pid and --all exclude each other");
    return 0;
}

static void print_ps(const struct control_process *ps, size_t n)
{
    printf("%-7s %-7s %-8s %-6s %-9s %-6s %s\n", "PID", "PPID", "HOSTPID", "UID", "CPU(ms)",
           "TTY", "CMD");
    for (size_t i = 0; i < n; i++)
        printf("%-7d %-7d %-8d %-6u %-9llu %-6s %s\n", ps[i].pid, ps[i].ppid, ps[i].host_pid,
               ps[i].uid, (unsigned long long)(ps[i].cpu_ns / 1000000), ps[i].tty,
               ps[i].cmdline);
}

static int exit_code_of(int status)
{
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

static int run_exec(struct control_conn *c, char **argv, int *code)
{
    extern char **environ;
    char *default_env[] = {DEFAULT_PATH_ENV, NULL};
    char cwd[PATH_MAX] = "/";
    bool has_path = false;

    for (char **e = environ; e && *e; e++)
        has_path |= strncmp(*e, "PATH=", 5) == 0;
    /* The sandbox's root is the host's in `runsc do`: the caller's directory is there too. */
    if (!getcwd(cwd, sizeof(cwd)))
        snprintf(cwd, sizeof(cwd), "/");
    struct control_exec e = {
        .argv = argv,
        .envp = has_path ? environ : default_env,
        .cwd = cwd,
        .uid = getuid(),
        .gid = getgid(),
        .stdio = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO},
        .console_fd = -1,
    };
    pid_t pid;
    int status;
    int err = control_execute(c, NULL, &e, &pid);
    if (!err)
        err = control_wait_pid(c, NULL, pid, &status);
    if (!err)
        *code = exit_code_of(status);
    return err;
}

int cmd_debug(int argc, char **argv)
{
    struct debug_args a = {0};
    struct control_conn *c;
    int code = 0;

    int err = parse_args(argc, argv, &a);
    if (err)
        return err;
    if ((err = control_connect(a.socket, &c)) != 0) {
        fprintf(stderr, "runsc: debug: connect to %s: %s\n", a.socket, strerror(-err));
        return 1;
    }
    switch (a.action) {
    case ACT_PS: {
        struct control_process *ps;
        size_t n;
        if ((err = control_processes(c, NULL, &ps, &n)) == 0) {
            print_ps(ps, n);
            free(ps);
        }
        break;
    }
    case ACT_SIGNAL:
        err = control_signal(c, NULL, a.signo,
                             a.all   ? CONTROL_SIGNAL_ALL
                             : a.pid ? CONTROL_SIGNAL_PROCESS
                                     : CONTROL_SIGNAL_INIT,
                             a.pid);
        break;
    case ACT_PAUSE:
        err = control_pause(c);
        break;
    case ACT_RESUME:
        err = control_resume(c);
        break;
    case ACT_STATS: {
        struct control_stats st;
        if ((err = control_event(c, NULL, &st)) == 0)
            printf("cpu_total_ns %llu\ncpu_user_ns %llu\ncpu_system_ns %llu\n"
                   "memory_usage_bytes %llu\npids_current %llu\npids_limit %llu\n",
                   (unsigned long long)st.cpu_total_ns, (unsigned long long)st.cpu_user_ns,
                   (unsigned long long)st.cpu_system_ns,
                   (unsigned long long)st.memory_usage_bytes,
                   (unsigned long long)st.pids_current, (unsigned long long)st.pids_limit);
        break;
    }
    case ACT_EXEC:
        err = run_exec(c, a.exec_argv, &code);
        break;
    case ACT_NONE:
        break;
    }
    if (err) {
        const char *why = control_last_error(c);
        fprintf(stderr, "runsc: debug: %s\n", why && *why ? why : strerror(-err));
        code = 1;
    }
    control_close(c);
    return code;
}
