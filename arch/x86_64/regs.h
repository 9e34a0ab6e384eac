/* x86_64 guest register state as the platforms see it, and the accessors the arch-neutral code
 * uses: the syscall ABI (rax nr; rdi, rsi, rdx, r10, r8, r9 args; rax result), ip, sp, TLS. */
#ifndef RUNSC_ARCH_X86_64_REGS_H
#define RUNSC_ARCH_X86_64_REGS_H

#include <linux/seccomp.h>
#include <stdint.h>
#include <sys/user.h>

#include "arch.h"

struct arch_regs {
    struct user_regs_struct r;
};

/* The ptrace regset holding struct arch_fpstate's data (NT_X86_XSTATE). */
#define ARCH_PTRACE_FPSTATE_REGSET 0x202

/* The largest XSAVE area we handle (AVX-512 needs 2.7 KiB; AMX 11 KiB). */
#define ARCH_FPSTATE_MAX 12288

/* The FPU state in XSAVE layout, as the host's ptrace NT_X86_XSTATE regset gives it: the legacy
 * FXSAVE area (with the software-reserved bytes describing the XSAVE layout), the XSAVE header,
 * then the extended components. `size` is the host's XSAVE size. */
struct arch_fpstate {
    uint32_t size;
    uint8_t data[ARCH_FPSTATE_MAX] __attribute__((aligned(64)));
};

static inline uint64_t arch_regs_syscall_nr(const struct arch_regs *regs)
{
    return regs->r.orig_rax;
}

static inline uint64_t arch_regs_syscall_arg(const struct arch_regs *regs, int i)
{
    switch (i) {
    case 0:
        return regs->r.rdi;
    case 1:
        return regs->r.rsi;
    case 2:
        return regs->r.rdx;
    case 3:
        return regs->r.r10;
    case 4:
        return regs->r.r8;
    default:
        return regs->r.r9;
    }
}

static inline void arch_regs_set_syscall_return(struct arch_regs *regs, int64_t value)
{
    regs->r.rax = (uint64_t)value;
}

static inline int64_t arch_regs_syscall_return(const struct arch_regs *regs)
{
    return (int64_t)regs->r.rax;
}

/* Undoes what syscall entry changed (Linux's syscall_rollback): the return register holds the
 * syscall number again, as a seccomp SIGSYS handler or a core dump sees it. */
static inline void arch_regs_syscall_rollback(struct arch_regs *regs)
{
    regs->r.rax = regs->r.orig_rax;
}

/* Rewinds to the syscall instruction so the interrupted call runs again (syscall is 2 bytes). */
static inline void arch_regs_restart_syscall(struct arch_regs *regs)
{
    regs->r.rip -= 2;
    regs->r.rax = regs->r.orig_rax;
}

static inline uint64_t arch_regs_ip(const struct arch_regs *regs)
{
    return regs->r.rip;
}

static inline uint64_t arch_regs_sp(const struct arch_regs *regs)
{
    return regs->r.rsp;
}

static inline void arch_regs_set_sp(struct arch_regs *regs, uint64_t sp)
{
    regs->r.rsp = sp;
}

static inline void arch_regs_set_tls(struct arch_regs *regs, uint64_t tls)
{
    regs->r.fs_base = tls;
}

/* What a seccomp filter sees of the syscall the task stopped on (struct seccomp_data): its
 * number (orig_rax's low 32 bits, as the kernel's syscall_get_nr), the audit arch, the address
 * after the syscall instruction, and the six arguments. */
static inline void arch_regs_seccomp_data(const struct arch_regs *regs, struct seccomp_data *d)
{
    d->nr = (int)regs->r.orig_rax;
    d->arch = ARCH_AUDIT_ARCH;
    d->instruction_pointer = regs->r.rip;
    for (int i = 0; i < 6; i++)
        d->args[i] = arch_regs_syscall_arg(regs, i);
}

/* Puts the registers in the state execve leaves them in: every general register zero (rdx is
 * the atexit pointer _start hands to libc: zero means none), ip at the entry point, sp at the
 * initial stack, flags with only IF set. Segment selectors are kept from `regs`, which must come
 * from a real thread of the platform. */
void arch_regs_init_exec(struct arch_regs *regs, uint64_t entry, uint64_t sp);

/* Resets `fp` (keeping its size) to the state after execve: every component in its initial
 * state (XSTATE_BV 0), x87 control word 0x37f, MXCSR 0x1f80. */
void arch_fpstate_init(struct arch_fpstate *fp);

/* Handles arch_prctl(2) for the guest: ARCH_SET_FS/GET_FS/SET_GS/GET_GS act on `regs`;
 * for GET, *out receives the value the caller must copy to guest memory. Returns 0, 1 when
 * *out must be copied out, or -errno. */
int arch_prctl_regs(struct arch_regs *regs, int code, uint64_t addr, uint64_t *out);

#endif
