/* /proc/PID and /proc/PID/task/TID: the per-process directory, and the generators of status,
 * stat, statm, limits, comm, oom_score_adj and cgroup in Linux's formats (fs/proc/array.c,
 * fs/proc/base.c). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sentry/fs/proc/proc_internal.h"

#define PAGE 4096ULL
#define KB(bytes) ((unsigned long long)(bytes) >> 10)

static const char *state_name(char state)
{
    switch (state) {
    case 'R':
        return "R (running)";
    case 'Z':
        return "Z (zombie)";
    case 'T':
        return "T (stopped)";
    default:
        return "S (sleeping)";
    }
}

static uint64_t code_bytes(const struct mm_proc_ranges *mr)
{
    uint64_t end = (mr->end_code + PAGE - 1) & ~(PAGE - 1), start = mr->start_code & ~(PAGE - 1);
    return end > start ? end - start : 0;
}

/* Name:, then everything task_state() prints. */
static void status_task(struct kernfs_buf *b, const struct proc_task *pt, int fdsize)
{
    /* seq_escape_str(ESCAPE_SPACE | ESCAPE_SPECIAL, "\n\\"): only these two, C-style. */
    kernfs_printf(b, "Name:\t");
    for (const char *s = pt->comm; *s; s++) {
        if (*s == '\n')
            kernfs_printf(b, "\\n");
        else if (*s == '\\')
            kernfs_printf(b, "\\\\");
        else
            kernfs_put(b, s, 1);
    }
    kernfs_printf(b, "\nUmask:\t%#04o\nState:\t%s\n", (unsigned)pt->umask, state_name(pt->state));
    kernfs_printf(b, "Tgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\n", pt->tgid, pt->tid,
                  pt->ppid);
    const struct creds *c = &pt->creds;
    kernfs_printf(b, "Uid:\t%u\t%u\t%u\t%u\n", c->ruid, c->euid, c->suid, c->fsuid);
    kernfs_printf(b, "Gid:\t%u\t%u\t%u\t%u\n", c->rgid, c->egid, c->sgid, c->fsgid);
    /* Each group is followed by a space; an empty list still has one (Linux's format). */
    kernfs_printf(b, "FDSize:\t%d\nGroups:\t", fdsize);
    for (int i = 0; i < c->ngroups; i++)
        kernfs_printf(b, "%u ", c->groups[i]);
    kernfs_printf(b, "%s\n", c->ngroups ? "" : " ");
    kernfs_printf(b, "NStgid:\t%d\nNSpid:\t%d\nNSpgid:\t%d\nNSsid:\t%d\n", pt->tgid, pt->tid,
                  pt->pgid, pt->sid);
}

/* task_mem(): the Vm* lines, each "%8llu kB". */
static void status_mem(struct kernfs_buf *b, const struct mm_stats *ms,
                       const struct mm_proc_ranges *mr)
{
    uint64_t text = code_bytes(mr), exec = ms->vm_exe + ms->vm_lib;
    uint64_t lib = exec > text ? exec - text : 0;
    kernfs_printf(b, "VmPeak:\t%8llu kB\nVmSize:\t%8llu kB\n", KB(ms->vm_peak), KB(ms->vm_size));
    kernfs_printf(b, "VmLck:\t%8llu kB\nVmPin:\t%8llu kB\n", KB(ms->vm_locked), 0ULL);
    kernfs_printf(b, "VmHWM:\t%8llu kB\nVmRSS:\t%8llu kB\n", KB(ms->rss_peak), KB(ms->rss));
    kernfs_printf(b, "RssAnon:\t%8llu kB\nRssFile:\t%8llu kB\nRssShmem:\t%8llu kB\n",
                  KB(ms->rss_anon), KB(ms->rss_file), 0ULL);
    kernfs_printf(b, "VmData:\t%8llu kB\nVmStk:\t%8llu kB\n", KB(ms->vm_data), KB(ms->vm_stack));
    kernfs_printf(b, "VmExe:\t%8llu kB\nVmLib:\t%8llu kB\nVmPTE:\t%8llu kB\n", KB(text), KB(lib),
                  0ULL);
    kernfs_printf(b, "VmSwap:\t%8llu kB\nHugetlbPages:\t%8llu kB\n", 0ULL, 0ULL);
    kernfs_printf(b, "CoreDumping:\t0\nTHP_enabled:\t1\n");
}

