/* Pods: further containers inside one sandbox (DESIGN.md §1). Each member has its own
 * filesystem tree and a first process with no parent in the sandbox (as Execute's); its
 * processes carry its number (thread_group.container), so signals, listings and waits can be
 * limited to it. The table lives under kernel.lock. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sentry/kernel/kernel.h"
#include "sentry/vfs/vfs.h"

/* How long a destroyed container's processes get to die before Destroy gives up waiting. */
#define DESTROY_TIMEOUT_SECONDS 5

/* One member of the pod; every field is kernel.lock's. */
struct kernel_container {
    char *id;        /* owned */
    unsigned number; /* thread_group.container of its processes; never 0 */
    int init_pid;    /* its first process */
    bool started;    /* kernel_container_start released it */
    bool destroyed;  /* a tombstone: its id names no container any more */
    bool exited;     /* its first process is gone, with this status */
    int status;
    struct fs_context *fs;          /* a reference to its tree, NULL once destroyed */
    struct seccomp_filter *seccomp; /* a reference to its linux.seccomp filter, or NULL */
    struct kernel_container *next;
};

static struct kernel_container *find_locked(struct kernel *k, const char *id)
{
    for (struct kernel_container *c = k->containers; c; c = c->next) {
        if (strcmp(c->id, id) == 0)
            return c;
    }
    return NULL;
}

static struct kernel_container *find_number_locked(struct kernel *k, unsigned number)
{
    for (struct kernel_container *c = k->containers; c; c = c->next) {
        if (c->number == number)
            return c;
    }
    return NULL;
}

bool kernel_container_released_locked(struct kernel *k, unsigned container)
{
    if (container == 0)
        return k->init_released;
    struct kernel_container *c = find_number_locked(k, container);
    /* A destroyed container's loaded process is let go so it meets its SIGKILL and ends. */
    return !c || c->started || c->destroyed;
}

struct seccomp_filter *kernel_container_seccomp_locked(struct kernel *k, unsigned container)
{
    struct kernel_container *c = find_number_locked(k, container);
    return c && c->seccomp ? seccomp_filter_get(c->seccomp) : NULL;
}

struct fs_context *kernel_container_fs_locked(struct kernel *k, unsigned container)
{
    struct kernel_container *c = find_number_locked(k, container);
    if (!c || !c->fs)
        return NULL;
    fs_context_get(c->fs);
    return c->fs;
}

void kernel_container_note_exit(struct kernel *k, struct thread_group *tg)
{
    if (!tg->container)
        return;
    struct kernel_container *c = find_number_locked(k, tg->container);
    if (c && c->init_pid == tg->tgid && !c->exited) {
        c->exited = true;
        c->status = tg->exit_status;
    }
}

int kernel_container_create(struct kernel *k, const char *id, const struct kernel_exec *e,
                            char *why, size_t whylen)
{
    struct kernel_container *c = calloc(1, sizeof(*c));
    char *copy = strdup(id);
    int pid;

    if (!c || !copy || !e->fs) {
        snprintf(why, whylen, "%s", !e->fs ? "no filesystem tree" : "out of memory");
        pid = !e->fs ? -EINVAL : -ENOMEM;
        goto out_free;
    }
    c->id = copy;
    c->fs = e->fs;
    fs_context_get(c->fs);
    c->seccomp = e->seccomp ? seccomp_filter_get(e->seccomp) : NULL;
    pthread_mutex_lock(&k->lock);
    struct kernel_container *old = find_locked(k, id);
    if (old && !old->destroyed) {
        pthread_mutex_unlock(&k->lock);
        snprintf(why, whylen, "container %s already exists in this sandbox", id);
        pid = -EEXIST;
        goto out_fs;
    }
    c->number = ++k->next_container;
    c->next = k->containers;
    k->containers = c; /* before any tombstone of the same id: the live one is found first */
    pthread_mutex_unlock(&k->lock);

    struct kernel_exec member = *e;
    member.container = c->number;
    member.gated = true;
    pid = kernel_execute(k, &member, why, whylen);
    pthread_mutex_lock(&k->lock);
    if (pid > 0) {
        c->init_pid = pid;
    } else {
        /* Its process (if it got that far) ended on its own; the id is free again. */
        c->destroyed = true;
        struct fs_context *fs = c->fs;
        c->fs = NULL;
        pthread_mutex_unlock(&k->lock);
        fs_context_put(fs);
        return pid;
    }
    pthread_mutex_unlock(&k->lock);
    return pid;

out_fs:
    fs_context_put(c->fs);
    seccomp_filter_put(c->seccomp);
out_free:
    free(copy);
    free(c);
    return pid;
}

