/* Credentials as the sentry models them for the guest: get*id(2), getres*id(2), getgroups(2). */
#include <errno.h>

#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

long sys_getuid(struct task *t, const struct syscall_args *a)
{
    return t->creds.ruid;
}

long sys_geteuid(struct task *t, const struct syscall_args *a)
{
    return t->creds.euid;
}

long sys_getgid(struct task *t, const struct syscall_args *a)
{
    return t->creds.rgid;
}

long sys_getegid(struct task *t, const struct syscall_args *a)
{
    return t->creds.egid;
}

static long copy_out_ids(struct task *t, const struct syscall_args *a, const uint32_t ids[3])
{
    for (int i = 0; i < 3; i++) {
        if (mm_copy_out(t->mm, a->a[i], &ids[i], sizeof(ids[i])) != 0)
            return -EFAULT;
    }
    return 0;
}

long sys_getresuid(struct task *t, const struct syscall_args *a)
{
    uint32_t ids[3] = {t->creds.ruid, t->creds.euid, t->creds.suid};
    return copy_out_ids(t, a, ids);
}

long sys_getresgid(struct task *t, const struct syscall_args *a)
{
    uint32_t ids[3] = {t->creds.rgid, t->creds.egid, t->creds.sgid};
    return copy_out_ids(t, a, ids);
}

long sys_getgroups(struct task *t, const struct syscall_args *a)
{
    /* No supplementary groups yet. */
    return (int)a->a[0] < 0 ? -EINVAL : 0;
}