void proc_format_status(struct kernfs_buf *b, const struct proc_task *pt, const struct mm_stats *ms,
                        const struct mm_proc_ranges *mr, int fdsize, unsigned ncpus)
{
    status_task(b, pt, fdsize);
    if (ms)
        status_mem(b, ms, mr);
    unsigned long long qlim = (unsigned long long)pt->rlimits[RLIMIT_SIGPENDING].rlim_cur;
    kernfs_printf(b, "Threads:\t%d\nSigQ:\t0/%llu\n", pt->threads, qlim);
    kernfs_printf(b, "SigPnd:\t%016llx\nShdPnd:\t%016llx\n", (unsigned long long)pt->pending,
                  (unsigned long long)pt->shared_pending);
    kernfs_printf(b, "SigBlk:\t%016llx\nSigIgn:\t%016llx\nSigCgt:\t%016llx\n",
                  (unsigned long long)pt->blocked, (unsigned long long)pt->ignored,
                  (unsigned long long)pt->caught);
    const struct creds *c = &pt->creds;
    kernfs_printf(b, "CapInh:\t%016llx\nCapPrm:\t%016llx\nCapEff:\t%016llx\n",
                  (unsigned long long)c->cap_inheritable, (unsigned long long)c->cap_permitted,
                  (unsigned long long)c->cap_effective);
    kernfs_printf(b, "CapBnd:\t%016llx\nCapAmb:\t%016llx\n", (unsigned long long)c->cap_bounding,
                  (unsigned long long)c->cap_ambient);
    kernfs_printf(b, "NoNewPrivs:\t%d\nSeccomp:\t%d\nSeccomp_filters:\t%d\n", pt->no_new_privs,
                  pt->seccomp_mode, pt->seccomp_filters);
    kernfs_printf(b, "Speculation_Store_Bypass:\tthread vulnerable\n");
    kernfs_printf(b, "SpeculationIndirectBranch:\tconditional enabled\n");
    kernfs_printf(b, "Cpus_allowed:\t");
    proc_put_cpu_mask(b, ncpus, ncpus);
    kernfs_printf(b, "\nCpus_allowed_list:\t");
    proc_put_cpu_list(b, ncpus);
    /* One memory node, in a MAX_NUMNODES (1024) bitmap as distribution kernels print it. */
    kernfs_printf(b, "\nMems_allowed:\t");
    proc_put_cpu_mask(b, 1024, 1);
    kernfs_printf(b, "\nMems_allowed_list:\t0\n");
    kernfs_printf(b, "voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n");
}

