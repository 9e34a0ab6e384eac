/* prctl(2) options (name, parent-death signal, dumpable, no_new_privs, capability bounding set,
 * child subreaper, keepcaps, timer slack, seccomp, tid address) and the sched_* calls, getcpu
 * and membarrier, with their errno rules. */
#include "guest.h"

#include <linux/membarrier.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static void check_prctl(void)
{
    char name[32];
    EXPECT_RET("PR_SET_NAME", prctl(PR_SET_NAME, "a-very-long-thread-name"), 0);
    EXPECT_RET("PR_GET_NAME", prctl(PR_GET_NAME, name), 0);
    printf("name: %s\n", name);
    FILE *f = fopen("/proc/self/comm", "r");
    CHECK(f && fgets(name, sizeof(name), f), "comm");
    fclose(f);
    printf("/proc/self/comm: %s", name);
    int sig = -1;
    EXPECT_RET("PR_SET_PDEATHSIG", prctl(PR_SET_PDEATHSIG, SIGUSR1), 0);
    EXPECT_RET("PR_GET_PDEATHSIG", prctl(PR_GET_PDEATHSIG, &sig), 0);
    EXPECT_RET("pdeathsig", sig, SIGUSR1);
    EXPECT_ERRNO("PR_SET_PDEATHSIG 65", prctl(PR_SET_PDEATHSIG, 65), EINVAL);
    EXPECT_RET("PR_SET_PDEATHSIG 0", prctl(PR_SET_PDEATHSIG, 0), 0);
    EXPECT_RET("PR_GET_DUMPABLE", prctl(PR_GET_DUMPABLE), 1);
    EXPECT_RET("PR_SET_DUMPABLE 0", prctl(PR_SET_DUMPABLE, 0), 0);
    EXPECT_RET("PR_GET_DUMPABLE after", prctl(PR_GET_DUMPABLE), 0);
    EXPECT_ERRNO("PR_SET_DUMPABLE 2", prctl(PR_SET_DUMPABLE, 2), EINVAL);
    EXPECT_RET("PR_SET_DUMPABLE 1", prctl(PR_SET_DUMPABLE, 1), 0);
    EXPECT_RET("PR_GET_NO_NEW_PRIVS", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0);
    EXPECT_ERRNO("PR_SET_NO_NEW_PRIVS 2", prctl(PR_SET_NO_NEW_PRIVS, 2, 0, 0, 0), EINVAL);
    EXPECT_RET("PR_SET_NO_NEW_PRIVS", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
    EXPECT_RET("PR_GET_NO_NEW_PRIVS after", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1);
    EXPECT_ERRNO("PR_CAPBSET_READ 200", prctl(PR_CAPBSET_READ, 200), EINVAL);
    EXPECT_RET("PR_GET_KEEPCAPS", prctl(PR_GET_KEEPCAPS), 0);
    EXPECT_RET("PR_SET_KEEPCAPS 1", prctl(PR_SET_KEEPCAPS, 1), 0);
    EXPECT_RET("PR_GET_KEEPCAPS after", prctl(PR_GET_KEEPCAPS), 1);
    EXPECT_ERRNO("PR_SET_KEEPCAPS 2", prctl(PR_SET_KEEPCAPS, 2), EINVAL);
    EXPECT_RET("PR_GET_SECCOMP", prctl(PR_GET_SECCOMP), 0);
    EXPECT_RET("PR_SET_TIMERSLACK", prctl(PR_SET_TIMERSLACK, 12345), 0);
    EXPECT_RET("PR_GET_TIMERSLACK", prctl(PR_GET_TIMERSLACK), 12345);
    EXPECT_ERRNO("unknown option", prctl(9999, 0, 0, 0, 0), EINVAL);
    int on = -1;
    EXPECT_RET("PR_GET_CHILD_SUBREAPER", prctl(PR_GET_CHILD_SUBREAPER, &on), 0);
    EXPECT_RET("subreaper", on, 0);
    uint64_t tidaddr = 1;
    EXPECT_RET("PR_GET_TID_ADDRESS", prctl(PR_GET_TID_ADDRESS, &tidaddr), 0);
    EXPECT_FACT("tid address is set by libc start-up or 0", tidaddr != 1);
}

/* A subreaper gets its orphaned grandchild; the grandchild's PR_SET_PDEATHSIG fires when its
 * parent dies. */
static void check_subreaper(void)
{
    EXPECT_RET("PR_SET_CHILD_SUBREAPER", prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    int pipefd[2];
    CHECK(pipe(pipefd) == 0, "pipe");
    pid_t self = getpid();
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        pid_t grandchild = fork();
        if (grandchild == 0) {
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, SIGUSR2);
            sigprocmask(SIG_BLOCK, &set, NULL);
            prctl(PR_SET_PDEATHSIG, SIGUSR2);
            CHECK(write(pipefd[1], "r", 1) == 1, "ready");
            int sig = 0;
            sigwait(&set, &sig);
            /* The new parent is the subreaper, our grandparent. */
            char msg = sig == SIGUSR2 && getppid() == self ? 'y' : 'n';
            CHECK(write(pipefd[1], &msg, 1) == 1, "report");
            _exit(0);
        }
        char c;
        CHECK(read(pipefd[0], &c, 1) == 1, "wait ready");
        _exit(0);
    }
    int status;
    CHECK(waitpid(child, &status, 0) == child, "child");
    char c = 0;
    CHECK(read(pipefd[0], &c, 1) == 1, "report");
    EXPECT_FACT("grandchild got PDEATHSIG and the subreaper as parent", c == 'y');
    pid_t reaped = wait(&status);
    EXPECT_FACT("subreaper reaps the grandchild", reaped > 0 && WIFEXITED(status));
}

