/* What host tools (`ps`, `docker top`) see of a stub: each stub thread takes its guest thread's
 * name (comm), and each stub process shows the guest's command line as its /proc/PID/cmdline.
 * Both are prctl(2)s injected into a stub thread, with their arguments in stub-private anonymous
 * scratch pages: the first holds the copy of the argv strings the host reads (it reads cmdline
 * only from anonymous memory), the second the prctls' arguments. */
#include <errno.h>
#include <linux/prctl.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

#include "platform/ptrace/ptrace_internal.h"

#define SCRATCH_CMDLINE_MAX 4096UL /* the argv copy: the first scratch page */

static uint64_t scratch_args_addr(const struct ptrace_as *as)
{
    return as->platform->scratch_addr + SCRATCH_CMDLINE_MAX;
}

/* Maps the stub's scratch pages if it has none yet (as->lock held). */
static int scratch_map(struct ptrace_as *as, struct ptrace_thread *t)
{
    uint64_t addr = as->platform->scratch_addr;
    uint64_t args[6] = {addr,
                        PTRACE_SCRATCH_SIZE,
                        PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                        (uint64_t)-1,
                        0};

    if (as->scratch_mapped)
        return 0;
    long ret = ptrace_inject_syscall(as->platform, t, SYS_mmap, args);
    if (ret < 0 && ret > -4096)
        return (int)ret;
    if ((uint64_t)ret != addr)
        return -EIO;
    as->scratch_mapped = true;
    return 0;
}

/* Copies `len` bytes to `addr` in the stopped thread `t`'s stub, a word at a time, the last one
 * padded with zeroes (PTRACE_POKEDATA: the sentry's seccomp filter allows ptrace, not
 * process_vm_writev). */
static int scratch_write(struct ptrace_thread *t, uint64_t addr, const void *data, size_t len)
{
    for (size_t off = 0; off < len; off += sizeof(long)) {
        long word = 0;
        memcpy(&word, (const char *)data + off,
               len - off < sizeof(word) ? len - off : sizeof(word));
        if (ptrace(PTRACE_POKEDATA, t->tid, addr + off, word) != 0)
            return -errno;
    }
    return 0;
}

/* Puts `data` in the second scratch page for the prctl `t` is about to run (as->lock held). */
static int scratch_put(struct ptrace_as *as, struct ptrace_thread *t, const void *data, size_t len)
{
    int err = scratch_map(as, t);

    return err ? err : scratch_write(t, scratch_args_addr(as), data, len);
}

int ptrace_ctx_set_name(struct platform_ctx *base, const char *name)
{
    struct ptrace_ctx *ctx = (struct ptrace_ctx *)base;
    struct ptrace_thread *t = ctx->thread;
    char comm[sizeof(t->name)] = {0};

    strncpy(comm, name, sizeof(comm) - 1);
    if (memcmp(comm, t->name, sizeof(comm)) == 0)
        return 0;
    if (ptrace_batch_has_page(ctx->as->platform, ctx->as->pid)) {
        /* Given to the host with the next batch or switch of `t`. */
        pthread_mutex_lock(&ctx->as->lock);
        memcpy(t->name, comm, sizeof(comm));
        t->name_pending = true;
        pthread_mutex_unlock(&ctx->as->lock);
        return 0;
    }
    /* PR_SET_NAME names the calling thread only: the injected call runs in `t` itself. */
    uint64_t args[6] = {PR_SET_NAME, scratch_args_addr(ctx->as), 0, 0, 0, 0};
    pthread_mutex_lock(&ctx->as->lock);
    long ret = scratch_put(ctx->as, t, comm, sizeof(comm));
    if (ret == 0)
        ret = ptrace_inject_syscall(ctx->as->platform, t, SYS_prctl, args);
    pthread_mutex_unlock(&ctx->as->lock);
    if (ret != 0)
        return ret < 0 ? (int)ret : -EIO;
    memcpy(t->name, comm, sizeof(comm));
    return 0;
}

int ptrace_as_set_proc_image(struct platform_as *base, const struct platform_proc_image *img)
{
    struct ptrace_as *as = (struct ptrace_as *)base;
    uint64_t cmdline = as->platform->scratch_addr;
    size_t len = img->cmdline_len < SCRATCH_CMDLINE_MAX ? img->cmdline_len : SCRATCH_CMDLINE_MAX;
    char copy[SCRATCH_CMDLINE_MAX];

    /* The copy goes in before the prctl that points the host at it: a refused prctl leaves the
     * old range over the new bytes (the kernel validates only the addresses, so only a
     * disordered image, which the sentry never makes, is refused). arg_end - 1 must be a NUL, or
     * the host takes the area for a setproctitle(3)'d one and reads on into the environment
     * (fs/proc/base.c: get_mm_cmdline). */
    memcpy(copy, img->cmdline, len);
    if (len > 0)
        copy[len - 1] = '\0';
    /* The environment stays empty: the host has no business reading the guest's. exe_fd = -1
     * keeps /proc/PID/exe (changing it needs CAP_CHECKPOINT_RESTORE) and auxv_size = 0 the saved
     * auxv; so PR_SET_MM_MAP needs no capability, unlike the one-field PR_SET_MM options
     * (kernel/sys.c: prctl_set_mm_map). */
    struct prctl_mm_map map = {
        .start_code = img->start_code,
        .end_code = img->end_code,
        .start_data = img->start_data,
        .end_data = img->end_data,
        .start_brk = img->start_brk,
        .brk = img->brk,
        .start_stack = img->start_stack,
        .arg_start = cmdline,
        .arg_end = cmdline + len,
        .env_start = cmdline + len,
        .env_end = cmdline + len,
        .auxv = NULL,
        .auxv_size = 0,
        .exe_fd = (uint32_t)-1,
    };
    uint64_t args[6] = {PR_SET_MM, PR_SET_MM_MAP, scratch_args_addr(as), sizeof(map), 0, 0};

    pthread_mutex_lock(&as->lock);
    struct ptrace_thread *t = ptrace_as_thread_for_caller(as);
    if (t && ptrace_batch_has_page(as->platform, as->pid)) {
        /* The copy goes in now; the prctl waits for the next batch or switch, which gives a
         * refused image again with empty data and heap (batch.c). */
        long err = scratch_write(t, cmdline, copy, len);
        if (err == 0) {
            as->pending_image = map;
            as->image_pending = true;
        }
        pthread_mutex_unlock(&as->lock);
        return (int)err;
    }
    long ret = t ? scratch_put(as, t, &map, sizeof(map)) : -ESRCH;
    if (ret == 0)
        ret = scratch_write(t, cmdline, copy, len);
    if (ret == 0)
        ret = ptrace_inject_syscall(as->platform, t, SYS_prctl, args);
    pthread_mutex_unlock(&as->lock);
    if (ret != 0)
        return ret < 0 ? (int)ret : -EIO;
    return 0;
}
