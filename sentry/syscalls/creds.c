/* Credentials as the sentry models them for the guest: get*id(2), getres*id(2), getgroups(2). */
#include <errno.h>
#include <linux/capability.h>
#include <string.h>

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
    int size = (int)a->a[0];
    int n = t->creds.ngroups;
    if (size < 0)
        return -EINVAL;
    if (size == 0)
        return n;
    if (size < n)
        return -EINVAL;
    return mm_copy_out(t->mm, a->a[1], t->creds.groups, (size_t)n * sizeof(gid_t)) ? -EFAULT : n;
}

long sys_setgroups(struct task *t, const struct syscall_args *a)
{
    if ((int64_t)a->a[0] < 0 || a->a[0] > 65536)
        return -EINVAL;
    if (!task_capable(t, CAP_SETGID))
        return -EPERM;
    if (a->a[0] > CREDS_MAX_GROUPS)
        return -EINVAL;
    gid_t groups[CREDS_MAX_GROUPS];
    size_t n = (size_t)a->a[0];
    if (n && mm_copy_in(t->mm, a->a[1], groups, n * sizeof(gid_t)))
        return -EFAULT;
    for (size_t i = 0; i < n; i++) {
        if (!userns_valid(&t->kernel->cfg.gid_map, groups[i]))
            return -EINVAL;
    }
    memcpy(t->creds.groups, groups, n * sizeof(gid_t));
    t->creds.ngroups = (int)n;
    return 0;
}

/* The ids a set*id call names, as setresuid(2) takes them: -1 leaves one unchanged. The
 * privileged (CAP_SETUID/CAP_SETGID) may set any value; others
 * only one of their current real, effective or saved ids. */
struct id_change {
    uint32_t r, e, s; /* (uint32_t)-1: unchanged */
};

#define ID_KEEP ((uint32_t)-1)

/* Every id named (not ID_KEEP) exists in the sandbox's user namespace: Linux checks this
 * (make_kuid) before any permission, with EINVAL. */
static bool ids_mapped(const struct userns_map *m, struct id_change c)
{
    return (c.r == ID_KEEP || userns_valid(m, c.r)) && (c.e == ID_KEEP || userns_valid(m, c.e)) &&
           (c.s == ID_KEEP || userns_valid(m, c.s));
}

static bool id_allowed(uint32_t v, uint32_t r, uint32_t e, uint32_t s)
{
    return v == ID_KEEP || v == r || v == e || v == s;
}

static long set_ids(uint32_t *r, uint32_t *e, uint32_t *s, uint32_t *fs, bool privileged,
                    struct id_change c)
{
    if (!privileged && (!id_allowed(c.r, *r, *e, *s) || !id_allowed(c.e, *r, *e, *s) ||
                        !id_allowed(c.s, *r, *e, *s)))
        return -EPERM;
    if (c.r != ID_KEEP)
        *r = c.r;
    if (c.e != ID_KEEP)
        *e = c.e;
    if (c.s != ID_KEEP)
        *s = c.s;
    *fs = *e;
    return 0;
}

/* A uid change went through: the capability sets follow it (capabilities(7), "Effect of user
 * ID changes on capabilities"). */
static long fix_caps(struct task *t, const struct creds *old, long ret)
{
    if (ret == 0)
        creds_caps_fix_setuid(&t->creds, old->ruid, old->euid, old->suid, t->keepcaps);
    return ret;
}

long sys_setresuid(struct task *t, const struct syscall_args *a)
{
    struct creds *c = &t->creds, old = *c;
    struct id_change ch = {(uint32_t)a->a[0], (uint32_t)a->a[1], (uint32_t)a->a[2]};
    if (!ids_mapped(&t->kernel->cfg.uid_map, ch))
        return -EINVAL;
    return fix_caps(
        t, &old, set_ids(&c->ruid, &c->euid, &c->suid, &c->fsuid, task_capable(t, CAP_SETUID), ch));
}

long sys_setresgid(struct task *t, const struct syscall_args *a)
{
    struct creds *c = &t->creds;
    struct id_change ch = {(uint32_t)a->a[0], (uint32_t)a->a[1], (uint32_t)a->a[2]};
    if (!ids_mapped(&t->kernel->cfg.gid_map, ch))
        return -EINVAL;
    return set_ids(&c->rgid, &c->egid, &c->sgid, &c->fsgid, task_capable(t, CAP_SETGID), ch);
}

