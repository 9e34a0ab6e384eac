/* Who may signal whom (kill(2), "Permissions"): a sender's real or effective uid must match the
 * target's real or saved uid, or the sender needs CAP_KILL; SIGCONT is allowed within a session;
 * signal 0 is checked the same way. Covers kill, a process group (it succeeds if any member
 * could be signalled), tkill/tgkill, rt_sigqueueinfo and pidfd_send_signal. Run as root: the
 * children change their uids, so what is printed is the same natively and in the sandbox. */
#include "guest.h"

#include <linux/capability.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* A child that sits with the given real, effective and saved uids until killed. */
static pid_t spawn_target(uid_t r, uid_t e, uid_t s, int ready[2])
{
    pid_t pid = fork();
    CHECK(pid >= 0, "fork: %s", guest_errno_name(errno));
    if (pid == 0) {
        if (setresuid(r, e, s) != 0)
            _exit(90);
        (void)!write(ready[1], "x", 1);
        for (;;)
            pause();
    }
    char c;
    CHECK(read(ready[0], &c, 1) == 1, "target %d did not start", (int)pid);
    return pid;
}

static void result(const char *what, long r)
{
    printf("%s: %s\n", what, r == 0 ? "ok" : guest_errno_name(errno));
}

/* What a sender with uid 1000 (and CAP_KILL when `cap_kill`) may do to the targets. */
static int sender(pid_t root_target, pid_t same_uid, pid_t saved_1000, pid_t pgrp, bool cap_kill)
{
    if (cap_kill)
        CHECK(prctl(PR_SET_KEEPCAPS, 1) == 0, "keepcaps");
    CHECK(setresuid(1000, 1000, 1000) == 0, "setresuid: %s", guest_errno_name(errno));
    if (cap_kill) {
        struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct d[2] = {{0}};
        d[0].effective = d[0].permitted = 1u << CAP_KILL;
        CHECK(syscall(SYS_capset, &h, d) == 0, "capset: %s", guest_errno_name(errno));
    }
    const char *who = cap_kill ? "uid 1000 with CAP_KILL" : "uid 1000";
    char what[160];
    snprintf(what, sizeof(what), "%s: kill(root, 0)", who);
    result(what, kill(root_target, 0));
    if (!cap_kill) { /* with CAP_KILL it would go through and end the target */
        snprintf(what, sizeof(what), "%s: kill(root, SIGUSR1)", who);
        result(what, kill(root_target, SIGUSR1));
    }
    snprintf(what, sizeof(what), "%s: kill(root, SIGCONT), same session", who);
    result(what, kill(root_target, SIGCONT));
    snprintf(what, sizeof(what), "%s: tgkill(root)", who);
    result(what, syscall(SYS_tgkill, root_target, root_target, 0));
    snprintf(what, sizeof(what), "%s: tkill(root)", who);
    result(what, syscall(SYS_tkill, root_target, 0));
    siginfo_t si = {.si_code = SI_QUEUE};
    snprintf(what, sizeof(what), "%s: rt_sigqueueinfo(root, 0)", who);
    result(what, syscall(SYS_rt_sigqueueinfo, root_target, 0, &si));
    int pidfd = (int)syscall(SYS_pidfd_open, root_target, 0);
    CHECK(pidfd >= 0, "pidfd_open: %s", guest_errno_name(errno));
    snprintf(what, sizeof(what), "%s: pidfd_send_signal(root, 0)", who);
    result(what, syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0));
    close(pidfd);
    snprintf(what, sizeof(what), "%s: kill(uid 1000, 0)", who);
    result(what, kill(same_uid, 0));
    snprintf(what, sizeof(what), "%s: kill(saved uid 1000, 0)", who);
    result(what, kill(saved_1000, 0));
    snprintf(what, sizeof(what), "%s: kill(-pgrp of root and uid 1000, 0)", who);
    result(what, kill(-pgrp, 0));
    snprintf(what, sizeof(what), "%s: kill(nonexistent, 0)", who);
    result(what, kill(999999, 0));
    return 0;
}

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
    (void)sig;
    got_usr1 = 1;
}

