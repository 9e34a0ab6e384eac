/* System V IPC: shared memory segments (shm.c). The sandbox has one IPC namespace: every process
 * in it sees the same keys and ids.
 *
 * Lock order: the namespace's lock, then a segment's, then mm.lock (shmat/shmdt map and unmap
 * with no IPC lock held). */
#ifndef RUNSC_SENTRY_IPC_IPC_H
#define RUNSC_SENTRY_IPC_IPC_H

#include <stdint.h>

struct task;

/* Linux's defaults (ipc/shm.c, include/uapi/linux/shm.h); /proc/sys/kernel/shmmax and shmall
 * show the same. */
#define IPC_SHMMIN 1ULL
#define IPC_SHMMAX (UINT64_MAX - (1ULL << 24))
#define IPC_SHMMNI 4096

/* shmget(2), shmat(2), shmdt(2), shmctl(2): what the syscalls return. */
long ipc_shmget(struct task *t, int32_t key, uint64_t size, int flags);
long ipc_shmat(struct task *t, int id, uint64_t addr, int flags);
long ipc_shmdt(struct task *t, uint64_t addr);
long ipc_shmctl(struct task *t, int id, int cmd, uint64_t buf);

#endif
