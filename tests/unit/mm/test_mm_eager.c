/* Eager mapping on a real (ptrace) address space: mm_map_eager maps cached file pages
 * copy-on-write and small mappings whole, leaves large anonymous ones to faults, and a guest write
 * to an eagerly mapped cached page still copies it, leaving the cache's page as it was; a fork
 * child maps what its parent had mapped, copy-on-write; a growing break maps its first page. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "platform/platform.h"
#include "sentry/memfile/memfile.h"
#include "sentry/mm/mm.h"
#include "sentry/mm/mm_internal.h"

#define PAGE 4096UL
#define FILE_ADDR 0x400000UL  /* the file, r-x: its first page is the guest's code */
#define DATA_ADDR 0x600000UL  /* the file again, private rw- */
#define SMALL_ADDR 0x700000UL /* 8 KiB anonymous */
#define BIG_ADDR 0x800000UL   /* 1 MiB anonymous */
#define BIG_LEN (1UL << 20)
#define FILE_LEN (2 * PAGE)

static const uint8_t code_store_exit[] = {
    0x48, 0xc7, 0x07, 0x01, 0x00, 0x00, 0x00, /* movq $1, (%rdi) */
    0xb8, 0x3c, 0x00, 0x00, 0x00,             /* mov $60, %eax (exit) */
    0x0f, 0x05,                               /* syscall */
};

struct cached_file {
    struct mappable m;
    struct mm_file_cache cache;
};

static ssize_t cf_read(struct mappable *m, void *buf, size_t len, uint64_t off)
{
    (void)m;
    if (off >= FILE_LEN)
        return 0;
    if (len > FILE_LEN - off)
        len = FILE_LEN - off;
    memset(buf, 0x5a, len);
    if (off == 0)
        memcpy(buf, code_store_exit, sizeof(code_store_exit));
    return (ssize_t)len;
}

static void cf_nop(struct mappable *m)
{
    (void)m;
}

static int cf_cache_range(struct mappable *m, struct memfile *mf, uint64_t off, uint64_t len,
                          uint64_t *mf_off)
{
    return mm_file_cache_range(&((struct cached_file *)m)->cache, m, mf, off, len, mf_off);
}

static const struct mappable_ops cf_ops = {
    .read = cf_read, .get = cf_nop, .put = cf_nop, .cache_range = cf_cache_range};

static struct pma *pma_for(struct mm *mm, uint64_t addr)
{
    size_t i = rangevec_lower_bound(&mm->pmas, addr);
    if (i < mm->pmas.len && pma_at(mm, i)->start <= addr)
        return pma_at(mm, i);
    return NULL;
}

static void test_eager_maps_cached_and_small_then_write_copies(void **state)
{
    struct memfile *mf;
    struct platform *p;
    struct platform_as *as;
    struct platform_ctx *ctx;
    struct mm *mm;
    struct cached_file f = {.m.ops = &cf_ops};

    (void)state;
    mm_file_cache_init(&f.cache);
    assert_int_equal(memfile_create(64UL << 20, &mf), 0);
    struct platform_config cfg = {.memfile_fd = memfile_fd(mf)};
    assert_int_equal(platform_create("ptrace", &cfg, &p), 0);
    assert_int_equal(mm_create(mf, platform_max_user_address(p), &mm), 0);
    assert_int_equal(platform_as_create(p, &as), 0);
    mm_set_platform_as(mm, as);
    assert_int_equal(platform_ctx_create(as, &ctx), 0);

    struct mm_map_request reqs[] = {
        {.addr = FILE_ADDR,
         .len = FILE_LEN,
         .prot = PROT_READ | PROT_EXEC,
         .fixed = true,
         .file = &f.m},
        {.addr = DATA_ADDR,
         .len = FILE_LEN,
         .prot = PROT_READ | PROT_WRITE,
         .fixed = true,
         .file = &f.m},
        {.addr = SMALL_ADDR, .len = 2 * PAGE, .prot = PROT_READ | PROT_WRITE, .fixed = true},
        {.addr = BIG_ADDR, .len = BIG_LEN, .prot = PROT_READ | PROT_WRITE, .fixed = true},
    };
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
        assert_int_equal(mm_map(mm, &reqs[i]), (int64_t)reqs[i].addr);
    assert_int_equal(mm_map_eager(mm, 1UL << 20), 0);

    /* Cached file pages: the cache's own, mapped copy-on-write; small anonymous: mapped; the
     * large anonymous mapping: not even populated. */
    struct pma *code = pma_for(mm, FILE_ADDR), *data = pma_for(mm, DATA_ADDR);
    assert_non_null(code);
    assert_non_null(data);
    assert_true(code->mapped && code->cow);
    assert_true(data->mapped && data->cow);
    assert_int_equal(code->mf_off, data->mf_off);
    uint64_t cache_off = data->mf_off;
    struct pma *small = pma_for(mm, SMALL_ADDR);
    assert_non_null(small);
    assert_true(small->mapped);
    assert_null(pma_for(mm, BIG_ADDR));

    /* The guest runs its code with no fault, and its write to the private file mapping faults
     * (the page is the cache's, read-only) and copies. */
    struct arch_regs regs;
    struct platform_event ev;
    platform_ctx_initial_regs(ctx, &regs);
    arch_regs_init_exec(&regs, FILE_ADDR, SMALL_ADDR + 2 * PAGE);
    regs.r.rdi = DATA_ADDR + 64;
    assert_int_equal(platform_ctx_switch(ctx, &regs, &ev), 0);
    assert_int_equal(ev.kind, PLATFORM_EVENT_FAULT);
    assert_int_equal(ev.fault_addr, DATA_ADDR + 64);
    assert_int_equal(ev.info.si_code, SEGV_ACCERR);
    assert_int_equal(mm_handle_fault(mm, ev.fault_addr), 0);
    assert_int_equal(platform_ctx_switch(ctx, &regs, &ev), 0);
    assert_int_equal(ev.kind, PLATFORM_EVENT_SYSCALL);
    assert_int_equal(arch_regs_syscall_nr(&regs), SYS_exit);
    uint64_t word;
    assert_int_equal(mm_copy_in(mm, DATA_ADDR + 64, &word, sizeof(word)), 0);
    assert_int_equal(word, 1);
    /* The cache's page is untouched; the code mapping still shares it. */
    const uint8_t *cached = (const uint8_t *)memfile_base(mf) + cache_off;
    assert_int_equal(cached[64], 0x5a);
    assert_int_equal(pma_for(mm, FILE_ADDR)->mf_off, cache_off);
    assert_int_not_equal(pma_for(mm, DATA_ADDR)->mf_off, cache_off);

    platform_ctx_release(ctx);
    mm_put(mm);
    mm_file_cache_release(&f.cache);
    platform_destroy(p);
    assert_int_equal(memfile_used(mf), 0); /* every page given back */
    memfile_destroy(mf);
}

