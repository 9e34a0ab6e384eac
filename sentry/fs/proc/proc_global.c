/* /proc's global files (meminfo, cpuinfo, stat, uptime, loadavg, version, filesystems), in
 * Linux's formats, from the sandbox's own state; /proc/sys is proc_sys.c's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <time.h>

#include "cpuinfo.h"
#include "sentry/fs/proc/proc_internal.h"
#include "sentry/memfile/memfile.h"

static struct kernel *kernel_of(const struct kernfs_node *n)
{
    return ((const struct procfs *)n->fs)->kernel;
}

static uint64_t uptime_ns(struct kernel *k)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)(now.tv_sec - k->boot_time.tv_sec) * 1000000000ULL +
           (uint64_t)(now.tv_nsec - k->boot_time.tv_nsec);
}

/* The sandbox's RAM: its memory file, bounded by the host's (as sysinfo(2) reports it). */
static void memory_totals(struct kernel *k, uint64_t *total, uint64_t *used)
{
    struct sysinfo host;
    *total = memfile_size(k->cfg.memfile);
    if (sysinfo(&host) == 0) {
        uint64_t host_total = (uint64_t)host.totalram * host.mem_unit;
        if (host_total && host_total < *total)
            *total = host_total;
    }
    *used = memfile_used(k->cfg.memfile);
    if (*used > *total)
        *used = *total;
}

