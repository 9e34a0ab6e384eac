/* Unit tests for what the host sees of a stub (platform/ptrace/identity.c): its thread's comm
 * and its /proc/PID/cmdline, set by platform_ctx_set_name and platform_as_set_proc_image and
 * given to the host with the stub's next batch or switch (batch.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>

#include "tests/unit/platform/ptrace_fixture.h"

/* Reads /proc/PID/<name> into buf; returns the length. */
static size_t proc_read(pid_t pid, const char *name, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    size_t len = 0;
    ssize_t n;
    while (len < size && (n = read(fd, buf + len, size - len)) > 0)
        len += (size_t)n;
    close(fd);
    return len;
}

/* Gives the host what waits for the next switch, as a switch would. */
static void flush(struct fixture *f)
{
    struct ptrace_ctx *ctx = (struct ptrace_ctx *)f->ctx;

    pthread_mutex_lock(&ctx->as->lock);
    assert_int_equal(ptrace_batch_flush(ctx->as, ctx->thread), 0);
    pthread_mutex_unlock(&ctx->as->lock);
}

static void set_name(struct fixture *f, const char *name)
{
    assert_int_equal(platform_ctx_set_name(f->ctx, name), 0);
    flush(f);
}

static void set_image(struct fixture *f, const struct platform_proc_image *img)
{
    assert_int_equal(platform_as_set_proc_image(f->as, img), 0);
    flush(f);
}

/* A valid image around the fixture's code page, with `cmdline`. */
static struct platform_proc_image image_with(const char *cmdline, size_t len)
{
    struct platform_proc_image img = {
        .start_code = CODE_ADDR,
        .end_code = CODE_ADDR + PAGE,
        .start_data = DATA_ADDR,
        .end_data = DATA_ADDR + PAGE,
        .start_brk = DATA_ADDR + PAGE,
        .brk = DATA_ADDR + PAGE,
        .start_stack = STACK_TOP - 64,
        .cmdline = cmdline,
        .cmdline_len = len,
    };
    return img;
}

static void test_set_name_truncates_to_15_bytes(void **state)
{
    struct fixture *f = *state;
    char buf[64];

    set_name(f, "a-rather-long-guest-name");
    size_t n = proc_read(f->stub_pid, "comm", buf, sizeof(buf));
    assert_int_equal(n, 16);
    assert_memory_equal(buf, "a-rather-long-g\n", 16);
    set_name(f, "sleep");
    n = proc_read(f->stub_pid, "comm", buf, sizeof(buf));
    assert_int_equal(n, 6);
    assert_memory_equal(buf, "sleep\n", 6);
}

static void test_proc_image_gives_cmdline(void **state)
{
    struct fixture *f = *state;
    static const char args[] = "sleep\0"
                               "1000\0"
                               "with space";
    char buf[64];

    struct platform_proc_image img = image_with(args, sizeof(args));
    set_image(f, &img);
    size_t n = proc_read(f->stub_pid, "cmdline", buf, sizeof(buf));
    assert_int_equal(n, sizeof(args));
    assert_memory_equal(buf, args, sizeof(args));
    /* The environment stays empty. */
    assert_int_equal(proc_read(f->stub_pid, "environ", buf, sizeof(buf)), 0);
    /* The stub's guest mappings are untouched: code is still mapped where it was. */
    assert_int_equal(platform_as_map(f->as, DATA_ADDR, PAGE, PROT_READ, f->data_off), 0);
}

static void test_proc_image_ends_in_nul(void **state)
{
    struct fixture *f = *state;
    char buf[32];

    /* Without a final NUL the host would take it for a setproctitle'd area: the platform ends
     * it with one, in place of the last byte. */
    struct platform_proc_image img = image_with("abc\0def", 7);
    set_image(f, &img);
    size_t n = proc_read(f->stub_pid, "cmdline", buf, sizeof(buf));
    assert_int_equal(n, 7);
    assert_memory_equal(buf, "abc\0de\0", 7);
}

static void test_proc_image_is_capped_at_a_page(void **state)
{
    struct fixture *f = *state;
    static char args[6000], buf[8192];

    memset(args, 'x', sizeof(args));
    struct platform_proc_image img = image_with(args, sizeof(args));
    set_image(f, &img);
    size_t n = proc_read(f->stub_pid, "cmdline", buf, sizeof(buf));
    assert_int_equal(n, 4096);
    assert_memory_equal(buf, args, 4095);
    assert_int_equal(buf[4095], '\0');
}

static void test_proc_image_refuses_disordered_layout(void **state)
{
    struct fixture *f = *state;
    char buf[32];

    struct platform_proc_image img = image_with("ok", 3);
    set_image(f, &img);
    img.end_code = img.start_code; /* start_code < end_code is required (kernel/sys.c) */
    img.cmdline = "changed";
    img.cmdline_len = 8;
    /* The refusal comes when the prctl runs, after the call: only host tools' view is at
     * stake, so it goes unreported. The range stays the old one (its bytes are the new
     * copy's: see identity.c). */
    set_image(f, &img);
    size_t n = proc_read(f->stub_pid, "cmdline", buf, sizeof(buf));
    assert_int_equal(n, 3);
}

static void test_image_and_name_ride_on_a_batch(void **state)
{
    struct fixture *f = *state;
    static const char args[] = "batched\0arg";
    char buf[64];
    struct platform_mapping maps[2] = {
        {.addr = DATA_ADDR, .len = PAGE, .prot = PROT_READ, .memfile_offset = f->data_off},
        {.addr = DATA_ADDR + 2 * PAGE, .len = PAGE, .prot = PROT_READ,
         .memfile_offset = f->data_off},
    };
    size_t done;

    struct platform_proc_image img = image_with(args, sizeof(args));
    assert_int_equal(platform_as_set_proc_image(f->as, &img), 0);
    assert_int_equal(platform_ctx_set_name(f->ctx, "batched"), 0);
    /* Not yet: they wait for a stop of the stub. */
    assert_int_not_equal(proc_read(f->stub_pid, "cmdline", buf, sizeof(buf)), sizeof(args));
    uint64_t stops = ((struct ptrace_ctx *)f->ctx)->thread->stops_inject;
    assert_int_equal(platform_as_map_batch(f->as, maps, 2, &done), 0);
    assert_int_equal(done, 2);
    /* One stop made both mappings and both prctls. */
    assert_int_equal(((struct ptrace_ctx *)f->ctx)->thread->stops_inject, stops + 1);
    assert_int_equal(proc_read(f->stub_pid, "cmdline", buf, sizeof(buf)), sizeof(args));
    assert_memory_equal(buf, args, sizeof(args));
    assert_int_equal(proc_read(f->stub_pid, "comm", buf, sizeof(buf)), 8);
    assert_memory_equal(buf, "batched\n", 8);
}

#define FIXTURE_TEST(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(test_set_name_truncates_to_15_bytes),
        FIXTURE_TEST(test_proc_image_gives_cmdline),
        FIXTURE_TEST(test_proc_image_ends_in_nul),
        FIXTURE_TEST(test_proc_image_is_capped_at_a_page),
        FIXTURE_TEST(test_proc_image_refuses_disordered_layout),
        FIXTURE_TEST(test_image_and_name_ride_on_a_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
