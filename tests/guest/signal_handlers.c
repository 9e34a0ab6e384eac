/* Signal handlers: delivery of self-sent signals (init receives the ones it handles), siginfo
 * fields, the mask inside a handler, SA_RESETHAND, SA_NODEFER, sigaltstack, a SIGSEGV handler
 * escaping a fault with siglongjmp, and rt_sigreturn restoring general and vector registers. */
#include "guest.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

static volatile sig_atomic_t hits;
static volatile int last_sig, last_code, last_pid, nested_depth, max_depth, nested_calls;
static volatile int usr2_blocked_inside;
static volatile uintptr_t handler_sp;
static sigjmp_buf escape;
static volatile uintptr_t fault_addr;

static void on_signal(int sig, siginfo_t *info, void *uc)
{
    sigset_t cur;

    hits++;
    last_sig = sig;
    last_code = info->si_code;
    last_pid = info->si_pid;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    usr2_blocked_inside = sigismember(&cur, SIGUSR2);
    handler_sp = (uintptr_t)&cur;
    (void)uc;
}

/* Raises its own signal from inside, at most twice per test: with SA_NODEFER the handler nests
 * three deep; without it each raise waits for the running handler to return. */
static void on_nested(int sig)
{
    nested_depth++;
    nested_calls++;
    if (nested_depth > max_depth)
        max_depth = nested_depth;
    if (nested_calls < 3)
        raise(sig);
    nested_depth--;
}

static void on_segv(int sig, siginfo_t *info, void *uc)
{
    (void)sig;
    (void)uc;
    fault_addr = (uintptr_t)info->si_addr;
    last_code = info->si_code;
    siglongjmp(escape, 1);
}

/* Clobbers the vector registers in the handler: the interrupted code's must survive. */
static void on_clobber(int sig)
{
    (void)sig;
    volatile double junk = 0;
    for (int i = 0; i < 64; i++)
        junk = junk * 1.5 + i;
    __asm__ volatile("pxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\tpxor %%xmm7, %%xmm7" ::
                         : "xmm0", "xmm1", "xmm7");
    hits++;
}

static void install(int sig, void (*fn)(int), void (*act3)(int, siginfo_t *, void *), int flags,
                    int mask_sig)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    if (act3) {
        sa.sa_sigaction = act3;
        flags |= SA_SIGINFO;
    } else {
        sa.sa_handler = fn;
    }
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    if (mask_sig)
        sigaddset(&sa.sa_mask, mask_sig);
    CHECK(sigaction(sig, &sa, NULL) == 0, "sigaction(%d): %s", sig, guest_errno_name(errno));
}

