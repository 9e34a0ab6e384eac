/* Private to the ptrace platform. Lock order: ptrace.c's platforms_lock, then
 * ptrace_platform.as_list_lock, then ptrace_as.lock, then ptrace_platform.factory_lock. */
#ifndef RUNSC_PLATFORM_PTRACE_INTERNAL_H
#define RUNSC_PLATFORM_PTRACE_INTERNAL_H

#include <linux/prctl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "platform/platform_impl.h"

/* The stubs' private scratch pages, just below the stub page (identity.c). */
#define PTRACE_SCRATCH_SIZE (2 * 4096UL)
/* Below them, each stub's batch page (batch.c): the sentry writes mapping lists there through its
 * own mapping of the batch file, which the stub maps read-only, so guest code in the stub can read
 * but never change a list the stub is about to act on. */
#define PTRACE_BATCH_PAGE 4096UL
/* The batch file holds one page per possible pid: a stub's page is at its pid's, which no other
 * live stub has. */
#define PTRACE_BATCH_PIDS_DEFAULT 4194304UL /* PID_MAX_LIMIT on 64-bit */

/* The signal platform_ctx_interrupt sends a stub thread to make its tracer's wait return. Stubs
 * have no children, so a real SIGCHLD never reaches them. */
#define PTRACE_INTERRUPT_SIGNAL SIGCHLD

struct ptrace_platform {
    struct platform base;
    uint64_t stub_base;     /* the stub code page in every stub (and in the sentry) */
    uint64_t scratch_addr;  /* PTRACE_SCRATCH_SIZE of stub-private data below the stub page */
    uint64_t batch_addr;    /* PTRACE_BATCH_PAGE below the scratch pages */
    uint64_t max_user_addr; /* guest addresses end here: the batch page */
    int batch_fd;           /* the batch file (memfd), -1 if none: then no batches */
    char *batch_base;       /* the sentry's shared mapping of all of it */
    uint64_t batch_pids;    /* its size in pages: stubs with lower pids have a batch page */
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
    bool name_pending;          /* `name` is yet to be given to the host (as->lock) */
    atomic_bool interrupt;      /* an interrupt was requested and not yet reported */
    /* Stops of this thread by kind, for the debug log when its address space goes: guest
     * syscalls, guest faults, other switch stops, injected syscalls. Its tracer only. */
    uint64_t stops_syscall, stops_fault, stops_other, stops_inject;
    struct ptrace_thread *next; /* in ptrace_as.threads, guarded by ptrace_as.lock */
};

struct ptrace_as {
    struct platform_as base;
    struct ptrace_platform *platform;
    pid_t pid;                    /* the stub process */
    pthread_mutex_t lock;         /* protects threads, scratch_mapped and the scratch pages */
    struct ptrace_thread *threads;
    bool scratch_mapped; /* the stub has its scratch pages */
    bool batch_used;     /* the stub's batch page was written: cleared when the stub goes */
    /* A process image (identity.c) waiting to be given to the host: its PR_SET_MM_MAP rides on
     * the next batch of any thread of the stub, or runs before the next switch. */
    atomic_bool image_pending; /* written with as->lock held; read without it as a hint */
    struct prctl_mm_map pending_image; /* as->lock */
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

/* batch.c */
int ptrace_batch_create(struct ptrace_platform *p);
void ptrace_batch_destroy(struct ptrace_platform *p);
/* Whether the stub `pid` has a batch page. */
bool ptrace_batch_has_page(const struct ptrace_platform *p, pid_t pid);
/* Runs what waits for the host in `as` (its image) and in `t` (its name) in one stop of `t`, the
 * calling thread's (as->lock held). Returns 0 or -errno. */
int ptrace_batch_flush(struct ptrace_as *as, struct ptrace_thread *t);
/* Frees the batch page of `as` (before its stub's pid can be reused). */
void ptrace_batch_release(struct ptrace_as *as);
int ptrace_as_map_batch(struct platform_as *as, const struct platform_mapping *maps, size_t n,
                        size_t *done);

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
/* Runs the stopped stub thread `t` from `regs` (rip at stub code ending in an int3) until that
 * int3 stops it; `regs` then holds its registers. Returns 0 or -errno. */
int ptrace_run_stub(struct ptrace_thread *t, struct arch_regs *regs);
/* Waits for the next stop of `t`; returns the wait status or -errno. */
int ptrace_wait_stop(struct ptrace_thread *t, int *status);

#endif
