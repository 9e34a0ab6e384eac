/* The kernel's side of the control socket (DESIGN.md §8): waiting for processes, listing them,
 * signalling from outside, pausing every task and the sandbox's usage figures. Each takes the
 * kernel's existing locks (kernel.lock, then thread_group.lock, then task.wait_lock). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/control/control.h"
#include "platform/platform.h"
#include "sentry/kernel/kernel.h"
#include "sentry/memfile/memfile.h"
#include "sentry/mm/mm.h"

/* Where a wait stands: 1 with *status when pid is gone, 0 while it runs, -ESRCH if unknown.
 * kernel.lock held. */
static int exit_status_locked(struct kernel *k, int pid, int *status)
{
    if (pid == 1 && k->init_task) {
        if (!k->init_exited)
            return 0;
        *status = k->init_status;
        return 1;
    }
    struct thread_group *g = kernel_find_group(k, pid);
    if (g && !g->zombie)
        return 0;
    if (g) {
        *status = g->exit_status;
        return 1;
    }
    /* Newest first: a pid used twice reports its last life. */
    unsigned n = k->exits_next < KERNEL_EXIT_RECORDS ? k->exits_next : KERNEL_EXIT_RECORDS;
    for (unsigned i = 1; i <= n; i++) {
        const struct kernel_exit_record *r = &k->exits[(k->exits_next - i) % KERNEL_EXIT_RECORDS];
        if (r->pid == pid) {
            *status = r->status;
            return 1;
        }
    }
    return -ESRCH;
}

void kernel_wait_changed_locked(struct kernel *k)
{
    /* kernel.changed is broadcast at every process exit (and a container's destruction); the
     * bound lets a waiter look at its `cancelled` now and then. */
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += KERNEL_WAIT_POLL_MS * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&k->changed, &k->lock, &deadline);
}

int kernel_wait_pid(struct kernel *k, int pid, int *status, bool (*cancelled)(void *arg), void *arg)
{
    int ret;

    pthread_mutex_lock(&k->lock);
    while ((ret = exit_status_locked(k, pid, status)) == 0) {
        kernel_wait_changed_locked(k);
        if (cancelled && cancelled(arg)) {
            ret = -EINTR;
            break;
        }
    }
    pthread_mutex_unlock(&k->lock);
    return ret < 0 ? ret : 0;
}

/* One process's row, taken under kernel.lock from its first live task; the command line is
 * read afterwards from `mm` (a reference), outside every kernel lock. */
struct process_row {
    struct control_process p;
    struct mm *mm;
};

static void fill_row(struct kernel *k, struct thread_group *g, struct process_row *row,
                     const struct timespec *mono_now, const struct timespec *real_now)
{
    struct control_process *p = &row->p;

    memset(row, 0, sizeof(*row));
    p->pid = g->tgid;
    p->ppid = g->parent ? g->parent->tgid : 0;
    snprintf(p->tty, sizeof(p->tty), "?");
    pthread_mutex_lock(&g->lock);
    struct task *t = g->leader && !g->leader->released ? g->leader : NULL;
    for (struct task *it = g->tasks; it && !t; it = it->group_next) {
        if (!it->released)
            t = it;
    }
    if (t) {
        p->uid = t->creds.ruid;
        memcpy(p->comm, t->comm, sizeof(p->comm));
        p->comm[sizeof(p->comm) - 1] = '\0';
        row->mm = t->mm;
        if (row->mm)
            mm_get(row->mm);
        pthread_mutex_lock(&t->wait_lock);
        p->host_pid = t->ctx ? platform_ctx_host_tid(t->ctx) : 0;
        pthread_mutex_unlock(&t->wait_lock);
    }
    pthread_mutex_unlock(&g->lock);
    const struct timespec *st = g->leader ? &g->leader->start_time : mono_now;
    int64_t age =
        (int64_t)(mono_now->tv_sec - st->tv_sec) * 1000000000LL + (mono_now->tv_nsec - st->tv_nsec);
    int64_t real = (int64_t)real_now->tv_sec * 1000000000LL + real_now->tv_nsec;
    p->start_ns = (uint64_t)(real - age);
    uint64_t u, s;
    thread_group_cputime(g, &u, &s);
    p->cpu_ns = u + s;
}

