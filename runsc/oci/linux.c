/* config.json "linux" (runtime-spec config-linux.md): namespaces, id mappings, sysctls, masked and
 * read-only paths and the small string fields. Resources, devices and seccomp: linux_res.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runsc/oci/parse.h"

static const char *const ns_names[] = {
    [OCI_NS_PID] = "pid",       [OCI_NS_NETWORK] = "network", [OCI_NS_MOUNT] = "mount",
    [OCI_NS_IPC] = "ipc",       [OCI_NS_UTS] = "uts",         [OCI_NS_USER] = "user",
    [OCI_NS_CGROUP] = "cgroup", [OCI_NS_TIME] = "time",
};

#define NS_KINDS (sizeof(ns_names) / sizeof(ns_names[0]))

static int parse_namespaces(struct oci_ctx *c, struct json_object *lx, struct oci_spec *spec)
{
    struct json_object *arr = NULL;
    char path[OCI_PATH_LEN], field[OCI_PATH_LEN];
    char *type = NULL;
    int ret = oci_get_array(c, lx, "linux", "namespaces", false, &arr);

    if (ret < 0 || !arr)
        return ret;
    size_t n = json_object_array_length(arr);
    spec->namespaces = calloc(n ? n : 1, sizeof(*spec->namespaces));
    if (!spec->namespaces)
        return oci_fail_nomem(c, "linux.namespaces");
    for (size_t i = 0; i < n; i++) {
        struct json_object *ns = json_object_array_get_idx(arr, i);
        struct oci_namespace *out = &spec->namespaces[i];
        size_t k;

        oci_path_index(path, "linux.namespaces", i);
        if ((ret = oci_value_object(c, ns, path)) < 0 ||
            (ret = oci_get_string(c, ns, path, "type", true, &type)) < 0)
            goto out;
        oci_path_key(field, path, "type");
        for (k = 0; k < NS_KINDS && strcmp(ns_names[k], type) != 0; k++)
            ;
        if (k == NS_KINDS) {
            ret = oci_fail(c, EINVAL, field, "unknown namespace type \"%s\"", type);
            goto out;
        }
        for (size_t j = 0; j < i; j++) {
            if (spec->namespaces[j].type == (enum oci_ns_type)k) {
                ret = oci_fail(c, EINVAL, field, "duplicate namespace type \"%s\"", type);
                goto out;
            }
        }
        out->type = (enum oci_ns_type)k;
        spec->n_namespaces = i + 1;
        if ((ret = oci_get_string(c, ns, path, "path", false, &out->path)) < 0)
            goto out;
        if (out->path && out->path[0] != '/') {
            ret = oci_fail(c, EINVAL, oci_path_key(field, path, "path"),
                           "\"%s\" is not an absolute path", out->path);
            goto out;
        }
        free(type);
        type = NULL;
    }
out:
    free(type);
    return ret;
}

static int parse_mappings(struct oci_ctx *c, struct json_object *lx, const char *key,
                          struct oci_id_mapping **out, size_t *n_out)
{
    struct json_object *arr = NULL;
    char parent[OCI_PATH_LEN], path[OCI_PATH_LEN];
    int ret = oci_get_array(c, lx, "linux", key, false, &arr);

    if (ret < 0 || !arr)
        return ret;
    oci_path_key(parent, "linux", key);
    size_t n = json_object_array_length(arr);
    *out = calloc(n ? n : 1, sizeof(**out));
    if (!*out)
        return oci_fail_nomem(c, parent);
    for (size_t i = 0; i < n; i++) {
        struct json_object *m = json_object_array_get_idx(arr, i);
        struct oci_id_mapping *map = &(*out)[i];

        oci_path_index(path, parent, i);
        if ((ret = oci_value_object(c, m, path)) < 0 ||
            (ret = oci_get_u32(c, m, path, "containerID", true, &map->container_id, NULL)) < 0 ||
            (ret = oci_get_u32(c, m, path, "hostID", true, &map->host_id, NULL)) < 0 ||
            (ret = oci_get_u32(c, m, path, "size", true, &map->size, NULL)) < 0)
            return ret;
        if (map->size == 0 || (uint64_t)map->container_id + map->size - 1 > UINT32_MAX ||
            (uint64_t)map->host_id + map->size - 1 > UINT32_MAX)
            return oci_fail(c, EINVAL, path, "size %u is zero or runs past the last id", map->size);
    }
    *n_out = n;
    return 0;
}

/* maskedPaths and readonlyPaths: absolute paths in the container. */
static int parse_path_list(struct oci_ctx *c, struct json_object *lx, const char *key, char ***out)
{
    char path[OCI_PATH_LEN], parent[OCI_PATH_LEN];
    int ret = oci_get_strv(c, lx, "linux", key, false, false, out, NULL);

    if (ret < 0 || !*out)
        return ret;
    oci_path_key(parent, "linux", key);
    for (size_t i = 0; (*out)[i]; i++) {
        if ((*out)[i][0] != '/')
            return oci_fail(c, EINVAL, oci_path_index(path, parent, i),
                            "\"%s\" is not an absolute path", (*out)[i]);
    }
    return 0;
}

