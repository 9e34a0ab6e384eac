/* The kernel object and its first process: creating, loading and waiting for init. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "platform/platform.h"
#include "sentry/fs/epoll/epoll.h"
#include "sentry/kernel/filelock.h"
#include "sentry/fs/inotify/inotify.h"
#include "sentry/kernel/kernel.h"
#include "sentry/fs/host/host.h"
#include "sentry/loader/loader.h"
#include "sentry/memfile/memfile.h"
#include "sentry/mm/mm.h"
#include "sentry/vdso/vdso.h"
#include "sentry/vfs/vfs.h"

/* The last reference to an open file description is going: its locks, epoll watches and
 * dnotify marks go. */
static void kernel_file_released(struct file *f)
{
    filelock_file_released(f);
    epoll_file_released(f);
    dnotify_flush(f);
}

/* The memory file's OOM hook: a syscall's allocation (a tmpfs write) waits for a kill. */
static int kernel_oom_hook(void *arg)
{
    return kernel_oom_wait(arg, task_current());
}

int kernel_create(const struct kernel_config *cfg, struct kernel **out)
{
    struct kernel *k = calloc(1, sizeof(*k));

    if (!k)
        return -ENOMEM;
    k->cfg = *cfg;
    k->max_tasks =
        cfg->max_tasks > 0 && cfg->max_tasks < KERNEL_MAX_TASKS ? cfg->max_tasks : KERNEL_MAX_TASKS;
    pthread_mutex_init(&k->oom.lock, NULL);
    pthread_cond_init(&k->oom.cond, NULL);
    pthread_mutex_init(&k->lock, NULL);
    pthread_cond_init(&k->changed, NULL);
    sysctl_table_init(&k->sysctl);
    clock_gettime(CLOCK_MONOTONIC, &k->boot_time);
    k->next_pid = 1;
    waitqueue_init(&k->signal_queued);
    waitqueue_init(&k->process_exited);
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
    if (cfg->memfile)
        memfile_set_oom_hook(cfg->memfile, kernel_oom_hook, k);
    *out = k;
    return 0;
}

void kernel_destroy(struct kernel *k)
{
    kernel_containers_free(k);
    seccomp_filter_put(k->container_seccomp);
    if (k->cfg.memfile)
        memfile_set_oom_hook(k->cfg.memfile, NULL, NULL);
    kernel_oom_stop(k);
    pthread_mutex_destroy(&k->oom.lock);
    pthread_cond_destroy(&k->oom.cond);
    vdso_destroy(k->vdso);
    pthread_mutex_destroy(&k->lock);
    pthread_cond_destroy(&k->changed);
    sysctl_table_destroy(&k->sysctl);
    waitqueue_destroy(&k->signal_queued);
    waitqueue_destroy(&k->process_exited);
    free(k);
}

/* The PATH execvp uses when the environment has none. */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Handshake between the starter (kernel_load_init, kernel_execute) and the new process's task
 * thread, which must do the loading itself: the platform context belongs to the thread that
 * creates it. */
struct process_start {
    struct task *task;
    const char *path;
    char *const *argv;
    char *const *envp;
    bool gated; /* init: run only after kernel_run_init */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done; /* guarded by lock */
    int err;
    char why[256];
};

static const char *env_path(char *const *envp)
{
    for (size_t i = 0; envp && envp[i]; i++) {
        if (strncmp(envp[i], "PATH=", 5) == 0)
            return envp[i] + 5;
    }
    return DEFAULT_PATH;
}

/* execve of `path`, or with no slash in it, of the first PATH entry that has it (execvp's
 * rules: not found and not a directory go on; permission denied is remembered and goes on;
 * anything else stops the search). */
static int process_load(struct task *t, const struct process_start *s, const char **why)
{
    if (strchr(s->path, '/')) {
        int err = task_execve(t, s->path, s->argv, s->envp, why);
        if (err == -ENOENT && !*why)
            *why = "no such file or directory";
        return err;
    }
    int result = -ENOENT;
    const char *p = env_path(s->envp);
    char candidate[PATH_MAX];
    for (;;) {
        size_t len = strcspn(p, ":");
        if (len == 0)
            snprintf(candidate, sizeof(candidate), "%s", s->path);
        else
            snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)len, p, s->path);
        const char *w = NULL;
        int err = task_execve(t, candidate, s->argv, s->envp, &w);
        if (err == 0)
            return 0;
        if (err == -EACCES) {
            result = err;
        } else if (err != -ENOENT && err != -ENOTDIR) {
            *why = w;
            return err;
        }
        p += len;
        if (*p != ':')
            break;
        p++;
    }
    *why = result == -ENOENT ? "executable file not found in $PATH" : NULL;
    return result;
}

