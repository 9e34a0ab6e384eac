/* The OCI runtime spec (config.json, version 1.x) as runsc understands it: parsed with json-c,
 * every field either taken into this struct or refused with an error naming it. The CLI builds
 * the sandbox from it; nothing else reads config.json. */
#ifndef RUNSC_RUNSC_OCI_OCI_H
#define RUNSC_RUNSC_OCI_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct oci_rlimit {
    int resource; /* RLIMIT_* */
    uint64_t soft, hard;
};

struct oci_user {
    uid_t uid;
    gid_t gid;
    gid_t *additional_gids;
    size_t n_additional_gids;
    bool has_umask;
    mode_t umask;
};

/* Capability sets as 64-bit masks of CAP_* bits. */
struct oci_caps {
    uint64_t bounding, effective, inheritable, permitted, ambient;
};

struct oci_process {
    char **args; /* NULL-terminated, at least one */
    char **env;  /* NULL-terminated, maybe empty */
    char *cwd;   /* absolute */
    struct oci_user user;
    bool has_caps;
    struct oci_caps caps;
    struct oci_rlimit *rlimits;
    size_t n_rlimits;
    bool no_new_privileges;
    bool terminal;
    unsigned console_height, console_width; /* 0 when not given */
    bool has_oom_score_adj;
    int oom_score_adj;
    /* Host LSM labels: taken so engines that always send them work; the sandbox is the
     * boundary (as in gVisor), so they are not applied to guest processes. NULL if absent. */
    char *apparmor_profile, *selinux_label;
};

struct oci_mount {
    char *destination; /* absolute path in the container */
    char *type;        /* "bind", "tmpfs", "proc", ... ; "bind" when options say bind */
    char *source;
    char **options; /* NULL-terminated, as given */
    size_t n_options;
};

enum oci_ns_type {
    OCI_NS_PID,
    OCI_NS_NETWORK,
    OCI_NS_MOUNT,
    OCI_NS_IPC,
    OCI_NS_UTS,
    OCI_NS_USER,
    OCI_NS_CGROUP,
    OCI_NS_TIME,
};

struct oci_namespace {
    enum oci_ns_type type;
    char *path; /* NULL: a new one */
};

struct oci_id_mapping {
    uint32_t container_id, host_id, size;
};

struct oci_hook {
    char *path;
    char **args; /* NULL-terminated, maybe NULL */
    char **env;  /* NULL-terminated, maybe NULL */
    int timeout; /* seconds, 0: none */
};

enum oci_hook_kind {
    OCI_HOOK_PRESTART,
    OCI_HOOK_CREATE_RUNTIME,
    OCI_HOOK_CREATE_CONTAINER,
    OCI_HOOK_START_CONTAINER,
    OCI_HOOK_POSTSTART,
    OCI_HOOK_POSTSTOP,
    OCI_HOOK_KINDS,
};

/* linux.devices[]: a device node to create in the container's /dev. */
struct oci_device {
    char *path;           /* absolute */
    char type;            /* 'c', 'b', 'u' or 'p' */
    int64_t major, minor; /* not meaningful for 'p' */
    bool has_file_mode, has_uid, has_gid;
    mode_t file_mode;
    uid_t uid;
    gid_t gid;
};

struct oci_key_value {
    char *key, *value;
};

struct oci_spec {
    char *oci_version;
    struct oci_process process;
    char *root_path; /* absolute: resolved against the bundle when relative */
    bool root_readonly;
    char *hostname, *domainname;
    struct oci_mount *mounts;
    size_t n_mounts;
    struct oci_namespace *namespaces;
    size_t n_namespaces;
    struct oci_id_mapping *uid_mappings, *gid_mappings;
    size_t n_uid_mappings, n_gid_mappings;
    int64_t memory_limit;          /* bytes; -1: none */
    int64_t pids_limit;            /* tasks; -1: none */
    int64_t cpu_quota, cpu_period; /* -1: none */
    uint64_t cpu_shares;           /* 0: none */
    char *cpu_cpus, *cpu_mems;     /* cpuset lists as given, NULL if absent */
    char *seccomp_json; /* linux.seccomp re-serialized, NULL if absent (the sentry parses it) */
    char **masked_paths, **readonly_paths; /* NULL-terminated, maybe NULL */
    struct oci_key_value *sysctl, *annotations;
    size_t n_sysctl, n_annotations;
    struct oci_hook *hooks[OCI_HOOK_KINDS];
    size_t n_hooks[OCI_HOOK_KINDS];
    char *cgroups_path; /* linux.cgroupsPath, NULL if absent */
    /* linux.resources re-serialized (type-checked), NULL if absent: for the sandbox's host
     * cgroup. The limits above are the part of it the sentry enforces itself. */
    char *resources_json;
    char *rootfs_propagation;   /* linux.rootfsPropagation, NULL if absent */
    char *mount_label;          /* linux.mountLabel, NULL if absent */
    struct oci_device *devices; /* linux.devices */
    size_t n_devices;
};

struct userns_map;
/* linux.uidMappings/gidMappings as the sentry's user namespace maps (none: the identity), each
 * extent checked as Linux checks a uid_map write, and process.user's ids checked to be in them.
 * 0, or -EINVAL with err starting with the field ("linux.uidMappings[1]: ..."). */
int oci_spec_id_maps(const struct oci_spec *spec, struct userns_map *uids, struct userns_map *gids,
                     char *err, size_t errlen);

/* Reads and checks <bundle>/config.json. On failure returns -errno (-ENOENT: no such bundle or
 * config.json; -EINVAL: the file is wrong) and writes one line to err naming the field, e.g.
 * "config.json: process.args: must be a non-empty array of strings". */
int oci_spec_load(const char *bundle, struct oci_spec **out, char *err, size_t errlen);

/* The same from JSON text; `bundle` resolves a relative root.path, which must then be a
 * directory. With bundle NULL (the sandbox re-reading a spec the CLI checked, after it has left
 * the host's mount namespace) root.path is kept as given and not looked at. */
int oci_spec_parse(const char *json, const char *bundle, struct oci_spec **out, char *err,
                   size_t errlen);

void oci_spec_free(struct oci_spec *spec);

/* Reads the process JSON `exec --process FILE` is given (config.json's "process" object on its
 * own) with the same checks; errors name the field as "process.json: cwd: ...". */
int oci_process_parse(const char *json, struct oci_process **out, char *err, size_t errlen);
void oci_process_free(struct oci_process *process);

/* Looks up an annotation; NULL if absent. */
const char *oci_spec_annotation(const struct oci_spec *spec, const char *key);

/* The default config.json `runsc spec` writes (runc's, with args ["sh"]); caller frees. */
char *oci_spec_default_json(void);

/* The same made rootless as `runsc spec --rootless` does (runc's rules): a user namespace
 * mapping container root to uid/gid, no network namespace, /sys bind-mounted, no uid=/gid=
 * mount options, no linux.resources. Caller frees. */
char *oci_spec_rootless_json(uid_t uid, gid_t gid);

/* The OCI features document (runtime-spec features.md) `runsc features` prints: what this
 * parser and the sandbox honour. Caller frees. */
char *oci_features_json(void);

/* Capability name ("CAP_SYS_ADMIN") to number; -1 if unknown. */
int oci_cap_from_name(const char *name);

#endif
