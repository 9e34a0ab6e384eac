/* Pipes between processes: data and end of file, EPIPE with SIGPIPE, O_NONBLOCK, PIPE_BUF
 * atomicity with two writers, a 4 MiB transfer, pipe2 flags, and a blocked read interrupted by
 * a signal: EINTR without SA_RESTART, restarted with it. */
#include "guest.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void handle(int sig, void (*fn)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigaction(sig, &sa, NULL);
}

/* A child that waits `ms`, then signals the parent, then (optionally) writes one byte. */
static pid_t signal_later(int sig, int write_fd)
{
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        kill(getppid(), sig);
        nanosleep(&ts, NULL);
        if (write_fd >= 0)
            (void)write(write_fd, "R", 1);
        _exit(0);
    }
    return pid;
}

int main(void)
{
    int fds[2], status;
    char buf[256];

    setvbuf(stdout, NULL, _IOLBF, 0);
    EXPECT_RET("pipe", pipe(fds), 0);
    struct stat st;
    fstat(fds[0], &st);
    EXPECT_FACT("read end is a FIFO", S_ISFIFO(st.st_mode));
    EXPECT_RET("read end flags", fcntl(fds[0], F_GETFL) & O_ACCMODE, O_RDONLY);
    EXPECT_RET("write end flags", fcntl(fds[1], F_GETFL) & O_ACCMODE, O_WRONLY);
    EXPECT_ERRNO("write to the read end", write(fds[0], "x", 1), EBADF);
    EXPECT_ERRNO("read from the write end", read(fds[1], buf, 1), EBADF);

    /* Data through a child; end of file once every write end is closed. */
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        for (int i = 0; i < 3; i++)
            dprintf(fds[1], "line %d\n", i);
        _exit(0);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t n;
    while ((n = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    printf("from child: %s", buf);
    EXPECT_RET("read at end of file", read(fds[0], buf, 1), 0);
    close(fds[0]);
    waitpid(pid, &status, 0);

    /* No readers: EPIPE, and SIGPIPE (ignored here, then caught). */
    pipe(fds);
    close(fds[0]);
    signal(SIGPIPE, SIG_IGN);
    EXPECT_ERRNO("write with no reader", write(fds[1], "x", 1), EPIPE);
    handle(SIGPIPE, on_alarm, 0);
    alarms = 0;
    EXPECT_ERRNO("write with no reader, SIGPIPE caught", write(fds[1], "x", 1), EPIPE);
    EXPECT_RET("SIGPIPE delivered", alarms, 1);
    close(fds[1]);

    /* O_NONBLOCK: EAGAIN both ways; pipe2 flags. */
    EXPECT_RET("pipe2(O_NONBLOCK|O_CLOEXEC)", pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    EXPECT_FACT("O_NONBLOCK set", fcntl(fds[0], F_GETFL) & O_NONBLOCK);
    EXPECT_RET("FD_CLOEXEC set", fcntl(fds[1], F_GETFD), FD_CLOEXEC);
    EXPECT_ERRNO("empty non-blocking read", read(fds[0], buf, 1), EAGAIN);
    static char big[1 << 16];
    memset(big, 'b', sizeof(big));
    EXPECT_RET("fill 64 KiB", write(fds[1], big, sizeof(big)), (long)sizeof(big));
    EXPECT_ERRNO("write to a full pipe", write(fds[1], "x", 1), EAGAIN);
    close(fds[0]);
    close(fds[1]);
    EXPECT_ERRNO("pipe2 with bad flags", pipe2(fds, O_APPEND), EINVAL);

    /* Two writers of PIPE_BUF-sized records: records never interleave. */
    pipe(fds);
    for (int w = 0; w < 2; w++) {
        if (fork() == 0) {
            char rec[PIPE_BUF];
            memset(rec, 'A' + w, sizeof(rec));
            for (int i = 0; i < 64; i++)
                CHECK(write(fds[1], rec, sizeof(rec)) == (ssize_t)sizeof(rec), "record write");
            _exit(0);
        }
    }
    close(fds[1]);
    int records = 0, torn = 0;
    char rec[PIPE_BUF];
    for (;;) {
        size_t have = 0;
        while (have < sizeof(rec) && (n = read(fds[0], rec + have, sizeof(rec) - have)) > 0)
            have += (size_t)n;
        if (have == 0)
            break;
        records++;
        for (size_t i = 1; i < have; i++)
            torn += rec[i] != rec[0];
    }
    close(fds[0]);
    while (wait(NULL) > 0)
        ;
    EXPECT_RET("records read", records, 128);
    EXPECT_RET("torn records", torn, 0);

    /* 4 MiB through the pipe with a checksum. */
    pipe(fds);
    pid = fork();
    if (pid == 0) {
        close(fds[0]);
        static unsigned char chunk[10000];
        for (int i = 0; i < 420; i++) {
            for (size_t j = 0; j < sizeof(chunk); j++)
                chunk[j] = (unsigned char)(i * 31 + j);
            CHECK(write(fds[1], chunk, sizeof(chunk)) == (ssize_t)sizeof(chunk), "chunk");
        }
        _exit(0);
    }
    close(fds[1]);
    unsigned long sum = 0, total = 0;
    unsigned char in[8192];
    while ((n = read(fds[0], in, sizeof(in))) > 0) {
        for (ssize_t j = 0; j < n; j++)
            sum = sum * 33 + in[j];
        total += (unsigned long)n;
    }
    close(fds[0]);
    waitpid(pid, &status, 0);
    printf("transferred %lu bytes, checksum %lx\n", total, sum);

    /* A blocked read and a signal: EINTR without SA_RESTART... */
    pipe(fds);
    handle(SIGALRM, on_alarm, 0);
    alarms = 0;
    pid = signal_later(SIGALRM, fds[1]);
    EXPECT_ERRNO("read interrupted, no SA_RESTART", read(fds[0], buf, 1), EINTR);
    EXPECT_RET("handler ran", alarms, 1);
    waitpid(pid, &status, 0);
    EXPECT_RET("the byte still arrives", read(fds[0], buf, 1), 1);
    /* ...and restarted with it: the read returns the byte written after the signal. */
    handle(SIGALRM, on_alarm, SA_RESTART);
    pid = signal_later(SIGALRM, fds[1]);
    EXPECT_RET("read restarted by SA_RESTART", read(fds[0], buf, 1), 1);
    EXPECT_RET("handler ran again", alarms, 2);
    waitpid(pid, &status, 0);
    /* wait4 restarts the same way. */
    pid = fork();
    if (pid == 0) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        kill(getppid(), SIGALRM);
        nanosleep(&ts, NULL);
        _exit(4);
    }
    EXPECT_RET("waitpid restarted", waitpid(pid, &status, 0), pid);
    EXPECT_RET("child status", WEXITSTATUS(status), 4);
    close(fds[0]);
    close(fds[1]);
    return guest_ok();
}
