/* Tasks: allocation, the run loop between guest code and the sentry, and blocking. */
#include <errno.h>
#include <linux/capability.h>
#include <linux/futex.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "platform/platform.h"
#include "sentry/kernel/kernel.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/vfs.h"

struct task *task_alloc(struct kernel *k, struct thread_group *tg, int tid)
{
    struct task *t = calloc(1, sizeof(*t));

    if (!t)
        return NULL;
    t->kernel = k;
    t->tg = tg;
    t->tid = tid;
    pthread_mutex_init(&t->wait_lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&t->wake, &attr);
    pthread_condattr_destroy(&attr);
    clock_gettime(CLOCK_MONOTONIC, &t->start_time);
    t->timer_slack_ns = 50000; /* Linux's default timer slack */
    return t;
}

/* The calling thread's task: set once by the task's own thread, read only by it. */
static _Thread_local struct task *current_task;

struct task *task_current(void)
{
    return current_task;
}

void task_set_current(struct task *t)
{
    current_task = t;
    if (t) {
        struct timespec ts;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        t->host_cpu_base_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
        t->host_tid = gettid(); /* whose CPU clock is the task's system time */
    }
}

struct mm *task_get_mm(struct task *t)
{
    pthread_mutex_lock(&t->tg->lock);
    struct mm *mm = t->mm;
    if (mm)
        mm_get(mm);
    pthread_mutex_unlock(&t->tg->lock);
    return mm;
}

struct fdtable *task_get_fds(struct task *t)
{
    pthread_mutex_lock(&t->tg->lock);
    struct fdtable *fds = t->fds;
    if (fds)
        fdtable_get_ref(fds);
    pthread_mutex_unlock(&t->tg->lock);
    return fds;
}

struct fs_context *task_get_fs(struct task *t)
{
    pthread_mutex_lock(&t->tg->lock);
    struct fs_context *fs = t->fs;
    if (fs)
        fs_context_get(fs);
    pthread_mutex_unlock(&t->tg->lock);
    return fs;
}

/* The host's limits as the sandbox started; written once under host_rlimits_once. */
static struct rlimit host_rlimits[RLIM_NLIMITS];
static pthread_once_t host_rlimits_once = PTHREAD_ONCE_INIT;

static void host_rlimits_read(void)
{
    for (int r = 0; r < RLIM_NLIMITS; r++)
        getrlimit((__rlimit_resource_t)r, &host_rlimits[r]);
}

struct thread_group *thread_group_alloc(struct kernel *k, int tgid)
{
    struct thread_group *tg = calloc(1, sizeof(*tg));

    if (!tg)
        return NULL;
    /* Relaxed: the counter only has to hand out distinct numbers. */
    static _Atomic uint64_t next_serial = 1;
    tg->kernel = k;
    tg->tgid = tgid;
    tg->serial = atomic_fetch_add_explicit(&next_serial, 1, memory_order_relaxed);
    pthread_mutex_init(&tg->lock, NULL);
    pthread_mutex_init(&tg->timers_lock, NULL);
    waitqueue_init(&tg->child_events);
    tg->exit_signal = SIGCHLD;
    tg->dumpable = 1;
    /* The sandbox starts with the limits runsc itself runs under, as a container inherits the
     * runtime's (read once: fork copies the parent's over these anyway). */
    pthread_once(&host_rlimits_once, host_rlimits_read);
    memcpy(tg->rlimits, host_rlimits, sizeof(tg->rlimits));
    return tg;
}

/* Frees a task whose thread has finished, and its thread group with its last task. */
static void task_destroy(struct task *t)
{
    sigq_list_free(&t->pending_extra);
    seccomp_filter_put(atomic_load_explicit(&t->seccomp, memory_order_relaxed));
    fs_context_put(t->fs);
    pthread_mutex_destroy(&t->wait_lock);
    pthread_cond_destroy(&t->wake);
    free(t);
}

void task_free(struct task *t)
{
    struct thread_group *tg = t->tg;
    bool listed = false;

    struct task *lists[] = {tg->tasks, tg->ended};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        for (struct task *it = lists[i], *next; it; it = next) {
            next = it->group_next;
            listed |= it == t;
            task_destroy(it);
        }
    }
    if (!listed)
        task_destroy(t);
    thread_group_release_timers(tg, true); /* a process that never ran its exit */
    sigq_list_free(&tg->shared_extra);
    waitqueue_destroy(&tg->child_events);
    vfs_path_put(&tg->exe);
    pthread_mutex_destroy(&tg->lock);
    pthread_mutex_destroy(&tg->timers_lock);
    free(tg);
}

