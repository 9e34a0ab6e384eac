/* seccomp for guests (seccomp(2), Linux's kernel/seccomp.c): stacks of classic BPF filters per
 * task, run at syscall entry over struct seccomp_data; the strongest action of all wins. */
#include <errno.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "lib/bpf/bpf.h"
#include "lib/log.h"
#include "sentry/kernel/kernel.h"

/* Linux's MAX_INSNS_PER_PATH: the instructions of a task's whole stack, each filter counting 4
 * more than its length. */
#define SECCOMP_MAX_INSNS_PER_PATH 32768
/* SIGSYS's si_code for a seccomp TRAP or KILL (Linux's SYS_SECCOMP; glibc may lack it). */
#define SECCOMP_SIGSYS_CODE 1
/* ERRNO's data is capped at MAX_ERRNO. */
#define SECCOMP_MAX_ERRNO 4095

struct seccomp_filter {
    _Atomic unsigned refs;       /* tasks and newer filters holding it (relaxed get, acq_rel put:
                                    the last put must see every use before it frees) */
    struct seccomp_filter *prev; /* the filter below it (a reference), NULL for the first */
    unsigned count;              /* filters in the stack down from this one */
    unsigned path_insns;         /* Linux's total_insns of the stack down from this one */
    bool log;                    /* SECCOMP_FILTER_FLAG_LOG */
    unsigned len;
    struct sock_filter prog[]; /* immutable once created */
};

struct seccomp_filter seccomp_strict_mode;

/* The loads a seccomp program may make beyond bpf_check_classic's rules (Linux's
 * seccomp_check_filter): aligned 32-bit words of struct seccomp_data, and its length. */
static int seccomp_check_loads(const struct sock_filter *prog, unsigned len)
{
    for (unsigned pc = 0; pc < len; pc++) {
        const struct sock_filter *in = &prog[pc];
        switch (in->code) {
        case BPF_LD | BPF_W | BPF_ABS:
            if (in->k >= sizeof(struct seccomp_data) || (in->k & 3))
                return -EINVAL;
            break;
        case BPF_LD | BPF_W | BPF_LEN:
        case BPF_LDX | BPF_W | BPF_LEN:
            break;
        case BPF_LD | BPF_H | BPF_ABS:
        case BPF_LD | BPF_B | BPF_ABS:
        case BPF_LD | BPF_W | BPF_IND:
        case BPF_LD | BPF_H | BPF_IND:
        case BPF_LD | BPF_B | BPF_IND:
        case BPF_LDX | BPF_B | BPF_MSH:
        case BPF_ALU | BPF_MOD | BPF_K:
        case BPF_ALU | BPF_MOD | BPF_X:
            /* Linux's allow-list leaves out these (modulo too). */
            return -EINVAL;
        default:
            break;
        }
    }
    return 0;
}

int seccomp_filter_create(const struct sock_filter *prog, unsigned len, bool log,
                          struct seccomp_filter **out)
{
    int err = bpf_check_classic(prog, len);
    if (err || (err = seccomp_check_loads(prog, len)) != 0)
        return err;
    struct seccomp_filter *f = malloc(sizeof(*f) + len * sizeof(f->prog[0]));
    if (!f)
        return -ENOMEM;
    atomic_init(&f->refs, 1);
    f->prev = NULL;
    f->count = 1;
    f->path_insns = len + 4;
    f->log = log;
    f->len = len;
    memcpy(f->prog, prog, len * sizeof(f->prog[0]));
    *out = f;
    return 0;
}

static struct seccomp_filter *filter_get(struct seccomp_filter *f)
{
    if (f && f != &seccomp_strict_mode)
        atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
    return f;
}

void seccomp_filter_put(struct seccomp_filter *f)
{
    while (f && f != &seccomp_strict_mode &&
           atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) == 1) {
        struct seccomp_filter *prev = f->prev;
        free(f);
        f = prev;
    }
}

/* Whether `ancestor` is `f` or below it (NULL is below everything). */
static bool filter_is_ancestor(const struct seccomp_filter *ancestor,
                               const struct seccomp_filter *f)
{
    if (!ancestor)
        return true;
    for (; f; f = f->prev) {
        if (f == ancestor)
            return true;
    }
    return false;
}

/* tg->lock held: who writes t->seccomp. */
static struct seccomp_filter *filter_of(struct task *t)
{
    return atomic_load_explicit(&t->seccomp, memory_order_relaxed);
}

