/* config.json "process": the container's init: argv, environment, cwd, user, terminal,
 * capabilities, rlimits and the smaller per-process settings (runtime-spec config.md#process). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "runsc/oci/caps.h"
#include "runsc/oci/parse.h"

/* oom_score_adj's range: proc(5). */
#define OOM_SCORE_ADJ_MIN (-1000)
#define OOM_SCORE_ADJ_MAX 1000

static const struct {
    const char *name;
    int resource;
} rlimit_names[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

static int rlimit_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++) {
        if (strcmp(rlimit_names[i].name, name) == 0)
            return rlimit_names[i].resource;
    }
    return -1;
}

/* Each entry NAME=VALUE with a non-empty NAME, as runc requires before it execs init. */
static int check_env(struct oci_ctx *c, char **env)
{
    char path[OCI_PATH_LEN];

    for (size_t i = 0; env && env[i]; i++) {
        const char *eq = strchr(env[i], '=');
        if (!eq || eq == env[i])
            return oci_fail(c, EINVAL, oci_path_index(path, "process.env", i),
                            "\"%s\" is not NAME=VALUE", env[i]);
    }
    return 0;
}

static int parse_user(struct oci_ctx *c, struct json_object *proc, struct oci_user *u)
{
    struct json_object *user = NULL, *gids = NULL;
    char path[OCI_PATH_LEN];
    uint32_t v;
    int ret;

    /* runtime-spec: user is REQUIRED on Linux; runc takes an absent one as uid 0, gid 0. */
    ret = oci_get_object(c, proc, "process", "user", false, &user);
    if (ret < 0 || !user)
        return ret;
    v = 0;
    ret = oci_get_u32(c, user, "process.user", "uid", false, &v, NULL);
    if (ret < 0)
        return ret;
    u->uid = v;
    v = 0;
    ret = oci_get_u32(c, user, "process.user", "gid", false, &v, NULL);
    if (ret < 0)
        return ret;
    u->gid = v;
    ret = oci_get_u32(c, user, "process.user", "umask", false, &v, &u->has_umask);
    if (ret < 0)
        return ret;
    if (u->has_umask) {
        if (v > 0777)
            return oci_fail(c, EINVAL, "process.user.umask", "%#o is not a umask", v);
        u->umask = v;
    }
    ret = oci_get_array(c, user, "process.user", "additionalGids", false, &gids);
    if (ret < 0 || !gids)
        return ret;
    size_t n = json_object_array_length(gids);
    u->additional_gids = calloc(n ? n : 1, sizeof(gid_t));
    if (!u->additional_gids)
        return oci_fail_nomem(c, "process.user.additionalGids");
    for (size_t i = 0; i < n; i++) {
        struct json_object *g = json_object_array_get_idx(gids, i);
        oci_path_index(path, "process.user.additionalGids", i);
        if (!g || !json_object_is_type(g, json_type_int) || json_object_get_int64(g) < 0 ||
            json_object_get_int64(g) > UINT32_MAX)
            return oci_fail(c, EINVAL, path, "must be a gid (0 to 4294967295)");
        u->additional_gids[i] = (gid_t)json_object_get_int64(g);
    }
    u->n_additional_gids = n;
    return 0;
}

static int parse_cap_set(struct oci_ctx *c, struct json_object *caps, const char *key,
                         uint64_t *mask)
{
    char parent[OCI_PATH_LEN], path[OCI_PATH_LEN];
    char **names = NULL;
    size_t n = 0;
    int ret = oci_get_strv(c, caps, "process.capabilities", key, false, false, &names, &n);

    if (ret < 0 || !names)
        return ret;
    oci_path_key(parent, "process.capabilities", key);
    for (size_t i = 0; i < n; i++) {
        int cap = oci_cap_from_name(names[i]);
        if (cap < 0) {
            ret = oci_fail(c, EINVAL, oci_path_index(path, parent, i), "unknown capability \"%s\"",
                           names[i]);
            break;
        }
        *mask |= UINT64_C(1) << cap;
    }
    oci_strv_free(names);
    return ret;
}

static int parse_caps(struct oci_ctx *c, struct json_object *proc, struct oci_process *p)
{
    struct json_object *caps = NULL;
    int ret = oci_get_object(c, proc, "process", "capabilities", false, &caps);

    if (ret < 0 || !caps)
        return ret;
    p->has_caps = true;
    if ((ret = parse_cap_set(c, caps, "bounding", &p->caps.bounding)) < 0 ||
        (ret = parse_cap_set(c, caps, "effective", &p->caps.effective)) < 0 ||
        (ret = parse_cap_set(c, caps, "inheritable", &p->caps.inheritable)) < 0 ||
        (ret = parse_cap_set(c, caps, "permitted", &p->caps.permitted)) < 0 ||
        (ret = parse_cap_set(c, caps, "ambient", &p->caps.ambient)) < 0)
        return ret;
    return 0;
}

