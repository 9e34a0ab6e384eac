/* A container's filesystem tree built from its OCI spec: the overlay root over the gofer's tree,
 * the spec's mounts in order (bind mounts are the gofer's extra trees), the mounts every
 * container gets when its spec leaves them out, then maskedPaths, readonlyPaths and
 * root.readonly, as runc applies them. Only 9P traffic reaches the host: callable under the
 * sandbox's seccomp filter. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "boot/boot.h"
#include "boot/rootfs_internal.h"
#include "lib/p9/p9_client.h"
#include "runsc/oci/oci.h"
#include "sentry/fs/dev/dev.h"
#include "sentry/fs/devpts/devpts.h"
#include "sentry/fs/gofer/gofer.h"
#include "sentry/fs/proc/proc.h"
#include "sentry/fs/sys/sys.h"
#include "sentry/fs/tmpfs/tmpfs.h"
#include "sentry/vfs/vfs.h"

/* What a mount's options say, split into flags and the filesystem's own data. */
struct mount_opts {
    int flags;                  /* MNT_* */
    char data[256];             /* filesystem options for /proc/mounts, comma-separated */
    struct tmpfs_options tmpfs; /* size=, mode=, uid=, gid=, nr_inodes= */
};

/* Options that only say how the mount propagates or keeps times: nothing to do in a sandbox
 * whose mounts nobody else sees. */
static const char *const ignored_options[] = {
    "bind",        "rbind",         "private",    "rprivate",    "shared",     "rshared",
    "slave",       "rslave",        "unbindable", "runbindable", "relatime",   "norelatime",
    "strictatime", "nostrictatime", "noatime",    "atime",       "nodiratime", "diratime",
    "sync",        "async",         "dirsync",    "lazytime",    "nolazytime", "suid",
    "dev",         "exec",          "rw",         "newinstance", "remount",    "tmpcopyup",
    "nosymfollow", "symfollow",     "rro",        "rrw",
};

static void data_add(struct mount_opts *o, const char *opt)
{
    size_t len = strlen(o->data);
    if (len + strlen(opt) + 2 < sizeof(o->data))
        snprintf(o->data + len, sizeof(o->data) - len, "%s%s", len ? "," : "", opt);
}

/* Parses a number with an optional k/m/g suffix (tmpfs(5)'s size=); -EINVAL if malformed. */
static int parse_size(const char *v, int base, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, base);
    if (end == v || errno)
        return -EINVAL;
    int shift = 0;
    switch (*end) {
    case 'k':
    case 'K':
        shift = 10;
        end++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        end++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        end++;
        break;
    default:
        break;
    }
    if (*end || (shift && n > (UINT64_MAX >> shift)))
        return -EINVAL;
    *out = (uint64_t)n << shift;
    return 0;
}

static int parse_options(const struct oci_mount *m, struct mount_opts *o)
{
    const char *bad = "";

    memset(o, 0, sizeof(*o));
    o->tmpfs.root_mode = 01777;
    for (size_t i = 0; i < m->n_options; i++) {
        const char *opt = m->options[i];
        uint64_t n;
        bool known = false;
        bad = opt;
        if (strcmp(opt, "ro") == 0 || strcmp(opt, "rro") == 0)
            o->flags |= MNT_READONLY;
        else if (strcmp(opt, "nosuid") == 0)
            o->flags |= MNT_NOSUID;
        else if (strcmp(opt, "nodev") == 0)
            o->flags |= MNT_NODEV;
        else if (strcmp(opt, "noexec") == 0)
            o->flags |= MNT_NOEXEC;
        else if (strncmp(opt, "size=", 5) == 0) {
            if (parse_size(opt + 5, 10, &n) != 0)
                goto bad;
            o->tmpfs.size_limit = n;
            data_add(o, opt);
        } else if (strncmp(opt, "nr_inodes=", 10) == 0) {
            if (parse_size(opt + 10, 10, &n) != 0)
                goto bad;
            o->tmpfs.nr_inodes = n;
            data_add(o, opt);
        } else if (strncmp(opt, "mode=", 5) == 0) {
            if (parse_size(opt + 5, 8, &n) != 0 || n > 07777)
                goto bad;
            o->tmpfs.root_mode = (mode_t)n;
            data_add(o, opt);
        } else if (strncmp(opt, "uid=", 4) == 0 || strncmp(opt, "gid=", 4) == 0) {
            if (parse_size(opt + 4, 10, &n) != 0 || n > UINT32_MAX - 1)
                goto bad;
            if (opt[0] == 'u')
                o->tmpfs.uid = (uid_t)n;
            else
                o->tmpfs.gid = (gid_t)n;
            data_add(o, opt);
        } else if (strncmp(opt, "ptmxmode=", 9) == 0 || strncmp(opt, "context=", 8) == 0) {
            data_add(o, opt);
        } else {
            for (size_t j = 0; j < sizeof(ignored_options) / sizeof(ignored_options[0]); j++)
                known |= strcmp(opt, ignored_options[j]) == 0;
            if (!known)
                log_warning("mount %s: option \"%s\" ignored", m->destination, opt);
        }
    }
    return 0;
bad:
    log_error("mount %s: bad value in option \"%s\"", m->destination, bad);
    return -EINVAL;
}

