/* Helpers for the seccomp guest programs: one-syscall filters and running a check in a child
 * whose end (exit code or signal) is printed. Include after guest.h. */
#ifndef SECCOMP_GUEST_H
#define SECCOMP_GUEST_H

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static inline long seccomp_call(unsigned op, unsigned flags, void *args)
{
    return syscall(SYS_seccomp, op, flags, args);
}

/* A filter: `ret` for syscall `nr`, ALLOW for the rest (KILL_PROCESS for another arch). */
static inline long install_one(unsigned flags, int nr, uint32_t ret)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, ret),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof(f) / sizeof(f[0]), f};
    return seccomp_call(SECCOMP_SET_MODE_FILTER, flags, &prog);
}

/* Runs fn in a child and prints how it ended: "name: exit N" or "name: signal N". */
static inline void run_child(const char *name, void (*fn)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork: %s", guest_errno_name(errno));
    if (pid == 0) {
        fn();
        fflush(stdout);
        _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", guest_errno_name(errno));
    if (WIFSIGNALED(status))
        printf("%s: signal %d\n", name, WTERMSIG(status));
    else
        printf("%s: exit %d\n", name, WEXITSTATUS(status));
}

/* A line of /proc/self/status that starts with `key` (e.g. "Seccomp:"), printed as it is. */
static inline void print_status_line(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];

    CHECK(f != NULL, "open /proc/self/status: %s", guest_errno_name(errno));
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, strlen(key)) == 0 && line[strlen(key)] == '\t')
            fputs(line, stdout);
    }
    fclose(f);
}

#endif
