/* A container's init as its OCI spec describes it: resource limits, noNewPrivileges, the
 * capability bounding set, oomScoreAdj, umask, and which linux.sysctl entries the sandbox can
 * honour. User and groups go through kernel_config (boot.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "boot/boot.h"
#include "runsc/oci/oci.h"
#include "sentry/kernel/kernel.h"
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

/* sysctls the sandbox accepts: the network ones Docker and Kubernetes set by default (its
 * netstack lets any user bind low ports and open ICMP sockets already), and the IPC and UTS
 * ones whose values the sentry has as fixed limits (taken, not applied). */
static const char *const accepted_sysctls[] = {
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "kernel.shm_rmid_forced",
    "kernel.shmmax",
    "kernel.shmall",
    "kernel.shmmni",
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
};

int boot_spec_check_sysctl(const struct oci_spec *spec, char *why, size_t whylen)
{
    for (size_t i = 0; i < spec->n_sysctl; i++) {
        const struct oci_key_value *kv = &spec->sysctl[i];
        bool ok = false;
        for (size_t j = 0; j < sizeof(accepted_sysctls) / sizeof(accepted_sysctls[0]); j++)
            ok |= strcmp(kv->key, accepted_sysctls[j]) == 0;
        /* kernel.domainname and kernel.hostname are the UTS names the spec sets elsewhere:
         * taken when they agree with it. */
        if (strcmp(kv->key, "kernel.hostname") == 0)
            ok = spec->hostname && strcmp(kv->value, spec->hostname) == 0;
        if (strcmp(kv->key, "kernel.domainname") == 0)
            ok = spec->domainname && strcmp(kv->value, spec->domainname) == 0;
        if (!ok) {
            snprintf(why, whylen,
                     "linux.sysctl: %s is not supported by the sandbox (supported: "
                     "net.ipv4.ip_unprivileged_port_start, net.ipv4.ping_group_range, "
                     "net.ipv4.ip_local_port_range, net.ipv4.tcp_syncookies, kernel.shm*, "
                     "kernel.msg*, kernel.sem)",
                     kv->key);
            return -EINVAL;
        }
        log_info("sysctl %s=%s: accepted, the sandbox's value stays", kv->key, kv->value);
    }
    return 0;
}