/* Makes every missing directory of `path` (mkdir -p) and, when `file`, the last component as
 * an empty file: mount points the image lacks are made in the overlay, as runc makes them. */
static int make_mount_point(struct fs_context *fs, const char *path, bool file)
{
    struct vfs_cred cred = ROOTFS_CRED;
    struct walk_ctx ctx = {.fs = fs, .cred = &cred, .start = fs->root};
    char buf[PATH_MAX];
    int err;

    if (strlen(path) >= sizeof(buf))
        return -ENAMETOOLONG;
    strcpy(buf, path);
    for (char *p = buf + 1;; p++) {
        bool last = *p == '\0';
        if (*p != '/' && !last)
            continue;
        *p = '\0';
        if (last && file) {
            struct file *f;
            err = vfs_open(&ctx, buf, O_WRONLY | O_CREAT, 0644, &f);
            if (err == 0)
                file_put(f);
            else if (err == -EISDIR)
                err = 0; /* the mount says what it is; mount_ns_add checks */
        } else {
            err = vfs_mkdir(&ctx, buf, 0755);
        }
        if (err && err != -EEXIST)
            return err;
        if (last)
            return 0;
        *p = '/';
    }
}

/* The filesystem a spec mount names; *ro_fs: it refuses changes itself. */
static int make_fs(const struct oci_mount *m, const struct mount_opts *o, struct p9_client *gofer,
                   unsigned *bind_index, struct kernel *k, struct super_block **sb,
                   struct dentry **root)
{
    const char *type = m->type;

    if (boot_mount_is_gofer_bind(m)) {
        char aname[32];
        snprintf(aname, sizeof(aname), "mount%u", (*bind_index)++);
        struct goferfs_options go = {
            .readonly = o->flags & MNT_READONLY, .uids = &k->cfg.uid_map, .gids = &k->cfg.gid_map};
        return goferfs_create_tree(gofer, aname, &go, sb, root);
    }
    if (strcmp(type, "bind") == 0 || strcmp(type, "tmpfs") == 0 || strcmp(type, "shm") == 0 ||
        strcmp(type, "mqueue") == 0) {
        /* /dev as tmpfs is the sandbox's own /dev with its device nodes (as gVisor does); a
         * /dev/shm bind shares nothing with the host in a sandbox: a tmpfs, as gVisor. mqueue:
         * an empty tmpfs, since the sentry has no POSIX message queues (mq_open is ENOSYS). */
        if (strcmp(m->destination, "/dev") == 0)
            return devfs_create(sb, root);
        return tmpfs_create(&o->tmpfs, sb, root);
    }
    if (strcmp(type, "proc") == 0)
        return procfs_create(k, sb, root);
    if (strcmp(type, "sysfs") == 0)
        return sysfs_create((unsigned)get_nprocs(), sb, root);
    if (strcmp(type, "devpts") == 0)
        return devpts_create(sb, root);
    if (strcmp(type, "cgroup") == 0 || strcmp(type, "cgroup2") == 0) {
        /* The sentry has no cgroup filesystem: an empty read-only directory stands for it. */
        struct tmpfs_options empty = {.root_mode = 0555};
        return tmpfs_create(&empty, sb, root);
    }
    log_error("mount %s: filesystem type \"%s\" is not supported in the sandbox", m->destination,
              type);
    return -ENODEV;
}

static int mount_spec_entry(struct fs_context *fs, const struct oci_mount *m,
                            struct p9_client *gofer, unsigned *bind_index, struct kernel *k)
{
    struct mount_opts o;
    struct super_block *sb;
    struct dentry *root;
    int err;

