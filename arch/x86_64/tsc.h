/* The x86 time-stamp counter as the sentry's vDSO timekeeping uses it. */
#ifndef RUNSC_ARCH_X86_64_TSC_H
#define RUNSC_ARCH_X86_64_TSC_H

#include <stdbool.h>
#include <stdint.h>

/* Reads the TSC after earlier loads have completed (lfence; rdtsc), as the vDSO does. */
static inline uint64_t arch_tsc_read(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence\n\trdtsc" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

/* Whether the TSC ticks at a constant rate in every P-, C- and T-state (cpuid 0x80000007 EDX
 * bit 8, "invariant TSC"; Linux's constant_tsc/nonstop_tsc): only then is it a clock. */
bool arch_tsc_invariant(void);

#endif
