/* The ptrace platform: one stub process per address space, one stub thread per guest thread,
 * guest syscalls caught with PTRACE_SYSEMU so the host never executes them, faults caught as
 * signal stops, and address-space changes made by syscalls injected at the stub page. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "platform/ptrace/ptrace_internal.h"
#include "platform/ptrace/stub_pool.h"
#include "stub.h"

#define STUB_PAGE_SIZE 4096UL
/* How far below the top of the host address range to look for a free page for the stub. */
#define STUB_SEARCH_LIMIT (1UL << 32)

static __thread pid_t current_tid;

/* Live platforms, for parked_release_all (a tracer's exit). platforms_lock protects the list. */
static pthread_mutex_t platforms_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ptrace_platform *platforms;
/* Set (to any non-NULL value) in a sentry thread that keeps a parked stub thread traced, so
 * parked_release_all runs when it exits. */
static pthread_key_t parked_key;
static pthread_once_t parked_key_once = PTHREAD_ONCE_INIT;

static pid_t self_tid(void)
{
    if (current_tid == 0)
        current_tid = (pid_t)syscall(SYS_gettid);
    return current_tid;
}

/* Maps the stub code at the highest free page of the host address range, so guests get nearly
 * all of it. The page is placed in the sandbox before the factory forks, so every stub has it. */