static void filter_set(struct task *t, struct seccomp_filter *f)
{
    atomic_store_explicit(&t->seccomp, f, memory_order_release);
}

/* TSYNC's precondition (seccomp_can_sync_threads): each other thread has no filter or one
 * below the caller's. 0, or the tid of the first that has not. tg->lock held. */
static int tsync_blocker(struct task *t)
{
    struct seccomp_filter *mine = filter_of(t);

    for (struct task *o = t->tg->tasks; o; o = o->group_next) {
        if (o == t || o->released)
            continue;
        struct seccomp_filter *theirs = filter_of(o);
        if (theirs == &seccomp_strict_mode || !filter_is_ancestor(theirs, mine))
            return o->tid;
    }
    return 0;
}

long task_seccomp_attach(struct task *t, struct seccomp_filter *f, unsigned flags)
{
    long ret = 0;

    pthread_mutex_lock(&t->tg->lock);
    struct seccomp_filter *cur = filter_of(t);
    if (cur == &seccomp_strict_mode) {
        ret = -EINVAL; /* seccomp_may_assign_mode: no switching from strict to filter */
        goto out_put;
    }
    if (cur && f->len + cur->path_insns > SECCOMP_MAX_INSNS_PER_PATH) {
        ret = -ENOMEM;
        goto out_put;
    }
    if (flags & SECCOMP_FILTER_FLAG_TSYNC) {
        int tid = tsync_blocker(t);
        if (tid) {
            ret = (flags & SECCOMP_FILTER_FLAG_TSYNC_ESRCH) ? -ESRCH : tid;
            goto out_put;
        }
    }
    /* t's reference to cur becomes f's; f's own becomes t's. */
    f->prev = cur;
    if (cur) {
        f->count = cur->count + 1;
        f->path_insns = f->len + 4 + cur->path_insns;
    }
    filter_set(t, f);
    if (flags & SECCOMP_FILTER_FLAG_TSYNC) {
        for (struct task *o = t->tg->tasks; o; o = o->group_next) {
            if (o == t || o->released)
                continue;
            /* The old filter is below f: putting it frees nothing the thread may still be
             * running. no_new_privs follows, as seccomp_sync_threads does. */
            struct seccomp_filter *old = filter_of(o);
            filter_set(o, filter_get(f));
            seccomp_filter_put(old);
            if (t->no_new_privs)
                o->no_new_privs = true;
        }
    }
    pthread_mutex_unlock(&t->tg->lock);
    return 0;

out_put:
    pthread_mutex_unlock(&t->tg->lock);
    seccomp_filter_put(f);
    return ret;
}

long task_seccomp_set_strict(struct task *t)
{
    long ret = 0;

    pthread_mutex_lock(&t->tg->lock);
    struct seccomp_filter *cur = filter_of(t);
    if (cur && cur != &seccomp_strict_mode)
        ret = -EINVAL;
    else
        filter_set(t, &seccomp_strict_mode);
    pthread_mutex_unlock(&t->tg->lock);
    return ret;
}

int task_seccomp_mode(struct task *t)
{
    struct seccomp_filter *f = filter_of(t);
    if (!f)
        return SECCOMP_MODE_DISABLED;
    return f == &seccomp_strict_mode ? SECCOMP_MODE_STRICT : SECCOMP_MODE_FILTER;
}

int task_seccomp_filter_count(struct task *t)
{
    struct seccomp_filter *f = filter_of(t);
    return f && f != &seccomp_strict_mode ? (int)f->count : 0;
}

void task_seccomp_inherit(struct task *parent, struct task *child)
{
    filter_set(child, filter_get(filter_of(parent)));
}

struct seccomp_filter *seccomp_filter_get(struct seccomp_filter *f)
{
    return filter_get(f);
}

void task_seccomp_share(struct task *t, struct seccomp_filter *f)
{
    pthread_mutex_lock(&t->tg->lock);
    struct seccomp_filter *old = filter_of(t);
    filter_set(t, filter_get(f));
    pthread_mutex_unlock(&t->tg->lock);
    seccomp_filter_put(old);
}

/* SIGSYS for a seccomp action (Linux's force_sig_seccomp): the syscall's address, number, arch
 * and the action's data. `fatal`: KILL_*, whose default action happens even over a handler. */
