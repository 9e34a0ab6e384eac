/* System information and limits: getrandom(2), prlimit64(2), getrlimit(2),
 * setrlimit(2), sysinfo(2), getcwd(2), umask(2), getpriority(2), setpriority(2). */
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "arch.h"
#include "sentry/memfile/memfile.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"
#include "sentry/vfs/vfs.h"

long sys_getrandom(struct task *t, const struct syscall_args *a)
{
    unsigned flags = (unsigned)a->a[2];
    char buf[4096];
    size_t len = a->a[1], done = 0;

    if (flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE))
        return -EINVAL;
    if ((flags & GRND_INSECURE) && (flags & GRND_RANDOM))
        return -EINVAL;
    /* Linux returns at most INT_MAX >> 6 bytes per call... MAX_RW_COUNT in fact; keep a bound. */
    if (len > (32U << 20))
        len = 32U << 20;
    while (done < len) {
        size_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);
        ssize_t got = getrandom(buf, n, 0);
        if (got <= 0)
            return done ? (long)done : -EIO;
        ssize_t out = mm_copy_out_partial(t->mm, a->a[0] + done, buf, (size_t)got);
        if (out < 0)
            return done ? (long)done : -EFAULT;
        done += (size_t)out;
        if (out < got)
            break;
    }
    return (long)done;
}

/* check_prlimit_permission: another process's limits need its real, effective and saved ids
 * all equal to the caller's real ones, or CAP_SYS_RESOURCE. */
static bool prlimit_allowed(const struct task *t, const struct task *target)
{
    const struct creds *c = &t->creds, *tc = &target->creds;

    if (t->tg == target->tg || task_capable(t, CAP_SYS_RESOURCE))
        return true;
    return c->ruid == tc->ruid && c->ruid == tc->euid && c->ruid == tc->suid &&
           c->rgid == tc->rgid && c->rgid == tc->egid && c->rgid == tc->sgid;
}

/* do_prlimit: reads and (with new_addr) replaces a limit of the process of task `pid` (0: the
 * caller). The target is looked up and changed under kernel.lock, so it can't be reaped
 * meanwhile; its mm takes the new limits after (mm locks never nest inside kernel locks). */
static long rlimit_get_set(struct task *t, int32_t pid, unsigned resource, uint64_t new_addr,
                           uint64_t old_addr)
{
    struct kernel *k = t->kernel;
    struct rlimit lim, old;
    struct mm_limits ml;
    struct mm *mm = NULL;
    long ret = 0;

    if (resource >= RLIM_NLIMITS)
        return -EINVAL;
    if (new_addr) {
        if (mm_copy_in(t->mm, new_addr, &lim, sizeof(lim)) != 0)
            return -EFAULT;
        if (lim.rlim_cur > lim.rlim_max)
            return -EINVAL;
        /* sysctl_nr_open bounds RLIMIT_NOFILE even for root. */
        if (resource == RLIMIT_NOFILE && lim.rlim_max > FDTABLE_MAX)
            return -EPERM;
    }
    pthread_mutex_lock(&k->lock);
    struct task *target = pid == 0 ? t : pid > 0 ? kernel_find_task(k, pid) : NULL;
    if (!target || target->tg->zombie) {
        ret = -ESRCH;
        goto out;
    }
    if (!prlimit_allowed(t, target)) {
        ret = -EPERM;
        goto out;
    }
    struct thread_group *tg = target->tg;
    pthread_mutex_lock(&tg->lock);
    old = tg->rlimits[resource];
    if (new_addr && lim.rlim_max > old.rlim_max && !task_capable(t, CAP_SYS_RESOURCE))
        ret = -EPERM; /* raising a hard limit needs CAP_SYS_RESOURCE */
    else if (new_addr)
        tg->rlimits[resource] = lim;
    pthread_mutex_unlock(&tg->lock);
    if (!ret && new_addr && (resource == RLIMIT_AS || resource == RLIMIT_DATA ||
                             resource == RLIMIT_STACK || resource == RLIMIT_MEMLOCK)) {
        task_mm_limits(target, &ml);
        mm = task_get_mm(target);
    }
out:
    pthread_mutex_unlock(&k->lock);
    if (mm) {
        mm_set_limits(mm, &ml);
        mm_put(mm);
    }
    if (ret)
        return ret;
    if (old_addr && mm_copy_out(t->mm, old_addr, &old, sizeof(old)) != 0)
        return -EFAULT;
    return 0;
}

long sys_prlimit64(struct task *t, const struct syscall_args *a)
{
    return rlimit_get_set(t, (int32_t)a->a[0], (unsigned)a->a[1], a->a[2], a->a[3]);
}

long sys_getrlimit(struct task *t, const struct syscall_args *a)
{
    return rlimit_get_set(t, 0, (unsigned)a->a[0], 0, a->a[1]);
}

long sys_setrlimit(struct task *t, const struct syscall_args *a)
{
    return rlimit_get_set(t, 0, (unsigned)a->a[0], a->a[1], 0);
}

long sys_sysinfo(struct task *t, const struct syscall_args *a)
{
    struct sysinfo host, si;
    struct timespec now;

    sysinfo(&host);
    memset(&si, 0, sizeof(si));
    clock_gettime(CLOCK_MONOTONIC, &now);
    si.uptime = now.tv_sec - t->kernel->boot_time.tv_sec;
    /* Memory as the sandbox sees it: the memory file is its RAM. */
    uint64_t total = memfile_size(t->kernel->cfg.memfile);
    uint64_t host_total = (uint64_t)host.totalram * host.mem_unit;
    if (host_total && host_total < total)
        total = host_total;
    uint64_t used = memfile_used(t->kernel->cfg.memfile);
    si.totalram = total;
    si.freeram = used < total ? total - used : 0;
    si.procs = 1;
    si.mem_unit = 1;
    return mm_copy_out(t->mm, a->a[0], &si, sizeof(si));
}

/* getpriority(2)/setpriority(2) for PRIO_PROCESS (0: the caller), and PRIO_PGRP/PRIO_USER as
 * they apply to the caller. The raw syscall returns 20 - nice so the value is never negative. */
static struct task *priority_target(struct task *t, int which, int who)
{
    switch (which) {
    case PRIO_PROCESS:
        return who == 0 || who == t->tid ? t : NULL;
    case PRIO_PGRP:
        return who == 0 || who == t->tg->pgid ? t : NULL;
    case PRIO_USER:
        return who == 0 || (uid_t)who == t->creds.euid ? t : NULL;
    default:
        return NULL;
    }
}

long sys_getpriority(struct task *t, const struct syscall_args *a)
{
    int which = (int)a->a[0];
    if (which != PRIO_PROCESS && which != PRIO_PGRP && which != PRIO_USER)
        return -EINVAL;
    struct task *target = priority_target(t, which, (int)a->a[1]);
    return target ? 20 - target->nice : -ESRCH;
}

long sys_setpriority(struct task *t, const struct syscall_args *a)
{
    int which = (int)a->a[0];
    if (which != PRIO_PROCESS && which != PRIO_PGRP && which != PRIO_USER)
        return -EINVAL;
    struct task *target = priority_target(t, which, (int)a->a[1]);
    if (!target)
        return -ESRCH;
    int nice = (int)a->a[2];
    nice = nice < -20 ? -20 : nice > 19 ? 19 : nice;
    /* Raising priority (a lower nice) needs CAP_SYS_NICE (RLIMIT_NICE aside). */
    if (nice < target->nice && t->creds.euid != 0)
        return -EACCES;
    target->nice = nice;
    return 0;
}