static void *process_task_main(void *arg)
{
    struct process_start *start = arg;
    struct task *t = start->task;
    struct kernel *k = t->kernel;
    bool gated = start->gated;
    const char *why = NULL;

    task_set_current(t);
    int err = process_load(t, start, &why);
    pthread_mutex_lock(&start->lock);
    start->err = err;
    if (err)
        snprintf(start->why, sizeof(start->why), "%s", why ? why : strerror(-err));
    start->done = true;
    pthread_cond_signal(&start->cond);
    pthread_mutex_unlock(&start->lock);
    /* `start` is gone once done is seen. */
    if (err) {
        if (!t->tg->is_init)
            task_exit_group(t, (err == -ENOENT ? 127 : 126) << 8);
        task_release(t);
        return NULL;
    }
    if (gated) {
        pthread_mutex_lock(&k->lock);
        while (!kernel_container_released_locked(k, t->tg->container))
            pthread_cond_wait(&k->changed, &k->lock);
        pthread_mutex_unlock(&k->lock);
    }
    task_run(t);
    task_release(t);
    return NULL;
}

/* Starts t's thread to load (and run) it and waits for the load: 0 or -errno with why. */
static int process_start_thread(struct process_start *start, bool detached)
{
    pthread_attr_t attr;

    pthread_mutex_init(&start->lock, NULL);
    pthread_cond_init(&start->cond, NULL);
    pthread_attr_init(&attr);
    if (detached)
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int err = pthread_create(&start->task->thread, &attr, process_task_main, start);
    pthread_attr_destroy(&attr);
    if (err) {
        snprintf(start->why, sizeof(start->why), "cannot start the task thread: %s", strerror(err));
        start->err = -err;
    } else {
        pthread_mutex_lock(&start->lock);
        while (!start->done)
            pthread_cond_wait(&start->cond, &start->lock);
        pthread_mutex_unlock(&start->lock);
    }
    pthread_mutex_destroy(&start->lock);
    pthread_cond_destroy(&start->cond);
    return start->err;
}

/* fds 0-2 of a new process: sentry files (stdio_files, may be NULL: none) or host fds
 * (owned; -1: none). */
static int init_fds(struct task *t, const int stdio_fds[3], struct file *const stdio_files[3])
{
    int err = 0;

    t->fds = calloc(1, sizeof(*t->fds));
    if (t->fds)
        fdtable_init(t->fds);
    else
        err = -ENOMEM;
    for (int fd = 0; fd < 3; fd++) {
        if (stdio_files && stdio_files[fd]) {
            int ret = err ? 0 : fdtable_install_at(t->fds, fd, stdio_files[fd], false);
            if (ret < 0)
                err = ret;
            continue;
        }
        if (stdio_fds[fd] < 0)
            continue;
        if (err) {
            close(stdio_fds[fd]); /* owned: the rest goes as the table would have closed it */
            continue;
        }
        /* The guest sees the open file description's real flags (a terminal is O_RDWR). */
        int flags = fcntl(stdio_fds[fd], F_GETFL);
        struct file *f = host_file_create(stdio_fds[fd], flags < 0 ? O_RDWR : flags);
        if (!f) {
            close(stdio_fds[fd]);
            err = -ENOMEM;
            continue;
        }
        int ret = fdtable_install_at(t->fds, fd, f, false);
        file_put(f);
        if (ret < 0)
            err = ret;
    }
    return err;
}

