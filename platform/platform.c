/* Chooses a platform by name and dispatches the platform interface to it. */
#include "platform/platform_impl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct platform_ops *const platforms[] = {
    &ptrace_platform_ops,
};

bool platform_is_known(const char *name, const char **known)
{
    static char names[128];
    bool found = false;
    size_t len = 0;

    for (size_t i = 0; i < sizeof(platforms) / sizeof(platforms[0]); i++) {
        len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", i ? ", " : "",
                                platforms[i]->name);
        if (len >= sizeof(names))
            len = sizeof(names) - 1;
        if (strcmp(platforms[i]->name, name) == 0)
            found = true;
    }
    *known = names;
    return found;
}

int platform_create(const char *name, const struct platform_config *cfg, struct platform **out)
{
    for (size_t i = 0; i < sizeof(platforms) / sizeof(platforms[0]); i++) {
        if (strcmp(platforms[i]->name, name) == 0)
            return platforms[i]->create(cfg, out);
    }
    return -ENOENT;
}

void platform_destroy(struct platform *p)
{
    p->ops->destroy(p);
}

const char *platform_name(const struct platform *p)
{
    return p->ops->name;
}

uint64_t platform_max_user_address(const struct platform *p)
{
    return p->ops->max_user_address(p);
}

int platform_as_create(struct platform *p, struct platform_as **out)
{
    return p->ops->as_create(p, out);
}

int platform_as_map(struct platform_as *as, uint64_t addr, uint64_t len, int prot, uint64_t off)
{
    return as->platform->ops->as_map(as, addr, len, prot, off);
}

int platform_as_map_batch(struct platform_as *as, const struct platform_mapping *maps, size_t n,
                          size_t *done)
{
    const struct platform_ops *ops = as->platform->ops;

    if (ops->as_map_batch)
        return ops->as_map_batch(as, maps, n, done);
    for (*done = 0; *done < n; (*done)++) {
        const struct platform_mapping *m = &maps[*done];
        int err = ops->as_map(as, m->addr, m->len, m->prot, m->memfile_offset);
        if (err)
            return err;
    }
    return 0;
}

int platform_as_unmap(struct platform_as *as, uint64_t addr, uint64_t len)
{
    return as->platform->ops->as_unmap(as, addr, len);
}

void platform_as_release(struct platform_as *as)
{
    as->platform->ops->as_release(as);
}

int platform_as_set_proc_image(struct platform_as *as, const struct platform_proc_image *image)
{
    const struct platform_ops *ops = as->platform->ops;

    return ops->as_set_proc_image ? ops->as_set_proc_image(as, image) : -ENOSYS;
}

int platform_ctx_create(struct platform_as *as, struct platform_ctx **out)
{
    return as->platform->ops->ctx_create(as, out);
}

int platform_ctx_new_thread(struct platform_ctx *parent, int *thread_handle)
{
    return parent->as->platform->ops->ctx_new_thread(parent, thread_handle);
}

int platform_ctx_create_for_thread(struct platform_as *as, int thread_handle,
                                   struct platform_ctx **out)
{
    return as->platform->ops->ctx_create_for_thread(as, thread_handle, out);
}

void platform_ctx_initial_regs(struct platform_ctx *ctx, struct arch_regs *regs)
{
    ctx->as->platform->ops->ctx_initial_regs(ctx, regs);
}

int platform_ctx_get_fpstate(struct platform_ctx *ctx, struct arch_fpstate *fp)
{
    return ctx->as->platform->ops->ctx_get_fpstate(ctx, fp);
}

int platform_ctx_set_fpstate(struct platform_ctx *ctx, const struct arch_fpstate *fp)
{
    return ctx->as->platform->ops->ctx_set_fpstate(ctx, fp);
}

int platform_ctx_switch(struct platform_ctx *ctx, struct arch_regs *regs,
                        struct platform_event *ev)
{
    return ctx->as->platform->ops->ctx_switch(ctx, regs, ev);
}

void platform_ctx_interrupt(struct platform_ctx *ctx)
{
    ctx->as->platform->ops->ctx_interrupt(ctx);
}

int platform_ctx_set_name(struct platform_ctx *ctx, const char *name)
{
    const struct platform_ops *ops = ctx->as->platform->ops;

    return ops->ctx_set_name ? ops->ctx_set_name(ctx, name) : -ENOSYS;
}

int platform_ctx_host_tid(const struct platform_ctx *ctx)
{
    return ctx->as->platform->ops->ctx_host_tid(ctx);
}

void platform_ctx_release(struct platform_ctx *ctx)
{
    ctx->as->platform->ops->ctx_release(ctx);
}