void proc_format_stat(struct kernfs_buf *b, const struct proc_task *pt, const struct mm_stats *ms,
                      const struct mm_proc_ranges *mr)
{
    static const struct mm_proc_ranges none;
    static const struct mm_stats no_stats;
    if (!ms) {
        ms = &no_stats;
        mr = &none;
    }
    /* PF_RANDOMIZE (0x400000): every sentry process has a randomized layout. */
    unsigned flags = 0x400000;
    kernfs_printf(b, "%d (%s) %c %d %d %d 0 -1 %u 0 0 0 0 0 0 0 0 20 0 %d 0 %llu", pt->tid,
                  pt->comm, pt->state, pt->ppid, pt->pgid, pt->sid, flags, pt->threads,
                  (unsigned long long)pt->start_ticks);
    unsigned long long rsslim = (unsigned long long)pt->rlimits[RLIMIT_RSS].rlim_cur;
    kernfs_printf(b, " %llu %llu %llu", (unsigned long long)ms->vm_size,
                  (unsigned long long)(ms->rss / PAGE), rsslim);
    kernfs_printf(b, " %llu %llu %llu 0 0", (unsigned long long)mr->start_code,
                  (unsigned long long)mr->end_code, (unsigned long long)mr->start_stack);
    /* The obsolete signal fields: decimal, the first 31 signals only. */
    kernfs_printf(b, " %llu %llu %llu %llu 0 0 0", (unsigned long long)(pt->pending & 0x7fffffff),
                  (unsigned long long)(pt->blocked & 0x7fffffff),
                  (unsigned long long)(pt->ignored & 0x7fffffff),
                  (unsigned long long)(pt->caught & 0x7fffffff));
    kernfs_printf(b, " %d 0 0 0 0 0 0", pt->exit_signal);
    kernfs_printf(b, " %llu %llu %llu %llu %llu %llu %llu %d\n", (unsigned long long)mr->start_data,
                  (unsigned long long)mr->end_data, (unsigned long long)mr->start_brk,
                  (unsigned long long)mr->arg_start, (unsigned long long)mr->arg_end,
                  (unsigned long long)mr->env_start, (unsigned long long)mr->env_end,
                  pt->exit_code);
}

void proc_format_statm(struct kernfs_buf *b, const struct mm_stats *ms,
                       const struct mm_proc_ranges *mr)
{
    kernfs_printf(b, "%llu %llu %llu %llu 0 %llu 0\n", (unsigned long long)(ms->vm_size / PAGE),
                  (unsigned long long)(ms->rss / PAGE), (unsigned long long)(ms->rss_file / PAGE),
                  (unsigned long long)(code_bytes(mr) / PAGE),
                  (unsigned long long)((ms->vm_data + ms->vm_stack) / PAGE));
}

void proc_format_limits(struct kernfs_buf *b, const struct rlimit *lim)
{
    static const struct {
        int resource;
        const char *name, *unit;
    } rows[] = {
        {RLIMIT_CPU, "Max cpu time", "seconds"},
        {RLIMIT_FSIZE, "Max file size", "bytes"},
        {RLIMIT_DATA, "Max data size", "bytes"},
        {RLIMIT_STACK, "Max stack size", "bytes"},
        {RLIMIT_CORE, "Max core file size", "bytes"},
        {RLIMIT_RSS, "Max resident set", "bytes"},
        {RLIMIT_NPROC, "Max processes", "processes"},
        {RLIMIT_NOFILE, "Max open files", "files"},
        {RLIMIT_MEMLOCK, "Max locked memory", "bytes"},
        {RLIMIT_AS, "Max address space", "bytes"},
        {RLIMIT_LOCKS, "Max file locks", "locks"},
        {RLIMIT_SIGPENDING, "Max pending signals", "signals"},
        {RLIMIT_MSGQUEUE, "Max msgqueue size", "bytes"},
        {RLIMIT_NICE, "Max nice priority", NULL},
        {RLIMIT_RTPRIO, "Max realtime priority", NULL},
        {RLIMIT_RTTIME, "Max realtime timeout", "us"},
    };
    kernfs_printf(b, "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit", "Units");
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct rlimit *l = &lim[rows[i].resource];
        kernfs_printf(b, "%-25s ", rows[i].name);
        if (l->rlim_cur == RLIM_INFINITY)
            kernfs_printf(b, "%-20s ", "unlimited");
        else
            kernfs_printf(b, "%-20llu ", (unsigned long long)l->rlim_cur);
        if (l->rlim_max == RLIM_INFINITY)
            kernfs_printf(b, "%-20s ", "unlimited");
        else
            kernfs_printf(b, "%-20llu ", (unsigned long long)l->rlim_max);
        if (rows[i].unit)
            kernfs_printf(b, "%-10s", rows[i].unit);
        kernfs_printf(b, "\n");
    }
}

/* ---- generators ---- */

static int fd_capacity(struct fdtable *fds)
{
    if (!fds)
        return 0;
    pthread_mutex_lock(&fds->lock);
    int n = fds->size;
    pthread_mutex_unlock(&fds->lock);
    /* Linux's smallest fd table has BITS_PER_LONG slots. */
    return n < 64 ? 64 : n;
}

