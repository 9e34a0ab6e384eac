/* Unit tests for the vDSO: the built image's ELF shape (one PT_LOAD, no relocations, versioned
 * symbols found through DT_HASH), its functions run in this process over the real vvar page
 * (against the host's clocks, across refreshes, in syscall mode), and its mapping into an mm
 * ([vvar] read-only and never writable, [vdso] private, both kept by fork). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>

#include "sentry/memfile/memfile.h"
#include "sentry/mm/mm.h"
#include "sentry/vdso/vdso.h"
#include "tests/unit/vdso/vdso_elf.h"
#include "tsc.h"
#include "vvar.h"

#define PAGE 4096UL
#define MIB (1UL << 20)

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);
typedef int (*clock_getres_fn)(clockid_t, struct timespec *);
typedef int (*gettimeofday_fn)(struct timeval *, void *);
typedef time_t (*time_fn)(time_t *);
typedef int (*getcpu_fn)(unsigned *, unsigned *, void *);

static const char *const exported[] = {
    "__vdso_clock_gettime", "clock_gettime", "__vdso_gettimeofday", "gettimeofday",
    "__vdso_time",          "time",          "__vdso_clock_getres", "clock_getres",
    "__vdso_getcpu",        "getcpu",
};

static int64_t ns_of(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

/* The image's shape: what glibc's and musl's vDSO setup need and nothing they can't handle. */
static void test_image_is_one_relocation_free_load_segment(void **state)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)vdso_image;

    assert_true(vdso_image_size >= sizeof(*eh));
    assert_memory_equal(eh->e_ident, ELFMAG, SELFMAG);
    assert_int_equal(eh->e_ident[EI_CLASS], ELFCLASS64);
    assert_int_equal(eh->e_type, ET_DYN);
    assert_int_equal(eh->e_machine, EM_X86_64);
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(vdso_image + eh->e_phoff);
    int loads = 0, dynamics = 0;
    const Elf64_Dyn *dyn = NULL;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD) {
            loads++;
            assert_int_equal(ph[i].p_vaddr, 0);
            assert_int_equal(ph[i].p_offset, 0);
            assert_int_equal(ph[i].p_flags, PF_R | PF_X);
            assert_true(ph[i].p_filesz <= vdso_image_size);
            assert_int_equal(ph[i].p_memsz, ph[i].p_filesz); /* no bss */
        }
        if (ph[i].p_type == PT_DYNAMIC) {
            dynamics++;
            dyn = (const Elf64_Dyn *)(vdso_image + ph[i].p_offset);
        }
    }
    assert_int_equal(loads, 1);
    assert_int_equal(dynamics, 1);
    bool seen[DT_NUM] = {false}, versym = false, verdef = false, gnu_hash = false;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        /* Nothing may need relocating: the image is mapped as is. */
        assert_true(dyn->d_tag != DT_RELA && dyn->d_tag != DT_REL && dyn->d_tag != DT_JMPREL &&
                    dyn->d_tag != DT_TEXTREL && dyn->d_tag != DT_NEEDED);
        if (dyn->d_tag >= 0 && dyn->d_tag < DT_NUM)
            seen[dyn->d_tag] = true;
        versym |= dyn->d_tag == DT_VERSYM;
        verdef |= dyn->d_tag == DT_VERDEF;
        gnu_hash |= dyn->d_tag == DT_GNU_HASH;
    }
    assert_true(seen[DT_HASH] && seen[DT_SYMTAB] && seen[DT_STRTAB] && seen[DT_SONAME]);
    assert_true(versym && verdef && gnu_hash);
}

static void test_image_exports_versioned_symbols(void **state)
{
    for (size_t i = 0; i < sizeof(exported) / sizeof(exported[0]); i++) {
        void *p = vdso_elf_lookup(vdso_image, exported[i], "LINUX_2.6");
        assert_non_null(p);
        assert_true((const unsigned char *)p > vdso_image &&
                    (const unsigned char *)p < vdso_image + vdso_image_size);
    }
    /* The weak aliases are the same code. */
    assert_ptr_equal(vdso_elf_lookup(vdso_image, "clock_gettime", NULL),
                     vdso_elf_lookup(vdso_image, "__vdso_clock_gettime", NULL));
    assert_null(vdso_elf_lookup(vdso_image, "__vdso_clock_gettime", "LINUX_2.5"));
    assert_null(vdso_elf_lookup(vdso_image, "vdso_vvar", NULL)); /* internal */
    assert_null(vdso_elf_lookup(vdso_image, "__vdso_getrandom", NULL));
}

