/* signalfd files (see signalfd.h). The file holds only its mask; the signals are the reading
 * task's own pending ones, taken out by the kernel's signal code under the thread group's
 * lock. */
#include "sentry/fs/signalfd/signalfd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/kernel/kernel.h"

struct signalfd_file {
    struct file base;
    struct kernel *kernel; /* immutable: whose signal_queued to wait on */
    _Atomic uint64_t mask; /* relaxed: a new mask needs no ordering with other memory */
};

static const struct file_ops signalfd_ops;

static struct signalfd_file *signalfd_of(struct file *f)
{
    return (struct signalfd_file *)f;
}

bool signalfd_file_is(const struct file *f)
{
    return f->ops == &signalfd_ops;
}

static uint64_t signalfd_mask(struct file *f)
{
    return atomic_load_explicit(&signalfd_of(f)->mask, memory_order_relaxed);
}

void signalfd_file_set_mask(struct file *f, uint64_t mask)
{
    struct signalfd_file *sf = signalfd_of(f);

    atomic_store_explicit(&sf->mask, mask & ~UNBLOCKABLE, memory_order_relaxed);
    waitqueue_wake_all(&sf->kernel->signal_queued);
}

/* Linux's siginfo_layout(): which union member of siginfo a (signal, code) pair carries. */
enum siginfo_layout {
    SIL_KILL,
    SIL_TIMER,
    SIL_POLL,
    SIL_FAULT,
    SIL_FAULT_MCEERR,
    SIL_CHLD,
    SIL_RT,
    SIL_SYS
};

static enum siginfo_layout siginfo_layout(int sig, int code)
{
    /* The highest si_code each signal defines (NSIGILL, NSIGFPE, ... in Linux's siginfo.h). */
    static const struct {
        int limit;
        enum siginfo_layout layout;
    } codes[] = {
        [SIGILL] = {11, SIL_FAULT}, [SIGFPE] = {15, SIL_FAULT}, [SIGSEGV] = {9, SIL_FAULT},
        [SIGBUS] = {5, SIL_FAULT},  [SIGTRAP] = {6, SIL_FAULT}, [SIGCHLD] = {6, SIL_CHLD},
        [SIGPOLL] = {6, SIL_POLL},  [SIGSYS] = {2, SIL_SYS},
    };

    if (code > SI_USER && code < SI_KERNEL) {
        if ((size_t)sig < sizeof(codes) / sizeof(codes[0]) && codes[sig].limit &&
            code <= codes[sig].limit) {
            if (sig == SIGBUS && (code == BUS_MCEERR_AR || code == BUS_MCEERR_AO))
                return SIL_FAULT_MCEERR;
            return codes[sig].layout;
        }
        return code <= 6 ? SIL_POLL : SIL_KILL; /* NSIGPOLL */
    }
    if (code == SI_TIMER)
        return SIL_TIMER;
    if (code == SI_SIGIO)
        return SIL_POLL;
    return code < 0 ? SIL_RT : SIL_KILL;
}

void signalfd_fill_siginfo(const siginfo_t *info, struct signalfd_siginfo *out)
{
    memset(out, 0, sizeof(*out));
    out->ssi_signo = (uint32_t)info->si_signo;
    out->ssi_errno = info->si_errno;
    out->ssi_code = info->si_code;
    switch (siginfo_layout(info->si_signo, info->si_code)) {
    case SIL_KILL:
        out->ssi_pid = (uint32_t)info->si_pid;
        out->ssi_uid = info->si_uid;
        break;
    case SIL_TIMER:
        out->ssi_tid = (uint32_t)info->si_timerid;
        out->ssi_overrun = (uint32_t)info->si_overrun;
        out->ssi_ptr = (uint64_t)(uintptr_t)info->si_ptr;
        out->ssi_int = info->si_int;
        break;
    case SIL_POLL:
        out->ssi_band = (uint32_t)info->si_band;
        out->ssi_fd = info->si_fd;
        break;
    case SIL_FAULT:
        out->ssi_addr = (uint64_t)(uintptr_t)info->si_addr;
        break;
    case SIL_FAULT_MCEERR:
        out->ssi_addr = (uint64_t)(uintptr_t)info->si_addr;
        out->ssi_addr_lsb = (uint16_t)info->si_addr_lsb;
        break;
    case SIL_CHLD:
        out->ssi_pid = (uint32_t)info->si_pid;
        out->ssi_uid = info->si_uid;
        out->ssi_status = info->si_status;
        out->ssi_utime = (uint64_t)info->si_utime;
        out->ssi_stime = (uint64_t)info->si_stime;
        break;
    case SIL_RT:
        out->ssi_pid = (uint32_t)info->si_pid;
        out->ssi_uid = info->si_uid;
        out->ssi_ptr = (uint64_t)(uintptr_t)info->si_ptr;
        out->ssi_int = info->si_int;
        break;
    case SIL_SYS:
        out->ssi_call_addr = (uint64_t)(uintptr_t)info->si_call_addr;
        out->ssi_syscall = info->si_syscall;
        out->ssi_arch = info->si_arch;
        break;
    }
}

