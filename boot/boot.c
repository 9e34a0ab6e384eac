/* `runsc boot`: the sandbox process. It runs as pid 1 of the namespaces the CLI made, and in
 * this order: memory file, empty root, hostname, capabilities dropped, platform (which forks the
 * stub factory, so before any thread), seccomp, then the kernel and its first process. */
#include "boot/boot.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include "platform/platform.h"
#include "runsc/oci/oci.h"
#include "sentry/fs/host/host.h"
#include "sentry/vfs/vfs.h"
#include "sentry/kernel/kernel.h"
#include "sentry/memfile/memfile.h"
#include "sentry/syscalls/syscalls.h"

/* SIGTERM is forwarded, and if the guest still runs after this long it is killed, as container
 * engines stop containers. */
#define TERM_GRACE_SECONDS 10
/* How long clients waiting for init's status get to read it once init is gone. */
#define DRAIN_TIMEOUT_MS 2000

/* Host signals runsc passes on to the guest's init. */
static const int forwarded_signals[] = {SIGINT,  SIGTERM, SIGHUP,   SIGQUIT, SIGUSR1,
                                        SIGUSR2, SIGCONT, SIGWINCH, SIGALRM};

static void forwarded_set(sigset_t *set)
{
    sigemptyset(set);
    for (size_t i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
        sigaddset(set, forwarded_signals[i]);
}

/* What the signal thread needs; lives until the process exits, as that thread does. */
struct forwarder {
    struct kernel *k;
    struct boot_console *console; /* or NULL */
};

/* Waits for host signals and hands them to the kernel; runs until the process exits. */
static void *signal_forwarder(void *arg)
{
    const struct forwarder *fwd = arg;
    struct kernel *k = fwd->k;
    sigset_t set;
    siginfo_t info;
    struct timespec grace = {TERM_GRACE_SECONDS, 0};
    bool terminating = false;

    forwarded_set(&set);
    for (;;) {
        int sig = terminating ? sigtimedwait(&set, &info, &grace) : sigwaitinfo(&set, &info);
        if (sig < 0) {
            if (errno == EAGAIN && terminating) {
                log_warning("guest still running %d s after SIGTERM: killing it",
                            TERM_GRACE_SECONDS);
                kernel_signal_init_from_host(k, SIGKILL);
                terminating = false;
            }
            continue;
        }
        /* On a console the size reaches the guest as on a terminal: the pty's new size and
         * SIGWINCH to its foreground group (tty_do_resize), not a signal to init. */
        if (sig == SIGWINCH && fwd->console) {
            boot_console_resize(fwd->console);
            continue;
        }
        log_debug("forwarding host signal %d to the guest", sig);
        kernel_signal_init_from_host(k, sig);
        if (sig == SIGTERM)
            terminating = true;
    }
    return NULL;
}

/* Size of the memory file: the machine's RAM, which bounds what the guest can really use. */
static uint64_t memfile_size_for_host(void)
{
    struct sysinfo si;
    uint64_t size = 8ULL << 30;

    if (sysinfo(&si) == 0 && si.totalram)
        size = (uint64_t)si.totalram * si.mem_unit;
    return size & ~(MEMFILE_PAGE_SIZE - 1);
}

static int exit_code_for_status(int status)
{
    if (WIFSIGNALED(status) || (status & 0x7f))
        return 128 + (status & 0x7f);
    return WEXITSTATUS(status);
}

/* Container mode's one line on the ready pipe: "ok", or "err CODE exec: "PATH": WHY" (or
 * "err 1 sandbox setup failed" for a failure before init's load, whose reason is in the log);
 * the pipe is closed after it. Written once (boot_run's thread only). */
static bool ready_reported;

static void report_ready(const struct boot_config *cfg, int code, const char *path, const char *why)
{
    char line[512];
    int n;

    if (cfg->ready_fd < 0 || ready_reported)
        return;
    ready_reported = true;
    if (code == 0)
        n = snprintf(line, sizeof(line), "ok\n");
    else if (!path)
        n = snprintf(line, sizeof(line), "err %d %s\n", code, why);
    else
        n = snprintf(line, sizeof(line), "err %d exec: \"%s\": %s\n", code, path, why);
    if (n >= (int)sizeof(line)) {
        n = (int)sizeof(line);
        line[n - 1] = '\n';
    }
    if (write(cfg->ready_fd, line, (size_t)n) != n)
        log_warning("ready pipe: the CLI is gone");
    close(cfg->ready_fd);
}

static int fail(const char *what, int err)
{
    log_error("%s: %s", what, strerror(-err));
    return 1;
}

/* The spec's linux.seccomp as the sentry's filter for init: 0, or 1 after reporting why. */
static int compile_guest_seccomp(const struct boot_config *cfg, struct seccomp_filter **out)
{
    struct sock_filter *prog;
    unsigned len;
    bool log;
    char why[256], line[300];

    if (boot_seccomp_compile(cfg->seccomp_json, &prog, &len, &log, why, sizeof(why)) != 0) {
        snprintf(line, sizeof(line), "linux.seccomp: %s", why);
        log_error("%s", line);
        report_ready(cfg, 1, NULL, line);
        return 1;
    }
    int err = seccomp_filter_create(prog, len, log, out);
    free(prog);
    if (err) {
        log_error("linux.seccomp: the compiled program is refused: %s", strerror(-err));
        report_ready(cfg, 1, NULL, "linux.seccomp: the compiled program is refused");
        return 1;
    }
    log_debug("linux.seccomp: a guest filter of %u instructions", len);
    return 0;
}

int boot_run(const struct boot_config *cfg)
{
    static struct forwarder forwarder_arg;
    struct memfile *mf = NULL;
    struct platform *platform = NULL;
    struct kernel *k = NULL;
    struct boot_console *console = NULL;
    struct file *console_slave = NULL;
    struct control_server *server = NULL;
    struct seccomp_filter *guest_seccomp = NULL;
    sigset_t fwd;
    int err, code = 1;

    log_init(cfg->log_fd, cfg->log_level, "runsc");
    /* Block forwarded signals before any thread exists so every thread inherits the mask and
     * only the forwarder takes them. */
    forwarded_set(&fwd);
    pthread_sigmask(SIG_BLOCK, &fwd, NULL);
    signal(SIGPIPE, SIG_IGN); /* the guest gets EPIPE and its own SIGPIPE */

    /* The guest starts with the caller's supplementary groups, as a process it ran would (read
     * before the seccomp filter, which doesn't allow getgroups). */
    gid_t groups[CREDS_MAX_GROUPS];
    int ngroups = getgroups(CREDS_MAX_GROUPS, groups);
    if (ngroups < 0)
        ngroups = 0;
    /* A container's process has the spec's additionalGids and no others (as runc sets). */
    if (cfg->spec) {
        const struct oci_user *u = &cfg->spec->process.user;
        ngroups = 0;
        for (size_t i = 0; i < u->n_additional_gids && ngroups < CREDS_MAX_GROUPS; i++)
            groups[ngroups++] = u->additional_gids[i];
    }
    /* The CLI checked the executable through this fd; the guest's comes through the gofer. */
    if (cfg->exec_fd >= 0)
        close(cfg->exec_fd);
    if ((err = memfile_create(memfile_size_for_host(), &mf)) != 0)
        return fail("create the memory file", err);
    if (cfg->memory_limit > 0) {
        /* The memory cgroup rounds its limit down to whole pages too (page_counter). */
        uint64_t limit = (uint64_t)cfg->memory_limit & ~(MEMFILE_PAGE_SIZE - 1);
        memfile_set_limit(mf, limit ? limit : MEMFILE_PAGE_SIZE);
    }
    if ((err = boot_enter_empty_root()) != 0) {
        code = fail("enter an empty root", err);
        goto out;
    }
    if ((err = boot_set_hostname(cfg->hostname)) != 0) {
        code = fail("set the hostname", err);
        goto out;
    }
    if ((err = boot_drop_capabilities()) != 0) {
        code = fail("drop capabilities", err);
        goto out;
    }
    struct platform_config pcfg = {.memfile_fd = memfile_fd(mf)};
    if ((err = platform_create(cfg->platform, &pcfg, &platform)) != 0) {
        code = fail(err == -ENOENT ? "unknown platform" : "start the platform", err);
        goto out;
    }
    struct fs_context *fs = NULL;
    /* A container's tree is built once the kernel exists (its /proc), under the filter. */
    if (!cfg->spec && (err = boot_build_rootfs(cfg->gofer_fd, mf, &fs)) != 0) {
        code = fail("mount the root filesystem from the gofer", err);
        goto out;
    }
    if (cfg->console_fd >= 0 && (err = boot_console_open(cfg->console_fd, &console)) != 0) {
        code = fail("set up the console", err);
        goto out;
    }
    /* The guest's filter is compiled by libseccomp here, while the sandbox may still do what
     * that needs; the kernel installs it on init. */
    if (cfg->seccomp_json && (code = compile_guest_seccomp(cfg, &guest_seccomp)) != 0)
        goto out;
    code = 1;
    if ((err = boot_install_sentry_seccomp()) != 0) {
        code = fail("install the sandbox's seccomp filter", err);
        goto out;
    }
    syscall_set_strace(cfg->strace);
    struct kernel_config kcfg = {
        .groups = groups,
        .ngroups = ngroups,
        .platform = platform,
        .memfile = mf,
        .syscall_dispatch = syscall_dispatch,
        .hostname = cfg->hostname,
        .domainname = cfg->spec ? cfg->spec->domainname : NULL,
        .uid = cfg->uid,
        .gid = cfg->gid,
        .max_tasks = cfg->pids_limit > 0 && cfg->pids_limit < INT32_MAX ? (int)cfg->pids_limit : 0,
    };
    char map_why[256];
    if (cfg->spec &&
        oci_spec_id_maps(cfg->spec, &kcfg.uid_map, &kcfg.gid_map, map_why, sizeof(map_why))) {
        /* runsc create checked the same: only a spec changed behind its back gets here. */
        log_error("%s", map_why);
        code = fail("the user namespace's mappings", -EINVAL);
        goto out;
    }
    if ((err = kernel_create(&kcfg, &k)) != 0) {
        code = fail("create the kernel", err);
        goto out;
    }
    /* Before anything runs in the container (boot_spec_check_sysctl vetted them already). */
    char sysctl_why[256];
    if (cfg->spec &&
        (err = boot_spec_apply_sysctl(cfg->spec, &k->sysctl, sysctl_why, sizeof(sysctl_why)))) {
        code = fail(sysctl_why, err);
        goto out;
    }
    if (cfg->spec && (err = boot_build_container_fs(cfg->spec, cfg->gofer_fd, mf, k, &fs)) != 0) {
        code = fail("build the container's filesystem tree", err);
        goto out;
    }
    if (!cfg->spec && (err = boot_mount_kernel_fs(fs, k, (unsigned)get_nprocs())) != 0) {
        code = fail("mount /proc and /sys", err);
        goto out;
    }
    /* init is pid 1: the leader of session 1 and of group 1 (kernel_start_init). */
    if (console && (err = boot_console_start(console, k, cfg->uid, 1, &console_slave)) != 0) {
        code = fail("create the console's pty", err);
        goto out;
    }
    forwarder_arg = (struct forwarder){.k = k, .console = console};
    pthread_t forwarder;
    if ((err = pthread_create(&forwarder, NULL, signal_forwarder, &forwarder_arg)) != 0) {
        code = fail("start the signal forwarder", -err);
        goto out;
    }
    pthread_detach(forwarder);

    struct init_process init = {
        .fs = fs,
        .path = cfg->exec_path,
        .argv = cfg->argv,
        .envp = cfg->envp,
        .cwd = cfg->cwd,
        .stdio_fds = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO},
        .seccomp = guest_seccomp,
    };
    guest_seccomp = NULL; /* the kernel's now */
    struct init_rlimit rlimits[RLIM_NLIMITS];
    if (cfg->spec)
        boot_spec_init_settings(cfg->spec, &init, rlimits);
    for (int fd = 0; fd < 3 && console_slave; fd++) {
        if (cfg->console_stdio & (1u << fd)) {
            init.stdio_files[fd] = console_slave;
            init.stdio_fds[fd] = -1; /* stays the sandbox's own */
        }
    }
    char why[256];
    err = cfg->container_mode ? kernel_load_init(k, &init, why, sizeof(why))
                              : kernel_start_init(k, &init, why, sizeof(why));
    /* init's fds hold the slave now; the bridge holds the master. */
    if (console_slave)
        file_put(console_slave);
    console_slave = NULL;
    if (err) {
        /* As a shell reports a failed exec: 126 for a file that can't be executed. */
        log_error("exec %s: %s", cfg->exec_path, why);
        code = err == -ENOENT ? 127 : 126;
        report_ready(cfg, code, cfg->exec_path, why);
        goto out;
    }
    if (cfg->control_fd >= 0 && (err = control_server_start(k, cfg->control_fd, &server)) != 0) {
        code = fail("serve the control socket", err);
        report_ready(cfg, code, NULL, "cannot serve the control socket");
        goto out;
    }
    report_ready(cfg, 0, NULL, NULL);
    int status = kernel_wait_init(k);
    if (console)
        boot_console_stop(console);
    code = exit_code_for_status(status);
    log_debug("init exited with status %#x: exit code %d", status, code);
    /* Clients waiting for init get their answer before the sandbox goes. */
    control_server_drain(server, DRAIN_TIMEOUT_MS);
    if (cfg->strace) {
        char line[64];
        int n = WIFSIGNALED(status) || (status & 0x7f)
                    ? snprintf(line, sizeof(line), "+++ killed by SIG%s +++\n",
                               sigabbrev_np(status & 0x7f) ? sigabbrev_np(status & 0x7f) : "?")
                    : snprintf(line, sizeof(line), "+++ exited with %d +++\n", code);
        log_write_raw(line, n);
    }
out:
    seccomp_filter_put(guest_seccomp);
    if (console_slave)
        file_put(console_slave);
    if (console)
        boot_console_stop(console); /* again after a normal exit: a no-op */
    report_ready(cfg, code ? code : 1, NULL, "sandbox setup failed (see the log)");
    /* The process exits right after: the forwarder thread and the kernel go with it. */
    if (platform)
        platform_destroy(platform);
    return code;
}
