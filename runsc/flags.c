/* Global flag parsing, in the style of Go's flag package that runc and gVisor users know:
 * -name, --name, -name=value, --name=value and `--name value` for flags that take a value. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runsc/cli.h"

enum flag_kind { FLAG_BOOL, FLAG_STRING };

struct flag_spec {
    const char *name;
    enum flag_kind kind;
    const char *help;
};

static const struct flag_spec global_flag_specs[] = {
    {"platform", FLAG_STRING, "the platform that runs guest code: ptrace (default)"},
    {"strace", FLAG_BOOL, "log every guest syscall, in strace's format"},
    {"debug", FLAG_BOOL, "log debug messages"},
    {"debug-log", FLAG_STRING, "write logs (and --strace output) to this file instead of stderr"},
    {"root", FLAG_STRING, "where containers' state is kept (default " RUNSC_DEFAULT_ROOT ")"},
    {"log", FLAG_STRING, "append errors (and --debug messages) to this file, not stderr"},
    {"log-format", FLAG_STRING, "the format of --log's lines: text (default) or json"},
    {"systemd-cgroup", FLAG_BOOL, "linux.cgroupsPath is systemd's slice:prefix:name"},
    {"network", FLAG_STRING,
     "none|host|sandbox: accepted; every mode is loopback-only inside the sentry for now"},
    {"overlay", FLAG_BOOL, "accepted: the root is always under an in-memory overlay"},
    {"overlay2", FLAG_STRING, "accepted, as --overlay"},
    {"help", FLAG_BOOL, "show this help"},
    {"version", FLAG_BOOL, "show the version"},
};

void cli_print_usage(int fd)
{
    dprintf(fd, "usage: runsc [flags] <command> [args]\n\n"
                "runsc runs Linux programs in a sandbox: their system calls are served by an\n"
                "application kernel in user space and never reach the host kernel.\n\n"
                "commands:\n"
                "  do [--] CMD [ARGS...]   run CMD in a throw-away sandbox with the caller's\n"
                "                          stdio, environment and working directory\n"
                "  create, start, run, state, kill, delete, list, ps, exec, events, pause,\n"
                "  resume, checkpoint       the OCI runtime commands, as runc has them\n"
                "                          (`runsc COMMAND --help` for each)\n\n"
                "flags:\n");
    for (size_t i = 0; i < sizeof(global_flag_specs) / sizeof(global_flag_specs[0]); i++) {
        const struct flag_spec *f = &global_flag_specs[i];
        char name[48];
        snprintf(name, sizeof(name), "--%s%s", f->name, f->kind == FLAG_STRING ? "=VALUE" : "");
        dprintf(fd, "  %-22s  %s\n", name, f->help);
    }
}

static const struct flag_spec *find_flag(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(global_flag_specs) / sizeof(global_flag_specs[0]); i++) {
        if (strlen(global_flag_specs[i].name) == len &&
            strncmp(global_flag_specs[i].name, name, len) == 0)
            return &global_flag_specs[i];
    }
    return NULL;
}

static int usage_error(const char *what, const char *arg)
{
    dprintf(STDERR_FILENO, "runsc: %s: %s\n", what, arg);
    cli_print_usage(STDERR_FILENO);
    return -1;
}

int cli_parse_global_flags(int argc, char **argv, struct global_flags *g, bool *help,
                           bool *version)
{
    int i = 1;

    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || arg[1] == '\0')
            break;
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        const char *name = arg + (arg[1] == '-' ? 2 : 1);
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const struct flag_spec *f = find_flag(name, len);
        if (!f)
            return usage_error("unknown flag", arg);
        const char *value = eq ? eq + 1 : NULL;
        if (f->kind == FLAG_STRING && !value) {
            if (i + 1 >= argc)
                return usage_error("flag needs a value", arg);
            value = argv[++i];
        }
        if (f->kind == FLAG_BOOL && value && strcmp(value, "true") != 0 &&
            strcmp(value, "false") != 0)
            return usage_error("invalid boolean value", arg);
        bool on = !value || strcmp(value, "false") != 0;
        if (strcmp(f->name, "platform") == 0)
            g->platform = value;
        else if (strcmp(f->name, "debug-log") == 0)
            g->debug_log = value;
        else if (strcmp(f->name, "root") == 0)
            g->root = value;
        else if (strcmp(f->name, "log") == 0)
            g->log = value;
        else if (strcmp(f->name, "log-format") == 0) {
            if (strcmp(value, "json") != 0 && strcmp(value, "text") != 0)
                return usage_error("invalid log format (want text or json)", value);
            g->log_json = strcmp(value, "json") == 0;
        } else if (strcmp(f->name, "network") == 0) {
            if (strcmp(value, "none") != 0 && strcmp(value, "host") != 0 &&
                strcmp(value, "sandbox") != 0)
                return usage_error("invalid network (want none, host or sandbox)", value);
            g->network = value;
        } else if (strcmp(f->name, "overlay2") == 0)
            g->overlay2 = value;
        else if (strcmp(f->name, "overlay") == 0)
            g->overlay = on;
        else if (strcmp(f->name, "systemd-cgroup") == 0)
            g->systemd_cgroup = on;
        else if (strcmp(f->name, "strace") == 0)
            g->strace = on;
        else if (strcmp(f->name, "debug") == 0)
            g->debug = on;
        else if (strcmp(f->name, "help") == 0)
            *help = on;
        else if (strcmp(f->name, "version") == 0)
            *version = on;
    }
    return i;
}
