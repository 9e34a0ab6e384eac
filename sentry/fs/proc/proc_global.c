/* /proc's global files (meminfo, cpuinfo, stat, uptime, loadavg, version, filesystems) and the
 * /proc/sys tree, in Linux's formats, from the sandbox's own state. */
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

/* ---- /proc/sys ---- */

static int gen_hostname(const struct kernfs_node *n, struct kernfs_buf *b)
{
    const char *h = kernel_of(n)->cfg.hostname;
    kernfs_printf(b, "%s\n", h ? h : "localhost");
    return 0;
}

static int gen_boot_id(const struct kernfs_node *n, struct kernfs_buf *b)
{
    kernfs_printf(b, "%s\n", ((const struct procfs *)n->fs)->boot_id);
    return 0;
}

static int gen_uuid(const struct kernfs_node *n, struct kernfs_buf *b)
{
    char u[37];
    proc_make_uuid(u);
    kernfs_printf(b, "%s\n", u);
    return 0;
}

static int gen_threads_max(const struct kernfs_node *n, struct kernfs_buf *b)
{
    kernfs_printf(b, "%d\n", KERNEL_MAX_TASKS);
    return 0;
}

static int gen_pid_max(const struct kernfs_node *n, struct kernfs_buf *b)
{
    kernfs_printf(b, "%d\n", KERNEL_PID_MAX);
    return 0;
}

static int gen_nr_open(const struct kernfs_node *n, struct kernfs_buf *b)
{
    kernfs_printf(b, "%d\n", FDTABLE_MAX);
    return 0;
}

static int gen_cap_last_cap(const struct kernfs_node *n, struct kernfs_buf *b)
{
    kernfs_printf(b, "%d\n", PROC_CAP_LAST_CAP);
    return 0;
}

/* Constant values: the text comes from the entry's name through this table. */
static const struct {
    const char *name, *text;
} sysctl_constants[] = {
    {"domainname", "(none)\n"},
    {"ostype", "Linux\n"},
    {"osrelease", KERNEL_UTS_RELEASE "\n"},
    {"ngroups_max", "65536\n"},
    {"overflowuid", "65534\n"},
    {"overflowgid", "65534\n"},
    {"shmmax", "18446744073692774399\n"},
    {"shmall", "18446744073692774399\n"},
    {"shmmni", "4096\n"},
    {"msgmax", "8192\n"},
    {"msgmnb", "16384\n"},
    {"msgmni", "32000\n"},
    {"sem", "32000\t1024000000\t500\t32000\n"},
    {"overcommit_memory", "0\n"},
    {"max_map_count", "65530\n"},
    {"mmap_min_addr", "65536\n"},
    {"file-max", "9223372036854775807\n"},
    {"pipe-max-size", "1048576\n"},
    {"somaxconn", "4096\n"},
};

static int gen_constant(const struct kernfs_node *n, struct kernfs_buf *b)
{
    for (size_t i = 0; i < sizeof(sysctl_constants) / sizeof(sysctl_constants[0]); i++) {
        if (strcmp(sysctl_constants[i].name, n->entry->name) == 0) {
            kernfs_printf(b, "%s", sysctl_constants[i].text);
            return 0;
        }
    }
    return -EIO;
}

#define SYSCTL(n, g) {.name = (n), .mode = S_IFREG | 0444, .generate = (g)}
#define SYSCTL_CONST(n) SYSCTL(n, gen_constant)
#define DIR(n, c) {.name = (n), .mode = S_IFDIR | 0555, .children = (c)}

static const struct kernfs_entry sys_kernel_random[] = {
    SYSCTL("boot_id", gen_boot_id),
    SYSCTL("uuid", gen_uuid),
    {.name = NULL},
};

static const struct kernfs_entry sys_kernel[] = {
    SYSCTL_CONST("domainname"),
    SYSCTL("cap_last_cap", gen_cap_last_cap),
    SYSCTL("hostname", gen_hostname),
    SYSCTL_CONST("msgmax"),
    SYSCTL_CONST("msgmnb"),
    SYSCTL_CONST("msgmni"),
    SYSCTL_CONST("ngroups_max"),
    SYSCTL_CONST("osrelease"),
    SYSCTL_CONST("ostype"),
    SYSCTL_CONST("overflowgid"),
    SYSCTL_CONST("overflowuid"),
    SYSCTL("pid_max", gen_pid_max),
    DIR("random", sys_kernel_random),
    SYSCTL_CONST("sem"),
    SYSCTL_CONST("shmall"),
    SYSCTL_CONST("shmmax"),
    SYSCTL_CONST("shmmni"),
    SYSCTL("threads-max", gen_threads_max),
    {.name = NULL},
};

static const struct kernfs_entry sys_vm[] = {
    SYSCTL_CONST("max_map_count"),
    SYSCTL_CONST("mmap_min_addr"),
    SYSCTL_CONST("overcommit_memory"),
    {.name = NULL},
};

static const struct kernfs_entry sys_fs[] = {
    SYSCTL_CONST("file-max"),
    SYSCTL("nr_open", gen_nr_open),
    SYSCTL_CONST("pipe-max-size"),
    {.name = NULL},
};

static const struct kernfs_entry sys_net_core[] = {
    SYSCTL_CONST("somaxconn"),
    {.name = NULL},
};

static const struct kernfs_entry sys_net[] = {
    DIR("core", sys_net_core),
    {.name = NULL},
};

static const struct kernfs_entry sys_children[] = {
    DIR("fs", sys_fs),
    DIR("kernel", sys_kernel),
    DIR("net", sys_net),
    DIR("vm", sys_vm),
    {.name = NULL},
};

#define GLOBAL(n, g) {.name = (n), .mode = S_IFREG | 0444, .generate = (g)}

const struct kernfs_entry proc_global_entries[] = {
    GLOBAL("cpuinfo", gen_cpuinfo),
    GLOBAL("filesystems", gen_filesystems),
    GLOBAL("loadavg", gen_loadavg),
    GLOBAL("meminfo", gen_meminfo),
    GLOBAL("stat", gen_stat),
    DIR("sys", sys_children),
    GLOBAL("uptime", gen_uptime),
    GLOBAL("version", gen_version),
    {.name = NULL},
};
