/* Rules across config.json's sections, checked once every field is parsed: the ones runc's
 * validator applies that no single field shows. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "runsc/oci/parse.h"

static const struct oci_namespace *find_ns(const struct oci_spec *spec, enum oci_ns_type type)
{
    for (size_t i = 0; i < spec->n_namespaces; i++) {
        if (spec->namespaces[i].type == type)
            return &spec->namespaces[i];
    }
    return NULL;
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
    return 0;
}
