/* The stub factory: a process forked from the sandbox before the sentry starts threads, so the
 * multi-threaded sentry never forks. It keeps a few stubs ready and hands one out per request. A
 * stub is a process that keeps only the memory file and the stub code page, confines itself with
 * a seccomp filter that kills it for any syscall not made from the stub page, and stops itself
 * for a sentry thread to seize. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/rseq.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "platform/ptrace/ptrace_internal.h"
#include "platform/ptrace/stub_pool.h"

/* How long a factory may take to notice the sentry closed its socket and exit by itself. */
#define FACTORY_EXIT_GRACE_MS 500
#include "stub.h"

#define STUB_PAGE_SIZE 4096UL

/* The stub's seccomp filter: allow a syscall only when the instruction after it lies in the stub
 * page; kill the whole stub otherwise. Guest syscalls never reach it: PTRACE_SYSEMU stops them
 * before seccomp runs, so this filter only matters if a stub ever runs without its tracer. */
static void stub_build_filter(uint64_t stub_base, struct sock_filter *f, unsigned short *len)
{
    uint32_t base_hi = (uint32_t)(stub_base >> 32);
    uint32_t base_lo = (uint32_t)stub_base;
    unsigned short n = 0;

    f[n++] =
        (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH_AUDIT_ARCH, 0, 5);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                          offsetof(struct seccomp_data, instruction_pointer) + 4);
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, base_hi, 0, 3);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                          offsetof(struct seccomp_data, instruction_pointer));
    /* The page never straddles a 4 GiB boundary, so the low word decides: lo in [base, base+4K). */
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, base_lo, 0, 1);
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K,
                                          base_lo + (uint32_t)STUB_PAGE_SIZE, 0, 1);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    *len = n;
}

/* Closes every fd but the `n` in `keep` (ascending). */
static void close_all_but(const int *keep, int n)
{
    unsigned lo = 0;

    for (int i = 0; i < n; i++) {
        if (keep[i] < 0)
            continue;
        if ((unsigned)keep[i] > lo)
            syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0);
        lo = (unsigned)keep[i] + 1;
    }
    syscall(SYS_close_range, lo, ~0U, 0);
}

/* Maps the stub's private pages below the stub page: its batch page, read-only, from the batch
 * file at its pid's page, and its anonymous scratch pages. */