struct task *thread_group_signal_target(struct thread_group *tg, int sig)
{
    struct task *any = NULL, *ready = NULL;

    pthread_mutex_lock(&tg->lock);
    /* complete_signal: the task the pid names (the leader) first, if it can take it now. */
    struct task *leader = tg->leader;
    if (leader && !leader->released && !(leader->blocked & (1ULL << (sig - 1))))
        ready = leader;
    for (struct task *it = tg->tasks; it && !ready; it = it->group_next) {
        if (it->released)
            continue;
        if (!any)
            any = it;
        if (!(it->blocked & (1ULL << (sig - 1))))
            ready = it;
    }
    pthread_mutex_unlock(&tg->lock);
    return ready ? ready : any;
}

struct task *kernel_find_task(struct kernel *k, int tid)
{
    for (struct thread_group *g = k->groups; g; g = g->next) {
        pthread_mutex_lock(&g->lock);
        struct task *found = NULL;
        for (struct task *it = g->tasks; it && !found; it = it->group_next) {
            if (it->tid == tid)
                found = it;
        }
        pthread_mutex_unlock(&g->lock);
        if (found)
            return found;
    }
    return NULL;
}

/* Gives the task an address space and a context on the platform. Must run on the task's own
 * thread: a ptrace context belongs to the thread that creates it. */
int task_attach_platform(struct task *t, const char **why)
{
    struct platform_as *as;
    struct platform_ctx *ctx;
    int err;

    if ((err = platform_as_create(t->kernel->cfg.platform, &as)) != 0) {
        *why = "cannot create the guest address space";
        return err;
    }
    mm_set_platform_as(t->mm, as);
    if ((err = platform_ctx_create(as, &ctx)) != 0) {
        *why = "cannot create the guest context";
        return err;
    }
    pthread_mutex_lock(&t->wait_lock);
    t->ctx = ctx;
    pthread_mutex_unlock(&t->wait_lock);
    return 0;
}

static void task_handle_fault(struct task *t, const struct platform_event *ev)
{
    int err = mm_handle_fault_since(t->mm, ev->fault_addr, t->map_gen_at_entry);
    if (err == 0)
        return;
    if (err == -ENOMEM) {
        /* Out of memory (the sandbox's limit): as the memory cgroup, kill a process and let the
         * guest fault again. The victim may be this task: it dies on its way back. SIGBUS only
         * when there is nothing left to kill. */
        int oom = kernel_oom_wait(t->kernel, t);
        if (oom == 0 || oom == -EINTR)
            return;
    }
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    info.si_signo = err == -ENOMEM ? SIGBUS : SIGSEGV;
    info.si_code = err == -EACCES ? SEGV_ACCERR : (err == -ENOMEM ? BUS_ADRERR : SEGV_MAPERR);
    info.si_addr = (void *)ev->fault_addr;
    task_signal_force(t, info.si_signo, &info);
}

void task_set_comm(struct task *t, const char *name)
{
    char comm[sizeof(t->comm)] = {0};

    strncpy(comm, name, sizeof(comm) - 1);
    memcpy(t->comm, comm, sizeof(comm));
    atomic_fetch_add_explicit(&t->comm_gen, 1, memory_order_relaxed);
}

void task_publish_image(struct mm *mm)
{
    struct platform_as *as = mm_platform_as(mm);
    struct mm_proc_ranges r;
    char cmdline[4096];

    mm_get_proc_ranges(mm, &r);
    if (!as || r.arg_start == 0 || r.arg_end < r.arg_start)
        return;
    size_t len =
        r.arg_end - r.arg_start < sizeof(cmdline) ? r.arg_end - r.arg_start : sizeof(cmdline);
    ssize_t n = mm_copy_in_partial(mm, r.arg_start, cmdline, len);
    /* The host checks only that every address is in range and each pair ordered (kernel/sys.c:
     * validate_prctl_map_addr); a range the loader left unknown (0) borrows a neighbour. */
    struct platform_proc_image img = {
        .start_code = r.start_code ? r.start_code : r.arg_start,
        .end_code = r.start_code && r.end_code > r.start_code ? r.end_code : r.arg_start + 1,
        .start_stack = r.start_stack ? r.start_stack : r.arg_start,
        .cmdline = cmdline,
        .cmdline_len = n > 0 ? (size_t)n : 0,
    };
    bool data_known = r.start_data && r.end_data >= r.start_data;
    img.start_data = data_known ? r.start_data : img.end_code;
    img.end_data = data_known ? r.end_data : img.start_data;
    bool brk_known = r.start_brk && r.brk >= r.start_brk;
    img.start_brk = brk_known ? r.start_brk : img.end_data;
    img.brk = brk_known ? r.brk : img.start_brk;
    int err = platform_as_set_proc_image(as, &img);
    if (err == -ENOSPC) {
        /* The host's RLIMIT_DATA is below the guest's data and heap: show those as empty. */
        img.end_data = img.start_data;
        img.brk = img.start_brk;
        err = platform_as_set_proc_image(as, &img);
    }
    if (err && err != -ENOSYS)
        log_debug("cannot show the host the guest's command line: %s", strerror(-err));
}

