/* Syscall dispatch: the guest's seccomp filters, table lookup, ENOSYS for what is not
 * implemented (logged once per syscall), and strace around every call. */
#include <errno.h>
#include <stdatomic.h>

#include "lib/log.h"
#include "sentry/syscalls/strace.h"
#include "sentry/syscalls/syscalls.h"

static bool strace_on;
/* One bit per syscall number already reported as unimplemented. Relaxed atomics: a rare
 * duplicate log line is harmless. */
static _Atomic uint64_t enosys_logged[1024 / 64];

void syscall_set_strace(bool on)
{
    strace_on = on;
}

static void log_enosys_once(unsigned nr)
{
    if (nr >= 1024) {
        log_info("unsupported syscall %u", nr);
        return;
    }
    uint64_t bit = 1ULL << (nr % 64);
    if (atomic_fetch_or_explicit(&enosys_logged[nr / 64], bit, memory_order_relaxed) & bit)
        return;
    const char *name = nr < syscall_table_size ? syscall_table[nr].name : NULL;
    log_info("unsupported syscall %s (%u)", name ? name : "?", nr);
}

void syscall_dispatch(struct task *t)
{
    uint64_t nr = arch_regs_syscall_nr(&t->regs);
    struct syscall_args args;
    long ret;

    for (int i = 0; i < 6; i++)
        args.a[i] = arch_regs_syscall_arg(&t->regs, i);
    const struct syscall_entry *e = nr < syscall_table_size ? &syscall_table[nr] : NULL;
    /* Without a filter this is the whole cost of seccomp: one pointer load (acquire: see
     * task.seccomp). */
    struct seccomp_filter *filter = atomic_load_explicit(&t->seccomp, memory_order_acquire);
    enum seccomp_verdict verdict = SECCOMP_VERDICT_RUN;
    if (filter)
        verdict = task_seccomp_enter(t, filter, &ret);
    if (verdict == SECCOMP_VERDICT_SKIP) {
        /* A signal or an exit is under way: the registers stay as seccomp left them. */
        if (strace_on)
            strace_syscall(t, (unsigned)nr, e, &args, -ENOSYS);
        return;
    }
    /* SECCOMP_VERDICT_RETURN: the syscall doesn't run; the filter chose its result. */
    if (verdict == SECCOMP_VERDICT_RUN && e && e->handler) {
        ret = e->handler(t, &args);
    } else if (verdict == SECCOMP_VERDICT_RUN) {
        log_enosys_once((unsigned)nr);
        ret = -ENOSYS;
    }
    if (strace_on)
        strace_syscall(t, (unsigned)nr, e, &args, ret);
    if (ret <= -ERESTARTSYS && ret >= -ERESTART_RESTARTBLOCK) {
        /* Signal delivery decides between EINTR and a restart (task_signal_deliver). */
        t->restart = ret;
        ret = -EINTR;
    }
    if (ret != SYSCALL_KEEP_REGS && !t->exiting)
        arch_regs_set_syscall_return(&t->regs, ret);
}
