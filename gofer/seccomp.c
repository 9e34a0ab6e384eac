/* The gofer's seccomp filter: the host syscalls serving 9P makes, and no others. A forbidden call
 * kills the process (SIGSYS), so `runsc do` reports "gofer died" instead of an error going
 * unnoticed. */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>

#include "gofer/gofer.h"

static const int allowed_syscalls[] = {
    /* the socket */
    SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
    /* walking, opening and describing files */
    SCMP_SYS(openat), SCMP_SYS(close), SCMP_SYS(newfstatat), SCMP_SYS(fstatfs),
    SCMP_SYS(readlinkat), SCMP_SYS(getdents64), SCMP_SYS(lseek),
    /* I/O */
    SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
    /* changing files (refused by the server itself with --readonly) */
    SCMP_SYS(fchmodat), SCMP_SYS(fchownat), SCMP_SYS(ftruncate), SCMP_SYS(utimensat),
    SCMP_SYS(mkdirat), SCMP_SYS(symlinkat), SCMP_SYS(mknodat), SCMP_SYS(linkat),
    SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(unlinkat),
    /* memory, errors on stderr, exit */
    SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(brk),
    SCMP_SYS(write), SCMP_SYS(rt_sigreturn), SCMP_SYS(exit), SCMP_SYS(exit_group),
};

#ifdef RUNSC_SANITIZED
/* What the sanitizer runtimes use to report an error (they read /proc/self/maps and symbolize)
 * and to exit: allowed only in sanitizer builds so their reports survive. */
static const int sanitizer_syscalls[] = {
    SCMP_SYS(open),      SCMP_SYS(readlink),      SCMP_SYS(prctl),        SCMP_SYS(getpid),
    SCMP_SYS(getppid),   SCMP_SYS(gettid),        SCMP_SYS(sched_getparam), SCMP_SYS(dup2),
    SCMP_SYS(pipe2),     SCMP_SYS(mincore),       SCMP_SYS(sigaltstack),  SCMP_SYS(rt_sigaction),
    SCMP_SYS(rt_sigprocmask), SCMP_SYS(read),     SCMP_SYS(fstat),        SCMP_SYS(futex),
    SCMP_SYS(sched_yield), SCMP_SYS(tgkill),      SCMP_SYS(kill),         SCMP_SYS(getrlimit),
    SCMP_SYS(prlimit64), SCMP_SYS(clock_gettime), SCMP_SYS(nanosleep),
};
#endif

int gofer_install_seccomp(void)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    int err = -ENOMEM;

    if (!ctx)
        return -ENOMEM;
    for (size_t i = 0; i < sizeof(allowed_syscalls) / sizeof(allowed_syscalls[0]); i++) {
        if ((err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed_syscalls[i], 0)) != 0)
            goto out;
    }
#ifdef RUNSC_SANITIZED
    for (size_t i = 0; i < sizeof(sanitizer_syscalls) / sizeof(sanitizer_syscalls[0]); i++) {
        if ((err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, sanitizer_syscalls[i], 0)) != 0)
            goto out;
    }
#endif
    /* fcntl only to duplicate an fd (fids, donation copies). */
    if ((err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
                                SCMP_A1(SCMP_CMP_EQ, F_DUPFD_CLOEXEC, 0))) != 0)
        goto out;
    err = seccomp_load(ctx);
out:
    seccomp_release(ctx);
    return err;
}