/* argv from the guest's memory, joined by spaces (as ps shows it), else [comm]. */
static void read_cmdline(struct process_row *row)
{
    struct control_process *p = &row->p;
    size_t cap = sizeof(p->cmdline) - 1;

    if (row->mm) {
        struct mm_proc_ranges mr;
        mm_get_proc_ranges(row->mm, &mr);
        size_t len = mr.arg_end > mr.arg_start ? mr.arg_end - mr.arg_start : 0;
        ssize_t n = mm_copy_in_partial(row->mm, mr.arg_start, p->cmdline, len < cap ? len : cap);
        if (n > 0) {
            while (n > 0 && p->cmdline[n - 1] == '\0')
                n--;
            for (ssize_t i = 0; i < n; i++) {
                if (p->cmdline[i] == '\0')
                    p->cmdline[i] = ' ';
            }
            p->cmdline[n] = '\0';
        }
        mm_put(row->mm);
        row->mm = NULL;
    }
    if (!p->cmdline[0])
        snprintf(p->cmdline, sizeof(p->cmdline), "[%s]", p->comm);
}

static int row_by_pid(const void *a, const void *b)
{
    const struct process_row *x = a, *y = b;
    return (x->p.pid > y->p.pid) - (x->p.pid < y->p.pid);
}

/* Whether g belongs to pod container `container` (-1: any). */
static bool in_container(const struct thread_group *g, int container)
{
    return container < 0 || g->container == (unsigned)container;
}

int kernel_list_processes(struct kernel *k, int container, struct control_process **out, size_t *n)
{
    struct timespec mono_now, real_now;
    size_t count = 0, i = 0;

    clock_gettime(CLOCK_MONOTONIC, &mono_now);
    clock_gettime(CLOCK_REALTIME, &real_now);
    pthread_mutex_lock(&k->lock);
    for (struct thread_group *g = k->groups; g; g = g->next)
        count++;
    struct process_row *rows = calloc(count ? count : 1, sizeof(*rows));
    if (!rows) {
        pthread_mutex_unlock(&k->lock);
        return -ENOMEM;
    }
    for (struct thread_group *g = k->groups; g; g = g->next) {
        if (g->zombie || (g->is_init && k->init_exited) || !g->live_tasks ||
            !in_container(g, container))
            continue;
        fill_row(k, g, &rows[i++], &mono_now, &real_now);
    }
    pthread_mutex_unlock(&k->lock);

    struct control_process *ps = calloc(i ? i : 1, sizeof(*ps));
    if (ps) {
        qsort(rows, i, sizeof(*rows), row_by_pid);
        for (size_t j = 0; j < i; j++) {
            read_cmdline(&rows[j]);
            ps[j] = rows[j].p;
        }
    } else {
        for (size_t j = 0; j < i; j++)
            mm_put(rows[j].mm);
    }
    free(rows);
    if (!ps)
        return -ENOMEM;
    *out = ps;
    *n = i;
    return 0;
}

static int signal_group_from_host(struct thread_group *g, int sig)
{
    if (sig == 0)
        return 0;
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    info.si_signo = sig;
    info.si_code = SI_USER; /* from pid 0: outside the namespace, as a host kill */
    return thread_group_signal_send(g, sig, &info, true);
}

static bool signal_valid(int sig)
{
    return sig >= 0 && sig <= KERNEL_NSIG;
}

int kernel_signal_process(struct kernel *k, int pid, int sig)
{
    if (!signal_valid(sig))
        return -EINVAL;
    pthread_mutex_lock(&k->lock);
    struct thread_group *g = kernel_find_group(k, pid);
    int err = g && !g->zombie && g->live_tasks ? signal_group_from_host(g, sig) : -ESRCH;
    pthread_mutex_unlock(&k->lock);
    return err;
}

int kernel_signal_all(struct kernel *k, int container, int sig)
{
    bool any = false;

    if (!signal_valid(sig))
        return -EINVAL;
    pthread_mutex_lock(&k->lock);
    for (struct thread_group *g = k->groups; g; g = g->next) {
        if (g->zombie || !g->live_tasks || !in_container(g, container))
            continue;
        any = true;
        signal_group_from_host(g, sig);
    }
    pthread_mutex_unlock(&k->lock);
    return any ? 0 : -ESRCH;
}

static int foreground_none(struct kernel *k, int sid)
{
    return 0;
}

/* Set once at start-up, before guests run; acquire/release publish the function. */
static _Atomic(kernel_foreground_fn) foreground_hook = foreground_none;

void kernel_set_foreground_hook(kernel_foreground_fn fn)
{
    atomic_store_explicit(&foreground_hook, fn ? fn : foreground_none, memory_order_release);
}

