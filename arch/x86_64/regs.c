/* x86_64 register initialisation and arch_prctl. */
#include "regs.h"

#include <asm/prctl.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "arch.h"

void arch_regs_init_exec(struct arch_regs *regs, uint64_t entry, uint64_t sp)
{
    struct user_regs_struct r = regs->r;

    memset(&regs->r, 0, sizeof(regs->r));
    regs->r.cs = r.cs;
    regs->r.ss = r.ss;
    regs->r.ds = r.ds;
    regs->r.es = r.es;
    regs->r.fs = 0;
    regs->r.gs = 0;
    regs->r.rip = entry;
    regs->r.rsp = sp;
    regs->r.eflags = 0x202; /* IF, and the reserved bit 1 */
    regs->r.orig_rax = (uint64_t)-1;
}

void arch_fpstate_init(struct arch_fpstate *fp)
{
    struct user_fpregs_struct fx;
    uint8_t sw_reserved[48];

    /* Keep the software-reserved bytes: they describe the host's XSAVE layout. */
    memcpy(sw_reserved, fp->data + 464, sizeof(sw_reserved));
    memset(fp->data, 0, fp->size);
    memset(&fx, 0, sizeof(fx));
    fx.cwd = 0x37f;
    fx.mxcsr = 0x1f80;
    memcpy(fp->data, &fx, offsetof(struct user_fpregs_struct, mxcr_mask));
    memcpy(fp->data + 464, sw_reserved, sizeof(sw_reserved));
}

int arch_prctl_regs(struct arch_regs *regs, int code, uint64_t addr, uint64_t *out)
{
    switch (code) {
    case ARCH_SET_FS:
    case ARCH_SET_GS:
        /* Linux refuses bases outside the user address range with EPERM. */
        if (addr >= ARCH_USER_ADDR_LIMIT)
            return -EPERM;
        if (code == ARCH_SET_FS)
            regs->r.fs_base = addr;
        else
            regs->r.gs_base = addr;
        return 0;
    case ARCH_GET_FS:
        *out = regs->r.fs_base;
        return 1;
    case ARCH_GET_GS:
        *out = regs->r.gs_base;
        return 1;
    default:
        return -EINVAL;
    }
}