/* Reads as many records as fit, waiting only for the first (signalfd_read() in Linux). */
static ssize_t signalfd_file_read(struct file *f, struct task *t, void *buf, size_t len)
{
    struct signalfd_file *sf = signalfd_of(f);
    struct signalfd_siginfo rec;
    size_t room = len / sizeof(rec), done = 0;
    siginfo_t info;

    if (!room)
        return -EINVAL;
    while (done < room) {
        struct waiter w;
        bool wait = done == 0 &&
                    !(atomic_load_explicit(&f->status_flags, memory_order_relaxed) & O_NONBLOCK);
        /* Registered before looking, so a signal queued in between is not missed. */
        if (wait)
            waitqueue_add(&sf->kernel->signal_queued, &w, t);
        int sig = task_signal_dequeue_mask(t, signalfd_mask(f), &info);
        if (sig) {
            if (wait)
                waitqueue_remove(&sf->kernel->signal_queued, &w);
            signalfd_fill_siginfo(&info, &rec);
            memcpy((char *)buf + done * sizeof(rec), &rec, sizeof(rec));
            done++;
            continue;
        }
        if (!wait)
            break;
        int err = task_block(t, NULL);
        waitqueue_remove(&sf->kernel->signal_queued, &w);
        if (err == -EINTR)
            return -ERESTARTSYS;
    }
    if (!done)
        return -EAGAIN;
    return (ssize_t)(done * sizeof(rec));
}

static ssize_t signalfd_file_write(struct file *f, struct task *t, const void *buf, size_t len)
{
    return -EINVAL; /* no write method in Linux: EINVAL, not EBADF */
}

/* Readable while the polling task (the caller of poll or epoll_wait, as Linux uses current)
 * has a signal of the mask pending. */
static unsigned signalfd_file_poll(struct file *f, struct task *t, struct waiter *w, bool *slice)
{
    struct signalfd_file *sf = signalfd_of(f);
    struct task *reader = t ? t : task_current();

    if (w)
        waitqueue_add(&sf->kernel->signal_queued, w, t);
    if (reader && (task_signal_pending_set(reader) & signalfd_mask(f)))
        return POLLIN | POLLRDNORM;
    return 0;
}

static void signalfd_poll_unregister(struct file *f, struct waiter *w)
{
    waitqueue_remove(&signalfd_of(f)->kernel->signal_queued, w);
}

static int signalfd_stat(struct file *f, struct stat *st)
{
    file_anon_stat(st);
    return 0;
}

static int signalfd_name(struct file *f, char *buf, size_t size)
{
    int n = snprintf(buf, size, "anon_inode:[signalfd]");
    return (size_t)n >= size ? -ENAMETOOLONG : n;
}

static void signalfd_release(struct file *f)
{
    file_release_common(f);
    free(signalfd_of(f));
}

static const struct file_ops signalfd_ops = {
    .read = signalfd_file_read,
    .write = signalfd_file_write,
    .stat = signalfd_stat,
    .poll = signalfd_file_poll,
    .poll_unregister = signalfd_poll_unregister,
    .llseek = file_noop_llseek,
    .name = signalfd_name,
    .release = signalfd_release,
};

int signalfd_file_create(struct kernel *k, uint64_t mask, int status_flags, struct file **out)
{
    struct signalfd_file *sf = calloc(1, sizeof(*sf));

    if (!sf)
        return -ENOMEM;
    sf->kernel = k;
    atomic_init(&sf->mask, mask & ~UNBLOCKABLE);
    file_init(&sf->base, &signalfd_ops, O_RDWR | (status_flags & O_NONBLOCK));
    *out = &sf->base;
    return 0;
}
