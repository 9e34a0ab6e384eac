/* Unit tests for the ptrace platform running guest code: syscalls caught by PTRACE_SYSEMU, page
 * faults, exceptions, unmapping, interrupts and FPU state. The guest is raw x86-64 machine code
 * written into the memory file and mapped at CODE_ADDR. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#include "tests/unit/platform/ptrace_fixture.h"

/* The guest's value to read in the fault test, and the return the sentry hands getpid. */
#define KNOWN_VALUE 0x1122334455667788ULL
#define FAKE_PID 4242

static const uint8_t code_getpid_exit[] = {
    0xb8, 0x27, 0x00, 0x00, 0x00, /* mov $39, %eax (getpid) */
    0x0f, 0x05,                   /* syscall */
    0x48, 0x89, 0xc7,             /* mov %rax, %rdi */
    0xb8, 0x3c, 0x00, 0x00, 0x00, /* mov $60, %eax (exit) */
    0x0f, 0x05,                   /* syscall */
};

static const uint8_t code_read_exit[] = {
    0x48, 0x8b, 0x3c, 0x25, 0x00, 0x00, 0x60, 0x00, /* mov 0x600000, %rdi */
    0xb8, 0x3c, 0x00, 0x00, 0x00,                   /* mov $60, %eax */
    0x0f, 0x05,                                     /* syscall */
};

static const uint8_t code_write[] = {
    0x48, 0xc7, 0x04, 0x25, 0x08, 0x00, 0x60, 0x00, 0x01, 0x00, 0x00, 0x00, /* movq $1, 0x600008 */
};

static const uint8_t code_ud2[] = {0x0f, 0x0b}; /* ud2 */
static const uint8_t code_int3[] = {0xcc};      /* int3 */
static const uint8_t code_div0[] = {
    0x31, 0xc9, /* xor %ecx, %ecx */
    0xf7, 0xf1, /* div %ecx */
};

static const uint8_t code_spin[] = {0xeb, 0xfe}; /* 1: jmp 1b */

static const uint8_t code_stmxcsr_exit[] = {
    0x0f, 0xae, 0x1c, 0x25, 0x10, 0x00, 0x60, 0x00, /* stmxcsr 0x600010 */
    0x8b, 0x3c, 0x25, 0x10, 0x00, 0x60, 0x00,       /* mov 0x600010, %edi */
    0xb8, 0x3c, 0x00, 0x00, 0x00,                   /* mov $60, %eax */
    0x0f, 0x05,                                     /* syscall */
};

static void test_syscall_is_caught_not_executed(void **state)
{
    struct fixture *f = *state;
    struct arch_regs regs;
    struct platform_event ev;

    load_code(f, code_getpid_exit, sizeof(code_getpid_exit));
    regs_at(f, CODE_ADDR, &regs);
    switch_ok(f, &regs, &ev);
    assert_int_equal(ev.kind, PLATFORM_EVENT_SYSCALL);
    assert_int_equal(arch_regs_syscall_nr(&regs), SYS_getpid);
    assert_int_equal(arch_regs_ip(&regs), CODE_ADDR + 7);
    assert_int_equal(arch_regs_sp(&regs), STACK_TOP);

    /* If the host ran getpid, rax would be the stub's pid (and PTRACE_SYSCALL would stop again
     * at the syscall's exit): the guest must see exactly what the sentry returned. */
    arch_regs_set_syscall_return(&regs, FAKE_PID);
    switch_ok(f, &regs, &ev);
    assert_int_equal(ev.kind, PLATFORM_EVENT_SYSCALL);
    assert_int_equal(arch_regs_syscall_nr(&regs), SYS_exit);
    assert_int_equal(arch_regs_syscall_arg(&regs, 0), FAKE_PID);
    assert_int_equal(arch_regs_ip(&regs), CODE_ADDR + sizeof(code_getpid_exit));
    /* The host did not run exit either. */
    assert_int_equal(kill(f->stub_pid, 0), 0);
}

