/* /proc/cpuinfo's text for this architecture, from the host CPU's cpuid. */
#ifndef RUNSC_ARCH_X86_64_CPUINFO_H
#define RUNSC_ARCH_X86_64_CPUINFO_H

/* The whole file for `ncpus` processors, in Linux's x86 format (show_cpuinfo); malloc'd, NULL
 * when out of memory. */
char *arch_cpuinfo_text(unsigned ncpus);

#endif