static int gen_status(const struct kernfs_node *n, struct kernfs_buf *b)
{
    struct proc_task pt;
    int err = proc_node_task(n, PROC_TASK_MM | PROC_TASK_FDS, &pt);
    if (err)
        return err;
    struct mm_stats ms = {0};
    struct mm_proc_ranges mr = {0};
    if (pt.mm) {
        mm_get_stats(pt.mm, &ms);
        mm_get_proc_ranges(pt.mm, &mr);
    }
    proc_format_status(b, &pt, pt.mm ? &ms : NULL, &mr, fd_capacity(pt.fds), proc_ncpus());
    proc_task_put(&pt);
    return 0;
}

static int gen_stat(const struct kernfs_node *n, struct kernfs_buf *b)
{
    struct proc_task pt;
    int err = proc_node_task(n, PROC_TASK_MM, &pt);
    if (err)
        return err;
    struct mm_stats ms = {0};
    struct mm_proc_ranges mr = {0};
    if (pt.mm) {
        mm_get_stats(pt.mm, &ms);
        mm_get_proc_ranges(pt.mm, &mr);
    }
    proc_format_stat(b, &pt, pt.mm ? &ms : NULL, &mr);
    proc_task_put(&pt);
    return 0;
}

static int gen_statm(const struct kernfs_node *n, struct kernfs_buf *b)
{
    struct proc_task pt;
    int err = proc_node_task(n, PROC_TASK_MM, &pt);
    if (err)
        return err;
    struct mm_stats ms = {0};
    struct mm_proc_ranges mr = {0};
    if (pt.mm) {
        mm_get_stats(pt.mm, &ms);
        mm_get_proc_ranges(pt.mm, &mr);
    }
    proc_format_statm(b, &ms, &mr);
    proc_task_put(&pt);
    return 0;
}

static int gen_limits(const struct kernfs_node *n, struct kernfs_buf *b)
{
    struct proc_task pt;
    int err = proc_node_task(n, 0, &pt);
    if (err)
        return err;
    proc_format_limits(b, pt.rlimits);
    return 0;
}

static int gen_comm(const struct kernfs_node *n, struct kernfs_buf *b)
{
    struct proc_task pt;
    int err = proc_node_task(n, 0, &pt);
    if (err)
        return err;
    kernfs_printf(b, "%s\n", pt.comm);
    return 0;
}

/* Linux's comm_write: up to 15 bytes taken as they are (a trailing newline included), and only
 * by a thread of the same process. */
static ssize_t write_comm(const struct kernfs_node *n, const char *buf, size_t len, int64_t off)
{
    const struct procfs *p = n->fs;
    struct task *cur = task_current();
    struct kernel *k = p->kernel;
    char name[16] = {0};
    memcpy(name, buf, len < sizeof(name) - 1 ? len : sizeof(name) - 1);
    int ret = -ESRCH;
    pthread_mutex_lock(&k->lock);
    struct thread_group *g = kernel_find_group(k, n->pid);
    if (g) {
        pthread_mutex_lock(&g->lock);
        struct task *t = NULL;
        for (struct task *it = g->tasks; it; it = it->group_next)
            if (it->tid == n->tid && !it->released)
                t = it;
        if (t && cur && cur->tg == g) {
            task_set_comm(t, name);
            ret = 0;
        } else if (t) {
            ret = -EINVAL;
        }
        pthread_mutex_unlock(&g->lock);
    }
    pthread_mutex_unlock(&k->lock);
    return ret ? ret : (ssize_t)len;
}