/* --- the image run in this process -------------------------------------------------------- */

/* A vDSO of our own in this process: the vvar page mapped from the memory file, the image
 * right above it, as a guest gets them. */
struct local {
    struct memfile *mf;
    struct vdso *v;
    void *area;
    size_t area_len;
    clock_gettime_fn clock_gettime;
    clock_getres_fn clock_getres;
    gettimeofday_fn gettimeofday;
    time_fn time;
    getcpu_fn getcpu;
};

static void local_setup(struct local *l, bool use_tsc)
{
    size_t image_len = (vdso_image_size + PAGE - 1) & ~(PAGE - 1);

    assert_int_equal(memfile_create(16 * MIB, &l->mf), 0);
    assert_int_equal(vdso_create(l->mf, use_tsc, &l->v), 0);
    l->area_len = PAGE + image_len;
    l->area = mmap(NULL, l->area_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(l->area != MAP_FAILED);
    uint64_t vvar_off = (uint64_t)((const char *)vdso_vvar(l->v) - (char *)memfile_base(l->mf));
    assert_true(mmap(l->area, PAGE, PROT_READ, MAP_SHARED | MAP_FIXED, memfile_fd(l->mf),
                     (off_t)vvar_off) == l->area);
    char *text = (char *)l->area + PAGE;
    assert_true(mmap(text, image_len, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == text);
    memcpy(text, vdso_image, vdso_image_size);
    assert_int_equal(mprotect(text, image_len, PROT_READ | PROT_EXEC), 0);
    l->clock_gettime = (clock_gettime_fn)vdso_elf_lookup(text, "__vdso_clock_gettime", "LINUX_2.6");
    l->clock_getres = (clock_getres_fn)vdso_elf_lookup(text, "__vdso_clock_getres", "LINUX_2.6");
    l->gettimeofday = (gettimeofday_fn)vdso_elf_lookup(text, "__vdso_gettimeofday", "LINUX_2.6");
    l->time = (time_fn)vdso_elf_lookup(text, "__vdso_time", "LINUX_2.6");
    l->getcpu = (getcpu_fn)vdso_elf_lookup(text, "__vdso_getcpu", "LINUX_2.6");
    assert_true(l->clock_gettime && l->clock_getres && l->gettimeofday && l->time && l->getcpu);
}

static void local_teardown(struct local *l)
{
    munmap(l->area, l->area_len);
    vdso_destroy(l->v);
    assert_int_equal(memfile_used(l->mf), 0);
    memfile_destroy(l->mf);
}

/* Each clock the vDSO serves reads between two host readings, give or take the calibration's
 * error (20 us is generous: a fresh 2 ms calibration is within ~0.1 us a millisecond). */
static void check_clocks_agree_with_host(struct local *l)
{
    static const clockid_t clocks[] = {CLOCK_REALTIME,        CLOCK_MONOTONIC,
                                       CLOCK_BOOTTIME,        CLOCK_TAI,
                                       CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE,
                                       CLOCK_MONOTONIC_RAW,   CLOCK_PROCESS_CPUTIME_ID};
    for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
        struct timespec before, ours, after;
        clockid_t c = clocks[i];
        bool coarse = c == CLOCK_REALTIME_COARSE || c == CLOCK_MONOTONIC_COARSE;
        bool cpu = c == CLOCK_PROCESS_CPUTIME_ID;
        clock_gettime(c, &before);
        assert_int_equal(l->clock_gettime(c, &ours), 0);
        clock_gettime(c, &after);
        if (cpu)
            continue; /* the syscall's answer: it succeeded */
        /* Coarse host clocks lag by up to a tick; ours give the precise time. */
        int64_t slack = coarse ? 20000000 : 20000;
        if (ns_of(&ours) < ns_of(&before) - 20000 || ns_of(&ours) > ns_of(&after) + slack)
            print_error("clock %d: host %lld, ours %lld, host %lld\n", (int)c,
                        (long long)ns_of(&before), (long long)ns_of(&ours),
                        (long long)ns_of(&after));
        assert_true(ns_of(&ours) >= ns_of(&before) - 20000);
        assert_true(ns_of(&ours) <= ns_of(&after) + slack);
        assert_true(ours.tv_nsec >= 0 && ours.tv_nsec < 1000000000L);

        struct timespec host_res, res = {-1, -1};
        clock_getres(c, &host_res);
        assert_int_equal(l->clock_getres(c, &res), 0);
        assert_int_equal(res.tv_sec, host_res.tv_sec);
        assert_int_equal(res.tv_nsec, host_res.tv_nsec);
    }
    /* Bad clocks fail as the syscall does: the raw -errno, which libc turns into errno. */
    struct timespec ts;
    assert_int_equal(l->clock_gettime(100, &ts), -EINVAL);
    assert_int_equal(l->clock_gettime(-1000, &ts), -EINVAL);
    assert_int_equal(l->clock_getres(100, &ts), -EINVAL);
    assert_int_equal(l->clock_getres(CLOCK_MONOTONIC, NULL), 0);

    struct timeval host_tv, tv;
    struct timezone tz = {-1, -1};
    gettimeofday(&host_tv, NULL);
    assert_int_equal(l->gettimeofday(&tv, &tz), 0);
    int64_t diff_us = (tv.tv_sec - host_tv.tv_sec) * 1000000LL + (tv.tv_usec - host_tv.tv_usec);
    assert_true(diff_us >= -20 && diff_us < 100000);
    assert_int_equal(tz.tz_minuteswest, 0);
    assert_int_equal(tz.tz_dsttime, 0);
    assert_int_equal(l->gettimeofday(NULL, NULL), 0);

    time_t host_t = time(NULL), t2 = 0;
    time_t t1 = l->time(&t2);
    assert_int_equal(t1, t2);
    assert_true(t1 >= host_t && t1 <= host_t + 1);
    assert_true(l->time(NULL) >= t1);

    unsigned cpu = 99, node = 99;
    assert_int_equal(l->getcpu(&cpu, &node, NULL), 0);
    assert_int_equal(cpu, 0);
    assert_int_equal(node, 0);
    assert_int_equal(l->getcpu(NULL, NULL, NULL), 0);
}

static void test_functions_agree_with_host_clocks(void **state)
{
    struct local l;

    local_setup(&l, true);
    assert_int_equal(vdso_uses_tsc(l.v), arch_tsc_invariant());
    check_clocks_agree_with_host(&l);
    vdso_refresh(l.v);
    check_clocks_agree_with_host(&l);
    local_teardown(&l);
}

/* Without the TSC every call is the syscall, with the same answers. */
static void test_syscall_mode_gives_the_same_answers(void **state)
{
    struct local l;

    local_setup(&l, false);
    assert_false(vdso_uses_tsc(l.v));
    assert_int_equal(vdso_vvar(l.v)->mode, VVAR_MODE_SYSCALL);
    check_clocks_agree_with_host(&l);
    local_teardown(&l);
}

struct refresher {
    struct vdso *v;
    atomic_bool stop;
    int refreshes;
};

static void *refresh_loop(void *arg)
{
    struct refresher *r = arg;
    while (!atomic_load(&r->stop)) {
        vdso_refresh(r->v);
        r->refreshes++;
    }
    return NULL;
}

/* Readers racing a writer that refreshes without pause see time only go forward, and the
 * seqcount ends even, at least two per refresh. */
static void test_readers_racing_refreshes_see_monotonic_time(void **state)
{
    struct local l;
    pthread_t th;

    local_setup(&l, true);
    if (!vdso_uses_tsc(l.v)) {
        local_teardown(&l);
        skip();
    }
    uint32_t seq0 = vdso_vvar(l.v)->seq;
    struct refresher r = {.v = l.v};
    assert_int_equal(pthread_create(&th, NULL, refresh_loop, &r), 0);
    struct timespec prev, now;
    l.clock_gettime(CLOCK_MONOTONIC, &prev);
    for (int i = 0; i < 200000; i++) {
        assert_int_equal(l.clock_gettime(CLOCK_MONOTONIC, &now), 0);
        assert_true(ns_of(&now) >= ns_of(&prev));
        prev = now;
    }
    atomic_store(&r.stop, true);
    pthread_join(th, NULL);
    assert_true(r.refreshes > 0);
    /* (The refresh timer may have added its own.) */
    uint32_t seq = vdso_vvar(l.v)->seq;
    assert_int_equal(seq % 2, 0);
    assert_true(seq - seq0 >= 2U * (uint32_t)r.refreshes);
    struct timespec host;
    clock_gettime(CLOCK_MONOTONIC, &host);
    l.clock_gettime(CLOCK_MONOTONIC, &now);
    assert_true(llabs(ns_of(&now) - ns_of(&host)) < 20000);
    local_teardown(&l);
}

/* --- the mapping in an address space --------------------------------------------------- */

static void test_map_into_mm_and_fork(void **state)
{
    struct memfile *mf;
    struct vdso *v;
    struct mm *mm, *child;
    struct vma vv, vt;
    uint64_t base;

    assert_int_equal(memfile_create(16 * MIB, &mf), 0);
    assert_int_equal(vdso_create(mf, true, &v), 0);
    assert_int_equal(mm_create(mf, 0x7ffffffff000UL, &mm), 0);
    mm_set_layout(mm, 0x10000000UL, 0x7f0000000000UL);
    assert_int_equal(vdso_map(v, mm, &base), 0);
    assert_true(base > 0x10000000UL && base < 0x7f0000000000UL && (base & (PAGE - 1)) == 0);

    /* [vvar] right below [vdso]: read-only, its page the sentry's; [vdso] r-x, private. */
    assert_true(mm_find_vma(mm, base - PAGE, &vv));
    assert_int_equal(vv.start, base - PAGE);
    assert_int_equal(vv.end, base);
    assert_int_equal(vv.prot, PROT_READ);
    assert_int_equal(vv.flags, VMA_SHARED | VMA_SPECIAL);
    assert_true(mm_find_vma(mm, base, &vt));
    assert_int_equal(vt.start, base);
    assert_int_equal(vt.prot, PROT_READ | PROT_EXEC);
    assert_int_equal(vt.flags & VMA_SHARED, 0);
    char name[32];
    dev_t dev;
    uint64_t ino;
    assert_int_equal(vv.file->ops->name(vv.file, name, sizeof(name), &dev, &ino), 6);
    assert_string_equal(name, "[vvar]");
    vt.file->ops->name(vt.file, name, sizeof(name), &dev, &ino);
    assert_string_equal(name, "[vdso]");

    unsigned char head[64];
    assert_int_equal(mm_copy_in(mm, base, head, sizeof(head)), 0);
    assert_memory_equal(head, vdso_image, sizeof(head));
    struct vvar_data seen;
    assert_int_equal(mm_copy_in(mm, base - PAGE, &seen, sizeof(seen)), 0);
    assert_int_equal(seen.seq, vdso_vvar(v)->seq);
    assert_int_equal(seen.mode, vdso_vvar(v)->mode);

    /* The guest can't write the page, nor ever be allowed to; the vDSO text may be made
     * writable (a private copy, as Linux allows for debuggers). */
    assert_int_equal(mm_copy_out(mm, base - PAGE, &seen, 4), -EFAULT);
    assert_int_equal(mm_protect(mm, base - PAGE, PAGE, PROT_READ | PROT_WRITE), -EACCES);
    assert_int_equal(mm_protect(mm, base - PAGE, PAGE, PROT_READ | PROT_EXEC), -EACCES);
    assert_int_equal(mm_protect(mm, base - PAGE, 2 * PAGE, PROT_READ | PROT_WRITE), -EACCES);
    assert_int_equal(mm_protect(mm, base - PAGE, PAGE, PROT_READ), 0);
    assert_int_equal(mm_protect(mm, base, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC), 0);
    assert_int_equal(mm_copy_out(mm, base + 8, "x", 1), 0);
    assert_int_not_equal(vdso_image[8], 'x'); /* the image itself is untouched */

    /* A fork keeps both; a refresh is seen through the parent's and the child's mapping. */
    assert_int_equal(mm_fork(mm, &child), 0);
    assert_true(mm_find_vma(child, base - PAGE, &vv));
    assert_int_equal(vv.flags, VMA_SHARED | VMA_SPECIAL);
    vdso_refresh(v);
    uint32_t seq = vdso_vvar(v)->seq;
    assert_int_equal(mm_copy_in(child, base - PAGE, &seen, sizeof(seen)), 0);
    assert_int_equal(seen.seq, seq);
    assert_int_equal(mm_copy_in(mm, base - PAGE, &seen, sizeof(seen)), 0);
    assert_int_equal(seen.seq, seq);
    unsigned char byte;
    assert_int_equal(mm_copy_in(child, base + 8, &byte, 1), 0);
    assert_int_equal(byte, 'x');

    /* The vdso object outlives its creator while address spaces map it. */
    vdso_destroy(v);
    assert_int_equal(mm_copy_in(child, base - PAGE, &seen, sizeof(seen)), 0);
    mm_destroy(mm);
    mm_destroy(child);
    assert_int_equal(memfile_used(mf), 0);
    memfile_destroy(mf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_image_is_one_relocation_free_load_segment),
        cmocka_unit_test(test_image_exports_versioned_symbols),
        cmocka_unit_test(test_functions_agree_with_host_clocks),
        cmocka_unit_test(test_syscall_mode_gives_the_same_answers),
        cmocka_unit_test(test_readers_racing_refreshes_see_monotonic_time),
        cmocka_unit_test(test_map_into_mm_and_fork),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