int kernel_container_start(struct kernel *k, const char *id)
{
    int err = 0;

    pthread_mutex_lock(&k->lock);
    struct kernel_container *c = find_locked(k, id);
    if (!c || c->destroyed)
        err = -ESRCH;
    else if (c->started)
        err = -EALREADY;
    else
        c->started = true;
    pthread_cond_broadcast(&k->changed);
    pthread_mutex_unlock(&k->lock);
    return err;
}

static bool container_empty_locked(struct kernel *k, unsigned number)
{
    for (struct thread_group *g = k->groups; g; g = g->next) {
        if (g->container == number && !g->zombie && g->live_tasks)
            return false;
    }
    return true;
}

int kernel_container_destroy(struct kernel *k, const char *id)
{
    pthread_mutex_lock(&k->lock);
    struct kernel_container *c = find_locked(k, id);
    if (!c || c->destroyed) {
        pthread_mutex_unlock(&k->lock);
        return -ESRCH;
    }
    c->destroyed = true;
    unsigned number = c->number;
    for (struct thread_group *g = k->groups; g; g = g->next) {
        if (g->container == number && !g->zombie && g->live_tasks)
            thread_group_signal_from_kernel(g, SIGKILL, true);
    }
    /* A process still waiting at its gate is let go to die. */
    pthread_cond_broadcast(&k->changed);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += DESTROY_TIMEOUT_SECONDS;
    while (!container_empty_locked(k, number)) {
        if (pthread_cond_timedwait(&k->changed, &k->lock, &deadline) != 0)
            break;
    }
    struct fs_context *fs = c->fs;
    c->fs = NULL;
    pthread_mutex_unlock(&k->lock);
    /* Its mounts go with the last reference: the tasks' went as they ended. */
    fs_context_put(fs);
    return 0;
}

int kernel_container_find(struct kernel *k, const char *id, unsigned *container, int *init_pid)
{
    int err = 0;

    pthread_mutex_lock(&k->lock);
    struct kernel_container *c = id ? find_locked(k, id) : NULL;
    if (!c) {
        *container = 0;
        *init_pid = 1;
    } else if (c->destroyed) {
        err = -ESRCH;
    } else {
        *container = c->number;
        *init_pid = c->init_pid;
    }
    pthread_mutex_unlock(&k->lock);
    return err;
}

int kernel_container_wait(struct kernel *k, const char *id, int *status,
                          bool (*cancelled)(void *arg), void *arg)
{
    int err = 0;

    pthread_mutex_lock(&k->lock);
    struct kernel_container *c = id ? find_locked(k, id) : NULL;
    if (!c) {
        pthread_mutex_unlock(&k->lock);
        return kernel_wait_pid(k, 1, status, cancelled, arg);
    }
    while (!c->exited && !(c->destroyed && !c->fs)) {
        kernel_wait_changed_locked(k);
        if (cancelled && cancelled(arg)) {
            err = -EINTR;
            break;
        }
    }
    if (!err && c->exited)
        *status = c->status;
    else if (!err)
        *status = SIGKILL; /* destroyed before its first process ended: killed */
    pthread_mutex_unlock(&k->lock);
    return err;
}

void kernel_containers_free(struct kernel *k)
{
    while (k->containers) {
        struct kernel_container *c = k->containers;
        k->containers = c->next;
        fs_context_put(c->fs);
        seccomp_filter_put(c->seccomp);
        free(c->id);
        free(c);
    }
}
