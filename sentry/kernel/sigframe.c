/* Signal frames: the kernel-side part (choosing the stack, saving FPU state through the
 * platform, copying to and from guest memory); the layout itself is arch/'s. */
#include "sentry/kernel/sigframe.h"

#include <errno.h>
#include <stdlib.h>

#include "platform/platform.h"
#include "sentry/kernel/kernel.h"
#include "sentry/mm/mm.h"
#include "signal_frame.h"

bool sigframe_on_altstack(const struct task *t, uint64_t sp)
{
    return t->altstack_size && sp > t->altstack_sp && sp - t->altstack_sp <= t->altstack_size;
}

int sigframe_setup(struct task *t, int sig, const siginfo_t *info, const struct k_sigaction *act,
                   uint64_t old_mask)
{
    struct arch_fpstate *fp = malloc(sizeof(*fp));
    size_t header_len = arch_sigframe_header_size();
    char *header = malloc(header_len);
    char *fp_out = fp ? malloc(sizeof(fp->data) + 4) : NULL;
    int err = -ENOMEM;

    if (!fp || !header || !fp_out)
        goto out;
    if ((err = platform_ctx_get_fpstate(t->ctx, fp)) != 0)
        goto out;
    bool on_alt = sigframe_on_altstack(t, arch_regs_sp(&t->regs));
    struct arch_signal_delivery d = {
        .sig = sig,
        .info = info,
        .handler = act->handler,
        .restorer = act->restorer,
        .siginfo = act->flags & SA_SIGINFO,
        .old_mask = old_mask,
        .ss_sp = t->altstack_sp,
        .ss_size = t->altstack_size,
        .ss_flags = t->altstack_size ? (on_alt ? SS_ONSTACK : 0) : SS_DISABLE,
        .stack_top = 0,
        .fault_addr = (uint64_t)info->si_addr,
    };
    if ((act->flags & SA_ONSTACK) && t->altstack_size && !on_alt)
        d.stack_top = t->altstack_sp + t->altstack_size;
    struct arch_regs regs = t->regs;
    struct arch_sigframe_layout l;
    arch_sigframe_build(&regs, fp, &d, &l, header, fp_out);
    /* x86_64 needs SA_RESTORER: without a return address the frame is unusable (Linux fails the
     * delivery the same way). */
    if (!act->restorer) {
        err = -EFAULT;
        goto out;
    }
    if ((err = mm_copy_out(t->mm, l.fp_addr, fp_out, l.fp_len)) != 0 ||
        (err = mm_copy_out(t->mm, l.frame_addr, header, l.frame_len)) != 0)
        goto out;
    /* The handler starts with a clean FPU, as Linux's fpu__clear_user_states() gives it. */
    arch_fpstate_init(fp);
    if ((err = platform_ctx_set_fpstate(t->ctx, fp)) != 0)
        goto out;
    t->regs = regs;
out:
    free(fp_out);
    free(header);
    free(fp);
    return err;
}

int sigframe_return(struct task *t)
{
    size_t header_len = arch_sigframe_header_size();
    char *header = malloc(header_len);
    struct arch_fpstate *fp = malloc(sizeof(*fp));
    struct arch_regs regs = t->regs;
    uint64_t mask, fp_addr, ss_sp, ss_size;
    int ss_flags, err = -ENOMEM;

    if (!header || !fp)
        goto out;
    if ((err = mm_copy_in(t->mm, arch_sigframe_addr_at_return(&t->regs), header, header_len)) ||
        (err = arch_sigframe_restore(&regs, header, &mask, &fp_addr, &ss_sp, &ss_size,
                                     &ss_flags)))
        goto out;
    if ((err = platform_ctx_get_fpstate(t->ctx, fp)) != 0)
        goto out;
    if (fp_addr) {
        if ((err = mm_copy_in(t->mm, fp_addr, fp->data, fp->size)) != 0)
            goto out;
        /* The host validates the XSAVE header; a corrupt one is the guest's bad frame. */
        if (platform_ctx_set_fpstate(t->ctx, fp) != 0) {
            err = -EFAULT;
            goto out;
        }
    }
    t->regs = regs;
    pthread_mutex_lock(&t->tg->lock);
    t->blocked = mask & ~UNBLOCKABLE;
    pthread_mutex_unlock(&t->tg->lock);
    /* restore_altstack(): a frame may re-enable or move the alternate stack, unless the task
     * is running on it. */
    if (!sigframe_on_altstack(t, arch_regs_sp(&t->regs))) {
        if (ss_flags & SS_DISABLE) {
            t->altstack_sp = t->altstack_size = 0;
            t->altstack_flags = SS_DISABLE;
        } else if (ss_size) {
            t->altstack_sp = ss_sp;
            t->altstack_size = ss_size;
            t->altstack_flags = 0;
        }
    }
    err = 0;
out:
    free(fp);
    free(header);
    return err;
}
