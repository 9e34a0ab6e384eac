/* Rules across config.json's sections, checked once every field is parsed: the ones runc's
 * validator applies that no single field shows. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runsc/oci/parse.h"
#include "sentry/userns/userns.h"

static const struct oci_namespace *find_ns(const struct oci_spec *spec, enum oci_ns_type type)
{
    for (size_t i = 0; i < spec->n_namespaces; i++) {
        if (spec->namespaces[i].type == type)
            return &spec->namespaces[i];
    }
    return NULL;
}

/* One list of mappings into `m`, each extent checked as Linux checks a uid_map write. */
static int build_map(const struct oci_id_mapping *v, size_t n, const char *field,
                     struct userns_map *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    for (size_t i = 0; i < n; i++) {
        int ret = userns_map_add(m, v[i].container_id, v[i].host_id, v[i].size);
        if (ret == 0)
            continue;
        snprintf(err, errlen, "%s[%zu]: %s", field, i,
                 ret == -ENOSPC ? "too many mappings"
                 : v[i].size == 0
                     ? "size must not be 0"
                     : "overlaps another mapping or runs past the last id (4294967294)");
        return -EINVAL;
    }
    return 0;
}

int oci_spec_id_maps(const struct oci_spec *spec, struct userns_map *uids, struct userns_map *gids,
                     char *err, size_t errlen)
{
    int ret =
        build_map(spec->uid_mappings, spec->n_uid_mappings, "linux.uidMappings", uids, err, errlen);
    if (ret == 0)
        ret = build_map(spec->gid_mappings, spec->n_gid_mappings, "linux.gidMappings", gids, err,
                        errlen);
    if (ret)
        return ret;
    /* The process runs as ids that must exist in the namespace (runc's setuid fails). */
    const struct oci_user *u = &spec->process.user;
    if (!userns_valid(uids, u->uid)) {
        snprintf(err, errlen, "process.user.uid: %u is not mapped by linux.uidMappings", u->uid);
        return -EINVAL;
    }
    if (!userns_valid(gids, u->gid)) {
        snprintf(err, errlen, "process.user.gid: %u is not mapped by linux.gidMappings", u->gid);
        return -EINVAL;
    }
    for (size_t i = 0; i < u->n_additional_gids; i++) {
        if (!userns_valid(gids, u->additional_gids[i])) {
            snprintf(err, errlen,
                     "process.user.additionalGids[%zu]: %u is not mapped by linux.gidMappings", i,
                     u->additional_gids[i]);
            return -EINVAL;
        }
    }
    return 0;
}

int oci_check_spec(struct oci_ctx *c, const struct oci_spec *spec)
{
    const struct oci_namespace *user = find_ns(spec, OCI_NS_USER);

    /* runc: "unable to set hostname without a private UTS namespace". */
    if (spec->hostname && spec->hostname[0] && !find_ns(spec, OCI_NS_UTS))
        return oci_fail(c, EINVAL, "hostname", "needs a uts namespace in linux.namespaces");
    if (spec->domainname && spec->domainname[0] && !find_ns(spec, OCI_NS_UTS))
        return oci_fail(c, EINVAL, "domainname", "needs a uts namespace in linux.namespaces");
    /* A new user namespace needs mappings; mappings need a user namespace. */
    if (user && !user->path) {
        if (spec->n_uid_mappings == 0)
            return oci_fail(c, EINVAL, "linux.uidMappings",
                            "a new user namespace needs uid mappings");
        if (spec->n_gid_mappings == 0)
            return oci_fail(c, EINVAL, "linux.gidMappings",
                            "a new user namespace needs gid mappings");
    }
    if (!user && spec->n_uid_mappings)
        return oci_fail(c, EINVAL, "linux.uidMappings",
                        "mappings need a user namespace in linux.namespaces");
    if (!user && spec->n_gid_mappings)
        return oci_fail(c, EINVAL, "linux.gidMappings",
                        "mappings need a user namespace in linux.namespaces");
    /* Sysctls set in the sandbox's own namespaces: a host network or IPC namespace would make
     * them the host's (runc refuses the same). */
    for (size_t i = 0; i < spec->n_sysctl; i++) {
        const char *k = spec->sysctl[i].key;
        const struct oci_namespace *ns = NULL;
        bool net = strncmp(k, "net.", 4) == 0;
        bool ipc = strncmp(k, "kernel.msg", 10) == 0 || strncmp(k, "kernel.sem", 10) == 0 ||
                   strncmp(k, "kernel.shm", 10) == 0 || strncmp(k, "fs.mqueue.", 10) == 0;
        char path[OCI_PATH_LEN];

        if (!net && !ipc)
            continue;
        ns = find_ns(spec, net ? OCI_NS_NETWORK : OCI_NS_IPC);
        if (!ns)
            return oci_fail(c, EINVAL, oci_path_key(path, "linux.sysctl", k),
                            "needs a%s namespace in linux.namespaces", net ? " network" : "n ipc");
    }
    /* The maps themselves: extents that overlap or wrap, and the process's ids in them. */
    struct userns_map *maps = malloc(2 * sizeof(*maps));
    if (!maps)
        return oci_fail_nomem(c, "linux.uidMappings");
    char why[256];
    int ret = oci_spec_id_maps(spec, &maps[0], &maps[1], why, sizeof(why));
    free(maps);
    if (ret) {
        char *colon = strchr(why, ':');
        *colon = '\0';
        return oci_fail(c, EINVAL, why, "%s", colon + 2);
    }
    return 0;
}
