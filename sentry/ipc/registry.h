/* The id, key and permission machinery every System V IPC kind shares (private to sentry/ipc):
 * one registry per kind (shm, sem, msg) maps ids to objects as Linux's ipc_ids does, and
 * implements the xxxget(2) lookup, ipcperms() and the ipc_perm fields of the *_STAT calls.
 *
 * A registry's lock protects its table and the state of every object in it (each kind's file
 * says which fields); it is the only IPC lock of that kind. */
#ifndef RUNSC_SENTRY_IPC_REGISTRY_H
#define RUNSC_SENTRY_IPC_REGISTRY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/types.h>

struct task;

/* Linux's IPCMNI split of an id: index in the low 15 bits, a sequence number above. */
#define IPC_SEQ_MULTIPLIER 32768

/* What every IPC object starts with (its kern_ipc_perm). All fields: the registry's lock. */
struct ipc_object {
    int id;
    int32_t key; /* IPC_PRIVATE once removed, so no xxxget finds it again */
    uid_t uid, cuid;
    gid_t gid, cgid;
    unsigned mode; /* the permission bits (0777) only */
};

struct ipc_registry {
    pthread_mutex_t lock;      /* the table, the counters and every object's state of this kind */
    struct ipc_object **table; /* `cap` slots, grown as needed up to IPC_SEQ_MULTIPLIER */
    int cap;
    int mni; /* the most objects: the kind sets it from its sysctl before each add */
    int in_use;
    int max_idx; /* highest slot in use, or -1 */
    unsigned seq;
};

#define IPC_REGISTRY_INIT(n)                                                                       \
    {                                                                                              \
        .lock = PTHREAD_MUTEX_INITIALIZER, .mni = (n), .max_idx = -1                               \
    }

/* What an xxxget(2) call needs from its kind: `create` makes, registers (ipc_registry_add) and
 * returns the id of a new object or -errno; `check` is Linux's more_checks for an existing one
 * (the size of a segment, the count of a set), 0 or -errno. Both run with the lock held. */
struct ipc_get_ops {
    long (*create)(struct ipc_registry *r, struct task *t, int32_t key, int flags, void *arg);
    int (*check)(struct ipc_object *o, void *arg);
};

/* shmget/semget/msgget: IPC_PRIVATE always creates; otherwise the object with `key`, made with
 * IPC_CREAT, EEXIST with IPC_CREAT|IPC_EXCL, then `check`, then EACCES (Linux's ipcget order).
 * Takes the lock. */
long ipc_registry_get(struct ipc_registry *r, struct task *t, int32_t key, int flags,
                      const struct ipc_get_ops *ops, void *arg);
/* Registers `o` for task `t` with `key` and the permission bits of `flags` in the lowest free
 * slot: its id, or -ENOSPC (`mni` objects exist already), or -ENOMEM. Lock held. */
long ipc_registry_add(struct ipc_registry *r, struct ipc_object *o, struct task *t, int32_t key,
                      int flags);
/* Takes `o` out of the table; its key becomes IPC_PRIVATE. Lock held. */
void ipc_registry_remove(struct ipc_registry *r, struct ipc_object *o);
/* The object with this id, or NULL (lock held). */
struct ipc_object *ipc_registry_find(struct ipc_registry *r, int id);
/* The object in slot `idx` (the *_STAT commands and /proc/sysvipc), or NULL (lock held). */
struct ipc_object *ipc_registry_at(struct ipc_registry *r, int idx);

/* Linux's ipcperms: the owner's, group's or others' bits must grant all of `requested` (4 read,
 * 2 write, 1 exec/alter); root (CAP_IPC_OWNER) always passes. */
bool ipc_perm_allows(const struct task *t, const struct ipc_object *o, unsigned requested);
/* IPC_SET and IPC_RMID: the owner, the creator, or root (CAP_SYS_ADMIN). */
bool ipc_perm_is_owner(const struct task *t, const struct ipc_object *o);
/* The ipc_perm of the *_STAT calls, `extra_mode` or'ed into the mode (SHM_DEST...). */
void ipc_perm_fill(const struct ipc_object *o, unsigned extra_mode, struct ipc_perm *out);
/* IPC_SET's part common to all kinds: the owner's uid and gid and the permission bits. */
void ipc_perm_update(struct ipc_object *o, const struct ipc_perm *in);

#endif
