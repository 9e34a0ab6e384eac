/* Unit tests for batched mappings on the ptrace platform: a batch larger than the stub's batch
 * page makes every mapping, a failing entry stops the batch where it failed, and guest code can
 * read but never write the batch page. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/syscall.h>

#include "tests/unit/platform/ptrace_fixture.h"

#define REGIONS 300 /* more than one batch page's worth (128 entries) */
#define REGION_BASE 0x10000000UL
#define KNOWN_WORD 0x5566778899aabbccULL

static const uint8_t code_load_rdi_exit[] = {
    0x48, 0x8b, 0x3f,             /* mov (%rdi), %rdi */
    0xb8, 0x3c, 0x00, 0x00, 0x00, /* mov $60, %eax (exit) */
    0x0f, 0x05,                   /* syscall */
};

static const uint8_t code_store_rdi[] = {
    0x48, 0xc7, 0x07, 0x01, 0x00, 0x00, 0x00, /* movq $1, (%rdi) */
};

/* Runs the fixture's code with rdi = addr; returns the event. */
static void run_with_rdi(struct fixture *f, uint64_t addr, struct arch_regs *regs,
                         struct platform_event *ev)
{
    regs_at(f, CODE_ADDR, regs);
    regs->r.rdi = addr;
    switch_ok(f, regs, ev);
}

/* The guest reads the word at `addr` and exits with it: returns what it read. */
static uint64_t guest_load(struct fixture *f, uint64_t addr)
{
    struct arch_regs regs;
    struct platform_event ev;

    load_code(f, code_load_rdi_exit, sizeof(code_load_rdi_exit));
    run_with_rdi(f, addr, &regs, &ev);
    assert_int_equal(ev.kind, PLATFORM_EVENT_SYSCALL);
    assert_int_equal(arch_regs_syscall_nr(&regs), SYS_exit);
    return arch_regs_syscall_arg(&regs, 0);
}

static void test_batch_maps_every_region(void **state)
{
    struct fixture *f = *state;
    static struct platform_mapping maps[REGIONS];
    size_t done = 0;

    for (size_t i = 0; i < REGIONS; i++) {
        uint64_t off;
        assert_int_equal(memfile_alloc(f->mf, PAGE, &off), 0);
        uint64_t value = 0xabc00000 + i;
        memcpy(mf_at(f, off), &value, sizeof(value));
        /* Every other page, so no two mappings merge on the host. */
        maps[i] = (struct platform_mapping){.addr = REGION_BASE + 2 * i * PAGE,
                                            .len = PAGE,
                                            .prot = PROT_READ,
                                            .memfile_offset = off};
    }
    assert_int_equal(platform_as_map_batch(f->as, maps, REGIONS, &done), 0);
    assert_int_equal(done, REGIONS);
    /* The first, both sides of each page boundary of the list, and the last. */
    const size_t probe[] = {0, 1, 127, 128, 255, 256, REGIONS - 1};
    for (size_t k = 0; k < sizeof(probe) / sizeof(probe[0]); k++)
        assert_int_equal(guest_load(f, maps[probe[k]].addr), 0xabc00000 + probe[k]);
    /* Between the regions nothing is mapped. */
    struct arch_regs regs;
    struct platform_event ev;
    run_with_rdi(f, REGION_BASE + PAGE, &regs, &ev);
    assert_int_equal(ev.kind, PLATFORM_EVENT_FAULT);
    assert_int_equal(ev.fault_addr, REGION_BASE + PAGE);
}

static void test_batch_stops_at_failing_entry(void **state)
{
    struct fixture *f = *state;
    uint64_t value = KNOWN_WORD;
    struct platform_mapping maps[4];
    size_t done = 99;

    memcpy(mf_at(f, f->data_off), &value, sizeof(value));
    for (size_t i = 0; i < 4; i++)
        maps[i] = (struct platform_mapping){.addr = REGION_BASE + i * PAGE,
                                            .len = PAGE,
                                            .prot = PROT_READ,
                                            .memfile_offset = f->data_off};
    maps[2].addr += 1; /* not page aligned: mmap fails with EINVAL */
    assert_int_equal(platform_as_map_batch(f->as, maps, 4, &done), -EINVAL);
    assert_int_equal(done, 2);
    assert_int_equal(guest_load(f, maps[1].addr), KNOWN_WORD);
    struct arch_regs regs;
    struct platform_event ev;
    run_with_rdi(f, REGION_BASE + 3 * PAGE, &regs, &ev);
    assert_int_equal(ev.kind, PLATFORM_EVENT_FAULT);
}

static void test_guest_cannot_write_batch_page(void **state)
{
    struct fixture *f = *state;
    struct ptrace_platform *p = (struct ptrace_platform *)f->p;
    struct platform_mapping maps[2];
    size_t done;
    struct arch_regs regs;
    struct platform_event ev;

    /* Use the batch page once, so it holds a list. */
    for (size_t i = 0; i < 2; i++)
        maps[i] = (struct platform_mapping){.addr = REGION_BASE + i * PAGE,
                                            .len = PAGE,
                                            .prot = PROT_READ,
                                            .memfile_offset = f->data_off};
    assert_int_equal(platform_as_map_batch(f->as, maps, 2, &done), 0);
    /* It holds the calls: mmap(REGION_BASE, ...) first. */
    assert_int_equal(guest_load(f, p->batch_addr), SYS_mmap);
    assert_int_equal(guest_load(f, p->batch_addr + 8), REGION_BASE);
    load_code(f, code_store_rdi, sizeof(code_store_rdi));
    run_with_rdi(f, p->batch_addr, &regs, &ev);
    assert_int_equal(ev.kind, PLATFORM_EVENT_FAULT);
    assert_int_equal(ev.fault_addr, p->batch_addr);
    assert_int_equal(ev.info.si_code, SEGV_ACCERR);
    /* Guests never get addresses there. */
    assert_true(platform_max_user_address(f->p) <= p->batch_addr);
}

#define FIXTURE_TEST(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(test_batch_maps_every_region),
        FIXTURE_TEST(test_batch_stops_at_failing_entry),
        FIXTURE_TEST(test_guest_cannot_write_batch_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
