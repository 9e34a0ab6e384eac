/* Bad user pointers: every syscall given an unmapped or kernel address fails with EFAULT rather
 * than crashing, and a write whose buffer runs into an unmapped page writes only what Linux does.
 * Expects the harness's stdio: stdin /dev/null, stdout and stderr regular files. */
#include "guest.h"

#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <time.h>

#define BAD ((void *)1)
#define KERNEL_ADDR ((void *)0xffff800000000000UL)

int main(void)
{
    const size_t page = (size_t)guest_page_size();
    struct stat st;

    CHECK(fstat(STDIN_FILENO, &st) == 0 && S_ISCHR(st.st_mode), "stdin must be /dev/null");
    CHECK(fstat(STDERR_FILENO, &st) == 0 && S_ISREG(st.st_mode), "stderr must be a file");

    /* Two pages: the first stays mapped (then read-only), the second is unmapped. */
    char *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED, "mmap: %s", guest_errno_name(errno));
    char *unmapped = p + page;
    CHECK(munmap(unmapped, page) == 0, "munmap: %s", guest_errno_name(errno));

    EXPECT_ERRNO("write from address 1", syscall(SYS_write, STDOUT_FILENO, BAD, 10), EFAULT);
    EXPECT_ERRNO("write from an unmapped page", write(STDOUT_FILENO, unmapped, 10), EFAULT);
    EXPECT_ERRNO("write from a kernel address", syscall(SYS_write, STDOUT_FILENO, KERNEL_ADDR, 10),
                 EFAULT);

    /* Reading /dev/null copies nothing, so only the kernel-address check can fail it. */
    memcpy(unmapped - 10, "0123456789", 10);
    CHECK(mprotect(p, page, PROT_READ) == 0, "mprotect: %s", guest_errno_name(errno));
    EXPECT_RET("read /dev/null into a read-only page", read(STDIN_FILENO, p, 10), 0);
    EXPECT_ERRNO("read /dev/null into a kernel address",
                 syscall(SYS_read, STDIN_FILENO, KERNEL_ADDR, 10), EFAULT);

    struct iovec bad_base = {.iov_base = unmapped, .iov_len = 10};
    EXPECT_ERRNO("readv with a bad iov pointer", syscall(SYS_readv, STDIN_FILENO, BAD, 1), EFAULT);
    EXPECT_ERRNO("writev with a bad iov pointer", syscall(SYS_writev, STDOUT_FILENO, BAD, 1),
                 EFAULT);
    EXPECT_ERRNO("writev with a bad iov_base", writev(STDOUT_FILENO, &bad_base, 1), EFAULT);

    /* Output arguments. Raw syscalls, as above for constant bad pointers (glibc's access
     * attributes reject them at compile time) and because glibc's clock wrappers may answer
     * from the vDSO, where a bad pointer crashes instead of failing. */
    EXPECT_ERRNO("uname", syscall(SYS_uname, BAD), EFAULT);
    EXPECT_ERRNO("clock_gettime", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, BAD), EFAULT);
    EXPECT_ERRNO("clock_gettime into a read-only page",
                 syscall(SYS_clock_gettime, CLOCK_MONOTONIC, p), EFAULT);
    EXPECT_ERRNO("gettimeofday", syscall(SYS_gettimeofday, BAD, NULL), EFAULT);
    EXPECT_ERRNO("time", syscall(SYS_time, BAD), EFAULT);
    EXPECT_ERRNO("getrandom", syscall(SYS_getrandom, BAD, 16, 0), EFAULT);
    EXPECT_ERRNO("getrandom into a read-only page", syscall(SYS_getrandom, p, 16, 0), EFAULT);
    EXPECT_ERRNO("nanosleep request", syscall(SYS_nanosleep, BAD, NULL), EFAULT);
    EXPECT_ERRNO("sysinfo", syscall(SYS_sysinfo, BAD), EFAULT);
    EXPECT_ERRNO("getcwd", syscall(SYS_getcwd, BAD, 4096), EFAULT);
    EXPECT_ERRNO("getrlimit", syscall(SYS_getrlimit, RLIMIT_NOFILE, BAD), EFAULT);
    EXPECT_ERRNO("prlimit64 old", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, BAD), EFAULT);
    EXPECT_ERRNO("sched_getaffinity", syscall(SYS_sched_getaffinity, 0, 128, BAD), EFAULT);
    EXPECT_ERRNO("fstat", syscall(SYS_fstat, STDOUT_FILENO, BAD), EFAULT);
    EXPECT_ERRNO("rt_sigaction new", syscall(SYS_rt_sigaction, SIGUSR1, BAD, NULL, 8), EFAULT);
    EXPECT_ERRNO("rt_sigprocmask new", syscall(SYS_rt_sigprocmask, SIG_BLOCK, BAD, NULL, 8),
                 EFAULT);
    fflush(stdout);

    /* A buffer whose first 10 bytes are mapped and the rest is not: a regular file takes the
     * mapped prefix. The bytes go to stderr, which the harness compares too. */
    ssize_t n = write(STDERR_FILENO, unmapped - 10, 20);
    printf("write crossing into an unmapped page: %zd%s%s\n", n, n < 0 ? " " : "",
           n < 0 ? guest_errno_name(errno) : "");
    CHECK(n == 10, "expected the mapped prefix only");
    n = writev(STDERR_FILENO, &(struct iovec){.iov_base = unmapped - 4, .iov_len = 8}, 1);
    printf("writev crossing into an unmapped page: %zd\n", n);
    CHECK(n == 4, "expected the mapped prefix only");
    fprintf(stderr, "\n");
    return guest_ok();
}
