/* Private to the ptrace platform. Lock order: ptrace.c's platforms_lock, then
 * ptrace_platform.as_list_lock, then ptrace_as.lock, then ptrace_platform.factory_lock. */
#ifndef RUNSC_PLATFORM_PTRACE_INTERNAL_H
#define RUNSC_PLATFORM_PTRACE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "platform/platform_impl.h"

/* The stubs' private scratch pages, just below the stub page (identity.c). */
#define PTRACE_SCRATCH_SIZE (2 * 4096UL)

/* The signal platform_ctx_interrupt sends a stub thread to make its tracer's wait return. Stubs
 * have no children, so a real SIGCHLD never reaches them. */
#define PTRACE_INTERRUPT_SIGNAL SIGCHLD

struct ptrace_platform {
    struct platform base;
    uint64_t stub_base;     /* the stub code page in every stub (and in the sentry) */
    uint64_t scratch_addr;  /* PTRACE_SCRATCH_SIZE of stub-private data below the stub page */
    uint64_t max_user_addr; /* guest addresses end here: the scratch page */
    pid_t factory_pid;
    pthread_mutex_t factory_lock; /* serializes requests on factory_sock */
    int factory_sock;             /* guarded by factory_lock */
    int memfile_fd;               /* the memory file, at the same number in every stub */
    pthread_mutex_t as_list_lock; /* protects as_list and every ptrace_as.as_next */
    struct ptrace_as *as_list;    /* live address spaces, for a tracer's exit (ptrace.c) */
    struct ptrace_platform *next_platform; /* in ptrace.c's platforms (platforms_lock) */
};

/* One stub thread, traced by one sentry thread. */
struct ptrace_thread {
    pid_t tid;
    pid_t tracer_tid;           /* the sentry thread allowed to drive it */
    struct arch_regs initial;   /* registers when seized: segment selectors for exec */
    int cpu;                    /* the CPU the stub is pinned to, -1 if not pinned */
    bool dead;
    /* Not running a guest thread, waiting for reuse: detached in the stub's park loop if
     * tracer_tid is 0, else still stopped under tracer_tid, which takes it back without a seize
     * (and detaches it before it exits, or EXITKILL would kill the stub). as->lock. */
    bool parked;
    bool seized;                /* initial holds its registers from a first seize */
    char name[16];              /* the host comm this platform last gave it, "" if none yet;
                                   its tracer only */
    atomic_bool interrupt;      /* an interrupt was requested and not yet reported */
    struct ptrace_thread *next; /* in ptrace_as.threads, guarded by ptrace_as.lock */
};

struct ptrace_as {
    struct platform_as base;
    struct ptrace_platform *platform;
    pid_t pid;                    /* the stub process */
    pthread_mutex_t lock;         /* protects threads, scratch_mapped and the scratch pages */
    struct ptrace_thread *threads;
    bool scratch_mapped; /* the stub has its scratch pages */
    struct ptrace_as *as_next; /* in platform->as_list (platform->as_list_lock) */
};

struct ptrace_ctx {
    struct platform_ctx base;
    struct ptrace_as *as;
    struct ptrace_thread *thread;
};

/* ptrace.c */
/* The stub thread of `as` that the calling sentry thread traces, or NULL (as->lock held). */
struct ptrace_thread *ptrace_as_thread_for_caller(struct ptrace_as *as);

/* identity.c: what host tools see of a stub (its comm and /proc/PID/cmdline). */
int ptrace_as_set_proc_image(struct platform_as *as, const struct platform_proc_image *image);
int ptrace_ctx_set_name(struct platform_ctx *ctx, const char *name);

/* factory.c */
int ptrace_factory_start(struct ptrace_platform *p, int memfile_fd);
void ptrace_factory_stop(struct ptrace_platform *p);
/* Asks the factory for a new stub process; returns its pid (stopped by SIGSTOP) or -errno. */
pid_t ptrace_factory_new_stub(struct ptrace_platform *p);

/* inject.c */
/* Runs syscall `nr` in the stopped stub thread `t` at the stub page's `entry` (a `syscall`
 * followed by an int3 for the calling thread); returns its result (or -errno). */
long ptrace_inject_at(struct ptrace_platform *p, struct ptrace_thread *t, const char *entry,
                      long nr, const uint64_t args[6]);
long ptrace_inject_syscall(struct ptrace_platform *p, struct ptrace_thread *t, long nr,
                           const uint64_t args[6]);
/* Waits for the next stop of `t`; returns the wait status or -errno. */
int ptrace_wait_stop(struct ptrace_thread *t, int *status);

#endif
