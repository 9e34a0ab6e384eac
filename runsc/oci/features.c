/* The OCI features document (runtime-spec features.md): what config.json fields this runsc
 * takes. Fixed at build time, as the spec asks, not probed from the host. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "arch.h"
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

/* What boot/oci_seccomp.c compiles (SCMP_ACT_NOTIFY is refused: no notifier to send to). */
static const char *const seccomp_actions[] = {
    "SCMP_ACT_ALLOW",       "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",   "SCMP_ACT_TRAP", "SCMP_ACT_TRACE",
};
static const char *const seccomp_operators[] = {
    "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",        "SCMP_CMP_LE",
    "SCMP_CMP_LT", "SCMP_CMP_NE", "SCMP_CMP_MASKED_EQ",
};
static const char *const seccomp_flags[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                            "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};

/* A profile is taken when its architectures include the sandbox's own, the build's. */
static struct json_object *seccomp_archs(void)
{
    char name[64] = "SCMP_ARCH_";
    size_t n = strlen(name);

    for (const char *p = ARCH_SECCOMP_NAME; *p && n < sizeof(name) - 1; p++)
        name[n++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
    name[n] = '\0';
    struct json_object *arr = json_object_new_array();
    json_object_array_add(arr, json_object_new_string(name));
    return arr;
}

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
    /* The sandbox's host cgroup (runsc/cgroup.c): cgroupfs v1 and v2, and systemd's
     * slice:prefix:name made directly in cgroupfs. Not a user's systemd instance. */
    json_object_object_add(cg, "v1", json_object_new_boolean(1));
    json_object_object_add(cg, "v2", json_object_new_boolean(1));
    json_object_object_add(cg, "systemd", json_object_new_boolean(1));
    json_object_object_add(cg, "systemdUser", json_object_new_boolean(0));
    json_object_object_add(lx, "cgroup", cg);
    /* linux.seccomp: compiled by boot/oci_seccomp.c and enforced by the sentry on guest
     * system calls. */
    struct json_object *sc = enabled(true);
    json_object_object_add(sc, "actions", ARRAY(seccomp_actions));
    json_object_object_add(sc, "operators", ARRAY(seccomp_operators));
    json_object_object_add(sc, "archs", seccomp_archs());
    json_object_object_add(sc, "knownFlags", ARRAY(seccomp_flags));
    json_object_object_add(sc, "supportedFlags", ARRAY(seccomp_flags));
    json_object_object_add(lx, "seccomp", sc);
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
