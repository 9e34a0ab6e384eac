/* /proc: the root directory (global files, /proc/self, one directory per process), snapshots of
 * tasks for the per-process files, and formatting helpers shared by the generators. */
#include "sentry/fs/proc/proc.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "sentry/fs/proc/proc_internal.h"

/* ---- task snapshots ---- */

static struct task *group_find_task(struct thread_group *g, int tid)
{
    if (!tid)
        return g->leader;
    for (struct task *t = g->tasks; t; t = t->group_next)
        if (t->tid == tid)
            return t->released && t != g->leader ? NULL : t;
    return NULL;
}

/* Copies the task's state; kernel.lock and g->lock held. */
static void task_fill(struct kernel *k, struct thread_group *g, struct task *t, unsigned refs,
                      struct proc_task *out)
{
    out->tgid = g->tgid;
    out->tid = t->tid;
    out->ppid = g->parent ? g->parent->tgid : 0;
    out->pgid = g->pgid;
    out->sid = g->sid;
    memcpy(out->comm, t->comm, sizeof(out->comm));
    out->comm[sizeof(out->comm) - 1] = '\0';
    out->leader = t == g->leader;
    if (g->zombie || t->released)
        out->state = 'Z';
    else if (g->stopped)
        out->state = 'T'; /* a job-control stop */
    else
        out->state = t == task_current() ? 'R' : 'S';
    out->creds = t->creds;
    out->umask = 022;
    for (struct task *it = g->tasks; it; it = it->group_next)
        out->threads += !it->released;
    out->pending = t->pending;
    out->shared_pending = g->shared_pending;
    out->blocked = t->blocked;
    for (int sig = 1; sig <= KERNEL_NSIG; sig++) {
        uint64_t h = g->actions[sig].handler;
        if (h == (uint64_t)(uintptr_t)SIG_IGN)
            out->ignored |= SIGBIT(sig);
        else if (h != (uint64_t)(uintptr_t)SIG_DFL)
            out->caught |= SIGBIT(sig);
    }
    memcpy(out->rlimits, g->rlimits, sizeof(out->rlimits));
    out->exit_signal = out->leader ? g->exit_signal : -1;
    out->exit_code = g->zombie ? g->exit_status : 0;
    out->oom_score_adj = g->oom_score_adj;
    out->no_new_privs = t->no_new_privs;
    out->seccomp_mode = task_seccomp_mode(t);
    out->seccomp_filters = task_seccomp_filter_count(t);
    int64_t ns = (t->start_time.tv_sec - k->boot_time.tv_sec) * 1000000000LL +
                 (t->start_time.tv_nsec - k->boot_time.tv_nsec);
    out->start_ticks = ns > 0 ? (uint64_t)ns / (1000000000ULL / PROC_CLK_TCK) : 0;
    /* References are atomics: taking them here is within the kernel's lock order. */
    if ((refs & PROC_TASK_MM) && t->mm) {
        out->mm = t->mm;
        mm_get(out->mm);
    }
    if ((refs & PROC_TASK_FDS) && t->fds) {
        out->fds = t->fds;
        fdtable_get_ref(out->fds);
    }
    if (t->fs) {
        out->fs = t->fs;
        fs_context_get(out->fs);
    }
    if ((refs & PROC_TASK_EXE) && g->exe.dentry) {
        out->exe = g->exe;
        vfs_path_get(&out->exe);
    }
}

int proc_task_get(struct kernel *k, int tgid, int tid, unsigned refs, struct proc_task *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&k->lock);
    struct thread_group *g = kernel_find_group(k, tgid);
    if (!g) {
        pthread_mutex_unlock(&k->lock);
        return -ESRCH;
    }
    pthread_mutex_lock(&g->lock);
    struct task *t = group_find_task(g, tid);
    if (t)
        task_fill(k, g, t, refs, out);
    pthread_mutex_unlock(&g->lock);
    pthread_mutex_unlock(&k->lock);
    if (!t)
        return -ESRCH;
    /* The umask lives in the fs context once the task has one (fs.lock is not taken under
     * the kernel's locks). */
    if (out->fs) {
        pthread_mutex_lock(&out->fs->lock);
        out->umask = out->fs->umask;
        pthread_mutex_unlock(&out->fs->lock);
        if (!(refs & PROC_TASK_FS)) {
            fs_context_put(out->fs);
            out->fs = NULL;
        }
    }
    return 0;
}

