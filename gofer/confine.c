/* The gofer's confinement: it sees only the tree it serves (pivot_root into it, in a mount
 * namespace of its own), keeps only the capabilities file serving needs, and can gain none. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gofer/gofer.h"

/* What serving needs: reading and writing any file of the tree whatever its mode, changing
 * owners and modes, and making device nodes the container asks for. */
static const cap_value_t kept_caps[] = {CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH,
                                        CAP_FOWNER, CAP_FSETID,       CAP_MKNOD};

/* Formats the failed step into why and returns err. */
__attribute__((format(printf, 4, 5))) static int failed(char *why, size_t size, int err,
                                                        const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
    return err;
}

static int write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, text, strlen(text));
    int err = n == (ssize_t)strlen(text) ? 0 : n < 0 ? -errno : -EIO;
    close(fd);
    return err;
}

/* A user namespace in which the caller is root (user_namespaces(7): a process may map its own
 * ids once setgroups is denied), so that it may make mounts; with a mount namespace owned by it. */
static int enter_user_namespace(uid_t uid, gid_t gid)
{
    char map[64];
    int err;

    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
        return -errno;
    snprintf(map, sizeof(map), "0 %u 1\n", uid);
    if ((err = write_text("/proc/self/uid_map", map)) != 0)
        return err;
    if ((err = write_text("/proc/self/setgroups", "deny")) != 0)
        return err;
    snprintf(map, sizeof(map), "0 %u 1\n", gid);
    return write_text("/proc/self/gid_map", map);
}

/* Remounts "/" read-only, keeping the flags a less privileged mount namespace may not clear
 * (mount(2), EPERM for locked flags). */
static int remount_root_readonly(void)
{
    static const struct {
        unsigned long st, ms;
    } kept[] = {{ST_NOSUID, MS_NOSUID},         {ST_NODEV, MS_NODEV},
                {ST_NOEXEC, MS_NOEXEC},         {ST_NOATIME, MS_NOATIME},
                {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME}};
    unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY;
    struct statvfs sv;

    if (statvfs("/", &sv) != 0)
        return -errno;
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        if (sv.f_flag & kept[i].st)
            flags |= kept[i].ms;
    }
    return mount(NULL, "/", NULL, flags, NULL) == 0 ? 0 : -errno;
}

/* Binds root onto itself and makes it the process's "/", with nothing else reachable. */
static int pivot_into(const char *root)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return -errno;
    if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) != 0)
        return -errno;
    /* A lookup of root's path ends on the bind just made, except for "/": a lookup starts at
     * the process's root, below the bind, and only ".." from there climbs onto the mounts
     * stacked on it (path_resolution(7)). */
    if (chdir(strcmp(root, "/") == 0 ? "/.." : root) != 0)
        return -errno;
    /* pivot_root(".", ".") stacks the old root on the new one; detaching it leaves only the
     * served tree (pivot_root(2), NOTES). */
    if (syscall(SYS_pivot_root, ".", ".") != 0)
        return -errno;
    if (umount2(".", MNT_DETACH) != 0)
        return -errno;
    return chdir("/") == 0 ? 0 : -errno;
}

static int drop_capabilities(void)
{
    cap_value_t cap;
    int err = 0;

    /* The bounding set first: dropping from it needs CAP_SETPCAP, which goes with the rest. */
    for (cap = 0; cap <= CAP_LAST_CAP; cap++) {
        bool keep = false;
        for (size_t i = 0; i < sizeof(kept_caps) / sizeof(kept_caps[0]); i++)
            keep |= kept_caps[i] == cap;
        if (!keep && CAP_IS_SUPPORTED(cap) && cap_drop_bound(cap) != 0 && errno != EINVAL)
            return -errno;
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        return -errno;
    cap_t caps = cap_init();
    if (!caps)
        return -ENOMEM;
    int n = (int)(sizeof(kept_caps) / sizeof(kept_caps[0]));
    if (cap_set_flag(caps, CAP_PERMITTED, n, kept_caps, CAP_SET) != 0 ||
        cap_set_flag(caps, CAP_EFFECTIVE, n, kept_caps, CAP_SET) != 0 || cap_set_proc(caps) != 0)
        err = -errno;
    cap_free(caps);
    return err;
}

int gofer_confine(const char *root, bool readonly, int *root_fd, int *proc_fd_dir, char *why,
                  size_t why_size)
{
    char real[PATH_MAX];
    int err, fd, proc_fd, new_root;

    /* Resolved once, by the host's rules: --root is the runtime's, not the container's. */
    if (!realpath(root, real))
        return failed(why, why_size, -errno, "resolve the root %s", root);
    fd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return failed(why, why_size, -errno, "open the root %s", real);
    /* Kept across pivot_root: reopening an O_PATH fd goes through its /proc/self/fd entry. */
    proc_fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (proc_fd < 0) {
        err = failed(why, why_size, -errno, "open /proc/self/fd");
        goto out_root;
    }
    if (geteuid() != 0) {
        if ((err = enter_user_namespace(geteuid(), getegid())) != 0) {
            failed(why, why_size, err, "enter a user namespace");
            goto out_proc;
        }
    } else if (unshare(CLONE_NEWNS) != 0) {
        err = failed(why, why_size, -errno, "enter a mount namespace");
        goto out_proc;
    }
    if ((err = pivot_into(real)) != 0) {
        failed(why, why_size, err, "pivot_root into %s", real);
        goto out_proc;
    }
    if (readonly && (err = remount_root_readonly()) != 0) {
        failed(why, why_size, err, "make the root read-only");
        goto out_proc;
    }
    new_root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (new_root < 0) {
        err = failed(why, why_size, -errno, "open the new root");
        goto out_proc;
    }
    if ((err = drop_capabilities()) != 0) {
        failed(why, why_size, err, "drop capabilities");
        goto out_new_root;
    }
    /* seccomp without CAP_SYS_ADMIN needs no_new_privs; it also keeps any exec from gaining. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        err = failed(why, why_size, -errno, "set no_new_privs");
        goto out_new_root;
    }
    close(fd);
    *root_fd = new_root;
    *proc_fd_dir = proc_fd;
    return 0;
out_new_root:
    close(new_root);
out_proc:
    close(proc_fd);
out_root:
    close(fd);
    return err;
}