static int parse_rlimits(struct oci_ctx *c, struct json_object *proc, struct oci_process *p)
{
    struct json_object *arr = NULL;
    char path[OCI_PATH_LEN], tpath[OCI_PATH_LEN];
    char *type = NULL;
    int ret = oci_get_array(c, proc, "process", "rlimits", false, &arr);

    if (ret < 0 || !arr)
        return ret;
    size_t n = json_object_array_length(arr);
    p->rlimits = calloc(n ? n : 1, sizeof(*p->rlimits));
    if (!p->rlimits)
        return oci_fail_nomem(c, "process.rlimits");
    for (size_t i = 0; i < n; i++) {
        struct json_object *r = json_object_array_get_idx(arr, i);
        struct oci_rlimit *rl = &p->rlimits[i];

        oci_path_index(path, "process.rlimits", i);
        if ((ret = oci_value_object(c, r, path)) < 0 ||
            (ret = oci_get_string(c, r, path, "type", true, &type)) < 0 ||
            (ret = oci_get_u64(c, r, path, "soft", true, &rl->soft, NULL)) < 0 ||
            (ret = oci_get_u64(c, r, path, "hard", true, &rl->hard, NULL)) < 0)
            goto out;
        rl->resource = rlimit_from_name(type);
        if (rl->resource < 0) {
            ret = oci_fail(c, EINVAL, oci_path_key(tpath, path, "type"), "unknown rlimit \"%s\"",
                           type);
            goto out;
        }
        /* runtime-spec: "MUST NOT contain duplicated entries of the same type". */
        for (size_t j = 0; j < i; j++) {
            if (p->rlimits[j].resource == rl->resource) {
                ret = oci_fail(c, EINVAL, oci_path_key(tpath, path, "type"),
                               "duplicate rlimit \"%s\"", type);
                goto out;
            }
        }
        /* setrlimit(2) fails with EINVAL for these; say so now, naming the field. */
        if (rl->soft > rl->hard) {
            ret = oci_fail(c, EINVAL, path, "soft limit %llu is above hard limit %llu",
                           (unsigned long long)rl->soft, (unsigned long long)rl->hard);
            goto out;
        }
        p->n_rlimits = i + 1;
        free(type);
        type = NULL;
    }
out:
    free(type);
    return ret;
}

static int parse_console_size(struct oci_ctx *c, struct json_object *proc, struct oci_process *p)
{
    struct json_object *size = NULL;
    uint32_t h = 0, w = 0;
    int ret = oci_get_object(c, proc, "process", "consoleSize", false, &size);

    if (ret < 0 || !size)
        return ret;
    if ((ret = oci_get_u32(c, size, "process.consoleSize", "height", true, &h, NULL)) < 0 ||
        (ret = oci_get_u32(c, size, "process.consoleSize", "width", true, &w, NULL)) < 0)
        return ret;
    /* struct winsize holds unsigned shorts. */
    if (h > UINT16_MAX || w > UINT16_MAX)
        return oci_fail(c, EINVAL, "process.consoleSize", "%ux%u is larger than 65535x65535", w, h);
    p->console_height = h;
    p->console_width = w;
    return 0;
}

static int parse_small(struct oci_ctx *c, struct json_object *proc, struct oci_process *p)
{
    int64_t adj = 0;
    int ret;

    if ((ret = oci_get_bool(c, proc, "process", "terminal", &p->terminal)) < 0 ||
        (ret = oci_get_bool(c, proc, "process", "noNewPrivileges", &p->no_new_privileges)) < 0 ||
        (ret = oci_get_i64(c, proc, "process", "oomScoreAdj", false, &adj, &p->has_oom_score_adj)) <
            0 ||
        (ret = oci_get_string(c, proc, "process", "apparmorProfile", false, &p->apparmor_profile)) <
            0 ||
        (ret = oci_get_string(c, proc, "process", "selinuxLabel", false, &p->selinux_label)) < 0)
        return ret;
    if (p->has_oom_score_adj) {
        if (adj < OOM_SCORE_ADJ_MIN || adj > OOM_SCORE_ADJ_MAX)
            return oci_fail(c, EINVAL, "process.oomScoreAdj", "%lld is not in -1000..1000",
                            (long long)adj);
        p->oom_score_adj = (int)adj;
    }
    return parse_console_size(c, proc, p);
}

int oci_parse_process(struct oci_ctx *c, struct json_object *root, struct oci_spec *spec)
{
    struct oci_process *p = &spec->process;
    struct json_object *proc = NULL;
    int ret;

    /* The runtime-spec makes process optional until start; every config.json this parser reads
     * is for create or run, which runc refuses without one. */
    ret = oci_get_object(c, root, "", "process", true, &proc);
    if (ret < 0)
        return ret;
    if ((ret = oci_get_strv(c, proc, "process", "args", true, true, &p->args, NULL)) < 0)
        return ret;
    if (!p->args[0][0])
        return oci_fail(c, EINVAL, "process.args[0]", "must not be empty");
    if ((ret = oci_get_strv(c, proc, "process", "env", false, false, &p->env, NULL)) < 0)
        return ret;
    if (!p->env) {
        p->env = calloc(1, sizeof(char *));
        if (!p->env)
            return oci_fail_nomem(c, "process.env");
    }
    if ((ret = check_env(c, p->env)) < 0)
        return ret;
    if ((ret = oci_get_string(c, proc, "process", "cwd", true, &p->cwd)) < 0)
        return ret;
    if (p->cwd[0] != '/')
        return oci_fail(c, EINVAL, "process.cwd", "\"%s\" is not an absolute path", p->cwd);
    if ((ret = parse_user(c, proc, &p->user)) < 0 || (ret = parse_caps(c, proc, p)) < 0 ||
        (ret = parse_rlimits(c, proc, p)) < 0)
        return ret;
    return parse_small(c, proc, p);
}

void oci_process_free(struct oci_process *p)
{
    oci_strv_free(p->args);
    oci_strv_free(p->env);
    free(p->cwd);
    free(p->user.additional_gids);
    free(p->rlimits);
    free(p->apparmor_profile);
    free(p->selinux_label);
}