static void test_fault_then_map_resumes(void **state)
{
    struct fixture *f = *state;
    struct arch_regs regs;
    struct platform_event ev;

    load_code(f, code_read_exit, sizeof(code_read_exit));
    regs_at(f, CODE_ADDR, &regs);
    switch_ok(f, &regs, &ev);
    assert_int_equal(ev.kind, PLATFORM_EVENT_FAULT);
    assert_int_equal(ev.fault_addr, DATA_ADDR);
    assert_int_equal(ev.info.si_signo, SIGSEGV);
    assert_int_equal(ev.info.si_code, SEGV_MAPERR);
    assert_int_equal(arch_regs_ip(&regs), CODE_ADDR);

    /* The mm resolves the fault; the same registers retry the load. */
    uint64_t value = KNOWN_VALUE;
    memcpy(mf_at(f, f->data_off), &value, sizeof(value));
    map_data_page(f, PROT_READ);
    switch_ok(f, &regs, &ev);
    assert_int_equal(ev.kind, PLATFORM_EVENT_SYSCALL);
    assert_int_equal(arch_regs_syscall_nr(&regs), SYS_exit);
    assert_int_equal(arch_regs_syscall_arg(&regs, 0), KNOWN_VALUE);
}

static void test_write_to_readonly_faults(void **state)
{
    struct fixture *f = *state;
    struct arch_regs regs;
    struct platform_event ev;

    load_code(f, code_write, sizeof(code_write));
    map_data_page(f, PROT_READ);
    regs_at(f, CODE_ADDR, &regs);
    switch_ok(f, &regs, &ev);
    assert_int_equal(ev.kind, PLATFORM_EVENT_FAULT);
    assert_int_equal(ev.fault_addr, DATA_ADDR + 8);
    assert_int_equal(ev.info.si_signo, SIGSEGV);
    assert_int_equal(ev.info.si_code, SEGV_ACCERR);
    assert_int_equal(arch_regs_ip(&regs), CODE_ADDR);
    assert_int_equal(mf_at(f, f->data_off)[8], 0);
}

/* Runs `code` and expects it to stop at its first instruction with signal `signo`. */
static void expect_signal(struct fixture *f, const uint8_t *code, size_t len, size_t fault_off,
                          int signo, int code_expected)
{
    struct arch_regs regs;
    struct platform_event ev;

    load_code(f, code, len);
    regs_at(f, CODE_ADDR, &regs);
    switch_ok(f, &regs, &ev);
    assert_int_equal(ev.kind, PLATFORM_EVENT_SIGNAL);
    assert_int_equal(ev.info.si_signo, signo);
    assert_int_equal(ev.info.si_code, code_expected);
    assert_int_equal(arch_regs_ip(&regs), CODE_ADDR + fault_off);
}

static void test_exceptions_are_signals(void **state)
{
    struct fixture *f = *state;

    expect_signal(f, code_ud2, sizeof(code_ud2), 0, SIGILL, ILL_ILLOPN);
    /* int3 reports the address after the instruction, as on Linux. */
    expect_signal(f, code_int3, sizeof(code_int3), 1, SIGTRAP, SI_KERNEL);
    expect_signal(f, code_div0, sizeof(code_div0), 2, SIGFPE, FPE_INTDIV);
}

static void test_unmap_code_faults_at_ip(void **state)
{
    struct fixture *f = *state;
    struct arch_regs regs;
    struct platform_event ev;

    load_code(f, code_getpid_exit, sizeof(code_getpid_exit));
    regs_at(f, CODE_ADDR, &regs);
    switch_ok(f, &regs, &ev);
    assert_int_equal(ev.kind, PLATFORM_EVENT_SYSCALL);

    assert_int_equal(platform_as_unmap(f->as, CODE_ADDR, PAGE), 0);
    switch_ok(f, &regs, &ev);
    assert_int_equal(ev.kind, PLATFORM_EVENT_FAULT);
    assert_int_equal(ev.fault_addr, CODE_ADDR + 7);
    assert_int_equal(arch_regs_ip(&regs), CODE_ADDR + 7);
}

struct interrupter {
    struct platform_ctx *ctx;
    pid_t stub_pid;
    struct timespec sent; /* when platform_ctx_interrupt was called */
    atomic_bool returned; /* the switch returned; seq_cst, a test needs no subtlety */
};

