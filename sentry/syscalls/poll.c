/* Readiness: poll(2), ppoll(2), select(2), pselect6(2). One loop serves them all: ask every
 * file for its events while registering on what would change them, block, and ask again. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "sentry/kernel/ktimer.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"
#include "sentry/vfs/vfs.h"

/* How long a poll that includes host fds sleeps before asking them again. */
#define POLL_HOST_SLICE_NS (10 * 1000 * 1000L)

static struct timespec ts_add_ns(struct timespec a, long ns)
{
    a.tv_nsec += ns;
    while (a.tv_nsec >= 1000000000L) {
        a.tv_sec++;
        a.tv_nsec -= 1000000000L;
    }
    return a;
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Fills in revents; returns how many are non-zero, or -ERESTARTNOHAND if a signal came first.
 * `deadline` (CLOCK_MONOTONIC) NULL waits for ever; a passed one checks once. */
static long poll_files(struct task *t, struct pollfd *pfds, size_t n,
                       const struct timespec *deadline)
{
    struct file **files = calloc(n ? n : 1, sizeof(*files));
    struct waiter *waiters = calloc(n ? n : 1, sizeof(*waiters));
    long ready = 0;

    if (!files || !waiters) {
        free(files);
        free(waiters);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        files[i] = pfds[i].fd < 0 ? NULL : fdtable_get(t->fds, pfds[i].fd);
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        bool last_look = deadline && !ts_before(&now, deadline);
        bool slice = false;
        ready = 0;
        for (size_t i = 0; i < n; i++) {
            pfds[i].revents = 0;
            if (pfds[i].fd < 0)
                continue;
            if (!files[i]) {
                pfds[i].revents = POLLNVAL;
                ready++;
                continue;
            }
            struct file *f = files[i];
            unsigned ev = f->ops->poll ? f->ops->poll(f, t, last_look ? NULL : &waiters[i], &slice)
                                       : (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
            pfds[i].revents = (short)(ev & ((unsigned)pfds[i].events | POLLERR | POLLHUP));
            if (pfds[i].revents)
                ready++;
        }
        long err = 0;
        if (!ready && !last_look) {
            struct timespec until = slice ? ts_add_ns(now, POLL_HOST_SLICE_NS) : now;
            if (deadline && (!slice || ts_before(deadline, &until)))
                until = *deadline;
            err = task_block(t, slice || deadline ? &until : NULL) == -EINTR ? -ERESTARTNOHAND : 0;
        }
        for (size_t i = 0; i < n && !last_look; i++) {
            if (files[i] && files[i]->ops->poll_unregister)
                files[i]->ops->poll_unregister(files[i], &waiters[i]);
        }
        if (err) {
            ready = err;
            break;
        }
        if (ready || last_look)
            break;
    }
    for (size_t i = 0; i < n; i++) {
        if (files[i])
            file_put(files[i]);
    }
    free(files);
    free(waiters);
    return ready;
}

static long poll_guest(struct task *t, uint64_t addr, uint64_t n, const struct timespec *deadline)
{
    if (n > (uint64_t)task_nofile_limit(t))
        return -EINVAL;
    struct pollfd *pfds = calloc(n ? n : 1, sizeof(*pfds));
    if (!pfds)
        return -ENOMEM;
    long ret = n && mm_copy_in(t->mm, addr, pfds, n * sizeof(*pfds)) != 0 ? -EFAULT : 0;
    if (!ret)
        ret = poll_files(t, pfds, n, deadline);
    if (ret >= 0 && n && mm_copy_out(t->mm, addr, pfds, n * sizeof(*pfds)) != 0)
        ret = -EFAULT;
    free(pfds);
    return ret;
}

/* The time from now until `deadline`, never negative. Field by field: a far deadline's
 * nanoseconds would not fit in 64 bits. */
static struct timespec time_left(const struct timespec *deadline)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    struct timespec left = {deadline->tv_sec - now.tv_sec, deadline->tv_nsec - now.tv_nsec};
    if (left.tv_nsec < 0) {
        left.tv_nsec += 1000000000L;
        left.tv_sec--;
    }
    if (left.tv_sec < 0)
        left = (struct timespec){0, 0};
    return left;
}

/* ppoll, select and pselect6 write the time left back (unless the copy fails: then EFAULT only
 * if the call itself succeeded). */
static long write_back_timespec(struct task *t, uint64_t addr, const struct timespec *deadline,
                                long ret)
{
    struct timespec left = time_left(deadline);

    if (mm_copy_out(t->mm, addr, &left, sizeof(left)) != 0 && ret >= 0)
        return -EFAULT;
    return ret;
}

long sys_poll(struct task *t, const struct syscall_args *a)
{
    int ms = (int)a->a[2];
    struct timespec rel = {ms / 1000, (ms % 1000) * 1000000L}, deadline;

    if (ms >= 0)
        deadline = ktimer_deadline_after(&rel);
    return poll_guest(t, a->a[0], a->a[1], ms >= 0 ? &deadline : NULL);
}

/* ppoll's and pselect6's mask: in force while waiting, as rt_sigsuspend's is. */
static long swap_mask(struct task *t, uint64_t addr, uint64_t size)
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

/* Undoes swap_mask when the call returns without a signal to handle; an interrupted call
 * leaves it to signal delivery. */
static void restore_mask(struct task *t, long ret)
{
    if (ret != -ERESTARTNOHAND)
        task_restore_temporary_mask(t);
}

static int timespec_deadline(struct task *t, uint64_t addr, struct timespec *deadline)
{
    struct timespec rel;

    if (mm_copy_in(t->mm, addr, &rel, sizeof(rel)) != 0)
        return -EFAULT;
    if (rel.tv_sec < 0 || rel.tv_nsec < 0 || rel.tv_nsec >= 1000000000L)
        return -EINVAL;
    *deadline = ktimer_deadline_after(&rel);
    return 0;
}

long sys_ppoll(struct task *t, const struct syscall_args *a)
{
    struct timespec deadline;
    long ret;

    if (a->a[2] && (ret = timespec_deadline(t, a->a[2], &deadline)) != 0)
        return ret;
    if ((ret = swap_mask(t, a->a[3], a->a[4])) != 0)
        return ret;
    ret = poll_guest(t, a->a[0], a->a[1], a->a[2] ? &deadline : NULL);
    restore_mask(t, ret);
    return a->a[2] ? write_back_timespec(t, a->a[2], &deadline, ret) : ret;
}

/* select's three sets become poll requests, and the answers sets again (fs/select.c's
 * POLLIN_SET, POLLOUT_SET and POLLEX_SET). */
#define SELECT_IN (POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR)
#define SELECT_OUT (POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR)
#define SELECT_EX (POLLPRI)

static long select_files(struct task *t, int64_t n, uint64_t in_addr, uint64_t out_addr,
                         uint64_t ex_addr, const struct timespec *deadline)
{
    fd_set sets[3];
    const uint64_t addrs[3] = {in_addr, out_addr, ex_addr};

    if (n < 0)
        return -EINVAL;
    if (n > FD_SETSIZE)
        n = FD_SETSIZE; /* what the guest's fd_set can name */
    size_t bytes = (size_t)(n + 7) / 8;
    for (int s = 0; s < 3; s++) {
        FD_ZERO(&sets[s]);
        if (addrs[s] && bytes && mm_copy_in(t->mm, addrs[s], &sets[s], bytes) != 0)
            return -EFAULT;
    }
    struct pollfd *pfds = calloc((size_t)n + 1, sizeof(*pfds));
    if (!pfds)
        return -ENOMEM;
    size_t count = 0;
    for (int fd = 0; fd < n; fd++) {
        short ev = (short)((FD_ISSET(fd, &sets[0]) ? SELECT_IN : 0) |
                           (FD_ISSET(fd, &sets[1]) ? SELECT_OUT : 0) |
                           (FD_ISSET(fd, &sets[2]) ? SELECT_EX : 0));
        if (ev)
            pfds[count++] = (struct pollfd){.fd = fd, .events = ev};
    }
    long ret = poll_files(t, pfds, count, deadline);
    for (size_t i = 0; i < count && ret >= 0; i++) {
        if (pfds[i].revents & POLLNVAL)
            ret = -EBADF; /* select fails on an fd that isn't open, poll reports it */
    }
    if (ret >= 0) {
        ret = 0;
        for (int s = 0; s < 3; s++)
            FD_ZERO(&sets[s]);
        for (size_t i = 0; i < count; i++) {
            short r = pfds[i].revents;
            short asked = pfds[i].events;
            const short want[3] = {SELECT_IN, SELECT_OUT, SELECT_EX};
            for (int s = 0; s < 3; s++) {
                if ((asked & want[s]) && (r & want[s])) {
                    FD_SET(pfds[i].fd, &sets[s]);
                    ret++;
                }
            }
        }
        for (int s = 0; s < 3; s++) {
            if (addrs[s] && bytes && mm_copy_out(t->mm, addrs[s], &sets[s], bytes) != 0)
                ret = -EFAULT;
        }
    }
    free(pfds);
    return ret;
}

long sys_select(struct task *t, const struct syscall_args *a)
{
    struct timeval tv;
    struct timespec deadline;

    if (a->a[4]) {
        if (mm_copy_in(t->mm, a->a[4], &tv, sizeof(tv)) != 0)
            return -EFAULT;
        if (tv.tv_sec < 0 || tv.tv_usec < 0)
            return -EINVAL;
        /* Linux carries whole seconds out of tv_usec rather than refusing them; a sum past
         * the largest time is invalid (it wraps negative there). */
        time_t sec;
        if (__builtin_add_overflow(tv.tv_sec, tv.tv_usec / 1000000, &sec))
            return -EINVAL;
        struct timespec rel = {sec, (tv.tv_usec % 1000000) * 1000};
        deadline = ktimer_deadline_after(&rel);
    }
    long ret = select_files(t, (int)a->a[0], a->a[1], a->a[2], a->a[3], a->a[4] ? &deadline : NULL);
    if (a->a[4]) {
        struct timespec left = time_left(&deadline);
        tv.tv_sec = left.tv_sec;
        tv.tv_usec = left.tv_nsec / 1000;
        if (mm_copy_out(t->mm, a->a[4], &tv, sizeof(tv)) != 0 && ret >= 0)
            ret = -EFAULT;
    }
    return ret;
}

long sys_pselect6(struct task *t, const struct syscall_args *a)
{
    struct timespec deadline;
    struct {
        uint64_t mask_addr, size;
    } sig = {0, 0};
    long ret;

    if (a->a[4] && (ret = timespec_deadline(t, a->a[4], &deadline)) != 0)
        return ret;
    if (a->a[5] && mm_copy_in(t->mm, a->a[5], &sig, sizeof(sig)) != 0)
        return -EFAULT;
    if ((ret = swap_mask(t, sig.mask_addr, sig.size)) != 0)
        return ret;
    ret = select_files(t, (int)a->a[0], a->a[1], a->a[2], a->a[3], a->a[4] ? &deadline : NULL);
    restore_mask(t, ret);
    return a->a[4] ? write_back_timespec(t, a->a[4], &deadline, ret) : ret;
}
