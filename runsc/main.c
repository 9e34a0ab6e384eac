/* runsc: the entry point. Parses global flags and runs a subcommand. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "platform/platform.h"
#include "runsc/cli.h"

/* The sandbox process can't run LeakSanitizer's exit-time scan (it needs /proc and ptrace of
 * itself, which the sandbox forbids); the CLI and the unit tests keep it. */
int runsc_in_sandbox;

int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
    return runsc_in_sandbox;
}

/* Makes sure fds 0-2 are open, so no file we open lands on a stdio number by accident. */
static void ensure_stdio_open(void)
{
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
            _exit(1);
    }
}

int main(int argc, char **argv)
{
    struct global_flags g = {.platform = "ptrace", .root = RUNSC_DEFAULT_ROOT};
    bool help = false, version = false;

    ensure_stdio_open();
    int first = cli_parse_global_flags(argc, argv, &g, &help, &version);
    if (first < 0)
        return EXIT_USAGE;
    if (version) {
        printf("runsc version %s\nspec: 1.1.0\n", RUNSC_VERSION);
        return 0;
    }
    if (help) {
        cli_print_usage(STDOUT_FILENO);
        return 0;
    }
    const char *known;
    if (!platform_is_known(g.platform, &known)) {
        fprintf(stderr, "runsc: invalid platform \"%s\": this runsc has %s\n", g.platform, known);
        return EXIT_USAGE;
    }
    if (first >= argc) {
        cli_print_usage(STDERR_FILENO);
        return EXIT_USAGE;
    }
    const char *cmd = argv[first];
    if (strcmp(cmd, "do") == 0)
        return cmd_do(&g, argc - first, argv + first);
    if (strcmp(cmd, "boot") == 0) {
        runsc_in_sandbox = 1;
        return cmd_boot(argc - first, argv + first);
    }
    if (strcmp(cmd, "gofer") == 0) {
        runsc_in_sandbox = 1; /* confined as the sandbox is: no LeakSanitizer scan at exit */
        return cmd_gofer(argc - first, argv + first);
    }
    if (cmd_is_oci(cmd))
        return cmd_oci(&g, cmd, argc - first, argv + first);
    if (strcmp(cmd, "debug") == 0)
        return cmd_debug(argc - first, argv + first);
    if (strcmp(cmd, "spec") == 0)
        return cmd_spec(argc - first, argv + first);
    if (strcmp(cmd, "features") == 0)
        return cmd_features(argc - first, argv + first);
    if (strcmp(cmd, "help") == 0) {
        cli_print_usage(STDOUT_FILENO);
        return 0;
    }
    fprintf(stderr, "runsc: unknown command: %s\n", cmd);
    cli_print_usage(STDERR_FILENO);
    return EXIT_USAGE;
}
