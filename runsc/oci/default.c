/* The starter config.json `runsc spec` writes: runc's default spec (runc's specconv.Example) with
 * the namespaces the sandbox makes, and its rootless variant (runc's ToRootless rules). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "runsc/oci/oci.h"

#define DEFAULT_PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static struct json_object *strings(const char *const *v, size_t n)
{
    struct json_object *arr = json_object_new_array();

    for (size_t i = 0; arr && i < n; i++)
        json_object_array_add(arr, json_object_new_string(v[i]));
    return arr;
}

#define STRINGS(...)                                                                               \
    strings((const char *const[]){__VA_ARGS__},                                                    \
            sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static struct json_object *process_object(void)
{
    struct json_object *p = json_object_new_object(), *user = json_object_new_object();
    struct json_object *caps = json_object_new_object(), *rl = json_object_new_object();
    struct json_object *rlimits = json_object_new_array();
    static const char *const sets[] = {"bounding", "effective", "permitted", "ambient"};

    json_object_object_add(p, "terminal", json_object_new_boolean(1));
    json_object_object_add(user, "uid", json_object_new_int(0));
    json_object_object_add(user, "gid", json_object_new_int(0));
    json_object_object_add(p, "user", user);
    json_object_object_add(p, "args", STRINGS("sh"));
    json_object_object_add(p, "env", STRINGS(DEFAULT_PATH_ENV, "TERM=xterm"));
    json_object_object_add(p, "cwd", json_object_new_string("/"));
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
        json_object_object_add(caps, sets[i],
                               STRINGS("CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"));
    json_object_object_add(p, "capabilities", caps);
    json_object_object_add(rl, "type", json_object_new_string("RLIMIT_NOFILE"));
    json_object_object_add(rl, "hard", json_object_new_int(1024));
    json_object_object_add(rl, "soft", json_object_new_int(1024));
    json_object_array_add(rlimits, rl);
    json_object_object_add(p, "rlimits", rlimits);
    json_object_object_add(p, "noNewPrivileges", json_object_new_boolean(1));
    return p;
}

static struct json_object *mount_object(const char *dest, const char *type, const char *source,
                                        struct json_object *options)
{
    struct json_object *m = json_object_new_object();

    json_object_object_add(m, "destination", json_object_new_string(dest));
    json_object_object_add(m, "type", json_object_new_string(type));
    json_object_object_add(m, "source", json_object_new_string(source));
    if (options)
        json_object_object_add(m, "options", options);
    return m;
}

static struct json_object *mounts_array(void)
{
    struct json_object *a = json_object_new_array();

    json_object_array_add(a, mount_object("/proc", "proc", "proc", NULL));
    json_object_array_add(
        a, mount_object("/dev", "tmpfs", "tmpfs",
                        STRINGS("nosuid", "strictatime", "mode=755", "size=65536k")));
    json_object_array_add(a, mount_object("/dev/pts", "devpts", "devpts",
                                          STRINGS("nosuid", "noexec", "newinstance",
                                                  "ptmxmode=0666", "mode=0620", "gid=5")));
    json_object_array_add(
        a, mount_object("/dev/shm", "tmpfs", "shm",
                        STRINGS("nosuid", "noexec", "nodev", "mode=1777", "size=65536k")));
    json_object_array_add(
        a, mount_object("/dev/mqueue", "mqueue", "mqueue", STRINGS("nosuid", "noexec", "nodev")));
    json_object_array_add(
        a, mount_object("/sys", "sysfs", "sysfs", STRINGS("nosuid", "noexec", "nodev", "ro")));
    json_object_array_add(a, mount_object("/sys/fs/cgroup", "cgroup", "cgroup",
                                          STRINGS("nosuid", "noexec", "nodev", "relatime", "ro")));
    return a;
}

static struct json_object *linux_object(void)
{
    static const char *const ns[] = {"pid", "network", "ipc", "uts", "mount"};
    struct json_object *lx = json_object_new_object(), *nss = json_object_new_array();
    struct json_object *res = json_object_new_object(), *devs = json_object_new_array();
    struct json_object *deny = json_object_new_object();

    json_object_object_add(deny, "allow", json_object_new_boolean(0));
    json_object_object_add(deny, "access", json_object_new_string("rwm"));
    json_object_array_add(devs, deny);
    json_object_object_add(res, "devices", devs);
    json_object_object_add(lx, "resources", res);
    for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "type", json_object_new_string(ns[i]));
        json_object_array_add(nss, o);
    }
    json_object_object_add(lx, "namespaces", nss);
    json_object_object_add(lx, "maskedPaths",
                           STRINGS("/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                                   "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                                   "/proc/sched_debug", "/sys/firmware", "/proc/scsi"));
    json_object_object_add(
        lx, "readonlyPaths",
        STRINGS("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"));
    return lx;
}

static struct json_object *default_spec(void)
{
    struct json_object *spec = json_object_new_object(), *root = json_object_new_object();

    json_object_object_add(spec, "ociVersion", json_object_new_string("1.1.0"));
    json_object_object_add(spec, "process", process_object());
    json_object_object_add(root, "path", json_object_new_string("rootfs"));
    json_object_object_add(root, "readonly", json_object_new_boolean(1));
    json_object_object_add(spec, "root", root);
    json_object_object_add(spec, "hostname", json_object_new_string("runsc"));
    json_object_object_add(spec, "mounts", mounts_array());
    json_object_object_add(spec, "linux", linux_object());
    return spec;
}

/* As runc prints it: indented with tabs, a newline at the end. */
static char *to_text(struct json_object *spec)
{
    int flags = JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_PRETTY_TAB |
                JSON_C_TO_STRING_NOSLASHESCAPE;
    const char *text = json_object_to_json_string_ext(spec, flags);
    char *out = NULL;

    if (text && asprintf(&out, "%s\n", text) < 0)
        out = NULL;
    json_object_put(spec);
    return out;
}

