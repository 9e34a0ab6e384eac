/* Processes: fork with copy-on-write memory, exit statuses through wait4/waitpid, WNOHANG,
 * ECHILD, getppid, orphans reparented to init, SIGCHLD with its siginfo, SA_NOCLDWAIT,
 * vfork, kill between processes, and process groups. */
#include "guest.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

static int data_var = 11;
static volatile sig_atomic_t chld_count;
static volatile int chld_pid, chld_code, chld_status;

static void on_chld(int sig, siginfo_t *info, void *uc)
{
    (void)sig;
    (void)uc;
    chld_count++;
    chld_pid = info->si_pid;
    chld_code = info->si_code;
    chld_status = info->si_status;
}

static void print_status(const char *what, int status)
{
    if (WIFEXITED(status))
        printf("%s: exited %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("%s: killed by %d%s\n", what, WTERMSIG(status), WCOREDUMP(status) ? " (core)" : "");
    else
        printf("%s: other %#x\n", what, status);
}

static pid_t child_exiting(int code)
{
    pid_t pid = fork();
    CHECK(pid >= 0, "fork: %s", guest_errno_name(errno));
    if (pid == 0)
        _exit(code);
    return pid;
}

int main(void)
{
    int status;

    /* Line-buffered, so no child inherits unflushed output and prints it twice. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* Copy-on-write: each side sees only its own writes to data, heap, stack and mmap memory. */
    int stack_var = 21;
    char *heap = malloc(64);
    strcpy(heap, "parent heap");
    char *anon = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(anon != MAP_FAILED, "mmap");
    strcpy(anon, "parent anon");
    int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(shared != MAP_FAILED, "mmap shared");
    *shared = 1;
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        data_var = 12;
        stack_var = 22;
        strcpy(heap, "child heap");
        strcpy(anon + 4096, "child second page");
        strcpy(anon, "child anon");
        *shared = 2;
        printf("child: ppid %d, data %d, stack %d, heap %s, anon %s\n", getppid(), data_var,
               stack_var, heap, anon);
        fflush(stdout);
        _exit(0);
    }
    EXPECT_RET("waitpid(child)", waitpid(pid, &status, 0), pid);
    print_status("child", status);
    printf("parent: data %d, stack %d, heap %s, anon %s, second page empty %s\n", data_var,
           stack_var, heap, anon, anon[4096] ? "no" : "yes");
    EXPECT_RET("MAP_SHARED memory is shared", *shared, 2);

    /* Exit statuses and signals. */
    pid = child_exiting(42);
    EXPECT_RET("wait4", wait4(pid, &status, 0, NULL), pid);
    print_status("exit 42", status);
    pid = fork();
    if (pid == 0) {
        *(volatile int *)8 = 1;
        _exit(0);
    }
    waitpid(pid, &status, 0);
    print_status("null write", status);
    pid = fork();
    if (pid == 0) {
        pause();
        _exit(0);
    }
    EXPECT_RET("kill(child, SIGTERM)", kill(pid, SIGTERM), 0);
    waitpid(pid, &status, 0);
    print_status("SIGTERM", status);
    pid = fork();
    if (pid == 0) {
        raise(SIGKILL);
        _exit(0);
    }
    waitpid(pid, &status, 0);
    print_status("raise(SIGKILL) in a child", status);

    /* WNOHANG, any child, ECHILD. */
    EXPECT_ERRNO("waitpid with no children", waitpid(-1, &status, 0), ECHILD);
    int pfd[2];
    CHECK(pipe(pfd) == 0, "pipe");
    pid = fork();
    if (pid == 0) {
        char c;
        close(pfd[1]);
        (void)read(pfd[0], &c, 1); /* until the parent closes its end */
        _exit(5);
    }
    close(pfd[0]);
    EXPECT_RET("WNOHANG on a running child", waitpid(pid, &status, WNOHANG), 0);
    close(pfd[1]);
    EXPECT_RET("waitpid(-1)", waitpid(-1, &status, 0), pid);
    print_status("released child", status);
    EXPECT_ERRNO("waitpid(bad pid)", waitpid(99999, &status, 0), ECHILD);
    EXPECT_ERRNO("waitpid(bad options)", waitpid(-1, &status, 0x4000000), EINVAL);

    /* An orphan is reparented to init (us): its getppid becomes 1 and we can reap it. */
    CHECK(pipe(pfd) == 0, "pipe");
    pid = fork();
    if (pid == 0) {
        pid_t grandchild = fork();
        if (grandchild == 0) {
            char c;
            close(pfd[1]);
            (void)read(pfd[0], &c, 1);
            printf("orphan: ppid %d\n", getppid());
            fflush(stdout);
            _exit(9);
        }
        _exit(0);
    }
    waitpid(pid, &status, 0);
    close(pfd[0]);
    close(pfd[1]); /* lets the orphan go on */
    pid_t reaped = waitpid(-1, &status, 0);
    EXPECT_FACT("init reaped the orphan", reaped > pid || reaped > 0);
    print_status("orphan", status);

    /* SIGCHLD reaches a handler with the child's pid and status. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);
    pid = child_exiting(7);
    waitpid(pid, &status, 0);
    EXPECT_RET("SIGCHLD handled", chld_count, 1);
    EXPECT_FACT("si_pid is the child", chld_pid == pid);
    EXPECT_RET("si_code is CLD_EXITED", chld_code, CLD_EXITED);
    EXPECT_RET("si_status is the exit code", chld_status, 7);

    /* SA_NOCLDWAIT: children are reaped by the kernel; wait finds none. */
    sa.sa_flags = SA_NOCLDWAIT;
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);
    pid = child_exiting(1);
    EXPECT_ERRNO("wait after SA_NOCLDWAIT", waitpid(-1, &status, 0), ECHILD);
    signal(SIGCHLD, SIG_DFL);

    /* vfork: the parent goes on after the child exits. */
    pid = vfork();
    if (pid == 0)
        _exit(3);
    EXPECT_RET("vfork child reaped", waitpid(pid, &status, 0), pid);
    print_status("vfork child", status);

    /* Process groups: a child in its own group, signalled through it. */
    EXPECT_RET("getpgrp", getpgrp(), 1);
    EXPECT_RET("getsid", getsid(0), 1);
    CHECK(pipe(pfd) == 0, "pipe");
    pid = fork();
    if (pid == 0) {
        char c;
        close(pfd[1]);
        (void)read(pfd[0], &c, 1);
        _exit(0);
    }
    close(pfd[0]);
    EXPECT_RET("setpgid(child, child)", setpgid(pid, pid), 0);
    EXPECT_FACT("getpgid(child) is the child", getpgid(pid) == pid);
    EXPECT_RET("kill(-pgid, SIGUSR1)", kill(-pid, SIGUSR1), 0);
    waitpid(pid, &status, 0);
    print_status("group member", status);
    close(pfd[1]);
    EXPECT_ERRNO("setsid as a group leader", setsid(), EPERM);
    EXPECT_ERRNO("kill(no such pid)", kill(99999, 0), ESRCH);
    return guest_ok();
}
