/* Building the initial process stack: strings, argv, envp and the auxiliary vector. */
#ifndef RUNSC_SENTRY_LOADER_STACK_H
#define RUNSC_SENTRY_LOADER_STACK_H

#include <stdint.h>
#include <sys/types.h>

struct mm;

struct stack_info {
    char *const *argv;
    char *const *envp;
    const char *execfn;
    uint64_t entry, phdr, phent, phnum;
    uint64_t interp_base; /* AT_BASE: where the interpreter is loaded, 0 without one */
    uint64_t vdso_base;   /* AT_SYSINFO_EHDR: the vDSO's ELF header, 0 without one */
    uid_t uid, euid;
    gid_t gid, egid;
};

struct mm_proc_ranges;

/* Writes the initial stack below `top` (within `size` bytes) and returns the stack pointer,
 * which points at argc and is 16-byte aligned. Records where argv, envp and auxv went (and the
 * stack start) in *ranges, leaving its other fields alone. Returns 0, -E2BIG or -EFAULT. */
int stack_build(struct mm *mm, uint64_t top, uint64_t size, const struct stack_info *si,
                uint64_t *sp_out, struct mm_proc_ranges *ranges);

#endif
