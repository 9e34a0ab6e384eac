/* A container's init as its OCI spec describes it: resource limits, noNewPrivileges, the
 * capability bounding set, oomScoreAdj, umask, and linux.sysctl applied to the kernel's sysctl
 * table. User and groups go through kernel_config (boot.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "boot/boot.h"
#include "runsc/oci/oci.h"
#include "sentry/kernel/kernel.h"
#include "sentry/sysctl/sysctl.h"
#include "sentry/vfs/vfs.h"

void boot_spec_init_settings(const struct oci_spec *spec, struct init_process *init,
                             struct init_rlimit *rlimits)
{
    const struct oci_process *p = &spec->process;
    size_t n = 0;

    for (size_t i = 0; i < p->n_rlimits && n < RLIM_NLIMITS; i++) {
        if (p->rlimits[i].resource < 0 || p->rlimits[i].resource >= RLIM_NLIMITS)
            continue;
        rlimits[n].resource = p->rlimits[i].resource;
        rlimits[n].limit.rlim_cur = p->rlimits[i].soft;
        rlimits[n].limit.rlim_max = p->rlimits[i].hard;
        n++;
    }
    init->rlimits = rlimits;
    init->n_rlimits = n;
    init->no_new_privs = p->no_new_privileges;
    /* A spec without process.capabilities gets none at all, root or not: runc starts such a
     * process with every set empty. */
    init->has_caps = true;
    init->caps = (struct init_caps){0};
    if (p->has_caps)
        init->caps = (struct init_caps){.effective = p->caps.effective,
                                        .permitted = p->caps.permitted,
                                        .inheritable = p->caps.inheritable,
                                        .bounding = p->caps.bounding,
                                        .ambient = p->caps.ambient};
    init->oom_score_adj = p->has_oom_score_adj ? p->oom_score_adj : 0;
    /* runc's default when the spec has none: 0022. */
    init->fs->umask = p->user.has_umask ? p->user.umask & 0777 : 0022;
}

/* linux.sysctl, in the spec's order, as runc writes each to /proc/sys: a key of the kernel's
 * sysctl table through its setter; kernel.hostname and kernel.domainname are the UTS names the
 * spec sets elsewhere, taken when they agree with it. */
int boot_spec_apply_sysctl(const struct oci_spec *spec, struct sysctl_table *table, char *why,
                           size_t whylen)
{
    for (size_t i = 0; i < spec->n_sysctl; i++) {
        const struct oci_key_value *kv = &spec->sysctl[i];
        bool is_uts = false;
        const char *uts = NULL;
        if (strcmp(kv->key, "kernel.hostname") == 0) {
            is_uts = true;
            uts = spec->hostname;
        } else if (strcmp(kv->key, "kernel.domainname") == 0) {
            is_uts = true;
            uts = spec->domainname;
        }
        if (is_uts) {
            if (uts && strcmp(kv->value, uts) == 0)
                continue;
            snprintf(why, whylen, "linux.sysctl: %s: \"%s\" differs from the spec's %s", kv->key,
                     kv->value, kv->key + strlen("kernel."));
            return -EINVAL;
        }
        int id = sysctl_lookup(kv->key);
        if (id < 0 || strchr(kv->key, '/')) {
            snprintf(why, whylen,
                     "linux.sysctl: %s is not supported by the sandbox (supported: "
                     "kernel.hostname, kernel.domainname, kernel.msgmax, kernel.msgmnb, "
                     "kernel.msgmni, kernel.sem, kernel.shmall, kernel.shmmax, kernel.shmmni, "
                     "kernel.shm_rmid_forced, net.core.somaxconn, "
                     "net.ipv4.ip_local_port_range, net.ipv4.ip_unprivileged_port_start, "
                     "net.ipv4.ping_group_range, net.ipv4.tcp_syncookies)",
                     kv->key);
            return -EINVAL;
        }
        if (sysctl_set(table, id, kv->value, strlen(kv->value)) != 0) {
            snprintf(why, whylen, "linux.sysctl: %s: invalid value \"%s\"", kv->key, kv->value);
            return -EINVAL;
        }
    }
    return 0;
}

int boot_spec_check_sysctl(const struct oci_spec *spec, char *why, size_t whylen)
{
    struct sysctl_table scratch;

    sysctl_table_init(&scratch);
    int err = boot_spec_apply_sysctl(spec, &scratch, why, whylen);
    sysctl_table_destroy(&scratch);
    return err;
}
