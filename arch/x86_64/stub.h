/* The ptrace platform's stub code page for x86_64 (stub.S) and the facts the platform needs to
 * drive it: where the code lies and which registers carry an injected syscall. */
#ifndef RUNSC_ARCH_X86_64_STUB_H
#define RUNSC_ARCH_X86_64_STUB_H

#include <linux/audit.h>
#include <stdint.h>

#include "regs.h" /* and arch.h: ARCH_AUDIT_ARCH */

extern const char arch_stub_code_start[];
extern const char arch_stub_code_end[];
extern const char arch_stub_init[];
extern const char arch_stub_syscall[];
extern const char arch_stub_clone[];
extern const char arch_stub_park[];
extern const char arch_stub_batch[];

/* The block a template stub works from (stub.S: stub_template), in its private pages. */
struct arch_stub_template {
    int64_t sock;         /* requests come in here, replies go out */
    int64_t batch_fd;     /* the batch file, or -1 */
    uint64_t batch_pages; /* a child whose pid is below maps its page of it */
    uint64_t batch_addr;  /* where */
    int64_t pid;          /* the template's */
    uint64_t scratch[3];  /* the request byte, the wait status and the reply */
};

/* One entry of arch_stub_batch's array: a syscall and the result that lets the batch go on. */
struct arch_stub_call {
    uint64_t nr;
    uint64_t args[6];
    uint64_t expect;
};

/* The flags of the clone a stub thread makes for a new guest thread: a thread of the stub. */
#define ARCH_STUB_THREAD_CLONE_FLAGS 0x50f00 /* VM|FS|FILES|SIGHAND|THREAD|SYSVSEM */

/* The highest address a host mapping can end at without asking for 5-level paging. */
#define ARCH_HOST_USER_TOP 0x7ffffffff000UL

/* Sets up `regs` to run syscall `nr` with `args` at the stub's syscall instruction, which lies at
 * `syscall_ip` in the stub; orig_rax = -1 keeps the kernel's syscall-restart logic away. */
static inline void arch_stub_regs_for_syscall(struct arch_regs *regs, uint64_t syscall_ip, long nr,
                                              const uint64_t args[6])
{
    regs->r.rip = syscall_ip;
    regs->r.rax = (uint64_t)nr;
    regs->r.orig_rax = (uint64_t)-1;
    regs->r.rdi = args[0];
    regs->r.rsi = args[1];
    regs->r.rdx = args[2];
    regs->r.r10 = args[3];
    regs->r.r8 = args[4];
    regs->r.r9 = args[5];
}

/* Sets up `regs` to run arch_stub_batch (at `ip` in the stub) on `count` entries at `list` in the
 * stub. */
static inline void arch_stub_regs_for_batch(struct arch_regs *regs, uint64_t ip, uint64_t list,
                                            uint64_t count)
{
    regs->r.rip = ip;
    regs->r.orig_rax = (uint64_t)-1;
    regs->r.rbx = list;
    regs->r.r12 = count;
}

/* After arch_stub_batch stopped: the entries it did not make (0 when rax is 0). */
static inline uint64_t arch_stub_batch_left(const struct arch_regs *regs)
{
    return regs->r.r12;
}

static inline int64_t arch_stub_syscall_result(const struct arch_regs *regs)
{
    return (int64_t)regs->r.rax;
}

#endif
