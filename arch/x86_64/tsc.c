/* The invariant-TSC check behind the vDSO's choice between the TSC and the syscall. */
#include "tsc.h"

#include <cpuid.h>
#include <stddef.h>

#define CPUID_APM_LEAF 0x80000007U /* Advanced Power Management information */
#define CPUID_APM_EDX_INVARIANT_TSC (1U << 8)
#define CPUID_1_EDX_TSC (1U << 4)

bool arch_tsc_invariant(void)
{
    unsigned a, b, c, d;

    if (!__get_cpuid(1, &a, &b, &c, &d) || !(d & CPUID_1_EDX_TSC))
        return false;
    if ((unsigned)__get_cpuid_max(0x80000000U, NULL) < CPUID_APM_LEAF)
        return false;
    __cpuid(CPUID_APM_LEAF, a, b, c, d);
    return (d & CPUID_APM_EDX_INVARIANT_TSC) != 0;
}
