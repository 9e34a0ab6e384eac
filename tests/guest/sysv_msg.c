/* System V message queues: msgget's rules, typed messages (msgtyp 0, >0, <0, MSG_EXCEPT),
 * MSG_NOERROR and E2BIG, IPC_NOWAIT (EAGAIN, ENOMSG), MSG_COPY, msg_qbytes (a sender blocks
 * until a forked child reads), blocking receivers, EIDRM, EINTR from a handler, the pids and
 * counts of IPC_STAT, IPC_SET, IPC_INFO/MSG_INFO/MSG_STAT, permissions. Ids and keys are not
 * printed: natively they come from the host's IPC namespace. */
#include "guest.h"

#include <signal.h>
#include <stdbool.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/random.h>
#include <sys/time.h>
#include <sys/wait.h>

struct message {
    long mtype;
    char mtext[64];
};

static int send(int id, long type, const char *text, int flags)
{
    struct message m = {.mtype = type};
    snprintf(m.mtext, sizeof(m.mtext), "%s", text);
    return msgsnd(id, &m, strlen(text) + 1, flags);
}

/* Receives into a static message and prints "<type> <text>" or the errno. */
static long receive(const char *what, int id, size_t size, long type, int flags)
{
    static struct message m;
    memset(&m, 0, sizeof(m));
    errno = 0;
    long n = msgrcv(id, &m, size, type, flags);
    if (n < 0)
        printf("%s: %s\n", what, guest_errno_name(errno));
    else
        printf("%s: %ld bytes, type %ld, \"%.*s\"\n", what, n, m.mtype, (int)n, m.mtext);
    return n;
}

static unsigned long qnum(int id)
{
    struct msqid_ds ds;
    return msgctl(id, IPC_STAT, &ds) == 0 ? ds.msg_qnum : (unsigned long)-1;
}