/* kill(-1, sig) from uid 54321 (no other process on the host has it): every process the sender
 * may signal but init and the sender itself, so only its sibling of the same uid. */
static void kill_all(void)
{
    int ready[2];
    CHECK(pipe(ready) == 0, "pipe");
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    fflush(stdout);
    pid_t sibling = fork();
    CHECK(sibling >= 0, "fork sibling");
    if (sibling == 0) {
        CHECK(setresuid(54321, 54321, 54321) == 0, "setresuid");
        (void)!write(ready[1], "x", 1);
        int sig = 0;
        sigwait(&usr1, &sig);
        _exit(sig == SIGUSR1 ? 0 : 3); /* the parent prints: one writer, a fixed order */
    }
    char c;
    CHECK(read(ready[0], &c, 1) == 1, "sibling ready");
    pid_t sender = fork();
    CHECK(sender >= 0, "fork sender");
    if (sender == 0) {
        CHECK(setresuid(54321, 54321, 54321) == 0, "setresuid");
        signal(SIGUSR1, on_usr1);
        sigprocmask(SIG_UNBLOCK, &usr1, NULL);
        result("kill(-1, SIGUSR1) as uid 54321", kill(-1, SIGUSR1));
        /* Had it signalled itself, the unblocked handler would have run by now. */
        printf("kill(-1): the sender itself got it: %s\n", got_usr1 ? "yes" : "no");
        fflush(stdout);
        _exit(0);
    }
    int st;
    CHECK(waitpid(sender, &st, 0) == sender && WIFEXITED(st) && WEXITSTATUS(st) == 0, "sender");
    CHECK(waitpid(sibling, &st, 0) == sibling && WIFEXITED(st), "sibling");
    printf("kill(-1): the sibling got %s\n", WEXITSTATUS(st) == 0 ? "SIGUSR1" : "another signal");
    sigprocmask(SIG_UNBLOCK, &usr1, NULL);
}

int main(void)
{
    int ready[2];
    CHECK(pipe(ready) == 0, "pipe");
    CHECK(getuid() == 0, "must run as root");

    pid_t root_target = spawn_target(0, 0, 0, ready);
    pid_t same_uid = spawn_target(1000, 1000, 1000, ready);
    /* Real and effective 2000, saved 1000: the saved uid alone lets uid 1000 in. */
    pid_t saved_1000 = spawn_target(2000, 2000, 1000, ready);
    /* A process group holding a root process and a uid-1000 one. */
    CHECK(setpgid(root_target, root_target) == 0, "setpgid");
    CHECK(setpgid(same_uid, root_target) == 0, "setpgid 2");

    for (int cap = 0; cap < 2; cap++) {
        fflush(stdout);
        pid_t s = fork();
        CHECK(s >= 0, "fork sender");
        if (s == 0) {
            sender(root_target, same_uid, saved_1000, root_target, cap == 1);
            fflush(stdout);
            _exit(0);
        }
        int st;
        CHECK(waitpid(s, &st, 0) == s && WIFEXITED(st) && WEXITSTATUS(st) == 0, "sender status %#x",
              st);
    }

    /* Nothing got through to the targets but probes and SIGCONT: each is still there for
     * SIGKILL. */
    pid_t targets[] = {root_target, same_uid, saved_1000};
    const char *names[] = {"root target", "uid 1000 target", "saved uid 1000 target"};
    for (int i = 0; i < 3; i++) {
        kill(targets[i], SIGKILL);
        int st;
        CHECK(waitpid(targets[i], &st, 0) == targets[i], "reap");
        printf("%s ended by %s\n", names[i],
               WIFSIGNALED(st) ? (WTERMSIG(st) == SIGKILL ? "SIGKILL" : strsignal(WTERMSIG(st)))
                               : "exit");
    }
    kill_all();
    return guest_ok();
}
