/* The vDSO: AT_SYSINFO_EHDR points at a valid ELF image whose dynamic symbols (found without
 * dlsym, through DT_HASH and the version tables) include the time functions; they agree with
 * the syscalls and interleave with them in order; [vvar] is read-only (a write faults, mprotect
 * refuses); fork keeps the vDSO and exec gives a fresh one. "loop N" only calls the time
 * functions N times (the strace integration test checks they make no syscall). */
#include "guest.h"

#include <elf.h>
#include <sched.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#define NSEC_PER_SEC 1000000000LL

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);
typedef int (*getcpu_fn)(unsigned *, unsigned *, void *);

static uint32_t sysv_hash(const char *name)
{
    uint32_t h = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h = (h << 4) + *p;
        uint32_t g = h & 0xf0000000U;
        if (g)
            h ^= g >> 24;
        h &= ~g;
    }
    return h;
}

/* Looks `name`@`version` up in the vDSO at `base` as libc does; NULL if absent. */
static void *vdso_sym(uintptr_t base, const char *name, const char *version)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
    const Elf64_Dyn *dyn = NULL;
    uintptr_t bias = 0;
    int loads = 0;

    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD && loads++ == 0)
            bias = base + ph[i].p_offset - ph[i].p_vaddr;
        else if (ph[i].p_type == PT_DYNAMIC)
            dyn = (const Elf64_Dyn *)(base + ph[i].p_offset);
    }
    CHECK(dyn && loads > 0, "vDSO without PT_LOAD or PT_DYNAMIC");
    const uint32_t *hash = NULL;
    const Elf64_Sym *syms = NULL;
    const char *strs = NULL;
    const Elf64_Half *versym = NULL;
    const Elf64_Verdef *verdef = NULL;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        uintptr_t p = bias + dyn->d_un.d_ptr;
        if (dyn->d_tag == DT_HASH)
            hash = (const uint32_t *)p;
        else if (dyn->d_tag == DT_SYMTAB)
            syms = (const Elf64_Sym *)p;
        else if (dyn->d_tag == DT_STRTAB)
            strs = (const char *)p;
        else if (dyn->d_tag == DT_VERSYM)
            versym = (const Elf64_Half *)p;
        else if (dyn->d_tag == DT_VERDEF)
            verdef = (const Elf64_Verdef *)p;
    }
    CHECK(hash && syms && strs && versym && verdef, "vDSO dynamic section incomplete");
    const uint32_t *bucket = hash + 2, *chain = bucket + hash[0];
    for (uint32_t i = bucket[sysv_hash(name) % hash[0]]; i != STN_UNDEF; i = chain[i]) {
        if (strcmp(strs + syms[i].st_name, name) != 0 || syms[i].st_shndx == SHN_UNDEF)
            continue;
        for (const Elf64_Verdef *d = verdef;;
             d = (const Elf64_Verdef *)((const char *)d + d->vd_next)) {
            if (d->vd_ndx == (versym[i] & 0x7fff)) {
                const Elf64_Verdaux *a = (const Elf64_Verdaux *)((const char *)d + d->vd_aux);
                return strcmp(strs + a->vda_name, version) == 0 ? (void *)(bias + syms[i].st_value)
                                                                : NULL;
            }
            if (!d->vd_next)
                return NULL;
        }
    }
    return NULL;
}

static long long ns_of(const struct timespec *ts)
{
    return ts->tv_sec * NSEC_PER_SEC + ts->tv_nsec;
}

static long long syscall_ns(clockid_t clock)
{
    struct timespec ts;
    CHECK(syscall(SYS_clock_gettime, clock, &ts) == 0, "clock_gettime syscall: %s",
          guest_errno_name(errno));
    return ns_of(&ts);
}

static long long vdso_ns(clock_gettime_fn fn, clockid_t clock)
{
    struct timespec ts;
    CHECK(fn(clock, &ts) == 0, "vDSO clock_gettime(%d)", (int)clock);
    return ns_of(&ts);
}

/* The [vvar] and [vdso] lines of /proc/self/maps. */
struct special {
    uintptr_t vvar_start, vvar_end, vdso_start, vdso_end;
    char vvar_perms[5], vdso_perms[5];
};