static int wait_qnum(int id, unsigned long want)
{
    for (int i = 0; i < 5000; i++) {
        if (qnum(id) == want)
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

static void types(void)
{
    struct msqid_ds ds;
    int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    EXPECT_FACT("msgget IPC_PRIVATE", id >= 0);
    EXPECT_RET("IPC_STAT", msgctl(id, IPC_STAT, &ds), 0);
    EXPECT_RET("mode", ds.msg_perm.mode & 0777, 0600);
    EXPECT_RET("qbytes is msgmnb", ds.msg_qbytes, 16384);
    EXPECT_FACT("empty, no pids or times yet", ds.msg_qnum == 0 && ds.__msg_cbytes == 0 &&
                                                   ds.msg_lspid == 0 && ds.msg_lrpid == 0 &&
                                                   ds.msg_stime == 0 && ds.msg_rtime == 0);

    EXPECT_RET("send 3 a", send(id, 3, "three-a", 0), 0);
    EXPECT_RET("send 1", send(id, 1, "one", 0), 0);
    EXPECT_RET("send 2", send(id, 2, "two", 0), 0);
    EXPECT_RET("send 3 b", send(id, 3, "three-b", 0), 0);
    EXPECT_RET("send 5", send(id, 5, "five", 0), 0);
    msgctl(id, IPC_STAT, &ds);
    EXPECT_RET("qnum 5", ds.msg_qnum, 5);
    EXPECT_RET("cbytes", ds.__msg_cbytes, 8 + 4 + 4 + 8 + 5);
    EXPECT_FACT("lspid is us, stime set", ds.msg_lspid == getpid() && ds.msg_stime != 0);

    receive("MSG_COPY 1", id, 64, 1, MSG_COPY | IPC_NOWAIT);
    receive("MSG_COPY 9", id, 64, 9, MSG_COPY | IPC_NOWAIT);
    EXPECT_ERRNO("MSG_COPY without IPC_NOWAIT", msgrcv(id, &ds, 64, 0, MSG_COPY), EINVAL);
    EXPECT_ERRNO("MSG_COPY with MSG_EXCEPT",
                 msgrcv(id, &ds, 64, 0, MSG_COPY | MSG_EXCEPT | IPC_NOWAIT), EINVAL);
    EXPECT_RET("MSG_COPY took nothing", qnum(id), 5);

    receive("type 3", id, 64, 3, 0);
    receive("type <= 3 (lowest)", id, 64, -3, 0);
    receive("not type 2", id, 64, 2, MSG_EXCEPT);
    receive("too small", id, 3, 0, 0);
    receive("too small, MSG_NOERROR", id, 3, 0, MSG_NOERROR);
    receive("type 7, none", id, 64, 7, IPC_NOWAIT);
    receive("any", id, 64, 0, 0);
    receive("empty", id, 64, 0, IPC_NOWAIT);
    msgctl(id, IPC_STAT, &ds);
    EXPECT_FACT("lrpid is us, rtime set", ds.msg_lrpid == getpid() && ds.msg_rtime != 0);
    EXPECT_FACT("empty again", ds.msg_qnum == 0 && ds.__msg_cbytes == 0);

    /* Argument errors. */
    EXPECT_ERRNO("type 0", send(id, 0, "x", 0), EINVAL);
    EXPECT_ERRNO("size past msgmax", msgsnd(id, &ds, 8193, 0), EINVAL);
    EXPECT_ERRNO("bad message pointer", msgsnd(id, (void *)8, 4, 0), EFAULT);
    struct message m = {.mtype = 1};
    EXPECT_ERRNO("size 1 GiB", msgsnd(id, &m, 1 << 30, 0), EINVAL);
    EXPECT_ERRNO("bad id", send(-1, 1, "x", 0), EINVAL);
    EXPECT_ERRNO("msgrcv bad id", msgrcv(-1, &m, 8, 0, 0), EINVAL);
    EXPECT_ERRNO("msgrcv negative size", msgrcv(id, &m, (size_t)-1, 0, 0), EINVAL);
    EXPECT_RET("empty message", msgsnd(id, &m, 0, 0), 0);
    receive("receive it", id, 64, 0, 0);
    send(id, 4, "lost", 0);
    EXPECT_ERRNO("msgrcv bad buffer", msgrcv(id, (void *)8, 64, 0, 0), EFAULT);
    EXPECT_RET("the message was taken anyway", qnum(id), 0);

    /* IPC_SET, limits. */
    msgctl(id, IPC_STAT, &ds);
    ds.msg_perm.mode = 0640;
    ds.msg_qbytes = 100;
    EXPECT_RET("IPC_SET", msgctl(id, IPC_SET, &ds), 0);
    msgctl(id, IPC_STAT, &ds);
    EXPECT_FACT("new mode and qbytes", (ds.msg_perm.mode & 0777) == 0640 && ds.msg_qbytes == 100);
    EXPECT_ERRNO("IPC_STAT bad buffer", msgctl(id, IPC_STAT, (void *)8), EFAULT);
    EXPECT_ERRNO("IPC_SET bad buffer", msgctl(id, IPC_SET, (void *)8), EFAULT);
    EXPECT_ERRNO("bad cmd", msgctl(id, 12345, &ds), EINVAL);

    struct msginfo mi;
    EXPECT_FACT("IPC_INFO", msgctl(id, IPC_INFO, (struct msqid_ds *)&mi) >= 0);
    printf("msgmax %d msgmnb %d msgmni %d msgpool %d msgssz %d msgseg %u\n", mi.msgmax, mi.msgmnb,
           mi.msgmni, mi.msgpool, mi.msgssz, mi.msgseg);
    send(id, 1, "counted", 0);
    int max_idx = msgctl(id, MSG_INFO, (struct msqid_ds *)&mi);
    EXPECT_FACT("MSG_INFO", max_idx >= 0 && mi.msgpool >= 1 && mi.msgmap >= 1 && mi.msgtql >= 8);
    bool found = false;
    for (int i = 0; i <= max_idx && !found; i++)
        found = msgctl(i, MSG_STAT, &ds) == id;
    EXPECT_FACT("MSG_STAT finds it by index", found);
    EXPECT_RET("IPC_RMID", msgctl(id, IPC_RMID, NULL), 0);
    EXPECT_ERRNO("gone", msgctl(id, IPC_STAT, &ds), EINVAL);
}

static void keys(void)
{
    key_t key;
    do
        CHECK(getrandom(&key, sizeof(key), 0) == sizeof(key), "getrandom");
    while (key == IPC_PRIVATE);
    EXPECT_ERRNO("no such key", msgget(key, 0600), ENOENT);
    int id = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
    EXPECT_FACT("create with a key", id >= 0);
    EXPECT_ERRNO("IPC_EXCL again", msgget(key, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
    EXPECT_FACT("find by key", msgget(key, 0) == id);
    EXPECT_RET("remove", msgctl(id, IPC_RMID, NULL), 0);
    EXPECT_ERRNO("key free", msgget(key, 0), ENOENT);
}

static void blocking(void)
{
    struct msqid_ds ds;
    int id = msgget(IPC_PRIVATE, 0600);
    CHECK(id >= 0, "msgget");

    /* A receiver waits for a child's message of its type. */
    pid_t pid = fork();
    if (pid == 0) {
        usleep(20000);
        _exit(send(id, 2, "not this", 0) || send(id, 7, "for you", 0) ? 1 : 0);
    }
    receive("blocked receive of type 7", id, 64, 7, 0);
    EXPECT_RET("child", child_status(pid), 0);
    msgctl(id, IPC_STAT, &ds);
    EXPECT_FACT("lspid is the child, lrpid us", ds.msg_lspid == pid && ds.msg_lrpid == getpid());
    receive("the other one", id, 64, 0, IPC_NOWAIT);

    /* A full queue: IPC_NOWAIT is EAGAIN; a blocked sender goes on when a child reads. */
    msgctl(id, IPC_STAT, &ds);
    ds.msg_qbytes = 10;
    msgctl(id, IPC_SET, &ds);
    EXPECT_RET("fill", send(id, 1, "123456789", 0), 0);
    EXPECT_ERRNO("full, IPC_NOWAIT", send(id, 1, "x", IPC_NOWAIT), EAGAIN);
    pid = fork();
    if (pid == 0) {
        struct message m;
        usleep(20000);
        _exit(msgrcv(id, &m, sizeof(m.mtext), 0, 0) == 10 ? 0 : 1);
    }
    EXPECT_RET("blocked send", send(id, 1, "abc", 0), 0);
    EXPECT_RET("child read", child_status(pid), 0);
    receive("what was sent", id, 64, 0, IPC_NOWAIT);

    /* A message too large for a waiting receiver: E2BIG for it, the message stays. */
    pid = fork();
    if (pid == 0) {
        struct message m;
        _exit(msgrcv(id, &m, 2, 0, 0) == -1 && errno == E2BIG ? 0 : 1);
    }
    usleep(20000);
    send(id, 1, "long", 0);
    EXPECT_RET("waiting receiver got E2BIG", child_status(pid), 0);
    receive("the message stayed", id, 64, 0, IPC_NOWAIT);

    /* IPC_RMID wakes a blocked receiver and a blocked sender with EIDRM. */
    pid = fork();
    if (pid == 0) {
        usleep(100000);
        _exit(msgctl(id, IPC_RMID, NULL) ? 1 : 0);
    }
    receive("removed while receiving", id, 64, 0, 0);
    EXPECT_RET("child removed it", child_status(pid), 0);

    id = msgget(IPC_PRIVATE, 0600);
    msgctl(id, IPC_STAT, &ds);
    ds.msg_qbytes = 4;
    msgctl(id, IPC_SET, &ds);
    send(id, 1, "abc", 0);
    pid = fork();
    if (pid == 0) {
        usleep(100000);
        _exit(msgctl(id, IPC_RMID, NULL) ? 1 : 0);
    }
    EXPECT_ERRNO("removed while sending", send(id, 1, "abc", 0), EIDRM);
    EXPECT_RET("child removed it", child_status(pid), 0);

    /* A handler's signal: EINTR (restarted only without a handler to run). */
    id = msgget(IPC_PRIVATE, 0600);
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {.it_value = {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    receive("msgrcv interrupted", id, 64, 0, 0);
    msgctl(id, IPC_STAT, &ds);
    ds.msg_qbytes = 4;
    msgctl(id, IPC_SET, &ds);
    send(id, 1, "abc", 0);
    setitimer(ITIMER_REAL, &it, NULL);
    EXPECT_ERRNO("msgsnd interrupted", send(id, 1, "abc", 0), EINTR);
    EXPECT_RET("one message still", qnum(id), 1);

    /* Permissions. */
    pid = fork();
    if (pid == 0) {
        struct message m;
        if (setgid(65534) || setuid(65534))
            _exit(1);
        if (msgrcv(id, &m, 64, 0, IPC_NOWAIT) != -1 || errno != EACCES)
            _exit(2);
        if (send(id, 1, "x", IPC_NOWAIT) != -1 || errno != EACCES)
            _exit(3);
        if (msgctl(id, IPC_STAT, &ds) != -1 || errno != EACCES)
            _exit(4);
        if (msgctl(id, IPC_RMID, NULL) != -1 || errno != EPERM)
            _exit(5);
        _exit(0);
    }
    EXPECT_RET("another user: EACCES, EPERM", child_status(pid), 0);
    CHECK(wait_qnum(id, 1) == 0, "qnum");
    msgctl(id, IPC_RMID, NULL);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    types();
    keys();
    blocking();
    return guest_ok();
}
