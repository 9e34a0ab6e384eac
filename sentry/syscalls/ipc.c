/* System V IPC: shmget(2), shmat(2), shmdt(2), shmctl(2), semget(2), semop(2), semtimedop(2),
 * semctl(2), msgget(2), msgsnd(2), msgrcv(2), msgctl(2): argument decoding (sentry/ipc). */
#include <errno.h>
#include <time.h>

#include "sentry/ipc/ipc.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

long sys_shmget(struct task *t, const struct syscall_args *a)
{
    return ipc_shmget(t, (int32_t)a->a[0], a->a[1], (int)a->a[2]);
}

long sys_shmat(struct task *t, const struct syscall_args *a)
{
    return ipc_shmat(t, (int)a->a[0], a->a[1], (int)a->a[2]);
}

long sys_shmdt(struct task *t, const struct syscall_args *a)
{
    return ipc_shmdt(t, a->a[0]);
}

long sys_shmctl(struct task *t, const struct syscall_args *a)
{
    return ipc_shmctl(t, (int)a->a[0], (int)a->a[1], a->a[2]);
}

long sys_semget(struct task *t, const struct syscall_args *a)
{
    return ipc_semget(t, (int32_t)a->a[0], (int)a->a[1], (int)a->a[2]);
}

long sys_semop(struct task *t, const struct syscall_args *a)
{
    return ipc_semtimedop(t, (int)a->a[0], a->a[1], (unsigned)a->a[2], NULL);
}

long sys_semtimedop(struct task *t, const struct syscall_args *a)
{
    struct timespec ts;

    /* The timeout is read before anything else is checked (Linux's ksys_semtimedop). */
    if (a->a[3] && mm_copy_in(t->mm, a->a[3], &ts, sizeof(ts)) != 0)
        return -EFAULT;
    return ipc_semtimedop(t, (int)a->a[0], a->a[1], (unsigned)a->a[2], a->a[3] ? &ts : NULL);
}

long sys_semctl(struct task *t, const struct syscall_args *a)
{
    return ipc_semctl(t, (int)a->a[0], (int)a->a[1], (int)a->a[2], a->a[3]);
}

long sys_msgget(struct task *t, const struct syscall_args *a)
{
    return ipc_msgget(t, (int32_t)a->a[0], (int)a->a[1]);
}

long sys_msgsnd(struct task *t, const struct syscall_args *a)
{
    return ipc_msgsnd(t, (int)a->a[0], a->a[1], a->a[2], (int)a->a[3]);
}

long sys_msgrcv(struct task *t, const struct syscall_args *a)
{
    return ipc_msgrcv(t, (int)a->a[0], a->a[1], a->a[2], (long)a->a[3], (int)a->a[4]);
}

long sys_msgctl(struct task *t, const struct syscall_args *a)
{
    return ipc_msgctl(t, (int)a->a[0], (int)a->a[1], a->a[2]);
}