void proc_task_put(struct proc_task *pt)
{
    mm_put(pt->mm);
    fdtable_put_ref(pt->fds);
    fs_context_put(pt->fs);
    vfs_path_put(&pt->exe);
    pt->mm = NULL;
    pt->fds = NULL;
    pt->fs = NULL;
}

int proc_node_task(const struct kernfs_node *n, unsigned refs, struct proc_task *out)
{
    const struct procfs *p = n->fs;
    return proc_task_get(p->kernel, n->pid, n->tid, refs, out);
}

static bool task_scope_valid(const struct kernfs_node *n)
{
    struct proc_task pt;
    return proc_node_task(n, 0, &pt) == 0;
}

/* Linux: a process's files belong to its effective uid and gid. */
static void task_scope_owner(const struct kernfs_node *n, uid_t *uid, gid_t *gid)
{
    struct proc_task pt;
    if (proc_node_task(n, 0, &pt) == 0) {
        *uid = pt.creds.euid;
        *gid = pt.creds.egid;
    }
}

const struct kernfs_scope proc_task_scope = {
    .valid = task_scope_valid,
    .owner = task_scope_owner,
};

/* ---- helpers ---- */

unsigned proc_ncpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? (unsigned)n : 1;
}

void proc_put_cpu_mask(struct kernfs_buf *b, unsigned nbits, unsigned nset)
{
    /* Hex, most significant 32-bit chunk first, chunks separated by commas; the first chunk has
     * only the digits nbits needs. */
    unsigned chunks = (nbits + 31) / 32;
    for (unsigned c = chunks; c-- > 0;) {
        uint32_t word = 0;
        for (unsigned bit = 0; bit < 32; bit++)
            if (c * 32 + bit < nset)
                word |= 1U << bit;
        if (c == chunks - 1) {
            unsigned bits = nbits - c * 32;
            kernfs_printf(b, "%0*x", (int)((bits + 3) / 4), word);
        } else {
            kernfs_printf(b, ",%08x", word);
        }
    }
}

void proc_put_cpu_list(struct kernfs_buf *b, unsigned n)
{
    if (n <= 1)
        kernfs_printf(b, "0");
    else
        kernfs_printf(b, "0-%u", n - 1);
}

void proc_put_escaped(struct kernfs_buf *b, const char *s, const char *esc)
{
    for (; *s; s++) {
        if (strchr(esc, *s))
            kernfs_printf(b, "\\%03o", (unsigned char)*s);
        else
            kernfs_put(b, s, 1);
    }
}

int proc_parse_id(const char *name, int *out)
{
    if (name[0] < '1' || name[0] > '9') {
        if (strcmp(name, "0") == 0) {
            *out = 0;
            return 0;
        }
        return -ENOENT;
    }
    long v = 0;
    for (const char *p = name; *p; p++) {
        if (*p < '0' || *p > '9')
            return -ENOENT;
        v = v * 10 + (*p - '0');
        if (v > 0x7fffffff)
            return -ENOENT;
    }
    *out = (int)v;
    return 0;
}

/* ---- the root directory ---- */

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Process directories by tgid; a thread's tid also names a directory (Linux hides it from
 * listings but lets it be looked up). */
static int root_lookup(const struct kernfs_node *dir, const char *name, struct kernfs_node *out)
{
    const struct procfs *p = dir->fs;
    int id;
    if (proc_parse_id(name, &id) != 0 || id == 0)
        return -ENOENT;
    struct kernel *k = p->kernel;
    pthread_mutex_lock(&k->lock);
    int tgid = 0;
    if (kernel_find_group(k, id)) {
        tgid = id;
    } else {
        struct task *t = kernel_find_task(k, id);
        if (t && !t->released)
            tgid = t->tg->tgid;
    }
    pthread_mutex_unlock(&k->lock);
    if (!tgid)
        return -ENOENT;
    out->entry = &proc_pid_dir;
    out->scope = &proc_task_scope;
    out->pid = tgid;
    out->tid = id;
    return 0;
}