/* Walks the initial working directory as the new task (its credentials, its root). */
static int init_cwd(struct task *t, const char *cwd)
{
    struct vfs_cred cred;
    creds_vfs_cred(&t->creds, &cred);
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

static void set_creds(struct task *t, uid_t uid, gid_t gid, const gid_t *groups, int ngroups)
{
    t->creds = (struct creds){.ruid = uid,
                              .euid = uid,
                              .suid = uid,
                              .fsuid = uid,
                              .rgid = gid,
                              .egid = gid,
                              .sgid = gid,
                              .fsgid = gid};
    for (int i = 0; i < ngroups && i < CREDS_MAX_GROUPS; i++)
        t->creds.groups[t->creds.ngroups++] = groups[i];
    creds_caps_reset(&t->creds, CREDS_CAP_ALL);
}

/* OCI process.capabilities, as runc applies them: the bounding set dropped to, the user switched
 * under PR_SET_KEEPCAPS, the other sets set with capset and the ambient set raised, then the
 * container's program executed, whose execve(2) transforms them as for any other: root ends with
 * inheritable | bounding permitted and effective, others with their ambient set. */
static void set_oci_caps(struct creds *c, const struct init_caps *caps)
{
    c->cap_bounding = caps->bounding & CREDS_CAP_ALL;
    c->cap_permitted = caps->permitted & CREDS_CAP_ALL;
    c->cap_effective = caps->effective & c->cap_permitted;
    c->cap_inheritable = caps->inheritable & CREDS_CAP_ALL;
    c->cap_ambient = caps->ambient & c->cap_permitted & c->cap_inheritable;
    creds_caps_exec(c);
}

int kernel_load_init(struct kernel *k, const struct init_process *init, char *why, size_t whylen)
{
    struct thread_group *tg = thread_group_alloc(k, 1);
    struct task *t = tg ? task_alloc(k, tg, 1) : NULL;
    int err;

    if (!t) {
        free(tg);
        seccomp_filter_put(init->seccomp);
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    /* The container's filter is in force from init's first instruction (runc installs it just
     * before the execve of the container's process; here execve is the sentry's own). */
    long ret = init->seccomp ? task_seccomp_attach(t, init->seccomp, 0) : 0;
    if (ret) {
        snprintf(why, whylen, "cannot install the seccomp filter: %s", strerror((int)-ret));
        task_free(t);
        return (int)ret;
    }
    /* init holds the filter now; the kernel keeps its own reference for `runsc exec`. */
    seccomp_filter_put(k->container_seccomp);
    k->container_seccomp = seccomp_filter_get(init->seccomp);
    tg->is_init = true;
    tg->unkillable = true;
    tg->live_tasks = 1;
    set_creds(t, k->cfg.uid, k->cfg.gid, k->cfg.groups, k->cfg.ngroups);
    for (size_t i = 0; i < init->n_rlimits; i++) {
        if (init->rlimits[i].resource >= 0 && init->rlimits[i].resource < RLIM_NLIMITS)
            tg->rlimits[init->rlimits[i].resource] = init->rlimits[i].limit;
    }
    t->no_new_privs = init->no_new_privs;
    if (init->has_caps)
        set_oci_caps(&t->creds, &init->caps);
    tg->oom_score_adj = init->oom_score_adj;
    t->fs = init->fs;
    if ((err = init_cwd(t, init->cwd)) != 0) {
        snprintf(why, whylen, "cannot change to the working directory %s: %s", init->cwd,
                 strerror(-err));
        task_release(t);
        task_free(t);
        return err;
    }
    if ((err = init_fds(t, init->stdio_fds, init->stdio_files)) != 0) {
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

    struct process_start start = {
        .task = t, .path = init->path, .argv = init->argv, .envp = init->envp, .gated = true};
    err = process_start_thread(&start, false);
    if (err) {
        snprintf(why, whylen, "%s", start.why);
        if (start.done)
            pthread_join(t->thread, NULL);
        else
            task_release(t);
        pthread_mutex_lock(&k->lock);
        k->groups = NULL;
        k->init_task = NULL;
        pthread_mutex_unlock(&k->lock);
        task_free(t);
    }
    return err;
}

int kernel_run_init(struct kernel *k)
{
    int err = 0;

    pthread_mutex_lock(&k->lock);
    if (!k->init_task)
        err = -ESRCH;
    else if (k->init_released)
        err = -EALREADY;
    k->init_released = true;
    pthread_cond_broadcast(&k->changed);
    pthread_mutex_unlock(&k->lock);
    return err;
}

int kernel_start_init(struct kernel *k, const struct init_process *init, char *why, size_t whylen)
{
    int err = kernel_load_init(k, init, why, whylen);
    if (!err)
        kernel_run_init(k);
    return err;
}

static void close_stdio(const struct kernel_exec *e)
{
    for (int i = 0; i < 3; i++) {
        if (e->stdio_fds[i] >= 0)
            close(e->stdio_fds[i]);
    }
}

int kernel_execute(struct kernel *k, const struct kernel_exec *e, char *why, size_t whylen)
{
    struct fs_context *init_fs = NULL;
    struct thread_group *tg;
    struct task *t;
    int err;

    struct seccomp_filter *filter = NULL;

    pthread_mutex_lock(&k->lock);
    struct task *init = k->init_task && !k->init_exited ? k->init_task : NULL;
    int pid = !init ? -ESRCH : k->ntasks >= k->max_tasks ? -EAGAIN : kernel_alloc_pid(k);
    if (pid > 0) {
        /* The container's filter, as runc's exec applies the container's: the root one's is
         * init's, a member's came with it (kernel_container_create). */
        filter = e->container ? kernel_container_seccomp_locked(k, e->container)
                              : seccomp_filter_get(k->container_seccomp);
        if (e->fs) {
            init_fs = e->fs;
            fs_context_get(init_fs);
        } else if (e->container) {
            init_fs = kernel_container_fs_locked(k, e->container);
        } else {
            init_fs = task_get_fs(init); /* kernel.lock, then tg->lock: in order */
        }
        k->ntasks++;
        k->total_forks++;
    }
    pthread_mutex_unlock(&k->lock);
    if (pid < 0) {
        snprintf(why, whylen, "%s",
                 pid == -ESRCH ? "the container is not running" : "too many tasks");
        close_stdio(e);
        return pid;
    }
    if (!init_fs) {
        err = -ESRCH;
        snprintf(why, whylen, "the container is not running");
        goto out_unreserve_fds;
    }
    tg = thread_group_alloc(k, pid);
    t = tg ? task_alloc(k, tg, pid) : NULL;
    if (!t) {
        free(tg);
        err = -ENOMEM;
        snprintf(why, whylen, "out of memory");
        goto out_unreserve_fds;
    }
    tg->leader = t;
    tg->tasks = t;
    tg->live_tasks = 1;
    tg->exit_signal = 0;
    tg->container = e->container;
    if (filter)
        task_seccomp_share(t, filter);
    seccomp_filter_put(filter);
    filter = NULL;
    pthread_mutex_lock(&init->tg->lock);
    memcpy(tg->rlimits, init->tg->rlimits, sizeof(tg->rlimits));
    for (size_t i = 0; i < e->n_rlimits; i++) {
        if (e->rlimits[i].resource >= 0 && e->rlimits[i].resource < RLIM_NLIMITS)
            tg->rlimits[e->rlimits[i].resource] = e->rlimits[i].limit;
    }
    tg->oom_score_adj = e->oom_score_adj;
    pthread_mutex_unlock(&init->tg->lock);
    set_creds(t, e->uid, e->gid, e->groups, e->ngroups);
    if (e->has_caps)
        set_oci_caps(&t->creds, &e->caps);
    t->no_new_privs = e->no_new_privs;
    t->fs = fs_context_copy(init_fs);
    fs_context_put(init_fs);
    if (!t->fs) {
        err = -ENOMEM;
        snprintf(why, whylen, "out of memory");
        goto out_task_fds;
    }
    if ((err = init_cwd(t, e->cwd)) != 0) {
        snprintf(why, whylen, "cannot change to the working directory %s: %s", e->cwd,
                 strerror(-err));
        goto out_task_fds;
    }
    if ((err = init_fds(t, e->stdio_fds, e->stdio_files)) != 0) {
        snprintf(why, whylen, "cannot set up stdio: %s", strerror(-err));
        goto out_task;
    }

    pthread_mutex_lock(&k->lock);
    tg->pgid = tg->sid = pid; /* its own session, as gVisor's Execute (setsid) */
    tg->next = k->groups;
    k->groups = tg;
    k->nprocs++;
    pthread_mutex_unlock(&k->lock);
    if (e->on_session)
        e->on_session(e->on_session_arg, pid);
    /* From here the task's own thread ends it: a failed load exits it with 127 or 126, which
     * kernel_wait_pid can still report. */
    struct process_start start = {
        .task = t, .path = e->argv[0], .argv = e->argv, .envp = e->envp, .gated = e->gated};
    err = process_start_thread(&start, true);
    if (err) {
        snprintf(why, whylen, "%s", start.why);
        if (!start.done) {
            task_exit_group(t, SIGKILL);
            task_release(t);
        }
        return err;
    }
    return pid;

out_task_fds:
    close_stdio(e);
out_task:
    fdtable_put_ref(t->fds);
    t->fds = NULL;
    task_free(t);
    goto out_unreserve;
out_unreserve_fds:
    close_stdio(e);
    fs_context_put(init_fs);
    seccomp_filter_put(filter);
out_unreserve:
    pthread_mutex_lock(&k->lock);
    k->ntasks--;
    pthread_mutex_unlock(&k->lock);
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
