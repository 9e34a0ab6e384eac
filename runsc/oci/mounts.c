/* config.json "mounts" (runtime-spec config.md#mounts) and "hooks" (config.md#posix-platform-
 * hooks): both arrays of small objects with paths, parsed the same way. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runsc/oci/parse.h"

static bool has_bind_option(char **options)
{
    for (size_t i = 0; options && options[i]; i++) {
        if (strcmp(options[i], "bind") == 0 || strcmp(options[i], "rbind") == 0)
            return true;
    }
    return false;
}

static int parse_mount(struct oci_ctx *c, struct json_object *m, const char *path,
                       struct oci_mount *out)
{
    char field[OCI_PATH_LEN];
    struct json_object *map = NULL;
    int ret;

    if ((ret = oci_value_object(c, m, path)) < 0 ||
        (ret = oci_get_string(c, m, path, "destination", true, &out->destination)) < 0 ||
        (ret = oci_get_string(c, m, path, "type", false, &out->type)) < 0 ||
        (ret = oci_get_string(c, m, path, "source", false, &out->source)) < 0 ||
        (ret = oci_get_strv(c, m, path, "options", false, false, &out->options, &out->n_options)) <
            0)
        return ret;
    /* The spec lets relative destinations through for old configs (as relative to "/"); no
     * engine sends one, and refusing keeps every path in the sandbox absolute. */
    if (out->destination[0] != '/')
        return oci_fail(c, EINVAL, oci_path_key(field, path, "destination"),
                        "\"%s\" is not an absolute path", out->destination);
    /* Idmapped mounts came with runtime-spec 1.1 and runc 1.2; we cannot honour them. */
    static const char *const mapping_keys[] = {"uidMappings", "gidMappings"};
    for (size_t i = 0; i < 2; i++) {
        map = NULL;
        if ((ret = oci_get_array(c, m, path, mapping_keys[i], false, &map)) < 0)
            return ret;
        if (map && json_object_array_length(map) > 0)
            return oci_fail(c, EINVAL, oci_path_key(field, path, mapping_keys[i]),
                            "idmapped mounts are not supported");
    }
    bool bind = has_bind_option(out->options);
    if (bind && (!out->type || strcmp(out->type, "none") == 0 || !out->type[0])) {
        free(out->type);
        out->type = strdup("bind");
        if (!out->type)
            return oci_fail_nomem(c, path);
    }
    if (!out->type || !out->type[0])
        return oci_fail(c, EINVAL, oci_path_key(field, path, "type"),
                        "missing required field (only a bind mount may leave it out)");
    if (bind && (!out->source || !out->source[0]))
        return oci_fail(c, EINVAL, oci_path_key(field, path, "source"),
                        "missing required field for a bind mount");
    if (!out->options) {
        out->options = calloc(1, sizeof(char *));
        if (!out->options)
            return oci_fail_nomem(c, path);
    }
    return 0;
}

int oci_parse_mounts(struct oci_ctx *c, struct json_object *root, struct oci_spec *spec)
{
    struct json_object *arr = NULL;
    char path[OCI_PATH_LEN];
    int ret = oci_get_array(c, root, "", "mounts", false, &arr);

    if (ret < 0 || !arr)
        return ret;
    size_t n = json_object_array_length(arr);
    spec->mounts = calloc(n ? n : 1, sizeof(*spec->mounts));
    if (!spec->mounts)
        return oci_fail_nomem(c, "mounts");
    for (size_t i = 0; i < n; i++) {
        /* Counted first, so a half-parsed mount is freed with the rest. */
        spec->n_mounts = i + 1;
        ret = parse_mount(c, json_object_array_get_idx(arr, i), oci_path_index(path, "mounts", i),
                          &spec->mounts[i]);
        if (ret < 0)
            return ret;
    }
    return 0;
}

void oci_mounts_free(struct oci_mount *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(m[i].destination);
        free(m[i].type);
        free(m[i].source);
        oci_strv_free(m[i].options);
    }
    free(m);
}

static const char *const hook_keys[OCI_HOOK_KINDS] = {
    [OCI_HOOK_PRESTART] = "prestart",
    [OCI_HOOK_CREATE_RUNTIME] = "createRuntime",
    [OCI_HOOK_CREATE_CONTAINER] = "createContainer",
    [OCI_HOOK_START_CONTAINER] = "startContainer",
    [OCI_HOOK_POSTSTART] = "poststart",
    [OCI_HOOK_POSTSTOP] = "poststop",
};

static int parse_hook(struct oci_ctx *c, struct json_object *h, const char *path,
                      struct oci_hook *out)
{
    char field[OCI_PATH_LEN];
    int64_t timeout = 0;
    bool has_timeout = false;
    int ret;

    if ((ret = oci_value_object(c, h, path)) < 0 ||
        (ret = oci_get_string(c, h, path, "path", true, &out->path)) < 0 ||
        (ret = oci_get_strv(c, h, path, "args", false, false, &out->args, NULL)) < 0 ||
        (ret = oci_get_strv(c, h, path, "env", false, false, &out->env, NULL)) < 0 ||
        (ret = oci_get_i64(c, h, path, "timeout", false, &timeout, &has_timeout)) < 0)
        return ret;
    if (out->path[0] != '/')
        return oci_fail(c, EINVAL, oci_path_key(field, path, "path"),
                        "\"%s\" is not an absolute path", out->path);
    /* runtime-spec: "timeout ... MUST be greater than zero". */
    if (has_timeout && (timeout <= 0 || timeout > INT32_MAX))
        return oci_fail(c, EINVAL, oci_path_key(field, path, "timeout"),
                        "%lld is not a number of seconds above zero", (long long)timeout);
    out->timeout = (int)timeout;
    return 0;
}

int oci_parse_hooks(struct oci_ctx *c, struct json_object *root, struct oci_spec *spec)
{
    struct json_object *hooks = NULL;
    char parent[OCI_PATH_LEN], path[OCI_PATH_LEN];
    int ret = oci_get_object(c, root, "", "hooks", false, &hooks);

    if (ret < 0 || !hooks)
        return ret;
    for (int k = 0; k < OCI_HOOK_KINDS; k++) {
        struct json_object *arr = NULL;
        if ((ret = oci_get_array(c, hooks, "hooks", hook_keys[k], false, &arr)) < 0)
            return ret;
        if (!arr)
            continue;
        oci_path_key(parent, "hooks", hook_keys[k]);
        size_t n = json_object_array_length(arr);
        spec->hooks[k] = calloc(n ? n : 1, sizeof(struct oci_hook));
        if (!spec->hooks[k])
            return oci_fail_nomem(c, parent);
        for (size_t i = 0; i < n; i++) {
            spec->n_hooks[k] = i + 1;
            ret = parse_hook(c, json_object_array_get_idx(arr, i), oci_path_index(path, parent, i),
                             &spec->hooks[k][i]);
            if (ret < 0)
                return ret;
        }
    }
    return 0;
}

void oci_hooks_free(struct oci_spec *spec)
{
    for (int k = 0; k < OCI_HOOK_KINDS; k++) {
        for (size_t i = 0; i < spec->n_hooks[k]; i++) {
            free(spec->hooks[k][i].path);
            oci_strv_free(spec->hooks[k][i].args);
            oci_strv_free(spec->hooks[k][i].env);
        }
        free(spec->hooks[k]);
    }
}