/* uid_map and gid_map: the sandbox's one user namespace, which every task is in. */
static int gen_id_map(const struct kernfs_node *n, struct kernfs_buf *b, const struct userns_map *m)
{
    struct proc_task pt;
    int err = proc_node_task(n, 0, &pt);
    if (err)
        return err;
    char line[48];
    for (size_t i = 0; i < (m->n ? m->n : 1); i++) {
        struct userns_map one = {.n = m->n ? 1 : 0};
        if (m->n)
            one.extents[0] = m->extents[i];
        userns_map_format(&one, line, sizeof(line));
        kernfs_printf(b, "%s", line);
    }
    return 0;
}

static int gen_uid_map(const struct kernfs_node *n, struct kernfs_buf *b)
{
    const struct procfs *p = n->fs;
    return gen_id_map(n, b, &p->kernel->cfg.uid_map);
}

static int gen_gid_map(const struct kernfs_node *n, struct kernfs_buf *b)
{
    const struct procfs *p = n->fs;
    return gen_id_map(n, b, &p->kernel->cfg.gid_map);
}

/* A namespace's maps are written once, by whoever made it: here, before the sandbox started
 * (Linux: EPERM for a second write). */
static ssize_t write_id_map(const struct kernfs_node *n, const char *buf, size_t len, int64_t off)
{
    (void)n;
    (void)buf;
    (void)len;
    (void)off;
    return -EPERM;
}

static int gen_oom_score_adj(const struct kernfs_node *n, struct kernfs_buf *b)
{
    struct proc_task pt;
    int err = proc_node_task(n, 0, &pt);
    if (err)
        return err;
    kernfs_printf(b, "%d\n", pt.oom_score_adj);
    return 0;
}

/* kstrtoint after stripping whitespace; -1000..1000 (OOM_SCORE_ADJ_MIN..MAX) else EINVAL. */
static ssize_t write_oom_score_adj(const struct kernfs_node *n, const char *buf, size_t len,
                                   int64_t off)
{
    char text[24];
    if (len > sizeof(text) - 1)
        len = sizeof(text) - 1;
    memcpy(text, buf, len);
    text[len] = '\0';
    char *s = text, *end;
    while (*s == ' ' || *s == '\t' || *s == '\n')
        s++;
    errno = 0;
    long v = strtol(s, &end, 10);
    while (*end == ' ' || *end == '\t' || *end == '\n')
        end++;
    if (end == s || *end || errno || v < -1000 || v > 1000)
        return -EINVAL;
    const struct procfs *p = n->fs;
    struct kernel *k = p->kernel;
    int ret = -ESRCH;
    pthread_mutex_lock(&k->lock);
    struct thread_group *g = kernel_find_group(k, n->pid);
    if (g) {
        pthread_mutex_lock(&g->lock);
        g->oom_score_adj = (int)v;
        pthread_mutex_unlock(&g->lock);
        ret = 0;
    }
    pthread_mutex_unlock(&k->lock);
    return ret ? ret : (ssize_t)len;
}

static int gen_cgroup(const struct kernfs_node *n, struct kernfs_buf *b)
{
    kernfs_printf(b, "0::/\n");
    return 0;
}

/* ---- task/ ---- */