/* Interrupts the context after 50 ms; kills the stub if the switch has not returned 5 s later,
 * so a lost interrupt fails the test rather than hanging it. */
static void *interrupt_after_50ms(void *arg)
{
    struct interrupter *in = arg;

    sleep_ms(50);
    clock_gettime(CLOCK_MONOTONIC, &in->sent);
    platform_ctx_interrupt(in->ctx);
    for (int i = 0; i < 500 && !atomic_load(&in->returned); i++)
        sleep_ms(10);
    if (!atomic_load(&in->returned))
        kill(in->stub_pid, SIGKILL);
    return NULL;
}

static bool timespec_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void test_interrupt_stops_spinning_guest(void **state)
{
    struct fixture *f = *state;
    struct arch_regs regs;
    struct platform_event ev;

    load_code(f, code_spin, sizeof(code_spin));
    regs_at(f, CODE_ADDR, &regs);
    for (int round = 0; round < 2; round++) {
        struct interrupter in = {.ctx = f->ctx, .stub_pid = f->stub_pid};
        pthread_t thread;
        struct timespec returned;

        assert_int_equal(pthread_create(&thread, NULL, interrupt_after_50ms, &in), 0);
        memset(&ev, 0, sizeof(ev));
        int err = platform_ctx_switch(f->ctx, &regs, &ev);
        clock_gettime(CLOCK_MONOTONIC, &returned);
        atomic_store(&in.returned, true);
        assert_int_equal(pthread_join(thread, NULL), 0);
        assert_int_equal(err, 0);
        assert_int_equal(ev.kind, PLATFORM_EVENT_INTERRUPTED);
        /* The guest spun until the interrupt, not less. */
        assert_false(timespec_before(&returned, &in.sent));
        assert_int_equal(arch_regs_ip(&regs), CODE_ADDR);
    }
}

/* An interrupt of a stopped context is reported by the next switch, and only by that one: the
 * signal that was queued for the stub must not make a later switch (or a syscall injected for a
 * mapping) report it again. */
static void test_interrupt_before_switch_is_reported_once(void **state)
{
    struct fixture *f = *state;
    struct arch_regs regs;
    struct platform_event ev;

    load_code(f, code_getpid_exit, sizeof(code_getpid_exit));
    for (int round = 0; round < 2; round++) {
        regs_at(f, CODE_ADDR, &regs);
        platform_ctx_interrupt(f->ctx);
        switch_ok(f, &regs, &ev);
        assert_int_equal(ev.kind, PLATFORM_EVENT_INTERRUPTED);
        assert_int_equal(arch_regs_ip(&regs), CODE_ADDR);
        if (round == 1)
            map_data_page(f, PROT_READ);
        switch_ok(f, &regs, &ev);
        assert_int_equal(ev.kind, PLATFORM_EVENT_SYSCALL);
        assert_int_equal(arch_regs_syscall_nr(&regs), SYS_getpid);
    }
}

/* Offsets in the XSAVE area: MXCSR in the legacy FXSAVE region, XSTATE_BV in the header. */
#define FP_MXCSR_OFFSET 24
#define FP_XSTATE_BV_OFFSET 512
#define XFEATURE_MASK_FPSSE 0x3
#define MXCSR_DEFAULT 0x1f80
#define MXCSR_FLAGS 0x3f /* the sticky exception flags; the rest is control */
#define MXCSR_ROUND_TO_ZERO (MXCSR_DEFAULT | 0x6000)

static uint32_t fp_mxcsr(const struct arch_fpstate *fp)
{
    uint32_t mxcsr;
    memcpy(&mxcsr, fp->data + FP_MXCSR_OFFSET, sizeof(mxcsr));
    return mxcsr;
}

static void fp_set_mxcsr(struct arch_fpstate *fp, uint32_t mxcsr)
{
    uint64_t xstate_bv;

    memcpy(fp->data + FP_MXCSR_OFFSET, &mxcsr, sizeof(mxcsr));
    /* The kernel takes MXCSR from the buffer only when XSTATE_BV says SSE (or AVX) state is in
     * use; otherwise it puts the default back, as XRSTOR does for a component in its init state. */
    memcpy(&xstate_bv, fp->data + FP_XSTATE_BV_OFFSET, sizeof(xstate_bv));
    xstate_bv |= XFEATURE_MASK_FPSSE;
    memcpy(fp->data + FP_XSTATE_BV_OFFSET, &xstate_bv, sizeof(xstate_bv));
}

