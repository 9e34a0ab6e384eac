/* A guest that throws random system calls at the sentry: children, each with a fixed seed,
 * make thousands of calls with random numbers and arguments (small integers, most of them fds
 * of real objects of every kind; -1, huge values, valid pointers into a guarded scratch area,
 * unmapped and kernel addresses), each child ended by a 300 ms timer or, failing that, by
 * SIGKILL after a second. The calls that would reach beyond the child (signals to others, new
 * processes, exec, the sandbox's time) are left out. Whatever the children do to themselves,
 * the sandbox must stay up: the parent then checks that fork, pipes and files still work and
 * prints "survived". Never run it natively.
 *
 * usage: syscall_fuzz ROUNDS CALLS_PER_CHILD FIRST_SEED */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SCRATCH_SIZE (64 * 1024)
#define LAST_SYSCALL 460
/* How long a child may run before its parent kills it. */
#define CHILD_SECONDS 1

static uint64_t rng_state;
/* Calls made by all children, in a page they share with the parent (shown at the end, for a
 * sense of how far each got before it killed itself). */
static volatile long *calls_made;

static uint64_t rnd(void)
{
    /* xorshift64*: deterministic per seed, so a failing seed can be replayed. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

/* Calls whose effect leaves the child: other processes' signals, new processes, a new
 * program, the whole sandbox's state (time, reboot), or waiting without end for others. */
static int excluded(long nr)
{
    static const long skip[] = {
        /* Calls that end the child at once more often than not, leaving the rest untried. */
        SYS_rt_sigreturn,
        SYS_arch_prctl,
        SYS_kill,
        SYS_tkill,
        SYS_tgkill,
        SYS_rt_sigqueueinfo,
        SYS_rt_tgsigqueueinfo,
        SYS_clone,
        SYS_fork,
        SYS_vfork,
        SYS_execve,
        SYS_execveat,
        SYS_reboot,
        SYS_exit_group,
        SYS_exit,
        SYS_clone3,
        SYS_pidfd_send_signal,
        SYS_setpgid,
        SYS_ptrace,
        SYS_settimeofday,
        SYS_clock_settime,
        SYS_adjtimex,
        SYS_clock_adjtime,
        SYS_sethostname,
        SYS_setdomainname,
        SYS_process_vm_writev,
        SYS_kexec_load,
        SYS_kexec_file_load,
        SYS_init_module,
        SYS_finit_module,
        SYS_delete_module,
        SYS_swapon,
        SYS_swapoff,
        SYS_acct,
        SYS_mount,
        SYS_umount2,
        SYS_pivot_root,
        SYS_chroot,
        SYS_unshare,
        SYS_setns,
        SYS_vhangup,
        SYS_sync,
        SYS_syncfs,
        SYS_iopl,
        SYS_ioperm,
        SYS_setsid,
    };
    for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++) {
        if (skip[i] == nr)
            return 1;
    }
    return 0;
}

static uint64_t arg(char *scratch)
{
    switch (rnd() % 10) {
    case 0:
        return 0;
    case 1:
        return (uint64_t)-1;
    case 2:
        return rnd() % 64;
    case 3:
        return rnd() % 4096;
    case 4:
        return (uint64_t)(uintptr_t)scratch;
    case 5:
        return (uint64_t)(uintptr_t)(scratch + rnd() % SCRATCH_SIZE);
    case 6:
        return 0x1000; /* never mapped */
    case 7:
        return 0xffff800000000000ULL; /* the kernel's half */
    case 8:
        return 1ULL << (rnd() % 64);
    default:
        return rnd();
    }
}

/* Small fd numbers are real objects of every kind, so that calls on them (most fd arguments
 * are small numbers) get past the fd lookup into each file type's code. */
static void open_objects(void)
{
    int fds[2];
    if (pipe(fds) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0 ||
        socketpair(AF_UNIX, SOCK_DGRAM, 0, fds) != 0)
        return;
    socket(AF_INET, SOCK_STREAM, 0);
    socket(AF_INET6, SOCK_DGRAM, 0);
    socket(AF_NETLINK, SOCK_RAW, 0);
    eventfd(1, 0);
    timerfd_create(CLOCK_MONOTONIC, 0);
    epoll_create1(0);
    inotify_init1(0);
    memfd_create("fuzz", 0);
    sigset_t all;
    sigfillset(&all);
    signalfd(-1, &all, 0);
    open("/proc/self/maps", O_RDONLY);
    open("/proc/self/status", O_RDONLY);
    open("/tmp", O_RDONLY | O_DIRECTORY);
    open("/tmp/syscall-fuzz-file", O_RDWR | O_CREAT, 0600);
    open("/dev/ptmx", O_RDWR | O_NOCTTY);
    open("/dev/zero", O_RDONLY);
    open("/", O_PATH);
}