static void check_sched(void)
{
    cpu_set_t set, one;
    CPU_ZERO(&set);
    CHECK(sched_getaffinity(0, sizeof(set), &set) == 0, "getaffinity");
    int first = -1;
    for (int i = 0; i < CPU_SETSIZE && first < 0; i++)
        if (CPU_ISSET(i, &set))
            first = i;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    EXPECT_RET("sched_setaffinity one CPU", sched_setaffinity(0, sizeof(one), &one), 0);
    CPU_ZERO(&set);
    CHECK(sched_getaffinity(0, sizeof(set), &set) == 0, "getaffinity");
    EXPECT_RET("CPUs after", CPU_COUNT(&set), 1);
    EXPECT_FACT("the one asked", CPU_ISSET(first, &set));
    unsigned cpu = 999;
    EXPECT_RET("getcpu", syscall(SYS_getcpu, &cpu, NULL, NULL), 0);
    EXPECT_RET("getcpu is that CPU", cpu, first);
    CPU_ZERO(&set);
    EXPECT_ERRNO("sched_setaffinity empty", sched_setaffinity(0, sizeof(set), &set), EINVAL);
    EXPECT_ERRNO("sched_setaffinity no such pid", sched_setaffinity(99999, sizeof(one), &one),
                 ESRCH);
    EXPECT_ERRNO("sched_getaffinity short buffer", syscall(SYS_sched_getaffinity, 0, 1, &set),
                 EINVAL);

    struct sched_param p = {0};
    EXPECT_RET("sched_getscheduler", sched_getscheduler(0), SCHED_OTHER);
    EXPECT_RET("sched_getparam", sched_getparam(0, &p), 0);
    EXPECT_RET("priority", p.sched_priority, 0);
    EXPECT_ERRNO("sched_getparam -1", sched_getparam(-1, &p), EINVAL);
    EXPECT_ERRNO("sched_getscheduler no such pid", sched_getscheduler(99999), ESRCH);
    EXPECT_RET("SCHED_BATCH", sched_setscheduler(0, SCHED_BATCH, &p), 0);
    EXPECT_RET("sched_getscheduler after", sched_getscheduler(0), SCHED_BATCH);
    EXPECT_RET("SCHED_IDLE", sched_setscheduler(0, SCHED_IDLE, &p), 0);
    EXPECT_RET("back to SCHED_OTHER", sched_setscheduler(0, SCHED_OTHER, &p), 0);
    p.sched_priority = 5;
    EXPECT_ERRNO("SCHED_OTHER priority 5", sched_setscheduler(0, SCHED_OTHER, &p), EINVAL);
    EXPECT_ERRNO("sched_setparam priority 5", sched_setparam(0, &p), EINVAL);
    p.sched_priority = 0;
    EXPECT_ERRNO("SCHED_FIFO priority 0", sched_setscheduler(0, SCHED_FIFO, &p), EINVAL);
    EXPECT_ERRNO("policy 42", sched_setscheduler(0, 42, &p), EINVAL);
    EXPECT_RET("max FIFO", sched_get_priority_max(SCHED_FIFO), 99);
    EXPECT_RET("min RR", sched_get_priority_min(SCHED_RR), 1);
    EXPECT_RET("max OTHER", sched_get_priority_max(SCHED_OTHER), 0);
    EXPECT_ERRNO("max 42", sched_get_priority_max(42), EINVAL);
    struct timespec ts;
    EXPECT_RET("sched_rr_get_interval", sched_rr_get_interval(0, &ts), 0);
    EXPECT_RET("sched_yield", sched_yield(), 0);

    long q = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    EXPECT_FACT("membarrier QUERY reports GLOBAL", q > 0 && (q & MEMBARRIER_CMD_GLOBAL));
    if (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED) {
        EXPECT_ERRNO("PRIVATE_EXPEDITED unregistered",
                     syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0), EPERM);
        EXPECT_RET("REGISTER_PRIVATE_EXPEDITED",
                   syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0), 0);
        EXPECT_RET("PRIVATE_EXPEDITED",
                   syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0), 0);
    }
    EXPECT_ERRNO("membarrier flags", syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 1, 0), EINVAL);
    EXPECT_ERRNO("membarrier cmd 3", syscall(SYS_membarrier, 3, 0, 0), EINVAL);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    check_prctl();
    check_subreaper();
    check_sched();
    return guest_ok();
}
