/* config.json "linux", the rest: resources (cgroup limits), devices, seccomp and the fields we
 * refuse (intelRdt, 32-bit personality, time offsets). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runsc/oci/parse.h"

/* Keeps a re-serialized copy of a JSON value (the sentry or the cgroup code parses it again). */
static int keep_json(struct oci_ctx *c, struct json_object *v, const char *path, char **out)
{
    const char *text =
        json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

    *out = text ? strdup(text) : NULL;
    return *out ? 0 : oci_fail_nomem(c, path);
}

static int parse_memory(struct oci_ctx *c, struct json_object *res, struct oci_spec *spec)
{
    static const char *const i64_keys[] = {"reservation", "swap", "kernel", "kernelTCP"};
    static const char *const bool_keys[] = {"disableOOMKiller", "useHierarchy",
                                            "checkBeforeUpdate"};
    const char *p = "linux.resources.memory";
    struct json_object *mem = NULL;
    int64_t limit = 0, i64;
    uint64_t u64;
    bool b, has_limit = false;
    int ret = oci_get_object(c, res, "linux.resources", "memory", false, &mem);

    if (ret < 0 || !mem)
        return ret;
    if ((ret = oci_get_i64(c, mem, p, "limit", false, &limit, &has_limit)) < 0 ||
        (ret = oci_get_u64(c, mem, p, "swappiness", false, &u64, NULL)) < 0)
        return ret;
    for (size_t i = 0; i < sizeof(i64_keys) / sizeof(i64_keys[0]); i++) {
        if ((ret = oci_get_i64(c, mem, p, i64_keys[i], false, &i64, NULL)) < 0)
            return ret;
    }
    for (size_t i = 0; i < sizeof(bool_keys) / sizeof(bool_keys[0]); i++) {
        if ((ret = oci_get_bool(c, mem, p, bool_keys[i], &b)) < 0)
            return ret;
    }
    /* runc: -1 is unlimited and 0 leaves the limit alone; we have no limit to leave. */
    if (has_limit && limit > 0)
        spec->memory_limit = limit;
    return 0;
}

static int parse_cpu(struct oci_ctx *c, struct json_object *res, struct oci_spec *spec)
{
    const char *p = "linux.resources.cpu";
    struct json_object *cpu = NULL;
    int64_t quota = 0, i64;
    uint64_t period = 0, shares = 0, u64;
    int ret = oci_get_object(c, res, "linux.resources", "cpu", false, &cpu);

    if (ret < 0 || !cpu)
        return ret;
    if ((ret = oci_get_i64(c, cpu, p, "quota", false, &quota, NULL)) < 0 ||
        (ret = oci_get_u64(c, cpu, p, "period", false, &period, NULL)) < 0 ||
        (ret = oci_get_u64(c, cpu, p, "shares", false, &shares, NULL)) < 0 ||
        (ret = oci_get_u64(c, cpu, p, "burst", false, &u64, NULL)) < 0 ||
        (ret = oci_get_i64(c, cpu, p, "realtimeRuntime", false, &i64, NULL)) < 0 ||
        (ret = oci_get_u64(c, cpu, p, "realtimePeriod", false, &u64, NULL)) < 0 ||
        (ret = oci_get_i64(c, cpu, p, "idle", false, &i64, NULL)) < 0 ||
        (ret = oci_get_string(c, cpu, p, "cpus", false, &spec->cpu_cpus)) < 0 ||
        (ret = oci_get_string(c, cpu, p, "mems", false, &spec->cpu_mems)) < 0)
        return ret;
    if (period > INT64_MAX)
        return oci_fail(c, EINVAL, "linux.resources.cpu.period", "%llu is out of range",
                        (unsigned long long)period);
    /* The kernel's own bounds (cpu.cfs_period_us 1 ms..1 s; a quota of at least 1 ms). */
    if (period > 0 && (period < 1000 || period > 1000000))
        return oci_fail(c, EINVAL, "linux.resources.cpu.period",
                        "%llu is outside 1000..1000000 microseconds", (unsigned long long)period);
    if (quota > 0 && quota < 1000)
        return oci_fail(c, EINVAL, "linux.resources.cpu.quota", "%lld is below 1000 microseconds",
                        (long long)quota);
    if (quota > 0)
        spec->cpu_quota = quota;
    if (period > 0)
        spec->cpu_period = (int64_t)period;
    spec->cpu_shares = shares;
    return 0;
}

static int parse_pids(struct oci_ctx *c, struct json_object *res, struct oci_spec *spec)
{
    struct json_object *pids = NULL;
    int64_t limit = 0;
    int ret = oci_get_object(c, res, "linux.resources", "pids", false, &pids);

    if (ret < 0 || !pids)
        return ret;
    ret = oci_get_i64(c, pids, "linux.resources.pids", "limit", true, &limit, NULL);
    if (ret < 0)
        return ret;
    /* runc: 0 and -1 both mean no limit. */
    if (limit > 0)
        spec->pids_limit = limit;
    return 0;
}

