/* pidfd files (pidfd_open(2), CLONE_PIDFD): an anonymous file naming a process by its tgid and
 * the serial number of its thread group, so a reused pid never passes for the process it named.
 * The file is readable (POLLIN) once every thread of the process has ended. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include "sentry/kernel/kernel.h"

struct pidfd_file {
    struct file base;
    struct kernel *kernel; /* immutable */
    int tgid;              /* immutable */
    uint64_t serial;       /* immutable: the named thread group's thread_group.serial */
};

static const struct file_ops pidfd_ops;

static struct pidfd_file *pidfd_of(struct file *f)
{
    return (struct pidfd_file *)f;
}

bool pidfd_file_is(const struct file *f)
{
    return f->ops == &pidfd_ops;
}

struct thread_group *pidfd_file_group(struct file *f)
{
    struct pidfd_file *pf = pidfd_of(f);
    struct thread_group *g = kernel_find_group(pf->kernel, pf->tgid);

    return g && g->serial == pf->serial ? g : NULL;
}

int pidfd_file_pid(struct file *f)
{
    struct kernel *k = pidfd_of(f)->kernel;

    pthread_mutex_lock(&k->lock);
    int pid = pidfd_file_group(f) ? pidfd_of(f)->tgid : -1;
    pthread_mutex_unlock(&k->lock);
    return pid;
}

/* Linux's thread_group_exited: reaped, or a zombie (its last task released). kernel.lock. */
static bool pidfd_exited(struct file *f)
{
    struct thread_group *g = pidfd_file_group(f);

    return !g || g->live_tasks <= 0;
}

static unsigned pidfd_poll(struct file *f, struct task *t, struct waiter *w, bool *slice)
{
    struct kernel *k = pidfd_of(f)->kernel;

    if (w)
        waitqueue_add(&k->process_exited, w, t);
    pthread_mutex_lock(&k->lock);
    bool exited = pidfd_exited(f);
    pthread_mutex_unlock(&k->lock);
    return exited ? POLLIN | POLLRDNORM : 0;
}

static void pidfd_poll_unregister(struct file *f, struct waiter *w)
{
    waitqueue_remove(&pidfd_of(f)->kernel->process_exited, w);
}

static ssize_t pidfd_read(struct file *f, struct task *t, void *buf, size_t len)
{
    return -EINVAL; /* pidfd_fops has no read: vfs_read gives EINVAL */
}

static ssize_t pidfd_write(struct file *f, struct task *t, const void *buf, size_t len)
{
    return -EINVAL;
}

static int pidfd_stat(struct file *f, struct stat *st)
{
    file_anon_stat(st);
    return 0;
}

static int pidfd_name(struct file *f, char *buf, size_t size)
{
    int n = snprintf(buf, size, "anon_inode:[pidfd]");
    return (size_t)n >= size ? -ENAMETOOLONG : n;
}

static void pidfd_release(struct file *f)
{
    file_release_common(f);
    free(pidfd_of(f));
}

static const struct file_ops pidfd_ops = {
    .read = pidfd_read,
    .write = pidfd_write,
    .stat = pidfd_stat,
    .poll = pidfd_poll,
    .poll_unregister = pidfd_poll_unregister,
    .llseek = file_noop_llseek,
    .name = pidfd_name,
    .release = pidfd_release,
};

int pidfd_file_create(struct kernel *k, struct thread_group *g, int status_flags,
                      struct file **out)
{
    struct pidfd_file *pf = calloc(1, sizeof(*pf));

    if (!pf)
        return -ENOMEM;
    pf->kernel = k;
    pf->tgid = g->tgid;
    pf->serial = g->serial;
    file_init(&pf->base, &pidfd_ops, O_RDWR | (status_flags & O_NONBLOCK));
    *out = &pf->base;
    return 0;
}

int pidfd_install(struct task *t, struct thread_group *g, int status_flags)
{
    struct file *f;
    int err = pidfd_file_create(t->kernel, g, status_flags, &f);

    if (err)
        return err;
    /* pidfd_create: always close-on-exec. */
    int fd = fdtable_install_lowest(t->fds, 0, task_nofile_limit(t), f, true);
    file_put(f);
    return fd;
}
