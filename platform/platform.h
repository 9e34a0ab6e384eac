/* The platform interface: the only door to guest execution. A platform gives the kernel address
 * spaces (mappings of the memory file at guest addresses) and contexts (a thread of guest code that
 * runs until it makes a syscall, faults, gets a signal, or is interrupted). The kernel's mm is the
 * source of truth for mappings; a platform only mirrors what it is told. */
#ifndef RUNSC_PLATFORM_PLATFORM_H
#define RUNSC_PLATFORM_PLATFORM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "regs.h"

struct platform;
struct platform_as;
struct platform_ctx;

enum platform_event_kind {
    PLATFORM_EVENT_SYSCALL,     /* the guest made a syscall: number and args are in regs */
    PLATFORM_EVENT_FAULT,       /* a page fault at fault_addr the mm may resolve */
    PLATFORM_EVENT_SIGNAL,      /* a synchronous exception (info) to deliver to the guest */
    PLATFORM_EVENT_INTERRUPTED, /* platform_ctx_interrupt was called, or a host signal came */
};

enum platform_access { ACCESS_READ = 1, ACCESS_WRITE = 2, ACCESS_EXEC = 4 };

struct platform_event {
    enum platform_event_kind kind;
    uint64_t fault_addr;  /* FAULT: the faulting address */
    int fault_access;     /* FAULT: ACCESS_* known to be attempted, or 0 if the platform can't tell */
    siginfo_t info;       /* FAULT and SIGNAL: what the host reported */
};

struct platform_config {
    int memfile_fd;       /* the memory file, mapped into address spaces by offset */
};

/* Whether `name` names a platform this build has; `known` gets their names, comma-separated. */
bool platform_is_known(const char *name, const char **known);

/* Sets up the platform. For ptrace this forks the stub factory, so it must be called before the
 * sentry starts any thread. Returns 0 or -errno. */
int platform_create(const char *name, const struct platform_config *cfg, struct platform **out);
void platform_destroy(struct platform *p);
const char *platform_name(const struct platform *p);
/* The end of the guest-usable address range (exclusive). */
uint64_t platform_max_user_address(const struct platform *p);

/* Address spaces. Mapping operations act through the calling thread's context in that address
 * space (a ptrace stub thread it traces), so they must be called from a thread that has one. */
int platform_as_create(struct platform *p, struct platform_as **out);
int platform_as_map(struct platform_as *as, uint64_t addr, uint64_t len, int prot,
                    uint64_t memfile_offset);
/* One mapping of a batch: what platform_as_map takes. */
struct platform_mapping {
    uint64_t addr, len;
    int prot;
    uint64_t memfile_offset;
};
/* Makes the `n` mappings in order, as as many platform_as_map calls would, in as few round trips
 * to the address space as the platform can. Returns 0 with *done = n, or the -errno of mapping
 * *done: those before it are made; that one's range may have lost its old mapping; the later ones
 * are not made. */
int platform_as_map_batch(struct platform_as *as, const struct platform_mapping *maps, size_t n,
                          size_t *done);
int platform_as_unmap(struct platform_as *as, uint64_t addr, uint64_t len);
void platform_as_release(struct platform_as *as);
/* What the host's /proc shows of the host process that runs an address space (Linux's struct
 * prctl_mm_map), so host tools (ps, `docker top`) see the guest's command line. The host reads
 * /proc/PID/cmdline only from anonymous memory (fs/proc/base.c uses FOLL_ANON since Linux 4.17),
 * never from the memory-file mappings that hold the guest's stack: so the platform keeps its own
 * copy of the argv strings. Addresses are guest addresses, non-zero, each pair ordered and
 * start_code < end_code. */
struct platform_proc_image {
    uint64_t start_code, end_code, start_data, end_data;
    uint64_t start_brk, brk, start_stack;
    const char *cmdline; /* the argv strings, each NUL-terminated, as /proc/PID/cmdline reads */
    size_t cmdline_len;  /* a platform may keep only a prefix (then ending in a NUL) */
};
/* Publishes `image` for `as` (through the calling thread's context, as mapping does). Returns 0,
 * -ENOSYS where a platform has no host process per address space, or -errno. A platform may give
 * the host the image later, with its next mapping call or context switch in `as`: then a refusal
 * by the host goes unreported (only host tools' view is at stake). */
int platform_as_set_proc_image(struct platform_as *as, const struct platform_proc_image *image);

/* Contexts: one per guest thread, bound to the calling host thread (for ptrace, the tracer). */
int platform_ctx_create(struct platform_as *as, struct platform_ctx **out);
/* A new guest thread in the same address space (CLONE_VM|CLONE_THREAD) takes two steps, because
 * a ptrace context belongs to the thread that creates it: the parent's thread makes a host thread
 * in the address space (platform_ctx_new_thread, through its own context), and the child's thread
 * takes it over (platform_ctx_create_for_thread). Both return 0 or -errno. */
int platform_ctx_new_thread(struct platform_ctx *parent, int *thread_handle);
int platform_ctx_create_for_thread(struct platform_as *as, int thread_handle,
                                   struct platform_ctx **out);
/* The registers of a thread just created, to take segment selectors and flags from. */
void platform_ctx_initial_regs(struct platform_ctx *ctx, struct arch_regs *regs);
/* Reads and writes the guest's FPU state (signal frames, execve). Return 0 or -errno. */
int platform_ctx_get_fpstate(struct platform_ctx *ctx, struct arch_fpstate *fp);
int platform_ctx_set_fpstate(struct platform_ctx *ctx, const struct arch_fpstate *fp);
/* Runs guest code with `regs` until an event; on return `regs` holds the guest's registers.
 * Returns 0 with *ev filled, or -errno if the context is dead (e.g. the stub was killed). */
int platform_ctx_switch(struct platform_ctx *ctx, struct arch_regs *regs,
                        struct platform_event *ev);
/* Makes a running or about-to-run switch return PLATFORM_EVENT_INTERRUPTED. Any thread. */
void platform_ctx_interrupt(struct platform_ctx *ctx);
/* Names the context's host thread after the guest thread (its comm, at most 15 bytes), for host
 * tools. Called by the thread the context belongs to. Returns 0, -ENOSYS where contexts have no
 * host thread of their own, or -errno. Like the image, the name may reach the host later, with
 * that thread's next mapping call or switch. */
int platform_ctx_set_name(struct platform_ctx *ctx, const char *name);
/* The host process id of the context's thread, for diagnostics and `runsc ps`. */
int platform_ctx_host_tid(const struct platform_ctx *ctx);
void platform_ctx_release(struct platform_ctx *ctx);

#endif
