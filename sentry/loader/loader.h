/* Loading an executable into a fresh address space: ELF segments, brk, the stack with argv,
 * envp and the auxiliary vector. */
#ifndef RUNSC_SENTRY_LOADER_LOADER_H
#define RUNSC_SENTRY_LOADER_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mm;
struct mappable;
struct vdso;

struct loader_args {
    struct mappable *file;
    uint64_t file_size;
    const char *execfn;       /* AT_EXECFN */
    char *const *argv;
    char *const *envp;
    uid_t uid, euid;
    gid_t gid, egid;
    uint64_t stack_limit;     /* RLIMIT_STACK soft limit */
    /* Opens the PT_INTERP program (the dynamic linker) by path, for the loader to map; NULL:
     * dynamically linked executables fail with ENOEXEC. The mappable comes with a reference for
     * the loader. */
    int (*open_interp)(void *ctx, const char *path, struct mappable **out, uint64_t *size);
    void *open_ctx;
    struct vdso *vdso; /* mapped into the new image (AT_SYSINFO_EHDR); NULL: no vDSO */
};

struct loader_result {
    uint64_t entry;           /* initial instruction pointer */
    uint64_t sp;              /* initial stack pointer (points at argc) */
};

/* Loads the executable into `mm`, which must be empty. Returns 0, -ENOEXEC for a file that is
 * not a loadable executable, -E2BIG for oversized argv/envp, -ENOMEM, or a read error; *why
 * gets a short reason for the first two. */
int loader_load(struct mm *mm, const struct loader_args *args, struct loader_result *out,
                const char **why);

#endif
