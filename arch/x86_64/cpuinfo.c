/* /proc/cpuinfo for x86_64: the host CPU as cpuid describes it, with Linux's flag names
 * (arch/x86/include/asm/cpufeatures.h) for the feature words the guest can use. */
#include "cpuinfo.h"

#include <cpuid.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct text {
    char *data;
    size_t len, cap;
    bool failed;
};

__attribute__((format(printf, 2, 3))) static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || t->failed)
        return;
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + (size_t)n + 1)
            cap *= 2;
        char *d = realloc(t->data, cap);
        if (!d) {
            t->failed = true;
            return;
        }
        t->data = d;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->data + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* One capability word: the cpuid register it comes from and the names of its bits (NULL or ""
 * for bits Linux does not show). */
struct flag_word {
    unsigned leaf, subleaf;
    int reg; /* 0 eax, 1 ebx, 2 ecx, 3 edx */
    const char *names[32];
};

static const struct flag_word flag_words[] = {
    {1, 0, 3, {"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", NULL, "sep",
               "mtrr", "pge", "mca", "cmov", "pat", "pse36", "pn", "clflush", NULL, "dts", "acpi",
               "mmx", "fxsr", "sse", "sse2", "ss", "ht", "tm", "ia64", "pbe"}},
    {0x80000001, 0, 3, {[11] = "syscall", [19] = "mp", [20] = "nx", [22] = "mmxext",
                        [25] = "fxsr_opt", [26] = "pdpe1gb", [27] = "rdtscp", [29] = "lm",
                        [30] = "3dnowext", [31] = "3dnow"}},
    {1, 0, 2, {"pni", "pclmulqdq", "dtes64", "monitor", "ds_cpl", "vmx", "smx", "est", "tm2",
               "ssse3", "cid", "sdbg", "fma", "cx16", "xtpr", "pdcm", NULL, "pcid", "dca",
               "sse4_1", "sse4_2", "x2apic", "movbe", "popcnt", "tsc_deadline_timer", "aes",
               "xsave", NULL, "avx", "f16c", "rdrand", "hypervisor"}},
    {0x80000001, 0, 2, {"lahf_lm", "cmp_legacy", "svm", "extapic", "cr8_legacy", "abm", "sse4a",
                        "misalignsse", "3dnowprefetch", "osvw", "ibs", "xop", "skinit", "wdt",
                        NULL, "lwp", "fma4", "tce", NULL, "nodeid_msr", NULL, "tbm", "topoext",
                        "perfctr_core", "perfctr_nb", NULL, "bpext", "ptsc", "perfctr_llc",
                        "mwaitx"}},
    {7, 0, 1, {"fsgsbase", "tsc_adjust", "sgx", "bmi1", "hle", "avx2", NULL, "smep", "bmi2",
               "erms", "invpcid", "rtm", "cqm", NULL, "mpx", "rdt_a", "avx512f", "avx512dq",
               "rdseed", "adx", "smap", "avx512ifma", NULL, "clflushopt", "clwb", "intel_pt",
               "avx512pf", "avx512er", "avx512cd", "sha_ni", "avx512bw", "avx512vl"}},
    {0xd, 1, 0, {"xsaveopt", "xsavec", "xgetbv1", "xsaves"}},
    {7, 0, 2, {[1] = "avx512vbmi", [2] = "umip", [3] = "pku", [4] = "ospke", [5] = "waitpkg",
               [6] = "avx512_vbmi2", [8] = "gfni", [9] = "vaes", [10] = "vpclmulqdq",
               [11] = "avx512_vnni", [12] = "avx512_bitalg", [13] = "tme",
               [14] = "avx512_vpopcntdq", [16] = "la57", [22] = "rdpid",
               [24] = "bus_lock_detect", [25] = "cldemote", [27] = "movdiri",
               [28] = "movdir64b", [29] = "enqcmd", [30] = "sgx_lc"}},
    {7, 0, 3, {[2] = "avx512_4vnniw", [3] = "avx512_4fmaps", [4] = "fsrm",
               [8] = "avx512_vp2intersect", [10] = "md_clear", [14] = "serialize",
               [16] = "tsx_ldtrk", [18] = "pconfig", [19] = "arch_lbr", [22] = "amx_bf16",
               [23] = "avx512_fp16", [24] = "amx_tile", [25] = "amx_int8", [28] = "flush_l1d",
               [29] = "arch_capabilities"}},
};