static int stub_page_install(uint64_t *base_out)
{
    size_t len = (size_t)(arch_stub_code_end - arch_stub_code_start);

    if (len != STUB_PAGE_SIZE)
        return -EINVAL;
    for (uint64_t addr = ARCH_HOST_USER_TOP - STUB_PAGE_SIZE;
         addr > ARCH_HOST_USER_TOP - STUB_SEARCH_LIMIT; addr -= STUB_PAGE_SIZE) {
        /* The seccomp filter compares the low word against [base, base + 4K): keep that from
         * wrapping at a 4 GiB boundary. */
        if ((uint32_t)addr == (uint32_t)-STUB_PAGE_SIZE)
            continue;
        void *p = mmap((void *)addr, STUB_PAGE_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (p == MAP_FAILED) {
            if (errno == EEXIST)
                continue;
            return -errno;
        }
        if ((uint64_t)p != addr) { /* an old kernel that ignores MAP_FIXED_NOREPLACE */
            munmap(p, STUB_PAGE_SIZE);
            return -EEXIST;
        }
        memcpy(p, arch_stub_code_start, STUB_PAGE_SIZE);
        if (mprotect(p, STUB_PAGE_SIZE, PROT_READ | PROT_EXEC) != 0) {
            int err = -errno;
            munmap(p, STUB_PAGE_SIZE);
            return err;
        }
        *base_out = addr;
        return 0;
    }
    return -ENOMEM;
}

static int ptrace_create(const struct platform_config *cfg, struct platform **out)
{
    struct ptrace_platform *p = calloc(1, sizeof(*p));
    int err;

    if (!p)
        return -ENOMEM;
    p->base.ops = &ptrace_platform_ops;
    p->factory_sock = -1;
    pthread_mutex_init(&p->factory_lock, NULL);
    err = stub_page_install(&p->stub_base);
    if (err) {
        log_error("ptrace: cannot place the stub page: %s", strerror(-err));
        goto out_free;
    }
    /* The scratch and batch pages below the stub page are the stubs' own: guests never map
     * there. */
    p->scratch_addr = p->stub_base - PTRACE_SCRATCH_SIZE;
    p->batch_addr = p->scratch_addr - PTRACE_BATCH_PAGE;
    p->max_user_addr = p->batch_addr;
    p->memfile_fd = cfg->memfile_fd;
    err = ptrace_batch_create(p);
    if (err) /* not fatal: every mapping then costs a stop of its own */
        log_warning("ptrace: no batch file for stubs: %s", strerror(-err));
    err = ptrace_factory_start(p, cfg->memfile_fd);
    if (err) {
        log_error("ptrace: cannot start the stub factory: %s", strerror(-err));
        ptrace_batch_destroy(p);
        goto out_unmap;
    }
    log_debug("ptrace: stub page at %#lx, factory pid %d", (unsigned long)p->stub_base,
              p->factory_pid);
    p->memfile_fd = cfg->memfile_fd;
    pthread_mutex_init(&p->as_list_lock, NULL);
    pthread_mutex_lock(&platforms_lock);
    p->next_platform = platforms;
    platforms = p;
    pthread_mutex_unlock(&platforms_lock);
    *out = &p->base;
    return 0;

out_unmap:
    munmap((void *)p->stub_base, STUB_PAGE_SIZE);
out_free:
    free(p);
    return err;
}

static void ptrace_destroy(struct platform *base)
{
    struct ptrace_platform *p = (struct ptrace_platform *)base;

    pthread_mutex_lock(&platforms_lock);
    for (struct ptrace_platform **pp = &platforms; *pp; pp = &(*pp)->next_platform) {
        if (*pp == p) {
            *pp = p->next_platform;
            break;
        }
    }
    pthread_mutex_unlock(&platforms_lock);
    ptrace_factory_stop(p);
    ptrace_batch_destroy(p);
    munmap((void *)p->stub_base, STUB_PAGE_SIZE);
    free(p);
}

static uint64_t ptrace_max_user_address(const struct platform *base)
{
    return ((const struct ptrace_platform *)base)->max_user_addr;
}

/* Seizes a stub thread that is in group-stop and waits until it is in a ptrace stop. */
static int thread_seize(struct ptrace_thread *t)
{
    int status;

    if (ptrace(PTRACE_SEIZE, t->tid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL) != 0)
        return -errno;
    int err = ptrace_wait_stop(t, &status);
    if (err)
        return err;
    if (ptrace(PTRACE_GETREGS, t->tid, 0, &t->initial.r) != 0)
        return -errno;
    t->seized = true;
    return 0;
}

static int ptrace_as_create(struct platform *base, struct platform_as **out)
{
    struct ptrace_platform *p = (struct ptrace_platform *)base;
    struct ptrace_as *as = calloc(1, sizeof(*as));
    struct ptrace_thread *t = calloc(1, sizeof(*t));
    int err;

    if (!as || !t) {
        err = -ENOMEM;
        goto out_free;
    }
    /* A stub that waited in the factory's pool may have been killed meanwhile (by the OOM
     * killer, say, or with the template stub that forked it): then take another, up to a whole
     * pool's worth, after which the factory forks a fresh one. */
    for (int attempt = 0;; attempt++) {
        pid_t pid = ptrace_factory_new_stub(p);
        if (pid < 0) {
            err = pid;
            goto out_free;
        }
        as->pid = pid;
        t->tid = pid;
        t->tracer_tid = self_tid();
        t->cpu = -1;
        t->dead = false;
        err = thread_seize(t);
        if (!err)
            break;
        kill(pid, SIGKILL);
        if (attempt == STUB_POOL_CAPACITY)
            goto out_free;
    }
    as->base.platform = base;
    as->platform = p;
    as->scratch_mapped = true; /* the factory's stubs start with them (factory.c) */
    pthread_mutex_init(&as->lock, NULL);
    as->threads = t;
    pthread_mutex_lock(&p->as_list_lock);
    as->as_next = p->as_list;
    p->as_list = as;
    pthread_mutex_unlock(&p->as_list_lock);
    *out = &as->base;
    return 0;

out_free:
    free(t);
    free(as);
    return err;
}

struct ptrace_thread *ptrace_as_thread_for_caller(struct ptrace_as *as)
{
    pid_t me = self_tid();

    for (struct ptrace_thread *t = as->threads; t; t = t->next) {
        if (t->tracer_tid == me && !t->dead && !t->parked)
            return t;
    }
    return NULL;
}

static long as_syscall(struct ptrace_as *as, long nr, const uint64_t args[6])
{
    pthread_mutex_lock(&as->lock);
    struct ptrace_thread *t = ptrace_as_thread_for_caller(as);
    long ret = t ? ptrace_inject_syscall(as->platform, t, nr, args) : -ESRCH;
    pthread_mutex_unlock(&as->lock);
    /* Only a thread's own tracer can make it run a syscall: a caller with no stub thread in
     * this address space (a task changing another process's mappings) cannot reach it. The
     * sentry's mm never asks that today; say so loudly if it starts to. */
    if (!t)
        log_warning("ptrace: address space of stub %d: syscall %ld from a thread with no stub "
                    "in it",
                    (int)as->pid, nr);
    return ret;
}

static int ptrace_as_map(struct platform_as *base, uint64_t addr, uint64_t len, int prot,
                         uint64_t off)
{
    struct ptrace_as *as = (struct ptrace_as *)base;
    uint64_t args[6] = {addr, len, (uint64_t)prot, MAP_SHARED | MAP_FIXED,
                        (uint64_t)as->platform->memfile_fd, off};

    long ret = as_syscall(as, SYS_mmap, args);
    if (ret < 0 && ret > -4096)
        return (int)ret;
    return (uint64_t)ret == addr ? 0 : -EIO;
}

static int ptrace_as_unmap(struct platform_as *base, uint64_t addr, uint64_t len)
{
    struct ptrace_as *as = (struct ptrace_as *)base;
    uint64_t args[6] = {addr, len, 0, 0, 0, 0};

    return (int)as_syscall(as, SYS_munmap, args);
}

static void ptrace_as_release(struct platform_as *base)
{
    struct ptrace_as *as = (struct ptrace_as *)base;
    struct ptrace_platform *p = as->platform;

    pthread_mutex_lock(&p->as_list_lock);
    for (struct ptrace_as **pp = &p->as_list; *pp; pp = &(*pp)->as_next) {
        if (*pp == as) {
            *pp = as->as_next;
            break;
        }
    }
    pthread_mutex_unlock(&p->as_list_lock);
    ptrace_batch_release(as);
    kill(as->pid, SIGKILL);
    if (log_enabled(LOG_DEBUG)) {
        uint64_t sys = 0, fault = 0, other = 0, inject = 0;
        for (struct ptrace_thread *t = as->threads; t; t = t->next) {
            sys += t->stops_syscall;
            fault += t->stops_fault;
            other += t->stops_other;
            inject += t->stops_inject;
        }
        log_debug("ptrace: stub %d stops: %lu syscall, %lu fault, %lu injected, %lu other", as->pid,
                  (unsigned long)sys, (unsigned long)fault, (unsigned long)inject,
                  (unsigned long)other);
    }
    struct ptrace_thread *t = as->threads;
    while (t) {
        struct ptrace_thread *next = t->next;
        int status;
        /* Collect the tracee's death so the factory can reap it. */
        while (!t->dead && waitpid(t->tid, &status, __WALL) == t->tid) {
            if (WIFEXITED(status) || WIFSIGNALED(status))
                break;
        }
        free(t);
        t = next;
    }
    free(as);
}

static int ptrace_ctx_create(struct platform_as *base, struct platform_ctx **out)
{
    struct ptrace_as *as = (struct ptrace_as *)base;
    struct ptrace_ctx *ctx = calloc(1, sizeof(*ctx));

    if (!ctx)
        return -ENOMEM;
    pthread_mutex_lock(&as->lock);
    struct ptrace_thread *t = ptrace_as_thread_for_caller(as);
    pthread_mutex_unlock(&as->lock);
    if (!t) {
        /* Other guest threads get their stub threads through ptrace_ctx_new_thread. */
        free(ctx);
        return -ENOSYS;
    }
    ctx->base.as = base;
    ctx->as = as;
    ctx->thread = t;
    *out = &ctx->base;
    return 0;
}

/* A parked, untraced stub thread of `as` that any sentry thread can seize, or NULL (as->lock
 * held). */
static struct ptrace_thread *as_parked_thread(struct ptrace_as *as)
{
    for (struct ptrace_thread *t = as->threads; t; t = t->next) {
        if (t->parked && !t->dead && t->tracer_tid == 0)
            return t;
    }
    return NULL;
}

static int ptrace_ctx_new_thread(struct platform_ctx *base, int *handle)
{
    struct ptrace_ctx *ctx = (struct ptrace_ctx *)base;
    struct ptrace_as *as = ctx->as;
    uint64_t args[6] = {ARCH_STUB_THREAD_CLONE_FLAGS, 0, 0, 0, 0, 0};

    pthread_mutex_lock(&as->lock);
    struct ptrace_thread *parked = as_parked_thread(as);
    if (parked) {
        parked->parked = false; /* reserved for the handle's taker */
        *handle = parked->tid;
        pthread_mutex_unlock(&as->lock);
        return 0;
    }
    /* The new host thread starts in the stub's park loop; the caller's own stub thread makes it. */
    long tid = ptrace_inject_at(as->platform, ctx->thread, arch_stub_clone, SYS_clone, args);
    pthread_mutex_unlock(&as->lock);
    if (tid < 0)
        return (int)tid;
    *handle = (int)tid;
    return 0;
}

static int ptrace_ctx_create_for_thread(struct platform_as *base, int tid,
                                        struct platform_ctx **out)
{
    struct ptrace_as *as = (struct ptrace_as *)base;
    struct ptrace_ctx *ctx = calloc(1, sizeof(*ctx));
    int status, err;

    if (!ctx)
        return -ENOMEM;
    pid_t me = self_tid();
    pthread_mutex_lock(&as->lock);
    struct ptrace_thread *t = NULL, *own = NULL;
    for (struct ptrace_thread *it = as->threads; it; it = it->next) {
        if (it->tid == tid && !it->dead)
            t = it;
        if (it->parked && !it->dead && it->tracer_tid == me)
            own = it;
    }
    if (!t && (t = calloc(1, sizeof(*t)))) {
        t->tid = tid;
        t->cpu = -1;
        t->next = as->threads;
        as->threads = t;
    }
    if (own) {
        /* This sentry thread still traces a parked stub thread here: take that one, stopped as
         * it is, and give the reserved one back to the park loop's pool. */
        own->parked = false;
        if (t)
            t->parked = true;
        pthread_mutex_unlock(&as->lock);
        atomic_store_explicit(&own->interrupt, false, memory_order_relaxed);
        ctx->base.as = base;
        ctx->as = as;
        ctx->thread = own;
        *out = &ctx->base;
        return 0;
    }
    pthread_mutex_unlock(&as->lock);
    if (!t) {
        free(ctx);
        return -ENOMEM;
    }
    t->tracer_tid = self_tid();
    /* A parked thread keeps its CPU affinity (t->cpu) from its last tracer: a pooled sentry
     * thread on the same CPU needs no new sched_setaffinity. */
    atomic_store_explicit(&t->interrupt, false, memory_order_relaxed);
    /* The thread waits in pause(): seize it and stop it there. */
    if (ptrace(PTRACE_SEIZE, tid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL) != 0 ||
        ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0) {
        err = -errno;
        goto fail;
    }
    if ((err = ptrace_wait_stop(t, &status)) != 0)
        goto fail;
    /* A thread seized before keeps the initial registers it had then. */
    if (!t->seized && ptrace(PTRACE_GETREGS, tid, 0, &t->initial.r) != 0) {
        err = -errno;
        goto fail;
    }
    t->seized = true;
    ctx->base.as = base;
    ctx->as = as;
    ctx->thread = t;
    *out = &ctx->base;
    return 0;
fail:
    t->dead = true;
    free(ctx);
    return err;
}

static void ptrace_ctx_initial_regs(struct platform_ctx *base, struct arch_regs *regs)
{
    *regs = ((struct ptrace_ctx *)base)->thread->initial;
}

static int ptrace_ctx_get_fpstate(struct platform_ctx *base, struct arch_fpstate *fp)
{
    struct ptrace_thread *t = ((struct ptrace_ctx *)base)->thread;
    struct iovec iov = {.iov_base = fp->data, .iov_len = sizeof(fp->data)};

    if (ptrace(PTRACE_GETREGSET, t->tid, ARCH_PTRACE_FPSTATE_REGSET, &iov) != 0)
        return -errno;
    fp->size = (uint32_t)iov.iov_len;
    return 0;
}

static int ptrace_ctx_set_fpstate(struct platform_ctx *base, const struct arch_fpstate *fp)
{
    struct ptrace_thread *t = ((struct ptrace_ctx *)base)->thread;
    struct iovec iov = {.iov_base = (void *)fp->data, .iov_len = fp->size};

    if (ptrace(PTRACE_SETREGSET, t->tid, ARCH_PTRACE_FPSTATE_REGSET, &iov) != 0)
        return -errno;
    return 0;
}

/* Keeps the stub thread on the CPU its tracer runs on: every stop and resume is a wake-up of the
 * other side, and one that crosses CPUs costs far more than the switch itself. */
static void thread_follow_tracer_cpu(struct ptrace_thread *t)
{
    int cpu = sched_getcpu();

    if (cpu < 0 || cpu == t->cpu)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(t->tid, sizeof(set), &set);
    t->cpu = cpu;
}

static void event_from_signal(struct ptrace_thread *t, int sig, struct platform_event *ev)
{
    memset(&ev->info, 0, sizeof(ev->info));
    if (ptrace(PTRACE_GETSIGINFO, t->tid, 0, &ev->info) != 0)
        ev->info.si_signo = sig;
    if (sig == SIGSEGV && (ev->info.si_code == SEGV_MAPERR || ev->info.si_code == SEGV_ACCERR)) {
        ev->kind = PLATFORM_EVENT_FAULT;
        ev->fault_addr = (uint64_t)ev->info.si_addr;
        ev->fault_access = 0;
        return;
    }
    ev->kind = PLATFORM_EVENT_SIGNAL;
}

static int ptrace_ctx_switch(struct platform_ctx *base, struct arch_regs *regs,
                             struct platform_event *ev)
{
    struct ptrace_thread *t = ((struct ptrace_ctx *)base)->thread;
    int status;

    if (t->dead)
        return -ESRCH;
    if (atomic_exchange_explicit(&t->interrupt, false, memory_order_relaxed)) {
        ev->kind = PLATFORM_EVENT_INTERRUPTED;
        return 0;
    }
    thread_follow_tracer_cpu(t);
    struct ptrace_as *as = ((struct ptrace_ctx *)base)->as;
    /* Relaxed: a hint only; the flush rechecks under as->lock. A pending image this thread
     * misses goes with the next switch or batch of the thread that set it. */
    if (atomic_load_explicit(&as->image_pending, memory_order_relaxed) || t->name_pending) {
        pthread_mutex_lock(&as->lock);
        ptrace_batch_flush(as, t); /* only host tools' view is at stake: errors are ignored */
        pthread_mutex_unlock(&as->lock);
    }
    for (;;) {
        if (ptrace(PTRACE_SETREGS, t->tid, 0, &regs->r) != 0)
            return -errno;
        if (ptrace(PTRACE_SYSEMU, t->tid, 0, 0) != 0)
            return -errno;
        int err = ptrace_wait_stop(t, &status);
        if (err)
            return err;
        if (ptrace(PTRACE_GETREGS, t->tid, 0, &regs->r) != 0)
            return -errno;
        /* A group-stop (a host SIGSTOP, or a PTRACE_INTERRUPT left from seizing) is nothing the
         * guest did: resume it from where it stopped. */
        if ((status >> 16) == PTRACE_EVENT_STOP) {
            t->stops_other++;
            continue;
        }
        int sig = WSTOPSIG(status);
        if (sig == (SIGTRAP | 0x80)) {
            t->stops_syscall++;
            ev->kind = PLATFORM_EVENT_SYSCALL;
            return 0;
        }
        if (sig == PTRACE_INTERRUPT_SIGNAL) {
            t->stops_other++;
            /* The flag, not the signal, says whether an interrupt is pending: the signal of an
             * interrupt already reported by the early return above stays queued in the stub
             * and arrives here stale. */
            if (!atomic_exchange_explicit(&t->interrupt, false, memory_order_relaxed))
                continue;
            ev->kind = PLATFORM_EVENT_INTERRUPTED;
            return 0;
        }
        event_from_signal(t, sig, ev);
        if (ev->kind == PLATFORM_EVENT_FAULT)
            t->stops_fault++;
        else
            t->stops_other++;
        return 0;
    }
}

static void ptrace_ctx_interrupt(struct platform_ctx *base)
{
    struct ptrace_ctx *ctx = (struct ptrace_ctx *)base;

    /* Relaxed: the tgkill below orders the store before the signal's stop (the kernel takes the
     * stub's siglock), so a switch that sees the signal sees the flag. */
    atomic_store_explicit(&ctx->thread->interrupt, true, memory_order_relaxed);
    syscall(SYS_tgkill, ctx->as->pid, ctx->thread->tid, PTRACE_INTERRUPT_SIGNAL);
}

static int ptrace_ctx_host_tid(const struct platform_ctx *base)
{
    return ((const struct ptrace_ctx *)base)->thread->tid;
}

/* Sends parked stub thread `t`, traced by the caller, to the park loop untraced, for any sentry
 * thread to seize (as->lock held). */
static void thread_detach_parked(struct ptrace_as *as, struct ptrace_thread *t)
{
    struct arch_regs regs = t->initial;
    uint64_t park = as->platform->stub_base + (uint64_t)(arch_stub_park - arch_stub_code_start);
    uint64_t none[6] = {0};

    arch_stub_regs_for_syscall(&regs, park, 0, none);
    if (ptrace(PTRACE_SETREGS, t->tid, 0, &regs.r) == 0 &&
        ptrace(PTRACE_DETACH, t->tid, 0, 0) == 0)
        t->tracer_tid = 0;
    else
        t->parked = false; /* unusable: as_release reaps it with the stub */
}

/* The key's destructor: a sentry thread that keeps parked stub threads traced is exiting. Its
 * exit would send them EXITKILL's SIGKILL, killing their whole stub process: detach them. */
static void parked_release_all(void *unused)
{
    pid_t me = (pid_t)syscall(SYS_gettid);

    (void)unused;
    pthread_mutex_lock(&platforms_lock);
    for (struct ptrace_platform *p = platforms; p; p = p->next_platform) {
        pthread_mutex_lock(&p->as_list_lock);
        for (struct ptrace_as *as = p->as_list; as; as = as->as_next) {
            pthread_mutex_lock(&as->lock);
            for (struct ptrace_thread *t = as->threads; t; t = t->next) {
                if (t->parked && !t->dead && t->tracer_tid == me)
                    thread_detach_parked(as, t);
            }
            pthread_mutex_unlock(&as->lock);
        }
        pthread_mutex_unlock(&p->as_list_lock);
    }
    pthread_mutex_unlock(&platforms_lock);
}

static void parked_key_create(void)
{
    if (pthread_key_create(&parked_key, parked_release_all) != 0)
        log_error("ptrace: no thread key for parked stub threads");
}

/* A guest thread ended but its process goes on: its stub thread is parked for the next guest
 * thread. It stays stopped under this sentry thread, which takes it back without a seize if it
 * runs the next thread of this address space (sentry threads are pooled); other sentry threads
 * seize untraced ones. (A stub thread can't simply exit: a thread group leader's exit isn't
 * reported until the whole group is gone.) */
static void ptrace_ctx_release(struct platform_ctx *base)
{
    struct ptrace_ctx *ctx = (struct ptrace_ctx *)base;
    struct ptrace_thread *t = ctx->thread;

    if (!t->dead && t->tracer_tid == self_tid()) {
        pthread_once(&parked_key_once, parked_key_create);
        if (pthread_getspecific(parked_key) == NULL)
            pthread_setspecific(parked_key, ctx->as->platform);
        pthread_mutex_lock(&ctx->as->lock);
        t->parked = true;
        pthread_mutex_unlock(&ctx->as->lock);
    }
    free(base);
}

const struct platform_ops ptrace_platform_ops = {
    .name = "ptrace",
    .create = ptrace_create,
    .destroy = ptrace_destroy,
    .max_user_address = ptrace_max_user_address,
    .as_create = ptrace_as_create,
    .as_map = ptrace_as_map,
    .as_map_batch = ptrace_as_map_batch,
    .as_unmap = ptrace_as_unmap,
    .as_release = ptrace_as_release,
    .as_set_proc_image = ptrace_as_set_proc_image,
    .ctx_create = ptrace_ctx_create,
    .ctx_new_thread = ptrace_ctx_new_thread,
    .ctx_create_for_thread = ptrace_ctx_create_for_thread,
    .ctx_initial_regs = ptrace_ctx_initial_regs,
    .ctx_get_fpstate = ptrace_ctx_get_fpstate,
    .ctx_set_fpstate = ptrace_ctx_set_fpstate,
    .ctx_switch = ptrace_ctx_switch,
    .ctx_interrupt = ptrace_ctx_interrupt,
    .ctx_set_name = ptrace_ctx_set_name,
    .ctx_host_tid = ptrace_ctx_host_tid,
    .ctx_release = ptrace_ctx_release,
};