/* setreuid(2): the real id may become the effective one; the effective id any of the three.
 * The saved id follows the new effective id when the real id is set or the effective id
 * becomes something other than the old real id. */
static long set_re(uint32_t *r, uint32_t *e, uint32_t *s, uint32_t *fs, bool privileged,
                   uint32_t nr, uint32_t ne)
{
    uint32_t old_r = *r;
    if (!privileged) {
        if (nr != ID_KEEP && nr != *r && nr != *e)
            return -EPERM;
        if (ne != ID_KEEP && ne != *r && ne != *e && ne != *s)
            return -EPERM;
    }
    if (nr != ID_KEEP)
        *r = nr;
    if (ne != ID_KEEP)
        *e = ne;
    if (nr != ID_KEEP || (ne != ID_KEEP && ne != old_r))
        *s = *e;
    *fs = *e;
    return 0;
}

long sys_setreuid(struct task *t, const struct syscall_args *a)
{
    struct creds *c = &t->creds, old = *c;
    if (!ids_mapped(&t->kernel->cfg.uid_map,
                    (struct id_change){(uint32_t)a->a[0], (uint32_t)a->a[1], ID_KEEP}))
        return -EINVAL;
    return fix_caps(t, &old,
                    set_re(&c->ruid, &c->euid, &c->suid, &c->fsuid, task_capable(t, CAP_SETUID),
                           (uint32_t)a->a[0], (uint32_t)a->a[1]));
}

long sys_setregid(struct task *t, const struct syscall_args *a)
{
    struct creds *c = &t->creds;
    if (!ids_mapped(&t->kernel->cfg.gid_map,
                    (struct id_change){(uint32_t)a->a[0], (uint32_t)a->a[1], ID_KEEP}))
        return -EINVAL;
    return set_re(&c->rgid, &c->egid, &c->sgid, &c->fsgid, task_capable(t, CAP_SETGID),
                  (uint32_t)a->a[0], (uint32_t)a->a[1]);
}

/* setuid(2): privileged, all three ids; otherwise only the effective id, to the real or saved. */
long sys_setuid(struct task *t, const struct syscall_args *a)
{
    struct creds *c = &t->creds, old = *c;
    uint32_t id = (uint32_t)a->a[0];
    if (!userns_valid(&t->kernel->cfg.uid_map, id))
        return -EINVAL;
    if (task_capable(t, CAP_SETUID))
        return fix_caps(
            t, &old,
            set_ids(&c->ruid, &c->euid, &c->suid, &c->fsuid, true, (struct id_change){id, id, id}));
    return fix_caps(t, &old,
                    set_ids(&c->ruid, &c->euid, &c->suid, &c->fsuid, false,
                            (struct id_change){ID_KEEP, id, ID_KEEP}));
}

long sys_setgid(struct task *t, const struct syscall_args *a)
{
    struct creds *c = &t->creds;
    uint32_t id = (uint32_t)a->a[0];
    if (!userns_valid(&t->kernel->cfg.gid_map, id))
        return -EINVAL;
    if (task_capable(t, CAP_SETGID))
        return set_ids(&c->rgid, &c->egid, &c->sgid, &c->fsgid, true,
                       (struct id_change){id, id, id});
    return set_ids(&c->rgid, &c->egid, &c->sgid, &c->fsgid, false,
                   (struct id_change){ID_KEEP, id, ID_KEEP});
}

/* setfsuid(2)/setfsgid(2): return the old value whether or not it changed. */
long sys_setfsuid(struct task *t, const struct syscall_args *a)
{
    struct creds *c = &t->creds;
    uint32_t old = c->fsuid, id = (uint32_t)a->a[0];
    if (!userns_valid(&t->kernel->cfg.uid_map, id))
        return old;
    if (task_capable(t, CAP_SETUID) || id == c->ruid || id == c->euid || id == c->suid ||
        id == c->fsuid) {
        c->fsuid = id;
        creds_caps_fix_setfsuid(c, old);
    }
    return old;
}

long sys_setfsgid(struct task *t, const struct syscall_args *a)
{
    struct creds *c = &t->creds;
    uint32_t old = c->fsgid, id = (uint32_t)a->a[0];
    if (!userns_valid(&t->kernel->cfg.gid_map, id))
        return old;
    if (task_capable(t, CAP_SETGID) || id == c->rgid || id == c->egid || id == c->sgid ||
        id == c->fsgid)
        c->fsgid = id;
    return old;
}