    if ((err = parse_options(m, &o)) != 0)
        return err;
    if (strcmp(m->type, "cgroup") == 0 || strcmp(m->type, "cgroup2") == 0)
        o.flags |= MNT_READONLY;
    if (strcmp(m->type, "devpts") == 0 && !o.data[0])
        snprintf(o.data, sizeof(o.data), "%s", DEVPTS_MOUNT_OPTIONS);
    /* runc gives a tmpfs over an existing directory that directory's mode, whatever mode=
     * says (libcontainer's mountToRootfs): the same here, so images see what they would. */
    if (strcmp(m->type, "tmpfs") == 0 && strcmp(m->destination, "/dev") != 0) {
        struct vfs_cred cred = ROOTFS_CRED;
        struct walk_ctx ctx = {.fs = fs, .cred = &cred, .start = fs->root};
        struct vfs_path at;
        if (vfs_walk(&ctx, m->destination, WALK_FOLLOW | WALK_DIRECTORY, &at) == 0) {
            o.tmpfs.root_mode = at.dentry->inode->mode & 07777;
            vfs_path_put(&at);
        }
    }
    if ((err = make_fs(m, &o, gofer, bind_index, k, &sb, &root)) != 0) {
        log_error("mount %s (%s): %s", m->destination, m->type, strerror(-err));
        return err;
    }
    bool file = !S_ISDIR(root->inode->mode);
    if ((err = make_mount_point(fs, m->destination, file)) != 0) {
        dentry_put(root);
        /* A cgroup mount under a read-only /sys whose tree lacks the directory: nothing to
         * see there anyway. */
        if (strncmp(m->type, "cgroup", 6) == 0) {
            log_warning("mount %s: no mount point (%s): skipped", m->destination, strerror(-err));
            return 0;
        }
        log_error("mount %s: make the mount point: %s", m->destination, strerror(-err));
        return err;
    }
    const char *source = m->source && *m->source ? m->source : m->type;
    if ((err = rootfs_mount_at(fs, m->destination, sb, root, source, o.data, o.flags)) != 0)
        log_error("mount %s on %s: %s", m->type, m->destination, strerror(-err));
    return err;
}

static bool spec_mounts(const struct oci_spec *spec, const char *destination)
{
    for (size_t i = 0; i < spec->n_mounts; i++) {
        const char *d = spec->mounts[i].destination;
        size_t len = strlen(destination);
        if (strncmp(d, destination, len) == 0 && (d[len] == '\0' || strcmp(d + len, "/") == 0))
            return true;
    }
    return false;
}

/* The mounts every container has even if its spec leaves them out (gVisor's mandatory ones),
 * made before the spec's so that the spec's can go on top. */
static int mount_defaults(const struct oci_spec *spec, struct fs_context *fs, struct kernel *k)
{
    static const struct oci_mount defaults[] = {
        {.destination = "/dev", .type = "tmpfs", .source = "tmpfs"},
        {.destination = "/dev/pts", .type = "devpts", .source = "devpts"},
        {.destination = "/dev/shm", .type = "tmpfs", .source = "shm"},
        {.destination = "/proc", .type = "proc", .source = "proc"},
        {.destination = "/sys", .type = "sysfs", .source = "sysfs"},
    };
    static char *const dev_opts[] = {"nosuid", "mode=755", NULL};
    static char *const pts_opts[] = {"nosuid", "noexec", NULL};
    static char *const shm_opts[] = {"nosuid", "nodev", "mode=1777", NULL};
    static char *const proc_opts[] = {"nosuid", "nodev", "noexec", NULL};
    static char *const sys_opts[] = {"nosuid", "nodev", "noexec", "ro", NULL};
    static char *const *const opts[] = {dev_opts, pts_opts, shm_opts, proc_opts, sys_opts};
    static const size_t nopts[] = {2, 2, 3, 3, 4};
    int err;

    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        if (spec_mounts(spec, defaults[i].destination))
            continue;
        struct oci_mount m = defaults[i];
        m.options = (char **)opts[i];
        m.n_options = nopts[i];
        if ((err = mount_spec_entry(fs, &m, NULL, NULL, k)) != 0)
            return err;
    }
    return 0;
}

