/* System V semaphores: semget's rules, SETVAL/GETVAL/SETALL/GETALL/GETPID, semop's all-or-none
 * operations, IPC_NOWAIT, the limits, semtimedop's timeout, blocking with a forked child
 * (GETNCNT/GETZCNT), EIDRM, SEM_UNDO at exit (not inherited by fork, kept across execve, shared
 * by threads, cleared by SETVAL, capped at 0), EINTR from a handler, permissions, IPC_STAT/
 * IPC_SET/IPC_INFO/SEM_INFO/SEM_STAT. Ids and keys are not printed: natively they come from the
 * host's IPC namespace. */
#include "guest.h"

#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/random.h>
#include <sys/sem.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
    struct seminfo *__buf;
};

static int getval(int id, int n)
{
    return semctl(id, n, GETVAL);
}

static int setval(int id, int n, int v)
{
    return semctl(id, n, SETVAL, (union semun){.val = v});
}

static int op1(int id, unsigned short num, short op, short flg)
{
    struct sembuf sb = {.sem_num = num, .sem_op = op, .sem_flg = flg};
    return semop(id, &sb, 1);
}

/* Waits (in a child) until `cmd` of semaphore n reads `want`: 0, or 1 after about 5 s. */
static int wait_count(int id, int n, int cmd, int want)
{
    for (int i = 0; i < 5000; i++) {
        if (semctl(id, n, cmd) == want)
            return 0;
        usleep(1000);
    }
    return 1;
}

