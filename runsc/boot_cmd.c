/* `runsc boot`: internal; `runsc do` starts it in new namespaces with the executable, the log and
 * the gofer's socket at fixed fds (cli.h). Its environment is the guest's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/boot.h"
#include "runsc/cli.h"

extern char **environ;

static const char *flag_value(const char *arg, const char *name)
{
    size_t len = strlen(name);
    return strncmp(arg, name, len) == 0 && arg[len] == '=' ? arg + len + 1 : NULL;
}

int cmd_boot(int argc, char **argv)
{
    struct boot_config cfg = {
        .platform = "ptrace",
        .log_level = LOG_WARNING,
        .log_fd = BOOT_LOG_FD,
        .exec_fd = BOOT_EXEC_FD,
        .gofer_fd = BOOT_GOFER_FD,
        .cwd = "/",
        .hostname = "localhost",
        .console_fd = -1,
    };
    int i = 1;
    const char *v;

    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if ((v = flag_value(argv[i], "--platform")))
            cfg.platform = v;
        else if ((v = flag_value(argv[i], "--log-level")))
            cfg.log_level = (enum log_level)atoi(v);
        else if (strcmp(argv[i], "--strace") == 0)
            cfg.strace = true;
        else if ((v = flag_value(argv[i], "--exec-path")))
            cfg.exec_path = v;
        else if ((v = flag_value(argv[i], "--cwd")))
            cfg.cwd = v;
        else if ((v = flag_value(argv[i], "--hostname")))
            cfg.hostname = v;
        else if ((v = flag_value(argv[i], "--uid")))
            cfg.uid = (uid_t)strtoul(v, NULL, 10);
        else if ((v = flag_value(argv[i], "--gid")))
            cfg.gid = (gid_t)strtoul(v, NULL, 10);
        else if ((v = flag_value(argv[i], "--console-stdio"))) {
            /* The host terminal is at BOOT_CONSOLE_FD; the value says which stdio it is. */
            cfg.console_fd = BOOT_CONSOLE_FD;
            cfg.console_stdio = (unsigned)strtoul(v, NULL, 10) & 7;
        }
        else {
            fprintf(stderr, "runsc: boot: unknown flag: %s\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (i >= argc - 1 || !cfg.exec_path) {
        fprintf(stderr, "runsc: boot is started by `runsc do`, not by hand\n");
        return EXIT_USAGE;
    }
    cfg.argv = argv + i + 1;
    cfg.envp = environ;
    return boot_run(&cfg);
}
