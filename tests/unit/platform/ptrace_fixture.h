/* The fixture the ptrace platform's unit tests share: a memory file, a platform, an address space
 * and a context made by the test thread, with a code page mapped at CODE_ADDR; teardown checks
 * that no stub or factory process outlives it. Include after cmocka.h. */
#ifndef RUNSC_TESTS_UNIT_PLATFORM_PTRACE_FIXTURE_H
#define RUNSC_TESTS_UNIT_PLATFORM_PTRACE_FIXTURE_H

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "platform/platform.h"
#include "platform/ptrace/ptrace_internal.h"
#include "sentry/memfile/memfile.h"

#define PAGE MEMFILE_PAGE_SIZE
#define CODE_ADDR 0x400000UL /* the fixture's code page, mapped r-x */
#define DATA_ADDR 0x600000UL /* where tests map their data page, if they want one */
#define STACK_TOP (DATA_ADDR + PAGE)

struct fixture {
    struct memfile *mf;
    struct platform *p;
    struct platform_as *as;
    struct platform_ctx *ctx;
    pid_t factory_pid;
    pid_t stub_pid;
    uint64_t code_off; /* the code page in the memory file */
    uint64_t data_off; /* a zeroed page in the memory file, not mapped by the fixture */
};

static inline void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Polls for up to 2 s until no process `pid` exists (not even a zombie). */
static inline bool pid_gone(pid_t pid)
{
    for (int i = 0; i < 200; i++) {
        if (kill(pid, 0) != 0 && errno == ESRCH)
            return true;
        sleep_ms(10);
    }
    return false;
}

static inline uint8_t *mf_at(struct fixture *f, uint64_t off)
{
    return (uint8_t *)memfile_base(f->mf) + off;
}

/* Puts guest code at the start of the code page. */
static inline void load_code(struct fixture *f, const uint8_t *code, size_t len)
{
    memcpy(mf_at(f, f->code_off), code, len);
}

static inline void map_data_page(struct fixture *f, int prot)
{
    assert_int_equal(platform_as_map(f->as, DATA_ADDR, PAGE, prot, f->data_off), 0);
}

/* Registers of a fresh thread about to run guest code at `ip`. */
static inline void regs_at(struct fixture *f, uint64_t ip, struct arch_regs *regs)
{
    platform_ctx_initial_regs(f->ctx, regs);
    arch_regs_init_exec(regs, ip, STACK_TOP);
}

static inline void switch_ok(struct fixture *f, struct arch_regs *regs, struct platform_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    assert_int_equal(platform_ctx_switch(f->ctx, regs, ev), 0);
}

static int fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    *state = f;
    assert_int_equal(memfile_create(64 << 20, &f->mf), 0);
    assert_int_equal(memfile_alloc(f->mf, PAGE, &f->code_off), 0);
    assert_int_equal(memfile_alloc(f->mf, PAGE, &f->data_off), 0);
    struct platform_config cfg = {.memfile_fd = memfile_fd(f->mf)};
    assert_int_equal(platform_create("ptrace", &cfg, &f->p), 0);
    f->factory_pid = ((struct ptrace_platform *)f->p)->factory_pid;
    assert_true(f->factory_pid > 0);
    assert_int_equal(platform_as_create(f->p, &f->as), 0);
    assert_int_equal(platform_ctx_create(f->as, &f->ctx), 0);
    f->stub_pid = platform_ctx_host_tid(f->ctx);
    assert_true(f->stub_pid > 0);
    assert_int_equal(f->stub_pid, ((struct ptrace_as *)f->as)->pid);
    assert_int_equal(platform_as_map(f->as, CODE_ADDR, PAGE, PROT_READ | PROT_EXEC, f->code_off),
                     0);
    return 0;
}

static int fixture_teardown(void **state)
{
    struct fixture *f = *state;

    if (f->ctx)
        platform_ctx_release(f->ctx);
    if (f->as) {
        platform_as_release(f->as);
        assert_true(pid_gone(f->stub_pid));
    }
    if (f->p) {
        uint64_t stub_base = ((struct ptrace_platform *)f->p)->stub_base;
        platform_destroy(f->p);
        assert_true(pid_gone(f->factory_pid));
        /* The stub page the platform placed in this process went with it. */
        assert_int_equal(msync((void *)stub_base, PAGE, MS_ASYNC), -1);
        assert_int_equal(errno, ENOMEM);
    }
    if (f->mf)
        memfile_destroy(f->mf);
    free(f);
    return 0;
}

#endif
