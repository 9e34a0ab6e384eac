/* The x86_64 signal frame (struct rt_sigframe in Linux's arch/x86/include/asm/sigframe.h): what
 * a handler finds on its stack, and what rt_sigreturn reads back. */
#ifndef RUNSC_ARCH_X86_64_SIGNAL_FRAME_H
#define RUNSC_ARCH_X86_64_SIGNAL_FRAME_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "regs.h"

/* Where a handler starts and what it is handed. */
struct arch_signal_delivery {
    int sig;
    const siginfo_t *info;
    uint64_t handler, restorer;
    bool siginfo;              /* SA_SIGINFO: pass info and ucontext */
    uint64_t old_mask;         /* the mask to restore: uc_sigmask */
    uint64_t ss_sp, ss_size;   /* the alternate stack for uc_stack */
    int ss_flags;
    uint64_t stack_top;        /* the alternate stack's top if the frame goes there, else 0 */
    uint64_t fault_addr;       /* cr2 for faults */
};

/* The frame as laid out in guest memory: header (the rt_sigframe) then the XSAVE area, each at
 * its guest address. The header and fpstate buffers are the caller's. */
struct arch_sigframe_layout {
    uint64_t frame_addr;       /* the new stack pointer: &rt_sigframe */
    uint64_t fp_addr;          /* the XSAVE area, 64-byte aligned */
    size_t frame_len;
    size_t fp_len;             /* XSAVE size plus the trailing magic */
};

/* Size of the header part of a frame (struct rt_sigframe). */
size_t arch_sigframe_header_size(void);

/* Lays the frame out below the guest's sp (or on the alternate stack), writes the header into
 * `header` (arch_sigframe_header_size() bytes) and the FPU area into `fp_out` (fp->size + 4),
 * and points `regs` at the handler. */
void arch_sigframe_build(struct arch_regs *regs, const struct arch_fpstate *fp,
                         const struct arch_signal_delivery *d, struct arch_sigframe_layout *l,
                         void *header, void *fp_out);

/* rt_sigreturn: given the header copied from sp - 8, restores the general registers into `regs`
 * (keeping the selectors, masking flags), and returns the mask, the FPU area's address and the
 * uc_stack fields. Returns 0 or -EFAULT for a frame that can't be right. */
int arch_sigframe_restore(struct arch_regs *regs, const void *header, uint64_t *mask,
                          uint64_t *fp_addr, uint64_t *ss_sp, uint64_t *ss_size, int *ss_flags);
/* The guest address the frame header starts at, from the sp at rt_sigreturn. */
uint64_t arch_sigframe_addr_at_return(const struct arch_regs *regs);

#endif
