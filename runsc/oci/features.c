/* The OCI features document (runtime-spec features.md): what config.json fields this runsc
 * takes. Fixed at build time, as the spec asks, not probed from the host. */
#include <stdio.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "runsc/oci/caps.h"
#include "runsc/oci/oci.h"

static struct json_object *string_array(const char *const *v, size_t n)
{
    struct json_object *arr = json_object_new_array();

    for (size_t i = 0; i < n; i++)
        json_object_array_add(arr, json_object_new_string(v[i]));
    return arr;
}

#define ARRAY(v) string_array((v), sizeof(v) / sizeof((v)[0]))

static const char *const hooks[] = {"prestart",       "createRuntime", "createContainer",
                                    "startContainer", "poststart",     "poststop"};

/* The mount(2) flags and propagation options a mount's "options" may hold; anything else is
 * passed to the filesystem as data. */
static const char *const mount_options[] = {
    "async",      "atime",         "bind",    "defaults", "dev",         "diratime", "dirsync",
    "exec",       "mand",          "noatime", "nodev",    "nodiratime",  "noexec",   "nomand",
    "norelatime", "nostrictatime", "nosuid",  "private",  "rbind",       "relatime", "remount",
    "ro",         "rprivate",      "rshared", "rslave",   "runbindable", "rw",       "shared",
    "slave",      "strictatime",   "suid",    "sync",     "unbindable",
};

static const char *const namespaces[] = {"cgroup", "ipc",  "mount", "network",
                                         "pid",    "time", "user",  "uts"};

static struct json_object *capabilities(void)
{
    struct json_object *arr = json_object_new_array();

    for (int i = 0; i < OCI_CAP_COUNT; i++)
        json_object_array_add(arr, json_object_new_string(oci_cap_name(i)));
    return arr;
}

static struct json_object *enabled(bool on)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "enabled", json_object_new_boolean(on));
    return o;
}

static struct json_object *linux_features(void)
{
    struct json_object *lx = json_object_new_object(), *cg = json_object_new_object();

    json_object_object_add(lx, "namespaces", ARRAY(namespaces));
    json_object_object_add(lx, "capabilities", capabilities());
    /* The limits the sentry enforces on guest tasks; no host cgroup driver of our own. */
    json_object_object_add(cg, "v1", json_object_new_boolean(0));
    json_object_object_add(cg, "v2", json_object_new_boolean(0));
    json_object_object_add(cg, "systemd", json_object_new_boolean(0));
    json_object_object_add(cg, "systemdUser", json_object_new_boolean(0));
    json_object_object_add(lx, "cgroup", cg);
    /* linux.seccomp is accepted and checked but the sentry applies no guest filter yet: the
     * sandbox's own host filter is the boundary (gVisor's default too). */
    json_object_object_add(lx, "seccomp", enabled(false));
    json_object_object_add(lx, "apparmor", enabled(false));
    json_object_object_add(lx, "selinux", enabled(false));
    json_object_object_add(lx, "intelRdt", enabled(false));
    return lx;
}

char *oci_features_json(void)
{
    struct json_object *f = json_object_new_object(), *ann = json_object_new_object();
    char *out = NULL;

    json_object_object_add(f, "ociVersionMin", json_object_new_string("1.0.0"));
    json_object_object_add(f, "ociVersionMax", json_object_new_string("1.1.0"));
    json_object_object_add(f, "hooks", ARRAY(hooks));
    json_object_object_add(f, "mountOptions", ARRAY(mount_options));
    json_object_object_add(f, "linux", linux_features());
    json_object_object_add(ann, "dev.runsc.version", json_object_new_string(RUNSC_VERSION));
    json_object_object_add(f, "annotations", ann);
    const char *text = json_object_to_json_string_ext(
        f, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (text && asprintf(&out, "%s\n", text) < 0)
        out = NULL;
    json_object_put(f);
    return out;
}
