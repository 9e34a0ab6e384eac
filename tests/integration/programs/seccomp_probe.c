/* Run as a container's init under a Docker-like seccomp profile (oci_seccomp.sh): prints what
 * allowed, unlisted and argument-filtered syscalls return, and the seccomp state it sees. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(const char *what, long ret)
{
    printf("%s: %s\n", what, ret < 0 ? strerrorname_np(errno) : "ok");
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0); /* a KILL action must not lose what was printed */
    show("getpid", syscall(SYS_getpid));
    show("getppid (unlisted)", syscall(SYS_getppid));
    show("getuid (errnoRet 38)", syscall(SYS_getuid));
    long fd = syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
    show("socket(AF_UNIX)", fd);
    show("socket(AF_VSOCK)", syscall(SYS_socket, 40, SOCK_STREAM, 0));
    long pid = syscall(SYS_clone, (unsigned long)SIGCHLD, 0UL, 0UL, 0UL, 0UL);
    if (pid == 0)
        _exit(0);
    show("clone(SIGCHLD)", pid);
    if (pid > 0)
        waitpid((pid_t)pid, NULL, 0);
    show("clone(CLONE_NEWUSER)",
         syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), 0UL, 0UL, 0UL, 0UL));
    printf("PR_GET_SECCOMP: %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "Seccomp", 7) == 0)
            fputs(line, stdout);
    }
    return 0;
}
