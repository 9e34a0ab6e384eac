/* Creating the first process, the task run loop, sleeping, and exit. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "platform/platform.h"
#include "sentry/fs/host/host.h"
#include "sentry/kernel/kernel.h"
#include "sentry/loader/loader.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/vfs.h"

int kernel_create(const struct kernel_config *cfg, struct kernel **out)
{
    struct kernel *k = calloc(1, sizeof(*k));

    if (!k)
        return -ENOMEM;
    k->cfg = *cfg;
    pthread_mutex_init(&k->lock, NULL);
    pthread_cond_init(&k->changed, NULL);
    clock_gettime(CLOCK_MONOTONIC, &k->boot_time);
    k->next_pid = 1;
    *out = k;
    return 0;
}

void kernel_destroy(struct kernel *k)
{
    pthread_mutex_destroy(&k->lock);
    pthread_cond_destroy(&k->changed);
    free(k);
}

/* Handshake between kernel_start_init and the init task's thread, which must do the loading
 * itself: the platform context belongs to the thread that creates it. */
struct init_start {
    struct task *task;
    const struct init_process *init;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done; /* guarded by lock */
    int err;
    char *why;
    size_t whylen;
};

static void task_run(struct task *t);
static void task_release(struct task *t);

/* Frees a task whose thread has finished, and its thread group with its last task. */
static void task_free(struct task *t)
{
    struct thread_group *tg = t->tg;

    pthread_mutex_destroy(&t->wait_lock);
    pthread_cond_destroy(&t->wake);
    free(t);
    if (tg->live_tasks <= 0) {
        pthread_mutex_destroy(&tg->lock);
        free(tg);
    }
}

static int init_load(struct task *t, const struct init_process *init, const char **why)
{
    struct kernel *k = t->kernel;
    struct platform_as *as;
    struct loader_args la;
    struct loader_result lr;
    struct arch_fpstate *fp;
    int err;

    err = mm_create(k->cfg.memfile, platform_max_user_address(k->cfg.platform), &t->mm);
    if (err)
        return err;
    err = platform_as_create(k->cfg.platform, &as);
    if (err) {
        *why = "cannot create the guest address space";
        return err;
    }
    mm_set_platform_as(t->mm, as);
    struct platform_ctx *ctx;
    err = platform_ctx_create(as, &ctx);
    if (err) {
        *why = "cannot create the guest context";
        return err;
    }
    pthread_mutex_lock(&t->wait_lock);
    t->ctx = ctx;
    pthread_mutex_unlock(&t->wait_lock);
    platform_ctx_initial_regs(t->ctx, &t->regs);

    memset(&la, 0, sizeof(la));
    la.file = init->executable;
    la.file_size = host_mappable_size(init->executable);
    la.execfn = init->path;
    la.argv = init->argv;
    la.envp = init->envp;
    la.uid = t->creds.ruid;
    la.euid = t->creds.euid;
    la.gid = t->creds.rgid;
    la.egid = t->creds.egid;
    la.stack_limit = t->tg->rlimits[RLIMIT_STACK].rlim_cur;
    err = loader_load(t->mm, &la, &lr, why);
    if (err)
        return err;
    arch_regs_init_exec(&t->regs, lr.entry, lr.sp);
    /* Large (the XSAVE area): from the heap, not the stack. */
    if (!(fp = malloc(sizeof(*fp))))
        return -ENOMEM;
    if ((err = platform_ctx_get_fpstate(t->ctx, fp)) == 0) {
        arch_fpstate_init(fp);
        err = platform_ctx_set_fpstate(t->ctx, fp);
    }
    free(fp);
    if (err) {
        *why = "cannot set the guest FPU state";
        return err;
    }
    const char *base = strrchr(init->path, '/');
    snprintf(t->comm, sizeof(t->comm), "%s", base ? base + 1 : init->path);
    return 0;
}

static void *init_task_main(void *arg)
{
    struct init_start *start = arg;
    struct task *t = start->task;
    const char *why = NULL;

    int err = init_load(t, start->init, &why);
    /* The loaded mappings hold their own references to the executable. */
    start->init->executable->ops->put(start->init->executable);
    pthread_mutex_lock(&start->lock);
    start->err = err;
    if (err)
        snprintf(start->why, start->whylen, "%s", why ? why : strerror(-err));
    start->done = true;
    pthread_cond_signal(&start->cond);
    pthread_mutex_unlock(&start->lock);
    /* `start` is gone once done is seen. */
    if (err) {
        task_release(t);
        return NULL;
    }
    task_run(t);
    task_release(t);
    return NULL;
}

static struct task *task_alloc(struct kernel *k, struct thread_group *tg, int tid)
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
    t->umask = 022;
    return t;
}

static struct thread_group *thread_group_alloc(struct kernel *k, int tgid)
{
    struct thread_group *tg = calloc(1, sizeof(*tg));

    if (!tg)
        return NULL;
    tg->kernel = k;
    tg->tgid = tgid;
    pthread_mutex_init(&tg->lock, NULL);
    /* The sandbox starts with the limits runsc itself runs under, as a container inherits the
     * runtime's. */
    for (int r = 0; r < RLIM_NLIMITS; r++)
        getrlimit((__rlimit_resource_t)r, &tg->rlimits[r]);
    return tg;
}

static int init_fds(struct task *t, const struct init_process *init)
{

    t->fds = calloc(1, sizeof(*t->fds));
    if (!t->fds)
        return -ENOMEM;
    fdtable_init(t->fds);
    for (int fd = 0; fd < 3; fd++) {
        if (init->stdio_fds[fd] < 0)
            continue;
        /* The guest sees the open file description's real flags (a terminal is O_RDWR). */
        int flags = fcntl(init->stdio_fds[fd], F_GETFL);
        struct file *f = host_file_create(init->stdio_fds[fd], flags < 0 ? O_RDWR : flags);
        if (!f)
            return -ENOMEM;
        int err = fdtable_install_at(t->fds, fd, f, false);
        file_put(f);
        if (err < 0)
            return err;
    }
    return 0;
}