char *oci_spec_default_json(void)
{
    return to_text(default_spec());
}

static struct json_object *id_mapping(unsigned host_id)
{
    struct json_object *arr = json_object_new_array(), *m = json_object_new_object();

    json_object_object_add(m, "containerID", json_object_new_int(0));
    json_object_object_add(m, "hostID", json_object_new_int64(host_id));
    json_object_object_add(m, "size", json_object_new_int(1));
    json_object_array_add(arr, m);
    return arr;
}

/* Drops uid=/gid= options (they name ids that have no mapping) and binds the host's /sys in
 * place of a new sysfs, which an unprivileged user may not mount. */
static void rootless_mounts(struct json_object *mounts)
{
    for (size_t i = 0; i < json_object_array_length(mounts); i++) {
        struct json_object *m = json_object_array_get_idx(mounts, i);
        struct json_object *dest = json_object_object_get(m, "destination");
        struct json_object *opts = json_object_object_get(m, "options");

        if (strcmp(json_object_get_string(dest), "/sys") == 0) {
            json_object_array_put_idx(
                mounts, i,
                mount_object("/sys", "none", "/sys",
                             STRINGS("rbind", "nosuid", "noexec", "nodev", "ro")));
            continue;
        }
        if (!opts)
            continue;
        struct json_object *kept = json_object_new_array();
        for (size_t j = 0; j < json_object_array_length(opts); j++) {
            const char *o = json_object_get_string(json_object_array_get_idx(opts, j));
            if (strncmp(o, "uid=", 4) != 0 && strncmp(o, "gid=", 4) != 0)
                json_object_array_add(kept, json_object_new_string(o));
        }
        json_object_object_add(m, "options", kept);
    }
}

char *oci_spec_rootless_json(uid_t uid, gid_t gid)
{
    struct json_object *spec = default_spec();
    struct json_object *lx = json_object_object_get(spec, "linux");
    struct json_object *nss = json_object_object_get(lx, "namespaces");
    struct json_object *kept = json_object_new_array(), *user = json_object_new_object();

    for (size_t i = 0; i < json_object_array_length(nss); i++) {
        struct json_object *ns = json_object_array_get_idx(nss, i);
        const char *type = json_object_get_string(json_object_object_get(ns, "type"));
        if (strcmp(type, "network") != 0 && strcmp(type, "user") != 0)
            json_object_array_add(kept, json_object_get(ns));
    }
    json_object_object_add(user, "type", json_object_new_string("user"));
    json_object_array_add(kept, user);
    json_object_object_add(lx, "namespaces", kept);
    json_object_object_add(lx, "uidMappings", id_mapping(uid));
    json_object_object_add(lx, "gidMappings", id_mapping(gid));
    json_object_object_del(lx, "resources");
    rootless_mounts(json_object_object_get(spec, "mounts"));
    return to_text(spec);
}
