/* The guest's vDSO: clock_gettime, gettimeofday, time, clock_getres and getcpu answered from the
 * vvar page (arch/x86_64/vvar.h) and the TSC, without a syscall. Clocks the page does not serve,
 * and every clock when the host TSC is unusable, take the real syscall, which the sentry handles.
 * Freestanding: built by itself into a shared object (vdso.lds), no libc, no relocations. */
#include <asm/unistd.h>
#include <stddef.h>
#include <stdint.h>

#include "vvar.h"

#define NSEC_PER_SEC 1000000000ULL

/* The Linux ABI's types, spelled out: there are no libc headers here. */
struct vdso_timespec {
    int64_t tv_sec;
    int64_t tv_nsec;
};
struct vdso_timeval {
    int64_t tv_sec;
    int64_t tv_usec;
};
struct vdso_timezone {
    int tz_minuteswest;
    int tz_dsttime;
};

/* The vvar page, one page below our ELF header; the linker script places the symbol, and hidden
 * visibility makes every access RIP-relative, so the image needs no relocation. */
extern struct vvar_data vdso_vvar __attribute__((visibility("hidden")));

static long vdso_syscall2(long nr, long a0, long a1)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a0), "S"(a1) : "rcx", "r11", "memory");
    return ret;
}

/* lfence orders the read after earlier loads, as Linux's rdtsc_ordered() does: without it the
 * TSC could be read before the seqcount, and a snapshot could pair an old base with a new TSC. */
static uint64_t vdso_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence\n\trdtsc" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

/* Reads `clock` in nanoseconds into *ns: 0, or -1 when the page does not serve it. */
static int vdso_read_ns(int clock, uint64_t *ns)
{
    const struct vvar_data *vd = &vdso_vvar;

    if (clock < 0 || clock >= VVAR_NCLOCKS)
        return -1;
    for (;;) {
        /* Acquire pairs with the sentry's release store of the even count after its writes. */
        uint32_t seq = __atomic_load_n(&vd->seq, __ATOMIC_ACQUIRE);
        if (seq & 1) {
            __builtin_ia32_pause();
            continue;
        }
        uint32_t mode = __atomic_load_n(&vd->mode, __ATOMIC_RELAXED);
        uint32_t mask = __atomic_load_n(&vd->clock_mask, __ATOMIC_RELAXED);
        uint64_t base_tsc = __atomic_load_n(&vd->base_tsc, __ATOMIC_RELAXED);
        uint64_t mult = __atomic_load_n(&vd->mult, __ATOMIC_RELAXED);
        uint32_t shift = __atomic_load_n(&vd->shift, __ATOMIC_RELAXED);
        int64_t base = __atomic_load_n(&vd->base_ns[clock], __ATOMIC_RELAXED);
        uint64_t tsc = vdso_rdtsc();
        /* The fence keeps the loads above before the re-check of the count (seqcount read). */
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&vd->seq, __ATOMIC_RELAXED) != seq)
            continue;
        if (mode != VVAR_MODE_TSC || !(mask & (1U << clock)) || shift > 63)
            return -1;
        /* A TSC a hair behind base_tsc (read on another CPU) counts as no time passed. */
        uint64_t delta = tsc > base_tsc ? tsc - base_tsc : 0;
        *ns = (uint64_t)base + (uint64_t)(((unsigned __int128)delta * mult) >> shift);
        return 0;
    }
}

int __vdso_clock_gettime(int clock, struct vdso_timespec *ts)
{
    uint64_t ns;

    if (vdso_read_ns(clock, &ns) != 0)
        return (int)vdso_syscall2(__NR_clock_gettime, clock, (long)ts);
    ts->tv_sec = (int64_t)(ns / NSEC_PER_SEC);
    ts->tv_nsec = (int64_t)(ns % NSEC_PER_SEC);
    return 0;
}

int __vdso_gettimeofday(struct vdso_timeval *tv, struct vdso_timezone *tz)
{
    uint64_t ns;

    if (vdso_read_ns(VVAR_CLOCK_REALTIME, &ns) != 0)
        return (int)vdso_syscall2(__NR_gettimeofday, (long)tv, (long)tz);
    if (tv) {
        tv->tv_sec = (int64_t)(ns / NSEC_PER_SEC);
        tv->tv_usec = (int64_t)(ns % NSEC_PER_SEC / 1000);
    }
    if (tz) {
        /* The kernel's sys_tz, which nothing in the sandbox sets (as sys_gettimeofday). */
        tz->tz_minuteswest = 0;
        tz->tz_dsttime = 0;
    }
    return 0;
}

int64_t __vdso_time(int64_t *t)
{
    uint64_t ns;

    if (vdso_read_ns(VVAR_CLOCK_REALTIME, &ns) != 0)
        return vdso_syscall2(__NR_time, (long)t, 0);
    int64_t sec = (int64_t)(ns / NSEC_PER_SEC);
    if (t)
        *t = sec;
    return sec;
}

int __vdso_clock_getres(int clock, struct vdso_timespec *res)
{
    const struct vvar_data *vd = &vdso_vvar;

    /* The resolutions never change after the sentry's first write: no seqcount needed. */
    if (clock < 0 || clock >= VVAR_NCLOCKS ||
        __atomic_load_n(&vd->mode, __ATOMIC_RELAXED) != VVAR_MODE_TSC ||
        !(__atomic_load_n(&vd->clock_mask, __ATOMIC_RELAXED) & (1U << clock)))
        return (int)vdso_syscall2(__NR_clock_getres, clock, (long)res);
    if (res) {
        res->tv_sec = 0;
        res->tv_nsec = __atomic_load_n(&vd->res_ns[clock], __ATOMIC_RELAXED);
    }
    return 0;
}

int __vdso_getcpu(unsigned *cpu, unsigned *node, void *cache)
{
    const struct vvar_data *vd = &vdso_vvar;

    if (cpu)
        *cpu = __atomic_load_n(&vd->cpu, __ATOMIC_RELAXED);
    if (node)
        *node = __atomic_load_n(&vd->node, __ATOMIC_RELAXED);
    return 0;
}

/* The unprefixed names Linux's vDSO also exports. */
int clock_gettime(int clock, struct vdso_timespec *ts)
    __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct vdso_timeval *tv, struct vdso_timezone *tz)
    __attribute__((weak, alias("__vdso_gettimeofday")));
int64_t time(int64_t *t) __attribute__((weak, alias("__vdso_time")));
int clock_getres(int clock, struct vdso_timespec *res)
    __attribute__((weak, alias("__vdso_clock_getres")));
int getcpu(unsigned *cpu, unsigned *node, void *cache)
    __attribute__((weak, alias("__vdso_getcpu")));