struct world {
    struct memfile *mf;
    struct platform *p;
};

static void world_up(struct world *w)
{
    assert_int_equal(memfile_create(64UL << 20, &w->mf), 0);
    struct platform_config cfg = {.memfile_fd = memfile_fd(w->mf)};
    assert_int_equal(platform_create("ptrace", &cfg, &w->p), 0);
}

static void world_down(struct world *w)
{
    platform_destroy(w->p);
    assert_int_equal(memfile_used(w->mf), 0); /* every page given back */
    memfile_destroy(w->mf);
}

/* A new mm with an address space and a context of this thread in it. */
static struct mm *mm_up(struct world *w, struct mm *from, struct platform_ctx **ctx)
{
    struct mm *mm;
    struct platform_as *as;

    if (from)
        assert_int_equal(mm_fork(from, &mm), 0);
    else
        assert_int_equal(mm_create(w->mf, platform_max_user_address(w->p), &mm), 0);
    assert_int_equal(platform_as_create(w->p, &as), 0);
    mm_set_platform_as(mm, as);
    assert_int_equal(platform_ctx_create(as, ctx), 0);
    return mm;
}

/* Runs the code at FILE_ADDR (a store of 1 to rdi, then exit) with rdi = target. */
static void run_store(struct platform_ctx *ctx, uint64_t target, struct arch_regs *regs,
                      struct platform_event *ev)
{
    platform_ctx_initial_regs(ctx, regs);
    arch_regs_init_exec(regs, FILE_ADDR, SMALL_ADDR + 2 * PAGE);
    regs->r.rdi = target;
    assert_int_equal(platform_ctx_switch(ctx, regs, ev), 0);
}

