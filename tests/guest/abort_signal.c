/* Default signal actions on self-sent signals, as the init of a pid namespace sees them (the
 * harness runs every guest as pid 1): signals it sends itself with the default action are
 * ignored, even SIGKILL (pid_namespaces(7)), so `abort_signal MODE` survives them; abort() still
 * dies, of the SIGSEGV its last resort (a privileged instruction) forces. No handler is ever
 * installed. */
#include "guest.h"

#include <signal.h>

static void set_disposition(int sig, void (*action)(int))
{
    struct sigaction sa = {.sa_handler = action};

    CHECK(sigaction(sig, &sa, NULL) == 0, "sigaction(%d): %s", sig, guest_errno_name(errno));
}

/* Signal state is inherited across exec: start from a known one (empty mask, default action). */
static void reset_signal(int sig)
{
    sigset_t none;

    sigemptyset(&none);
    CHECK(sigprocmask(SIG_SETMASK, &none, NULL) == 0, "sigprocmask: %s", guest_errno_name(errno));
    if (sig != SIGKILL)
        set_disposition(sig, SIG_DFL);
}

static void mask_signal(int how, int sig)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, sig);
    CHECK(sigprocmask(how, &set, NULL) == 0, "sigprocmask: %s", guest_errno_name(errno));
}

static void announce(const char *mode, const char *what)
{
    printf("%s: %s\n", mode, what);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    CHECK(argc == 2, "usage: abort_signal MODE");
    const char *mode = argv[1];
    EXPECT_RET("getpid", getpid(), 1);

    if (strcmp(mode, "abort") == 0) {
        reset_signal(SIGABRT);
        announce(mode, "calling abort()");
        abort();
    } else if (strcmp(mode, "abort-ignored") == 0) {
        /* abort() must kill even when SIGABRT is ignored: glibc restores SIG_DFL and retries. */
        reset_signal(SIGABRT);
        set_disposition(SIGABRT, SIG_IGN);
        announce(mode, "calling abort() with SIGABRT ignored");
        abort();
    } else if (strcmp(mode, "abort-blocked") == 0) {
        reset_signal(SIGABRT);
        mask_signal(SIG_BLOCK, SIGABRT);
        announce(mode, "calling abort() with SIGABRT blocked");
        abort();
    } else if (strcmp(mode, "raise-term") == 0) {
        reset_signal(SIGTERM);
        announce(mode, "raise(SIGTERM)");
        raise(SIGTERM);
    } else if (strcmp(mode, "kill-term") == 0) {
        reset_signal(SIGTERM);
        announce(mode, "kill(getpid(), SIGTERM)");
        kill(getpid(), SIGTERM);
    } else if (strcmp(mode, "raise-kill") == 0) {
        reset_signal(SIGKILL);
        announce(mode, "raise(SIGKILL)");
        raise(SIGKILL);
    } else if (strcmp(mode, "raise-segv") == 0) {
        reset_signal(SIGSEGV);
        announce(mode, "raise(SIGSEGV)");
        raise(SIGSEGV);
    } else if (strcmp(mode, "unblock-term") == 0) {
        /* A pending blocked signal is delivered as soon as the mask lets it through. */
        reset_signal(SIGTERM);
        mask_signal(SIG_BLOCK, SIGTERM);
        EXPECT_RET("raise(SIGTERM) while blocked", raise(SIGTERM), 0);
        announce(mode, "unblocking SIGTERM");
        mask_signal(SIG_UNBLOCK, SIGTERM);
    } else if (strcmp(mode, "raise-chld") == 0) {
        reset_signal(SIGCHLD);
        EXPECT_RET("raise(SIGCHLD), default action ignore", raise(SIGCHLD), 0);
        EXPECT_RET("raise(SIGWINCH), default action ignore", raise(SIGWINCH), 0);
        EXPECT_RET("raise(SIGURG), default action ignore", raise(SIGURG), 0);
        return guest_ok();
    } else if (strcmp(mode, "ignored-int") == 0) {
        reset_signal(SIGINT);
        set_disposition(SIGINT, SIG_IGN);
        EXPECT_RET("raise(SIGINT) with SIG_IGN", raise(SIGINT), 0);
        EXPECT_RET("kill(getpid(), SIGINT) with SIG_IGN", kill(getpid(), SIGINT), 0);
        return guest_ok();
    } else if (strcmp(mode, "blocked-term") == 0) {
        /* Exiting with a blocked signal pending is a normal exit. */
        reset_signal(SIGTERM);
        mask_signal(SIG_BLOCK, SIGTERM);
        EXPECT_RET("raise(SIGTERM) while blocked", raise(SIGTERM), 0);
        EXPECT_RET("kill(getpid(), SIGTERM) while blocked", kill(getpid(), SIGTERM), 0);
        return guest_ok();
    } else if (strcmp(mode, "kill-zero") == 0) {
        EXPECT_RET("kill(getpid(), 0)", kill(getpid(), 0), 0);
        EXPECT_ERRNO("kill(getpid(), 65)", kill(getpid(), 65), EINVAL);
        EXPECT_ERRNO("kill(getpid(), -1)", kill(getpid(), -1), EINVAL);
        EXPECT_ERRNO("tgkill(pid, tid, 65)", syscall(SYS_tgkill, getpid(), gettid(), 65), EINVAL);
        return guest_ok();
    } else {
        CHECK(0, "unknown mode %s", mode);
    }
    announce(mode, "survived: init ignores the default action of signals it sends itself");
    return guest_ok();
}
