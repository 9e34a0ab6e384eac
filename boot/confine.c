/* Confining the sandbox process: an empty read-only root (but for a read-only /proc of its own
 * pid namespace) and no capabilities. The namespaces themselves are made by the CLI when it
 * starts this process. */
#include <errno.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "boot/boot.h"
#include "lib/log.h"

/* Directories that exist on any host, to mount the new empty root over. */
static const char *const root_mountpoints[] = {"/tmp", "/mnt", "/run", "/var/tmp"};

/* Mounts, at proc in the new root (the cwd), a read-only procfs of the sandbox's own pid
 * namespace: it lists only the sandbox, its stub factory and its stubs (which show their
 * guests' names and argv), which is what `podman top` reads after joining this mount
 * namespace (psgo: setns to /proc/PID/ns/mnt, then /proc, /proc/PID/{stat,status,cmdline} and
 * /proc/stat). Mounted before the host's root goes: a procfs mount needs a fully visible one in
 * the namespace when it is made in a user namespace (fs/namespace.c: mount_too_revealing).
 * Best effort: without it, the sandbox works and only `podman top` fails. */
static void root_mount_proc(void)
{
    if (mkdir("proc", 0555) != 0) {
        log_warning("no /proc in the sandbox (podman top will fail): mkdir: %s", strerror(errno));
        return;
    }
    if (mount("proc", "proc", "proc", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
        log_warning("no /proc in the sandbox (podman top will fail): mount: %s", strerror(errno));
}

int boot_enter_empty_root(void)
{
    const char *dir = NULL;
    struct stat st;

    /* Nothing we mount may propagate back to the host's namespace. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return -errno;
    for (size_t i = 0; i < sizeof(root_mountpoints) / sizeof(root_mountpoints[0]); i++) {
        if (stat(root_mountpoints[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            dir = root_mountpoints[i];
            break;
        }
    }
    if (!dir)
        return -ENOENT;
    if (mount("runsc-root", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555") !=
        0)
        return -errno;
    if (chdir(dir) != 0)
        return -errno;
    root_mount_proc();
    /* pivot_root(".", ".") stacks the old root on the new one; detaching it leaves only the
     * empty tmpfs (pivot_root(2), NOTES). */
    if (syscall(SYS_pivot_root, ".", ".") != 0)
        return -errno;
    if (umount2(".", MNT_DETACH) != 0)
        return -errno;
    if (chdir("/") != 0)
        return -errno;
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              NULL) != 0)
        return -errno;
    return 0;
}

int boot_set_hostname(const char *hostname)
{
    return sethostname(hostname, strlen(hostname)) == 0 ? 0 : -errno;
}

int boot_drop_capabilities(void)
{
    /* The bounding set first: dropping from it needs CAP_SETPCAP, which goes with the rest. */
    for (cap_value_t cap = 0; cap <= CAP_LAST_CAP; cap++) {
        if (CAP_IS_SUPPORTED(cap) && cap_drop_bound(cap) != 0 && errno != EINVAL)
            return -errno;
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        return -errno;
    cap_t none = cap_init();
    if (!none)
        return -ENOMEM;
    int err = cap_set_proc(none) == 0 ? 0 : -errno;
    cap_free(none);
    if (err)
        return err;
    /* seccomp without CAP_SYS_ADMIN needs no_new_privs; it also keeps any exec from gaining. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -errno;
    return 0;
}