static int child_status(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

static void on_alarm(int sig)
{
    (void)sig;
}

static void *thread_undo(void *arg)
{
    int id = *(int *)arg;
    return (void *)(long)op1(id, 0, 1, SEM_UNDO);
}

static void basics(void)
{
    struct semid_ds ds;
    union semun arg = {.buf = &ds};

    int id = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
    EXPECT_FACT("semget IPC_PRIVATE", id >= 0);
    EXPECT_RET("IPC_STAT", semctl(id, 0, IPC_STAT, arg), 0);
    EXPECT_RET("nsems", ds.sem_nsems, 3);
    EXPECT_RET("mode", ds.sem_perm.mode & 0777, 0600);
    EXPECT_RET("otime before any semop", ds.sem_otime, 0);
    EXPECT_FACT("ctime set", ds.sem_ctime != 0);
    EXPECT_FACT("uid is ours", ds.sem_perm.uid == geteuid() && ds.sem_perm.cuid == geteuid());
    EXPECT_RET("initial value", getval(id, 2), 0);

    EXPECT_RET("SETVAL", setval(id, 1, 5), 0);
    EXPECT_RET("GETVAL", getval(id, 1), 5);
    EXPECT_FACT("GETPID is us", semctl(id, 1, GETPID) == getpid());
    EXPECT_RET("GETPID untouched", semctl(id, 0, GETPID), 0);
    EXPECT_ERRNO("SETVAL 32768", setval(id, 1, 32768), ERANGE);
    EXPECT_ERRNO("SETVAL -1", setval(id, 1, -1), ERANGE);
    EXPECT_RET("SETVAL 32767", setval(id, 2, 32767), 0);
    EXPECT_ERRNO("SETVAL past the set", setval(id, 3, 1), EINVAL);
    EXPECT_ERRNO("GETVAL past the set", getval(id, 3), EINVAL);
    EXPECT_ERRNO("GETVAL -1", getval(id, -1), EINVAL);

    unsigned short all[3] = {7, 8, 9}, got[3] = {0};
    EXPECT_RET("SETALL", semctl(id, 0, SETALL, (union semun){.array = all}), 0);
    EXPECT_RET("GETALL", semctl(id, 0, GETALL, (union semun){.array = got}), 0);
    EXPECT_FACT("GETALL values", got[0] == 7 && got[1] == 8 && got[2] == 9);
    unsigned short big[3] = {1, 40000, 1};
    EXPECT_ERRNO("SETALL 40000", semctl(id, 0, SETALL, (union semun){.array = big}), ERANGE);
    EXPECT_RET("values kept", getval(id, 0), 7);
    EXPECT_ERRNO("GETALL bad buffer", semctl(id, 0, GETALL, (union semun){.array = (void *)8}),
                 EFAULT);
    EXPECT_ERRNO("SETALL bad buffer", semctl(id, 0, SETALL, (union semun){.array = (void *)8}),
                 EFAULT);

    /* semop: all or none. */
    struct sembuf two[2] = {{0, -1, IPC_NOWAIT}, {1, -9, IPC_NOWAIT}};
    EXPECT_ERRNO("one op can't: none done", semop(id, two, 2), EAGAIN);
    EXPECT_RET("first untouched", getval(id, 0), 7);
    two[1].sem_op = -8;
    EXPECT_RET("both can", semop(id, two, 2), 0);
    EXPECT_FACT("both done", getval(id, 0) == 6 && getval(id, 1) == 0);
    struct sembuf same[2] = {{0, 2, 0}, {0, -8, IPC_NOWAIT}};
    EXPECT_RET("two ops on one semaphore, in order", semop(id, same, 2), 0);
    EXPECT_RET("value 0", getval(id, 0), 0);
    EXPECT_ERRNO("wait for zero, IPC_NOWAIT", op1(id, 2, 0, IPC_NOWAIT), EAGAIN);
    EXPECT_RET("wait for zero on a zero", op1(id, 0, 0, 0), 0);
    setval(id, 2, 32767);
    EXPECT_ERRNO("past SEMVMX", op1(id, 2, 1, 0), ERANGE);
    EXPECT_ERRNO("sem_num past the set", op1(id, 3, 1, 0), EFBIG);
    EXPECT_ERRNO("nsops 0", semop(id, two, 0), EINVAL);
    static struct sembuf many[501];
    EXPECT_ERRNO("nsops 501", semop(id, many, 501), E2BIG);
    EXPECT_ERRNO("bad sops", semop(id, (void *)8, 1), EFAULT);
    EXPECT_ERRNO("bad id", op1(-1, 0, 1, 0), EINVAL);
    int gone = semget(IPC_PRIVATE, 1, 0600);
    semctl(gone, 0, IPC_RMID);
    EXPECT_ERRNO("removed id", op1(gone, 0, 1, 0), EINVAL);
    semctl(id, 0, IPC_STAT, arg);
    EXPECT_FACT("otime set by semop", ds.sem_otime != 0);

    /* semtimedop. */
    struct timespec ts = {0, 50 * 1000 * 1000};
    struct sembuf down = {1, -1, 0};
    EXPECT_ERRNO("timeout", semtimedop(id, &down, 1, &ts), EAGAIN);
    struct timespec bad = {0, 1000000000};
    EXPECT_ERRNO("bad timeout", semtimedop(id, &down, 1, &bad), EINVAL);
    EXPECT_ERRNO("timeout pointer", semtimedop(id, &down, 1, (void *)8), EFAULT);
    struct timespec zero = {0, 0};
    EXPECT_ERRNO("zero timeout", semtimedop(id, &down, 1, &zero), EAGAIN);

    /* IPC_SET, limits. */
    ds.sem_perm.mode = 0640;
    EXPECT_RET("IPC_SET", semctl(id, 0, IPC_SET, arg), 0);
    semctl(id, 0, IPC_STAT, arg);
    EXPECT_RET("new mode", ds.sem_perm.mode & 0777, 0640);
    EXPECT_ERRNO("IPC_STAT bad buffer", semctl(id, 0, IPC_STAT, (union semun){.buf = (void *)8}),
                 EFAULT);
    EXPECT_ERRNO("bad cmd", semctl(id, 0, 12345), EINVAL);

    struct seminfo si;
    EXPECT_FACT("IPC_INFO", semctl(id, 0, IPC_INFO, (union semun){.__buf = &si}) >= 0);
    printf("semmsl %d semopm %d semvmx %d semmni %d semaem %d\n", si.semmsl, si.semopm, si.semvmx,
           si.semmni, si.semaem);
    int max_idx = semctl(id, 0, SEM_INFO, (union semun){.__buf = &si});
    EXPECT_FACT("SEM_INFO", max_idx >= 0 && si.semusz >= 1 && si.semaem >= 3);
    bool found = false;
    for (int i = 0; i <= max_idx && !found; i++)
        found = semctl(i, 0, SEM_STAT, arg) == id;
    EXPECT_FACT("SEM_STAT finds it by index", found);

    EXPECT_RET("IPC_RMID", semctl(id, 0, IPC_RMID), 0);
    EXPECT_ERRNO("gone", getval(id, 0), EINVAL);
    EXPECT_ERRNO("IPC_RMID again", semctl(id, 0, IPC_RMID), EINVAL);
}

static void keys(void)
{
    key_t key;
    do
        CHECK(getrandom(&key, sizeof(key), 0) == sizeof(key), "getrandom");
    while (key == IPC_PRIVATE);
    EXPECT_ERRNO("nsems -1", semget(IPC_PRIVATE, -1, 0600), EINVAL);
    EXPECT_ERRNO("nsems 32001", semget(IPC_PRIVATE, 32001, 0600), EINVAL);
    EXPECT_ERRNO("nsems 0 new", semget(IPC_PRIVATE, 0, 0600), EINVAL);
    EXPECT_ERRNO("no such key", semget(key, 1, 0600), ENOENT);
    int id = semget(key, 2, IPC_CREAT | IPC_EXCL | 0600);
    EXPECT_FACT("create with a key", id >= 0);
    EXPECT_ERRNO("IPC_EXCL again", semget(key, 2, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
    EXPECT_FACT("find with nsems 0", semget(key, 0, 0) == id);
    EXPECT_FACT("find with fewer", semget(key, 1, IPC_CREAT | 0600) == id);
    EXPECT_ERRNO("more than it has", semget(key, 3, 0), EINVAL);
    EXPECT_RET("remove", semctl(id, 0, IPC_RMID), 0);
    EXPECT_ERRNO("key free", semget(key, 0, 0), ENOENT);
}

static void blocking(void)
{
    int id = semget(IPC_PRIVATE, 2, 0600);
    CHECK(id >= 0, "semget");

    /* A decrement waits for a child's increment. */
    pid_t pid = fork();
    if (pid == 0)
        _exit(wait_count(id, 0, GETNCNT, 1) || op1(id, 0, 1, 0) ? 1 : 0);
    EXPECT_RET("blocked decrement", op1(id, 0, -1, 0), 0);
    EXPECT_RET("child incremented after GETNCNT 1", child_status(pid), 0);
    EXPECT_RET("GETNCNT 0", semctl(id, 0, GETNCNT), 0);

    /* Wait for zero. */
    setval(id, 1, 2);
    pid = fork();
    if (pid == 0)
        _exit(wait_count(id, 1, GETZCNT, 1) || op1(id, 1, -2, 0) ? 1 : 0);
    EXPECT_RET("blocked wait for zero", op1(id, 1, 0, 0), 0);
    EXPECT_RET("child decremented after GETZCNT 1", child_status(pid), 0);
    EXPECT_FACT("GETPID: the completed wait-for-zero is ours", semctl(id, 1, GETPID) == getpid());

    /* Whoever increments completes the waiter's operation first. */
    pid = fork();
    if (pid == 0) {
        if (wait_count(id, 0, GETNCNT, 1) || op1(id, 0, 1, 0))
            _exit(1);
        _exit(op1(id, 0, -1, IPC_NOWAIT) == -1 && errno == EAGAIN ? 0 : 2);
    }
    EXPECT_RET("woken decrement", op1(id, 0, -1, 0), 0);
    EXPECT_RET("its value was taken for us", child_status(pid), 0);

    /* A timed wait a child satisfies in time. */
    pid = fork();
    if (pid == 0)
        _exit(wait_count(id, 0, GETNCNT, 1) || op1(id, 0, 1, 0) ? 1 : 0);
    struct timespec ts = {10, 0};
    struct sembuf down = {0, -1, 0};
    EXPECT_RET("semtimedop woken", semtimedop(id, &down, 1, &ts), 0);
    EXPECT_RET("child", child_status(pid), 0);

    /* IPC_RMID wakes waiters with EIDRM. */
    pid = fork();
    if (pid == 0)
        _exit(wait_count(id, 0, GETNCNT, 1) || semctl(id, 0, IPC_RMID) ? 1 : 0);
    EXPECT_ERRNO("removed while waiting", op1(id, 0, -1, 0), EIDRM);
    EXPECT_RET("child removed it", child_status(pid), 0);

    /* A handler's signal ends the wait with EINTR even with SA_RESTART. */
    id = semget(IPC_PRIVATE, 1, 0600);
    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {.it_value = {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    EXPECT_ERRNO("semop interrupted", op1(id, 0, -1, 0), EINTR);
    setitimer(ITIMER_REAL, &it, NULL);
    EXPECT_ERRNO("semtimedop interrupted", semtimedop(id, &down, 1, &ts), EINTR);
    EXPECT_RET("no waiter left", semctl(id, 0, GETNCNT), 0);
    semctl(id, 0, IPC_RMID);
}

static void undo(const char *self)
{
    int id = semget(IPC_PRIVATE, 1, 0600);
    CHECK(id >= 0, "semget");

    pid_t pid = fork();
    if (pid == 0)
        _exit(op1(id, 0, 2, SEM_UNDO) ? 1 : 0);
    EXPECT_RET("child took 2 with SEM_UNDO", child_status(pid), 0);
    EXPECT_RET("given back at its exit", getval(id, 0), 0);

    setval(id, 0, 5);
    pid = fork();
    if (pid == 0)
        _exit(op1(id, 0, -1, SEM_UNDO) ? 1 : 0);
    child_status(pid);
    EXPECT_RET("a decrement undone", getval(id, 0), 5);

    /* Not inherited by fork. */
    EXPECT_RET("parent +1 SEM_UNDO", op1(id, 0, 1, SEM_UNDO), 0);
    pid = fork();
    if (pid == 0)
        _exit(0);
    child_status(pid);
    EXPECT_RET("a fork child's exit undoes nothing", getval(id, 0), 6);
    EXPECT_RET("parent -1 SEM_UNDO", op1(id, 0, -1, SEM_UNDO), 0);

    /* Kept across execve. */
    pid = fork();
    if (pid == 0) {
        char arg[32];
        if (op1(id, 0, 3, SEM_UNDO))
            _exit(1);
        snprintf(arg, sizeof(arg), "%d", id);
        execl(self, self, "exec-child", arg, (char *)NULL);
        _exit(2);
    }
    EXPECT_RET("exec'd child", child_status(pid), 0);
    EXPECT_RET("undone at the exec'd image's exit", getval(id, 0), 5);

    /* Capped at 0. */
    int pipefd[2];
    CHECK(pipe(pipefd) == 0, "pipe");
    pid = fork();
    if (pid == 0) {
        char c;
        close(pipefd[1]);
        if (op1(id, 0, 4, SEM_UNDO))
            _exit(1);
        read(pipefd[0], &c, 1);
        _exit(0);
    }
    close(pipefd[0]);
    CHECK(wait_count(id, 0, GETVAL, 9) == 0, "child's +4");
    EXPECT_RET("take 8", op1(id, 0, -8, 0), 0);
    close(pipefd[1]);
    child_status(pid);
    EXPECT_RET("1 - 4 capped at 0", getval(id, 0), 0);

    /* SETVAL forgets the adjustments. */
    CHECK(pipe(pipefd) == 0, "pipe");
    pid = fork();
    if (pid == 0) {
        char c;
        close(pipefd[1]);
        if (op1(id, 0, 2, SEM_UNDO))
            _exit(1);
        read(pipefd[0], &c, 1);
        _exit(0);
    }
    close(pipefd[0]);
    CHECK(wait_count(id, 0, GETVAL, 2) == 0, "child's +2");
    setval(id, 0, 7);
    close(pipefd[1]);
    child_status(pid);
    EXPECT_RET("SETVAL cleared the child's adjustment", getval(id, 0), 7);

    /* Threads share the list: a thread's exit undoes nothing, the process's does. */
    setval(id, 0, 0);
    pid = fork();
    if (pid == 0) {
        pthread_t th;
        void *ret;
        if (pthread_create(&th, NULL, thread_undo, &id) || pthread_join(th, &ret) || ret)
            _exit(1);
        _exit(getval(id, 0) == 1 ? 0 : 2);
    }
    EXPECT_RET("thread's +1 kept after the thread ended", child_status(pid), 0);
    EXPECT_RET("undone at the process's exit", getval(id, 0), 0);

    /* ERANGE for an adjustment past SEMVMX's range. */
    setval(id, 0, 32767);
    EXPECT_RET("-32767 SEM_UNDO", op1(id, 0, -32767, SEM_UNDO), 0);
    EXPECT_RET("+1", op1(id, 0, 1, 0), 0);
    EXPECT_ERRNO("-1 SEM_UNDO: adjustment 32768", op1(id, 0, -1, SEM_UNDO), ERANGE);
    semctl(id, 0, IPC_RMID);
}

static void perms(void)
{
    int id = semget(IPC_PRIVATE, 1, 0600);
    CHECK(id >= 0, "semget");
    pid_t pid = fork();
    if (pid == 0) {
        if (setgid(65534) || setuid(65534))
            _exit(1);
        if (getval(id, 0) != -1 || errno != EACCES)
            _exit(2);
        if (op1(id, 0, 1, 0) != -1 || errno != EACCES)
            _exit(3);
        if (setval(id, 0, 1) != -1 || errno != EACCES)
            _exit(4);
        if (semctl(id, 0, IPC_RMID) != -1 || errno != EPERM)
            _exit(5);
        _exit(0);
    }
    EXPECT_RET("another user: EACCES, EPERM", child_status(pid), 0);
    semctl(id, 0, IPC_RMID);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "exec-child") == 0)
        return getval(atoi(argv[2]), 0) == 8 ? 0 : 3;
    setvbuf(stdout, NULL, _IOLBF, 0);
    basics();
    keys();
    blocking();
    undo("/proc/self/exe");
    perms();
    return guest_ok();
}