static int stub_map_private(const struct ptrace_platform *p)
{
    pid_t pid = getpid();

    if (ptrace_batch_has_page(p, pid) &&
        mmap((void *)p->batch_addr, PTRACE_BATCH_PAGE, PROT_READ, MAP_SHARED | MAP_FIXED,
             p->batch_fd, (off_t)pid * (off_t)PTRACE_BATCH_PAGE) == MAP_FAILED)
        return -1;
    if (mmap((void *)p->scratch_addr, PTRACE_SCRATCH_SIZE, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
        return -1;
    return 0;
}

/* Sorts the `n` fds of `keep` in place, for close_all_but. */
static void fds_sort(int *keep, int n)
{
    for (int i = 1; i < n; i++) {
        for (int j = i; j > 0 && keep[j] < keep[j - 1]; j--) {
            int tmp = keep[j];
            keep[j] = keep[j - 1];
            keep[j - 1] = tmp;
        }
    }
}

/* In the new stub (or, with `template_sock` >= 0, the template that forks stubs): drop everything
 * but the memory file and the private pages, then enter the stub page for good. */
static __attribute__((noreturn)) void stub_child(const struct ptrace_platform *p, int memfile_fd,
                                                 int template_sock)
{
    struct sock_filter filter[16];
    struct sock_fprog prog;
    uint64_t stub_base = p->stub_base;
    struct arch_stub_template *template = NULL;

    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        _exit(120);
    if (template_sock >= 0) {
        /* The template needs no batch page of its own: its children map theirs. */
        if (mmap((void *)p->scratch_addr, PTRACE_SCRATCH_SIZE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
            _exit(124);
        template = (struct arch_stub_template *)p->scratch_addr;
        *template = (struct arch_stub_template){
            .sock = template_sock,
            .batch_fd = p->batch_fd,
            .batch_pages = p->batch_fd >= 0 ? p->batch_pids : 0,
            .batch_addr = p->batch_addr,
            .pid = getpid(),
        };
        int keep[3] = {memfile_fd, template_sock, p->batch_fd};
        fds_sort(keep, 3);
        close_all_but(keep, 3);
    } else {
        if (stub_map_private(p) != 0)
            _exit(124);
        close_all_but(&memfile_fd, 1);
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        _exit(121);
    /* glibc registered an rseq area in our TLS and fork kept it; the kernel updates it on every
     * return to user mode and kills the process with SIGSEGV once it is unmapped. */
    if (__rseq_size > 0) {
        /* Unregistering needs the length glibc registered with: sizeof(struct rseq) in the
         * glibc versions that report only the feature size in __rseq_size. */
        void *area = (char *)__builtin_thread_pointer() + __rseq_offset;
        if (syscall(SYS_rseq, area, sizeof(struct rseq), RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != 0 &&
            syscall(SYS_rseq, area, __rseq_size, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != 0)
            _exit(123);
    }
    stub_build_filter(stub_base, filter, &prog.len);
    prog.filter = filter;

    void (*init)(struct sock_fprog *, uint64_t, uint64_t, struct arch_stub_template *) =
        (void (*)(struct sock_fprog *, uint64_t, uint64_t, struct arch_stub_template *))(
            stub_base + (uint64_t)(arch_stub_init - arch_stub_code_start));
    init(&prog, ARCH_HOST_USER_TOP, p->batch_addr, template);
    _exit(122); /* not reached: stub_init never returns */
}

/* The template stub the factory asks for new stubs: forking it copies a handful of mappings where
 * forking the factory copies a whole process image, which each stub would then unmap. */
struct factory_template {
    pid_t pid;
    int sock; /* -1: no template, the factory forks stubs itself */
};

static void template_start(struct factory_template *tp, const struct ptrace_platform *p,
                           int memfile_fd)
{
    int sv[2];

    tp->pid = -1;
    tp->sock = -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        stub_child(p, memfile_fd, sv[1]);
    }
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        return;
    }
    tp->pid = pid;
    tp->sock = sv[0];
}

/* Forks a stub and waits until it has stopped itself, so the seizing thread finds it in
 * group-stop rather than racing its SIGSTOP. Returns its pid or -errno. */
static pid_t factory_spawn_stub(struct factory_template *tp, const struct ptrace_platform *p,
                                int memfile_fd)
{
    int status;

    if (tp->sock >= 0) {
        char req = 'n';
        int32_t reply;
        if (write(tp->sock, &req, 1) == 1 && read(tp->sock, &reply, sizeof(reply)) == sizeof(reply))
            return reply;
        /* The template is gone: fork from here from now on. */
        close(tp->sock);
        tp->sock = -1;
        kill(tp->pid, SIGKILL);
    }
    pid_t pid = fork();
    if (pid == 0)
        stub_child(p, memfile_fd, -1);
    if (pid < 0)
        return -errno;
    while (waitpid(pid, &status, WUNTRACED) < 0) {
        if (errno != EINTR) {
            int err = -errno;
            kill(pid, SIGKILL);
            return err;
        }
    }
    return WIFSTOPPED(status) ? pid : -ECHILD;
}

/* Whether a request is waiting on `sock` (or the sentry hung up): then serve it before refilling.
 */
static bool factory_request_pending(int sock)
{
    struct pollfd pfd = {.fd = sock, .events = POLLIN};

    return poll(&pfd, 1, 0) != 0;
}

/* Serves stub requests, handing out a ready stub from the pool when there is one and refilling the
 * pool while no request waits: forking and initializing a stub takes most of a millisecond, which
 * then runs in parallel with the guest instead of inside its fork or execve. */
static void factory_serve(int sock, const struct ptrace_platform *p, int memfile_fd)
{
    struct sigaction sa = {.sa_handler = SIG_DFL, .sa_flags = SA_NOCLDWAIT};
    struct stub_pool pool;
    struct factory_template template;

    sigaction(SIGCHLD, &sa, NULL);
    template_start(&template, p, memfile_fd);
    stub_pool_init(&pool);
    for (;;) {
        if (!stub_pool_full(&pool) && !factory_request_pending(sock)) {
            pid_t pid = factory_spawn_stub(&template, p, memfile_fd);
            if (pid > 0) {
                stub_pool_push(&pool, pid);
                continue;
            }
            /* Out of processes or memory: stop refilling until someone asks. */
        }
        char req;
        ssize_t n = read(sock, &req, 1);
        if (n == 0 || (n < 0 && errno != EINTR)) {
            /* The sentry is gone: so are the stubs nobody will take. Their PR_SET_PDEATHSIG
             * would not do it: it belongs to the thread that set it, and the stub runs on. */
            for (pid_t pid; (pid = stub_pool_pop(&pool)) > 0;)
                kill(pid, SIGKILL);
            _exit(n == 0 ? 0 : 1);
        }
        if (n < 0)
            continue;
        int32_t reply = stub_pool_pop(&pool);
        if (reply < 0)
            reply = factory_spawn_stub(&template, p, memfile_fd);
        if (write(sock, &reply, sizeof(reply)) != sizeof(reply))
            _exit(1);
    }
}

int ptrace_factory_start(struct ptrace_platform *p, int memfile_fd)
{
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int err = -errno;
        close(sv[0]);
        close(sv[1]);
        return err;
    }
    if (pid == 0) {
        /* The factory keeps only its socket and the memory file; it gets its own session so
         * terminal signals meant for the sandbox never reach stubs. */
        close(sv[0]);
        int keep[3] = {sv[1], memfile_fd, p->batch_fd};
        fds_sort(keep, 3);
        close_all_but(keep, 3);
        /* Stubs map their own page of the batch file by its fd: the whole of it is not theirs
         * to inherit. */
        if (p->batch_base)
            munmap(p->batch_base, (size_t)(p->batch_pids * PTRACE_BATCH_PAGE));
        setsid();
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        prctl(PR_SET_NAME, "runsc-stubs");
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        factory_serve(sv[1], p, memfile_fd);
        _exit(0);
    }
    close(sv[1]);
    p->factory_pid = pid;
    p->factory_sock = sv[0];
    return 0;
}

void ptrace_factory_stop(struct ptrace_platform *p)
{
    if (p->factory_sock >= 0) {
        close(p->factory_sock);
        p->factory_sock = -1;
    }
    if (p->factory_pid > 0) {
        /* The factory sees its socket close and kills the ready stubs it holds before it exits;
         * give it a moment, then make sure. */
        for (int waited_ms = 0; waited_ms < FACTORY_EXIT_GRACE_MS; waited_ms++) {
            if (waitpid(p->factory_pid, NULL, WNOHANG) == p->factory_pid) {
                p->factory_pid = 0;
                return;
            }
            usleep(1000);
        }
        kill(p->factory_pid, SIGKILL);
        waitpid(p->factory_pid, NULL, 0);
        p->factory_pid = 0;
    }
}

pid_t ptrace_factory_new_stub(struct ptrace_platform *p)
{
    char req = 'n';
    int32_t reply;

    pthread_mutex_lock(&p->factory_lock);
    ssize_t n = write(p->factory_sock, &req, 1);
    if (n == 1)
        n = read(p->factory_sock, &reply, sizeof(reply));
    pthread_mutex_unlock(&p->factory_lock);
    if (n != sizeof(reply)) {
        log_error("ptrace: stub factory is gone");
        return -EIO;
    }
    return reply;
}
