/* Unit tests for the ptrace platform's stub processes: the seccomp filter that kills a stub
 * making a syscall from guest code, stubs dying with their tracer, and a stub's address space
 * holding nothing but the stub page and the guest's mappings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "stub.h"
#include "tests/unit/platform/ptrace_fixture.h"

static const uint8_t code_getpid[] = {
    0xb8, 0x27, 0x00, 0x00, 0x00, /* mov $39, %eax (getpid) */
    0x0f, 0x05,                   /* syscall */
};

static const uint8_t code_spin[] = {0xeb, 0xfe}; /* 1: jmp 1b */

static void test_seccomp_kills_syscall_from_guest_code(void **state)
{
    struct fixture *f = *state;
    struct ptrace_thread *t = ((struct ptrace_ctx *)f->ctx)->thread;
    struct ptrace_platform *p = (struct ptrace_platform *)f->p;
    uint64_t args[6] = {0};
    struct arch_regs regs;
    int status;

    /* From the stub page's syscall instruction, the filter lets a syscall through. */
    assert_int_equal(ptrace_inject_syscall(p, t, SYS_getpid, args), f->stub_pid);

    /* The same syscall from the guest's code page, with nobody catching it (PTRACE_CONT, not
     * PTRACE_SYSEMU: as if the stub had lost its tracer), must kill the stub. */
    load_code(f, code_getpid, sizeof(code_getpid));
    regs_at(f, CODE_ADDR, &regs);
    assert_int_equal(ptrace(PTRACE_SETREGS, t->tid, 0, &regs.r), 0);
    assert_int_equal(ptrace(PTRACE_CONT, t->tid, 0, 0), 0);
    assert_int_equal(waitpid(t->tid, &status, __WALL), t->tid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSYS);
    t->dead = true;

    struct platform_event ev;
    regs_at(f, CODE_ADDR, &regs);
    assert_int_equal(platform_ctx_switch(f->ctx, &regs, &ev), -ESRCH);
}

/* A line of /proc/PID/maps. */
struct maps_line {
    uint64_t start, end, offset, inode;
    char perms[8];
    char path[256];
};

/* Reads /proc/PID/maps but for the kernel's [vsyscall] page, the only mapping nobody made.
 * Returns the number of lines and stores the first `max`. */
static int maps_read(pid_t pid, struct maps_line *lines, int max)
{
    char name[64], buf[512];
    int n = 0;

    snprintf(name, sizeof(name), "/proc/%d/maps", pid);
    FILE *fp = fopen(name, "r");
    assert_non_null(fp);
    while (fgets(buf, sizeof(buf), fp)) {
        struct maps_line l = {0};
        int path_at = 0;
        assert_true(sscanf(buf, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*x:%*x %" SCNu64 " %n",
                           &l.start, &l.end, l.perms, &l.offset, &l.inode, &path_at) >= 5);
        snprintf(l.path, sizeof(l.path), "%s", buf + path_at);
        l.path[strcspn(l.path, "\n")] = '\0';
        if (strcmp(l.path, "[vsyscall]") == 0)
            continue;
        if (n < max)
            lines[n] = l;
        n++;
    }
    fclose(fp);
    return n;
}

static void expect_memfile_line(const struct maps_line *l, uint64_t addr, const char *perms,
                                uint64_t off)
{
    assert_int_equal(l->start, addr);
    assert_int_equal(l->end, addr + PAGE);
    assert_string_equal(l->perms, perms);
    assert_int_equal(l->offset, off);
    assert_non_null(strstr(l->path, "memfd:"));
}

