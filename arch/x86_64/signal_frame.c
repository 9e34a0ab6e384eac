/* The x86_64 rt_sigframe: layout, building and restoring. Offsets follow Linux's uapi
 * struct sigcontext (64-bit) and struct ucontext. */
#include "signal_frame.h"

#include <errno.h>
#include <string.h>

#define RED_ZONE 128
#define FP_XSTATE_MAGIC2 0x46505845U
#define UC_FP_XSTATE 0x1
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4
/* The flags a signal frame may change (Linux's FIX_EFLAGS). */
#define FIX_EFLAGS 0x50dd5UL
#define EFLAGS_TF 0x100UL
#define EFLAGS_DF 0x400UL
#define EFLAGS_RF 0x10000UL

struct k_sigcontext {
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
    uint16_t cs, gs, fs, ss;
    uint64_t err, trapno, oldmask, cr2;
    uint64_t fpstate;
    uint64_t reserved1[8];
};

struct k_stack {
    uint64_t ss_sp;
    int32_t ss_flags;
    int32_t pad;
    uint64_t ss_size;
};

struct k_ucontext {
    uint64_t uc_flags;
    uint64_t uc_link;
    struct k_stack uc_stack;
    struct k_sigcontext uc_mcontext;
    uint64_t uc_sigmask;
};

struct k_rt_sigframe {
    uint64_t pretcode;
    struct k_ucontext uc;
    siginfo_t info;
};

_Static_assert(sizeof(struct k_sigcontext) == 256, "sigcontext layout");
_Static_assert(sizeof(struct k_ucontext) == 304, "ucontext layout");
_Static_assert(sizeof(struct k_rt_sigframe) == 440, "rt_sigframe layout");

size_t arch_sigframe_header_size(void)
{
    return sizeof(struct k_rt_sigframe);
}

void arch_sigframe_build(struct arch_regs *regs, const struct arch_fpstate *fp,
                         const struct arch_signal_delivery *d, struct arch_sigframe_layout *l,
                         void *header, void *fp_out)
{
    struct user_regs_struct *r = &regs->r;
    uint64_t sp = d->stack_top ? d->stack_top : r->rsp - RED_ZONE;

    l->fp_len = fp->size + sizeof(uint32_t);
    sp = (sp - l->fp_len) & ~63UL;
    l->fp_addr = sp;
    sp -= sizeof(struct k_rt_sigframe);
    sp = (sp & ~15UL) - 8; /* as if the handler had been called: sp + 8 is 16-byte aligned */
    l->frame_addr = sp;
    l->frame_len = sizeof(struct k_rt_sigframe);

    memcpy(fp_out, fp->data, fp->size);
    uint32_t magic2 = FP_XSTATE_MAGIC2;
    memcpy((char *)fp_out + fp->size, &magic2, sizeof(magic2));

    struct k_rt_sigframe *f = header;
    memset(f, 0, sizeof(*f));
    f->pretcode = d->restorer;
    f->uc.uc_flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
    f->uc.uc_stack.ss_sp = d->ss_sp;
    f->uc.uc_stack.ss_flags = d->ss_flags;
    f->uc.uc_stack.ss_size = d->ss_size;
    struct k_sigcontext *sc = &f->uc.uc_mcontext;
    sc->r8 = r->r8, sc->r9 = r->r9, sc->r10 = r->r10, sc->r11 = r->r11;
    sc->r12 = r->r12, sc->r13 = r->r13, sc->r14 = r->r14, sc->r15 = r->r15;
    sc->rdi = r->rdi, sc->rsi = r->rsi, sc->rbp = r->rbp, sc->rbx = r->rbx;
    sc->rdx = r->rdx, sc->rax = r->rax, sc->rcx = r->rcx, sc->rsp = r->rsp;
    sc->rip = r->rip, sc->eflags = r->eflags;
    sc->cs = (uint16_t)r->cs, sc->ss = (uint16_t)r->ss;
    sc->oldmask = d->old_mask;
    if (d->sig == SIGSEGV || d->sig == SIGBUS) {
        sc->cr2 = d->fault_addr;
        sc->trapno = 14; /* page fault */
        sc->err = 4;     /* from user mode */
    }
    sc->fpstate = l->fp_addr;
    f->uc.uc_sigmask = d->old_mask;
    f->info = *d->info;

    /* Enter the handler: handler(sig, &info, &uc), with TF, DF and RF cleared as Linux does. */
    r->rdi = (uint64_t)d->sig;
    r->rsi = d->siginfo ? l->frame_addr + offsetof(struct k_rt_sigframe, info) : 0;
    r->rdx = d->siginfo ? l->frame_addr + offsetof(struct k_rt_sigframe, uc) : 0;
    r->rax = 0;
    r->rsp = l->frame_addr;
    r->rip = d->handler;
    r->eflags &= ~(EFLAGS_TF | EFLAGS_DF | EFLAGS_RF);
    r->orig_rax = (uint64_t)-1;
}

uint64_t arch_sigframe_addr_at_return(const struct arch_regs *regs)
{
    /* The handler's `ret` popped pretcode. */
    return regs->r.rsp - 8;
}

int arch_sigframe_restore(struct arch_regs *regs, const void *header, uint64_t *mask,
                          uint64_t *fp_addr, uint64_t *ss_sp, uint64_t *ss_size, int *ss_flags)
{
    const struct k_rt_sigframe *f = header;
    const struct k_sigcontext *sc = &f->uc.uc_mcontext;
    struct user_regs_struct *r = &regs->r;

    r->r8 = sc->r8, r->r9 = sc->r9, r->r10 = sc->r10, r->r11 = sc->r11;
    r->r12 = sc->r12, r->r13 = sc->r13, r->r14 = sc->r14, r->r15 = sc->r15;
    r->rdi = sc->rdi, r->rsi = sc->rsi, r->rbp = sc->rbp, r->rbx = sc->rbx;
    r->rdx = sc->rdx, r->rax = sc->rax, r->rcx = sc->rcx, r->rsp = sc->rsp;
    r->rip = sc->rip;
    r->eflags = (r->eflags & ~FIX_EFLAGS) | (sc->eflags & FIX_EFLAGS);
    r->orig_rax = (uint64_t)-1; /* no syscall restart after sigreturn */
    *mask = f->uc.uc_sigmask;
    *fp_addr = sc->fpstate;
    *ss_sp = f->uc.uc_stack.ss_sp;
    *ss_size = f->uc.uc_stack.ss_size;
    *ss_flags = f->uc.uc_stack.ss_flags;
    if (sc->fpstate & 63)
        return -EFAULT;
    return 0;
}