static void find_special(struct special *s)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];

    memset(s, 0, sizeof(*s));
    CHECK(f != NULL, "open /proc/self/maps: %s", guest_errno_name(errno));
    while (fgets(line, sizeof(line), f)) {
        uintptr_t lo, hi;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) != 3)
            continue;
        if (strstr(line, "[vvar]") && !s->vvar_start) {
            s->vvar_start = lo;
            s->vvar_end = hi;
            memcpy(s->vvar_perms, perms, 5);
        } else if (strstr(line, "[vdso]")) {
            s->vdso_start = lo;
            s->vdso_end = hi;
            memcpy(s->vdso_perms, perms, 5);
        }
    }
    fclose(f);
}

/* The part that every image, fresh from exec or not, must show. */
static uintptr_t check_image(void)
{
    uintptr_t base = getauxval(AT_SYSINFO_EHDR);
    EXPECT_FACT("AT_SYSINFO_EHDR present", base != 0);
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
    EXPECT_FACT("vDSO has a valid ELF header",
                memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_ident[EI_CLASS] == ELFCLASS64 &&
                    eh->e_type == ET_DYN && eh->e_machine == EM_X86_64 &&
                    eh->e_phentsize == sizeof(Elf64_Phdr));
    return base;
}

static int loop(long n)
{
    struct timespec ts, prev = {0, 0};
    struct timeval tv;
    unsigned cpu, node;
    int backwards = 0;

    for (long i = 0; i < n; i++) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        if (ns_of(&ts) < ns_of(&prev))
            backwards = 1;
        prev = ts;
    }
    CHECK(gettimeofday(&tv, NULL) == 0, "gettimeofday");
    CHECK(time(NULL) > 0, "time");
    CHECK(clock_getres(CLOCK_MONOTONIC, &ts) == 0, "clock_getres");
    CHECK(getcpu(&cpu, &node) == 0, "getcpu");
    EXPECT_FACT("CLOCK_MONOTONIC non-decreasing", !backwards);
    return guest_ok();
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "loop") == 0)
        return loop(atol(argv[2]));
    uintptr_t base = check_image();
    if (argc == 2 && strcmp(argv[1], "exec-child") == 0)
        return guest_ok();

    /* The symbols glibc and musl look for, and one nobody has. */
    static const char *const names[] = {"__vdso_clock_gettime", "__vdso_gettimeofday",
                                        "__vdso_time",          "__vdso_clock_getres",
                                        "__vdso_getcpu",        "__vdso_no_such_function"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        printf("%s@LINUX_2.6: %s\n", names[i],
               vdso_sym(base, names[i], "LINUX_2.6") ? "found" : "not found");
    clock_gettime_fn vdso_gettime = vdso_sym(base, "__vdso_clock_gettime", "LINUX_2.6");
    getcpu_fn vdso_getcpu = vdso_sym(base, "__vdso_getcpu", "LINUX_2.6");
    CHECK(vdso_gettime && vdso_getcpu, "vDSO functions missing");

    /* The vDSO and the syscall tell the same time, in order when interleaved. */
    int in_order = 1, backwards = 0;
    long long prev = 0;
    for (int i = 0; i < 1000; i++) {
        long long a = vdso_ns(vdso_gettime, CLOCK_MONOTONIC);
        long long b = syscall_ns(CLOCK_MONOTONIC);
        long long c = vdso_ns(vdso_gettime, CLOCK_MONOTONIC);
        if (!(a <= b && b <= c))
            in_order = 0;
        if (a < prev)
            backwards = 1;
        prev = c;
    }
    EXPECT_FACT("CLOCK_MONOTONIC: vDSO, syscall, vDSO reads in order (1000 rounds)", in_order);
    EXPECT_FACT("CLOCK_MONOTONIC from the vDSO never goes back", !backwards);
    long long mono = 0;
    for (int i = 0; i < 100000; i++) {
        long long t = vdso_ns(vdso_gettime, CLOCK_MONOTONIC);
        if (t < mono)
            backwards = 1;
        mono = t;
    }
    EXPECT_FACT("100000 more vDSO reads never go back", !backwards);
    static const clockid_t clocks[] = {
        CLOCK_REALTIME,         CLOCK_MONOTONIC,     CLOCK_BOOTTIME, CLOCK_REALTIME_COARSE,
        CLOCK_MONOTONIC_COARSE, CLOCK_MONOTONIC_RAW, CLOCK_TAI};
    int agree = 1;
    for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
        long long d = vdso_ns(vdso_gettime, clocks[i]) - syscall_ns(clocks[i]);
        if (llabs(d) > NSEC_PER_SEC)
            agree = 0;
    }
    EXPECT_FACT("every clock from the vDSO within 1 s of its syscall", agree);
    struct timespec ts;
    errno = 0;
    EXPECT_FACT("a bad clock fails with -EINVAL from the vDSO",
                vdso_gettime(12345, &ts) == -EINVAL);

    /* libc's wrappers (which use the vDSO) against each other. */
    struct timeval tv;
    CHECK(clock_gettime(CLOCK_REALTIME, &ts) == 0, "clock_gettime");
    CHECK(gettimeofday(&tv, NULL) == 0, "gettimeofday");
    time_t now = time(NULL);
    EXPECT_FACT("gettimeofday within 1 s of CLOCK_REALTIME", llabs(tv.tv_sec - ts.tv_sec) <= 1);
    EXPECT_FACT("time() within 1 s of CLOCK_REALTIME", llabs(now - ts.tv_sec) <= 1);
    EXPECT_FACT("time() agrees with the syscall", llabs(syscall(SYS_time, NULL) - now) <= 1);
    struct timespec res;
    EXPECT_FACT("clock_getres(CLOCK_MONOTONIC) agrees with the syscall",
                clock_getres(CLOCK_MONOTONIC, &res) == 0 &&
                    syscall(SYS_clock_getres, CLOCK_MONOTONIC, &ts) == 0 &&
                    res.tv_sec == ts.tv_sec && res.tv_nsec == ts.tv_nsec);
    unsigned cpu = ~0U, node = ~0U, scpu = ~0U, snode = ~0U;
    EXPECT_FACT("vDSO getcpu gives a CPU and node",
                vdso_getcpu(&cpu, &node, NULL) == 0 && cpu < CPU_SETSIZE && node < 1024);
    EXPECT_FACT("getcpu syscall gives a CPU and node",
                syscall(SYS_getcpu, &scpu, &snode, NULL) == 0 && scpu < CPU_SETSIZE &&
                    snode < 1024);
    EXPECT_FACT("sched_getcpu is a CPU", sched_getcpu() >= 0);

    /* The mappings. */
    struct special s;
    find_special(&s);
    EXPECT_FACT("[vdso] starts at AT_SYSINFO_EHDR", s.vdso_start == base);
    printf("[vdso] %s, [vvar] %s\n", s.vdso_perms, s.vvar_perms);
    EXPECT_FACT("[vvar] lies below [vdso]", s.vvar_start && s.vvar_end <= s.vdso_start &&
                                                s.vdso_start - s.vvar_end < (1UL << 20));
    EXPECT_ERRNO("mprotect [vvar] writable",
                 mprotect((void *)s.vvar_start, 4096, PROT_READ | PROT_WRITE), EACCES);
    EXPECT_ERRNO("mprotect [vvar] executable",
                 mprotect((void *)s.vvar_start, 4096, PROT_READ | PROT_EXEC), EACCES);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork: %s", guest_errno_name(errno));
    if (pid == 0) {
        *(volatile int *)s.vvar_start = 1;
        _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    EXPECT_FACT("a write to [vvar] dies of SIGSEGV",
                WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);

    /* fork keeps the vDSO where it was; exec maps a new one. */
    fflush(stdout);
    pid = fork();
    CHECK(pid >= 0, "fork: %s", guest_errno_name(errno));
    if (pid == 0) {
        long long t = vdso_ns(vdso_gettime, CLOCK_MONOTONIC);
        _exit(getauxval(AT_SYSINFO_EHDR) == base && t >= mono ? 0 : 1);
    }
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    EXPECT_FACT("a forked child uses the same vDSO", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fflush(stdout);
    pid = fork();
    CHECK(pid >= 0, "fork: %s", guest_errno_name(errno));
    if (pid == 0) {
        char *args[] = {argv[0], "exec-child", NULL};
        execv("/proc/self/exe", args);
        _exit(127);
    }
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    EXPECT_FACT("an exec'd program has its vDSO", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return guest_ok();
}
