/* The log line for a guest killed by a fault or exception: signal, code, address, and the
 * instruction it died on, so `runsc --debug` says why a program crashed. */
#include <signal.h>
#include <string.h>

#include "disasm.h"
#include "lib/log.h"
#include "sentry/kernel/kernel.h"
#include "sentry/mm/mm.h"

void task_report_crash(struct task *t, int sig, const siginfo_t *info)
{
    uint8_t code[ARCH_MAX_INSN_LEN];
    char insn[128] = "(unreadable)";
    uint64_t ip = arch_regs_ip(&t->regs);

    if (!log_enabled(LOG_INFO))
        return;
    ssize_t n = mm_copy_in_partial(t->mm, ip, code, sizeof(code));
    if (n > 0)
        arch_disassemble_one(code, (size_t)n, ip, insn, sizeof(insn));
    log_info("task %d (%s) killed by SIG%s (si_code %d, address %#lx) at ip %#lx: %s", t->tid,
             t->comm, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?", info->si_code,
             (unsigned long)info->si_addr, (unsigned long)ip, insn);
}