int kernel_start_init(struct kernel *k, const struct init_process *init, char *why, size_t whylen)
{
    struct thread_group *tg = thread_group_alloc(k, 1);
    struct task *t = tg ? task_alloc(k, tg, 1) : NULL;
    int err;

    if (!t) {
        free(tg);
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    tg->is_init = true;
    tg->unkillable = true;
    tg->live_tasks = 1;
    t->creds = (struct creds){k->cfg.uid, k->cfg.uid, k->cfg.uid, k->cfg.uid,
                              k->cfg.gid, k->cfg.gid, k->cfg.gid, k->cfg.gid};
    snprintf(t->cwd, sizeof(t->cwd), "%s", init->cwd);
    if ((err = init_fds(t, init)) != 0) {
        snprintf(why, whylen, "cannot set up stdio: %s", strerror(-err));
        init->executable->ops->put(init->executable);
        task_release(t);
        task_free(t);
        return err;
    }
    pthread_mutex_lock(&k->lock);
    k->init_task = t;
    k->next_pid = 2;
    pthread_mutex_unlock(&k->lock);

    struct init_start start = {.task = t, .init = init, .why = why, .whylen = whylen};
    pthread_mutex_init(&start.lock, NULL);
    pthread_cond_init(&start.cond, NULL);
    err = pthread_create(&t->thread, NULL, init_task_main, &start);
    if (err) {
        snprintf(why, whylen, "cannot start the task thread: %s", strerror(err));
        init->executable->ops->put(init->executable);
        task_release(t);
        task_free(t);
        return -err;
    }
    pthread_mutex_lock(&start.lock);
    while (!start.done)
        pthread_cond_wait(&start.cond, &start.lock);
    pthread_mutex_unlock(&start.lock);
    err = start.err;
    if (err) {
        pthread_join(t->thread, NULL);
        pthread_mutex_lock(&k->lock);
        k->init_task = NULL;
        pthread_mutex_unlock(&k->lock);
        task_free(t);
    }
    return err;
}

int kernel_wait_init(struct kernel *k)
{
    pthread_mutex_lock(&k->lock);
    while (!k->init_exited)
        pthread_cond_wait(&k->changed, &k->lock);
    int status = k->init_status;
    struct task *t = k->init_task;
    pthread_mutex_unlock(&k->lock);
    if (t) {
        pthread_join(t->thread, NULL);
        pthread_mutex_lock(&k->lock);
        k->init_task = NULL;
        pthread_mutex_unlock(&k->lock);
        task_free(t);
    }
    return status;
}

static void task_handle_fault(struct task *t, const struct platform_event *ev)
{
    int err = mm_handle_fault(t->mm, ev->fault_addr);
    if (err == 0)
        return;
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    info.si_signo = err == -ENOMEM ? SIGBUS : SIGSEGV;
    info.si_code = err == -EACCES ? SEGV_ACCERR : (err == -ENOMEM ? BUS_ADRERR : SEGV_MAPERR);
    info.si_addr = (void *)ev->fault_addr;
    task_signal_force(t, info.si_signo, &info);
}

static void task_run(struct task *t)
{
    struct platform_event ev;

    while (!t->exiting) {
        task_signal_deliver(t);
        if (t->exiting)
            break;
        int err = platform_ctx_switch(t->ctx, &t->regs, &ev);
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

void task_exit_group(struct task *t, int status)
{
    pthread_mutex_lock(&t->tg->lock);
    if (!t->tg->exiting) {
        t->tg->exiting = true;
        t->tg->exit_status = status;
    }
    pthread_mutex_unlock(&t->tg->lock);
    t->exiting = true;
}

static bool deadline_passed(const struct timespec *deadline)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > deadline->tv_sec ||
           (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

int task_block(struct task *t, const struct timespec *deadline)
{
    /* Signals are checked outside wait_lock: tg->lock comes first in the lock order. */
    if (task_signal_pending(t))
        return -EINTR;
    pthread_mutex_lock(&t->wait_lock);
    while (!t->woken) {
        if (deadline && deadline_passed(deadline))
            break;
        /* The condition variable uses CLOCK_MONOTONIC (set in task_alloc). */
        if (deadline)
            pthread_cond_timedwait(&t->wake, &t->wait_lock, deadline);
        else
            pthread_cond_wait(&t->wake, &t->wait_lock);
    }
    bool woken = t->woken;
    t->woken = false;
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

static void task_release(struct task *t)
{
    struct kernel *k = t->kernel;
    struct thread_group *tg = t->tg;

    pthread_mutex_lock(&t->wait_lock);
    struct platform_ctx *ctx = t->ctx;
    t->ctx = NULL; /* task_interrupt from other threads sees it gone */
    pthread_mutex_unlock(&t->wait_lock);
    if (ctx)
        platform_ctx_release(ctx);
    mm_destroy(t->mm); /* releases the address space: the stub dies with it */
    if (t->fds) {
        fdtable_destroy(t->fds);
        free(t->fds);
    }
    pthread_mutex_lock(&tg->lock);
    bool last = --tg->live_tasks <= 0;
    int status = tg->exit_status;
    pthread_mutex_unlock(&tg->lock);
    if (last && tg->is_init) {
        pthread_mutex_lock(&k->lock);
        k->init_exited = true;
        k->init_status = status;
        pthread_cond_broadcast(&k->changed);
        pthread_mutex_unlock(&k->lock);
    }
}
