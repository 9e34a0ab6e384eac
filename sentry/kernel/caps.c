/* How credential changes move the capability sets: the set*uid fix-ups and execve(2)'s
 * transformation, as capabilities(7) states them (Linux: security/commoncap.c). */
#include <linux/capability.h>

#include "sentry/kernel/kernel.h"

/* The capabilities an fsuid change to or from 0 moves (Linux's CAP_FS_MASK). */
#define CAPS_FS_MASK                                                                               \
    (CREDS_CAP_BIT(CAP_CHOWN) | CREDS_CAP_BIT(CAP_DAC_OVERRIDE) |                                  \
     CREDS_CAP_BIT(CAP_DAC_READ_SEARCH) | CREDS_CAP_BIT(CAP_FOWNER) | CREDS_CAP_BIT(CAP_FSETID) |  \
     CREDS_CAP_BIT(CAP_LINUX_IMMUTABLE) | CREDS_CAP_BIT(CAP_MAC_OVERRIDE))

void creds_caps_reset(struct creds *c, uint64_t bounding)
{
    c->cap_bounding = bounding & CREDS_CAP_ALL;
    c->cap_inheritable = 0;
    c->cap_ambient = 0;
    c->cap_permitted = c->euid == 0 || c->ruid == 0 ? c->cap_bounding : 0;
    c->cap_effective = c->euid == 0 ? c->cap_permitted : 0;
}

void creds_caps_fix_setuid(struct creds *c, uid_t old_ruid, uid_t old_euid, uid_t old_suid,
                           bool keepcaps)
{
    /* Leaving uid 0 in all three ids drops the permitted and effective sets unless
     * PR_SET_KEEPCAPS, and the ambient set always. */
    if ((old_ruid == 0 || old_euid == 0 || old_suid == 0) &&
        (c->ruid != 0 && c->euid != 0 && c->suid != 0)) {
        if (!keepcaps) {
            c->cap_permitted = 0;
            c->cap_effective = 0;
        }
        c->cap_ambient = 0;
    }
    /* The effective set follows the effective uid to and from 0. */
    if (old_euid == 0 && c->euid != 0)
        c->cap_effective = 0;
    if (old_euid != 0 && c->euid == 0)
        c->cap_effective = c->cap_permitted;
}

void creds_caps_fix_setfsuid(struct creds *c, uid_t old_fsuid)
{
    if (old_fsuid == 0 && c->fsuid != 0)
        c->cap_effective &= ~CAPS_FS_MASK;
    if (old_fsuid != 0 && c->fsuid == 0)
        c->cap_effective |= c->cap_permitted & CAPS_FS_MASK;
}

void creds_caps_exec(struct creds *c)
{
    /* No file capabilities: a root process is treated as if its file had every permitted and
     * inheritable capability and the effective bit, so P' = (P(inh) | P(bnd)) and the ambient
     * set is cleared; others keep only their ambient set: P' = E' = A. */
    if (c->euid == 0 || c->ruid == 0) {
        c->cap_permitted = (c->cap_inheritable | c->cap_bounding) & CREDS_CAP_ALL;
        c->cap_ambient = 0;
        c->cap_effective = c->euid == 0 ? c->cap_permitted : 0;
        return;
    }
    c->cap_permitted = c->cap_ambient;
    c->cap_effective = c->cap_ambient;
}

void creds_vfs_cred(const struct creds *c, struct vfs_cred *out)
{
    *out = (struct vfs_cred){
        .fsuid = c->fsuid,
        .fsgid = c->fsgid,
        .dac_override = (c->cap_effective & CREDS_CAP_BIT(CAP_DAC_OVERRIDE)) != 0,
        .fowner = (c->cap_effective & CREDS_CAP_BIT(CAP_FOWNER)) != 0,
        .no_chown = !(c->cap_effective & CREDS_CAP_BIT(CAP_CHOWN)),
        .mknod = (c->cap_effective & CREDS_CAP_BIT(CAP_MKNOD)) != 0,
    };
}
