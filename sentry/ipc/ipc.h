/* System V IPC: shared memory segments (shm.c), semaphore sets (sem.c) and message queues
 * (msg.c), sharing one id/key/permission registry per kind (registry.c). The sandbox has one IPC
 * namespace: every process in it sees the same keys and ids.
 *
 * Lock order: each kind has one lock (its registry's); mm.lock may be held when the shm lock is
 * taken (a mapping's get/put/translate), never the other way round; no IPC lock is held across
 * a guest copy or a wait, and task.wait_lock (task_wake) comes after all of them. */
#ifndef RUNSC_SENTRY_IPC_IPC_H
#define RUNSC_SENTRY_IPC_IPC_H

#include <stdbool.h>
#include <stdint.h>

struct task;

/* The fixed limits (include/uapi/linux/{shm,sem}.h); the others are the kernel's sysctls
 * (kernel.shmmax, shmall, shmmni, msgmax, msgmnb, msgmni, sem, shm_rmid_forced), read at each
 * call from the calling task's kernel. */
#define IPC_SHMMIN 1ULL
#define IPC_SEMVMX 32767
/* semop(2)'s operations up to this many are copied onto the stack (Linux's SEMOPM_FAST). */
#define IPC_SEMOPM_FAST 64

/* shmget(2), shmat(2), shmdt(2), shmctl(2): what the syscalls return. */
long ipc_shmget(struct task *t, int32_t key, uint64_t size, int flags);
long ipc_shmat(struct task *t, int id, uint64_t addr, int flags);
long ipc_shmdt(struct task *t, uint64_t addr);
long ipc_shmctl(struct task *t, int id, int cmd, uint64_t buf);
/* A task ended, its address space already released (Linux's exit_shm): with
 * kernel.shm_rmid_forced the segments it created that nothing has attached go; the others
 * forget their creator. */
void ipc_shm_exit(struct task *t);
/* kernel.shm_rmid_forced was just set (Linux's shm_destroy_orphaned): the segments whose
 * creator has ended and that nothing has attached go now. */
void ipc_shm_destroy_orphans(void);

struct timespec;
/* semget(2), semtimedop(2) (semop(2) with a NULL timeout: a relative one, already copied in),
 * semctl(2) with union semun's value in `arg`: what the syscalls return. */
long ipc_semget(struct task *t, int32_t key, int nsems, int flags);
long ipc_semtimedop(struct task *t, int id, uint64_t sops, uint64_t nsops,
                    const struct timespec *timeout);
long ipc_semctl(struct task *t, int id, int semnum, int cmd, uint64_t arg);
/* A new task's SEM_UNDO list (task.sem_undo): shared with its creator's for CLONE_SYSVSEM, else
 * none (clone(2)); execve keeps it (semop(2)). 0 or -ENOMEM. */
int ipc_sem_undo_clone(struct task *parent, struct task *child, bool share);
/* A task ends: the last task of an undo list applies its adjustments (Linux's exit_sem). */
void ipc_sem_undo_exit(struct task *t);

/* msgget(2), msgsnd(2), msgrcv(2), msgctl(2): what the syscalls return. */
long ipc_msgget(struct task *t, int32_t key, int flags);
long ipc_msgsnd(struct task *t, int id, uint64_t msgp, uint64_t msgsz, int flags);
long ipc_msgrcv(struct task *t, int id, uint64_t msgp, uint64_t msgsz, long msgtyp, int flags);
long ipc_msgctl(struct task *t, int id, int cmd, uint64_t buf);

#endif
