/* CPU time accounting for getrusage(2), times(2), wait4(2)'s rusage and the CPU-time clocks:
 * user time is the time a task spent in guest code, system time the CPU time of the sentry
 * thread that serves it (see kernel.h). */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "sentry/kernel/kernel.h"
#include "sentry/mm/mm.h"

/* Linux's clockid for another thread's CPU clock: ~tid << 3 | CPUCLOCK_PERTHREAD | SCHED. */
static uint64_t thread_cpu_ns(pid_t tid)
{
    if (tid <= 0)
        return 0;
    clockid_t clk = (clockid_t)((~(unsigned)tid << 3) | 4 | 2);
    struct timespec ts;
    if (clock_gettime(clk, &ts) != 0)
        return 0; /* the thread is gone: its time was accounted when it ended */
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void task_cputime(struct task *t, uint64_t *utime, uint64_t *stime)
{
    int64_t entered = atomic_load_explicit(&t->guest_entered_ns, memory_order_relaxed);
    uint64_t guest = atomic_load_explicit(&t->guest_ns, memory_order_relaxed);
    /* A switch still running counts up to now: a CPU timer must see a guest that never
     * leaves its loop. The task clears guest_entered_ns before it adds the switch to guest_ns,
     * so a reader may briefly miss one switch, never count it twice. */
    if (entered > 0) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t ran = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec - entered;
        if (ran > 0)
            guest += (uint64_t)ran;
    }
    *utime = guest;
    /* The sentry's own threads: their per-thread CPU clocks are readable (same process). */
    uint64_t host = thread_cpu_ns(t->host_tid);
    *stime = host > t->host_cpu_base_ns ? host - t->host_cpu_base_ns : 0;
}

void thread_group_cputime(struct thread_group *tg, uint64_t *utime, uint64_t *stime)
{
    pthread_mutex_lock(&tg->lock);
    uint64_t u = tg->ended_utime, s = tg->ended_stime;
    struct task *live[64];
    size_t n = 0;
    for (struct task *it = tg->tasks; it && n < sizeof(live) / sizeof(live[0]);
         it = it->group_next)
        if (!it->released)
            live[n++] = it;
    pthread_mutex_unlock(&tg->lock);
    /* Tasks are freed only with their group, which the caller holds: no reference needed. */
    for (size_t i = 0; i < n; i++) {
        uint64_t tu, ts;
        task_cputime(live[i], &tu, &ts);
        u += tu;
        s += ts;
    }
    *utime = u;
    *stime = s;
}

void task_account_exit(struct task *t)
{
    uint64_t u, s;
    task_cputime(t, &u, &s);
    pthread_mutex_lock(&t->tg->lock);
    t->tg->ended_utime += u;
    t->tg->ended_stime += s;
    pthread_mutex_unlock(&t->tg->lock);
}

static void ns_to_timeval(uint64_t ns, struct timeval *tv)
{
    tv->tv_sec = (time_t)(ns / 1000000000ULL);
    tv->tv_usec = (suseconds_t)(ns % 1000000000ULL / 1000);
}

void thread_group_account_reaped(struct thread_group *parent, struct thread_group *child,
                                 struct rusage *ru)
{
    /* A zombie has no live threads: its totals are final. */
    pthread_mutex_lock(&child->lock);
    uint64_t u = child->ended_utime + child->children_utime;
    uint64_t s = child->ended_stime + child->children_stime;
    long maxrss = child->children_maxrss_kb;
    pthread_mutex_unlock(&child->lock);
    pthread_mutex_lock(&parent->lock);
    parent->children_utime += u;
    parent->children_stime += s;
    if (maxrss > parent->children_maxrss_kb)
        parent->children_maxrss_kb = maxrss;
    pthread_mutex_unlock(&parent->lock);
    if (ru) {
        memset(ru, 0, sizeof(*ru));
        ns_to_timeval(u, &ru->ru_utime);
        ns_to_timeval(s, &ru->ru_stime);
        ru->ru_maxrss = maxrss;
    }
}

/* Linux's CPU-clock ids (include/linux/posix-timers.h): the pid in the bits above 3, inverted;
 * bit 2 for a thread's clock; the low two bits which time (PROF user+system, VIRT user, SCHED
 * user+system as the scheduler counts it; 3 is invalid). */
#define CPUCLOCK_PERTHREAD 4
#define CPUCLOCK_WHICH_MASK 3
#define CPUCLOCK_VIRT 1
#define CPUCLOCK_MAX 3

int kernel_cpu_clock_read(struct task *t, clockid_t clock, bool gettime, uint64_t *ns)
{
    struct kernel *k = t->kernel;
    bool thread = (clock & CPUCLOCK_PERTHREAD) != 0;
    int which = clock & CPUCLOCK_WHICH_MASK;
    pid_t pid = (pid_t) ~(clock >> 3);
    uint64_t u = 0, s = 0;
    int err = 0;

    if (clock >= 0 || which >= CPUCLOCK_MAX)
        return -EINVAL;
    /* pid_for_clock: 0 is the caller; a thread's clock only within the caller's process; a
     * process's by its pid, or, for clock_gettime, by the caller's own tid. */
    pthread_mutex_lock(&k->lock);
    if (thread) {
        struct task *target = pid == 0 ? t : kernel_find_task(k, pid);
        bool live = false;
        if (target && target->tg == t->tg) {
            pthread_mutex_lock(&t->tg->lock);
            live = !target->released;
            pthread_mutex_unlock(&t->tg->lock);
        }
        if (live)
            task_cputime(target, &u, &s);
        else
            err = -EINVAL;
    } else {
        struct thread_group *g = pid == 0 || (gettime && pid == t->tid) ? t->tg
                                                                         : kernel_find_group(k, pid);
        if (g)
            thread_group_cputime(g, &u, &s);
        else
            err = -EINVAL;
    }
    pthread_mutex_unlock(&k->lock);
    if (!err && ns)
        *ns = which == CPUCLOCK_VIRT ? u : u + s;
    return err;
}
