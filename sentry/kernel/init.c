/* The kernel object and its first process: creating, loading and waiting for init. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "platform/platform.h"
#include "sentry/fs/epoll/epoll.h"
#include "sentry/kernel/filelock.h"
#include "sentry/kernel/kernel.h"
#include "sentry/fs/host/host.h"
#include "sentry/loader/loader.h"
#include "sentry/mm/mm.h"
#include "sentry/vdso/vdso.h"
#include "sentry/vfs/vfs.h"

/* The last reference to an open file description is going: its locks and epoll watches go. */
static void kernel_file_released(struct file *f)
{
    filelock_file_released(f);
    epoll_file_released(f);
}

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
    waitqueue_init(&k->signal_queued);
    vfs_set_file_release_hook(kernel_file_released);
    int err = kernel_start_itimers(k);
    if (err) {
        free(k);
        return err;
    }
    /* Without a memory file (unit tests of the process tree) there is nothing to map. */
    if (cfg->memfile && (err = vdso_create(cfg->memfile, true, &k->vdso)) != 0) {
        free(k);
        return err;
    }
    *out = k;
    return 0;
}

void kernel_destroy(struct kernel *k)
{
    vdso_destroy(k->vdso);
    pthread_mutex_destroy(&k->lock);
    pthread_cond_destroy(&k->changed);
    waitqueue_destroy(&k->signal_queued);
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

static int init_load(struct task *t, const struct init_process *init, const char **why)
{
    int err = task_execve(t, init->path, init->argv, init->envp, why);
    if (err == -ENOENT && !*why)
        *why = "no such file or directory";
    return err;
}

static void *init_task_main(void *arg)
{
    struct init_start *start = arg;
    struct task *t = start->task;
    const char *why = NULL;

    task_set_current(t);
    int err = init_load(t, start->init, &why);
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

/* Walks the initial working directory as the init task (its credentials, its root). */
static int init_cwd(struct task *t, const char *cwd)
{
    struct vfs_cred cred = {.fsuid = t->creds.fsuid, .fsgid = t->creds.fsgid,
                            .dac_override = t->creds.fsuid == 0, .fowner = t->creds.fsuid == 0};
    struct walk_ctx ctx = {.fs = t->fs, .cred = &cred, .start = t->fs->root};
    struct vfs_path p;
    int err = vfs_walk(&ctx, cwd && cwd[0] ? cwd : "/", WALK_FOLLOW | WALK_DIRECTORY, &p);
    if (err)
        return err;
    pthread_mutex_lock(&t->fs->lock);
    struct vfs_path old = t->fs->cwd;
    t->fs->cwd = p;
    pthread_mutex_unlock(&t->fs->lock);
    vfs_path_put(&old);
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
    t->creds = (struct creds){.ruid = k->cfg.uid, .euid = k->cfg.uid, .suid = k->cfg.uid,
                              .fsuid = k->cfg.uid, .rgid = k->cfg.gid, .egid = k->cfg.gid,
                              .sgid = k->cfg.gid, .fsgid = k->cfg.gid};
    for (int i = 0; i < k->cfg.ngroups && i < CREDS_MAX_GROUPS; i++)
        t->creds.groups[t->creds.ngroups++] = k->cfg.groups[i];
    t->fs = init->fs;
    if ((err = init_cwd(t, init->cwd)) != 0) {
        snprintf(why, whylen, "cannot change to the working directory %s: %s", init->cwd,
                 strerror(-err));
        task_release(t);
        task_free(t);
        return err;
    }
    if ((err = init_fds(t, init)) != 0) {
        snprintf(why, whylen, "cannot set up stdio: %s", strerror(-err));
        task_release(t);
        task_free(t);
        return err;
    }
    pthread_mutex_lock(&k->lock);
    k->init_task = t;
    k->next_pid = 2;
    tg->leader = t;
    tg->tasks = t;
    tg->pgid = tg->sid = 1;
    tg->next = k->groups;
    k->groups = tg;
    k->nprocs = 1;
    k->ntasks = 1;
    pthread_mutex_unlock(&k->lock);

    struct init_start start = {.task = t, .init = init, .why = why, .whylen = whylen};
    pthread_mutex_init(&start.lock, NULL);
    pthread_cond_init(&start.cond, NULL);
    err = pthread_create(&t->thread, NULL, init_task_main, &start);
    if (err) {
        snprintf(why, whylen, "cannot start the task thread: %s", strerror(err));
        task_release(t);
        pthread_mutex_lock(&k->lock);
        k->groups = NULL;
        k->init_task = NULL;
        pthread_mutex_unlock(&k->lock);
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
        k->groups = NULL;
        k->init_task = NULL;
        pthread_mutex_unlock(&k->lock);
        task_free(t);
    }
    return err;
}

/* How long the rest of the sandbox gets to die after init. */
#define KILL_ALL_TIMEOUT_SECONDS 2

static bool all_others_gone(struct kernel *k, struct thread_group *init)
{
    for (struct thread_group *g = k->groups; g; g = g->next) {
        if (g != init && !g->zombie)
            return false;
    }
    return true;
}

int kernel_wait_init(struct kernel *k)
{
    pthread_mutex_lock(&k->lock);
    while (!k->init_exited)
        pthread_cond_wait(&k->changed, &k->lock);
    int status = k->init_status;
    struct task *t = k->init_task;
    pthread_mutex_unlock(&k->lock);
    if (!t)
        return status;
    pthread_join(t->thread, NULL);

    /* When init dies the kernel kills everything else in its pid namespace. Their groups may
     * still name init as parent, so init's structures stay until runsc exits. */
    pthread_mutex_lock(&k->lock);
    for (struct thread_group *g = k->groups; g; g = g->next) {
        if (g != t->tg && !g->zombie && g->leader)
            thread_group_signal_from_kernel(g, SIGKILL, true);
    }
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += KILL_ALL_TIMEOUT_SECONDS;
    while (!all_others_gone(k, t->tg)) {
        if (pthread_cond_timedwait(&k->changed, &k->lock, &deadline) != 0)
            break;
    }
    pthread_mutex_unlock(&k->lock);
    return status;
}