static int parse_propagation(struct oci_ctx *c, struct json_object *lx, struct oci_spec *spec)
{
    /* The values runc accepts (mount(2) propagation flags, plain or recursive). */
    static const char *const modes[] = {"shared",  "slave",  "private",  "unbindable",
                                        "rshared", "rslave", "rprivate", "runbindable"};
    int ret = oci_get_string(c, lx, "linux", "rootfsPropagation", false, &spec->rootfs_propagation);

    if (ret < 0 || !spec->rootfs_propagation || !spec->rootfs_propagation[0])
        return ret;
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (strcmp(modes[i], spec->rootfs_propagation) == 0)
            return 0;
    }
    return oci_fail(c, EINVAL, "linux.rootfsPropagation", "unknown propagation \"%s\"",
                    spec->rootfs_propagation);
}

int oci_parse_linux(struct oci_ctx *c, struct json_object *root, struct oci_spec *spec)
{
    struct json_object *lx = NULL;
    int ret = oci_get_object(c, root, "", "linux", false, &lx);

    if (ret < 0 || !lx)
        return ret;
    if ((ret = parse_namespaces(c, lx, spec)) < 0 ||
        (ret = parse_mappings(c, lx, "uidMappings", &spec->uid_mappings, &spec->n_uid_mappings)) <
            0 ||
        (ret = parse_mappings(c, lx, "gidMappings", &spec->gid_mappings, &spec->n_gid_mappings)) <
            0 ||
        (ret = oci_get_string_map(c, lx, "linux", "sysctl", &spec->sysctl, &spec->n_sysctl)) < 0 ||
        (ret = parse_path_list(c, lx, "maskedPaths", &spec->masked_paths)) < 0 ||
        (ret = parse_path_list(c, lx, "readonlyPaths", &spec->readonly_paths)) < 0 ||
        (ret = oci_get_string(c, lx, "linux", "cgroupsPath", false, &spec->cgroups_path)) < 0 ||
        (ret = oci_get_string(c, lx, "linux", "mountLabel", false, &spec->mount_label)) < 0 ||
        (ret = parse_propagation(c, lx, spec)) < 0)
        return ret;
    return oci_parse_linux_rest(c, lx, spec);
}

void oci_linux_free(struct oci_spec *spec)
{
    for (size_t i = 0; i < spec->n_namespaces; i++)
        free(spec->namespaces[i].path);
    free(spec->namespaces);
    free(spec->uid_mappings);
    free(spec->gid_mappings);
    oci_key_values_free(spec->sysctl, spec->n_sysctl);
    oci_strv_free(spec->masked_paths);
    oci_strv_free(spec->readonly_paths);
    free(spec->cgroups_path);
    free(spec->cpu_cpus);
    free(spec->cpu_mems);
    free(spec->mount_label);
    free(spec->rootfs_propagation);
    oci_linux_rest_free(spec);
}
