/* The OCI commands' entry: dispatch, the parts they share (loading a container, signal names)
 * and `checkpoint`, which Podman probes with --help before it offers it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "runsc/oci_cli.h"

static int oci_cmd_checkpoint(const struct global_flags *g, int argc, char **argv)
{
    const char *image_path = NULL, *work_path = NULL, *parent_path = NULL, *page_server = NULL;
    const char *manage_cgroups = NULL;
    bool leave_running = false, tcp = false, ext_unix = false, shell_job = false, lazy = false;
    bool file_locks = false, pre_dump = false, auto_dedup = false;
    struct oci_str_list empty_ns = {0};
    const struct oci_flag flags[] = {
        {"image-path", 0, OCI_FLAG_STRING, &image_path, "path for saving criu image files"},
        {"work-path", 0, OCI_FLAG_STRING, &work_path, "path for saving work files and logs"},
        {"parent-path", 0, OCI_FLAG_STRING, &parent_path, "path for previous criu image files"},
        {"leave-running", 0, OCI_FLAG_BOOL, &leave_running, "leave the process running"},
        {"tcp-established", 0, OCI_FLAG_BOOL, &tcp, "allow open tcp connections"},
        {"ext-unix-sk", 0, OCI_FLAG_BOOL, &ext_unix, "allow external unix sockets"},
        {"shell-job", 0, OCI_FLAG_BOOL, &shell_job, "allow shell jobs"},
        {"lazy-pages", 0, OCI_FLAG_BOOL, &lazy, "use userfaultfd to lazily restore memory"},
        {"file-locks", 0, OCI_FLAG_BOOL, &file_locks, "handle file locks"},
        {"pre-dump", 0, OCI_FLAG_BOOL, &pre_dump, "dump memory only, leave the container running"},
        {"page-server", 0, OCI_FLAG_STRING, &page_server, "ADDRESS:PORT of the page server"},
        {"manage-cgroups-mode", 0, OCI_FLAG_STRING, &manage_cgroups, "cgroups mode"},
        {"empty-ns", 0, OCI_FLAG_LIST, &empty_ns, "namespaces to leave empty"},
        {"auto-dedup", 0, OCI_FLAG_BOOL, &auto_dedup, "deduplicate the images"},
    };
    const struct oci_command cmd = {"checkpoint", "<container-id>", "checkpoint a running container",
                                    flags, sizeof(flags) / sizeof(flags[0]), 1, 1};
    int first, r = oci_parse_flags(&cmd, argc, argv, &first);
    if (r != 0)
        return r > 0 ? 0 : 1;
    oci_errorf("checkpoint is not supported yet by runsc");
    return 1;
}

struct oci_entry {
    const char *name;
    int (*run)(const struct global_flags *g, int argc, char **argv);
};

static const struct oci_entry commands[] = {
    {"create", oci_cmd_create}, {"start", oci_cmd_start},   {"run", oci_cmd_run},
    {"state", oci_cmd_state},   {"kill", oci_cmd_kill},     {"delete", oci_cmd_delete},
    {"list", oci_cmd_list},     {"ps", oci_cmd_ps},         {"exec", oci_cmd_exec},
    {"events", oci_cmd_events}, {"pause", oci_cmd_pause},   {"resume", oci_cmd_resume},
    {"checkpoint", oci_cmd_checkpoint},
};

bool cmd_is_oci(const char *cmd)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(commands[i].name, cmd) == 0)
            return true;
    }
    return false;
}

int cmd_oci(const struct global_flags *g, const char *cmd, int argc, char **argv)
{
    oci_log_setup(g);
    /* A sandbox or hook that goes away mid-write is an error to report, not a reason to die. */
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(commands[i].name, cmd) == 0)
            return commands[i].run(g, argc, argv);
    }
    return 1;
}

int oci_load_container(const struct global_flags *g, const char *id, int *dir_fd,
                       struct container_state *st)
{
    int err;

    if (!state_id_valid(id)) {
        oci_errorf("invalid container ID format");
        return -1;
    }
    if ((err = state_open_dir(g->root, id, dir_fd)) != 0) {
        if (err == -ENOENT || err == -ENOTDIR)
            oci_errorf("container does not exist");
        else
            oci_errorf("open the state of %s: %s", id, strerror(-err));
        return -1;
    }
    if ((err = state_read(*dir_fd, st)) != 0) {
        close(*dir_fd);
        if (err == -ENOENT)
            oci_errorf("container does not exist");
        else
            oci_errorf("read the state of %s: %s", id, strerror(-err));
        return -1;
    }
    return 0;
}

/* Names x/sys/unix knows besides the kernel's own abbreviations. */
static const struct {
    const char *name;
    int sig;
} signal_aliases[] = {{"CLD", SIGCHLD}, {"IOT", SIGABRT}, {"POLL", SIGIO}, {"UNUSED", SIGSYS}};

int oci_parse_signal(const char *text)
{
    char *end;
    long n = strtol(text, &end, 10);

    if (*text && *end == '\0')
        return n < 0 || n > 64 ? -EINVAL : (int)n;
    const char *name = strncasecmp(text, "SIG", 3) == 0 ? text + 3 : text;
    for (int sig = 1; sig < 32; sig++) {
        const char *abbrev = sigabbrev_np(sig);
        if (abbrev && strcasecmp(abbrev, name) == 0)
            return sig;
    }
    for (size_t i = 0; i < sizeof(signal_aliases) / sizeof(signal_aliases[0]); i++) {
        if (strcasecmp(signal_aliases[i].name, name) == 0)
            return signal_aliases[i].sig;
    }
    return -EINVAL;
}
