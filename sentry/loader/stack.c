/* The initial stack, laid out as Linux's create_elf_tables() does. From high to low addresses:
 * an 8-byte zero end marker, AT_EXECFN's string, the envp strings, the argv strings, the
 * AT_PLATFORM string, 16 AT_RANDOM bytes, then (16-byte aligned) argc, argv[], NULL, envp[],
 * NULL, and the auxv pairs ending with AT_NULL. */
#include "sentry/loader/stack.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <unistd.h>

#include "arch.h"
#include "sentry/mm/mm.h"

#define MAX_AUXV 32

static size_t count(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

/* Copies a string to just below *p and returns its guest address. */
static int push_string(struct mm *mm, uint64_t *p, uint64_t floor, const char *s, uint64_t *addr)
{
    size_t len = strlen(s) + 1;

    if (*p - floor < len)
        return -E2BIG;
    *p -= len;
    *addr = *p;
    return mm_copy_out(mm, *p, s, len);
}

int stack_build(struct mm *mm, uint64_t top, uint64_t size, const struct stack_info *si,
                uint64_t *sp_out, struct mm_proc_ranges *ranges)
{
    size_t argc = count(si->argv), envc = count(si->envp);
    /* Linux limits the strings to a quarter of the stack limit; we keep a quarter of the stack
     * mapping for strings and the rest for the program. */
    uint64_t floor = top - size / 4;
    uint64_t p = top - 8, execfn, platform, random_addr;
    uint64_t *argv_addrs = calloc(argc + envc + 1, sizeof(uint64_t));
    uint64_t *envp_addrs = argv_addrs + argc;
    uint64_t *table = NULL;
    int err;

    if (!argv_addrs)
        return -ENOMEM;
    if ((err = push_string(mm, &p, floor, si->execfn, &execfn)) != 0)
        goto out;
    ranges->env_end = p;
    for (size_t i = envc; i-- > 0;) {
        if ((err = push_string(mm, &p, floor, si->envp[i], &envp_addrs[i])) != 0)
            goto out;
    }
    ranges->env_start = ranges->arg_end = p;
    for (size_t i = argc; i-- > 0;) {
        if ((err = push_string(mm, &p, floor, si->argv[i], &argv_addrs[i])) != 0)
            goto out;
    }
    ranges->arg_start = p;
    if ((err = push_string(mm, &p, floor, ARCH_PLATFORM_STRING, &platform)) != 0)
        goto out;
    unsigned char rnd[16];
    if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
        err = -EIO;
        goto out;
    }
    p = (p - sizeof(rnd)) & ~15UL;
    random_addr = p;
    if ((err = mm_copy_out(mm, p, rnd, sizeof(rnd))) != 0)
        goto out;

    uint64_t auxv[MAX_AUXV * 2];
    size_t na = 0;
#define AUX(type, value)                                                                           \
    do {                                                                                           \
        auxv[na++] = (type);                                                                       \
        auxv[na++] = (uint64_t)(value);                                                            \
    } while (0)
    /* x86's ARCH_DLINFO puts these two first. */
    if (si->vdso_base)
        AUX(AT_SYSINFO_EHDR, si->vdso_base);
    AUX(AT_MINSIGSTKSZ, getauxval(AT_MINSIGSTKSZ));
    AUX(AT_HWCAP, getauxval(AT_HWCAP));
    AUX(AT_PAGESZ, ARCH_PAGE_SIZE);
    AUX(AT_CLKTCK, sysconf(_SC_CLK_TCK));
    AUX(AT_PHDR, si->phdr);
    AUX(AT_PHENT, si->phent);
    AUX(AT_PHNUM, si->phnum);
    AUX(AT_BASE, si->interp_base);
    AUX(AT_FLAGS, 0);
    AUX(AT_ENTRY, si->entry);
    AUX(AT_UID, si->uid);
    AUX(AT_EUID, si->euid);
    AUX(AT_GID, si->gid);
    AUX(AT_EGID, si->egid);
    AUX(AT_SECURE, 0);
    AUX(AT_RANDOM, random_addr);
    AUX(AT_HWCAP2, getauxval(AT_HWCAP2));
    AUX(AT_EXECFN, execfn);
    AUX(AT_PLATFORM, platform);
    AUX(AT_NULL, 0);
#undef AUX

    size_t words = 1 + argc + 1 + envc + 1 + na;
    if ((p - floor) / 8 < words + 2) {
        err = -E2BIG;
        goto out;
    }
    uint64_t sp = (p - words * 8) & ~15UL;
    table = malloc(words * 8);
    if (!table) {
        err = -ENOMEM;
        goto out;
    }
    size_t w = 0;
    table[w++] = argc;
    for (size_t i = 0; i < argc; i++)
        table[w++] = argv_addrs[i];
    table[w++] = 0;
    for (size_t i = 0; i < envc; i++)
        table[w++] = envp_addrs[i];
    table[w++] = 0;
    memcpy(&table[w], auxv, na * 8);
    err = mm_copy_out(mm, sp, table, words * 8);
    if (!err) {
        *sp_out = sp;
        ranges->start_stack = sp;
        ranges->auxv_start = sp + (words - na) * 8;
        ranges->auxv_end = sp + words * 8;
    }
out:
    free(table);
    free(argv_addrs);
    return err;
}
