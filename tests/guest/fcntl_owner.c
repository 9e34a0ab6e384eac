/* File owners and the signals files send them (fcntl(2)): F_SETOWN/F_GETOWN, F_SETOWN_EX,
 * F_SETSIG, and dnotify (F_NOTIFY): events in a watched directory signal the owner, once or
 * (DN_MULTISHOT) every time, with si_fd and si_band for an F_SETSIG signal and a plain SIGIO
 * otherwise; closing any fd of the directory ends its watch. */
#include "guest.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

/* Its own directory: the static and static-PIE builds run at once, natively on the same /tmp. */
static char dir[] = "/tmp/fcntl_owner.XXXXXX";

/* Takes the next pending signal of `set` within ms, printing what came. */
static void expect_signal(const sigset_t *set, int ms, const char *what, int fd)
{
    siginfo_t si;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    int sig = sigtimedwait(set, &si, &ts);
    if (sig < 0) {
        printf("%s: none (%s)\n", what, guest_errno_name(errno));
        return;
    }
    printf("%s: %s code=%d fd_matches=%d band=%#lx\n", what,
           sig == SIGIO          ? "SIGIO"
           : sig == SIGRTMIN + 1 ? "SIGRTMIN+1"
                                 : "other",
           si.si_code, si.si_fd == fd, sig == SIGIO ? 0L : si.si_band);
}

static void touch(const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0, "create %s", path);
    close(fd);
}

static void rm(const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    CHECK(unlink(path) == 0, "unlink %s", path);
}

int main(void)
{
    int p[2];
    CHECK(pipe(p) == 0, "%s", "pipe");
    printf("owner at first: %d\n", fcntl(p[0], F_GETOWN));
    printf("sig at first: %d\n", fcntl(p[0], F_GETSIG));
    EXPECT_RET("F_SETOWN self", fcntl(p[0], F_SETOWN, getpid()), 0);
    printf("owner is self: %d\n", fcntl(p[0], F_GETOWN) == getpid());
    EXPECT_RET("F_SETOWN -pgrp", fcntl(p[0], F_SETOWN, -getpgrp()), 0);
    printf("owner is -pgrp: %d\n", fcntl(p[0], F_GETOWN) == -getpgrp());
    EXPECT_ERRNO("F_SETOWN no such pid", fcntl(p[0], F_SETOWN, 999999), ESRCH);
    struct f_owner_ex ex = {.type = F_OWNER_TID, .pid = (pid_t)syscall(SYS_gettid)};
    EXPECT_RET("F_SETOWN_EX tid", fcntl(p[0], F_SETOWN_EX, &ex), 0);
    memset(&ex, 0, sizeof(ex));
    EXPECT_RET("F_GETOWN_EX", fcntl(p[0], F_GETOWN_EX, &ex), 0);
    printf("owner_ex: type=%d is_tid=%d\n", ex.type, ex.pid == (pid_t)syscall(SYS_gettid));
    ex.type = 7;
    EXPECT_ERRNO("F_SETOWN_EX bad type", fcntl(p[0], F_SETOWN_EX, &ex), EINVAL);
    EXPECT_ERRNO("F_SETOWN_EX bad pointer", fcntl(p[0], F_SETOWN_EX, (void *)8), EFAULT);
    EXPECT_ERRNO("F_SETSIG 65", fcntl(p[0], F_SETSIG, 65), EINVAL);
    EXPECT_RET("F_SETSIG SIGRTMIN", fcntl(p[0], F_SETSIG, SIGRTMIN), 0);
    printf("sig is SIGRTMIN: %d\n", fcntl(p[0], F_GETSIG) == SIGRTMIN);

    /* dnotify */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGIO);
    sigaddset(&set, SIGRTMIN + 1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    CHECK(mkdtemp(dir) != NULL, "%s", "mkdtemp");
    int d = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(d >= 0, "%s", "open dir");
    EXPECT_ERRNO("F_NOTIFY on a pipe", fcntl(p[0], F_NOTIFY, DN_CREATE), ENOTDIR);
    EXPECT_RET("F_NOTIFY DN_MULTISHOT alone", fcntl(d, F_NOTIFY, DN_MULTISHOT), 0);
    EXPECT_RET("F_SETSIG", fcntl(d, F_SETSIG, SIGRTMIN + 1), 0);
    EXPECT_RET("F_NOTIFY DN_CREATE", fcntl(d, F_NOTIFY, DN_CREATE), 0);
    printf("owner set by F_NOTIFY: %d\n", fcntl(d, F_GETOWN) == getpid());
    touch("a");
    expect_signal(&set, 2000, "create a", d);
    touch("b");
    expect_signal(&set, 100, "create b (one-shot: spent)", d);

    EXPECT_RET("F_NOTIFY DN_DELETE|DN_MULTISHOT", fcntl(d, F_NOTIFY, DN_DELETE | DN_MULTISHOT), 0);
    rm("a");
    rm("b");
    expect_signal(&set, 2000, "delete a", d);
    expect_signal(&set, 2000, "delete b", d);
    touch("c");
    expect_signal(&set, 100, "create c (not watched)", d);
    EXPECT_RET("F_NOTIFY 0", fcntl(d, F_NOTIFY, 0), 0);
    rm("c");
    expect_signal(&set, 100, "delete c (watch removed)", d);

    EXPECT_RET("F_SETSIG 0", fcntl(d, F_SETSIG, 0), 0);
    EXPECT_RET("F_NOTIFY DN_MODIFY|DN_ATTRIB|DN_MULTISHOT",
               fcntl(d, F_NOTIFY, DN_MODIFY | DN_ATTRIB | DN_MULTISHOT), 0);
    touch("e");
    char path[128];
    snprintf(path, sizeof(path), "%s/e", dir);
    CHECK(chmod(path, 0600) == 0, "%s", "chmod");
    expect_signal(&set, 2000, "chmod e (plain SIGIO)", d);
    int d2 = dup(d);
    close(d2);
    CHECK(chmod(path, 0644) == 0, "%s", "chmod");
    expect_signal(&set, 100, "chmod e after closing a dup", d);
    rm("e");
    close(d);
    rmdir(dir);
    return guest_ok();
}
