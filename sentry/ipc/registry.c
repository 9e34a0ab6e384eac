/* IPC ids, keys and permissions shared by shm.c, sem.c and msg.c (see registry.h). */
#include "sentry/ipc/registry.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/kernel/kernel.h"

struct ipc_object *ipc_registry_at(struct ipc_registry *r, int idx)
{
    if (!r->table || idx < 0 || idx > r->max_idx)
        return NULL;
    return r->table[idx];
}

struct ipc_object *ipc_registry_find(struct ipc_registry *r, int id)
{
    if (id < 0)
        return NULL;
    struct ipc_object *o = ipc_registry_at(r, id % IPC_SEQ_MULTIPLIER);
    /* A stale id (same slot, older sequence number) is EINVAL, as Linux's ipc_checkid. */
    return o && o->id == id ? o : NULL;
}

long ipc_registry_add(struct ipc_registry *r, struct ipc_object *o, struct task *t, int32_t key,
                      int flags)
{
    if (r->in_use >= r->mni || r->in_use >= IPC_SEQ_MULTIPLIER)
        return -ENOSPC;
    /* The lowest free slot is at most in_use: grow the table to hold it. */
    if (r->in_use >= r->cap) {
        int cap = r->cap ? r->cap * 2 : 16;
        if (cap > IPC_SEQ_MULTIPLIER)
            cap = IPC_SEQ_MULTIPLIER;
        struct ipc_object **table = realloc(r->table, (size_t)cap * sizeof(*table));
        if (!table)
            return -ENOMEM;
        memset(table + r->cap, 0, (size_t)(cap - r->cap) * sizeof(*table));
        r->table = table;
        r->cap = cap;
    }
    int idx = 0;
    while (r->table[idx])
        idx++;
    o->id = (int)((r->seq++ % (0x7fffffffU / IPC_SEQ_MULTIPLIER)) * IPC_SEQ_MULTIPLIER) + idx;
    o->key = key;
    o->uid = o->cuid = t->creds.euid;
    o->gid = o->cgid = t->creds.egid;
    o->mode = (unsigned)flags & 0777;
    r->table[idx] = o;
    r->in_use++;
    if (idx > r->max_idx)
        r->max_idx = idx;
    return o->id;
}

void ipc_registry_remove(struct ipc_registry *r, struct ipc_object *o)
{
    int idx = o->id % IPC_SEQ_MULTIPLIER;

    o->key = IPC_PRIVATE;
    if (ipc_registry_at(r, idx) != o)
        return;
    r->table[idx] = NULL;
    r->in_use--;
    while (r->max_idx >= 0 && !r->table[r->max_idx])
        r->max_idx--;
}

long ipc_registry_get(struct ipc_registry *r, struct task *t, int32_t key, int flags,
                      const struct ipc_get_ops *ops, void *arg)
{
    struct ipc_object *found = NULL;
    long ret;

    pthread_mutex_lock(&r->lock);
    if (key == IPC_PRIVATE) {
        ret = ops->create(r, t, key, flags, arg);
        goto out;
    }
    for (int i = 0; i <= r->max_idx && !found; i++)
        if (r->table[i] && r->table[i]->key == key)
            found = r->table[i];
    if (!found) {
        ret = (flags & IPC_CREAT) ? ops->create(r, t, key, flags, arg) : -ENOENT;
        goto out;
    }
    /* Linux's ipcget_public: EEXIST, then the kind's own checks, then the permissions (the
     * requested bits are those of `flags` in any of the three positions). */
    if ((flags & IPC_CREAT) && (flags & IPC_EXCL)) {
        ret = -EEXIST;
        goto out;
    }
    if (ops->check && (ret = ops->check(found, arg)) != 0)
        goto out;
    unsigned f = (unsigned)flags;
    if (!ipc_perm_allows(t, found, ((f >> 6) | (f >> 3) | f) & 7))
        ret = -EACCES;
    else
        ret = found->id;
out:
    pthread_mutex_unlock(&r->lock);
    return ret;
}

bool ipc_perm_allows(const struct task *t, const struct ipc_object *o, unsigned requested)
{
    const struct creds *c = &t->creds;
    unsigned granted = o->mode;

    if (task_capable(t, CAP_IPC_OWNER))
        return true;
    if (c->euid == o->uid || c->euid == o->cuid) {
        granted >>= 6;
    } else {
        bool member = c->egid == o->gid || c->egid == o->cgid;
        for (int i = 0; i < c->ngroups && !member; i++)
            member = c->groups[i] == o->gid || c->groups[i] == o->cgid;
        if (member)
            granted >>= 3;
    }
    return !(requested & ~granted & 7);
}

bool ipc_perm_is_owner(const struct task *t, const struct ipc_object *o)
{
    uid_t e = t->creds.euid;
    return e == 0 || e == o->uid || e == o->cuid;
}

void ipc_perm_fill(const struct ipc_object *o, unsigned extra_mode, struct ipc_perm *out)
{
    out->__key = o->key;
    out->uid = o->uid;
    out->gid = o->gid;
    out->cuid = o->cuid;
    out->cgid = o->cgid;
    out->mode = (unsigned short)(o->mode | extra_mode);
    out->__seq = (unsigned short)(o->id / IPC_SEQ_MULTIPLIER);
}

void ipc_perm_update(struct ipc_object *o, const struct ipc_perm *in)
{
    o->uid = in->uid;
    o->gid = in->gid;
    o->mode = in->mode & 0777;
}
