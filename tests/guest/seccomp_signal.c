/* seccomp actions that end in signals or exits: TRAP's SIGSYS and its siginfo, KILL_PROCESS,
 * KILL_THREAD (with and without other threads), strict mode, and TSYNC across threads. */
#include "guest.h"
#include "seccomp_guest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <ucontext.h>

static volatile sig_atomic_t trap_seen;
static siginfo_t trap_info;
static long trap_rax;

static void on_sigsys(int sig, siginfo_t *info, void *uc_arg)
{
    ucontext_t *uc = uc_arg;

    trap_seen = sig;
    trap_info = *info;
    trap_rax = (long)uc->uc_mcontext.gregs[REG_RAX];
}

static void trap(void)
{
    struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
    sigaction(SIGSYS, &sa, NULL);
    EXPECT_RET("no_new_privs", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
    EXPECT_RET("install getppid TRAP", install_one(0, SYS_getppid, SECCOMP_RET_TRAP | 0x42), 0);
    long r = syscall(SYS_getppid);
    printf("handler ran: %s\n", trap_seen == SIGSYS ? "yes" : "no");
    /* The syscall was rolled back: its return register still holds its number. */
    printf("returned the syscall number: %s\n", r == SYS_getppid ? "yes" : "no");
    printf("ucontext rax is the number: %s\n", trap_rax == SYS_getppid ? "yes" : "no");
    printf("si_code %d si_errno %#x si_syscall %d si_arch %#x\n", trap_info.si_code,
           trap_info.si_errno, trap_info.si_syscall, trap_info.si_arch);
    printf("si_call_addr set: %s\n", trap_info.si_call_addr ? "yes" : "no");
}

static void trap_blocked(void)
{
    /* A blocked SIGSYS from TRAP is forced: its default action kills. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGSYS);
    sigprocmask(SIG_BLOCK, &set, NULL);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    install_one(0, SYS_getppid, SECCOMP_RET_TRAP);
    syscall(SYS_getppid);
    printf("survived a blocked TRAP\n");
}

static void kill_process(void)
{
    /* Even a handler doesn't stop KILL_PROCESS. */
    struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
    sigaction(SIGSYS, &sa, NULL);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    install_one(0, SYS_getppid, SECCOMP_RET_KILL_PROCESS);
    syscall(SYS_getppid);
    printf("survived KILL_PROCESS\n");
}

static void kill_thread_alone(void)
{
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    install_one(0, SYS_getppid, SECCOMP_RET_KILL_THREAD);
    syscall(SYS_getppid);
    printf("survived KILL_THREAD\n");
}

static void *call_getppid(void *arg)
{
    (void)arg;
    syscall(SYS_getppid);
    printf("thread survived KILL_THREAD\n");
    return NULL;
}

static void kill_thread_of_many(void)
{
    pthread_t th;
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    install_one(0, SYS_getppid, SECCOMP_RET_KILL_THREAD);
    CHECK(pthread_create(&th, NULL, call_getppid, NULL) == 0, "pthread_create");
    pthread_join(th, NULL); /* the kernel clears the tid as the thread dies */
    printf("main thread goes on\n");
}

static void strict_exit(void)
{
    EXPECT_RET("strict", prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0), 0);
    static const char msg[] = "write in strict mode\n";
    syscall(SYS_write, 1, msg, sizeof(msg) - 1);
    syscall(SYS_exit, 7);
}

static void strict_killed(void)
{
    EXPECT_RET("strict", seccomp_call(SECCOMP_SET_MODE_STRICT, 0, NULL), 0);
    syscall(SYS_getpid);
    static const char msg[] = "survived strict mode\n";
    syscall(SYS_write, 1, msg, sizeof(msg) - 1);
    syscall(SYS_exit, 0);
}

static _Atomic int stage;
static _Atomic int thread_tid;

static void *tsync_thread(void *arg)
{
    (void)arg;
    atomic_store(&thread_tid, (int)gettid());
    atomic_store(&stage, 1);
    while (atomic_load(&stage) != 2)
        sched_yield();
    errno = 0;
    long r = syscall(SYS_getppid);
    printf("thread getppid after TSYNC: %ld %s\n", r, guest_errno_name(errno));
    return NULL;
}

static void tsync(void)
{
    pthread_t th;
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    CHECK(pthread_create(&th, NULL, tsync_thread, NULL) == 0, "pthread_create");
    while (atomic_load(&stage) != 1)
        sched_yield();
    EXPECT_RET("install with TSYNC",
               install_one(SECCOMP_FILTER_FLAG_TSYNC, SYS_getppid, SECCOMP_RET_ERRNO | EPERM), 0);
    atomic_store(&stage, 2);
    pthread_join(th, NULL);
}

static void *own_filter_thread(void *arg)
{
    (void)arg;
    atomic_store(&thread_tid, (int)gettid());
    install_one(0, SYS_getuid, SECCOMP_RET_ERRNO | EPERM);
    atomic_store(&stage, 1);
    while (atomic_load(&stage) != 2)
        sched_yield();
    return NULL;
}

static void tsync_refused(void)
{
    pthread_t th;
    atomic_store(&stage, 0);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    CHECK(pthread_create(&th, NULL, own_filter_thread, NULL) == 0, "pthread_create");
    while (atomic_load(&stage) != 1)
        sched_yield();
    long r = install_one(SECCOMP_FILTER_FLAG_TSYNC, SYS_getppid, SECCOMP_RET_ERRNO | EPERM);
    printf("TSYNC returns the other thread's tid: %s\n",
           r == atomic_load(&thread_tid) ? "yes" : "no");
    r = install_one(SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_TSYNC_ESRCH, SYS_getppid,
                    SECCOMP_RET_ERRNO | EPERM);
    printf("with TSYNC_ESRCH: %ld %s\n", r, guest_errno_name(errno));
    EXPECT_RET("getppid unfiltered", syscall(SYS_getppid) > 0, 1);
    atomic_store(&stage, 2);
    pthread_join(th, NULL);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0); /* children die of signals: nothing may wait in a buffer */
    run_child("trap", trap);
    run_child("trap blocked", trap_blocked);
    run_child("kill process", kill_process);
    run_child("kill thread alone", kill_thread_alone);
    run_child("kill thread of many", kill_thread_of_many);
    run_child("strict exit", strict_exit);
    run_child("strict killed", strict_killed);
    run_child("tsync", tsync);
    run_child("tsync refused", tsync_refused);
    guest_ok();
    return 0;
}