static void test_stub_maps_only_stub_page_and_guest(void **state)
{
    struct fixture *f = *state;
    uint64_t stub_base = ((struct ptrace_platform *)f->p)->stub_base;
    struct maps_line lines[16];

    /* Guests end below the stubs' private pages, which lie just below the stub page: the batch
     * page (read-only, shared from the batch file at the stub's pid's page), then the scratch
     * pages (anonymous). */
    struct ptrace_platform *p = (struct ptrace_platform *)f->p;
    assert_int_equal(p->batch_addr, stub_base - PTRACE_SCRATCH_SIZE - PTRACE_BATCH_PAGE);
    assert_int_equal(platform_max_user_address(f->p), p->batch_addr);
    map_data_page(f, PROT_READ | PROT_WRITE);
    assert_int_equal(maps_read(f->stub_pid, lines, 16), 5);
    expect_memfile_line(&lines[0], CODE_ADDR, "r-xs", f->code_off);
    expect_memfile_line(&lines[1], DATA_ADDR, "rw-s", f->data_off);
    assert_int_equal(lines[2].start, p->batch_addr);
    assert_int_equal(lines[2].end, p->batch_addr + PTRACE_BATCH_PAGE);
    assert_string_equal(lines[2].perms, "r--s");
    assert_int_equal(lines[2].offset, (uint64_t)f->stub_pid * PTRACE_BATCH_PAGE);
    assert_non_null(strstr(lines[2].path, "runsc-stub-batch"));
    assert_int_equal(lines[3].start, p->scratch_addr);
    assert_int_equal(lines[3].end, stub_base);
    assert_string_equal(lines[3].perms, "rw-p");
    assert_int_equal(lines[4].start, stub_base);
    assert_int_equal(lines[4].end, stub_base + PAGE);
    assert_string_equal(lines[4].perms, "r-xp");
    assert_int_equal(lines[4].inode, 0);
    assert_string_equal(lines[4].path, "");
    /* And the page holds the stub code. */
    static uint8_t page[PAGE];
    char name[64];
    snprintf(name, sizeof(name), "/proc/%d/mem", f->stub_pid);
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, page, PAGE, (off_t)stub_base), PAGE);
    close(fd);
    assert_memory_equal(page, arch_stub_code_start, PAGE);

    /* Unmapping is mirrored too. */
    assert_int_equal(platform_as_unmap(f->as, CODE_ADDR, PAGE), 0);
    assert_int_equal(maps_read(f->stub_pid, lines, 16), 4);
    expect_memfile_line(&lines[0], DATA_ADDR, "rw-s", f->data_off);
    assert_int_equal(lines[3].start, stub_base);
}

/* A number field of /proc/PID/status ("PPid", "TracerPid"), or -1. */
static long status_field(pid_t pid, const char *field)
{
    char name[64], buf[256];
    long value = -1;
    size_t len = strlen(field);

    snprintf(name, sizeof(name), "/proc/%d/status", pid);
    FILE *fp = fopen(name, "r");
    if (!fp)
        return -1;
    while (fgets(buf, sizeof(buf), fp)) {
        if (strncmp(buf, field, len) == 0 && buf[len] == ':')
            value = strtol(buf + len + 1, NULL, 10);
    }
    fclose(fp);
    return value;
}

static void test_stubs_come_from_template_and_outlive_its_loss(void **state)
{
    struct fixture *f = *state;

    /* The stub's parent is the template, the factory's child, which nobody traces. */
    pid_t template = (pid_t)status_field(f->stub_pid, "PPid");
    assert_true(template > 0);
    assert_int_not_equal(template, f->factory_pid);
    assert_int_equal(status_field(template, "PPid"), f->factory_pid);
    assert_int_equal(status_field(template, "TracerPid"), 0);

    /* Without it (its ready stubs die with it), address spaces still come: the factory forks
     * them itself. */
    assert_int_equal(kill(template, SIGKILL), 0);
    assert_true(pid_gone(template));
    for (int i = 0; i < 5; i++) {
        struct platform_as *as;
        assert_int_equal(platform_as_create(f->p, &as), 0);
        assert_int_equal(platform_as_map(as, CODE_ADDR, PAGE, PROT_READ, f->code_off), 0);
        pid_t stub = ((struct ptrace_as *)as)->pid;
        assert_int_equal(status_field(stub, "PPid"), f->factory_pid);
        platform_as_release(as);
        assert_true(pid_gone(stub));
    }
}

/* The state letter in /proc/PID/stat ('R' running, 't' traced and stopped, ...), or 0. */
static char proc_state(pid_t pid)
{
    char name[64], buf[512];
    char state = 0;

    snprintf(name, sizeof(name), "/proc/%d/stat", pid);
    FILE *fp = fopen(name, "r");
    if (!fp)
        return 0;
    if (fgets(buf, sizeof(buf), fp)) {
        char *paren = strrchr(buf, ')');
        if (paren && paren[1] == ' ')
            state = paren[2];
    }
    fclose(fp);
    return state;
}

/* Polls up to 2 s for `pid` to be running (the guest spins), not stopped. */
static bool wait_running(pid_t pid)
{
    for (int i = 0; i < 200; i++) {
        if (proc_state(pid) == 'R')
            return true;
        sleep_ms(10);
    }
    return false;
}

/* Like pid_gone, but reaps whatever this process adopted as a subreaper meanwhile. */
static bool pid_gone_reaping(pid_t pid)
{
    for (int i = 0; i < 200; i++) {
        while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
            ;
        if (kill(pid, 0) != 0 && errno == ESRCH)
            return true;
        sleep_ms(10);
    }
    return false;
}

/* What a tracer child reports to the test: its stub and its stub factory. */
struct child_report {
    pid_t stub_pid;
    pid_t factory_pid;
};

/* In a child: a platform with one address space whose guest spins at CODE_ADDR. Exits on
 * failure, with the step as the status. */
