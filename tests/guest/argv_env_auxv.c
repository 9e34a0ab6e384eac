/* The initial process stack: argc/argv/envp as passed, their ABI layout (envp after argv's NULL,
 * auxv after envp's NULL, strings contiguous), and what each auxv entry must agree with. */
#include "guest.h"

#include <elf.h>
#include <link.h>
#include <sys/auxv.h>

extern char _start[];
extern const ElfW(Ehdr) __ehdr_start; /* GNU ld: the ELF header at the lowest loaded address. */

static void print_quoted(const char *label, int index, const char *s)
{
    printf("%s[%d] = \"%s\" (%zu bytes)\n", label, index, s, strlen(s));
}

/* Linux copies the argv strings and then the envp strings into one contiguous block. */
static int strings_contiguous(char **v)
{
    for (int i = 0; v[i] && v[i + 1]; i++)
        if (v[i + 1] != v[i] + strlen(v[i]) + 1)
            return 0;
    return 1;
}

int main(int argc, char **argv, char **envp)
{
    printf("argc = %d\n", argc);
    for (int i = 0; i < argc; i++)
        print_quoted("argv", i, argv[i]);
    int envc = 0;
    for (; envp[envc]; envc++)
        print_quoted("envp", envc, envp[envc]);

    EXPECT_FACT("argv[argc] is NULL", argv[argc] == NULL);
    EXPECT_FACT("envp follows argv's NULL", envp == argv + argc + 1);
    EXPECT_FACT("environ is envp", environ == envp);
    EXPECT_FACT("argv strings contiguous", strings_contiguous(argv));
    EXPECT_FACT("envp strings contiguous", strings_contiguous(envp));
    if (envc > 0)
        EXPECT_FACT("envp strings follow argv strings",
                    envp[0] == argv[argc - 1] + strlen(argv[argc - 1]) + 1);

    /* auxv starts after envp's NULL; every entry must be what getauxval reports. */
    ElfW(auxv_t) *auxv = (ElfW(auxv_t) *)(envp + envc + 1);
    int count = 0, agrees = 1, seen_null = 0;
    for (ElfW(auxv_t) *a = auxv; count < 64; a++, count++) {
        if (a->a_type == AT_NULL) {
            seen_null = 1;
            break;
        }
        /* glibc's x86 startup replaces AT_HWCAP/AT_HWCAP2 with its own CPU feature bits. */
        if (a->a_type != AT_HWCAP && a->a_type != AT_HWCAP2 &&
            getauxval(a->a_type) != a->a_un.a_val)
            agrees = 0;
    }
    EXPECT_FACT("auxv follows envp's NULL and ends with AT_NULL", seen_null && count > 0);
    EXPECT_FACT("auxv entries agree with getauxval", agrees);

    unsigned long pagesz = getauxval(AT_PAGESZ);
    printf("AT_PAGESZ = %lu\n", pagesz);
    CHECK(pagesz == (unsigned long)guest_page_size(), "sysconf disagrees");

    const char *ehdr = (const char *)&__ehdr_start;
    EXPECT_FACT("ELF header at lowest load address has ELF magic",
                memcmp(__ehdr_start.e_ident, ELFMAG, SELFMAG) == 0);
    EXPECT_FACT("AT_PHDR is the ELF header's program headers",
                getauxval(AT_PHDR) == (unsigned long)(ehdr + __ehdr_start.e_phoff));
    printf("AT_PHENT = %lu\n", getauxval(AT_PHENT));
    CHECK(getauxval(AT_PHENT) == __ehdr_start.e_phentsize, "e_phentsize %u",
          __ehdr_start.e_phentsize);
    printf("AT_PHNUM = %lu\n", getauxval(AT_PHNUM));
    CHECK(getauxval(AT_PHNUM) == __ehdr_start.e_phnum, "e_phnum %u", __ehdr_start.e_phnum);
    EXPECT_FACT("AT_ENTRY is _start", getauxval(AT_ENTRY) == (unsigned long)_start);
    printf("AT_BASE = %lu (static: no interpreter)\n", getauxval(AT_BASE));
    CHECK(getauxval(AT_BASE) == 0, "static programs have no interpreter");
    printf("AT_FLAGS = %lu\n", getauxval(AT_FLAGS));

    const volatile unsigned char *random = (const unsigned char *)getauxval(AT_RANDOM);
    CHECK(random != NULL, "AT_RANDOM missing");
    unsigned nonzero = 0;
    for (int i = 0; i < 16; i++)
        nonzero |= random[i];
    printf("AT_RANDOM: 16 bytes readable\n");
    EXPECT_FACT("AT_RANDOM bytes not all zero", nonzero != 0);

    EXPECT_FACT("AT_UID is getuid()", getauxval(AT_UID) == getuid());
    EXPECT_FACT("AT_EUID is geteuid()", getauxval(AT_EUID) == geteuid());
    EXPECT_FACT("AT_GID is getgid()", getauxval(AT_GID) == getgid());
    EXPECT_FACT("AT_EGID is getegid()", getauxval(AT_EGID) == getegid());
    printf("AT_SECURE = %lu\n", getauxval(AT_SECURE));
    CHECK(getauxval(AT_SECURE) == 0, "not a setuid program");
    printf("AT_CLKTCK = %lu\n", getauxval(AT_CLKTCK));
    CHECK(getauxval(AT_CLKTCK) == (unsigned long)sysconf(_SC_CLK_TCK), "sysconf disagrees");
    unsigned long hwcap = 0;
    for (ElfW(auxv_t) *a = auxv; a->a_type != AT_NULL; a++)
        if (a->a_type == AT_HWCAP)
            hwcap = a->a_un.a_val;
    EXPECT_FACT("AT_HWCAP nonzero", hwcap != 0);

    const char *execfn = (const char *)getauxval(AT_EXECFN);
    CHECK(execfn != NULL, "AT_EXECFN missing");
    printf("AT_EXECFN = \"%s\"\n", execfn);
    EXPECT_FACT("AT_EXECFN equals argv[0]", strcmp(execfn, argv[0]) == 0);
    const char *platform = (const char *)getauxval(AT_PLATFORM);
    CHECK(platform != NULL, "AT_PLATFORM missing");
    printf("AT_PLATFORM = \"%s\"\n", platform);
    CHECK(strcmp(platform, "x86_64") == 0, "unexpected platform");
    return guest_ok();
}
