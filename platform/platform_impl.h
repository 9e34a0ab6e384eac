/* Private to platform/: the operations each platform implements and the base structs its own
 * structs embed first, so platform.c can dispatch. */
#ifndef RUNSC_PLATFORM_PLATFORM_IMPL_H
#define RUNSC_PLATFORM_PLATFORM_IMPL_H

#include "platform/platform.h"

struct platform_ops {
    const char *name;
    int (*create)(const struct platform_config *cfg, struct platform **out);
    void (*destroy)(struct platform *p);
    uint64_t (*max_user_address)(const struct platform *p);
    int (*as_create)(struct platform *p, struct platform_as **out);
    int (*as_map)(struct platform_as *as, uint64_t addr, uint64_t len, int prot, uint64_t off);
    /* Optional (NULL: one as_map per mapping). */
    int (*as_map_batch)(struct platform_as *as, const struct platform_mapping *maps, size_t n,
                        size_t *done);
    int (*as_unmap)(struct platform_as *as, uint64_t addr, uint64_t len);
    void (*as_release)(struct platform_as *as);
    /* Optional (NULL: -ENOSYS). */
    int (*as_set_proc_image)(struct platform_as *as, const struct platform_proc_image *image);
    int (*ctx_create)(struct platform_as *as, struct platform_ctx **out);
    int (*ctx_new_thread)(struct platform_ctx *parent, int *thread_handle);
    int (*ctx_create_for_thread)(struct platform_as *as, int thread_handle,
                                 struct platform_ctx **out);
    void (*ctx_initial_regs)(struct platform_ctx *ctx, struct arch_regs *regs);
    int (*ctx_get_fpstate)(struct platform_ctx *ctx, struct arch_fpstate *fp);
    int (*ctx_set_fpstate)(struct platform_ctx *ctx, const struct arch_fpstate *fp);
    int (*ctx_switch)(struct platform_ctx *ctx, struct arch_regs *regs, struct platform_event *ev);
    void (*ctx_interrupt)(struct platform_ctx *ctx);
    int (*ctx_set_name)(struct platform_ctx *ctx, const char *name); /* optional */
    int (*ctx_host_tid)(const struct platform_ctx *ctx);
    void (*ctx_release)(struct platform_ctx *ctx);
};

struct platform {
    const struct platform_ops *ops;
};

struct platform_as {
    struct platform *platform;
};

struct platform_ctx {
    struct platform_as *as;
};

extern const struct platform_ops ptrace_platform_ops;

#endif
