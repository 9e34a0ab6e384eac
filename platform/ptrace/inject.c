/* Waiting for stub stops and running host syscalls inside a stub: the sentry points the stopped
 * thread at the stub page's `syscall; int3`, continues it, and reads the result at the SIGTRAP. */
#include <errno.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "lib/log.h"
#include "platform/ptrace/ptrace_internal.h"
#include "stub.h"

int ptrace_wait_stop(struct ptrace_thread *t, int *status)
{
    for (;;) {
        pid_t r = waitpid(t->tid, status, __WALL);
        if (r == t->tid)
            break;
        if (r < 0 && errno == EINTR)
            continue;
        t->dead = true;
        return r < 0 ? -errno : -ECHILD;
    }
    if (!WIFSTOPPED(*status)) {
        t->dead = true;
        return -ESRCH;
    }
    return 0;
}

long ptrace_inject_syscall(struct ptrace_platform *p, struct ptrace_thread *t, long nr,
                           const uint64_t args[6])
{
    return ptrace_inject_at(p, t, arch_stub_syscall, nr, args);
}

long ptrace_inject_at(struct ptrace_platform *p, struct ptrace_thread *t, const char *entry,
                      long nr, const uint64_t args[6])
{
    struct arch_regs regs = t->initial;
    uint64_t syscall_ip = p->stub_base + (uint64_t)(entry - arch_stub_code_start);

    arch_stub_regs_for_syscall(&regs, syscall_ip, nr, args);
    int err = ptrace_run_stub(t, &regs);
    return err ? err : arch_stub_syscall_result(&regs);
}

int ptrace_run_stub(struct ptrace_thread *t, struct arch_regs *regs)
{
    int status;

    if (t->dead)
        return -ESRCH;
    if (ptrace(PTRACE_SETREGS, t->tid, 0, &regs->r) != 0)
        return -errno;
    int sig = 0;
    for (;;) {
        if (ptrace(PTRACE_CONT, t->tid, 0, sig) != 0)
            return -errno;
        int err = ptrace_wait_stop(t, &status);
        if (err)
            return err;
        t->stops_inject++;
        sig = 0;
        if (WSTOPSIG(status) == SIGTRAP && (status >> 16) == 0)
            break;
        /* platform_ctx_interrupt set the flag before it sent the signal, so the next switch
         * reports the interrupt; the signal itself (perhaps a stale one) has done its job. */
        if (WSTOPSIG(status) == PTRACE_INTERRUPT_SIGNAL)
            continue;
        if ((status >> 16) == PTRACE_EVENT_STOP)
            continue;
        /* Anything else (a stray host signal) would disturb the stub: it has no handlers and
         * no stack, so the only sane thing is to drop it. */
        log_warning("ptrace: stub %d got signal %d during a syscall", t->tid, WSTOPSIG(status));
    }
    if (ptrace(PTRACE_GETREGS, t->tid, 0, &regs->r) != 0)
        return -errno;
    return 0;
}
