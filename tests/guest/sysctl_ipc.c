/* /proc/sys and the limits it states: each value is read from /proc/sys (the host's may differ
 * from Linux's defaults, so none is hard-coded) and its consumer must agree: SysV IPC's
 * IPC_INFO, shmget past shmmax, msgsnd past msgmax, a new queue's qbytes, semget past SEMMSL,
 * semop past SEMOPM; ephemeral ports within ip_local_port_range; binding a port below
 * ip_unprivileged_port_start without CAP_NET_BIND_SERVICE; who may open a sysctl for writing,
 * and that malformed text is refused and changes nothing. Writes nothing that could succeed. */
#include "guest.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/wait.h>

/* Reads up to `max` numbers from a /proc/sys file; returns how many it had. */
static int read_sysctl(const char *path, unsigned long long *vals, int max)
{
    char buf[256];
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0, "open %s: %s", path, guest_errno_name(errno));
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    CHECK(n > 0 && buf[n - 1] == '\n', "read %s", path);
    buf[n] = '\0';
    int count = 0;
    char *p = buf, *end;
    while (count < max) {
        long long v = strtoll(p, &end, 10);
        if (end == p)
            break;
        /* shmmax and shmall may exceed LLONG_MAX. */
        vals[count++] = v == LLONG_MAX ? strtoull(p, &end, 10) : (unsigned long long)v;
        p = end;
        CHECK(*p == '\t' || *p == '\n', "%s: separator 0x%x", path, *p);
    }
    return count;
}

static unsigned long long sysctl1(const char *path)
{
    unsigned long long v;
    CHECK(read_sysctl(path, &v, 1) == 1, "%s: one value", path);
    return v;
}

static void check_shm(void)
{
    unsigned long long shmmax = sysctl1("/proc/sys/kernel/shmmax");
    unsigned long long shmall = sysctl1("/proc/sys/kernel/shmall");
    unsigned long long shmmni = sysctl1("/proc/sys/kernel/shmmni");
    struct shminfo info;

    CHECK(shmctl(0, IPC_INFO, (struct shmid_ds *)&info) >= 0, "IPC_INFO: %s",
          guest_errno_name(errno));
    EXPECT_FACT("shm IPC_INFO shows kernel.shmmax, shmall, shmmni",
                info.shmmax == shmmax && info.shmall == shmall && info.shmmni == shmmni);
    /* (Nothing is past a shmmax of ULONG_MAX.) */
    errno = 0;
    EXPECT_FACT("shmget(shmmax + 1): EINVAL",
                shmmax == ~0ULL ||
                    (shmget(IPC_PRIVATE, shmmax + 1, 0600) == -1 && errno == EINVAL));
    int id = shmget(IPC_PRIVATE, 4096, 0600);
    EXPECT_FACT("shmget(4096) within shmmax", id >= 0);
    shmctl(id, IPC_RMID, NULL);
}

static void check_msg(void)
{
    int msgmax = (int)sysctl1("/proc/sys/kernel/msgmax");
    int msgmnb = (int)sysctl1("/proc/sys/kernel/msgmnb");
    int msgmni = (int)sysctl1("/proc/sys/kernel/msgmni");
    struct msginfo info;

    CHECK(msgctl(0, IPC_INFO, (struct msqid_ds *)&info) >= 0, "IPC_INFO: %s",
          guest_errno_name(errno));
    EXPECT_FACT("msg IPC_INFO shows kernel.msgmax, msgmnb, msgmni",
                info.msgmax == msgmax && info.msgmnb == msgmnb && info.msgmni == msgmni);
    int id = msgget(IPC_PRIVATE, 0600);
    CHECK(id >= 0, "msgget: %s", guest_errno_name(errno));
    struct msqid_ds ds;
    CHECK(msgctl(id, IPC_STAT, &ds) == 0, "IPC_STAT");
    EXPECT_FACT("a new queue's msg_qbytes is kernel.msgmnb", ds.msg_qbytes == (msglen_t)msgmnb);
    struct {
        long type;
        char text[1];
    } *m = calloc(1, sizeof(long) + (size_t)msgmax + 1);
    CHECK(m != NULL, "calloc");
    m->type = 1;
    EXPECT_ERRNO("msgsnd(msgmax + 1)", msgsnd(id, m, (size_t)msgmax + 1, IPC_NOWAIT), EINVAL);
    size_t fits = (size_t)(msgmax < msgmnb ? msgmax : msgmnb);
    EXPECT_RET("msgsnd(min(msgmax, msgmnb))", msgsnd(id, m, fits, IPC_NOWAIT), 0);
    free(m);
    msgctl(id, IPC_RMID, NULL);
}