static int task_dir_lookup(const struct kernfs_node *dir, const char *name, struct kernfs_node *out)
{
    int tid;
    struct proc_task pt;
    if (proc_parse_id(name, &tid) != 0 || tid == 0)
        return -ENOENT;
    if (proc_task_get(((const struct procfs *)dir->fs)->kernel, dir->pid, tid, 0, &pt) != 0)
        return -ENOENT;
    out->entry = &proc_tid_dir;
    out->tid = tid;
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int task_dir_readdir(const struct kernfs_node *dir, struct dir_list *out)
{
    struct kernel *k = ((const struct procfs *)dir->fs)->kernel;
    int tids[256];
    size_t n = 0;
    pthread_mutex_lock(&k->lock);
    struct thread_group *g = kernel_find_group(k, dir->pid);
    if (g) {
        pthread_mutex_lock(&g->lock);
        for (struct task *t = g->tasks; t && n < sizeof(tids) / sizeof(tids[0]); t = t->group_next)
            if (!t->released)
                tids[n++] = t->tid;
        pthread_mutex_unlock(&g->lock);
    }
    pthread_mutex_unlock(&k->lock);
    qsort(tids, n, sizeof(tids[0]), cmp_int);
    for (size_t i = 0; i < n; i++) {
        char name[16];
        int len = snprintf(name, sizeof(name), "%d", tids[i]);
        int err = dir_list_add(out, name, (size_t)len, 0, DT_DIR);
        if (err)
            return err;
    }
    return 0;
}

#define TASK_DIR                                                                                   \
    {                                                                                              \
        .name = "task", .mode = S_IFDIR | 0555, .lookup = task_dir_lookup,                         \
        .readdir = task_dir_readdir                                                                \
    }

/* ---- the directories ---- */

#define PROC_FD_DIRS                                                                               \
    {.name = "fd", .mode = S_IFDIR | 0500, .lookup = proc_fd_lookup, .readdir = proc_fd_readdir},  \
    {                                                                                              \
        .name = "fdinfo", .mode = S_IFDIR | 0500, .lookup = proc_fdinfo_lookup,                    \
        .readdir = proc_fd_readdir                                                                 \
    }

#define PID_FILE(n, m, g)                                                                          \
    {                                                                                              \
        .name = (n), .mode = S_IFREG | (m), .generate = (g)                                        \
    }
#define PID_LINK(n, r, l)                                                                          \
    {                                                                                              \
        .name = (n), .mode = S_IFLNK | 0777, .readlink = (r), .get_link = (l)                      \
    }

/* The entries of /proc/PID and /proc/PID/task/TID, which has no task/. */
#define PID_COMMON_ENTRIES                                                                         \
    PID_FILE("auxv", 0400, proc_gen_auxv), PID_FILE("cgroup", 0444, gen_cgroup),                   \
        PID_FILE("cmdline", 0444, proc_gen_cmdline),                                               \
        {.name = "comm", .mode = S_IFREG | 0644, .generate = gen_comm, .write = write_comm},       \
        PID_LINK("cwd", proc_readlink_cwd, proc_get_link_cwd),                                     \
        PID_FILE("environ", 0400, proc_gen_environ),                                               \
        PID_LINK("exe", proc_readlink_exe, proc_get_link_exe), PROC_FD_DIRS,                       \
        {.name = "gid_map",                                                                        \
         .mode = S_IFREG | 0644,                                                                   \
         .generate = gen_gid_map,                                                                  \
         .write = write_id_map},                                                                   \
        PID_FILE("limits", 0444, gen_limits), PID_FILE("maps", 0444, proc_gen_maps),               \
        PID_FILE("mountinfo", 0444, proc_gen_mountinfo),                                           \
        PID_FILE("mounts", 0444, proc_gen_mounts),                                                 \
        {.name = "oom_score_adj",                                                                  \
         .mode = S_IFREG | 0644,                                                                   \
         .generate = gen_oom_score_adj,                                                            \
         .write = write_oom_score_adj},                                                            \
        PID_LINK("root", proc_readlink_root, proc_get_link_root),                                  \
        PID_FILE("smaps_rollup", 0444, proc_gen_smaps_rollup), PID_FILE("stat", 0444, gen_stat),   \
        PID_FILE("statm", 0444, gen_statm), PID_FILE("status", 0444, gen_status),                  \
    {                                                                                              \
        .name = "uid_map", .mode = S_IFREG | 0644, .generate = gen_uid_map, .write = write_id_map  \
    }

static const struct kernfs_entry pid_entries[] = {
    PID_COMMON_ENTRIES,
    TASK_DIR,
    {.name = NULL},
};

static const struct kernfs_entry tid_entries[] = {
    PID_COMMON_ENTRIES,
    {.name = NULL},
};

const struct kernfs_entry proc_pid_dir = {
    .name = "pid",
    .mode = S_IFDIR | 0555,
    .children = pid_entries,
};

const struct kernfs_entry proc_tid_dir = {
    .name = "tid",
    .mode = S_IFDIR | 0555,
    .children = tid_entries,
};
