/* Resource limits as Linux enforces them: RLIMIT_NPROC, _AS, _DATA, _FSIZE, _MEMLOCK,
 * _SIGPENDING, _STACK and _CORE, raising a hard limit, inheritance over fork and exec, and
 * /proc/self/limits. Unprivileged rules run in a child that setuid()s to an otherwise unused uid.
 */
#include "guest.h"

#include <sys/auxv.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* RLIMIT_NPROC counts the processes of a real uid across the whole host natively, and the
 * static and static-PIE builds of this test run at once: each run takes a uid of its own, from
 * the kernel's AT_RANDOM bytes, that nothing else on the machine uses. */
static uid_t nobody_uid(void)
{
    static uid_t uid;
    if (!uid) {
        const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
        uid = 100000 + ((uid_t)r[0] | (uid_t)r[1] << 8 | (uid_t)(r[2] & 0x0f) << 16);
    }
    return uid;
}
#define NOBODY_UID nobody_uid()

static volatile sig_atomic_t got_xfsz;

static void on_xfsz(int sig)
{
    (void)sig;
    got_xfsz++;
}

static void set_limit(int resource, rlim_t soft, rlim_t hard)
{
    struct rlimit r = {soft, hard};
    CHECK(setrlimit(resource, &r) == 0, "setrlimit %d: %s", resource, guest_errno_name(errno));
}

