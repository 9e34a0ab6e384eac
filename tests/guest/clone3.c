/* clone3(2): struct sizes (versions 64/80/88, larger with zeros, E2BIG), flag and exit-signal
 * rules, a fork through it with exit_signal, CLONE_CLEAR_SIGHAND, and pthreads (glibc uses clone3 for them). */
#include "guest.h"

#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

static long clone3_raw(struct clone_args *args, size_t size)
{
    return syscall(SYS_clone3, args, size);
}

static void on_usr1(int sig)
{
    (void)sig;
}

static void *thread_main(void *arg)
{
    return (char *)arg + 1;
}

/* Forks with clone3(args of `size` bytes) and reports the child's status. */
static void fork_with(const char *what, struct clone_args *args, size_t size, int child_code)
{
    fflush(stdout);
    long pid = clone3_raw(args, size);
    if (pid == 0)
        _exit(child_code);
    printf("%s: %s\n", what, pid > 0 ? "forked" : guest_errno_name(errno));
    CHECK(pid > 0, "%s", what);
    int status;
    CHECK(waitpid((pid_t)pid, &status, __WALL) == pid, "waitpid");
    EXPECT_RET("  child exit code", WEXITSTATUS(status), child_code);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct {
        struct clone_args args;
        uint64_t extra[4];
    } big;
    memset(&big, 0, sizeof(big));
    big.args.exit_signal = SIGCHLD;

    EXPECT_ERRNO("size 32", clone3_raw(&big.args, 32), EINVAL);
    EXPECT_ERRNO("size 8192", clone3_raw(&big.args, 8192), E2BIG);
    EXPECT_ERRNO("bad pointer", syscall(SYS_clone3, (void *)8, 64), EFAULT);
    fork_with("size 64", &big.args, 64, 3);
    fork_with("size 80", &big.args, 80, 4);
    fork_with("size 88", &big.args, 88, 5);
    fork_with("size 120 with zeros", &big.args, sizeof(big), 6);
    big.extra[1] = 1;
    EXPECT_ERRNO("size 120 with a non-zero tail", clone3_raw(&big.args, sizeof(big)), E2BIG);
    big.extra[1] = 0;

    struct clone_args args;
    memset(&args, 0, sizeof(args));
    args.exit_signal = 300;
    EXPECT_ERRNO("exit_signal 300", clone3_raw(&args, sizeof(args)), EINVAL);
    args.exit_signal = SIGCHLD;
    args.flags = CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
    EXPECT_ERRNO("CLONE_THREAD with exit_signal", clone3_raw(&args, sizeof(args)), EINVAL);
    args.flags = CLONE_SIGHAND | CLONE_VM | CLONE_CLEAR_SIGHAND;
    EXPECT_ERRNO("CLONE_SIGHAND with CLONE_CLEAR_SIGHAND", clone3_raw(&args, sizeof(args)),
                 EINVAL);
    args.flags = 1ULL << 40;
    EXPECT_ERRNO("unknown flag", clone3_raw(&args, sizeof(args)), EINVAL);
    args.flags = 0;
    args.stack_size = 4096;
    EXPECT_ERRNO("stack_size without stack", clone3_raw(&args, sizeof(args)), EINVAL);
    args.stack_size = 0;
    args.set_tid_size = 1;
    EXPECT_ERRNO("set_tid_size without set_tid", clone3_raw(&args, sizeof(args)), EINVAL);
    args.set_tid_size = 0;
    args.flags = CLONE_INTO_CGROUP;
    args.cgroup = (uint64_t)1 << 40;
    EXPECT_ERRNO("CLONE_INTO_CGROUP with a huge fd", clone3_raw(&args, sizeof(args)), EINVAL);
    args.cgroup = 0;
    EXPECT_ERRNO("CLONE_INTO_CGROUP in a v0 struct", clone3_raw(&args, 64), EINVAL);

    /* A child announcing itself with SIGUSR1 instead of SIGCHLD. */
    memset(&args, 0, sizeof(args));
    args.exit_signal = SIGUSR1;
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &old);
    fork_with("exit_signal SIGUSR1", &args, sizeof(args), 7);
    siginfo_t info;
    struct timespec zero = {0, 0};
    EXPECT_RET("SIGUSR1 pending from the child", sigtimedwait(&set, &info, &zero), SIGUSR1);
    EXPECT_RET("  si_code", info.si_code, CLD_EXITED);
    sigprocmask(SIG_SETMASK, &old, NULL);

    /* CLONE_CLEAR_SIGHAND: the handler is gone in the child, SIG_IGN stays. */
    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, SIG_IGN);
    memset(&args, 0, sizeof(args));
    args.flags = CLONE_CLEAR_SIGHAND;
    args.exit_signal = SIGCHLD;
    fflush(stdout);
    long pid = clone3_raw(&args, sizeof(args));
    if (pid == 0) {
        struct sigaction sa;
        sigaction(SIGUSR1, NULL, &sa);
        int usr1_default = sa.sa_handler == SIG_DFL;
        sigaction(SIGUSR2, NULL, &sa);
        int usr2_ignored = sa.sa_handler == SIG_IGN;
        _exit(usr1_default * 2 + usr2_ignored);
    }
    int status;
    CHECK(pid > 0 && waitpid((pid_t)pid, &status, 0) == pid, "clear sighand child");
    EXPECT_RET("CLONE_CLEAR_SIGHAND: default USR1 (2) + ignored USR2 (1)", WEXITSTATUS(status), 3);

    pthread_t th[4];
    static char base[8];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&th[i], NULL, thread_main, base + i) == 0, "pthread_create");
    int ok = 1;
    for (int i = 0; i < 4; i++) {
        void *ret;
        CHECK(pthread_join(th[i], &ret) == 0, "join");
        ok &= ret == base + i + 1;
    }
    EXPECT_FACT("4 pthreads (clone3 in glibc) ran and joined", ok);
    return guest_ok();
}