int kernel_signal_foreground(struct kernel *k, int pid, int sig)
{
    if (!signal_valid(sig))
        return -EINVAL;
    pthread_mutex_lock(&k->lock);
    struct thread_group *g = kernel_find_group(k, pid);
    bool live = g && !g->zombie && g->live_tasks;
    int sid = live ? g->sid : 0, pgid = live ? g->pgid : 0;
    pthread_mutex_unlock(&k->lock);
    if (!live)
        return -ESRCH;
    /* The terminal layer takes its own lock, which comes before kernel.lock. */
    kernel_foreground_fn fn = atomic_load_explicit(&foreground_hook, memory_order_acquire);
    int fg = fn(k, sid);
    if (fg > 0)
        pgid = fg;
    if (sig == 0)
        return 0;
    int err = -ESRCH;
    pthread_mutex_lock(&k->lock);
    for (struct thread_group *it = k->groups; it; it = it->next) {
        if (it->pgid != pgid || it->zombie || !it->live_tasks)
            continue;
        signal_group_from_host(it, sig);
        err = 0;
    }
    pthread_mutex_unlock(&k->lock);
    return err;
}

/* Every live task of the sandbox gets fn (kernel.lock and its group's lock held). */
static void for_each_task(struct kernel *k, void (*fn)(struct task *t, void *arg), void *arg)
{
    for (struct thread_group *g = k->groups; g; g = g->next) {
        pthread_mutex_lock(&g->lock);
        for (struct task *t = g->tasks; t; t = t->group_next) {
            if (!t->released)
                fn(t, arg);
        }
        pthread_mutex_unlock(&g->lock);
    }
}

/* Leaves guest code at once, as signal delivery makes it (platform interrupt), without waking
 * a sleeping task: its sleep is not disturbed by a pause. */
static void interrupt_guest(struct task *t, void *arg)
{
    pthread_mutex_lock(&t->wait_lock);
    if (t->ctx)
        platform_ctx_interrupt(t->ctx);
    pthread_mutex_unlock(&t->wait_lock);
}

static void count_unsettled(struct task *t, void *arg)
{
    int *n = arg;
    pthread_mutex_lock(&t->wait_lock);
    if (!t->parked && !t->sleeping)
        (*n)++;
    pthread_mutex_unlock(&t->wait_lock);
}

static void wake_task(struct task *t, void *arg)
{
    task_wake(t);
}

int kernel_pause(struct kernel *k)
{
    pthread_mutex_lock(&k->lock);
    atomic_store_explicit(&k->paused, true, memory_order_release);
    for_each_task(k, interrupt_guest, NULL);
    pthread_mutex_unlock(&k->lock);

    struct timespec step = {0, 1000000};
    for (int waited_ms = 0; waited_ms < KERNEL_PAUSE_SETTLE_MS; waited_ms++) {
        int unsettled = 0;
        pthread_mutex_lock(&k->lock);
        if (!atomic_load_explicit(&k->paused, memory_order_acquire)) {
            pthread_mutex_unlock(&k->lock);
            break; /* resumed meanwhile */
        }
        for_each_task(k, count_unsettled, &unsettled);
        pthread_mutex_unlock(&k->lock);
        if (!unsettled)
            return 0;
        nanosleep(&step, NULL);
    }
    return 0;
}

int kernel_resume(struct kernel *k)
{
    pthread_mutex_lock(&k->lock);
    atomic_store_explicit(&k->paused, false, memory_order_release);
    for_each_task(k, wake_task, NULL);
    pthread_mutex_unlock(&k->lock);
    return 0;
}

void kernel_stats(struct kernel *k, struct control_stats *out)
{
    uint64_t user = 0, sys = 0;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&k->lock);
    for (struct thread_group *g = k->groups; g; g = g->next) {
        uint64_t u, s;
        thread_group_cputime(g, &u, &s);
        pthread_mutex_lock(&g->lock);
        u += g->children_utime;
        s += g->children_stime;
        pthread_mutex_unlock(&g->lock);
        user += u;
        sys += s;
    }
    out->pids_current = (uint64_t)k->ntasks;
    pthread_mutex_unlock(&k->lock);
    out->cpu_user_ns = user;
    out->cpu_system_ns = sys;
    out->cpu_total_ns = user + sys;
    out->memory_usage_bytes = k->cfg.memfile ? memfile_used(k->cfg.memfile) : 0;
    out->memory_limit_bytes = k->cfg.memfile ? memfile_limit(k->cfg.memfile) : 0;
    out->pids_limit = (uint64_t)k->max_tasks;
}