static int gen_meminfo(const struct kernfs_node *n, struct kernfs_buf *b)
{
    uint64_t total, used;
    memory_totals(kernel_of(n), &total, &used);
    unsigned long long t = total >> 10, u = used >> 10, f = t - u;
    /* Everything the guest has is anonymous memory: no page cache, swap or kernel memory. */
    const struct {
        const char *name;
        unsigned long long kb;
    } rows[] = {
        {"MemTotal:", t},      {"MemFree:", f},         {"MemAvailable:", f},
        {"Buffers:", 0},       {"Cached:", 0},          {"SwapCached:", 0},
        {"Active:", u},        {"Inactive:", 0},        {"Active(anon):", u},
        {"Inactive(anon):", 0}, {"Active(file):", 0},   {"Inactive(file):", 0},
        {"Unevictable:", 0},   {"Mlocked:", 0},         {"SwapTotal:", 0},
        {"SwapFree:", 0},      {"Dirty:", 0},           {"Writeback:", 0},
        {"AnonPages:", u},     {"Mapped:", 0},          {"Shmem:", 0},
        {"KReclaimable:", 0},  {"Slab:", 0},            {"SReclaimable:", 0},
        {"SUnreclaim:", 0},    {"KernelStack:", 0},     {"PageTables:", 0},
        {"NFS_Unstable:", 0},  {"Bounce:", 0},          {"WritebackTmp:", 0},
        {"CommitLimit:", t},   {"Committed_AS:", u},    {"VmallocTotal:", 34359738367ULL},
        {"VmallocUsed:", 0},   {"VmallocChunk:", 0},    {"Percpu:", 0},
        {"AnonHugePages:", 0}, {"ShmemHugePages:", 0},  {"ShmemPmdMapped:", 0},
        {"FileHugePages:", 0}, {"FilePmdMapped:", 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        kernfs_printf(b, "%-16s%8llu kB\n", rows[i].name, rows[i].kb);
    kernfs_printf(b, "HugePages_Total:   %5u\nHugePages_Free:    %5u\n", 0U, 0U);
    kernfs_printf(b, "HugePages_Rsvd:    %5u\nHugePages_Surp:    %5u\n", 0U, 0U);
    kernfs_printf(b, "%-16s%8llu kB\n%-16s%8llu kB\n", "Hugepagesize:", 2048ULL, "Hugetlb:", 0ULL);
    kernfs_printf(b, "%-16s%8llu kB\n", "DirectMap4k:", t);
    return 0;
}

static int gen_cpuinfo(const struct kernfs_node *n, struct kernfs_buf *b)
{
    char *text = arch_cpuinfo_text(proc_ncpus());
    if (!text)
        return -ENOMEM;
    kernfs_put(b, text, strlen(text));
    free(text);
    return 0;
}

static int gen_stat(const struct kernfs_node *n, struct kernfs_buf *b)
{
    struct kernel *k = kernel_of(n);
    unsigned ncpus = proc_ncpus();
    uint64_t up = uptime_ns(k);
    /* CPU time: the sandbox process's own, spread over the CPUs; the rest of uptime is idle. */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    unsigned long long tick_us = 1000000 / PROC_CLK_TCK;
    unsigned long long user = ((unsigned long long)ru.ru_utime.tv_sec * 1000000 +
                               (unsigned long long)ru.ru_utime.tv_usec) / tick_us / ncpus;
    unsigned long long sys = ((unsigned long long)ru.ru_stime.tv_sec * 1000000 +
                              (unsigned long long)ru.ru_stime.tv_usec) / tick_us / ncpus;
    unsigned long long all = up / (1000000000ULL / PROC_CLK_TCK);
    unsigned long long idle = all > user + sys ? all - user - sys : 0;
    kernfs_printf(b, "cpu  %llu 0 %llu %llu 0 0 0 0 0 0\n", user * ncpus, sys * ncpus,
                  idle * ncpus);
    for (unsigned c = 0; c < ncpus; c++)
        kernfs_printf(b, "cpu%u %llu 0 %llu %llu 0 0 0 0 0 0\n", c, user, sys, idle);
    struct timespec real;
    clock_gettime(CLOCK_REALTIME, &real);
    long long btime = (long long)real.tv_sec - (long long)(up / 1000000000ULL);
    pthread_mutex_lock(&k->lock);
    unsigned long long processes = k->total_forks + 1;
    int tasks = k->ntasks;
    pthread_mutex_unlock(&k->lock);
    kernfs_printf(b, "intr 0\nctxt 0\nbtime %lld\nprocesses %llu\n", btime, processes);
    kernfs_printf(b, "procs_running %d\nprocs_blocked 0\n", tasks > 0 ? 1 : 0);
    kernfs_printf(b, "softirq 0 0 0 0 0 0 0 0 0 0 0\n");
    return 0;
}

static int gen_uptime(const struct kernfs_node *n, struct kernfs_buf *b)
{
    uint64_t up = uptime_ns(kernel_of(n));
    unsigned long long cs = up / 10000000ULL, idle = cs * proc_ncpus();
    kernfs_printf(b, "%llu.%02llu %llu.%02llu\n", cs / 100, cs % 100, idle / 100, idle % 100);
    return 0;
}

static int gen_loadavg(const struct kernfs_node *n, struct kernfs_buf *b)
{
    struct kernel *k = kernel_of(n);
    pthread_mutex_lock(&k->lock);
    int tasks = k->ntasks, last = k->next_pid - 1;
    pthread_mutex_unlock(&k->lock);
    kernfs_printf(b, "0.00 0.00 0.00 %d/%d %d\n", tasks > 0 ? 1 : 0, tasks, last);
    return 0;
}

static int gen_version(const struct kernfs_node *n, struct kernfs_buf *b)
{
    kernfs_printf(b, "Linux version %s (runsc@runsc) (runsc) %s\n", KERNEL_UTS_RELEASE,
                  KERNEL_UTS_VERSION);
    return 0;
}

static int gen_filesystems(const struct kernfs_node *n, struct kernfs_buf *b)
{
    static const char *const names[] = {"sysfs", "tmpfs", "proc", "devpts", "9p", "overlay"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        kernfs_printf(b, "nodev\t%s\n", names[i]);
    return 0;
}

#define GLOBAL(n, g) {.name = (n), .mode = S_IFREG | 0444, .generate = (g)}

const struct kernfs_entry proc_global_entries[] = {
    GLOBAL("cpuinfo", gen_cpuinfo),
    GLOBAL("filesystems", gen_filesystems),
    GLOBAL("loadavg", gen_loadavg),
    GLOBAL("meminfo", gen_meminfo),
    GLOBAL("stat", gen_stat),
    {.name = "sys", .mode = S_IFDIR | 0555, .children = proc_sys_entries},
    GLOBAL("uptime", gen_uptime),
    GLOBAL("version", gen_version),
    {.name = NULL},
};
