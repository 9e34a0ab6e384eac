/* The runsc command line: global flags and subcommands. */
#ifndef RUNSC_RUNSC_CLI_H
#define RUNSC_RUNSC_CLI_H

#include <stdbool.h>
#include <termios.h>

/* Flags that come before the subcommand and apply to every one. */
struct global_flags {
    const char *platform;
    bool strace;
    bool debug;
    const char *debug_log;
    /* The OCI runtime's flags (runc's and gVisor's names). */
    const char *root;        /* state directory, default /run/runsc */
    const char *log;         /* runc's --log: where errors (and --debug lines) go */
    bool log_json;           /* --log-format=json */
    bool systemd_cgroup;     /* cgroupsPath is systemd's slice:prefix:name (runsc/cgroup.h) */
    const char *network;     /* none|host|sandbox: all loopback-only in the sentry for now */
    bool overlay;            /* accepted: the root is always under an in-memory overlay */
    const char *overlay2;    /* accepted, as --overlay */
};

#define RUNSC_DEFAULT_ROOT "/run/runsc"

/* Fixed fd numbers `runsc boot` finds its inputs at (after stdio): the executable, the log, the
 * sandbox's end of the gofer's 9P socket, and (with --console-stdio) the host terminal. */
#define BOOT_EXEC_FD 3
#define BOOT_LOG_FD 4
#define BOOT_GOFER_FD 5
#define BOOT_CONSOLE_FD 6

/* Exit codes for usage errors, as Go's flag package (and so runc and gVisor) use. */
#define EXIT_USAGE 2

/* Parses leading `--name[=value]` flags from argv (either one or two dashes). Returns the index
 * of the first argument that is not a flag, or -1 after printing an error for an unknown or
 * malformed flag. `--help` and `--version` set *help / *version. */
int cli_parse_global_flags(int argc, char **argv, struct global_flags *g, bool *help,
                           bool *version);

void cli_print_usage(int fd);

/* The host terminal of a run whose stdio is one (terminal.c): raw while the guest has it. */
struct cli_terminal {
    int fd;             /* not owned: the terminal, or -1 when not raw */
    struct termios saved; /* its settings before, put back by cli_terminal_restore */
};
/* Saves fd's settings and makes it raw as cfmakeraw(3) does (no echo, no signals, no line
 * editing, no output processing). 0 or -errno, t untouched on failure. */
int cli_terminal_make_raw(int fd, struct cli_terminal *t);
/* Puts the saved settings back (once; later calls do nothing). */
void cli_terminal_restore(struct cli_terminal *t);
int cmd_do(const struct global_flags *g, int argc, char **argv);
int cmd_boot(int argc, char **argv);
int cmd_gofer(int argc, char **argv);
int cmd_spec(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_debug(int argc, char **argv);

/* The runc-compatible OCI commands (runsc/oci_*.c); each returns the process's exit code. */
int cmd_oci(const struct global_flags *g, const char *cmd, int argc, char **argv);
/* Whether `cmd` is one of the commands cmd_oci runs. */
bool cmd_is_oci(const char *cmd);

#endif