static void test_fork_child_maps_inherited_copy_on_write(void **state)
{
    struct world w;
    struct platform_ctx *pctx, *cctx;
    struct cached_file f = {.m.ops = &cf_ops};
    struct arch_regs regs;
    struct platform_event ev;

    (void)state;
    mm_file_cache_init(&f.cache);
    world_up(&w);
    struct mm *parent = mm_up(&w, NULL, &pctx);
    struct mm_map_request code = {.addr = FILE_ADDR,
                                  .len = FILE_LEN,
                                  .prot = PROT_READ | PROT_EXEC,
                                  .fixed = true,
                                  .file = &f.m};
    struct mm_map_request small = {
        .addr = SMALL_ADDR, .len = 2 * PAGE, .prot = PROT_READ | PROT_WRITE, .fixed = true};
    struct mm_map_request big = {
        .addr = BIG_ADDR, .len = BIG_LEN, .prot = PROT_READ | PROT_WRITE, .fixed = true};
    assert_int_equal(mm_map(parent, &code), FILE_ADDR);
    assert_int_equal(mm_map(parent, &small), SMALL_ADDR);
    assert_int_equal(mm_map(parent, &big), BIG_ADDR);
    assert_int_equal(mm_map_eager(parent, 1UL << 20), 0);
    /* The big mapping gets a page populated but not mapped. */
    uint64_t seven = 7;
    assert_int_equal(mm_copy_out(parent, BIG_ADDR, &seven, sizeof(seven)), 0);
    assert_false(pma_for(parent, BIG_ADDR)->mapped);

    struct mm *child = mm_up(&w, parent, &cctx);
    assert_false(pma_for(child, SMALL_ADDR)->mapped);
    assert_int_equal(mm_map_inherited(child), 0);
    /* What the parent had mapped is mapped, copy-on-write; what it had not, is not. */
    assert_true(pma_for(child, FILE_ADDR)->mapped);
    assert_true(pma_for(child, SMALL_ADDR)->mapped && pma_for(child, SMALL_ADDR)->cow);
    assert_false(pma_for(child, BIG_ADDR)->mapped);
    uint64_t shared = pma_for(child, SMALL_ADDR)->mf_off;
    assert_int_equal(pma_for(parent, SMALL_ADDR)->mf_off, shared);

    /* The child runs its code without a fault; its write to the shared page faults and
     * copies; the parent's page keeps its zero. */
    run_store(cctx, SMALL_ADDR + 64, &regs, &ev);
    assert_int_equal(ev.kind, PLATFORM_EVENT_FAULT);
    assert_int_equal(ev.fault_addr, SMALL_ADDR + 64);
    assert_int_equal(ev.info.si_code, SEGV_ACCERR);
    assert_int_equal(mm_handle_fault(child, ev.fault_addr), 0);
    assert_int_equal(platform_ctx_switch(cctx, &regs, &ev), 0);
    assert_int_equal(ev.kind, PLATFORM_EVENT_SYSCALL);
    uint64_t word;
    assert_int_equal(mm_copy_in(child, SMALL_ADDR + 64, &word, sizeof(word)), 0);
    assert_int_equal(word, 1);
    assert_int_equal(mm_copy_in(parent, SMALL_ADDR + 64, &word, sizeof(word)), 0);
    assert_int_equal(word, 0);
    assert_int_not_equal(pma_for(child, SMALL_ADDR)->mf_off, shared);

    platform_ctx_release(cctx);
    mm_put(child);
    platform_ctx_release(pctx);
    mm_put(parent);
    mm_file_cache_release(&f.cache);
    world_down(&w);
}

static void test_growing_break_maps_its_first_page(void **state)
{
    struct world w;
    struct platform_ctx *ctx;
    struct cached_file f = {.m.ops = &cf_ops};
    struct arch_regs regs;
    struct platform_event ev;
    const uint64_t heap = 0x2000000;

    (void)state;
    mm_file_cache_init(&f.cache);
    world_up(&w);
    struct mm *mm = mm_up(&w, NULL, &ctx);
    struct mm_map_request code = {.addr = FILE_ADDR,
                                  .len = FILE_LEN,
                                  .prot = PROT_READ | PROT_EXEC,
                                  .fixed = true,
                                  .file = &f.m};
    struct mm_map_request stack = {
        .addr = SMALL_ADDR, .len = 2 * PAGE, .prot = PROT_READ | PROT_WRITE, .fixed = true};
    assert_int_equal(mm_map(mm, &code), FILE_ADDR);
    assert_int_equal(mm_map(mm, &stack), SMALL_ADDR);
    assert_int_equal(mm_map_eager(mm, 1UL << 20), 0);
    mm_set_layout(mm, heap, 0x7f0000000000UL);
    assert_int_equal(mm_brk(mm, heap + 3 * PAGE + 5), heap + 3 * PAGE + 5);
    struct pma *p = pma_for(mm, heap);
    assert_non_null(p);
    assert_true(p->mapped);
    /* The guest writes there with no fault, and reads back zeroes elsewhere in it. */
    run_store(ctx, heap + 8, &regs, &ev);
    assert_int_equal(ev.kind, PLATFORM_EVENT_SYSCALL);
    uint64_t words[2];
    assert_int_equal(mm_copy_in(mm, heap, words, sizeof(words)), 0);
    assert_int_equal(words[0], 0);
    assert_int_equal(words[1], 1);
    /* Shrinking maps nothing. */
    assert_int_equal(mm_brk(mm, heap), heap);
    assert_null(pma_for(mm, heap));

    platform_ctx_release(ctx);
    mm_put(mm);
    mm_file_cache_release(&f.cache);
    world_down(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eager_maps_cached_and_small_then_write_copies),
        cmocka_unit_test(test_fork_child_maps_inherited_copy_on_write),
        cmocka_unit_test(test_growing_break_maps_its_first_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