/* linux.resources.devices: the cgroup device allow/deny list. The sentry has its own /dev with
 * the devices it implements, so the rules are checked and kept, not enforced. */
static int parse_device_rules(struct oci_ctx *c, struct json_object *res)
{
    struct json_object *arr = NULL;
    char path[OCI_PATH_LEN], field[OCI_PATH_LEN];
    char *s = NULL;
    int64_t num;
    bool allow;
    int ret = oci_get_array(c, res, "linux.resources", "devices", false, &arr);

    if (ret < 0 || !arr)
        return ret;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        struct json_object *d = json_object_array_get_idx(arr, i);

        oci_path_index(path, "linux.resources.devices", i);
        if ((ret = oci_value_object(c, d, path)) < 0)
            return ret;
        if (!oci_field(d, "allow"))
            return oci_fail(c, EINVAL, oci_path_key(field, path, "allow"),
                            "missing required field");
        if ((ret = oci_get_bool(c, d, path, "allow", &allow)) < 0 ||
            (ret = oci_get_i64(c, d, path, "major", false, &num, NULL)) < 0 ||
            (ret = oci_get_i64(c, d, path, "minor", false, &num, NULL)) < 0 ||
            (ret = oci_get_string(c, d, path, "type", false, &s)) < 0)
            goto out;
        if (s && strcmp(s, "a") != 0 && strcmp(s, "b") != 0 && strcmp(s, "c") != 0) {
            ret = oci_fail(c, EINVAL, oci_path_key(field, path, "type"), "\"%s\" is not a, b or c",
                           s);
            goto out;
        }
        if ((ret = oci_get_string(c, d, path, "access", false, &s)) < 0)
            goto out;
        if (s && s[strspn(s, "rwm")] != '\0') {
            ret = oci_fail(c, EINVAL, oci_path_key(field, path, "access"),
                           "\"%s\" is not made of r, w and m", s);
            goto out;
        }
        free(s);
        s = NULL;
    }
out:
    free(s);
    return ret;
}

static int parse_resources(struct oci_ctx *c, struct json_object *lx, struct oci_spec *spec)
{
    struct json_object *res = NULL, *v = NULL;
    struct oci_key_value *unified = NULL;
    size_t n_unified = 0;
    int ret = oci_get_object(c, lx, "linux", "resources", false, &res);

    if (ret < 0 || !res)
        return ret;
    if ((ret = parse_memory(c, res, spec)) < 0 || (ret = parse_cpu(c, res, spec)) < 0 ||
        (ret = parse_pids(c, res, spec)) < 0 || (ret = parse_device_rules(c, res)) < 0 ||
        (ret = oci_get_object(c, res, "linux.resources", "blockIO", false, &v)) < 0 ||
        (ret = oci_get_array(c, res, "linux.resources", "hugepageLimits", false, &v)) < 0 ||
        (ret = oci_get_object(c, res, "linux.resources", "network", false, &v)) < 0 ||
        (ret = oci_get_object(c, res, "linux.resources", "rdma", false, &v)) < 0 ||
        (ret = oci_get_string_map(c, res, "linux.resources", "unified", &unified, &n_unified)) < 0)
        return ret;
    oci_key_values_free(unified, n_unified);
    return keep_json(c, res, "linux.resources", &spec->resources_json);
}

static int parse_devices(struct oci_ctx *c, struct json_object *lx, struct oci_spec *spec)
{
    struct json_object *arr = NULL;
    char path[OCI_PATH_LEN], field[OCI_PATH_LEN];
    char *type = NULL;
    uint32_t v;
    int ret = oci_get_array(c, lx, "linux", "devices", false, &arr);

    if (ret < 0 || !arr)
        return ret;
    size_t n = json_object_array_length(arr);
    spec->devices = calloc(n ? n : 1, sizeof(*spec->devices));
    if (!spec->devices)
        return oci_fail_nomem(c, "linux.devices");
    for (size_t i = 0; i < n; i++) {
        struct json_object *d = json_object_array_get_idx(arr, i);
        struct oci_device *dev = &spec->devices[i];

        spec->n_devices = i + 1;
        oci_path_index(path, "linux.devices", i);
        if ((ret = oci_value_object(c, d, path)) < 0 ||
            (ret = oci_get_string(c, d, path, "path", true, &dev->path)) < 0 ||
            (ret = oci_get_string(c, d, path, "type", true, &type)) < 0)
            goto out;
        if (dev->path[0] != '/') {
            ret = oci_fail(c, EINVAL, oci_path_key(field, path, "path"),
                           "\"%s\" is not an absolute path", dev->path);
            goto out;
        }
        if (strlen(type) != 1 || !strchr("cbup", type[0])) {
            ret = oci_fail(c, EINVAL, oci_path_key(field, path, "type"),
                           "\"%s\" is not c, b, u or p", type);
            goto out;
        }
        dev->type = type[0];
        bool need_numbers = dev->type != 'p';
        if ((ret = oci_get_i64(c, d, path, "major", need_numbers, &dev->major, NULL)) < 0 ||
            (ret = oci_get_i64(c, d, path, "minor", need_numbers, &dev->minor, NULL)) < 0 ||
            (ret = oci_get_u32(c, d, path, "fileMode", false, &v, &dev->has_file_mode)) < 0)
            goto out;
        dev->file_mode = v;
        if ((ret = oci_get_u32(c, d, path, "uid", false, &v, &dev->has_uid)) < 0)
            goto out;
        dev->uid = v;
        if ((ret = oci_get_u32(c, d, path, "gid", false, &v, &dev->has_gid)) < 0)
            goto out;
        dev->gid = v;
        free(type);
        type = NULL;
    }
out:
    free(type);
    return ret;
}