static void check_sem(void)
{
    unsigned long long sem[4];
    CHECK(read_sysctl("/proc/sys/kernel/sem", sem, 4) == 4, "kernel.sem: four values");
    struct seminfo info;
    union semun {
        int val;
        struct seminfo *info;
    } arg = {.info = &info};

    CHECK(semctl(0, 0, IPC_INFO, arg) >= 0, "IPC_INFO: %s", guest_errno_name(errno));
    EXPECT_FACT("sem IPC_INFO shows kernel.sem",
                info.semmsl == (int)sem[0] && info.semmns == (int)sem[1] &&
                    info.semopm == (int)sem[2] && info.semmni == (int)sem[3]);
    EXPECT_ERRNO("semget(SEMMSL + 1)", semget(IPC_PRIVATE, (int)sem[0] + 1, 0600), EINVAL);
    struct sembuf op = {0};
    EXPECT_ERRNO("semop(SEMOPM + 1 operations)", semop(0, &op, (size_t)sem[2] + 1), E2BIG);
}

static unsigned short local_port(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0, "getsockname");
    return ntohs(a.sin_port);
}

static void check_ports(void)
{
    unsigned long long range[2];
    CHECK(read_sysctl("/proc/sys/net/ipv4/ip_local_port_range", range, 2) == 2,
          "ip_local_port_range: two values");
    struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

    /* bind(0), connect()'s autobind and UDP's first send each pick an ephemeral port. */
    int l = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(bind(l, (struct sockaddr *)&lo, sizeof(lo)) == 0, "bind 0");
    unsigned short p = local_port(l);
    EXPECT_FACT("bind(0): a port within ip_local_port_range", p >= range[0] && p <= range[1]);
    CHECK(listen(l, 0x7fffffff) == 0, "listen with a huge backlog (capped at somaxconn)");
    struct sockaddr_in to = lo;
    to.sin_port = htons(p);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&to, sizeof(to)) == 0, "connect");
    p = local_port(c);
    EXPECT_FACT("connect: a port within ip_local_port_range", p >= range[0] && p <= range[1]);
    close(c);
    close(l);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(sendto(u, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)) == 1, "sendto");
    p = local_port(u);
    EXPECT_FACT("UDP send: a port within ip_local_port_range", p >= range[0] && p <= range[1]);
    close(u);
}

/* As uid/gid 65534 without capabilities: the privileged ports and writing sysctls. */
static void check_unprivileged(void)
{
    unsigned long long start = sysctl1("/proc/sys/net/ipv4/ip_unprivileged_port_start");
    pid_t pid = fork();
    if (pid == 0) {
        if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
            _exit(1);
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons(80),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int r = bind(s, (struct sockaddr *)&a, sizeof(a));
        if (start > 80 ? r != -1 || errno != EACCES : r != 0)
            _exit(2);
        if (open("/proc/sys/kernel/shmmax", O_WRONLY) != -1 || errno != EACCES)
            _exit(3);
        if (open("/proc/sys/net/core/somaxconn", O_WRONLY) != -1 || errno != EACCES)
            _exit(4);
        if (open("/proc/sys/net/ipv4/ip_local_port_range", O_RDONLY) < 0)
            _exit(5);
        _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    printf("uid 65534: bind(80) as ip_unprivileged_port_start says, sysctls read-only: %s\n",
           WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "yes" : "no");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status 0x%x", status);
}

/* Malformed text is refused and changes nothing (EINVAL for root; EACCES where the host's
 * sysctls belong to another user namespace). */
static void check_bad_writes(void)
{
    static const struct {
        const char *path, *text;
    } cases[] = {
        {"/proc/sys/net/core/somaxconn", "12abc"},
        {"/proc/sys/kernel/shmmni", "-1"},
        {"/proc/sys/kernel/msgmni", "32769"},
        {"/proc/sys/net/ipv4/ip_local_port_range", "5000 4000"},
        {"/proc/sys/kernel/shm_rmid_forced", "2"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char before[128], after[128];
        int fd = open(cases[i].path, O_RDONLY);
        CHECK(fd >= 0, "open %s", cases[i].path);
        ssize_t nb = read(fd, before, sizeof(before));
        close(fd);
        int wfd = open(cases[i].path, O_WRONLY);
        int err = 0;
        if (wfd < 0)
            err = errno;
        else if (write(wfd, cases[i].text, strlen(cases[i].text)) >= 0)
            err = 0;
        else
            err = errno;
        if (wfd >= 0)
            close(wfd);
        fd = open(cases[i].path, O_RDONLY);
        ssize_t na = read(fd, after, sizeof(after));
        close(fd);
        bool same = na == nb && memcmp(before, after, (size_t)na) == 0;
        printf("%s <- \"%s\": %s\n", cases[i].path, cases[i].text,
               (err == EINVAL || err == EACCES) && same ? "refused, unchanged" : "accepted");
        CHECK((err == EINVAL || err == EACCES) && same, "errno %s", guest_errno_name(err));
    }
}

int main(void)
{
    check_shm();
    check_msg();
    check_sem();
    check_ports();
    check_unprivileged();
    check_bad_writes();
    return guest_ok();
}