/* Runs fn in a child and prints its exit code; the child's output comes first. */
static void in_child(const char *what, void (*fn)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork: %s", guest_errno_name(errno));
    if (pid == 0) {
        fn();
        fflush(stdout);
        _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    printf("%s: child status %s %d\n", what, WIFEXITED(status) ? "exit" : "signal",
           WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s child failed", what);
}

static void become_nobody(void)
{
    CHECK(setresgid(NOBODY_UID, NOBODY_UID, NOBODY_UID) == 0, "setresgid");
    CHECK(setresuid(NOBODY_UID, NOBODY_UID, NOBODY_UID) == 0, "setresuid");
}

static void unprivileged_hard_limit(void)
{
    set_limit(RLIMIT_NOFILE, 64, 128);
    become_nobody();
    struct rlimit r = {64, 256};
    EXPECT_ERRNO("raise hard NOFILE unprivileged", setrlimit(RLIMIT_NOFILE, &r), EPERM);
    r.rlim_max = 100;
    EXPECT_RET("lower hard NOFILE unprivileged", setrlimit(RLIMIT_NOFILE, &r), 0);
    r.rlim_cur = 100;
    EXPECT_RET("soft up to hard", setrlimit(RLIMIT_NOFILE, &r), 0);
    r.rlim_cur = 101;
    EXPECT_ERRNO("soft above hard", setrlimit(RLIMIT_NOFILE, &r), EINVAL);
    r.rlim_max = 128;
    EXPECT_ERRNO("raise back unprivileged", setrlimit(RLIMIT_NOFILE, &r), EPERM);
}

static void nproc_limited(void)
{
    set_limit(RLIMIT_NPROC, 2, 2);
    become_nobody();
    /* This process counts: one more may be made, then the second fails. */
    pid_t a = fork();
    CHECK(a >= 0, "first fork: %s", guest_errno_name(errno));
    if (a == 0) {
        pause();
        _exit(0);
    }
    errno = 0;
    pid_t b = fork();
    if (b == 0)
        _exit(0);
    printf("second fork: %s\n", b < 0 ? guest_errno_name(errno) : "success");
    CHECK(b < 0 && errno == EAGAIN, "second fork");
    kill(a, SIGKILL);
    waitpid(a, NULL, 0);
    pid_t c = fork();
    if (c == 0)
        _exit(0);
    printf("fork after the first ended: %s\n", c > 0 ? "success" : guest_errno_name(errno));
    CHECK(c > 0, "fork after reaping");
    waitpid(c, NULL, 0);
}

static void nproc_root_exempt(void)
{
    set_limit(RLIMIT_NPROC, 0, 0);
    pid_t a = fork();
    if (a == 0)
        _exit(0);
    printf("root fork with RLIMIT_NPROC 0: %s\n", a > 0 ? "success" : guest_errno_name(errno));
    CHECK(a > 0, "root fork");
    waitpid(a, NULL, 0);
}

static void address_space(void)
{
    set_limit(RLIMIT_AS, 256UL << 20, RLIM_INFINITY);
    void *p = mmap(NULL, 512UL << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap 512M under RLIMIT_AS 256M: %s\n",
           p == MAP_FAILED ? guest_errno_name(errno) : "success");
    CHECK(p == MAP_FAILED && errno == ENOMEM, "mmap");
    p = mmap(NULL, 16UL << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_FACT("mmap 16M under RLIMIT_AS 256M", p != MAP_FAILED);
    void *q = mremap(p, 16UL << 20, 600UL << 20, MREMAP_MAYMOVE);
    printf("mremap to 600M: %s\n", q == MAP_FAILED ? guest_errno_name(errno) : "success");
    CHECK(q == MAP_FAILED && errno == ENOMEM, "mremap");
    void *brk0 = sbrk(0);
    EXPECT_FACT("brk past RLIMIT_AS is refused",
                syscall(SYS_brk, (char *)brk0 + (300UL << 20)) == (long)brk0);
}

static void data_limit(void)
{
    set_limit(RLIMIT_DATA, 64UL << 20, RLIM_INFINITY);
    void *brk0 = sbrk(0);
    EXPECT_FACT("brk +128M under RLIMIT_DATA 64M is refused",
                syscall(SYS_brk, (char *)brk0 + (128UL << 20)) == (long)brk0);
    EXPECT_FACT("brk +1M is fine",
                syscall(SYS_brk, (char *)brk0 + (1UL << 20)) == (long)((char *)brk0 + (1UL << 20)));
    void *p = mmap(NULL, 128UL << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("private writable mmap 128M: %s\n",
           p == MAP_FAILED ? guest_errno_name(errno) : "success");
    CHECK(p == MAP_FAILED && errno == ENOMEM, "private writable");
    p = mmap(NULL, 128UL << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_FACT("read-only mmap 128M is not data", p != MAP_FAILED);
    p = mmap(NULL, 128UL << 20, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    EXPECT_FACT("shared writable mmap 128M is not data", p != MAP_FAILED);
}

/* stdout may be a regular file under the same limit: results are kept and printed after. */
static long fsize_results[12];
static int fsize_errnos[12];

static void file_size(void)
{
    char path[] = "/tmp/rlimits_fsize_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp: %s", guest_errno_name(errno));
    unlink(path);
    signal(SIGXFSZ, on_xfsz);
    fflush(stdout);
    set_limit(RLIMIT_FSIZE, 10, RLIM_INFINITY);
    int n = 0;
#define FSIZE_RECORD(expr) (errno = 0, fsize_results[n] = (long)(expr), fsize_errnos[n++] = errno)
    FSIZE_RECORD(write(fd, "abcdefgh", 8));
    FSIZE_RECORD(write(fd, "ijklmnop", 8));
    FSIZE_RECORD(got_xfsz);
    FSIZE_RECORD(write(fd, "x", 1));
    FSIZE_RECORD(got_xfsz);
    FSIZE_RECORD(pwrite(fd, "x", 1, 20));
    FSIZE_RECORD(pwrite(fd, "XY", 2, 0));
    FSIZE_RECORD(ftruncate(fd, 11));
    FSIZE_RECORD(ftruncate(fd, 5));
    FSIZE_RECORD(fallocate(fd, 0, 0, 100));
    FSIZE_RECORD(got_xfsz);
    struct stat st;
    FSIZE_RECORD(fstat(fd, &st) == 0 ? st.st_size : -1);
#undef FSIZE_RECORD
    set_limit(RLIMIT_FSIZE, RLIM_INFINITY, RLIM_INFINITY);
    static const char *const what[] = {"write 8 under RLIMIT_FSIZE 10",
                                       "write 8 more is cut short",
                                       "SIGXFSZ so far",
                                       "write at the limit",
                                       "SIGXFSZ after it",
                                       "pwrite past the limit",
                                       "pwrite inside",
                                       "ftruncate to 11",
                                       "ftruncate to 5",
                                       "fallocate to 100",
                                       "SIGXFSZ count",
                                       "size"};
    static const long want[] = {8, 2, 0, -EFBIG, 1, -EFBIG, 2, -EFBIG, 0, -EFBIG, 4, 5};
    for (int i = 0; i < n; i++) {
        long got = fsize_results[i] == -1 ? -fsize_errnos[i] : fsize_results[i];
        if (got < 0)
            printf("%s: %s\n", what[i], guest_errno_name((int)-got));
        else
            printf("%s: %ld\n", what[i], got);
        CHECK(got == want[i], "%s", what[i]);
    }
    signal(SIGXFSZ, SIG_DFL);
    close(fd);
}

static void file_size_default_kills(void)
{
    char path[] = "/tmp/rlimits_fsize_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    unlink(path);
    set_limit(RLIMIT_FSIZE, 0, RLIM_INFINITY);
    set_limit(RLIMIT_CORE, 0, 0);
    (void)!write(fd, "x", 1);
    printf("survived SIGXFSZ\n");
}

static void memlock(void)
{
    void *p = mmap(NULL, 64 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED, "mmap");
    set_limit(RLIMIT_MEMLOCK, 16 * 4096, 16 * 4096);
    EXPECT_RET("root mlock 64 pages over the limit", mlock(p, 64 * 4096), 0);
    EXPECT_RET("munlock", munlock(p, 64 * 4096), 0);
    become_nobody();
    EXPECT_RET("mlock 8 pages", mlock(p, 8 * 4096), 0);
    EXPECT_RET("mlock the same 8 again", mlock(p, 8 * 4096), 0);
    EXPECT_ERRNO("mlock 16 more", mlock((char *)p + 8 * 4096, 16 * 4096), ENOMEM);
    EXPECT_RET("mlock 8 more", mlock((char *)p + 8 * 4096, 8 * 4096), 0);
    EXPECT_RET("munlock all 64", munlock(p, 64 * 4096), 0);
    EXPECT_ERRNO("mlockall over the limit", mlockall(MCL_CURRENT), ENOMEM);
    munmap((char *)p + 32 * 4096, 4096);
    EXPECT_ERRNO("mlock over a hole", mlock(p, 64 * 4096), ENOMEM);
    set_limit(RLIMIT_MEMLOCK, 0, 0);
    EXPECT_ERRNO("mlock with RLIMIT_MEMLOCK 0", mlock(p, 4096), EPERM);
    EXPECT_ERRNO("mlockall with RLIMIT_MEMLOCK 0", mlockall(MCL_CURRENT), EPERM);
}

static void sigpending_limit(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    sigaddset(&set, SIGRTMIN + 1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    set_limit(RLIMIT_SIGPENDING, 1, 1);
    become_nobody(); /* the count is per user: root's is the whole host's natively */
    union sigval v = {.sival_int = 7};
    EXPECT_RET("sigqueue SIGRTMIN", sigqueue(getpid(), SIGRTMIN, v), 0);
    EXPECT_ERRNO("sigqueue SIGRTMIN+1 past RLIMIT_SIGPENDING", sigqueue(getpid(), SIGRTMIN + 1, v),
                 EAGAIN);
    EXPECT_RET("kill SIGRTMIN+1 is not limited", kill(getpid(), SIGRTMIN + 1), 0);
    siginfo_t info;
    EXPECT_RET("sigwaitinfo", sigwaitinfo(&set, &info) == SIGRTMIN, 1);
    EXPECT_RET("value", info.si_value.sival_int, 7);
}

/* Recursing through `kb` KiB of stack: survives or dies of SIGSEGV. */
static int touch_stack(long kb)
{
    volatile char frame[1024];
    frame[0] = (char)kb;
    if (kb > 1)
        return touch_stack(kb - 1) + frame[0];
    return frame[0];
}

static void stack_child(rlim_t limit, long kb)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char arg[32];
        snprintf(arg, sizeof(arg), "%ld", kb);
        set_limit(RLIMIT_STACK, limit, RLIM_INFINITY);
        execl("/proc/self/exe", "rlimits_enforced", "stack", arg, (char *)NULL);
        _exit(99);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    printf("stack limit %luK, %ldK deep: %s %d\n", (unsigned long)(limit >> 10), kb,
           WIFEXITED(status) ? "exit" : "signal",
           WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

static void core_bit(rlim_t limit)
{
    char dir[] = "/tmp/rlimits_core_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        CHECK(chdir(dir) == 0, "chdir");
        set_limit(RLIMIT_CORE, limit, limit);
        signal(SIGQUIT, SIG_DFL);
        raise(SIGQUIT);
        _exit(1);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    printf("SIGQUIT with RLIMIT_CORE %s: signal %d, core bit %d\n", limit ? "unlimited" : "0",
           WIFSIGNALED(status) ? WTERMSIG(status) : 0,
           WIFSIGNALED(status) && WCOREDUMP(status) ? 1 : 0);
    char core[64];
    snprintf(core, sizeof(core), "%s/core", dir);
    unlink(core);
    snprintf(core, sizeof(core), "%s/core.%d", dir, pid);
    unlink(core);
    CHECK(rmdir(dir) == 0, "rmdir: %s", guest_errno_name(errno));
}

static void inherited(void)
{
    set_limit(RLIMIT_NOFILE, 77, 99);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit r;
        getrlimit(RLIMIT_NOFILE, &r);
        printf("child NOFILE: %lu %lu\n", (unsigned long)r.rlim_cur, (unsigned long)r.rlim_max);
        fflush(stdout);
        execl("/proc/self/exe", "rlimits_enforced", "show", (char *)NULL);
        _exit(99);
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exec child");
}

static void show_limits(void)
{
    struct rlimit r;
    getrlimit(RLIMIT_NOFILE, &r);
    printf("after exec NOFILE: %lu %lu\n", (unsigned long)r.rlim_cur, (unsigned long)r.rlim_max);
    FILE *f = fopen("/proc/self/limits", "r");
    CHECK(f != NULL, "open limits");
    char line[256];
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "Max open files", 14) == 0 || strncmp(line, "Limit", 5) == 0)
            fputs(line, stdout);
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "stack") == 0) {
        int v = touch_stack(atol(argv[2]));
        return v == 12345 ? 1 : 0;
    }
    if (argc == 2 && strcmp(argv[1], "show") == 0) {
        show_limits();
        return 0;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    in_child("hard limit", unprivileged_hard_limit);
    in_child("nproc", nproc_limited);
    in_child("nproc root", nproc_root_exempt);
    in_child("as", address_space);
    in_child("data", data_limit);
    in_child("fsize", file_size);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        file_size_default_kills();
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("write past RLIMIT_FSIZE 0 with SIGXFSZ default: signal %d\n",
           WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    in_child("memlock", memlock);
    in_child("sigpending", sigpending_limit);
    stack_child(1UL << 20, 512);
    stack_child(1UL << 20, 2048);
    stack_child(64UL << 20, 32768);
    /* The harness runs with a hard RLIMIT_CORE of 0, which only CAP_SYS_RESOURCE may raise (a
     * container's root may lack it): the unlimited case isn't comparable here. */
    core_bit(0);
    in_child("inherited", inherited);
    return guest_ok();
}