static void child_start(struct fixture *f)
{
    if (memfile_create(64 << 20, &f->mf) != 0 || memfile_alloc(f->mf, PAGE, &f->code_off) != 0)
        _exit(10);
    memcpy(mf_at(f, f->code_off), code_spin, sizeof(code_spin));
    struct platform_config cfg = {.memfile_fd = memfile_fd(f->mf)};
    if (platform_create("ptrace", &cfg, &f->p) != 0)
        _exit(11);
    f->factory_pid = ((struct ptrace_platform *)f->p)->factory_pid;
}

static void child_start_as(struct fixture *f)
{
    if (platform_as_create(f->p, &f->as) != 0 || platform_ctx_create(f->as, &f->ctx) != 0)
        _exit(12);
    if (platform_as_map(f->as, CODE_ADDR, PAGE, PROT_READ | PROT_EXEC, f->code_off) != 0)
        _exit(13);
    f->stub_pid = platform_ctx_host_tid(f->ctx);
}

static void child_report(int fd, const struct fixture *f)
{
    struct child_report r = {.stub_pid = f->stub_pid, .factory_pid = f->factory_pid};
    if (write(fd, &r, sizeof(r)) != sizeof(r))
        _exit(14);
}

/* Reads a child's report; fails the test with the child's status if it has none. */
static void parent_read_report(int fd, pid_t child, struct child_report *r)
{
    if (read(fd, r, sizeof(*r)) == sizeof(*r))
        return;
    int status = 0;
    waitpid(child, &status, 0);
    fail_msg("tracer child failed: status %#x", status);
}

/* The whole tracer process dies while its guest spins: the stub and the factory go with it. */
static void test_stub_dies_with_tracer_process(void **state)
{
    int pipefd[2];
    struct child_report r;

    /* The factory and the stub outlive the child briefly: adopt them so they can be reaped. */
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    assert_int_equal(pipe(pipefd), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct fixture f = {0};
        struct arch_regs regs;
        struct platform_event ev;

        close(pipefd[0]);
        child_start(&f);
        child_start_as(&f);
        child_report(pipefd[1], &f);
        regs_at(&f, CODE_ADDR, &regs);
        platform_ctx_switch(f.ctx, &regs, &ev);
        _exit(15); /* not reached: the guest spins until the parent kills us */
    }
    close(pipefd[1]);
    parent_read_report(pipefd[0], child, &r);
    close(pipefd[0]);
    assert_true(wait_running(r.stub_pid));

    assert_int_equal(kill(child, SIGKILL), 0);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status));
    assert_true(pid_gone_reaping(r.stub_pid));
    assert_true(pid_gone_reaping(r.factory_pid));
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
}

/* In the child: seizes a stub from a thread of its own, starts the guest spinning and exits the
 * thread, leaving the stub without its tracer. */
static void *tracer_thread_main(void *arg)
{
    struct fixture *f = arg;
    struct arch_regs regs;

    child_start_as(f);
    regs_at(f, CODE_ADDR, &regs);
    if (ptrace(PTRACE_SETREGS, f->stub_pid, 0, &regs.r) != 0 ||
        ptrace(PTRACE_SYSEMU, f->stub_pid, 0, 0) != 0)
        _exit(16);
    if (!wait_running(f->stub_pid))
        _exit(17);
    return NULL;
}

/* Only the tracer thread exits, while the stub's parent (the factory) and the factory's parent
 * thread live on: what kills the stub is PTRACE_O_EXITKILL, not a parent-death signal. */
static void test_stub_dies_with_tracer_thread(void **state)
{
    int pipefd[2];
    struct child_report r;

    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    assert_int_equal(pipe(pipefd), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct fixture f = {0};
        pthread_t thread;

        close(pipefd[0]);
        child_start(&f);
        if (pthread_create(&thread, NULL, tracer_thread_main, &f) != 0 ||
            pthread_join(thread, NULL) != 0)
            _exit(18);
        child_report(pipefd[1], &f);
        for (;;)
            pause();
    }
    close(pipefd[1]);
    parent_read_report(pipefd[0], child, &r);
    close(pipefd[0]);

    assert_true(pid_gone_reaping(r.stub_pid));
    assert_int_equal(kill(r.factory_pid, 0), 0);
    assert_int_not_equal(proc_state(r.factory_pid), 'Z');

    assert_int_equal(kill(child, SIGKILL), 0);
    assert_int_equal(waitpid(child, NULL, 0), child);
    assert_true(pid_gone_reaping(r.factory_pid));
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
}

#define FIXTURE_TEST(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(test_stubs_come_from_template_and_outlive_its_loss),
        FIXTURE_TEST(test_seccomp_kills_syscall_from_guest_code),
        FIXTURE_TEST(test_stub_maps_only_stub_page_and_guest),
        cmocka_unit_test(test_stub_dies_with_tracer_process),
        cmocka_unit_test(test_stub_dies_with_tracer_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
