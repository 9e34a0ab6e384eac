/* epoll_create(2), epoll_create1(2), epoll_ctl(2), epoll_wait(2), epoll_pwait(2),
 * epoll_pwait2(2): argument rules in the order Linux's fs/eventpoll.c checks them. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "arch.h"
#include "sentry/fs/epoll/epoll.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

/* Linux's EP_MAX_EVENTS: what maxevents may be. */
#define EPOLL_MAX_EVENTS (INT_MAX / (int)sizeof(struct arch_epoll_event))
/* Events gathered per call at most (a wait may return fewer than maxevents): enough for the
 * programs that watch thousands of fds at once (CPython's test_above_fd_setsize returns ~10000),
 * bounded so a guest's maxevents never sizes an allocation beyond a couple of MiB. */
#define EPOLL_BATCH 65536
/* What EPOLLEXCLUSIVE may come with (EPOLLEXCLUSIVE_OK_BITS). */
#define EPOLL_EXCLUSIVE_OK                                                                         \
    (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE)

static long epoll_create_common(struct task *t, int flags)
{
    struct file *f;

    if (flags & ~EPOLL_CLOEXEC)
        return -EINVAL;
    int err = epoll_file_create(&f);
    if (err)
        return err;
    return task_install_file(t, f, flags & EPOLL_CLOEXEC);
}

long sys_epoll_create1(struct task *t, const struct syscall_args *a)
{
    return epoll_create_common(t, (int)a->a[0]);
}

long sys_epoll_create(struct task *t, const struct syscall_args *a)
{
    /* The size hint is ignored but must be positive (epoll_create(2)). */
    if ((int)a->a[0] <= 0)
        return -EINVAL;
    return epoll_create_common(t, 0);
}

long sys_epoll_ctl(struct task *t, const struct syscall_args *a)
{
    int op = (int)a->a[1], fd = (int)a->a[2];
    struct arch_epoll_event guest_ev;
    struct epoll_record ev = {0, 0};
    bool has_event = op != EPOLL_CTL_DEL;
    long err;

    if (has_event) {
        if (mm_copy_in(t->mm, a->a[3], &guest_ev, sizeof(guest_ev)) != 0)
            return -EFAULT;
        ev.events = guest_ev.events;
        ev.data = guest_ev.data;
    }
    struct file *ep = task_get_file(t, a->a[0]);
    if (!ep)
        return -EBADF;
    struct file *target = fd < 0 ? NULL : task_get_file(t, (uint64_t)fd);
    if (!target) {
        err = -EBADF;
        goto out_ep;
    }
    /* Files that can't be polled (regular files, directories, /dev/null) can't be watched. */
    if (!target->ops->poll) {
        err = -EPERM;
        goto out_target;
    }
    err = -EINVAL;
    if (ep == target || !epoll_file_is(ep))
        goto out_target;
    if (has_event && (ev.events & EPOLLEXCLUSIVE)) {
        if (op == EPOLL_CTL_MOD)
            goto out_target;
        if (op == EPOLL_CTL_ADD &&
            (epoll_file_is(target) || (ev.events & ~(uint32_t)EPOLL_EXCLUSIVE_OK)))
            goto out_target;
    }
    err = epoll_file_ctl(ep, op, fd, target, has_event ? &ev : NULL);
out_target:
    file_put(target);
out_ep:
    file_put(ep);
    return err;
}

