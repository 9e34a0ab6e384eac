/* Signal bookkeeping without delivery: rt_sigaction stores and returns dispositions, masks and
 * flags; rt_sigprocmask edits the mask and silently drops SIGKILL/SIGSTOP; bad arguments EINVAL. */
#include "guest.h"

#include <signal.h>

#define KSIGSET_SIZE 8 /* The kernel's sigset_t: 64 signals. */

/* The kernel's struct sigaction on x86_64 (glibc's has a larger mask and another field order). */
struct ksigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};

static uint64_t bit(int sig)
{
    return 1ULL << (sig - 1);
}

static long ksigaction(int sig, const struct ksigaction *act, struct ksigaction *old)
{
    return syscall(SYS_rt_sigaction, sig, act, old, KSIGSET_SIZE);
}

static long kmask(int how, const uint64_t *set, uint64_t *old)
{
    return syscall(SYS_rt_sigprocmask, how, set, old, KSIGSET_SIZE);
}

static const char *handler_name(void (*h)(int))
{
    return h == SIG_DFL ? "SIG_DFL" : h == SIG_IGN ? "SIG_IGN" : "other";
}

int main(void)
{
    struct ksigaction act = {0}, old = {0};

    /* A disposition is returned exactly as stored, flags and mask included. */
    act.handler = SIG_IGN;
    act.flags = SA_RESTART | SA_NODEFER;
    act.mask = bit(SIGUSR2) | bit(SIGKILL) | bit(SIGRTMIN + 2);
    EXPECT_RET("rt_sigaction(SIGUSR1, SIG_IGN)", ksigaction(SIGUSR1, &act, NULL), 0);
    EXPECT_RET("rt_sigaction(SIGUSR1) query", ksigaction(SIGUSR1, NULL, &old), 0);
    printf("SIGUSR1: %s flags %#lx mask has SIGUSR2 %d SIGKILL %d SIGRTMIN+2 %d\n",
           handler_name(old.handler), old.flags, !!(old.mask & bit(SIGUSR2)),
           !!(old.mask & bit(SIGKILL)), !!(old.mask & bit(SIGRTMIN + 2)));
    CHECK(old.handler == SIG_IGN && old.flags == act.flags, "disposition not kept");

    /* Replacing returns the previous one. */
    act = (struct ksigaction){.handler = SIG_DFL};
    EXPECT_RET("rt_sigaction(SIGUSR1, SIG_DFL) with old", ksigaction(SIGUSR1, &act, &old), 0);
    printf("previous SIGUSR1 handler: %s\n", handler_name(old.handler));
    CHECK(old.handler == SIG_IGN, "previous disposition");
    EXPECT_RET("rt_sigaction(SIGUSR1) query", ksigaction(SIGUSR1, NULL, &old), 0);
    printf("SIGUSR1 now: %s\n", handler_name(old.handler));
    CHECK(old.handler == SIG_DFL, "reset disposition");

    /* libc's view agrees (glibc adds SA_RESTORER itself). */
    struct sigaction sa = {.sa_handler = SIG_IGN}, sa_old;
    EXPECT_RET("sigaction(SIGRTMIN+5, SIG_IGN)", sigaction(SIGRTMIN + 5, &sa, NULL), 0);
    EXPECT_RET("sigaction(SIGRTMIN+5) query", sigaction(SIGRTMIN + 5, NULL, &sa_old), 0);
    printf("SIGRTMIN+5: %s\n", handler_name(sa_old.sa_handler));
    CHECK(sa_old.sa_handler == SIG_IGN, "libc disposition");

    /* SIGKILL and SIGSTOP: can be queried, never changed. */
    EXPECT_RET("rt_sigaction(SIGKILL) query", ksigaction(SIGKILL, NULL, &old), 0);
    EXPECT_ERRNO("rt_sigaction(SIGKILL, SIG_DFL)", ksigaction(SIGKILL, &act, NULL), EINVAL);
    EXPECT_ERRNO("rt_sigaction(SIGSTOP, SIG_DFL)", ksigaction(SIGSTOP, &act, NULL), EINVAL);
    EXPECT_ERRNO("rt_sigaction(0)", ksigaction(0, NULL, &old), EINVAL);
    EXPECT_ERRNO("rt_sigaction(65)", ksigaction(65, NULL, &old), EINVAL);
    EXPECT_ERRNO("rt_sigaction sigsetsize 4", syscall(SYS_rt_sigaction, SIGUSR1, NULL, &old, 4),
                 EINVAL);

    /* The mask: block, query, unblock; SIGKILL and SIGSTOP are dropped without an error. */
    uint64_t set = 0, cur = 0;
    EXPECT_RET("rt_sigprocmask SETMASK empty", kmask(SIG_SETMASK, &set, NULL), 0);
    set = bit(SIGUSR1) | bit(SIGTERM) | bit(SIGKILL) | bit(SIGSTOP) | bit(SIGRTMAX);
    EXPECT_RET("rt_sigprocmask BLOCK", kmask(SIG_BLOCK, &set, NULL), 0);
    EXPECT_RET("rt_sigprocmask query", kmask(SIG_BLOCK, NULL, &cur), 0);
    printf("blocked: SIGUSR1 %d SIGTERM %d SIGKILL %d SIGSTOP %d SIGRTMAX %d SIGINT %d\n",
           !!(cur & bit(SIGUSR1)), !!(cur & bit(SIGTERM)), !!(cur & bit(SIGKILL)),
           !!(cur & bit(SIGSTOP)), !!(cur & bit(SIGRTMAX)), !!(cur & bit(SIGINT)));
    CHECK(cur == (set & ~(bit(SIGKILL) | bit(SIGSTOP))), "mask %#llx", (unsigned long long)cur);
    set = bit(SIGTERM);
    EXPECT_RET("rt_sigprocmask UNBLOCK SIGTERM, old returned", kmask(SIG_UNBLOCK, &set, &cur), 0);
    EXPECT_FACT("old mask still had SIGTERM", cur & bit(SIGTERM));
    EXPECT_RET("rt_sigprocmask query", kmask(SIG_BLOCK, NULL, &cur), 0);
    EXPECT_FACT("SIGTERM unblocked, SIGUSR1 still blocked",
                !(cur & bit(SIGTERM)) && (cur & bit(SIGUSR1)));
    EXPECT_ERRNO("rt_sigprocmask how 99", kmask(99, &set, NULL), EINVAL);
    EXPECT_ERRNO("rt_sigprocmask sigsetsize 4",
                 syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 4), EINVAL);
    set = 0;
    EXPECT_RET("rt_sigprocmask SETMASK empty", kmask(SIG_SETMASK, &set, NULL), 0);
    EXPECT_RET("rt_sigprocmask query", kmask(SIG_BLOCK, NULL, &cur), 0);
    EXPECT_FACT("mask empty", cur == 0);
    return guest_ok();
}
