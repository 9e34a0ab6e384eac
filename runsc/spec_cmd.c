/* `runsc spec [--bundle DIR] [--rootless]`: writes a starter config.json into the bundle, as
 * `runc spec` does, and never over an existing one. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runsc/cli.h"
#include "runsc/oci/oci.h"

static void spec_usage(int fd)
{
    dprintf(fd, "usage: runsc spec [--bundle DIR] [--rootless]\n\n"
                "Writes a starter config.json into DIR (default: the current directory).\n\n"
                "  --bundle DIR, -b DIR  the bundle directory to write config.json in\n"
                "  --rootless            a spec for a container run by an unprivileged user\n");
}

/* Matches "-name", "--name", and with a value "-name=V" / "--name=V" (sets *value). */
static bool flag_is(const char *arg, const char *name, const char **value)
{
    size_t len = strlen(name);

    if (arg[0] != '-')
        return false;
    arg += arg[1] == '-' ? 2 : 1;
    if (strncmp(arg, name, len) != 0)
        return false;
    if (arg[len] == '\0') {
        if (value)
            *value = NULL;
        return true;
    }
    if (arg[len] == '=' && value) {
        *value = arg + len + 1;
        return true;
    }
    return false;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int cmd_spec(int argc, char **argv)
{
    const char *bundle = ".", *value;
    bool rootless = false;
    char *path = NULL, *json = NULL;
    int fd, ret, status = 1;

    for (int i = 1; i < argc; i++) {
        if (flag_is(argv[i], "bundle", &value) || flag_is(argv[i], "b", &value)) {
            if (!value) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "runsc spec: flag needs an argument: %s\n", argv[i]);
                    spec_usage(STDERR_FILENO);
                    return EXIT_USAGE;
                }
                value = argv[++i];
            }
            bundle = value;
        } else if (flag_is(argv[i], "rootless", NULL)) {
            rootless = true;
        } else if (flag_is(argv[i], "help", NULL) || flag_is(argv[i], "h", NULL)) {
            spec_usage(STDOUT_FILENO);
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "runsc spec: unknown flag: %s\n", argv[i]);
            spec_usage(STDERR_FILENO);
            return EXIT_USAGE;
        } else {
            /* runc: `"spec" requires exactly 0 arguments`, exit 1. */
            fprintf(stderr, "runsc: \"spec\" requires exactly 0 arguments\n");
            return 1;
        }
    }
    json = rootless ? oci_spec_rootless_json(geteuid(), getegid()) : oci_spec_default_json();
    if (!json || asprintf(&path, "%s/config.json", bundle) < 0) {
        path = NULL;
        fprintf(stderr, "runsc spec: out of memory\n");
        goto out;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno == EEXIST) {
        /* runc's words, which scripts around it match. */
        fprintf(stderr, "File config.json exists. Remove it first\n");
        goto out;
    }
    if (fd < 0) {
        fprintf(stderr, "runsc spec: %s: %s\n", path, strerror(errno));
        goto out;
    }
    ret = write_all(fd, json, strlen(json));
    if (close(fd) < 0 && ret == 0)
        ret = -errno;
    if (ret < 0) {
        fprintf(stderr, "runsc spec: write %s: %s\n", path, strerror(-ret));
        unlink(path);
        goto out;
    }
    status = 0;
out:
    free(path);
    free(json);
    return status;
}
