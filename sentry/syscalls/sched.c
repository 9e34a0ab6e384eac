/* Scheduling: sched_yield(2), CPU affinity, policies and parameters (stored: the host schedules
 * the sentry's threads), getcpu(2) and membarrier(2). */
#include <errno.h>
#include <linux/capability.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

#ifndef SCHED_RESET_ON_FORK
#define SCHED_RESET_ON_FORK 0x40000000
#endif

long sys_sched_yield(struct task *t, const struct syscall_args *a)
{
    sched_yield();
    return 0;
}

/* The task `pid` names (0: the caller) for the sched_* calls, or NULL: ESRCH. The task is only
 * read or set by fields the caller owns or that are plain ints; tasks live as long as their
 * group, which a live pid keeps. kernel.lock is dropped before use, as Linux's RCU lookup. */
static struct task *sched_target(struct task *t, int32_t pid)
{
    if (pid == 0 || pid == t->tid)
        return t;
    pthread_mutex_lock(&t->kernel->lock);
    struct task *p = kernel_find_task(t->kernel, pid);
    if (p && (p->released || p->tg->zombie))
        p = NULL;
    pthread_mutex_unlock(&t->kernel->lock);
    return p;
}

/* The sandbox's CPUs: the host's affinity mask of the sentry, and its size in bytes as the raw
 * syscall returns it (nr_cpu_ids bits in whole longs). */
static long host_cpus(cpu_set_t *set)
{
    CPU_ZERO(set);
    long size = syscall(SYS_sched_getaffinity, 0, sizeof(*set), set);
    return size < 0 ? -errno : size;
}

long sys_sched_getaffinity(struct task *t, const struct syscall_args *a)
{
    cpu_set_t set;
    long size = host_cpus(&set);

    if (size < 0)
        return size;
    if (a->a[1] < (uint64_t)size || (a->a[1] & (sizeof(long) - 1)))
        return -EINVAL;
    struct task *p = sched_target(t, (int32_t)a->a[0]);
    if (!p)
        return -ESRCH;
    if (CPU_COUNT(&p->affinity))
        CPU_AND(&set, &set, &p->affinity);
    return mm_copy_out(t->mm, a->a[2], &set, (size_t)size) ? -EFAULT : size;
}

long sys_sched_setaffinity(struct task *t, const struct syscall_args *a)
{
    cpu_set_t want, host;
    long size = host_cpus(&host);

    if (size < 0)
        return size;
    CPU_ZERO(&want);
    /* A shorter mask means the rest are 0; a longer one is read only as far as we keep. */
    size_t len = a->a[1] < sizeof(want) ? a->a[1] : sizeof(want);
    if (mm_copy_in(t->mm, a->a[2], &want, len) != 0)
        return -EFAULT;
    struct task *p = sched_target(t, (int32_t)a->a[0]);
    if (!p)
        return -ESRCH;
    if (p->tg != t->tg && !task_capable(t, CAP_SYS_NICE) && p->creds.euid != t->creds.euid &&
        p->creds.ruid != t->creds.euid)
        return -EPERM;
    CPU_AND(&want, &want, &host);
    if (CPU_COUNT(&want) == 0)
        return -EINVAL; /* no CPU of the sandbox left */
    p->affinity = want;
    return 0;
}

static bool policy_valid(int policy)
{
    return policy == SCHED_OTHER || policy == SCHED_BATCH || policy == SCHED_IDLE ||
           policy == SCHED_FIFO || policy == SCHED_RR;
}

long sys_sched_get_priority_max(struct task *t, const struct syscall_args *a)
{
    int policy = (int)a->a[0];
    if (!policy_valid(policy))
        return -EINVAL;
    return policy == SCHED_FIFO || policy == SCHED_RR ? 99 : 0;
}

long sys_sched_get_priority_min(struct task *t, const struct syscall_args *a)
{
    int policy = (int)a->a[0];
    if (!policy_valid(policy))
        return -EINVAL;
    return policy == SCHED_FIFO || policy == SCHED_RR ? 1 : 0;
}

long sys_sched_getscheduler(struct task *t, const struct syscall_args *a)
{
    if ((int32_t)a->a[0] < 0)
        return -EINVAL;
    struct task *p = sched_target(t, (int32_t)a->a[0]);
    return p ? p->sched_policy : -ESRCH;
}

long sys_sched_getparam(struct task *t, const struct syscall_args *a)
{
    if ((int32_t)a->a[0] < 0 || !a->a[1])
        return -EINVAL;
    if (!sched_target(t, (int32_t)a->a[0]))
        return -ESRCH;
    struct sched_param param = {.sched_priority = 0}; /* only the normal policies are kept */
    return mm_copy_out(t->mm, a->a[1], &param, sizeof(param));
}