static bool cpuid(unsigned leaf, unsigned subleaf, unsigned r[4])
{
    unsigned max = __get_cpuid_max(leaf & 0x80000000, NULL);
    if (leaf > max) {
        memset(r, 0, 4 * sizeof(*r));
        return false;
    }
    __cpuid_count(leaf, subleaf, r[0], r[1], r[2], r[3]);
    return true;
}

static void put_flags(struct text *t)
{
    for (size_t w = 0; w < sizeof(flag_words) / sizeof(flag_words[0]); w++) {
        const struct flag_word *fw = &flag_words[w];
        unsigned r[4];
        if (!cpuid(fw->leaf, fw->subleaf, r))
            continue;
        for (int bit = 0; bit < 32; bit++)
            if ((r[fw->reg] >> bit & 1) && fw->names[bit] && fw->names[bit][0])
                put(t, " %s", fw->names[bit]);
    }
}

char *arch_cpuinfo_text(unsigned ncpus)
{
    struct text t = {0};
    unsigned r[4], max_leaf = __get_cpuid_max(0, NULL);
    char vendor[13] = {0}, model_name[49] = {0};

    cpuid(0, 0, r);
    memcpy(vendor, &r[1], 4);
    memcpy(vendor + 4, &r[3], 4);
    memcpy(vendor + 8, &r[2], 4);
    cpuid(1, 0, r);
    unsigned family = (r[0] >> 8) & 0xf, model = (r[0] >> 4) & 0xf, stepping = r[0] & 0xf;
    if (family == 0xf)
        family += (r[0] >> 20) & 0xff;
    if (family >= 6)
        model += ((r[0] >> 16) & 0xf) << 4;
    unsigned clflush = ((r[1] >> 8) & 0xff) * 8;
    for (unsigned i = 0; i < 3; i++) {
        unsigned m[4];
        cpuid(0x80000002 + i, 0, m);
        memcpy(model_name + i * 16, m, 16);
    }
    const char *name = model_name;
    while (*name == ' ')
        name++;
    unsigned mhz = 0;
    if (cpuid(0x16, 0, r))
        mhz = r[0] & 0xffff;
    cpuid(0x80000006, 0, r);
    unsigned cache_kb = r[2] >> 16;
    unsigned phys = 36, virt = 48;
    if (cpuid(0x80000008, 0, r)) {
        phys = r[0] & 0xff;
        virt = (r[0] >> 8) & 0xff;
    }

    for (unsigned cpu = 0; cpu < ncpus; cpu++) {
        put(&t, "processor\t: %u\nvendor_id\t: %s\ncpu family\t: %u\nmodel\t\t: %u\n", cpu,
            vendor, family, model);
        put(&t, "model name\t: %s\nstepping\t: %u\n", name, stepping);
        put(&t, "cpu MHz\t\t: %u.000\ncache size\t: %u KB\n", mhz, cache_kb);
        put(&t, "physical id\t: 0\nsiblings\t: %u\ncore id\t\t: %u\ncpu cores\t: %u\n", ncpus,
            cpu, ncpus);
        put(&t, "apicid\t\t: %u\ninitial apicid\t: %u\n", cpu, cpu);
        put(&t, "fpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: %u\nwp\t\t: yes\n",
            max_leaf);
        put(&t, "flags\t\t:");
        put_flags(&t);
        put(&t, "\nbugs\t\t:\nbogomips\t: %u.00\n", mhz * 2);
        put(&t, "clflush size\t: %u\ncache_alignment\t: %u\n", clflush, clflush);
        put(&t, "address sizes\t: %u bits physical, %u bits virtual\npower management:\n\n",
            phys, virt);
    }
    if (t.failed) {
        free(t.data);
        return NULL;
    }
    if (!t.data)
        t.data = calloc(1, 1);
    return t.data;
}