/* maskedPaths: a directory gets an empty read-only tmpfs over it, anything else /dev/null's
 * node bound read-only (runc's maskPath); a path that doesn't exist is skipped. */
static int mask_paths(const struct oci_spec *spec, struct fs_context *fs)
{
    struct vfs_cred cred = ROOTFS_CRED;
    struct walk_ctx ctx = {.fs = fs, .cred = &cred, .start = fs->root};
    struct super_block *null_sb = NULL;
    struct dentry *null_root = NULL, *null_node = NULL;
    int err = 0;

    for (char **p = spec->masked_paths; p && *p && !err; p++) {
        struct vfs_path at;
        if (vfs_walk(&ctx, *p, WALK_FOLLOW, &at) != 0)
            continue;
        bool dir = S_ISDIR(at.dentry->inode->mode);
        struct super_block *sb;
        struct dentry *root;
        if (dir) {
            struct tmpfs_options empty = {.root_mode = 0755};
            err = tmpfs_create(&empty, &sb, &root);
        } else {
            if (!null_node && (err = devfs_create(&null_sb, &null_root)) == 0)
                err = vfs_lookup_child(null_root, "null", false, &null_node);
            sb = null_sb;
            root = null_node;
            if (!err)
                dentry_get(root);
        }
        if (!err) {
            err = mount_ns_add(fs->ns, &at, sb, root, dir ? "tmpfs" : "devtmpfs", "", MNT_READONLY);
            if (err)
                dentry_put(root);
        }
        if (err)
            log_error("maskedPaths: %s: %s", *p, strerror(-err));
        vfs_path_put(&at);
    }
    if (null_node)
        dentry_put(null_node);
    if (null_root)
        dentry_put(null_root);
    return err;
}

/* readonlyPaths: the path bound onto itself read-only (runc's readonlyPath); skipped if
 * missing. */
static int readonly_paths(const struct oci_spec *spec, struct fs_context *fs)
{
    struct vfs_cred cred = ROOTFS_CRED;
    struct walk_ctx ctx = {.fs = fs, .cred = &cred, .start = fs->root};

    for (char **p = spec->readonly_paths; p && *p; p++) {
        struct vfs_path at;
        if (vfs_walk(&ctx, *p, WALK_FOLLOW, &at) != 0)
            continue;
        dentry_get(at.dentry);
        int err = mount_ns_add(fs->ns, &at, at.mnt->sb, at.dentry, at.mnt->source, at.mnt->options,
                               at.mnt->flags | MNT_READONLY);
        if (err) {
            dentry_put(at.dentry);
            log_error("readonlyPaths: %s: %s", *p, strerror(-err));
        }
        vfs_path_put(&at);
        if (err)
            return err;
    }
    return 0;
}

bool boot_mount_is_gofer_bind(const struct oci_mount *m)
{
    return strcmp(m->type, "bind") == 0 && strcmp(m->destination, "/dev/shm") != 0 &&
           strcmp(m->destination, "/dev/shm/") != 0;
}

int boot_build_container_fs(const struct oci_spec *spec, int gofer_fd, struct memfile *mf,
                            struct kernel *k, struct fs_context **out)
{
    struct p9_client *gofer;
    struct fs_context *fs;
    unsigned bind_index = 0;
    int err;

    rootfs_set_hooks(mf);
    if ((err = p9_client_create(gofer_fd, &gofer)) != 0) {
        log_error("connect to the gofer: %s", strerror(-err));
        return err;
    }
    /* The gofer's connection lives as long as the sandbox: every tree of it uses it. */
    if ((err = rootfs_make_overlay_root(gofer, &k->cfg.uid_map, &k->cfg.gid_map, &fs)) != 0) {
        log_error("mount the root from the gofer: %s", strerror(-err));
        return err;
    }
    if ((err = mount_defaults(spec, fs, k)) != 0)
        goto fail;
    for (size_t i = 0; i < spec->n_mounts; i++) {
        if ((err = mount_spec_entry(fs, &spec->mounts[i], gofer, &bind_index, k)) != 0)
            goto fail;
    }
    if ((err = mask_paths(spec, fs)) != 0 || (err = readonly_paths(spec, fs)) != 0)
        goto fail;
    /* Last, as runc remounts the root: mount points were made in it first. */
    if (spec->root_readonly)
        fs->ns->root->flags |= MNT_READONLY;
    *out = fs;
    return 0;
fail:
    fs_context_put(fs);
    return err;
}