int main(void)
{
    EXPECT_RET("getpid", getpid(), 1);

    /* A handled signal reaches init; siginfo says who sent it; sa_mask applies inside. */
    install(SIGUSR1, NULL, on_signal, 0, SIGUSR2);
    EXPECT_RET("raise(SIGUSR1)", raise(SIGUSR1), 0);
    EXPECT_RET("handler ran", hits, 1);
    EXPECT_RET("signal number", last_sig, SIGUSR1);
    EXPECT_RET("si_code is SI_TKILL", last_code, SI_TKILL);
    EXPECT_RET("SIGUSR2 blocked inside (sa_mask)", usr2_blocked_inside, 1);
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    EXPECT_RET("SIGUSR2 unblocked after return", sigismember(&cur, SIGUSR2), 0);
    EXPECT_RET("kill(1, SIGUSR1)", kill(1, SIGUSR1), 0);
    EXPECT_RET("handler ran again", hits, 2);
    EXPECT_RET("si_code is SI_USER", last_code, SI_USER);
    EXPECT_RET("si_pid is the sender", last_pid, 1);

    /* A blocked signal is delivered when unblocked. */
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, SIGUSR1);
    sigprocmask(SIG_BLOCK, &one, NULL);
    raise(SIGUSR1);
    EXPECT_RET("not delivered while blocked", hits, 2);
    sigset_t pending;
    sigpending(&pending);
    EXPECT_RET("pending while blocked", sigismember(&pending, SIGUSR1), 1);
    sigprocmask(SIG_UNBLOCK, &one, NULL);
    EXPECT_RET("delivered on unblock", hits, 3);

    /* SA_RESETHAND: the second raise meets the default action, which init ignores. */
    install(SIGUSR2, NULL, on_signal, SA_RESETHAND, 0);
    raise(SIGUSR2);
    EXPECT_RET("SA_RESETHAND handler ran once", hits, 4);
    struct sigaction now;
    sigaction(SIGUSR2, NULL, &now);
    EXPECT_FACT("SA_RESETHAND restored SIG_DFL", now.sa_handler == SIG_DFL);

    /* SA_NODEFER lets the handler interrupt itself; without it the signal waits. */
    install(SIGHUP, on_nested, NULL, SA_NODEFER, 0);
    raise(SIGHUP);
    EXPECT_RET("SA_NODEFER nesting depth", max_depth, 3);
    max_depth = nested_calls = 0;
    install(SIGHUP, on_nested, NULL, 0, 0);
    raise(SIGHUP);
    EXPECT_RET("deferred nesting depth", max_depth, 1);
    EXPECT_RET("deferred handler calls", nested_calls, 3);

    /* sigaltstack: an SA_ONSTACK handler runs on the alternate stack. */
    size_t alt_size = 64 * 1024;
    char *alt = mmap(NULL, alt_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(alt != MAP_FAILED, "mmap");
    stack_t ss = {.ss_sp = alt, .ss_size = alt_size, .ss_flags = 0};
    EXPECT_RET("sigaltstack", sigaltstack(&ss, NULL), 0);
    install(SIGUSR1, NULL, on_signal, SA_ONSTACK, 0);
    raise(SIGUSR1);
    EXPECT_FACT("handler ran on the alternate stack",
                handler_sp >= (uintptr_t)alt && handler_sp < (uintptr_t)alt + alt_size);
    install(SIGUSR1, NULL, on_signal, 0, 0);
    raise(SIGUSR1);
    EXPECT_FACT("without SA_ONSTACK it did not",
                !(handler_sp >= (uintptr_t)alt && handler_sp < (uintptr_t)alt + alt_size));
    stack_t old;
    EXPECT_RET("sigaltstack query", sigaltstack(NULL, &old), 0);
    EXPECT_FACT("alternate stack reported", old.ss_sp == alt && old.ss_size == alt_size);
    ss.ss_flags = SS_DISABLE;
    EXPECT_RET("sigaltstack disable", sigaltstack(&ss, NULL), 0);
    ss.ss_flags = 0;
    ss.ss_size = 1024;
    EXPECT_ERRNO("sigaltstack too small", sigaltstack(&ss, NULL), ENOMEM);

    /* A SIGSEGV handler sees the faulting address and escapes with siglongjmp. */
    char *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(page != MAP_FAILED, "mmap");
    install(SIGSEGV, NULL, on_segv, 0, 0);
    if (sigsetjmp(escape, 1) == 0) {
        (void)*(volatile char *)(page + 123);
        CHECK(0, "read of a PROT_NONE page did not fault");
    }
    EXPECT_FACT("si_addr is the faulting address", fault_addr == (uintptr_t)(page + 123));
    EXPECT_RET("si_code is SEGV_ACCERR", last_code, SEGV_ACCERR);
    munmap(page, 4096);
    if (sigsetjmp(escape, 1) == 0) {
        *(volatile char *)(page + 7) = 1;
        CHECK(0, "write to an unmapped page did not fault");
    }
    EXPECT_FACT("si_addr on an unmapped page", fault_addr == (uintptr_t)(page + 7));
    EXPECT_RET("si_code is SEGV_MAPERR", last_code, SEGV_MAPERR);

    /* rt_sigreturn restores the interrupted registers, vector ones included. */
    install(SIGUSR1, on_clobber, NULL, 0, 0);
    double x = 1.25, y = 3.5;
    for (int i = 0; i < 3; i++) {
        raise(SIGUSR1);
        x = x * y + 0.5;
    }
    printf("computation across handlers: %.4f\n", x);
    EXPECT_RET("clobbering handler ran", hits, 9);

    /* sigsuspend: waits with a temporary mask, returns EINTR after the handler, and puts the
     * old mask back. The signal comes from a child while SIGUSR1 is blocked. */
    install(SIGUSR1, NULL, on_signal, 0, 0);
    sigset_t usr1, none;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    EXPECT_ERRNO("sigsuspend", sigsuspend(&none), EINTR);
    EXPECT_RET("handler ran in sigsuspend", hits, 10);
    sigprocmask(SIG_SETMASK, NULL, &cur);
    EXPECT_RET("SIGUSR1 blocked again after sigsuspend", sigismember(&cur, SIGUSR1), 1);
    waitpid(child, NULL, 0);
    return guest_ok();
}
