/* The vDSO's data page ("vvar"): the layout the sentry writes and the guest's vDSO reads. It sits
 * one page below the vDSO text in every address space and is the same memory-file page in all of
 * them. Freestanding: included by the vDSO itself (arch/x86_64/vdso/vdso.c) and by the sentry. */
#ifndef RUNSC_ARCH_X86_64_VVAR_H
#define RUNSC_ARCH_X86_64_VVAR_H

#include <stdint.h>

/* The vvar page's size and where it sits: VVAR_PAGES pages right below the vDSO's ELF header. */
#define VVAR_PAGES 1
#define VVAR_SIZE (VVAR_PAGES * 4096UL)

/* Clock ids as the Linux ABI numbers them (include/uapi/linux/time.h); the sentry checks they
 * equal <time.h>'s. The vDSO has no libc headers. */
#define VVAR_CLOCK_REALTIME 0
#define VVAR_CLOCK_MONOTONIC 1
#define VVAR_CLOCK_REALTIME_COARSE 5
#define VVAR_CLOCK_MONOTONIC_COARSE 6
#define VVAR_CLOCK_BOOTTIME 7
#define VVAR_CLOCK_TAI 11
#define VVAR_NCLOCKS 12

/* How the vDSO tells time. */
enum vvar_mode {
    VVAR_MODE_SYSCALL = 0, /* no usable TSC: every call is the real syscall (the sentry's) */
    VVAR_MODE_TSC = 1,     /* ns = base_ns[clock] + ((rdtsc - base_tsc) * mult) >> shift */
};

/* A clock the vDSO serves has its bit set in clock_mask. The fields after `seq` are written only
 * while `seq` is odd; a reader takes a snapshot between two equal even reads of `seq` (a seqcount,
 * like Linux's vdso_data). All accesses are atomic: the page is shared with running guests. */
struct vvar_data {
    uint32_t seq;        /* odd while the sentry is writing */
    uint32_t mode;       /* enum vvar_mode */
    uint32_t clock_mask; /* bit N: clock id N is served from the TSC */
    uint32_t shift;
    uint64_t base_tsc;             /* the TSC reading at which every base_ns holds */
    uint64_t mult;                 /* nanoseconds per TSC cycle, times 2^shift */
    int64_t base_ns[VVAR_NCLOCKS]; /* each served clock at base_tsc, in ns since its epoch */
    int64_t res_ns[VVAR_NCLOCKS];  /* clock_getres(2) of each served clock */
    uint32_t cpu, node;            /* what getcpu(2) answers */
};

#endif