/* Runs stmxcsr in the guest and returns what it stored. */
static uint32_t guest_mxcsr(struct fixture *f)
{
    struct arch_regs regs;
    struct platform_event ev;
    uint32_t stored;

    load_code(f, code_stmxcsr_exit, sizeof(code_stmxcsr_exit));
    regs_at(f, CODE_ADDR, &regs);
    switch_ok(f, &regs, &ev);
    assert_int_equal(ev.kind, PLATFORM_EVENT_SYSCALL);
    assert_int_equal(arch_regs_syscall_nr(&regs), SYS_exit);
    memcpy(&stored, mf_at(f, f->data_off) + 0x10, sizeof(stored));
    assert_int_equal(stored, arch_regs_syscall_arg(&regs, 0));
    return stored;
}

static void test_fpstate_round_trip(void **state)
{
    struct fixture *f = *state;
    static struct arch_fpstate fp;

    map_data_page(f, PROT_READ | PROT_WRITE);
    memset(&fp, 0, sizeof(fp));
    assert_int_equal(platform_ctx_get_fpstate(f->ctx, &fp), 0);
    assert_true(fp.size >= 512);
    assert_true(fp.size <= ARCH_FPSTATE_MAX);
    /* The stub inherits the test process's MXCSR, whose exception flags may be set. */
    assert_int_equal(fp_mxcsr(&fp) & ~MXCSR_FLAGS, MXCSR_DEFAULT);
    assert_int_equal(guest_mxcsr(f), fp_mxcsr(&fp));

    fp_set_mxcsr(&fp, MXCSR_ROUND_TO_ZERO);
    assert_int_equal(platform_ctx_set_fpstate(f->ctx, &fp), 0);
    assert_int_equal(guest_mxcsr(f), MXCSR_ROUND_TO_ZERO);

    memset(&fp, 0, sizeof(fp));
    assert_int_equal(platform_ctx_get_fpstate(f->ctx, &fp), 0);
    assert_int_equal(fp_mxcsr(&fp), MXCSR_ROUND_TO_ZERO);
}

/* execve and signal delivery reset the FPU with arch_fpstate_init: MXCSR must go back to its
 * default even after the guest changed it. */
static void test_fpstate_init_resets_mxcsr(void **state)
{
    struct fixture *f = *state;
    static struct arch_fpstate fp;

    map_data_page(f, PROT_READ | PROT_WRITE);
    assert_int_equal(platform_ctx_get_fpstate(f->ctx, &fp), 0);
    fp_set_mxcsr(&fp, MXCSR_ROUND_TO_ZERO | 0x1);
    assert_int_equal(platform_ctx_set_fpstate(f->ctx, &fp), 0);
    assert_int_equal(guest_mxcsr(f), MXCSR_ROUND_TO_ZERO | 0x1);

    assert_int_equal(platform_ctx_get_fpstate(f->ctx, &fp), 0);
    arch_fpstate_init(&fp);
    assert_int_equal(platform_ctx_set_fpstate(f->ctx, &fp), 0);
    assert_int_equal(guest_mxcsr(f), MXCSR_DEFAULT);
}

#define FIXTURE_TEST(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(test_syscall_is_caught_not_executed),
        FIXTURE_TEST(test_fault_then_map_resumes),
        FIXTURE_TEST(test_write_to_readonly_faults),
        FIXTURE_TEST(test_exceptions_are_signals),
        FIXTURE_TEST(test_unmap_code_faults_at_ip),
        FIXTURE_TEST(test_interrupt_stops_spinning_guest),
        FIXTURE_TEST(test_interrupt_before_switch_is_reported_once),
        FIXTURE_TEST(test_fpstate_round_trip),
        FIXTURE_TEST(test_fpstate_init_resets_mxcsr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