/* The scratch area between two inaccessible pages: a call that writes past either end faults
 * there (EFAULT) instead of landing in whatever mapping the kernel put next to it. */
static char *scratch_area(void)
{
    char *guarded =
        mmap(NULL, SCRATCH_SIZE + 2 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (guarded == MAP_FAILED ||
        mprotect(guarded + 4096, SCRATCH_SIZE, PROT_READ | PROT_WRITE) != 0)
        return NULL;
    return guarded + 4096;
}

static void child(uint64_t seed, long calls)
{
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    /* Its own: stdio to nowhere, no core files. */
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
    }
    struct rlimit core = {0, 0};
    setrlimit(RLIMIT_CORE, &core);
    /* A call that blocks ends the child at its timer (unless it blocked SIGALRM). */
    struct itimerval soon = {{0, 0}, {0, 300000}};
    setitimer(ITIMER_REAL, &soon, NULL);
    open_objects();
    char *scratch = scratch_area();
    if (!scratch)
        _exit(2);
    for (long i = 0; i < calls; i++) {
        long nr = (long)(rnd() % LAST_SYSCALL);
        if (excluded(nr))
            continue;
        for (size_t j = 0; j < SCRATCH_SIZE; j += 512)
            scratch[j] = (char)rnd(); /* fresh garbage for paths and structs */
        __atomic_fetch_add(calls_made, 1, __ATOMIC_RELAXED);
        syscall(nr, arg(scratch), arg(scratch), arg(scratch), arg(scratch), arg(scratch),
                arg(scratch));
        /* A call may have taken the scratch area away or made it read-only: make a new one. */
        if (mprotect(scratch, SCRATCH_SIZE, PROT_READ | PROT_WRITE) != 0) {
            scratch = scratch_area();
            if (!scratch)
                _exit(3);
        }
    }
    _exit(0);
}

/* After the storm: the basics still work. */
static int sanity(void)
{
    int p[2];
    char buf[8] = "";
    if (pipe(p) != 0)
        return 1;
    pid_t pid = fork();
    if (pid < 0)
        return 2;
    if (pid == 0) {
        (void)!write(p[1], "alive", 5);
        _exit(7);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
        return 3;
    if (read(p[0], buf, 5) != 5 || memcmp(buf, "alive", 5) != 0)
        return 4;
    int fd = open("/tmp/syscall-fuzz-check", O_CREAT | O_TRUNC | O_RDWR, 0600);
    if (fd < 0 || write(fd, "ok", 2) != 2 || pread(fd, buf, 2, 0) != 2 || memcmp(buf, "ok", 2))
        return 5;
    close(fd);
    unlink("/tmp/syscall-fuzz-check");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s ROUNDS CALLS_PER_CHILD FIRST_SEED\n", argv[0]);
        return 2;
    }
    long rounds = atol(argv[1]), calls = atol(argv[2]);
    uint64_t seed = strtoull(argv[3], NULL, 10);
    int signalled = 0, exited = 0;
    calls_made = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (calls_made == MAP_FAILED) {
        perror("mmap");
        return 1;
    }

    for (long r = 0; r < rounds; r++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0)
            child(seed + (uint64_t)r, calls);
        /* A child may block or ignore its alarm and then wait for ever, or stop itself: after
         * CHILD_SECONDS it gets SIGKILL, which nothing it did can stop; a child that outlives
         * that too means the sandbox is stuck (the test's own timeout then says so). */
        int st = 0;
        for (int waited_ms = 0;; waited_ms += 10) {
            pid_t w = waitpid(pid, &st, WNOHANG | WUNTRACED);
            if (w == pid && !WIFSTOPPED(st))
                break;
            if (w == pid || waited_ms == CHILD_SECONDS * 1000)
                kill(pid, SIGKILL);
            struct timespec ten_ms = {0, 10 * 1000 * 1000};
            nanosleep(&ten_ms, NULL);
        }
        if (WIFSIGNALED(st))
            signalled++;
        else
            exited++;
    }
    int bad = sanity();
    if (bad) {
        printf("the sandbox is broken after the fuzzing: sanity check %d failed\n", bad);
        return 1;
    }
    printf("survived %ld children (%d exited, %d killed by signals; %ld calls made)\n", rounds,
           exited, signalled, *calls_made);
    return 0;
}
