/* The sentry's own seccomp filter: the host syscalls the sandbox process itself makes, and no
 * others. Guest syscalls never reach the host (PTRACE_SYSEMU), so this list is the sentry's whole
 * host attack surface. A forbidden call raises SIGSYS, which names the syscall and exits. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "boot/boot.h"

static const int allowed_syscalls[] = {
    /* memory */
    SCMP_SYS(mmap),
    SCMP_SYS(munmap),
    SCMP_SYS(mprotect),
    SCMP_SYS(mremap),
    SCMP_SYS(madvise),
    SCMP_SYS(brk),
    SCMP_SYS(fallocate),
    /* I/O on fds the sandbox was given (stdio, the executable, the log) */
    SCMP_SYS(read),
    SCMP_SYS(write),
    SCMP_SYS(readv),
    SCMP_SYS(writev),
    SCMP_SYS(pread64),
    SCMP_SYS(pwrite64),
    SCMP_SYS(close),
    SCMP_SYS(fstat),
    SCMP_SYS(newfstatat),
    SCMP_SYS(lseek),
    SCMP_SYS(poll),
    SCMP_SYS(ppoll),
    SCMP_SYS(fsync),
    SCMP_SYS(fdatasync),
    /* the gofer connection: 9P messages, and host fds donated with them */
    SCMP_SYS(sendmsg),
    SCMP_SYS(recvmsg),
    SCMP_SYS(sendto),
    SCMP_SYS(recvfrom),
    SCMP_SYS(shutdown),
    /* the control socket: connections from the CLI on the listening socket it bound */
    SCMP_SYS(accept4),
    /* the wake-up pipe of each terminal bridge, made when an exec -t or a pod member brings
     * a terminal (an anonymous pipe: no name, nothing of the host's reached) */
    SCMP_SYS(pipe2),
    /* threads, synchronization, signals */
    SCMP_SYS(futex),
    SCMP_SYS(set_robust_list),
    SCMP_SYS(rseq),
    SCMP_SYS(gettid),
    SCMP_SYS(getpid),
    SCMP_SYS(tgkill),
    SCMP_SYS(kill),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(rt_sigaction),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigtimedwait),
    SCMP_SYS(sigaltstack),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
    SCMP_SYS(restart_syscall),
    SCMP_SYS(sched_yield),
    SCMP_SYS(sched_getaffinity),
    SCMP_SYS(sched_setaffinity),
    SCMP_SYS(getcpu),
    SCMP_SYS(membarrier),
    /* the ptrace platform */
    SCMP_SYS(ptrace),
    SCMP_SYS(wait4),
    SCMP_SYS(waitid),
    /* time and randomness for the guest */
    SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_getres),
    SCMP_SYS(gettimeofday),
    SCMP_SYS(time),
    SCMP_SYS(nanosleep),
    SCMP_SYS(clock_nanosleep),
    SCMP_SYS(getrandom),
    SCMP_SYS(sysinfo),
    SCMP_SYS(prlimit64),
    SCMP_SYS(getrlimit),
    SCMP_SYS(uname),
};

#ifdef RUNSC_SANITIZED
/* What the sanitizer runtimes use to report an error (they read /proc/self/maps and symbolize):
 * allowed only in sanitizer builds so their reports survive. */
static const int sanitizer_syscalls[] = {
    SCMP_SYS(open),  SCMP_SYS(openat),  SCMP_SYS(readlink),       SCMP_SYS(readlinkat),
    SCMP_SYS(prctl), SCMP_SYS(getppid), SCMP_SYS(sched_getparam), SCMP_SYS(getdents64),
    SCMP_SYS(dup2),  SCMP_SYS(mincore),
};
#endif

/* The terminal requests the sentry makes on donated host ttys for the guest. */
static const unsigned long allowed_ioctls[] = {TCGETS,  TCSETS,     TCSETSW,
                                               TCSETSF, TIOCGWINSZ, TIOCSWINSZ};

static void sigsys_handler(int sig, siginfo_t *info, void *ctx)
{
    char msg[96];
    int n = snprintf(msg, sizeof(msg), "runsc: sandbox made a forbidden host syscall %d\n",
                     info->si_syscall);
    if (write(STDERR_FILENO, msg, (size_t)n) < 0) {
        /* Nothing more to do: we are on our way out. */
    }
    _exit(128 + SIGSYS);
}

int boot_install_sentry_seccomp(void)
{
    struct sigaction sa = {.sa_sigaction = sigsys_handler, .sa_flags = SA_SIGINFO};
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
    int err = -ENOMEM;

    if (!ctx)
        return -ENOMEM;
    sigaction(SIGSYS, &sa, NULL);
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
    for (size_t i = 0; i < sizeof(allowed_ioctls) / sizeof(allowed_ioctls[0]); i++) {
        if ((err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                                    SCMP_A1(SCMP_CMP_EQ, allowed_ioctls[i], 0))) != 0)
            goto out;
    }
    if ((err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
                                SCMP_A1(SCMP_CMP_EQ, F_GETFL, 0))) != 0)
        goto out;
    /* A gofer connection made under the filter (a container's tree, boot_build_container_fs:
     * pod members' too) checks its socket's type first. */
    if ((err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(getsockopt), 2,
                                SCMP_A1(SCMP_CMP_EQ, SOL_SOCKET, 0),
                                SCMP_A2(SCMP_CMP_EQ, SO_TYPE, 0))) != 0)
        goto out;
    /* A console donated over the control socket becomes three stdio fds. */
    if ((err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
                                SCMP_A1(SCMP_CMP_EQ, F_DUPFD_CLOEXEC, 0))) != 0)
        goto out;
    /* Threads only: the sentry never forks (stubs come from the factory). glibc tries clone3
     * first and falls back to clone on ENOSYS; clone3's flags are behind a pointer. */
    if ((err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                                SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD))) != 0)
        goto out;
    if ((err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) != 0)
        goto out;
        /* glibc itself sometimes looks for a file (malloc reads /proc/sys/vm/overcommit_memory when
         * it trims a thread arena): answer as the empty root would, without opening anything. */
#ifndef RUNSC_SANITIZED
    if ((err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOENT), SCMP_SYS(openat), 0)) != 0 ||
        (err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOENT), SCMP_SYS(open), 0)) != 0)
        goto out;
    /* So does the host fd's /proc/PID/fd name (host_name reads the host's /proc/self/fd/N,
     * which the empty root doesn't have): it falls back to "host:[ino]". */
    if ((err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOENT), SCMP_SYS(readlink), 0)) != 0)
        goto out;
#endif
    err = seccomp_load(ctx);
out:
    seccomp_release(ctx);
    return err;
}