/* Gives the task's host thread its comm when it changed since the last time. A failure only
 * costs the host's view of the name: it is logged and not retried until the next change. */
void task_sync_host_name(struct task *t)
{
    unsigned gen = atomic_load_explicit(&t->comm_gen, memory_order_relaxed);
    char comm[sizeof(t->comm)];

    if (gen == t->comm_gen_host)
        return;
    pthread_mutex_lock(&t->tg->lock);
    memcpy(comm, t->comm, sizeof(comm));
    gen = atomic_load_explicit(&t->comm_gen, memory_order_relaxed);
    pthread_mutex_unlock(&t->tg->lock);
    comm[sizeof(comm) - 1] = '\0';
    int err = platform_ctx_set_name(t->ctx, comm);
    if (err && err != -ENOSYS)
        log_debug("task %d: cannot name its host thread: %s", t->tid, strerror(-err));
    t->comm_gen_host = gen;
}

void task_run(struct task *t)
{
    struct platform_event ev;

    while (!t->exiting) {
        task_signal_deliver(t);
        if (t->exiting)
            break;
        if (atomic_load_explicit(&t->kernel->paused, memory_order_acquire)) {
            task_pause_point(t);
            continue; /* signals that came meanwhile first */
        }
        task_sync_host_name(t);
        struct timespec in, out;
        t->map_gen_at_entry = mm_map_generation(t->mm);
        clock_gettime(CLOCK_MONOTONIC, &in);
        atomic_store_explicit(&t->guest_entered_ns, (int64_t)in.tv_sec * 1000000000LL + in.tv_nsec,
                              memory_order_relaxed);
        int err = platform_ctx_switch(t->ctx, &t->regs, &ev);
        clock_gettime(CLOCK_MONOTONIC, &out);
        atomic_store_explicit(&t->guest_entered_ns, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(
            &t->guest_ns,
            (uint64_t)((out.tv_sec - in.tv_sec) * 1000000000LL + (out.tv_nsec - in.tv_nsec)),
            memory_order_relaxed);
        if (err) {
            log_warning("task %d: guest context lost: %s", t->tid, strerror(-err));
            task_exit_group(t, SIGKILL);
            break;
        }
        switch (ev.kind) {
        case PLATFORM_EVENT_SYSCALL:
            t->kernel->cfg.syscall_dispatch(t);
            break;
        case PLATFORM_EVENT_FAULT:
            task_handle_fault(t, &ev);
            break;
        case PLATFORM_EVENT_SIGNAL:
            task_signal_force(t, ev.info.si_signo, &ev.info);
            break;
        case PLATFORM_EVENT_INTERRUPTED:
            break;
        }
    }
}

void task_pause_point(struct task *t)
{
    struct kernel *k = t->kernel;

    /* Woken by kernel_resume, or by a signal (task_interrupt), which the loop then delivers
     * before parking again: a SIGKILL ends a paused task. */
    pthread_mutex_lock(&t->wait_lock);
    t->parked = true;
    while (atomic_load_explicit(&k->paused, memory_order_acquire) && !t->woken)
        pthread_cond_wait(&t->wake, &t->wait_lock);
    t->woken = false;
    t->parked = false;
    pthread_mutex_unlock(&t->wait_lock);
}

static bool deadline_passed(const struct timespec *deadline)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > deadline->tv_sec ||
           (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* How long task_block polls for a wake before it sleeps on the futex word. A sleeping host
 * thread's wake costs an idle CPU's wake-up (tens of microseconds on a VM), which a ping-pong
 * (pipe, futex) pays on every hop; the peer usually answers within this. */
#define TASK_BLOCK_SPIN_NS 20000

static int64_t ns_between(const struct timespec *a, const struct timespec *b)
{
    return (int64_t)(b->tv_sec - a->tv_sec) * 1000000000 + (b->tv_nsec - a->tv_nsec);
}

/* Polls t->wake_seq until it moves from `seq` (true), TASK_BLOCK_SPIN_NS pass or `deadline`
 * (false). Each round yields the CPU: a waker waiting for this CPU gets it, and a CPU with
 * nothing else to run stays awake for the wake. */
static bool block_spin(struct task *t, uint32_t seq, const struct timespec *deadline)
{
    struct timespec start, now;

    clock_gettime(CLOCK_MONOTONIC, &start);
    int64_t limit = TASK_BLOCK_SPIN_NS;
    /* Only a deadline within a second or so is worth a look (and its distance cannot
     * overflow). */
    if (deadline && deadline->tv_sec <= start.tv_sec + 1 && ns_between(&start, deadline) < limit)
        limit = ns_between(&start, deadline);
    for (;;) {
        if (atomic_load_explicit(&t->wake_seq, memory_order_relaxed) != seq)
            return true;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (ns_between(&start, &now) >= limit)
            return false;
        sched_yield();
    }
}

int task_block(struct task *t, const struct timespec *deadline)
{
    /* Signals are checked outside wait_lock: tg->lock comes first in the lock order. */
    if (task_signal_pending(t))
        return -EINTR;
    pthread_mutex_lock(&t->wait_lock);
    t->sleeping = true;
    while (!t->woken) {
        if (deadline && deadline_passed(deadline))
            break;
        /* A wake between the read and the FUTEX_WAIT changes the word: the wait returns at once
         * (EAGAIN) and the loop sees `woken`. FUTEX_WAIT_BITSET takes an absolute
         * CLOCK_MONOTONIC deadline, as the caller gives it. */
        uint32_t seq = atomic_load_explicit(&t->wake_seq, memory_order_relaxed);
        pthread_mutex_unlock(&t->wait_lock);
        if (!block_spin(t, seq, deadline))
            syscall(SYS_futex, &t->wake_seq, FUTEX_WAIT_BITSET_PRIVATE, seq, deadline, NULL,
                    FUTEX_BITSET_MATCH_ANY);
        pthread_mutex_lock(&t->wait_lock);
    }
    bool woken = t->woken;
    t->woken = false;
    t->sleeping = false;
    pthread_mutex_unlock(&t->wait_lock);
    if (task_signal_pending(t))
        return -EINTR;
    return woken ? 0 : -ETIMEDOUT;
}

int task_sleep_until(struct task *t, const struct timespec *deadline)
{
    for (;;) {
        int err = task_block(t, deadline);
        if (err == -EINTR)
            return err;
        if (err == -ETIMEDOUT || deadline_passed(deadline))
            return 0;
    }
}

int task_nofile_limit(struct task *t)
{
    pthread_mutex_lock(&t->tg->lock);
    rlim_t lim = t->tg->rlimits[RLIMIT_NOFILE].rlim_cur;
    pthread_mutex_unlock(&t->tg->lock);
    return lim > FDTABLE_MAX ? FDTABLE_MAX : (int)lim;
}

rlim_t task_rlimit(struct task *t, int resource)
{
    pthread_mutex_lock(&t->tg->lock);
    rlim_t lim = t->tg->rlimits[resource].rlim_cur;
    pthread_mutex_unlock(&t->tg->lock);
    return lim;
}

/* RLIM_INFINITY is all ones, as UINT64_MAX: the mm's "no limit". */
_Static_assert(RLIM_INFINITY == UINT64_MAX, "RLIM_INFINITY is the mm's unlimited");

void task_mm_limits(struct task *t, struct mm_limits *l)
{
    pthread_mutex_lock(&t->tg->lock);
    l->as = t->tg->rlimits[RLIMIT_AS].rlim_cur;
    l->data = t->tg->rlimits[RLIMIT_DATA].rlim_cur;
    l->stack = t->tg->rlimits[RLIMIT_STACK].rlim_cur;
    l->memlock = t->tg->rlimits[RLIMIT_MEMLOCK].rlim_cur;
    pthread_mutex_unlock(&t->tg->lock);
    l->memlock_exempt = task_capable(t, CAP_IPC_LOCK);
}

void task_apply_mm_limits(struct task *t, struct mm *mm)
{
    struct mm_limits l;

    task_mm_limits(t, &l);
    mm_set_limits(mm, &l);
}

int kernel_count_user_tasks(struct kernel *k, uid_t ruid)
{
    int n = 0;

    for (struct thread_group *g = k->groups; g; g = g->next) {
        pthread_mutex_lock(&g->lock);
        for (struct task *it = g->tasks; it; it = it->group_next)
            n += !it->released && it->creds.ruid == ruid;
        pthread_mutex_unlock(&g->lock);
    }
    return n;
}
