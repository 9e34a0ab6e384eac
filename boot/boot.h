/* The sandbox process (`runsc boot`): confines itself, creates the memory file, the platform and
 * the kernel, runs the container's first process and exits with its status. */
#ifndef RUNSC_BOOT_BOOT_H
#define RUNSC_BOOT_BOOT_H

#include <stdbool.h>
#include <sys/types.h>

#include "lib/log.h"

struct boot_config {
    const char *platform;    /* "ptrace" */
    bool strace;
    enum log_level log_level;
    int log_fd;              /* owned: where the sandbox logs */
    int exec_fd;             /* owned: the executable, opened read-only by the CLI */
    int gofer_fd;            /* owned: the 9P socket to the gofer */
    const char *exec_path;   /* its path as the guest sees it */
    char *const *argv;
    char *const *envp;
    const char *cwd;
    const char *hostname;
    uid_t uid;               /* the guest's credentials */
    gid_t gid;
};

/* Runs the sandbox; returns the exit code for `runsc boot` (the guest's status, 128+N for a
 * signal, or 126/127/1 for failures to start, after printing why). */
int boot_run(const struct boot_config *cfg);

/* Confinement steps (confine.c, seccomp.c). Each returns 0 or -errno. */
int boot_enter_empty_root(void);
int boot_set_hostname(const char *hostname);
int boot_drop_capabilities(void);
int boot_install_sentry_seccomp(void);

struct fs_context;
struct memfile;
/* Builds the guest's filesystem tree over the gofer connection (ownership of gofer_fd passes);
 * in-memory files keep their data in `mf`. */
int boot_build_rootfs(int gofer_fd, struct memfile *mf, struct fs_context **out);
struct kernel;
/* Mounts the filesystems that show the kernel's state: /proc and /sys. */
int boot_mount_kernel_fs(struct fs_context *fs, struct kernel *k, unsigned ncpus);

#endif