/* do_epoll_wait(): checks, waits, and copies the events out in the guest's layout. */
static long epoll_wait_common(struct task *t, int epfd, uint64_t events_addr, int max,
                              const struct timespec *deadline)
{
    if (max <= 0 || max > EPOLL_MAX_EVENTS)
        return -EINVAL;
    uint64_t bytes = (uint64_t)max * sizeof(struct arch_epoll_event);
    if (events_addr >= ARCH_USER_ADDR_LIMIT || bytes > ARCH_USER_ADDR_LIMIT - events_addr)
        return -EFAULT;
    struct file *ep = epfd < 0 ? NULL : task_get_file(t, (uint64_t)epfd);
    if (!ep)
        return -EBADF;
    long ret = -EINVAL;
    if (!epoll_file_is(ep))
        goto out_ep;
    int batch = max < EPOLL_BATCH ? max : EPOLL_BATCH;
    struct epoll_record *records = calloc((size_t)batch, sizeof(*records));
    struct arch_epoll_event *guest = calloc((size_t)batch, sizeof(*guest));
    ret = -ENOMEM;
    if (!records || !guest)
        goto out_free;
    ret = epoll_file_wait(ep, t, records, batch, deadline);
    for (long i = 0; i < ret; i++) {
        guest[i].events = records[i].events;
        guest[i].data = records[i].data;
    }
    if (ret > 0 && mm_copy_out(t->mm, events_addr, guest, (size_t)ret * sizeof(*guest)) != 0)
        ret = -EFAULT;
out_free:
    free(records);
    free(guest);
out_ep:
    file_put(ep);
    return ret;
}

static struct timespec deadline_after_ns(int64_t ns)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t sec = now.tv_sec + ns / 1000000000LL, nsec = now.tv_nsec + ns % 1000000000LL;
    if (nsec >= 1000000000LL) {
        sec++;
        nsec -= 1000000000LL;
    }
    return (struct timespec){sec, nsec};
}

/* epoll_pwait's mask, in force while it waits (as ppoll's): set here, undone when the call
 * returns without a signal to handle. */
static long epoll_swap_mask(struct task *t, uint64_t addr, uint64_t size)
{
    uint64_t mask;

    if (!addr)
        return 0;
    if (size != KERNEL_SIGSET_SIZE)
        return -EINVAL;
    if (mm_copy_in(t->mm, addr, &mask, sizeof(mask)) != 0)
        return -EFAULT;
    task_set_temporary_mask(t, mask);
    return 0;
}

static long epoll_pwait_common(struct task *t, const struct syscall_args *a,
                               const struct timespec *deadline)
{
    long ret = epoll_swap_mask(t, a->a[4], a->a[5]);
    if (ret)
        return ret;
    ret = epoll_wait_common(t, (int)a->a[0], a->a[1], (int)a->a[2], deadline);
    /* Interrupted: the mask stays until the signal is delivered (restore_saved_sigmask_unless
     * in Linux). */
    if (ret != -EINTR)
        task_restore_temporary_mask(t);
    return ret;
}

static const struct timespec *ms_deadline(int ms, struct timespec *deadline)
{
    if (ms < 0)
        return NULL;
    *deadline = deadline_after_ns((int64_t)ms * 1000000LL);
    return deadline;
}

long sys_epoll_wait(struct task *t, const struct syscall_args *a)
{
    struct timespec deadline;
    return epoll_wait_common(t, (int)a->a[0], a->a[1], (int)a->a[2],
                             ms_deadline((int)a->a[3], &deadline));
}

long sys_epoll_pwait(struct task *t, const struct syscall_args *a)
{
    struct timespec deadline;
    return epoll_pwait_common(t, a, ms_deadline((int)a->a[3], &deadline));
}

long sys_epoll_pwait2(struct task *t, const struct syscall_args *a)
{
    struct timespec rel, deadline;

    if (!a->a[3])
        return epoll_pwait_common(t, a, NULL);
    if (mm_copy_in(t->mm, a->a[3], &rel, sizeof(rel)) != 0)
        return -EFAULT;
    if (rel.tv_sec < 0 || rel.tv_nsec < 0 || rel.tv_nsec >= 1000000000L)
        return -EINVAL;
    int64_t ns = rel.tv_sec > INT64_MAX / 1000000000LL - 1
                     ? INT64_MAX / 2
                     : (int64_t)rel.tv_sec * 1000000000LL + rel.tv_nsec;
    deadline = deadline_after_ns(ns);
    return epoll_pwait_common(t, a, &deadline);
}
