/* `runsc boot`: internal; `runsc do` starts it in new namespaces with the executable, the log and
 * the gofer's socket at fixed fds (cli.h), and `runsc create` in container mode with the spec on
 * a pipe (boot/boot.h has both command lines), parsed with oci_spec_parse. Its environment is the
 * guest's in `do` mode. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/boot.h"
#include "runsc/cli.h"
#include "runsc/oci/oci.h"

extern char **environ;

/* The most of a spec boot reads from its pipe. */
#define SPEC_MAX_BYTES (4 << 20)

static const char *flag_value(const char *arg, const char *name)
{
    size_t len = strlen(name);
    return strncmp(arg, name, len) == 0 && arg[len] == '=' ? arg + len + 1 : NULL;
}

static int fd_value(const char *v)
{
    char *end;
    long fd = strtol(v, &end, 10);
    return *v && !*end && fd >= 0 && fd < 1 << 20 ? (int)fd : -1;
}

/* Reads the spec JSON the CLI checked from fd (closing it) and parses it again here, where it is
 * the sandbox's whole description. 0, or -1 after putting why in why[]. */
static int spec_read(int fd, struct oci_spec **out, char *why, size_t whylen)
{
    char *buf = malloc(SPEC_MAX_BYTES + 1);
    size_t len = 0;
    ssize_t n;

    if (!buf) {
        snprintf(why, whylen, "read the spec: out of memory");
        close(fd);
        return -1;
    }
    while (len < SPEC_MAX_BYTES && (n = read(fd, buf + len, SPEC_MAX_BYTES - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(why, whylen, "read the spec: %s", strerror(errno));
            free(buf);
            close(fd);
            return -1;
        }
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    int err = oci_spec_parse(buf, NULL, out, why, whylen);
    free(buf);
    return err == 0 ? 0 : -1;
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
        .control_fd = -1,
        .ready_fd = -1,
        .console_fd = -1,
    };
    int i = 1, spec_fd = -1;
    const char *v;

    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        int *fd_flag = NULL;
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
        } else if ((v = flag_value(argv[i], "--spec-fd")))
            fd_flag = &spec_fd;
        else if ((v = flag_value(argv[i], "--control-fd")))
            fd_flag = &cfg.control_fd;
        else if ((v = flag_value(argv[i], "--ready-fd")))
            fd_flag = &cfg.ready_fd;
        else if ((v = flag_value(argv[i], "--console-fd")))
            fd_flag = &cfg.console_fd;
        else if ((v = flag_value(argv[i], "--log-fd")))
            fd_flag = &cfg.log_fd;
        else if ((v = flag_value(argv[i], "--gofer-fd")))
            fd_flag = &cfg.gofer_fd;
        else {
            fprintf(stderr, "runsc: boot: unknown flag: %s\n", argv[i]);
            return EXIT_USAGE;
        }
        if (fd_flag && (*fd_flag = fd_value(v)) < 0) {
            fprintf(stderr, "runsc: boot: bad fd in %s\n", argv[i]);
            return EXIT_USAGE;
        }
        /* A container's console (terminal: true) is all three of init's stdio fds. */
        if (fd_flag == &cfg.console_fd)
            cfg.console_stdio = 7;
    }
    if (spec_fd >= 0) {
        /* Lives as long as the process: the kernel's threads read it until the very end. */
        static struct oci_spec *spec;
        char why[512];
        if (i < argc || cfg.ready_fd < 0) {
            fprintf(stderr, "runsc: boot: --spec-fd takes --ready-fd and no command\n");
            return EXIT_USAGE;
        }
        if (spec_read(spec_fd, &spec, why, sizeof(why)) != 0 ||
            boot_spec_check_sysctl(spec, why, sizeof(why)) != 0) {
            fprintf(stderr, "runsc: boot: %s\n", why);
            dprintf(cfg.ready_fd, "err 1 %s\n", why);
            return 1;
        }
        cfg.container_mode = true;
        cfg.spec = spec;
        cfg.exec_fd = -1;
        cfg.argv = spec->process.args;
        cfg.envp = spec->process.env;
        cfg.cwd = spec->process.cwd;
        cfg.exec_path = spec->process.args[0];
        cfg.seccomp_json = spec->seccomp_json;
        cfg.uid = spec->process.user.uid;
        cfg.gid = spec->process.user.gid;
        if (spec->hostname)
            cfg.hostname = spec->hostname;
        /* The parser keeps -1 for none; boot takes 0. */
        cfg.memory_limit = spec->memory_limit > 0 ? spec->memory_limit : 0;
        cfg.pids_limit = spec->pids_limit > 0 ? spec->pids_limit : 0;
        return boot_run(&cfg);
    }
    if (i >= argc - 1 || !cfg.exec_path) {
        fprintf(stderr, "runsc: boot is started by `runsc do` or `runsc create`, not by hand\n");
        return EXIT_USAGE;
    }
    cfg.argv = argv + i + 1;
    cfg.envp = environ;
    return boot_run(&cfg);
}