static int root_readdir(const struct kernfs_node *dir, struct dir_list *out)
{
    const struct procfs *p = dir->fs;
    struct kernel *k = p->kernel;
    pthread_mutex_lock(&k->lock);
    size_t n = 0;
    for (struct thread_group *g = k->groups; g; g = g->next)
        n++;
    int *ids = malloc((n ? n : 1) * sizeof(*ids));
    if (!ids) {
        pthread_mutex_unlock(&k->lock);
        return -ENOMEM;
    }
    n = 0;
    for (struct thread_group *g = k->groups; g; g = g->next)
        ids[n++] = g->tgid;
    pthread_mutex_unlock(&k->lock);
    qsort(ids, n, sizeof(*ids), cmp_int);
    int err = 0;
    for (size_t i = 0; i < n && !err; i++) {
        char name[16];
        int len = snprintf(name, sizeof(name), "%d", ids[i]);
        err = dir_list_add(out, name, (size_t)len, 0, DT_DIR);
    }
    free(ids);
    return err;
}

static int self_readlink(const struct kernfs_node *n, struct kernfs_buf *b)
{
    struct task *t = task_current();
    if (!t)
        return -ENOENT;
    kernfs_printf(b, "%d", t->tg->tgid);
    return 0;
}

static int thread_self_readlink(const struct kernfs_node *n, struct kernfs_buf *b)
{
    struct task *t = task_current();
    if (!t)
        return -ENOENT;
    kernfs_printf(b, "%d/task/%d", t->tg->tgid, t->tid);
    return 0;
}

static int mounts_readlink(const struct kernfs_node *n, struct kernfs_buf *b)
{
    kernfs_printf(b, "self/mounts");
    return 0;
}

static const struct kernfs_entry root_links[] = {
    {.name = "self", .mode = S_IFLNK | 0777, .readlink = self_readlink},
    {.name = "thread-self", .mode = S_IFLNK | 0777, .readlink = thread_self_readlink},
    {.name = "mounts", .mode = S_IFLNK | 0777, .readlink = mounts_readlink},
};

/* The root's static entries: the links above, then the global files. Built once. */
static struct kernfs_entry root_children[64];
static pthread_once_t root_once = PTHREAD_ONCE_INIT;

static void root_build(void)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof(root_links) / sizeof(root_links[0]); i++)
        root_children[n++] = root_links[i];
    for (const struct kernfs_entry *e = proc_global_entries; e->name; e++)
        if (n < sizeof(root_children) / sizeof(root_children[0]) - 1)
            root_children[n++] = *e;
    root_children[n].name = NULL;
}

static const struct kernfs_entry proc_root = {
    .name = "/",
    .mode = S_IFDIR | 0555,
    .children = root_children,
    .lookup = root_lookup,
    .readdir = root_readdir,
};

static void make_uuid(char out[37])
{
    unsigned char u[16];
    if (getrandom(u, sizeof(u), 0) != sizeof(u))
        memset(u, 0, sizeof(u));
    u[6] = (u[6] & 0x0f) | 0x40; /* version 4, RFC 4122 variant */
    u[8] = (u[8] & 0x3f) | 0x80;
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
             u[13], u[14], u[15]);
}

void proc_make_uuid(char out[37])
{
    make_uuid(out);
}

int procfs_create(struct kernel *k, struct super_block **sb, struct dentry **root)
{
    pthread_once(&root_once, root_build);
    struct procfs *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->kernel = k;
    make_uuid(p->boot_id);
    int err = kernfs_create("proc", PROC_SUPER_MAGIC_VALUE, &proc_root, p, sb, root);
    if (err)
        free(p);
    return err;
}

void procfs_destroy(struct super_block *sb, struct dentry *root)
{
    const struct kernfs_node *n = kernfs_node_of(root->inode);
    void *p = n->fs;
    dentry_prune(root);
    dentry_put(root);
    kernfs_destroy(sb);
    free(p);
}