static bool is_seccomp_action(const char *a)
{
    static const char *const actions[] = {
        "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
        "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY",
    };
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        if (strcmp(actions[i], a) == 0)
            return true;
    }
    return false;
}

static int check_action(struct oci_ctx *c, struct json_object *obj, const char *parent,
                        const char *key, bool required)
{
    char field[OCI_PATH_LEN];
    char *a = NULL;
    int ret = oci_get_string(c, obj, parent, key, required, &a);

    if (ret == 0 && a && !is_seccomp_action(a))
        ret = oci_fail(c, EINVAL, oci_path_key(field, parent, key), "unknown seccomp action \"%s\"",
                       a);
    free(a);
    return ret;
}

/* linux.seccomp: its shape is checked here; the filter itself is the sentry's to build. */
static int parse_seccomp(struct oci_ctx *c, struct json_object *lx, struct oci_spec *spec)
{
    const char *p = "linux.seccomp";
    struct json_object *sc = NULL, *calls = NULL;
    char path[OCI_PATH_LEN];
    char **v = NULL;
    int ret = oci_get_object(c, lx, "linux", "seccomp", false, &sc);

    if (ret < 0 || !sc)
        return ret;
    if ((ret = check_action(c, sc, p, "defaultAction", true)) < 0 ||
        (ret = oci_get_strv(c, sc, p, "architectures", false, false, &v, NULL)) < 0 ||
        (ret = oci_get_strv(c, sc, p, "flags", false, false, &v, NULL)) < 0 ||
        (ret = oci_get_array(c, sc, p, "syscalls", false, &calls)) < 0)
        goto out;
    for (size_t i = 0; calls && i < json_object_array_length(calls); i++) {
        struct json_object *s = json_object_array_get_idx(calls, i);
        struct json_object *args = NULL;

        oci_path_index(path, "linux.seccomp.syscalls", i);
        if ((ret = oci_value_object(c, s, path)) < 0 ||
            (ret = oci_get_strv(c, s, path, "names", true, true, &v, NULL)) < 0 ||
            (ret = check_action(c, s, path, "action", true)) < 0 ||
            (ret = oci_get_array(c, s, path, "args", false, &args)) < 0)
            goto out;
    }
    ret = keep_json(c, sc, p, &spec->seccomp_json);
out:
    oci_strv_free(v);
    return ret;
}

/* Fields runc honours that the sandbox cannot: refused, so no one believes they apply. */
static int refuse_unsupported(struct oci_ctx *c, struct json_object *lx)
{
    struct json_object *v = NULL;
    char *domain = NULL;
    int ret;

    if ((ret = oci_get_object(c, lx, "linux", "intelRdt", false, &v)) < 0)
        return ret;
    if (v)
        return oci_fail(c, EINVAL, "linux.intelRdt", "Intel RDT is not supported");
    v = NULL;
    if ((ret = oci_get_object(c, lx, "linux", "timeOffsets", false, &v)) < 0)
        return ret;
    if (v && json_object_object_length(v) > 0)
        return oci_fail(c, EINVAL, "linux.timeOffsets", "time namespace offsets are not supported");
    v = NULL;
    if ((ret = oci_get_object(c, lx, "linux", "personality", false, &v)) < 0 || !v)
        return ret;
    if ((ret = oci_get_string(c, v, "linux.personality", "domain", true, &domain)) < 0)
        return ret;
    if (strcmp(domain, "LINUX32") == 0)
        ret = oci_fail(c, EINVAL, "linux.personality.domain",
                       "LINUX32 is not supported: the sandbox runs 64-bit programs only");
    else if (strcmp(domain, "LINUX") != 0)
        ret = oci_fail(c, EINVAL, "linux.personality.domain", "unknown domain \"%s\"", domain);
    free(domain);
    return ret;
}

int oci_parse_linux_rest(struct oci_ctx *c, struct json_object *lx, struct oci_spec *spec)
{
    int ret;

    if ((ret = parse_resources(c, lx, spec)) < 0 || (ret = parse_devices(c, lx, spec)) < 0 ||
        (ret = parse_seccomp(c, lx, spec)) < 0)
        return ret;
    return refuse_unsupported(c, lx);
}

void oci_linux_rest_free(struct oci_spec *spec)
{
    free(spec->resources_json);
    free(spec->seccomp_json);
    for (size_t i = 0; i < spec->n_devices; i++)
        free(spec->devices[i].path);
    free(spec->devices);
}
