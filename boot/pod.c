/* CreateContainer on the control socket (DESIGN.md §1, §8): a further container of the pod is
 * built inside the running sandbox, after its seccomp filter is in place: its tree comes from
 * its own gofer over the 9P socket the request carries, its first process is loaded from its
 * spec and waits for StartContainer. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "boot/boot.h"
#include "runsc/oci/oci.h"
#include "sentry/kernel/kernel.h"
#include "sentry/vfs/vfs.h"

static void close_fds(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        fds[i] = -1;
    }
}

static bool same_map(const struct userns_map *a, const struct userns_map *b)
{
    return a->n == b->n && memcmp(a->extents, b->extents, a->n * sizeof(a->extents[0])) == 0;
}

static int check_same_userns(const struct kernel *k, const struct oci_spec *spec, char *err,
                             size_t errlen)
{
    struct userns_map *maps = malloc(2 * sizeof(*maps));
    if (!maps)
        return -ENOMEM;
    int ret = oci_spec_id_maps(spec, &maps[0], &maps[1], err, errlen);
    if (ret == 0 && !same_map(&maps[0], &k->cfg.uid_map)) {
        snprintf(err, errlen,
                 "linux.uidMappings: a pod member shares the sandbox's user "
                 "namespace and must name its mappings");
        ret = -EINVAL;
    } else if (ret == 0 && !same_map(&maps[1], &k->cfg.gid_map)) {
        snprintf(err, errlen,
                 "linux.gidMappings: a pod member shares the sandbox's user "
                 "namespace and must name its mappings");
        ret = -EINVAL;
    }
    free(maps);
    return ret;
}

int boot_pod_create_container(struct kernel *k, const struct boot_pod_request *r, char *why,
                              size_t whylen)
{
    struct oci_spec *spec = NULL;
    struct fs_context *fs = NULL;
    struct seccomp_filter *filter = NULL;
    int stdio[3] = {r->stdio[0], r->stdio[1], r->stdio[2]};
    int gofer_fd = r->gofer_fd, console_fd = r->console_fd;
    char err_text[512];
    int err;

    if (!r->id || !r->id[0]) {
        snprintf(why, whylen, "create container: no container id");
        err = -EINVAL;
        goto out_fds;
    }
    if (gofer_fd < 0) {
        snprintf(why, whylen, "create container %s: no gofer socket", r->id);
        err = -EINVAL;
        goto out_fds;
    }
    if ((err = oci_spec_parse(r->spec_json ? r->spec_json : "", NULL, &spec, err_text,
                              sizeof(err_text))) != 0) {
        snprintf(why, whylen, "create container %s: %s", r->id, err_text);
        goto out_fds;
    }
    /* The pod shares the sandbox's one user namespace: a member naming other mappings would
     * see its files through the wrong ones. */
    if ((err = check_same_userns(k, spec, err_text, sizeof(err_text))) != 0) {
        snprintf(why, whylen, "create container %s: %s", r->id, err_text);
        goto out_spec;
    }
    /* The member's whole tree from its own spec, as the root container's (ownership of gofer_fd
     * passes). */
    err = boot_build_container_fs(spec, gofer_fd, k->cfg.memfile, k, &fs);
    gofer_fd = -1;
    if (err) {
        snprintf(why, whylen, "create container %s: build its filesystem tree: %s", r->id,
                 strerror(-err));
        goto out_spec;
    }
    if (r->seccomp_prog && (err = seccomp_filter_create(r->seccomp_prog, r->seccomp_len,
                                                        r->seccomp_log, &filter)) != 0) {
        snprintf(why, whylen,
                 "create container %s: linux.seccomp: the compiled program is refused: %s", r->id,
                 strerror(-err));
        goto out_fs;
    } else if (!r->seccomp_prog && spec->seccomp_json) {
        /* The sandbox can't compile it now: the CLI must have. */
        snprintf(why, whylen, "create container %s: linux.seccomp came uncompiled", r->id);
        err = -EINVAL;
        goto out_fs;
    }
    struct kernel_exec e = {
        .argv = spec->process.args,
        .envp = spec->process.env,
        .cwd = spec->process.cwd,
        .uid = spec->process.user.uid,
        .gid = spec->process.user.gid,
        .groups = spec->process.user.additional_gids,
        .ngroups = (int)spec->process.user.n_additional_gids,
        .stdio_fds = {stdio[0], stdio[1], stdio[2]},
        .fs = fs,
        .seccomp = filter,
    };
    /* Its own process settings, read as the root container's are: capabilities (none if it
     * names none), noNewPrivileges, rlimits, oomScoreAdj and the umask (into fs). */
    struct init_rlimit rlimits[RLIM_NLIMITS];
    struct init_process settings = {.fs = fs};
    boot_spec_init_settings(spec, &settings, rlimits);
    e.has_caps = settings.has_caps;
    e.caps = settings.caps;
    e.no_new_privs = settings.no_new_privs;
    e.rlimits = settings.rlimits;
    e.n_rlimits = settings.n_rlimits;
    e.oom_score_adj = settings.oom_score_adj;
    stdio[0] = stdio[1] = stdio[2] = -1; /* the kernel's from the call on */
    /* process.terminal: a sentry pty bridged to the donated host terminal, the controlling
     * terminal of the member's session (as runsc exec -t's). */
    struct exec_console *ec = NULL;
    if (console_fd >= 0) {
        close_fds(e.stdio_fds, 3);
        err = boot_exec_console_attach(k, console_fd, e.uid, &e, &ec);
        console_fd = -1;
        if (err) {
            snprintf(why, whylen, "create container %s: the terminal: %s", r->id, strerror(-err));
            goto out_fs;
        }
    }
    char load_why[256] = "";
    int pid = kernel_container_create(k, r->id, &e, load_why, sizeof(load_why));
    if (ec && pid > 0)
        boot_exec_console_started(ec, pid);
    else if (ec)
        boot_exec_console_abandon(ec);
    if (pid < 0) {
        err = pid;
        if (err == -EEXIST)
            snprintf(why, whylen, "%s", load_why);
        else
            snprintf(why, whylen, "exec: \"%s\": %s", spec->process.args[0], load_why);
        goto out_fs;
    }
    err = pid;
out_fs:
    seccomp_filter_put(filter);
    fs_context_put(fs);
out_spec:
    oci_spec_free(spec);
out_fds:
    if (gofer_fd >= 0)
        close(gofer_fd);
    if (console_fd >= 0)
        close(console_fd);
    close_fds(stdio, 3);
    return err;
}
