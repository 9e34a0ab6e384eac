/* `runsc gofer --root=DIR --sock-fd=N [--readonly] [--mount=ro:PATH|rw:PATH]...`: internal;
 * `runsc do` and `runsc create` start it to serve the container's root tree over 9P2000.L on the
 * SOCK_SEQPACKET socket at fd N, and each --mount (a bind mount's source, a directory or a file)
 * as an extra tree attached as "mount<i>" in flag order (gofer.h). It opens them, confines itself
 * (gofer_confine, then seccomp) before it reads the first request, and exits 0 when the sandbox
 * hangs up. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gofer/gofer.h"
#include "lib/errors.h"
#include "runsc/cli.h"

static const char *flag_value(const char *arg, const char *name)
{
    size_t len = strlen(name);
    return strncmp(arg, name, len) == 0 && arg[len] == '=' ? arg + len + 1 : NULL;
}

static int gofer_fail(const char *what, int err)
{
    char text[128];
    fprintf(stderr, "runsc: gofer: %s: %s\n", what, errno_text(-err, text, sizeof(text)));
    return 1;
}

/* The gofer holds nothing but its socket and stderr: no terminal on stdin or stdout, and no fd
 * the CLI happened to leave open. */
static int isolate_fds(int sock_fd)
{
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);

    if (null_fd < 0)
        return -errno;
    if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(null_fd, STDOUT_FILENO) < 0) {
        close(null_fd);
        return -errno;
    }
    close(null_fd);
    if (sock_fd > 3)
        syscall(SYS_close_range, 3U, (unsigned)sock_fd - 1, 0U);
    syscall(SYS_close_range, (unsigned)sock_fd + 1, ~0U, 0U);
    return 0;
}

/* The most --mount flags: one per bind mount of a spec. */
#define GOFER_MAX_TREES 256

/* Opens each --mount source by the host's rules (it is the runtime's path, not the container's),
 * before confinement hides the host. */
static int open_trees(char **paths, struct gofer_tree *trees, unsigned n, char *why, size_t size)
{
    for (unsigned i = 0; i < n; i++) {
        trees[i].fd = open(paths[i], O_PATH | O_CLOEXEC);
        if (trees[i].fd < 0) {
            int err = -errno;
            snprintf(why, size, "open the mount source %s", paths[i]);
            while (i-- > 0)
                close(trees[i].fd);
            return err;
        }
    }
    return 0;
}

/* Each fid holds an fd or two: allow as many as the hard limit lets us. */
static void raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int cmd_gofer(int argc, char **argv)
{
    const char *root = NULL, *v;
    static char *tree_paths[GOFER_MAX_TREES];
    static struct gofer_tree trees[GOFER_MAX_TREES];
    unsigned ntrees = 0;
    bool readonly = false;
    int sock_fd = -1, type = 0, err;
    socklen_t type_len = sizeof(type);
    char why[PATH_MAX + 64];

    for (int i = 1; i < argc; i++) {
        if ((v = flag_value(argv[i], "--root"))) {
            root = v;
        } else if ((v = flag_value(argv[i], "--sock-fd"))) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*v == '\0' || *end != '\0' || n < 0 || n > 65535) {
                fprintf(stderr, "runsc: gofer: invalid --sock-fd: %s\n", v);
                return EXIT_USAGE;
            }
            sock_fd = (int)n;
        } else if ((v = flag_value(argv[i], "--mount"))) {
            bool ro = strncmp(v, "ro:", 3) == 0;
            if ((!ro && strncmp(v, "rw:", 3) != 0) || !v[3] || ntrees == GOFER_MAX_TREES) {
                fprintf(stderr, "runsc: gofer: invalid --mount (ro:PATH or rw:PATH): %s\n", v);
                return EXIT_USAGE;
            }
            trees[ntrees].readonly = ro;
            tree_paths[ntrees++] = argv[i] + strlen("--mount=ro:");
        } else if (strcmp(argv[i], "--readonly") == 0) {
            readonly = true;
        } else {
            fprintf(stderr, "runsc: gofer: unknown flag: %s\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!root || sock_fd < 0) {
        fprintf(stderr, "runsc: gofer is started by `runsc do` with --root and --sock-fd, not "
                        "by hand\n");
        return EXIT_USAGE;
    }
    if (getsockopt(sock_fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0)
        return gofer_fail("--sock-fd", -errno);
    if (type != SOCK_SEQPACKET)
        return gofer_fail("--sock-fd is not a SOCK_SEQPACKET socket", -EINVAL);
    if (fcntl(sock_fd, F_SETFD, FD_CLOEXEC) != 0)
        return gofer_fail("--sock-fd", -errno);
    /* A name to tell it from the sandbox by in ps and /proc. */
    prctl(PR_SET_NAME, "runsc-gofer", 0, 0, 0);
    if ((err = isolate_fds(sock_fd)) != 0)
        return gofer_fail("redirect stdin and stdout to /dev/null", err);
    raise_fd_limit();
    if ((err = open_trees(tree_paths, trees, ntrees, why, sizeof(why))) != 0)
        return gofer_fail(why, err);

    struct gofer_config cfg = {.readonly = readonly, .trees = trees, .ntrees = ntrees};
    if ((err = gofer_confine(root, readonly, &cfg.root_fd, &cfg.proc_fd_dir, why, sizeof(why))) !=
        0)
        return gofer_fail(why, err);
    struct gofer *g;
    if ((err = gofer_create(&cfg, &g)) != 0)
        return gofer_fail("create the server", err);
    if ((err = gofer_install_seccomp()) != 0) {
        gofer_destroy(g);
        return gofer_fail("install the seccomp filter", err);
    }
    err = gofer_serve(g, sock_fd);
    gofer_destroy(g);
    if (err != 0)
        return gofer_fail("serve", err);
    return 0;
}