static void force_sigsys(struct task *t, const struct seccomp_data *d, uint32_t data, bool fatal)
{
    siginfo_t info;

    memset(&info, 0, sizeof(info));
    info.si_signo = SIGSYS;
    info.si_code = SECCOMP_SIGSYS_CODE;
    info.si_errno = (int)data;
    info.si_call_addr = (void *)(uintptr_t)d->instruction_pointer;
    info.si_syscall = d->nr;
    info.si_arch = d->arch;
    if (fatal)
        task_signal_force_default(t, SIGSYS, &info);
    else
        task_signal_force(t, SIGSYS, &info);
}

static bool strict_allowed(int nr)
{
    static const int allowed[] = ARCH_SECCOMP_STRICT_SYSCALLS;

    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        if (allowed[i] == nr)
            return true;
    }
    return false;
}

/* The strongest action of the stack (seccomp_run_filters): the lowest as a signed action, the
 * newest filter's on a tie. *match gets the filter that chose it. */
static uint32_t run_filters(const struct seccomp_filter *f, const struct seccomp_data *d,
                            const struct seccomp_filter **match)
{
    uint32_t ret = SECCOMP_RET_ALLOW;

    for (; f; f = f->prev) {
        uint32_t cur = bpf_run(f->prog, f->len, d, sizeof(*d));
        if ((int32_t)(cur & SECCOMP_RET_ACTION_FULL) < (int32_t)(ret & SECCOMP_RET_ACTION_FULL)) {
            ret = cur;
            *match = f;
        }
    }
    return ret;
}

enum seccomp_verdict task_seccomp_enter(struct task *t, struct seccomp_filter *f, long *ret)
{
    struct seccomp_data d;

    arch_regs_seccomp_data(&t->regs, &d);
    if (f == &seccomp_strict_mode) {
        if (strict_allowed(d.nr))
            return SECCOMP_VERDICT_RUN;
        /* __secure_computing_strict: the thread dies of SIGKILL. */
        log_info("seccomp: task %d killed in strict mode at syscall %d", t->tid, d.nr);
        task_exit_thread(t, SIGKILL);
        return SECCOMP_VERDICT_SKIP;
    }
    const struct seccomp_filter *match = NULL;
    uint32_t result = run_filters(f, &d, &match);
    uint32_t action = result & SECCOMP_RET_ACTION_FULL;
    uint32_t data = result & SECCOMP_RET_DATA;

    switch (action) {
    case SECCOMP_RET_ALLOW:
        return SECCOMP_VERDICT_RUN;
    case SECCOMP_RET_LOG:
        log_info("seccomp: task %d syscall %d logged", t->tid, d.nr);
        return SECCOMP_VERDICT_RUN;
    case SECCOMP_RET_ERRNO:
        if (match && match->log)
            log_info("seccomp: task %d syscall %d: errno %u", t->tid, d.nr, data);
        *ret = -(long)(data > SECCOMP_MAX_ERRNO ? SECCOMP_MAX_ERRNO : data);
        return SECCOMP_VERDICT_RETURN;
    case SECCOMP_RET_TRACE:
        /* No tracer can take the event in the sentry: as Linux without one. */
    case SECCOMP_RET_USER_NOTIF:
        /* No listener (NEW_LISTENER is refused): seccomp_do_user_notification's ENOSYS. */
        *ret = -ENOSYS;
        return SECCOMP_VERDICT_RETURN;
    case SECCOMP_RET_TRAP:
        arch_regs_syscall_rollback(&t->regs);
        force_sigsys(t, &d, data, false);
        return SECCOMP_VERDICT_SKIP;
    default:
        break;
    }
    /* KILL_THREAD, KILL_PROCESS, and any unknown action (as KILL_PROCESS). A thread that is not
     * the last just exits; otherwise SIGSYS with its core-dump default kills the process. */
    log_info("seccomp: task %d killed at syscall %d (action %#x)", t->tid, d.nr, action);
    pthread_mutex_lock(&t->tg->lock);
    bool last = t->tg->live_tasks == 1;
    pthread_mutex_unlock(&t->tg->lock);
    if (action == SECCOMP_RET_KILL_THREAD && !last) {
        task_exit_thread(t, SIGSYS);
    } else {
        arch_regs_syscall_rollback(&t->regs);
        force_sigsys(t, &d, data, true);
    }
    return SECCOMP_VERDICT_SKIP;
}
