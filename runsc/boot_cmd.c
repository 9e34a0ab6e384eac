/* `runsc boot`: internal; `runsc do` starts it in new namespaces with the executable, the log and
 * the gofer's socket at fixed fds (cli.h), and `runsc create` in container mode with the spec on
 * a pipe (boot/boot.h has both command lines). Its environment is the guest's in `do` mode. */
#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/boot.h"
#include "runsc/cli.h"

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

/* The spec's process as boot needs it. */
struct spec_process {
    char **args;
    char **env;
    char *cwd;
    int64_t memory_limit; /* linux.resources.memory.limit, 0: none */
    int64_t pids_limit;   /* linux.resources.pids.limit, 0: none */
};

/* spec.linux.resources.<group>.limit when a positive integer, else 0 (none: runc takes 0 and
 * -1 for "max"). oci_spec_parse has checked the spec's types on the CLI side already. */
static int64_t resource_limit(struct json_object *spec, const char *group)
{
    struct json_object *v = spec;
    const char *path[] = {"linux", "resources", group, "limit"};
    for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
        if (!json_object_is_type(v, json_type_object) ||
            !json_object_object_get_ex(v, path[i], &v))
            return 0;
    }
    int64_t limit = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
    return limit > 0 ? limit : 0;
}

static char **strings_of(struct json_object *arr)
{
    size_t n = arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
    char **v = calloc(n + 1, sizeof(*v));
    for (size_t i = 0; v && i < n; i++) {
        const char *s = json_object_get_string(json_object_array_get_idx(arr, i));
        if (!(v[i] = strdup(s ? s : "")))
            return NULL; /* boot exits at once on failure: no need to free */
    }
    return v;
}

/* TO BE REPLACED by oci_spec_parse (runsc/oci/oci.h) once the oci_spec branch is merged: reads
 * the spec JSON from fd (closing it) and takes process.args, env and cwd with json-c directly;
 * every other field comes from boot's own flags meanwhile. 0, or -1 after printing why. */
static int spec_read_process(int fd, struct spec_process *out)
{
    char *buf = malloc(SPEC_MAX_BYTES + 1);
    size_t len = 0;
    ssize_t n;

    if (!buf)
        goto fail_io;
    while (len < SPEC_MAX_BYTES && (n = read(fd, buf + len, SPEC_MAX_BYTES - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto fail_io;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    struct json_object *spec = json_tokener_parse(buf), *process, *v;
    free(buf);
    if (!spec || !json_object_object_get_ex(spec, "process", &process)) {
        fprintf(stderr, "runsc: boot: the spec has no process\n");
        json_object_put(spec);
        return -1;
    }
    json_object_object_get_ex(process, "args", &v);
    out->args = strings_of(v);
    v = NULL;
    json_object_object_get_ex(process, "env", &v);
    out->env = strings_of(v);
    out->cwd = strdup(json_object_object_get_ex(process, "cwd", &v) && json_object_get_string(v)
                          ? json_object_get_string(v)
                          : "/");
    out->memory_limit = resource_limit(spec, "memory");
    out->pids_limit = resource_limit(spec, "pids");
    json_object_put(spec);
    if (!out->args || !out->env || !out->cwd || !out->args[0]) {
        fprintf(stderr, "runsc: boot: the spec's process.args is empty\n");
        return -1;
    }
    return 0;

fail_io:
    fprintf(stderr, "runsc: boot: read the spec: %s\n", strerror(errno));
    free(buf);
    return -1;
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
        struct spec_process sp;
        if (i < argc || cfg.ready_fd < 0) {
            fprintf(stderr, "runsc: boot: --spec-fd takes --ready-fd and no command\n");
            return EXIT_USAGE;
        }
        if (spec_read_process(spec_fd, &sp) != 0) {
            dprintf(cfg.ready_fd, "err 1 cannot read the spec's process\n");
            return 1;
        }
        cfg.container_mode = true;
        cfg.exec_fd = -1;
        cfg.argv = sp.args;
        cfg.envp = sp.env;
        cfg.cwd = sp.cwd;
        cfg.exec_path = sp.args[0];
        cfg.memory_limit = sp.memory_limit;
        cfg.pids_limit = sp.pids_limit;
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