/* sched_setscheduler and sched_setparam (policy -1: keep it). Real-time policies need
 * CAP_SYS_NICE or an RLIMIT_RTPRIO; the sentry has no real-time scheduling to give, so it
 * refuses them with EPERM as Linux does without the privilege. */
static long set_scheduler(struct task *t, int32_t pid, int policy, uint64_t param_addr)
{
    struct sched_param param;

    if (pid < 0 || !param_addr)
        return -EINVAL;
    if (mm_copy_in(t->mm, param_addr, &param, sizeof(param)) != 0)
        return -EFAULT;
    struct task *p = sched_target(t, pid);
    if (!p)
        return -ESRCH;
    if (policy == -1)
        policy = p->sched_policy;
    policy &= ~SCHED_RESET_ON_FORK;
    if (!policy_valid(policy))
        return -EINVAL;
    bool rt = policy == SCHED_FIFO || policy == SCHED_RR;
    if (rt ? param.sched_priority < 1 || param.sched_priority > 99 : param.sched_priority != 0)
        return -EINVAL;
    if (rt)
        return -EPERM;
    if (p->tg != t->tg && !task_capable(t, CAP_SYS_NICE) && p->creds.euid != t->creds.euid &&
        p->creds.ruid != t->creds.euid)
        return -EPERM;
    p->sched_policy = policy;
    return 0;
}

long sys_sched_setscheduler(struct task *t, const struct syscall_args *a)
{
    if ((int)a->a[1] < 0)
        return -EINVAL;
    return set_scheduler(t, (int32_t)a->a[0], (int)a->a[1], a->a[2]);
}

long sys_sched_setparam(struct task *t, const struct syscall_args *a)
{
    return set_scheduler(t, (int32_t)a->a[0], -1, a->a[1]);
}

long sys_sched_rr_get_interval(struct task *t, const struct syscall_args *a)
{
    if ((int32_t)a->a[0] < 0)
        return -EINVAL;
    if (!sched_target(t, (int32_t)a->a[0]))
        return -ESRCH;
    /* Linux reports 0 for a normal task without a fair-class slice of its own. */
    struct timespec ts = {0, 0};
    return mm_copy_out(t->mm, a->a[1], &ts, sizeof(ts));
}

long sys_getcpu(struct task *t, const struct syscall_args *a)
{
    unsigned cpu = 0, node = 0;

    /* The sandbox does not say which host CPU a stub runs on (it changes under the guest's feet
     * anyway): a task is on CPU 0 of node 0, as the vDSO's getcpu also says (sentry/vdso), or on
     * the first CPU of its affinity mask when that leaves CPU 0 out. */
    if (CPU_COUNT(&t->affinity) && !CPU_ISSET(0, &t->affinity)) {
        for (unsigned i = 1; i < CPU_SETSIZE; i++) {
            if (CPU_ISSET(i, &t->affinity)) {
                cpu = i;
                break;
            }
        }
    }
    if (a->a[0] && mm_copy_out(t->mm, a->a[0], &cpu, sizeof(cpu)) != 0)
        return -EFAULT;
    if (a->a[1] && mm_copy_out(t->mm, a->a[1], &node, sizeof(node)) != 0)
        return -EFAULT;
    return 0;
}

/* membarrier(2): every barrier is the host's MEMBARRIER_CMD_GLOBAL, which orders memory on
 * every host thread, so on all of the guest's stub threads; the private and expedited commands
 * keep Linux's rule that a process registers first (EPERM otherwise). QUERY reports the host's
 * commands, all of which are served. */
long sys_membarrier(struct task *t, const struct syscall_args *a)
{
    int cmd = (int)a->a[0];
    unsigned flags = (unsigned)a->a[1];
    long host = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

    if (flags &&
        !(cmd == MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ && flags == MEMBARRIER_CMD_FLAG_CPU))
        return -EINVAL;
    if (cmd == MEMBARRIER_CMD_QUERY)
        return host < 0 ? MEMBARRIER_CMD_GLOBAL : host;
    if (host < 0 || cmd < 0 || !(host & cmd) || (cmd & (cmd - 1)))
        return -EINVAL;
    pthread_mutex_lock(&t->tg->lock);
    int registered = t->tg->membarrier_registered;
    switch (cmd) {
    case MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED:
    case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED:
    case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE:
    case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ:
        t->tg->membarrier_registered |= cmd;
        pthread_mutex_unlock(&t->tg->lock);
        return 0;
    default:
        break;
    }
    pthread_mutex_unlock(&t->tg->lock);
    if (cmd == 512) /* MEMBARRIER_CMD_GET_REGISTRATIONS (6.3) */
        return registered;
    /* Each private command needs its registration, which is the next bit up. */
    if ((cmd == MEMBARRIER_CMD_PRIVATE_EXPEDITED ||
         cmd == MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE ||
         cmd == MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ) &&
        !(registered & (cmd << 1)))
        return -EPERM;
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) != 0)
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return 0;
}
