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
                "                          stdio, environment and working directory\n\n"
                "flags:\n");
    for (size_t i = 0; i < sizeof(global_flag_specs) / sizeof(global_flag_specs[0]); i++) {
        const struct flag_spec *f = &global_flag_specs[i];
        char name[40];
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
